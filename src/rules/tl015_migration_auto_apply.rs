//! TL015 migration-auto-apply: a migration in a service that never runs
//! its migrations ships in the image and never reaches the database.

use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::lang::{Language, ParsedFile, Syntax};

pub static RULE: RuleMeta = RuleMeta {
    id: "TL015",
    name: "migration-auto-apply",
    severity: Severity::Hard,
    languages: &[Language::Sql, Language::Python],
    summary: "Services with migrations apply them when they start",
    doc: include_str!("../../rules/TL015-migration-auto-apply.md"),
    triggers: |_| {
        super::words(&[
            "revision", "create", "alter", "drop", "insert", "update", "delete", "grant", "comment",
        ])
    },
    gate: None,
    needs_index: true,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::tl014_rls_operator_step::is_migration_path,
    check,
};

fn is_migration(file: &ParsedFile, ctx: &Ctx) -> bool {
    let p = format!("/{}", file.path);
    match &file.syntax {
        Syntax::Python(_) => {
            p.contains("/versions/")
                && ctx
                    .index
                    .file(&file.path)
                    .is_some_and(|f| f.revision.is_some())
        }
        Syntax::Sql(sql) => {
            p.contains("/migrations/")
                && !crate::lang::is_reverting_path(&file.path)
                && sql.statements.iter().any(|s| s.ast.is_ok())
        }
        Syntax::Rust(_) => false,
    }
}

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    if !is_migration(file, ctx) {
        return;
    }
    let Some((service, deploy_texts)) = ctx.index.service_of(&file.path) else {
        return;
    };
    let m = &ctx.config.migrations;
    let marked = |t: &String| {
        m.auto_apply_markers
            .iter()
            .any(|k| t.contains(&k.to_ascii_lowercase()))
    };
    // Migrations at the repository root are shared: any service that
    // applies migrations at start-up may be the one that runs them.
    let applies = if service.is_empty() {
        ctx.index.deploy.values().flatten().any(marked)
    } else {
        deploy_texts.iter().any(marked)
    };
    let name = service.rsplit('/').next().unwrap_or(service);
    let known = m
        .auto_migrating_services
        .iter()
        .any(|s| s == name || s == service);
    let stated = ctx.pr_body.is_some_and(|b| {
        let b = b.to_ascii_lowercase();
        m.manual_step_markers
            .iter()
            .any(|k| b.contains(&k.to_ascii_lowercase()))
    });
    if applies || known || stated {
        return;
    }
    let first_line = file.text().find('\n').unwrap_or(file.text().len());
    let service_label = if service.is_empty() {
        "the repository root"
    } else {
        service
    };
    out.push(Diagnostic::new(
        0..first_line.max(1),
        format!("Migration in service `{service_label}`, whose Dockerfile/entrypoint never applies migrations"),
        format!(
            "run `{}` in {service_label}'s entrypoint before the server starts, or state the manual step in the PR description",
            m.auto_apply_markers.first().map(String::as_str).unwrap_or("alembic upgrade head")
        ),
    ));
}
