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
    let mut out = Vec::new();
    let mut c = root.walk();
    for n in root.named_children(&mut c) {
        let f = if n.kind() == "decorated_definition" {
            n.child_by_field_name("definition")
        } else {
            Some(n)
        };
        if let Some(f) = f.filter(|f| f.kind() == "function_definition") {
            if f.child_by_field_name("name")
                .is_some_and(|x| text(x, src) == name)
            {
                out.push(f.byte_range());
            }
        }
    }
    out
}
