//! Helpers shared by the RLS rules: reading policy expressions and
//! writing the SQL a suggestion proposes.

use crate::config::Config;
use crate::index::facts::Policy;
use crate::index::{ProjectIndex, TableState};
use crate::lang::sql_tokens::{self, Tok, Token};

/// Why an expression admits rows without a real tenant, if it does: the
/// first top-level OR branch that is an escape hatch.
pub fn escape_branch(expr: &str) -> Option<String> {
    escape(&sql_tokens::tokenize(expr))
}

fn escape(toks: &[Token]) -> Option<String> {
    let toks = strip_parens(toks);
    let ors = split_top(toks, "or");
    if ors.len() > 1 {
        return ors.into_iter().find_map(escape);
    }
    let ands = split_top(toks, "and");
    if ands.len() > 1 {
        // A conjunction escapes only when every part does.
        let parts: Vec<Option<String>> = ands.into_iter().map(escape).collect();
        return if parts.iter().all(Option::is_some) {
            parts.into_iter().flatten().next()
        } else {
            None
        };
    }
    if toks.len() == 1 && toks[0].is("true") {
        return Some("OR true".to_string());
    }
    let mentions_setting = toks.iter().any(|t| t.is("current_setting"));
    if mentions_setting && toks.windows(2).any(|w| w[0].is("is") && w[1].is("null")) {
        return Some("an IS NULL branch on the setting".into());
    }
    if mentions_setting
        && toks
            .windows(2)
            .any(|w| w[0].is_punct('=') && w[1].tok == Tok::Str(String::new()))
    {
        return Some("a branch for an empty setting".into());
    }
    coalesce_fallback(toks).then(|| "a COALESCE that falls back to the row's own tenant".into())
}

/// Split at a keyword outside parentheses.
fn split_top<'t>(toks: &'t [Token], kw: &str) -> Vec<&'t [Token]> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        if t.is_punct('(') {
            depth += 1;
        } else if t.is_punct(')') {
            depth -= 1;
        } else if depth == 0 && t.is(kw) {
            out.push(&toks[start..i]);
            start = i + 1;
        }
    }
    out.push(&toks[start..]);
    out
}

fn strip_parens(mut toks: &[Token]) -> &[Token] {
    while toks.len() >= 2
        && toks[0].is_punct('(')
        && sql_tokens::matching_paren(toks, 0) == Some(toks.len() - 1)
    {
        toks = &toks[1..toks.len() - 1];
    }
    toks
}

/// `COALESCE(… current_setting(…) …, org_id)`: a missing setting compares
/// the column with itself.
fn coalesce_fallback(toks: &[Token]) -> bool {
    toks.iter().enumerate().any(|(i, t)| {
        if !t.is("coalesce") || !toks.get(i + 1).is_some_and(|x| x.is_punct('(')) {
            return false;
        }
        let Some(close) = sql_tokens::matching_paren(toks, i + 1) else {
            return false;
        };
        let inner = &toks[i + 2..close];
        let has_setting = inner.iter().any(|x| x.is("current_setting"));
        let last_arg = inner
            .iter()
            .rposition(|x| x.is_punct(','))
            .map(|c| &inner[c + 1..]);
        has_setting
            && last_arg.is_some_and(|a| {
                a.len() == 1 && matches!(a[0].tok, Tok::Word(_)) && !a[0].is("null")
            })
    })
}

/// Does this policy expression scope rows by tenant (mentions a tenant
/// column or a setting)?
pub fn scopes_tenant(expr: Option<&str>, tenant_columns: &[String]) -> bool {
    expr.is_some_and(|e| {
        sql_tokens::tokenize(e).iter().any(|t| {
            t.is("current_setting") || t.ident().is_some_and(|i| tenant_columns.contains(&i))
        })
    })
}

/// The pieces a tenant table still lacks, in words.
pub fn missing_pieces(t: &TableState, tenant_columns: &[String]) -> Vec<&'static str> {
    let mut out = Vec::new();
    if !t.rls_enabled {
        out.push("ENABLE ROW LEVEL SECURITY");
    }
    if !t.rls_forced {
        out.push("FORCE ROW LEVEL SECURITY");
    }
    let policies: Vec<&Policy> = t.policies.values().map(|(p, _)| p).collect();
    let reads = policies.iter().any(|p| {
        p.permissive
            && matches!(p.command.as_str(), "ALL" | "SELECT")
            && scopes_tenant(p.using.as_deref(), tenant_columns)
    });
    if !reads {
        out.push("a tenant policy for reads (USING)");
    }
    let writes = policies.iter().any(|p| {
        matches!(p.command.as_str(), "ALL" | "INSERT")
            && scopes_tenant(p.with_check.as_deref(), tenant_columns)
    });
    if !writes {
        out.push("a write policy WITH CHECK");
    }
    out
}

/// The setting to propose in suggestions.
pub fn setting(cfg: &Config, index: &ProjectIndex) -> String {
    if !cfg.rls.setting.is_empty() {
        return cfg.rls.setting.clone();
    }
    index
        .learned_setting()
        .unwrap_or_else(|| format!("{}current_tenant_id", cfg.tenant.setting_prefix))
}

/// `org_id = current_setting('app.current_org_id')::uuid`
pub fn predicate(column: &str, ty: Option<&str>, setting: &str) -> String {
    let cast = match ty {
        Some(t)
            if !t.is_empty()
                && t != "text"
                && !t.starts_with("varchar")
                && !t.starts_with("character") =>
        {
            format!("::{t}")
        }
        _ => String::new(),
    };
    format!("{column} = current_setting('{setting}'){cast}")
}

/// The SQL that adds the missing pieces to `table`.
pub fn fix_sql(
    table: &str,
    t: &TableState,
    column: &str,
    setting: &str,
    missing: &[&str],
) -> String {
    let pred = predicate(
        column,
        t.column_types.get(column).map(String::as_str),
        setting,
    );
    let mut parts = Vec::new();
    if missing.contains(&"ENABLE ROW LEVEL SECURITY") {
        parts.push(format!("ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;"));
    }
    if missing.contains(&"FORCE ROW LEVEL SECURITY") {
        parts.push(format!("ALTER TABLE {table} FORCE ROW LEVEL SECURITY;"));
    }
    let reads = missing.iter().any(|m| m.starts_with("a tenant policy"));
    let writes = missing.iter().any(|m| m.starts_with("a write policy"));
    // A read policy that only lacks its WITH CHECK is amended, not duplicated.
    let amendable = t
        .policies
        .values()
        .find(|(p, _)| p.command == "ALL" && p.using.is_some() && p.with_check.is_none());
    match (reads, writes, amendable) {
        (false, true, Some((p, _))) => parts.push(format!(
            "ALTER POLICY {} ON {table} WITH CHECK ({pred});",
            p.name
        )),
        (false, false, _) => {}
        _ => {
            let name = if t.policies.contains_key("tenant_isolation") {
                "tenant_isolation_rw"
            } else {
                "tenant_isolation"
            };
            parts.push(format!(
                "CREATE POLICY {name} ON {table} USING ({pred}) WITH CHECK ({pred});"
            ));
        }
    }
    parts.join(" ")
}

/// Does `name` match one of the configured policy name patterns?
pub fn policy_name_ok(name: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == p,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_hatches() {
        assert!(escape_branch("org_id = current_setting('app.org', true)::int OR current_setting('app.org', true) IS NULL").is_some());
        assert!(escape_branch("((org_id = x) OR true)").is_some());
        assert!(escape_branch(
            "org_id = COALESCE(NULLIF(current_setting('app.org', true), '')::uuid, org_id)"
        )
        .is_some());
        assert!(escape_branch(
            "org_id = current_setting('app.org') OR current_setting('app.org') = ''"
        )
        .is_some());
        assert!(
            escape_branch("(org_id = a) AND (b OR current_setting('x', true) IS NULL)").is_none()
        );
        assert!(escape_branch("org_id = current_setting('app.org')::uuid").is_none());
        assert!(
            escape_branch("org_id = NULLIF(current_setting('app.org', true), '')::uuid").is_none()
        );
        assert!(
            escape_branch("deleted_at IS NULL AND org_id = current_setting('app.org')::uuid")
                .is_none()
        );
    }

    #[test]
    fn policy_names() {
        let p = vec![
            "tenant_isolation".to_string(),
            "tenant_isolation_*".to_string(),
        ];
        assert!(policy_name_ok("tenant_isolation_select", &p));
        assert!(!policy_name_ok("notes_rw", &p));
    }
}
