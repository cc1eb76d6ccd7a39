//! TL020 tenant-context-leak (SQL part): a tenant setting set for the
//! whole session outlives the request on a pooled connection.

use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::lang::sql_tokens::{self, Tok, Token};
use crate::lang::{Language, ParsedFile};

pub static RULE: RuleMeta = RuleMeta {
    id: "TL020",
    name: "tenant-context-leak",
    severity: Severity::Hard,
    languages: &[Language::Sql, Language::Python, Language::Rust],
    summary: "Tenant settings are transaction-scoped, never session-scoped",
    doc: include_str!("../../rules/TL020-tenant-context-leak.md"),
    triggers: |c| vec!["set_config".to_string(), c.tenant.setting_prefix.clone()],
    needs_index: false,
    needs_pr_body: false,
    embedded_sql_only: true,
    applies_to: super::any_path,
    check,
};

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
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

/// `SET [SESSION] app.x = …` (not `SET LOCAL`).
fn session_set(toks: &[Token], prefix: &str) -> Option<String> {
    if !toks.first()?.is("set") {
        return None;
    }
    let mut i = 1;
    if toks.get(i)?.is("local") {
        return None;
    }
    if toks.get(i)?.is("session") {
        i += 1;
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
