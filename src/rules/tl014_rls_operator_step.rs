//! TL014 rls-operator-step: a migration that changes RLS needs the
//! operator's manual step written in the pull request.

use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::index::facts::Event;
use crate::lang::{Language, ParsedFile};

pub static RULE: RuleMeta = RuleMeta {
    id: "TL014",
    name: "rls-operator-step",
    severity: Severity::Soft,
    languages: &[Language::Sql, Language::Python],
    summary: "Migrations that change RLS state the operator step in the PR description",
    doc: include_str!("../../rules/TL014-rls-operator-step.md"),
    triggers: |_| super::words(&["policy", "row level security", "drop table", "drop_table"]),
    gate: None,
    needs_index: true,
    needs_pr_body: true,
    embedded_sql_only: false,
    applies_to: is_migration_path,
    check,
};

pub fn is_migration_path(path: &str) -> bool {
    let p = format!("/{path}");
    p.contains("/migrations/") || p.contains("/versions/") || p.ends_with(".sql")
}

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    let Some(body) = ctx.pr_body else { return };
    if !is_migration_path(&file.path) {
        return;
    }
    let Some(facts) = ctx.index.file(&file.path) else {
        return;
    };
    let first = facts.facts.iter().filter(|f| !f.reverting).find(|f| {
        matches!(
            f.event,
            Event::CreatePolicy { .. }
                | Event::AlterPolicy { .. }
                | Event::DropPolicy { .. }
                | Event::Rls { .. }
                | Event::DropTable { .. }
        )
    });
    let Some(first) = first else { return };
    let body = body.to_ascii_lowercase();
    let missing: Vec<&String> = ctx
        .config
        .rls
        .operator_step
        .iter()
        .filter(|s| !body.contains(&s.to_ascii_lowercase()))
        .collect();
    if missing.is_empty() {
        return;
    }
    let what = match &first.event {
        Event::DropTable { table } => format!("drops table `{table}`"),
        Event::CreatePolicy { table, .. }
        | Event::AlterPolicy { table, .. }
        | Event::DropPolicy { table, .. } => {
            format!("changes the policies of `{table}`")
        }
        Event::Rls { table, .. } => format!("changes row-level security on `{table}`"),
        _ => "changes RLS".into(),
    };
    out.push(
        Diagnostic::new(
            first.site.range.clone(),
            format!(
                "Migration {what} but the PR description has no operator step ({})",
                missing
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "add to the PR description: {}",
                ctx.config
                    .rls
                    .operator_step_hint
                    .replace("{file}", &file.path)
            ),
        )
        .soft(),
    );
}
