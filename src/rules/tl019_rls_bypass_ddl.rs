//! TL019 rls-bypass-ddl: DDL that opens a hole around RLS on a tenant
//! table — disabling it, dropping its policy, bypass roles, owner-rights
//! views and functions, grants to everyone.

use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::index::facts::{Event, RlsChange};
use crate::lang::{Language, ParsedFile};

pub static RULE: RuleMeta = RuleMeta {
    id: "TL019",
    name: "rls-bypass-ddl",
    severity: Severity::Hard,
    languages: &[Language::Sql, Language::Python, Language::Rust],
    summary: "No DDL that disables, drops or routes around RLS on tenant tables",
    doc: include_str!("../../rules/TL019-rls-bypass-ddl.md"),
    triggers: |_| {
        super::words(&[
            "row level security",
            "policy",
            "bypassrls",
            "superuser",
            "view",
            "security definer",
            "grant",
        ])
    },
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
    let cfg = ctx.config;
    let tenant = |t: &str| ctx.index.is_tenant_table(t, cfg);
    for fact in facts.facts.iter().filter(|f| !f.reverting) {
        let range = fact.site.range.clone();
        let (title, suggestion) = match &fact.event {
            Event::Rls { table, change: change @ (RlsChange::Disable | RlsChange::NoForce) } if tenant(table) => {
                let what = if *change == RlsChange::Disable { "DISABLE" } else { "NO FORCE" };
                (
                    format!("`{what} ROW LEVEL SECURITY` on tenant table `{table}`"),
                    format!("keep RLS on: ALTER TABLE {table} ENABLE ROW LEVEL SECURITY; ALTER TABLE {table} FORCE ROW LEVEL SECURITY; (run maintenance as a separate role instead)"),
                )
            }
            Event::DropPolicy { table, name } if tenant(table) => {
                let at = ctx.index.seq_of(&fact.site).unwrap_or(0);
                let replaced = ctx.index.table(table).is_some_and(|t| t.policy_created.iter().any(|&s| s > at));
                if replaced {
                    continue;
                }
                (
                    format!("Policy `{name}` dropped from tenant table `{table}` with no replacement"),
                    format!("create the replacement in the same migration: CREATE POLICY {name} ON {table} USING (…) WITH CHECK (…);"),
                )
            }
            Event::RoleBypass { role, attribute } if !cfg.rls.bypass_roles.iter().any(|r| r.eq_ignore_ascii_case(role)) => (
                format!("Role `{role}` gets {attribute}, which skips every row-level policy"),
                format!("ALTER ROLE {role} NO{attribute}; (or list a dedicated migration role under [rls] bypass-roles)"),
            ),
            Event::CreateView { name, reads, security_invoker: false } => {
                let Some(t) = reads.iter().find(|t| tenant(t)) else { continue };
                (
                    format!("View `{name}` reads tenant table `{t}` with its owner's rights (no security_invoker)"),
                    format!("CREATE VIEW {name} WITH (security_invoker = true) AS …"),
                )
            }
            Event::CreateFunction { name, security_definer: true, search_path, reads } => {
                let tenant_reads: Vec<&String> = reads.iter().filter(|t| tenant(t)).collect();
                let mut pieces = Vec::new();
                if let Some(t) = tenant_reads.first() {
                    pieces.push(format!("reads tenant table `{t}` with its owner's rights"));
                }
                if !search_path {
                    pieces.push("has no fixed `SET search_path`".to_string());
                }
                if pieces.is_empty() {
                    continue;
                }
                (
                    format!("SECURITY DEFINER function `{name}` {}", pieces.join(" and ")),
                    if tenant_reads.is_empty() {
                        format!("add `SET search_path = pg_catalog, public` to {name}")
                    } else {
                        format!("make {name} SECURITY INVOKER (or filter by the caller's tenant inside it) and add `SET search_path = pg_catalog, public`")
                    },
                )
            }
            Event::Grant { tables, grantees } => {
                let Some(t) = tables.iter().find(|t| tenant(t)) else { continue };
                let Some(g) = grantees.iter().find(|g| cfg.rls.public_roles.iter().any(|p| p.eq_ignore_ascii_case(g))) else {
                    continue;
                };
                (
                    format!("Tenant table `{t}` granted to `{g}`"),
                    format!("grant to the application role only: GRANT … ON {t} TO <app_role>;"),
                )
            }
            _ => continue,
        };
        out.push(Diagnostic::new(range, title, suggestion));
    }
}
