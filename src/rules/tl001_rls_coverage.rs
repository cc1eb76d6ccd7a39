//! TL001 rls-coverage: every tenant table ends up with RLS enabled and
//! forced, a tenant policy for reads and a write policy WITH CHECK.

use super::{rls, Ctx, Diagnostic, RuleMeta, Severity};
use crate::index::facts::{Event, Origin};
use crate::lang::{Language, ParsedFile};

pub static RULE: RuleMeta = RuleMeta {
    id: "TL001",
    name: "rls-coverage",
    severity: Severity::Hard,
    languages: &[Language::Sql, Language::Python, Language::Rust],
    summary: "Tenant tables have RLS enabled and forced, with tenant policies WITH CHECK",
    doc: include_str!("../../rules/TL001-rls-coverage.md"),
    triggers: |_| {
        super::words(&[
            "create table",
            "create_table",
            "add column",
            "add_column",
            "__tablename__",
            "policy",
        ])
    },
    gate: None,
    needs_index: true,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    let Some(facts) = ctx.index.file(&file.path) else {
        return;
    };
    let cfg = ctx.config;
    for fact in facts.facts.iter().filter(|f| !f.reverting) {
        let (table, site_columns, is_model, class) = match &fact.event {
            // diesel's schema.rs mirrors the migrations; they are where RLS goes.
            Event::CreateTable {
                origin: Origin::Schema,
                ..
            } => continue,
            Event::CreateTable {
                table,
                columns,
                origin,
                class,
                ..
            } => (
                table,
                columns.clone(),
                *origin == Origin::Model,
                class.clone(),
            ),
            Event::AddColumn { table, column } => (table, vec![column.clone()], false, None),
            Event::CreatePolicy { table, policy } => {
                if ctx.index.is_tenant_table(table, cfg)
                    && !rls::policy_name_ok(&policy.name, &cfg.rls.policy_names)
                {
                    out.push(
                        Diagnostic::new(
                            fact.site.range.clone(),
                            format!("Policy `{}` on tenant table `{table}` does not follow the naming convention", policy.name),
                            format!("name it {} (or list your convention under [rls] policy-names)", cfg.rls.policy_names.join(" / ")),
                        )
                        .soft(),
                    );
                }
                continue;
            }
            _ => continue,
        };
        let tenant_cols = ctx.index.tenant_columns(table, cfg);
        if tenant_cols.is_empty() || !site_columns.iter().any(|c| tenant_cols.contains(c)) {
            continue;
        }
        let Some(state) = ctx.index.table(table) else {
            continue;
        };
        if state.dropped {
            continue;
        }
        // An ADD COLUMN reports only when no creation already named a tenant column.
        if matches!(fact.event, Event::AddColumn { .. })
            && state
                .created
                .iter()
                .any(|(_, _, cols)| cols.iter().any(|c| tenant_cols.contains(c)))
        {
            continue;
        }
        let column = &tenant_cols[0];
        let setting = rls::setting(cfg, ctx.index);
        if is_model {
            if state.has_migration() {
                continue;
            }
            let missing = [
                "ENABLE ROW LEVEL SECURITY",
                "FORCE ROW LEVEL SECURITY",
                "a tenant policy for reads (USING)",
                "a write policy WITH CHECK",
            ];
            out.push(Diagnostic::new(
                fact.site.range.start..fact.site.range.start + 5,
                format!(
                    "Model `{}` maps tenant table `{table}` ({column}) but no migration creates it with row-level security",
                    class.unwrap_or_default()
                ),
                format!(
                    "add a migration: CREATE TABLE {table} (…); {}",
                    rls::fix_sql(table, state, column, &setting, &missing)
                ),
            ));
            continue;
        }
        let missing = rls::missing_pieces(state, &tenant_cols);
        if missing.is_empty() {
            continue;
        }
        out.push(Diagnostic::new(
            fact.site.range.clone(),
            format!(
                "Tenant table `{table}` ({column}) lacks {}",
                join_and(&missing)
            ),
            rls::fix_sql(table, state, column, &setting, &missing),
        ));
    }
}

fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
