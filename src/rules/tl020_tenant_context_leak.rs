//! TL020 tenant-context-leak: tenant context that outlives its request —
//! a Postgres tenant setting scoped to the session of a pooled connection,
//! or a tenant `ContextVar` set without a `reset` in `finally`.

use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::lang::sql_tokens::{self, Tok, Token};
use crate::lang::{python, Language, ParsedFile, Syntax};
use tree_sitter::Node;

pub static RULE: RuleMeta = RuleMeta {
    id: "TL020",
    name: "tenant-context-leak",
    severity: Severity::Hard,
    languages: &[Language::Sql, Language::Python, Language::Rust],
    summary: "Tenant settings are transaction-scoped, never session-scoped",
    doc: include_str!("../../rules/TL020-tenant-context-leak.md"),
    triggers: |c| {
        let p = &c.tenant.setting_prefix;
        vec![
            "set_config".into(),
            format!("set {p}"),
            format!("set session {p}"),
            "contextvar".into(),
        ]
    },
    needs_index: false,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    if let Syntax::Python(tree) = &file.syntax {
        context_vars(ctx, tree.root_node(), file.text(), out);
    }
    let prefix = ctx.config.tenant.setting_prefix.to_ascii_lowercase();
    for site in file.sql_sites().iter().filter(|s| !s.reverting) {
        let sql = site.sql();
        let toks = sql_tokens::tokenize(sql);
        if let Some(name) = session_set(&toks, &prefix) {
            out.push(Diagnostic::new(
                site.host(),
                format!(
                    "`SET {name}` keeps the tenant for the whole session of a pooled connection"
                ),
                format!("SET LOCAL {name} = … inside the request's transaction"),
            ));
        }
        for (name, at) in set_config_session(&toks, &prefix) {
            let r = toks[at].range.clone();
            out.push(Diagnostic::new(
                site.host_range(r.start..toks.last().map_or(r.end, |t| t.range.end)),
                format!("`set_config('{name}', …, false)` keeps the tenant for the whole session of a pooled connection"),
                format!("set_config('{name}', …, true) inside the request's transaction"),
            ));
        }
    }
}

/// `SET [SESSION] app.x = …` (not `SET LOCAL`), written with single
/// spaces as the pre-filter's trigger words expect.
fn session_set(toks: &[Token], prefix: &str) -> Option<String> {
    if !toks.first()?.is("set") {
        return None;
    }
    let gap = |a: &Token, b: &Token| b.range.start == a.range.end + 1;
    let mut i = 1;
    if toks.get(i)?.is("local") {
        return None;
    }
    if toks.get(i)?.is("session") {
        if !gap(&toks[i - 1], &toks[i]) {
            return None;
        }
        i += 1;
    }
    if !gap(&toks[i - 1], toks.get(i)?) {
        return None;
    }
    let mut name = String::new();
    while let Some(t) = toks.get(i) {
        match &t.tok {
            Tok::Word(w) if !t.is("to") => name.push_str(w),
            Tok::Ident(w) => name.push_str(w),
            Tok::Punct('.') => name.push('.'),
            _ => break,
        }
        i += 1;
    }
    name.to_ascii_lowercase()
        .starts_with(prefix)
        .then_some(name)
}

/// `set_config('app.x', v, false)`: (setting, index of `set_config`).
fn set_config_session(toks: &[Token], prefix: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for i in 0..toks.len() {
        if !toks[i].is("set_config") || !toks.get(i + 1).is_some_and(|t| t.is_punct('(')) {
            continue;
        }
        let Some(close) = sql_tokens::matching_paren(toks, i + 1) else {
            continue;
        };
        let Some(Tok::Str(name)) = toks.get(i + 2).map(|t| &t.tok) else {
            continue;
        };
        if !name.to_ascii_lowercase().starts_with(prefix) {
            continue;
        }
        if close >= 1 && toks[close - 1].is("false") {
            out.push((name.clone(), i));
        }
    }
    out
}

/// Module-level `ContextVar`s whose name marks a tenant.
fn tenant_context_vars(ctx: &Ctx, root: Node, src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut c = root.walk();
    for stmt in root.named_children(&mut c) {
        let Some(a) = (stmt.kind() == "expression_statement")
            .then(|| stmt.named_child(0))
            .flatten()
        else {
            continue;
        };
        let (Some(left), Some(right)) = (
            a.child_by_field_name("left"),
            a.child_by_field_name("right"),
        ) else {
            continue;
        };
        let is_var = right.kind() == "call"
            && python::call_name(right, src)
                .is_some_and(|n| n == "ContextVar" || n.ends_with(".ContextVar"));
        let name = python::text(left, src);
        if is_var && left.kind() == "identifier" && is_tenant_name(ctx, name) {
            out.push(name.to_string());
        }
    }
    out
}

fn is_tenant_name(ctx: &Ctx, name: &str) -> bool {
    let pieces = super::names::split_pieces(name);
    pieces.iter().any(|p| {
        matches!(
            p.as_str(),
            "tenant" | "org" | "organization" | "workspace" | "account" | "customer" | "team"
        )
    }) || ctx
        .config
        .tenant
        .columns
        .iter()
        .any(|c| name.contains(c.as_str()))
}

/// `current_org.set(x)` whose token is not `reset` in a `finally` of the
/// same function.
fn context_vars(ctx: &Ctx, root: Node, src: &str, out: &mut Vec<Diagnostic>) {
    let vars = tenant_context_vars(ctx, root, src);
    if vars.is_empty() {
        return;
    }
    python::walk(root, &mut |n| {
        if n.kind() != "call" {
            return;
        }
        let Some(name) = python::call_name(n, src) else {
            return;
        };
        let Some(var) = name
            .strip_suffix(".set")
            .filter(|v| vars.iter().any(|x| x == v))
        else {
            return;
        };
        let Some(func) = python::enclosing_function(n) else {
            return;
        };
        let token = n
            .parent()
            .filter(|p| p.kind() == "assignment")
            .and_then(|p| p.child_by_field_name("left"))
            .map(|l| python::text(l, src).to_string());
        let reset_in_finally = token.as_ref().is_some_and(|t| {
            let needle = format!("{var}.reset({t})");
            let mut found = false;
            python::walk(func, &mut |m| {
                if m.kind() == "finally_clause"
                    && python::text(m, src).replace(' ', "").contains(&needle)
                {
                    found = true;
                }
            });
            found
        });
        if reset_in_finally {
            return;
        }
        let arg = python::positional_args(n)
            .first()
            .map(|a| python::text(*a, src).to_string())
            .unwrap_or_else(|| "value".into());
        out.push(Diagnostic::new(
            n.byte_range(),
            format!("Tenant context `{var}` is set without a `reset` in `finally`: the next task on this worker inherits it"),
            format!("token = {var}.set({arg}); then try: … finally: {var}.reset(token)"),
        ));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_scope_is_found() {
        let t = |s: &str| sql_tokens::tokenize(s);
        assert_eq!(
            session_set(&t("SET app.current_org_id = '1'"), "app."),
            Some("app.current_org_id".into())
        );
        assert_eq!(
            session_set(&t("SET SESSION app.org TO 5"), "app."),
            Some("app.org".into())
        );
        assert_eq!(session_set(&t("SET LOCAL app.org = 5"), "app."), None);
        assert_eq!(session_set(&t("SET search_path TO x"), "app."), None);
        assert_eq!(
            set_config_session(&t("SELECT set_config('app.org', :org, false)"), "app.").len(),
            1
        );
        assert!(
            set_config_session(&t("SELECT set_config('app.org', :org, true)"), "app.").is_empty()
        );
    }
}
