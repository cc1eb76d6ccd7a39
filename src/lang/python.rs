//! Python through tree-sitter: parsing and small tree helpers for rules.

use std::cell::RefCell;
use tree_sitter::{Node, Parser, Tree};

thread_local! {
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

pub fn parse(text: &str) -> Option<Tree> {
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let mut p = Parser::new();
            p.set_language(&tree_sitter_python::LANGUAGE.into()).ok()?;
            *slot = Some(p);
        }
        slot.as_mut()?.parse(text, None)
    })
}

/// Byte offset of the first ERROR or MISSING node, if any.
pub fn first_error(tree: &Tree) -> Option<usize> {
    let root = tree.root_node();
    if !root.has_error() {
        return None;
    }
    let mut found = None;
    walk(root, &mut |n| {
        if found.is_none() && (n.is_error() || n.is_missing()) {
            found = Some(n.start_byte());
        }
    });
    found.or(Some(root.start_byte()))
}

/// Pre-order walk over every named node.
pub fn walk<'t>(root: Node<'t>, f: &mut impl FnMut(Node<'t>)) {
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        if node.is_named() {
            f(node);
        }
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

/// Pre-order walk over statement-level nodes: the module's statements and
/// those nested in compound statements and definitions, in source order.
/// Expressions are not entered, so it is far cheaper than [`walk`] for
/// what only occurs as a statement (imports).
pub fn walk_statements<'t>(root: Node<'t>, f: &mut impl FnMut(Node<'t>)) {
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        f(n);
        let container = matches!(
            n.kind(),
            "module"
                | "block"
                | "function_definition"
                | "class_definition"
                | "decorated_definition"
                | "if_statement"
                | "elif_clause"
                | "else_clause"
                | "for_statement"
                | "while_statement"
                | "try_statement"
                | "except_clause"
                | "except_group_clause"
                | "finally_clause"
                | "with_statement"
                | "match_statement"
                | "case_clause"
                | "ERROR"
        );
        if container {
            let mut c = n.walk();
            let children: Vec<Node> = n.named_children(&mut c).collect();
            stack.extend(children.into_iter().rev());
        }
    }
}

pub fn text<'s>(node: Node, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}

/// Dotted name of an identifier/attribute chain (`a.b.c`); calls inside the
/// chain are written with `()` (`op.get_bind().execute`).
pub fn dotted_name(node: Node, src: &str) -> Option<String> {
    match node.kind() {
        "identifier" => Some(text(node, src).to_string()),
        "attribute" => {
            let obj = node.child_by_field_name("object")?;
            let attr = node.child_by_field_name("attribute")?;
            let base = dotted_name(obj, src)?;
            Some(format!("{base}.{}", text(attr, src)))
        }
        "call" => {
            let f = node.child_by_field_name("function")?;
            Some(format!("{}()", dotted_name(f, src)?))
        }
        _ => None,
    }
}

/// The dotted name of the function a `call` node calls.
pub fn call_name(call: Node, src: &str) -> Option<String> {
    dotted_name(call.child_by_field_name("function")?, src)
}

/// Positional arguments of a call, in order.
pub fn positional_args<'t>(call: Node<'t>) -> Vec<Node<'t>> {
    let Some(args) = call.child_by_field_name("arguments") else {
        return Vec::new();
    };
    let mut c = args.walk();
    args.named_children(&mut c)
        .filter(|n| n.kind() != "keyword_argument" && n.kind() != "comment")
        .collect()
}

/// The value of keyword argument `name`, if given.
pub fn keyword_arg<'t>(call: Node<'t>, name: &str, src: &str) -> Option<Node<'t>> {
    let args = call.child_by_field_name("arguments")?;
    let mut c = args.walk();
    let found = args.named_children(&mut c).find(|n| {
        n.kind() == "keyword_argument"
            && n.child_by_field_name("name")
                .is_some_and(|k| text(k, src) == name)
    });
    found.and_then(|kw| kw.child_by_field_name("value"))
}

/// Innermost enclosing function definition.
pub fn enclosing_function(node: Node) -> Option<Node> {
    let mut cur = node.parent();
    while let Some(n) = cur {
        if n.kind() == "function_definition" {
            return Some(n);
        }
        cur = n.parent();
    }
    None
}

/// Strip parentheses around an expression.
pub fn unparen(mut node: Node) -> Node {
    while node.kind() == "parenthesized_expression" {
        match node.named_child(0) {
            Some(inner) => node = inner,
            None => break,
        }
    }
    node
}

/// The value of a plain (non-f, non-concatenated) string literal.
pub fn string_value(node: Node, src: &str) -> Option<String> {
    if node.kind() != "string" {
        return None;
    }
    let lit = crate::lang::embedded::decode_python_string(text(node, src), node.start_byte())?;
    if lit.interpolated {
        return None;
    }
    Some(lit.text)
}

/// Byte ranges of the top-level functions called `name` (alembic's
/// `downgrade`).
pub fn function_ranges(root: Node, src: &str, name: &str) -> Vec<std::ops::Range<usize>> {
    top_level_functions(root)
        .into_iter()
        .filter(|f| {
            f.child_by_field_name("name")
                .is_some_and(|x| text(x, src) == name)
        })
        .map(|f| f.byte_range())
        .collect()
}

/// The parameter of `func` that holds the authenticated caller: typed as a
/// user, principal, claims or identity (`user: CurrentUser`,
/// `claims: TokenClaims`), or so named when untyped (`current_user`).
pub fn caller_param<'s>(func: Node, src: &'s str) -> Option<&'s str> {
    const WORDS: &[&str] = &[
        "user",
        "principal",
        "claims",
        "identity",
        "caller",
        "account",
    ];
    let params = func.child_by_field_name("parameters")?;
    let mut c = params.walk();
    let all: Vec<Node> = params.named_children(&mut c).collect();
    all.into_iter().find_map(|p| {
        let (name, ty) = match p.kind() {
            "identifier" => (p, None),
            "typed_parameter" => (p.named_child(0)?, p.child_by_field_name("type")),
            "typed_default_parameter" | "default_parameter" => (
                p.child_by_field_name("name")?,
                p.child_by_field_name("type"),
            ),
            _ => return None,
        };
        let name = text(name, src);
        let lower = name.to_ascii_lowercase();
        // `user_id`, `account_ids`: an id, not the caller.
        if matches!(name, "self" | "cls") || lower.ends_with("id") || lower.ends_with("ids") {
            return None;
        }
        let says = |t: &str| {
            let t = t.to_ascii_lowercase();
            !t.ends_with("id") && WORDS.iter().any(|w| t.contains(w))
        };
        let typed_as_caller = ty.is_some_and(|t| says(text(t, src)));
        let named_as_caller = ty.is_none() && WORDS.iter().any(|w| lower.ends_with(w));
        (typed_as_caller || named_as_caller).then_some(name)
    })
}

/// Every function defined in the file (methods and nested functions
/// included) with its name, in source order. Definitions are statements,
/// so expressions are not entered.
pub fn function_definitions<'t, 's>(root: Node<'t>, src: &'s str) -> Vec<(&'s str, Node<'t>)> {
    let mut out = Vec::new();
    walk_statements(root, &mut |n| {
        if n.kind() == "function_definition" {
            if let Some(name) = n.child_by_field_name("name") {
                out.push((text(name, src), n));
            }
        }
    });
    out
}

/// The top-level function definitions of a module, decorated or not.
pub fn top_level_functions(root: Node) -> Vec<Node> {
    let mut c = root.walk();
    let all: Vec<Node> = root.named_children(&mut c).collect();
    all.into_iter()
        .filter_map(|n| {
            if n.kind() == "decorated_definition" {
                n.child_by_field_name("definition")
            } else {
                Some(n)
            }
        })
        .filter(|f| f.kind() == "function_definition")
        .collect()
}

/// Module-level functions by name (decorated or not); the last definition
/// of a name wins, as in Python.
pub fn top_level_functions_by_name<'t>(
    root: Node<'t>,
    src: &str,
) -> std::collections::HashMap<String, Node<'t>> {
    top_level_functions(root)
        .into_iter()
        .filter_map(|f| {
            let name = f.child_by_field_name("name")?;
            Some((text(name, src).to_string(), f))
        })
        .collect()
}

/// The right-hand side of the last plain assignment `name = <rhs>` (or
/// `name: T = <rhs>`) that ends before `at`: in the function enclosing
/// `at`, or, when that function neither assigns nor takes `name`, at
/// module level. Nested functions and classes are not looked into.
pub fn assignment_before<'t>(at: Node<'t>, name: &str, src: &str) -> Option<Node<'t>> {
    let func = enclosing_function(at);
    if let Some(f) = func {
        if let Some(rhs) = last_assignment(f, name, at.start_byte(), src) {
            return Some(rhs);
        }
        if parameter(f, name, src).is_some() {
            return None;
        }
    }
    let mut root = at;
    while let Some(p) = root.parent() {
        root = p;
    }
    last_assignment(root, name, at.start_byte(), src)
}

/// Every plain assignment `name = <rhs>` in a file, grouped by the scope
/// that owns it (a function, class or lambda; the module otherwise).
/// Built in one walk, it answers [`assignment_before`] without walking
/// the scope again, so a rule that resolves every operand of a long
/// function stays linear.
pub struct Assignments<'t> {
    /// (scope node id, name) → its assignments in source order.
    by_scope: std::collections::HashMap<(usize, String), Vec<Assigned<'t>>>,
    root: Node<'t>,
}

/// One assignment: start byte, end byte, right-hand side.
type Assigned<'t> = (usize, usize, Node<'t>);

impl<'t> Assignments<'t> {
    pub fn new(root: Node<'t>, src: &str) -> Self {
        let mut by_scope: std::collections::HashMap<_, Vec<_>> = std::collections::HashMap::new();
        let mut stack = vec![(root, root.id())];
        while let Some((n, scope)) = stack.pop() {
            let inner = if n != root
                && matches!(
                    n.kind(),
                    "function_definition" | "class_definition" | "lambda"
                ) {
                n.id()
            } else {
                scope
            };
            if n.kind() == "assignment" {
                let left = n.child_by_field_name("left");
                let right = n.child_by_field_name("right");
                if let (Some(l), Some(r)) = (left, right) {
                    if l.kind() == "identifier" {
                        by_scope
                            .entry((scope, text(l, src).to_string()))
                            .or_default()
                            .push((n.start_byte(), n.end_byte(), r));
                    }
                }
            }
            let mut c = n.walk();
            stack.extend(n.named_children(&mut c).map(|x| (x, inner)));
        }
        for v in by_scope.values_mut() {
            v.sort_by_key(|(start, _, _)| *start);
        }
        Self { by_scope, root }
    }

    /// Same answer as [`assignment_before`], from the index.
    pub fn before(&self, at: Node<'t>, name: &str, src: &str) -> Option<Node<'t>> {
        let last = |scope: Node<'t>| {
            self.by_scope
                .get(&(scope.id(), name.to_string()))?
                .iter()
                .rev()
                .find(|(_, end, _)| *end <= at.start_byte())
                .map(|(_, _, rhs)| *rhs)
        };
        if let Some(f) = enclosing_function(at) {
            if let Some(rhs) = last(f) {
                return Some(rhs);
            }
            if parameter(f, name, src).is_some() {
                return None;
            }
        }
        last(self.root)
    }
}

fn last_assignment<'t>(scope: Node<'t>, name: &str, before: usize, src: &str) -> Option<Node<'t>> {
    let mut found = None;
    let mut stack = vec![scope];
    while let Some(n) = stack.pop() {
        if n.start_byte() >= before {
            continue;
        }
        if n != scope
            && matches!(
                n.kind(),
                "function_definition" | "class_definition" | "lambda"
            )
        {
            continue;
        }
        if n.kind() == "assignment" && n.end_byte() <= before {
            let left = n.child_by_field_name("left");
            let right = n.child_by_field_name("right");
            if let (Some(l), Some(r)) = (left, right) {
                if l.kind() == "identifier"
                    && text(l, src) == name
                    && found.is_none_or(|f: Node| f.start_byte() < n.start_byte())
                {
                    found = Some(r);
                }
            }
        }
        let mut c = n.walk();
        stack.extend(n.named_children(&mut c));
    }
    found
}

/// `app.include_router(<router>, prefix="/p")` and Flask's
/// `register_blueprint(<bp>, url_prefix="/p")` in a file: the router
/// expression's dotted text (`admin.router`) and the prefix.
pub fn router_mounts(root: Node, src: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if !src.contains("include_router(") && !src.contains("register_blueprint(") {
        return out;
    }
    walk(root, &mut |n| {
        if n.kind() != "call" {
            return;
        }
        let Some(name) = call_name(n, src) else {
            return;
        };
        let kw = match name.rsplit('.').next().unwrap_or("") {
            "include_router" => "prefix",
            "register_blueprint" => "url_prefix",
            _ => return,
        };
        let (Some(arg), Some(prefix)) = (
            positional_args(n).first().copied(),
            keyword_arg(n, kw, src).and_then(|v| string_value(v, src)),
        ) else {
            return;
        };
        if let Some(var) = dotted_name(arg, src) {
            out.push((var, prefix));
        }
    });
    out
}

/// The parameter node of `func` that binds `name` (plain, typed, default
/// or typed-default parameter).
pub fn parameter<'t>(func: Node<'t>, name: &str, src: &str) -> Option<Node<'t>> {
    let params = func.child_by_field_name("parameters")?;
    let mut c = params.walk();
    let found = params.named_children(&mut c).find(|p| {
        let ident = match p.kind() {
            "identifier" => Some(*p),
            _ => p
                .child_by_field_name("name")
                .or_else(|| p.named_child(0))
                .filter(|n| n.kind() == "identifier"),
        };
        ident.is_some_and(|i| text(i, src) == name)
    });
    found
}

/// Every import in a file as (module, imported name, bound name):
/// `import hmac` → ("hmac", "hmac", "hmac"), `from jwt import decode as d`
/// → ("jwt", "decode", "d"), `import jose.jwt` → ("jose.jwt", "jose.jwt",
/// "jose").
pub fn imports(root: Node, src: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let parts = |n: Node| -> (String, Option<String>) {
        if n.kind() == "aliased_import" {
            let name = n
                .child_by_field_name("name")
                .map(|x| text(x, src).to_string())
                .unwrap_or_default();
            (
                name,
                n.child_by_field_name("alias")
                    .map(|x| text(x, src).to_string()),
            )
        } else {
            (text(n, src).to_string(), None)
        }
    };
    walk_statements(root, &mut |n| match n.kind() {
        "import_statement" => {
            let mut c = n.walk();
            for name in n.children_by_field_name("name", &mut c) {
                let (module, alias) = parts(name);
                let bound = alias
                    .unwrap_or_else(|| module.split('.').next().unwrap_or_default().to_string());
                out.push((module.clone(), module, bound));
            }
        }
        "import_from_statement" => {
            let Some(module) = n
                .child_by_field_name("module_name")
                .map(|x| text(x, src).to_string())
            else {
                return;
            };
            let mut c = n.walk();
            for name in n.children_by_field_name("name", &mut c) {
                let (imported, alias) = parts(name);
                let bound = alias.unwrap_or_else(|| imported.clone());
                out.push((module.clone(), imported, bound));
            }
        }
        _ => {}
    });
    out
}

/// Whether `node` is inside test code: a `test_*` function, a method of a
/// `Test*` class, or a pytest fixture.
/// Whether a file may hold test code at all (a `test_` function, a
/// fixture or a `Test` class): when not, [`in_test_function`] is false
/// everywhere in it. One scan, for rules that ask about every node.
pub fn may_have_tests(src: &str) -> bool {
    src.contains("def test_") || src.contains("fixture") || src.contains("class Test")
}

pub fn in_test_function(node: Node, src: &str) -> bool {
    let mut cur = node.parent();
    while let Some(n) = cur {
        match n.kind() {
            "function_definition" => {
                if n.child_by_field_name("name")
                    .is_some_and(|x| text(x, src).starts_with("test_"))
                {
                    return true;
                }
                if n.parent()
                    .filter(|p| p.kind() == "decorated_definition")
                    .is_some_and(|d| {
                        let mut c = d.walk();
                        let fixture = d
                            .named_children(&mut c)
                            .filter(|x| x.kind() == "decorator")
                            .any(|x| text(x, src).contains("fixture"));
                        fixture
                    })
                {
                    return true;
                }
            }
            "class_definition"
                if n.child_by_field_name("name")
                    .is_some_and(|x| text(x, src).starts_with("Test")) =>
            {
                return true;
            }
            _ => {}
        }
        cur = n.parent();
    }
    false
}

/// The method name and receiver of a call `recv.method(...)`; for a plain
/// call `f(...)`, the function's text and no receiver.
pub fn method_and_receiver<'t, 's>(
    call: Node<'t>,
    src: &'s str,
) -> Option<(&'s str, Option<Node<'t>>)> {
    let func = call.child_by_field_name("function")?;
    match func.kind() {
        "attribute" => Some((
            text(func.child_by_field_name("attribute")?, src),
            func.child_by_field_name("object"),
        )),
        _ => Some((text(func, src), None)),
    }
}

/// A write to a local name.
#[derive(Clone, Copy)]
pub enum LocalWrite<'t> {
    Assign(Node<'t>),
    AugAdd(Node<'t>),
    /// `.append(x)` / `.insert(i, x)`: one element.
    Push(Node<'t>),
    /// `.extend(xs)`.
    Extend(Node<'t>),
    /// `name["k"] = v`: the key.
    SetItem(Node<'t>),
    /// `name.update(...)`: the call.
    Update(Node<'t>),
}

/// Every write to `name` directly in `scope` (a function or the
/// module; nested functions and classes are not looked into), with
/// its start byte, in source order.
pub fn local_writes<'t>(scope: Node<'t>, name: &str, src: &str) -> Vec<(usize, LocalWrite<'t>)> {
    let mut out = Vec::new();
    let mut stack = vec![scope];
    while let Some(n) = stack.pop() {
        if n != scope
            && matches!(
                n.kind(),
                "function_definition" | "class_definition" | "lambda"
            )
        {
            continue;
        }
        let is_name =
            |x: Option<Node>| x.is_some_and(|x| x.kind() == "identifier" && text(x, src) == name);
        match n.kind() {
            "assignment" => {
                let left = n.child_by_field_name("left");
                if let Some(r) = n.child_by_field_name("right") {
                    if is_name(left) {
                        out.push((n.start_byte(), LocalWrite::Assign(r)));
                    } else if let Some(l) = left.filter(|l| l.kind() == "subscript") {
                        if is_name(l.child_by_field_name("value")) {
                            if let Some(k) = l.child_by_field_name("subscript") {
                                out.push((n.start_byte(), LocalWrite::SetItem(k)));
                            }
                        }
                    }
                }
            }
            "augmented_assignment" => {
                let op = n.child_by_field_name("operator").map(|o| text(o, src));
                if is_name(n.child_by_field_name("left")) && op == Some("+=") {
                    if let Some(r) = n.child_by_field_name("right") {
                        out.push((n.start_byte(), LocalWrite::AugAdd(r)));
                    }
                }
            }
            "call" => {
                if let Some(f) = n
                    .child_by_field_name("function")
                    .filter(|f| f.kind() == "attribute")
                {
                    if is_name(f.child_by_field_name("object")) {
                        let m = f.child_by_field_name("attribute").map(|a| text(a, src));
                        let args = positional_args(n);
                        match (m, args.as_slice()) {
                            (Some("append"), [x]) | (Some("insert"), [_, x]) => {
                                out.push((n.start_byte(), LocalWrite::Push(*x)))
                            }
                            (Some("extend"), [x]) => {
                                out.push((n.start_byte(), LocalWrite::Extend(*x)))
                            }
                            (Some("update"), _) => {
                                out.push((n.start_byte(), LocalWrite::Update(n)))
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
        let mut c = n.walk();
        stack.extend(n.named_children(&mut c));
    }
    out.sort_by_key(|(at, _)| *at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_param_finds_the_authenticated_caller() {
        let cases = [
            ("async def f(note_id: int, user: CurrentUser = Depends(current_user), db=None): pass\n", Some("user")),
            ("def f(claims: TokenClaims, q: str): pass\n", Some("claims")),
            ("def f(request, current_user): pass\n", Some("current_user")),
            ("def f(user_id: int, org: str): pass\n", None),
            ("def f(owner: UserId): pass\n", None),
            ("def f(self, data: dict): pass\n", None),
        ];
        for (src, want) in cases {
            let tree = parse(src).unwrap();
            let f = tree.root_node().named_child(0).unwrap();
            assert_eq!(caller_param(f, src), want, "{src}");
        }
    }

    /// The index answers exactly what the scope walk answers, for every
    /// identifier of a file with nested functions, classes, lambdas,
    /// shadowing parameters and module-level fallbacks.
    #[test]
    fn assignment_index_agrees_with_the_scope_walk() {
        let src = r#"
TOKEN = "module"
other = TOKEN

def handler(request, expected):
    sig = request.headers.get("x")
    if sig == expected:
        return TOKEN
    sig = sig.strip()
    check = lambda v: v == sig
    class Inner:
        sig = "class level"
        def method(self):
            return sig
    def nested():
        TOKEN = "shadow"
        return TOKEN
    a = b = sig
    return sig == TOKEN, a, b

class Settings:
    key = TOKEN
    def load(self, key):
        return key, other
"#;
        let tree = parse(src).expect("parses");
        let root = tree.root_node();
        let index = Assignments::new(root, src);
        let mut checked = 0;
        walk(root, &mut |n| {
            if n.kind() == "identifier" {
                let name = text(n, src);
                assert_eq!(
                    index.before(n, name, src).map(|r| r.id()),
                    assignment_before(n, name, src).map(|r| r.id()),
                    "{name} at byte {}",
                    n.start_byte()
                );
                checked += 1;
            }
        });
        assert!(checked > 30, "only {checked} identifiers checked");
    }

    /// Statement walks find every import a full walk finds, wherever it
    /// sits: nested blocks, handlers, definitions, match arms.
    #[test]
    fn statement_walk_finds_every_import() {
        let src = r#"
import os, sys as system
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from app.models import Note
else:
    import json
try:
    import orjson
except ImportError:
    orjson = None
finally:
    from . import local
class Settings:
    import hmac
    def load(self):
        from app import config
        with open("x") as f:
            import yaml
        for _ in range(3):
            while True:
                import re
                break
        match self:
            case 1:
                import base64
@decorator
async def handler():
    import jwt
"#;
        let tree = parse(src).expect("parses");
        let is_import = |n: Node| matches!(n.kind(), "import_statement" | "import_from_statement");
        let mut full = Vec::new();
        walk(tree.root_node(), &mut |n| {
            if is_import(n) {
                full.push(n.id())
            }
        });
        let mut stmts = Vec::new();
        walk_statements(tree.root_node(), &mut |n| {
            if is_import(n) {
                stmts.push(n.id())
            }
        });
        assert_eq!(full.len(), 12);
        assert_eq!(stmts, full);
    }
}
