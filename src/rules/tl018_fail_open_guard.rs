//! TL018 fail-open-guard: an auth or tenant guard that lets the request
//! through when its configuration or context is missing — authentication
//! skipped when the secret setting is empty, a missing allow-list read as
//! "allow all", an unknown tenant replaced by a default one, a failed
//! authorisation call swallowed by its error branch.

use super::names::split_pieces;
use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::config::Config;
use crate::lang::{python, rust, Language, ParsedFile, Syntax};
use aho_corasick::AhoCorasick;
use syn::spanned::Spanned;
use tree_sitter::Node;

pub static RULE: RuleMeta = RuleMeta {
    id: "TL018",
    name: "fail-open-guard",
    severity: Severity::Hard,
    languages: &[Language::Python, Language::Rust],
    summary: "Auth and tenant guards deny when their configuration or context is missing",
    doc: include_str!("../../rules/TL018-fail-open-guard.md"),
    triggers: |c| {
        let (pieces, anywhere) = trigger_words(c);
        pieces.into_iter().chain(anywhere).collect()
    },
    gate: Some(gate),
    needs_index: false,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

/// The words of a guard, tenant or auth call: guard and tenant words name
/// a guard or tenant only where a piece of a name starts with them
/// (`allow_all`, `orgId`, not `dataclass`), the others anywhere.
fn trigger_words(c: &Config) -> (Vec<String>, Vec<String>) {
    let g = &c.guards;
    // Allow-list names count without a guard around them (Rust
    // `map_or_else(|| true, …)`), whatever the configured guard words.
    let pieces = g
        .guard_words
        .iter()
        .chain(&g.tenant_words)
        .cloned()
        .chain(ALLOW_LIST_PIECES.iter().map(|w| w.to_string()))
        .collect();
    let mut anywhere: Vec<String> = g.auth_calls.clone();
    anywhere.extend(
        [
            "call_next",
            "next.run",
            "self.app(",
            "map_or(true",
            "is_none_or",
            "unwrap_or(true",
            "verif",
            "authenticat",
            "authori",
            "permission",
            "jwt",
        ]
        .map(String::from),
    );
    (pieces, anywhere)
}

/// The pre-filter's second stage: a trigger word where the rule would
/// read it.
fn gate(ctx: &Ctx, _: &str, _: Language, text: &str) -> bool {
    struct Words {
        pieces: AhoCorasick,
        anywhere: AhoCorasick,
    }
    let w = ctx.derived(|ctx| {
        let (pieces, anywhere) = trigger_words(ctx.config);
        let build = |words: Vec<String>| {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(words.iter().filter(|w| !w.is_empty()))
                .unwrap_or_else(|_| AhoCorasick::new(Vec::<String>::new()).expect("empty matcher"))
        };
        Words {
            pieces: build(pieces),
            anywhere: build(anywhere),
        }
    });
    w.anywhere.is_match(text)
        || w.pieces
            .find_overlapping_iter(text)
            .any(|m| super::names::starts_piece(text, m.start()))
}

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    match &file.syntax {
        Syntax::Python(tree) => check_python(ctx, tree.root_node(), file.text(), out),
        Syntax::Rust(f) => check_rust(ctx, f, file, out),
        Syntax::Sql(_) => {}
    }
}

// ---------------------------------------------------------------- words

fn pieces_start(name: &str, words: &[String]) -> bool {
    split_pieces(name)
        .iter()
        .any(|p| words.iter().any(|w| p.starts_with(&w.to_ascii_lowercase())))
}

fn is_guard_name(ctx: &Ctx, name: &str) -> bool {
    pieces_start(name, &ctx.config.guards.guard_words)
}

fn is_tenant_name(ctx: &Ctx, name: &str) -> bool {
    pieces_start(name, &ctx.config.guards.tenant_words)
}

/// A name for a list of what is allowed: `allowed_kb_ids`,
/// `permitted_orgs`, `scopes`, `allowed_tenants`.
fn is_allow_list(name: &str) -> bool {
    split_pieces(name)
        .iter()
        .any(|x| ALLOW_LIST_PIECES.contains(&x.as_str()))
}

/// The pieces of an allow-list name.
const ALLOW_LIST_PIECES: &[&str] = &[
    "allowed",
    "allow",
    "allowlist",
    "whitelist",
    "permitted",
    "permissions",
    "scopes",
    "roles",
    "acl",
    "grants",
];

/// A call whose failure must deny: `verify*`, `authenticate*`,
/// `authorize*`/`authorise*`, `*permission*`, `jwt.decode`, or a
/// configured name.
fn is_auth_call(ctx: &Ctx, name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let last = lower.rsplit(['.', ':']).next().unwrap_or(&lower);
    ["verify", "authenticate", "authori", "permission"]
        .iter()
        .any(|w| last.contains(w))
        || (last == "decode" && lower.contains("jwt"))
        || ctx
            .config
            .guards
            .auth_calls
            .iter()
            .any(|c| !c.is_empty() && lower.contains(&c.to_ascii_lowercase()))
}

/// A value that stands in for an unknown tenant: a default or fallback
/// one, the first of a list, an unfiltered `.first()`/`.limit(1)` query.
fn is_fallback_text(text: &str) -> bool {
    let t = text.trim();
    let pieces = split_pieces(t);
    let named_default = pieces
        .iter()
        .any(|p| matches!(p.as_str(), "default" | "fallback"));
    let first = t.contains("[0]")
        || t.ends_with(".first()")
        || t.contains("next(iter(")
        || ((t.contains(".first()") || t.contains(".limit(1)"))
            && !t.contains("where(")
            && !t.contains("filter(")
            && !t.contains("filter_by("));
    named_default || first
}

// ---------------------------------------------------------------- Python

#[derive(Clone, Copy, PartialEq, Debug)]
enum Through {
    /// `return await call_next(request)`, `await self.app(...)`.
    Next,
    /// `return True`.
    True,
    /// A bare `return` / `return None`.
    Bare,
}

fn is_log_call(n: Node, src: &str) -> bool {
    let n = if n.kind() == "await" {
        n.named_child(0).unwrap_or(n)
    } else {
        n
    };
    n.kind() == "call"
        && python::call_name(n, src).is_some_and(|c| {
            let last = c.rsplit('.').next().unwrap_or(&c);
            matches!(
                last,
                "debug"
                    | "info"
                    | "warning"
                    | "warn"
                    | "error"
                    | "exception"
                    | "critical"
                    | "print"
            )
        })
}

/// Statements of a block without comments and logging calls.
fn significant<'t>(block: Node<'t>, src: &str) -> Vec<Node<'t>> {
    let mut c = block.walk();
    block
        .named_children(&mut c)
        .filter(|s| s.kind() != "comment")
        .filter(|s| {
            !(s.kind() == "expression_statement"
                && s.named_child(0).is_some_and(|e| is_log_call(e, src)))
        })
        .collect()
}

fn passes_to_next(text: &str) -> bool {
    text.contains("call_next(") || text.contains("self.app(")
}

/// How a block lets the request through, if it does.
fn through(block: Node, src: &str) -> Option<Through> {
    let stmts = significant(block, src);
    let first = *stmts.first()?;
    match first.kind() {
        "return_statement" => match first.named_child(0) {
            None => Some(Through::Bare),
            Some(v) => {
                let t = python::text(v, src);
                if t == "True" {
                    Some(Through::True)
                } else if t == "None" {
                    Some(Through::Bare)
                } else if passes_to_next(t) {
                    Some(Through::Next)
                } else {
                    None
                }
            }
        },
        "expression_statement" if passes_to_next(python::text(first, src)) => Some(Through::Next),
        _ => None,
    }
}

/// The value an absence test is about: `not x`, `x is None`, `x == ""`,
/// `not x.strip()`, `len(x) == 0`, either side of an `or`.
fn absent_operand<'t>(cond: Node<'t>, src: &str) -> Option<Node<'t>> {
    let cond = python::unparen(cond);
    match cond.kind() {
        "not_operator" => {
            let mut x = python::unparen(cond.child_by_field_name("argument")?);
            if x.kind() == "call" {
                let f = x.child_by_field_name("function")?;
                if f.kind() == "attribute"
                    && f.child_by_field_name("attribute")
                        .is_some_and(|a| python::text(a, src) == "strip")
                {
                    x = f.child_by_field_name("object")?;
                }
            }
            Some(x)
        }
        "comparison_operator" => {
            let t = python::text(cond, src);
            let first = cond.named_child(0)?;
            if t.ends_with("is None")
                || t.ends_with("== None")
                || t.ends_with("== \"\"")
                || t.ends_with("== ''")
            {
                return Some(first);
            }
            if t.ends_with("== 0")
                && first.kind() == "call"
                && python::call_name(first, src).as_deref() == Some("len")
            {
                return python::positional_args(first).first().copied();
            }
            None
        }
        "boolean_operator" => {
            let op = cond
                .child_by_field_name("operator")
                .map(|o| python::text(o, src));
            if op != Some("or") {
                return None;
            }
            absent_operand(cond.child_by_field_name("left")?, src)
                .or_else(|| absent_operand(cond.child_by_field_name("right")?, src))
        }
        _ => None,
    }
}

/// The name a value is known by: `x`, `settings.x` → `x`.
fn value_name<'s>(n: Node, src: &'s str) -> Option<&'s str> {
    match n.kind() {
        "identifier" => Some(python::text(n, src)),
        "attribute" => n
            .child_by_field_name("attribute")
            .map(|a| python::text(a, src)),
        _ => None,
    }
}

fn func_name<'s>(f: Node, src: &'s str) -> &'s str {
    f.child_by_field_name("name")
        .map(|n| python::text(n, src))
        .unwrap_or("")
}

/// An auth guard: named like one, a middleware `dispatch`/`__call__`, or a
/// function taking `call_next`.
fn is_guard_fn(ctx: &Ctx, f: Node, src: &str) -> bool {
    let name = func_name(f, src);
    is_guard_name(ctx, name)
        || python::parameter(f, "call_next", src).is_some()
        || (matches!(name, "dispatch" | "__call__") && python::text(f, src).contains("self.app("))
}

fn check_python(ctx: &Ctx, root: Node, src: &str, out: &mut Vec<Diagnostic>) {
    python::walk(root, &mut |n| {
        let candidate = matches!(
            n.kind(),
            "if_statement" | "return_statement" | "boolean_operator" | "call" | "try_statement"
        );
        if !candidate {
            return;
        }
        let before = out.len();
        match n.kind() {
            "if_statement" => python_if(ctx, n, src, out),
            "return_statement" => python_return_or(ctx, n, src, out),
            "boolean_operator" => python_tenant_or(ctx, n, src, out),
            "call" => python_get_default(ctx, n, src, out),
            "try_statement" => python_try(ctx, n, src, out),
            _ => {}
        }
        // Tests are asked about only where something was found: the
        // question walks up the tree.
        if out.len() > before && python::in_test_function(n, src) {
            out.truncate(before);
        }
    });
}

fn python_if(ctx: &Ctx, n: Node, src: &str, out: &mut Vec<Diagnostic>) {
    let (Some(cond), Some(body)) = (
        n.child_by_field_name("condition"),
        n.child_by_field_name("consequence"),
    ) else {
        return;
    };
    let Some(x) = absent_operand(cond, src) else {
        python_deny_only_when_listed(ctx, n, cond, body, src, out);
        return;
    };
    let Some(name) = value_name(x, src) else {
        return;
    };
    let shown = python::text(x, src);
    let func = python::enclosing_function(n);
    let guard = func.is_some_and(|f| is_guard_fn(ctx, f, src));
    let through = through(body, src);
    if guard && ctx.secret_words.is_secret(name) {
        let denies_elsewhere = func.is_some_and(|f| {
            let mut raises = false;
            python::walk(f, &mut |m| raises |= m.kind() == "raise_statement");
            raises
        });
        let lets = match through {
            Some(Through::Next | Through::True) => true,
            Some(Through::Bare) => denies_elsewhere,
            None => false,
        };
        if lets {
            out.push(Diagnostic::new(
                n.start_byte()..cond.end_byte(),
                format!(
                    "`{}` lets every request through when `{shown}` is empty: authentication is skipped instead of refused",
                    func.map(|f| func_name(f, src)).unwrap_or("guard")
                ),
                format!("refuse when the secret is missing: `if not {shown}: raise HTTPException(status_code=503, detail=\"authentication not configured\")`, and reject an empty `{name}` at start-up (TL004)"),
            ));
        }
        return;
    }
    if guard && is_allow_list(name) && matches!(through, Some(Through::True | Through::Next)) {
        out.push(Diagnostic::new(
            n.start_byte()..cond.end_byte(),
            format!(
                "`{}` treats a missing or empty `{shown}` as \"allow everything\"",
                func.map(|f| func_name(f, src)).unwrap_or("guard")
            ),
            format!(
                "deny when there is no allow-list: `if not {shown}: return False` (or raise 403)"
            ),
        ));
        return;
    }
    if is_tenant_name(ctx, name) {
        let fallback = significant(body, src).into_iter().find_map(|s| {
            let v = match s.kind() {
                "return_statement" => s.named_child(0),
                "expression_statement" => s
                    .named_child(0)
                    .filter(|a| a.kind() == "assignment")
                    .filter(|a| {
                        a.child_by_field_name("left")
                            .is_some_and(|l| python::text(l, src) == python::text(x, src))
                    })
                    .and_then(|a| a.child_by_field_name("right")),
                _ => None,
            }?;
            is_fallback_text(python::text(v, src)).then_some(v)
        });
        if let Some(v) = fallback {
            out.push(Diagnostic::new(
                n.start_byte()..cond.end_byte(),
                format!(
                    "unknown tenant `{shown}` falls back to `{}` instead of being refused",
                    python::text(v, src)
                ),
                format!("`if {shown} is None: raise HTTPException(status_code=404, detail=\"unknown organisation\")`"),
            ));
        }
    }
}

/// `if allowed and org not in allowed: <deny>` in a guard: with no
/// allow-list configured, the denial never runs and everything passes.
fn python_deny_only_when_listed(
    ctx: &Ctx,
    n: Node,
    cond: Node,
    body: Node,
    src: &str,
    out: &mut Vec<Diagnostic>,
) {
    let cond = python::unparen(cond);
    if cond.kind() != "boolean_operator"
        || cond
            .child_by_field_name("operator")
            .map(|o| python::text(o, src))
            != Some("and")
    {
        return;
    }
    let (Some(left), Some(right)) = (
        cond.child_by_field_name("left").map(python::unparen),
        cond.child_by_field_name("right").map(python::unparen),
    ) else {
        return;
    };
    // `allowed` or `allowed is not None`
    let list = match left.kind() {
        "identifier" | "attribute" => left,
        "comparison_operator" if python::text(left, src).ends_with("is not None") => {
            match left.named_child(0) {
                Some(l) => l,
                None => return,
            }
        }
        _ => return,
    };
    let shown = python::text(list, src);
    let rt = python::text(right, src);
    let excluded = right.kind() == "comparison_operator"
        && rt
            .split_once(" not in ")
            .is_some_and(|(_, coll)| coll.trim() == shown);
    if !excluded || !value_name(list, src).is_some_and(is_allow_list) {
        return;
    }
    let func = python::enclosing_function(n);
    let in_guard = func.is_some_and(|f| {
        is_guard_fn(ctx, f, src)
            || f.parent()
                .and_then(|b| b.parent())
                .filter(|c| c.kind() == "class_definition")
                .and_then(|c| c.child_by_field_name("name"))
                .is_some_and(|c| is_guard_name(ctx, python::text(c, src)))
    });
    let body_text = python::text(body, src);
    let denies = body_text.contains("raise")
        || body_text.contains("401")
        || body_text.contains("403")
        || body_text.contains("return False");
    if !in_guard || !denies {
        return;
    }
    out.push(Diagnostic::new(
        n.start_byte()..cond.end_byte(),
        format!(
            "`{}` denies only when `{shown}` is set: with no allow-list configured every request passes",
            func.map(|f| func_name(f, src)).unwrap_or("guard")
        ),
        format!("deny when there is no allow-list: `if not {shown} or {rt}:` (and reject a missing `{shown}` at start-up)"),
    ));
}

/// `return allowed is None or x in allowed` in a guard.
fn python_return_or(ctx: &Ctx, n: Node, src: &str, out: &mut Vec<Diagnostic>) {
    let Some(v) = n.named_child(0).map(python::unparen) else {
        return;
    };
    if v.kind() != "boolean_operator"
        || v.child_by_field_name("operator")
            .map(|o| python::text(o, src))
            != Some("or")
    {
        return;
    }
    if !python::enclosing_function(n).is_some_and(|f| is_guard_fn(ctx, f, src)) {
        return;
    }
    let Some(left) = v.child_by_field_name("left") else {
        return;
    };
    let Some(x) = absent_operand(left, src) else {
        return;
    };
    if !value_name(x, src).is_some_and(is_allow_list) {
        return;
    }
    let shown = python::text(x, src);
    out.push(Diagnostic::new(
        n.byte_range(),
        format!(
            "`{}` allows everything when `{shown}` is missing or empty",
            python::text(v, src)
        ),
        format!("`return {shown} is not None and …` — deny when there is no allow-list"),
    ));
}

/// A lookup call: `.get(...)`, `.scalar(...)`, `get_org(...)`.
fn is_lookup(n: Node, src: &str) -> bool {
    let n = python::unparen(n);
    let n = if n.kind() == "await" {
        n.named_child(0).unwrap_or(n)
    } else {
        n
    };
    if n.kind() != "call" {
        return false;
    }
    let Some((method, _)) = python::method_and_receiver(n, src) else {
        return false;
    };
    let last = method.rsplit('.').next().unwrap_or(method);
    matches!(
        last,
        "get"
            | "scalar"
            | "scalar_one_or_none"
            | "one_or_none"
            | "first"
            | "find"
            | "lookup"
            | "fetch_one"
            | "fetchrow"
            | "get_or_none"
    ) || ["get_", "find_", "lookup_", "resolve_", "load_", "fetch_"]
        .iter()
        .any(|p| last.starts_with(p))
}

/// `orgs.get(slug) or orgs[0]` where a tenant is looked up.
fn python_tenant_or(ctx: &Ctx, n: Node, src: &str, out: &mut Vec<Diagnostic>) {
    if n.child_by_field_name("operator")
        .map(|o| python::text(o, src))
        != Some("or")
    {
        return;
    }
    let (Some(left), Some(right)) = (
        n.child_by_field_name("left"),
        n.child_by_field_name("right"),
    ) else {
        return;
    };
    if !is_lookup(left, src) || !is_fallback_text(python::text(right, src)) {
        return;
    }
    let target = n
        .parent()
        .filter(|p| p.kind() == "assignment")
        .and_then(|p| p.child_by_field_name("left"))
        .map(|l| python::text(l, src))
        .unwrap_or("");
    let fname = python::enclosing_function(n)
        .map(|f| func_name(f, src))
        .unwrap_or("");
    let tenant = [
        target,
        fname,
        python::text(left, src),
        python::text(right, src),
    ]
    .iter()
    .any(|t| is_tenant_name(ctx, t));
    if !tenant {
        return;
    }
    out.push(Diagnostic::new(
        n.byte_range(),
        format!(
            "unknown tenant falls back to `{}` when `{}` finds nothing",
            python::text(right, src),
            python::text(left, src)
        ),
        format!(
            "refuse unknown tenants: `org = {}` then `if org is None: raise HTTPException(status_code=404)`",
            python::text(left, src)
        ),
    ));
}

/// `orgs.get(slug, default_org)`.
fn python_get_default(ctx: &Ctx, n: Node, src: &str, out: &mut Vec<Diagnostic>) {
    let Some(("get", Some(recv))) = python::method_and_receiver(n, src) else {
        return;
    };
    let args = python::positional_args(n);
    let [key, default] = args.as_slice() else {
        return;
    };
    let d = python::text(*default, src);
    if !is_fallback_text(d) || python::string_value(*default, src).is_some() {
        return;
    }
    let fname = python::enclosing_function(n)
        .map(|f| func_name(f, src))
        .unwrap_or("");
    if ![fname, python::text(recv, src), d]
        .iter()
        .any(|t| is_tenant_name(ctx, t))
    {
        return;
    }
    out.push(Diagnostic::new(
        n.byte_range(),
        format!(
            "unknown tenant `{}` falls back to `{d}`",
            python::text(*key, src)
        ),
        format!(
            "look the tenant up without a default (`{}.get({})`) and raise 404 when it is missing",
            python::text(recv, src),
            python::text(*key, src)
        ),
    ));
}

/// `try: verify(...)` whose `except` lets the request through.
fn python_try(ctx: &Ctx, n: Node, src: &str, out: &mut Vec<Diagnostic>) {
    let Some(body) = n.child_by_field_name("body") else {
        return;
    };
    let mut auth: Option<String> = None;
    python::walk(body, &mut |m| {
        if auth.is_none() && m.kind() == "call" {
            if let Some(c) = python::call_name(m, src) {
                if is_auth_call(ctx, &c) {
                    auth = Some(c);
                }
            }
        }
    });
    let Some(auth) = auth else { return };
    // Trying the next key of a rotation is not failing open.
    let mut p = n.parent();
    while let Some(x) = p {
        if matches!(x.kind(), "for_statement" | "while_statement") {
            return;
        }
        if x.kind() == "function_definition" {
            break;
        }
        p = x.parent();
    }
    let denies_after = {
        let mut found = false;
        let mut s = n.next_named_sibling();
        while let Some(x) = s {
            if x.kind() == "if_statement" {
                let t = python::text(x, src);
                if t.contains("raise ")
                    || (t.contains("return ") && !passes_to_next(t) && !t.contains("return True"))
                {
                    found = true;
                }
            }
            s = x.next_named_sibling();
        }
        found
    };
    let mut c = n.walk();
    for clause in n
        .named_children(&mut c)
        .filter(|x| x.kind() == "except_clause")
    {
        let Some(block) = clause
            .named_children(&mut clause.walk())
            .filter(|x| x.kind() == "block")
            .last()
        else {
            continue;
        };
        let mut raises = false;
        python::walk(block, &mut |m| raises |= m.kind() == "raise_statement");
        if raises {
            continue;
        }
        let stmts = significant(block, src);
        let lets = match stmts.last() {
            None => !denies_after,
            Some(last) => match last.kind() {
                "return_statement" => {
                    matches!(through(block, src), Some(Through::Next | Through::True))
                        || last.named_child(0).is_some_and(|v| {
                            passes_to_next(python::text(v, src)) || python::text(v, src) == "True"
                        })
                }
                "continue_statement" | "break_statement" => false,
                "pass_statement" => !denies_after,
                _ => !denies_after && !stmts.iter().any(|s| s.kind() == "return_statement"),
            },
        };
        if !lets {
            continue;
        }
        let header_end = block.start_byte().min(clause.end_byte());
        out.push(Diagnostic::new(
            clause.start_byte()..header_end,
            format!("when `{auth}` fails, this `except` lets the request continue instead of refusing it"),
            "end the `except` branch with `raise HTTPException(status_code=401)` (or return a 401/403 response)".to_string(),
        ));
    }
}

// ---------------------------------------------------------------- Rust

struct Rs<'c, 'f> {
    ctx: &'c Ctx<'c>,
    file: &'f ParsedFile,
    out: &'f mut Vec<Diagnostic>,
    /// (name, is a guard) of the enclosing functions.
    fns: Vec<(String, bool)>,
}

fn rust_text(file: &ParsedFile, span: proc_macro2::Span) -> String {
    let r = rust::span_range(span, &file.src);
    file.text().get(r).unwrap_or("").to_string()
}

/// A value's name through `as_deref()`, `as_ref()`, `trim()`, `iter()`.
fn rs_name(e: &syn::Expr) -> Option<String> {
    let mut e = rust::peel(e);
    while let syn::Expr::MethodCall(m) = e {
        if matches!(
            m.method.to_string().as_str(),
            "as_deref" | "as_ref" | "iter" | "trim" | "as_str" | "clone"
        ) {
            e = rust::peel(&m.receiver);
        } else {
            break;
        }
    }
    rust::expr_name(e)
}

/// The name of the function an expression calls, through `.await` and `?`.
fn rs_called(e: &syn::Expr) -> Option<String> {
    match rust::peel(e) {
        syn::Expr::Await(a) => rs_called(&a.base),
        syn::Expr::Try(t) => rs_called(&t.expr),
        syn::Expr::Call(c) => match &*c.func {
            syn::Expr::Path(p) => Some(rust::path_string(&p.path)),
            _ => None,
        },
        syn::Expr::MethodCall(m) => Some(m.method.to_string()),
        _ => None,
    }
}

fn block_through(text: &str) -> bool {
    let t: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    t.contains("next.run(")
        || t.contains("return true")
        || t.trim_end_matches('}').trim().ends_with("true")
}

impl Rs<'_, '_> {
    fn guard(&self) -> bool {
        self.fns.last().is_some_and(|(_, g)| *g)
    }
    fn fname(&self) -> String {
        self.fns.last().map(|(n, _)| n.clone()).unwrap_or_default()
    }
    fn push(&mut self, span: proc_macro2::Span, title: String, suggestion: String) {
        let range = rust::span_range(span, &self.file.src);
        self.out.push(Diagnostic::new(range, title, suggestion));
    }
    fn enter(&mut self, sig: &syn::Signature) {
        let name = sig.ident.to_string();
        let next_param = sig.inputs.iter().any(|i| match i {
            syn::FnArg::Typed(t) => matches!(&*t.ty, syn::Type::Path(p)
                if p.path.segments.last().is_some_and(|s| s.ident == "Next")),
            _ => false,
        });
        let g = is_guard_name(self.ctx, &name) || next_param;
        self.fns.push((name, g));
    }
    /// An absent secret or allow-list `x` whose branch lets through.
    fn absent(&mut self, span: proc_macro2::Span, name: &str, shown: &str, branch: &str) {
        if !self.guard() || !block_through(branch) {
            return;
        }
        let f = self.fname();
        if self.ctx.secret_words.is_secret(name) {
            self.push(
                span,
                format!("`{f}` lets every request through when `{shown}` is missing or empty: authentication is skipped instead of refused"),
                format!("refuse when the secret is missing (`return Err(StatusCode::SERVICE_UNAVAILABLE)`) and reject an empty `{name}` at start-up (TL004)"),
            );
        } else if is_allow_list(name) {
            self.push(
                span,
                format!("`{f}` treats a missing or empty `{shown}` as \"allow everything\""),
                format!("deny when `{shown}` is empty: `return false`"),
            );
        }
    }
}

fn check_rust(ctx: &Ctx, f: &syn::File, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    use syn::visit::Visit;
    let mut v = Rs {
        ctx,
        file,
        out,
        fns: Vec::new(),
    };
    v.visit_file(f);
}

impl<'ast> syn::visit::Visit<'ast> for Rs<'_, '_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !rust::is_test_attr(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if rust::is_test_attr(&f.attrs) {
            return;
        }
        self.enter(&f.sig);
        syn::visit::visit_item_fn(self, f);
        self.fns.pop();
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if rust::is_test_attr(&f.attrs) {
            return;
        }
        self.enter(&f.sig);
        syn::visit::visit_impl_item_fn(self, f);
        self.fns.pop();
    }
    fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
        if let syn::Expr::MethodCall(m) = &*i.cond {
            if matches!(m.method.to_string().as_str(), "is_empty" | "is_none") {
                if let Some(name) = rs_name(&m.receiver) {
                    let shown = rust_text(self.file, m.receiver.span());
                    let branch = rust_text(self.file, i.then_branch.span());
                    self.absent(i.if_token.span, &name, &shown, &branch);
                }
            }
        }
        syn::visit::visit_expr_if(self, i);
    }
    fn visit_local(&mut self, l: &'ast syn::Local) {
        if let Some(init) = &l.init {
            if let Some((_, diverge)) = &init.diverge {
                if let Some(name) = rs_name(&init.expr) {
                    let shown = rust_text(self.file, init.expr.span());
                    let branch = rust_text(self.file, diverge.span());
                    self.absent(l.let_token.span, &name, &shown, &branch);
                }
            }
            if matches!(l.pat, syn::Pat::Wild(_)) {
                if let Some(c) = rs_called(&init.expr).filter(|c| is_auth_call(self.ctx, c)) {
                    self.push(
                        l.let_token.span,
                        format!("the result of `{c}` is discarded: a failed check lets the request continue"),
                        format!("propagate the failure: `{c}(…)?` or map it to a 401/403"),
                    );
                }
            }
        }
        syn::visit::visit_local(self, l);
    }
    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        if let Some(c) = rs_called(&m.expr).filter(|c| is_auth_call(self.ctx, c)) {
            for arm in &m.arms {
                let is_err = matches!(&arm.pat, syn::Pat::TupleStruct(t)
                    if t.path.segments.last().is_some_and(|s| s.ident == "Err"));
                if !is_err {
                    continue;
                }
                let body = rust_text(self.file, arm.body.span());
                let compact: String = body.split_whitespace().collect();
                if body.contains("next.run(") || compact == "true" || compact == "Ok(true)" {
                    self.push(
                        arm.pat.span(),
                        format!("when `{c}` fails, this arm lets the request continue instead of refusing it"),
                        "return `Err(StatusCode::UNAUTHORIZED)` from the `Err` arm".to_string(),
                    );
                }
            }
        }
        syn::visit::visit_expr_match(self, m);
    }
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let method = m.method.to_string();
        let arg0 = m.args.first().map(|a| rust_text(self.file, a.span()));
        let arg0 = arg0.as_deref().unwrap_or("");
        let compact: String = arg0.split_whitespace().collect();
        match method.as_str() {
            "map_or" | "is_none_or" | "map_or_else" => {
                let allows = method == "is_none_or" || compact == "true" || compact == "||true";
                if allows {
                    if let Some(name) = rs_name(&m.receiver).filter(|n| is_allow_list(n)) {
                        let shown = rust_text(self.file, m.receiver.span());
                        self.push(
                            m.method.span(),
                            format!("`{method}` allows everything when `{}` is `None`", shown.split_whitespace().collect::<String>()),
                            format!("deny without an allow-list: `{name}.as_ref().is_some_and(|list| …)`"),
                        );
                    }
                }
            }
            "unwrap_or" | "unwrap_or_else" | "or" | "or_else" => {
                let auth = rs_called(&m.receiver).filter(|c| is_auth_call(self.ctx, c));
                if let Some(c) = auth {
                    if compact == "true" || compact.ends_with("|true") || compact == "Ok(true)" {
                        self.push(
                            m.method.span(),
                            format!("`{c}(…).{method}(…)` grants access when the check fails"),
                            format!("treat a failed `{c}` as a denial: `.unwrap_or(false)` or propagate the error"),
                        );
                    }
                } else {
                    let recv = rust_text(self.file, m.receiver.span());
                    let lookup = recv.contains(".get(") || recv.contains(".find(");
                    let fname = self.fname();
                    let tenant = [fname.as_str(), recv.as_str(), arg0]
                        .iter()
                        .any(|t| is_tenant_name(self.ctx, t));
                    if lookup && tenant && is_fallback_text(arg0) {
                        self.push(
                            m.method.span(),
                            format!(
                                "unknown tenant falls back to `{}` when `{}` finds nothing",
                                arg0.trim(),
                                recv.split_whitespace().collect::<String>()
                            ),
                            "refuse unknown tenants: `.ok_or(StatusCode::NOT_FOUND)?`".to_string(),
                        );
                    }
                }
            }
            _ => {}
        }
        syn::visit::visit_expr_method_call(self, m);
    }
}
