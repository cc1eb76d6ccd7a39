//! TL003 with-check-discipline: write paths always bind a real tenant.

use super::{rls, Ctx, Diagnostic, RuleMeta, Severity};
use crate::index::facts::Event;
use crate::lang::{Language, ParsedFile};

pub static RULE: RuleMeta = RuleMeta {
    id: "TL003",
    name: "with-check-discipline",
    severity: Severity::Hard,
    languages: &[Language::Sql, Language::Python, Language::Rust],
    summary: "Policies bind writes to a real tenant with a strict WITH CHECK",
    doc: include_str!("../../rules/TL003-with-check-discipline.md"),
    triggers: |_| super::words(&["policy"]),
    gate: None,
    needs_index: true,
    needs_pr_body: false,
    embedded_sql_only: true,
    applies_to: super::any_path,
    check,
};

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    let Some(facts) = ctx.index.file(&file.path) else {
        return;
    };
    let setting = rls::setting(ctx.config, ctx.index);
    for fact in facts.facts.iter().filter(|f| !f.reverting) {
        let Event::CreatePolicy { table, policy: p } = &fact.event else {
            continue;
        };
        let column = ctx
            .index
            .tenant_columns(table, ctx.config)
            .into_iter()
            .next()
            .unwrap_or_else(|| "org_id".into());
        let ty = ctx
            .index
            .table(table)
            .and_then(|t| t.column_types.get(&column).cloned());
        let strict = rls::predicate(&column, ty.as_deref(), &setting);
        let name = &p.name;
        let using_escape = p.using.as_deref().and_then(rls::escape_branch);
        let check_escape = p.with_check.as_deref().and_then(rls::escape_branch);
        let range = fact.site.range.clone();
        let (title, soft) = if let Some(why) = &check_escape {
            (format!("Policy `{name}` on `{table}` has a WITH CHECK with {why}: writes can carry any tenant"), false)
        } else if p.with_check.is_none() && matches!(p.command.as_str(), "INSERT" | "UPDATE") {
            (
                format!(
                    "{} policy `{name}` on `{table}` has no WITH CHECK",
                    p.command
                ),
                false,
            )
        } else if let (Some(why), None, "ALL") = (&using_escape, &p.with_check, p.command.as_str())
        {
            (
                format!("Policy `{name}` on `{table}` has no WITH CHECK, so writes reuse its USING with {why}: inserts can land with any tenant"),
                false,
            )
        } else if let Some(why) = &using_escape {
            if ctx.config.rls.auth_path_tables.iter().any(|t| t == table) {
                continue;
            }
            (format!("Policy `{name}` on `{table}` reads rows with {why}, and `{table}` is not listed as an auth-path table"), true)
        } else {
            continue;
        };
        let d = Diagnostic::new(range, title, format!("WITH CHECK ({strict})"));
        out.push(if soft { d.soft() } else { d });
    }
}
