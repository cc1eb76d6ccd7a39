//! TL011 multi-org-user-resolution: a user looked up by the identity
//! provider's subject must also be narrowed to the org of the token, or a
//! user who belongs to several orgs resolves to an arbitrary one.

use super::keys::{self, Markers, PyFile, PyKeys};
use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::config::UsersConfig;
use crate::lang::sql_tokens::{self, Tok, Token};
use crate::lang::{python, Language, ParsedFile, Syntax};
use tree_sitter::Node;

pub static RULE: RuleMeta = RuleMeta {
    id: "TL011",
    name: "multi-org-user-resolution",
    severity: Severity::Hard,
    languages: &[Language::Python, Language::Sql],
    summary: "User lookups by an identity-provider subject also filter on the token's org",
    doc: include_str!("../../rules/TL011-multi-org-user-resolution.md"),
    triggers: |c| c.users.identity_columns.clone(),
    gate: None,
    needs_index: false,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

fn org_columns(ctx: &Ctx) -> Vec<String> {
    let u = &ctx.config.users;
    if u.org_columns.is_empty() {
        ctx.config.tenant.columns.clone()
    } else {
        u.org_columns.clone()
    }
}

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    let cfg = &ctx.config.users;
    let orgs = org_columns(ctx);
    let markers: Vec<&str> = cfg.no_filter_markers.iter().map(String::as_str).collect();
    let text = file.text();
    let header_of = |at: usize| -> Option<std::ops::Range<usize>> {
        let Syntax::Python(tree) = &file.syntax else {
            return None;
        };
        let n = tree.root_node().descendant_for_byte_range(at, at)?;
        keys::py_function_header(n)
    };
    let in_test = |at: usize| -> bool {
        let Syntax::Python(tree) = &file.syntax else {
            return false;
        };
        tree.root_node()
            .descendant_for_byte_range(at, at)
            .is_some_and(|n| python::in_test_function(n, text))
    };
    // SQL in .sql files and in strings.
    for site in file.sql_sites().iter().filter(|s| !s.reverting) {
        let toks = sql_tokens::tokenize(site.sql());
        if !toks
            .first()
            .is_some_and(|t| t.is("select") || t.is("update") || t.is("delete") || t.is("with"))
        {
            continue;
        }
        let Some((at, col, alias)) = sql_identity(&toks, cfg) else {
            continue;
        };
        if sql_org_filter(&toks, &orgs) {
            continue;
        }
        let range = site.host_range(toks[at].range.clone());
        let stmt = site.host();
        if keys::comment_marked(
            text,
            stmt.start..range.end,
            header_of(range.start),
            &markers,
        ) || in_test(range.start)
        {
            continue;
        }
        let org = orgs.first().map_or("org_id", String::as_str);
        let qual = alias.map(|a| format!("{a}.")).unwrap_or_default();
        out.push(Diagnostic::new(
            range,
            format!(
                "User lookup by `{qual}{col}` has no org filter: a user who belongs to several orgs resolves to an arbitrary one"
            ),
            format!(
                "add `AND {qual}{org} = :{org}` bound to the token's `{}` claim, or a `{} {} <reason>` comment",
                cfg.org_claim,
                file.lang.comment_marker(),
                cfg.no_filter_markers.first().map_or("no org filter:", String::as_str)
            ),
        ));
    }
    if let Syntax::Python(tree) = &file.syntax {
        python_lookups(ctx, tree.root_node(), text, &orgs, &markers, out);
    }
}

/// The first `col = …` / `alias.col = …` / `col IN` comparison on an
/// identity column: (token index, column, alias).
fn sql_identity(toks: &[Token], cfg: &UsersConfig) -> Option<(usize, String, Option<String>)> {
    for (i, t) in toks.iter().enumerate() {
        let Some(name) = t.ident() else { continue };
        if !cfg
            .identity_columns
            .iter()
            .any(|c| c.eq_ignore_ascii_case(&name))
        {
            continue;
        }
        if !compared(toks, i) {
            continue;
        }
        let alias = (i >= 2 && toks[i - 1].is_punct('.'))
            .then(|| toks[i - 2].ident())
            .flatten();
        return Some((i, name, alias));
    }
    None
}

/// Token `i` is one side of `=` or the left of `IN`.
fn compared(toks: &[Token], i: usize) -> bool {
    let next = toks.get(i + 1);
    let prev = i.checked_sub(1).and_then(|j| toks.get(j));
    next.is_some_and(|n| n.is_punct('=') || n.is("in"))
        || prev.is_some_and(|p| {
            p.is_punct('=') && !matches!(toks.get(i + 1), Some(t) if t.is_punct('('))
        })
}

fn sql_org_filter(toks: &[Token], orgs: &[String]) -> bool {
    toks.iter().enumerate().any(|(i, t)| {
        matches!(&t.tok, Tok::Word(_) | Tok::Ident(_))
            && t.ident()
                .is_some_and(|n| orgs.iter().any(|o| o.eq_ignore_ascii_case(&n)))
            && compared(toks, i)
    })
}

/// SQLAlchemy: `.where(User.sub_col == x)`, `.filter(...)`,
/// `.filter_by(sub_col=x)`.
fn python_lookups(
    ctx: &Ctx,
    root: Node,
    src: &str,
    orgs: &[String],
    markers: &[&str],
    out: &mut Vec<Diagnostic>,
) {
    let cfg = &ctx.config.users;
    let is_identity = |name: &str| cfg.identity_columns.iter().any(|c| c == name);
    let mut hits: Vec<(Node, String, String)> = Vec::new();
    python::walk(root, &mut |n| match n.kind() {
        "comparison_operator" => {
            let Some(op) = n.child(1) else { return };
            if python::text(op, src) != "==" {
                return;
            }
            for side in [n.named_child(0), n.named_child(1)].into_iter().flatten() {
                if side.kind() != "attribute" {
                    continue;
                }
                let (Some(obj), Some(attr)) = (
                    side.child_by_field_name("object"),
                    side.child_by_field_name("attribute"),
                ) else {
                    continue;
                };
                let col = python::text(attr, src);
                let model = python::text(obj, src);
                if is_identity(col)
                    && model.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && in_filter_call(n, src)
                {
                    hits.push((side, model.to_string(), col.to_string()));
                }
            }
        }
        "keyword_argument" => {
            let Some(name) = n.child_by_field_name("name") else {
                return;
            };
            let col = python::text(name, src);
            let call = n.parent().and_then(|a| a.parent());
            if is_identity(col)
                && call.is_some_and(|c| {
                    python::call_name(c, src).is_some_and(|f| f.ends_with("filter_by"))
                })
            {
                let model = call
                    .and_then(|c| query_model(c, src))
                    .unwrap_or_else(|| "User".into());
                hits.push((n, model, col.to_string()));
            }
        }
        _ => {}
    });
    let mut pf: Option<PyFile> = None;
    for (node, model, col) in hits {
        if python::in_test_function(node, src) {
            continue;
        }
        let stmt = keys::py_statement(node);
        if org_in(stmt, src, orgs) || narrowed_later(stmt, src, orgs) {
            continue;
        }
        if keys::comment_marked(
            src,
            stmt.start_byte()..node.end_byte(),
            keys::py_function_header(node),
            markers,
        ) {
            continue;
        }
        let pf = pf.get_or_insert_with(|| PyFile::new(root, src));
        let m = Markers::new(orgs, &[]);
        let org_value = PyKeys {
            file: pf,
            markers: &m,
            helpers: &[],
        }
        .tenant_in_scope(node)
        .unwrap_or_else(|| format!("claims[\"{}\"]", cfg.org_claim));
        let org = orgs.first().map_or("org_id", String::as_str);
        let fix = if node.kind() == "keyword_argument" {
            format!("filter_by({col}=…, {org}={org_value})")
        } else {
            format!("{model}.{org} == {org_value}")
        };
        out.push(Diagnostic::new(
            node.byte_range(),
            format!(
                "User lookup by `{model}.{col}` has no org filter: a user who belongs to several orgs resolves to an arbitrary one"
            ),
            format!(
                "add `{fix}` (the org from the token's `{}` claim), or a `# {} <reason>` comment",
                cfg.org_claim,
                cfg.no_filter_markers
                    .first()
                    .map_or("no org filter:", String::as_str)
            ),
        ));
    }
}

/// The comparison is an argument of `.where(…)`, `.filter(…)` or
/// `.having(…)` (possibly inside `and_(…)`).
fn in_filter_call(n: Node, src: &str) -> bool {
    let mut cur = n.parent();
    while let Some(p) = cur {
        if p.kind() == "call" {
            if let Some(name) = python::call_name(p, src) {
                let last = name.rsplit('.').next().unwrap_or(&name);
                if matches!(last, "where" | "filter" | "having") {
                    return true;
                }
                if !matches!(last, "and_" | "or_" | "all_" | "and" | "or") {
                    return false;
                }
            }
        }
        if matches!(p.kind(), "expression_statement" | "block" | "module") {
            return false;
        }
        cur = p.parent();
    }
    false
}

/// `query(User)` / `select(User)` in the chain of a `filter_by` call.
fn query_model(call: Node, src: &str) -> Option<String> {
    let text = python::text(call, src);
    for head in ["query(", "select("] {
        if let Some(at) = text.find(head) {
            let rest = &text[at + head.len()..];
            let model: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                .collect();
            if !model.is_empty() {
                return Some(model);
            }
        }
    }
    None
}

/// An org column is compared (or passed to `filter_by`) in the statement.
fn org_in(stmt: Node, src: &str, orgs: &[String]) -> bool {
    let t = python::text(stmt, src);
    let b = t.as_bytes();
    orgs.iter().any(|o| {
        let mut from = 0;
        while let Some(at) = t[from..].find(o.as_str()) {
            let s = from + at;
            let e = s + o.len();
            from = e;
            let before_ok = s == 0 || !(b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'_');
            let after_ok = e >= b.len() || !(b[e].is_ascii_alphanumeric() || b[e] == b'_');
            if !(before_ok && after_ok) {
                continue;
            }
            let before_dot = s > 0 && b[s - 1] == b'.';
            let rest = t[e..].trim_start();
            if before_dot || rest.starts_with('=') {
                return true;
            }
        }
        false
    })
}

/// `stmt = select(...)...` narrowed by a later `stmt = stmt.where(...)`.
fn narrowed_later(stmt: Node, src: &str, orgs: &[String]) -> bool {
    let Some(assign) = stmt.named_child(0).filter(|a| a.kind() == "assignment") else {
        return false;
    };
    let Some(var) = assign
        .child_by_field_name("left")
        .filter(|l| l.kind() == "identifier")
        .map(|l| python::text(l, src))
    else {
        return false;
    };
    let mut next = stmt.next_named_sibling();
    while let Some(s) = next {
        let is_narrowing = s.named_child(0).is_some_and(|a| {
            a.kind() == "assignment"
                && a.child_by_field_name("left")
                    .is_some_and(|l| python::text(l, src) == var)
                && a.child_by_field_name("right")
                    .is_some_and(|r| python::text(r, src).starts_with(&format!("{var}.")))
        });
        if is_narrowing && org_in(s, src, orgs) {
            return true;
        }
        next = s.next_named_sibling();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_comparisons() {
        let cfg = UsersConfig {
            identity_columns: vec!["zitadel_user_id".into()],
            ..UsersConfig::default()
        };
        let t = |s: &str| sql_tokens::tokenize(s);
        let toks = t("SELECT u.id FROM portal_users u WHERE u.zitadel_user_id = $1");
        let (_, col, alias) = sql_identity(&toks, &cfg).unwrap();
        assert_eq!(
            (col.as_str(), alias.as_deref()),
            ("zitadel_user_id", Some("u"))
        );
        assert!(!sql_org_filter(&toks, &["org_id".into()]));
        let toks = t("SELECT u.org_id FROM users u WHERE u.zitadel_user_id = $1 AND u.org_id = $2");
        assert!(sql_org_filter(&toks, &["org_id".into()]));
        let toks = t("SELECT zitadel_user_id FROM portal_users WHERE email = $1");
        assert!(sql_identity(&toks, &cfg).is_none());
    }
}
