//! The one fallback for RLS statements sqlparser cannot read (exotic
//! syntax around them, newer Postgres clauses): recognise ALTER TABLE …
//! ROW LEVEL SECURITY, CREATE POLICY and DROP POLICY from tokens.

use super::facts::{Event, Policy, RlsChange};
use crate::lang::sql_tokens::{self, Token};
use std::ops::Range;

/// Facts of one unparsed statement, with ranges relative to it; `None`
/// when the statement is not one of the RLS statements.
pub fn facts(sql: &str) -> Option<Vec<(Event, Range<usize>)>> {
    let toks = sql_tokens::tokenize(sql);
    let whole = 0..sql.len();
    let first = toks.first()?;
    if first.is("alter") && toks.get(1).is_some_and(|t| t.is("table")) {
        return alter_rls(&toks).map(|e| vec![(e, whole)]);
    }
    if first.is("alter") && toks.get(1).is_some_and(|t| t.is("policy")) {
        return alter_policy(sql, &toks).map(|e| vec![(e, whole.clone())]);
    }
    if first.is("create") && toks.get(1).is_some_and(|t| t.is("policy")) {
        return create_policy(sql, &toks).map(|e| vec![(e, whole)]);
    }
    if first.is("drop") && toks.get(1).is_some_and(|t| t.is("policy")) {
        let mut i = 2;
        if toks.get(i).is_some_and(|t| t.is("if")) {
            i += 2;
        }
        let name = toks.get(i)?.ident()?;
        let on = toks.iter().position(|t| t.is("on"))?;
        let (table, _) = sql_tokens::qualified_name(&toks, on + 1)?;
        return Some(vec![(Event::DropPolicy { table, name }, whole)]);
    }
    None
}

fn alter_rls(toks: &[Token]) -> Option<Event> {
    let mut i = 2;
    if toks.get(i).is_some_and(|t| t.is("if")) {
        i += 2;
    }
    if toks.get(i).is_some_and(|t| t.is("only")) {
        i += 1;
    }
    let (table, mut j) = sql_tokens::qualified_name(toks, i)?;
    if toks.get(j).is_some_and(|t| t.is_punct('*')) {
        j += 1;
    }
    let w = |k: usize| toks.get(k);
    let change = if w(j)?.is("enable") {
        RlsChange::Enable
    } else if w(j)?.is("disable") {
        RlsChange::Disable
    } else if w(j)?.is("force") {
        RlsChange::Force
    } else if w(j)?.is("no") && w(j + 1)?.is("force") {
        j += 1;
        RlsChange::NoForce
    } else {
        return None;
    };
    let rest = &toks[j + 1..];
    (rest.len() >= 3 && rest[0].is("row") && rest[1].is("level") && rest[2].is("security"))
        .then_some(Event::Rls { table, change })
}

/// `ALTER POLICY name ON table [TO …] [USING (…)] [WITH CHECK (…)]`.
pub fn alter_policy(sql: &str, toks: &[Token]) -> Option<Event> {
    let (table, p) = policy_clauses(sql, toks)?;
    Some(Event::AlterPolicy {
        table,
        name: p.name,
        using: p.using,
        with_check: p.with_check,
    })
}

fn create_policy(sql: &str, toks: &[Token]) -> Option<Event> {
    let (table, policy) = policy_clauses(sql, toks)?;
    Some(Event::CreatePolicy { table, policy })
}

/// The clauses of `CREATE|ALTER POLICY name ON table …`.
fn policy_clauses(sql: &str, toks: &[Token]) -> Option<(String, Policy)> {
    let name = toks.get(2)?.ident()?;
    let on = toks.iter().position(|t| t.is("on"))?;
    let (table, mut i) = sql_tokens::qualified_name(toks, on + 1)?;
    let mut policy = Policy {
        name,
        command: "ALL".into(),
        permissive: true,
        roles: Vec::new(),
        using: None,
        with_check: None,
    };
    while i < toks.len() {
        let t = &toks[i];
        if t.is("as") {
            policy.permissive = !toks.get(i + 1).is_some_and(|x| x.is("restrictive"));
            i += 2;
        } else if t.is("for") {
            policy.command = toks
                .get(i + 1)
                .and_then(|x| x.ident())
                .unwrap_or_default()
                .to_ascii_uppercase();
            i += 2;
        } else if t.is("to") {
            i += 1;
            while let Some(r) = toks.get(i).and_then(|x| x.ident()) {
                if r == "using" || r == "with" {
                    break;
                }
                policy.roles.push(r);
                i += 1;
                if toks.get(i).is_some_and(|x| x.is_punct(',')) {
                    i += 1;
                }
            }
        } else if t.is("using") || (t.is("with") && toks.get(i + 1).is_some_and(|x| x.is("check")))
        {
            let open = if t.is("using") { i + 1 } else { i + 2 };
            if !toks.get(open).is_some_and(|x| x.is_punct('(')) {
                return None;
            }
            let close = sql_tokens::matching_paren(toks, open)?;
            let expr = sql[toks[open].range.end..toks[close].range.start]
                .trim()
                .to_string();
            if t.is("using") {
                policy.using = Some(expr);
            } else {
                policy.with_check = Some(expr);
            }
            i = close + 1;
        } else {
            i += 1;
        }
    }
    Some((table, policy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_rls_statements_from_tokens() {
        let e = facts("ALTER TABLE IF EXISTS ONLY app.notes NO FORCE ROW LEVEL SECURITY").unwrap();
        assert_eq!(
            e[0].0,
            Event::Rls {
                table: "notes".into(),
                change: RlsChange::NoForce
            }
        );
        let e = facts("CREATE POLICY \"tenant_isolation\" ON notes AS RESTRICTIVE FOR UPDATE TO app_user, api USING (org_id = f(x)) WITH CHECK ((org_id = g()) OR true)").unwrap();
        let Event::CreatePolicy { table, policy } = &e[0].0 else {
            panic!()
        };
        assert_eq!(table, "notes");
        assert_eq!(policy.name, "tenant_isolation");
        assert!(!policy.permissive);
        assert_eq!(policy.command, "UPDATE");
        assert_eq!(policy.roles, vec!["app_user", "api"]);
        assert_eq!(policy.using.as_deref(), Some("org_id = f(x)"));
        assert_eq!(policy.with_check.as_deref(), Some("(org_id = g()) OR true"));
        let e = facts("DROP POLICY IF EXISTS p ON public.notes CASCADE").unwrap();
        assert_eq!(
            e[0].0,
            Event::DropPolicy {
                table: "notes".into(),
                name: "p".into()
            }
        );
        assert!(facts("ALTER TABLE notes ADD COLUMN x int").is_none());
        assert!(facts("SELECT 1").is_none());
        assert!(facts("").is_none());
    }
}
