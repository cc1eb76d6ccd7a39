//! TL013 constant-time-compare: secrets compared with `==`, `!=`, `in` or
//! `startswith` leak their value one byte at a time through timing.

use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::lang::{python, rust, Language, ParsedFile, Syntax};
use syn::spanned::Spanned;
use tree_sitter::Node;

pub static RULE: RuleMeta = RuleMeta {
    id: "TL013",
    name: "constant-time-compare",
    severity: Severity::Hard,
    languages: &[Language::Python, Language::Rust],
    summary: "Secrets, tokens and signatures compared in constant time",
    doc: include_str!("../../rules/TL013-constant-time-compare.md"),
    triggers: |c| super::names::SecretWords::triggers(&c.secrets),
    needs_index: false,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    match &file.syntax {
        Syntax::Python(tree) => check_python(ctx, tree.root_node(), file.text(), out),
        Syntax::Rust(f) => check_rust(ctx, f, file, out),
        Syntax::Sql(_) => {}
    }
}

// ---------------------------------------------------------------- Python

fn check_python(ctx: &Ctx, root: Node, src: &str, out: &mut Vec<Diagnostic>) {
    python::walk(root, &mut |n| match n.kind() {
        "comparison_operator" if !in_assert(n) => compare(ctx, n, src, out),
        "call" => {
            prefix_check(ctx, n, src, out);
            encoded_operands(n, src, out);
        }
        _ => {}
    });
}

/// Test assertions are not authentication decisions.
fn in_assert(n: Node) -> bool {
    let mut cur = n.parent();
    while let Some(p) = cur {
        match p.kind() {
            "assert_statement" => return true,
            "function_definition" | "class_definition" | "module" => return false,
            _ => cur = p.parent(),
        }
    }
    false
}

fn compare(ctx: &Ctx, n: Node, src: &str, out: &mut Vec<Diagnostic>) {
    let mut cursor = n.walk();
    let parts: Vec<Node> = n
        .children(&mut cursor)
        .filter(|c| c.kind() != "comment")
        .collect();
    // operand, operator, operand, operator, operand …
    for w in parts.windows(3).step_by(2) {
        let (a, op, b) = (w[0], python::text(w[1], src), w[2]);
        let op = if op == "not" { "not in" } else { op };
        let (a_txt, b_txt) = (python::text(a, src), python::text(b, src));
        match op {
            "==" | "!=" => {
                if is_trivial_py(a, src) || is_trivial_py(b, src) {
                    continue;
                }
                let Some(secret) =
                    secret_operand_py(ctx, a, src).or_else(|| secret_operand_py(ctx, b, src))
                else {
                    continue;
                };
                let call = format!(
                    "hmac.compare_digest({}, {})",
                    encode_py(a_txt),
                    encode_py(b_txt)
                );
                let suggestion = if op == "!=" {
                    format!("not {call}")
                } else {
                    call
                };
                out.push(Diagnostic::new(
                    a.start_byte()..b.end_byte(),
                    format!("Non-constant-time comparison of secret `{secret}`"),
                    suggestion,
                ));
            }
            "in" | "not in" => {
                if b.kind() == "string" || is_trivial_py(a, src) {
                    continue;
                }
                let Some(secret) = secret_operand_py(ctx, a, src) else {
                    continue;
                };
                out.push(Diagnostic::new(
                    a.start_byte()..b.end_byte(),
                    format!("Secret `{secret}` looked up in a collection with `{op}` (not constant-time)"),
                    format!(
                        "any(hmac.compare_digest({}, candidate.encode(\"utf-8\")) for candidate in {b_txt})",
                        encode_py(a_txt)
                    ),
                ));
            }
            _ => {}
        }
    }
}

/// `signature.startswith(prefix)` on a secret.
fn prefix_check(ctx: &Ctx, call: Node, src: &str, out: &mut Vec<Diagnostic>) {
    let Some(func) = call
        .child_by_field_name("function")
        .filter(|f| f.kind() == "attribute")
    else {
        return;
    };
    let method = func
        .child_by_field_name("attribute")
        .map(|a| python::text(a, src));
    if !matches!(method, Some("startswith" | "endswith")) {
        return;
    }
    let Some(recv) = func.child_by_field_name("object") else {
        return;
    };
    // A literal prefix (`"sha256="`, `"Bearer "`) is a format check.
    let Some(arg) = python::positional_args(call).first().copied() else {
        return;
    };
    if is_trivial_py(arg, src) {
        return;
    }
    if let Some(secret) = secret_operand_py(ctx, recv, src) {
        let arg = python::text(arg, src).to_string();
        out.push(Diagnostic::new(
            call.byte_range(),
            format!(
                "Secret `{secret}` checked with `{}` (not constant-time)",
                method.unwrap_or_default()
            ),
            format!(
                "compare the whole value: hmac.compare_digest({}, {})",
                encode_py(python::text(recv, src)),
                encode_py(&arg)
            ),
        ));
    }
}

/// SOFT: `hmac.compare_digest` on text that is not encoded first raises on
/// non-ASCII input, which turns a bad signature into a 500.
fn encoded_operands(call: Node, src: &str, out: &mut Vec<Diagnostic>) {
    let Some(name) = python::call_name(call, src) else {
        return;
    };
    if !matches!(
        name.as_str(),
        "hmac.compare_digest" | "secrets.compare_digest" | "compare_digest"
    ) {
        return;
    }
    let args = python::positional_args(call);
    let [a, b] = args.as_slice() else {
        return;
    };
    let bytes_like = |n: &Node| {
        let t = python::text(*n, src);
        t.starts_with("b\"")
            || t.starts_with("b'")
            || t.contains(".encode(")
            || t.ends_with(".digest()")
            || t.starts_with("bytes(")
            || t.ends_with(".as_bytes()")
    };
    let text_like = |n: &Node| {
        let t = python::text(*n, src);
        n.kind() == "string" || t.ends_with(".hexdigest()") || t.contains("headers")
    };
    if !bytes_like(a) && !bytes_like(b) && (text_like(a) || text_like(b)) {
        out.push(
            Diagnostic::new(
                call.byte_range(),
                "`compare_digest` on text that is not encoded to bytes",
                format!(
                    "hmac.compare_digest({}, {})",
                    encode_py(python::text(*a, src)),
                    encode_py(python::text(*b, src))
                ),
            )
            .soft(),
        );
    }
}

/// Literals, `None`, lengths: comparing with these is not a secret check.
fn is_trivial_py(n: Node, src: &str) -> bool {
    let n = python::unparen(n);
    match n.kind() {
        "string"
        | "concatenated_string"
        | "integer"
        | "float"
        | "none"
        | "true"
        | "false"
        | "list"
        | "tuple"
        | "dictionary"
        | "set" => n.kind() != "string" || !python::text(n, src).starts_with('f'),
        "call" => matches!(
            python::call_name(n, src).as_deref(),
            Some("len" | "bool" | "type" | "isinstance" | "int")
        ),
        "identifier" => {
            let t = python::text(n, src);
            t.len() > 1
                && t.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                && !t.contains("TOKEN")
                && !t.contains("SECRET")
                && !t.contains("KEY")
        }
        _ => false,
    }
}

/// The secret-like name an operand stands for, if any.
fn secret_operand_py(ctx: &Ctx, n: Node, src: &str) -> Option<String> {
    let n = python::unparen(n);
    match n.kind() {
        "identifier" => {
            let t = python::text(n, src);
            ctx.secret_words.is_secret(t).then(|| t.to_string())
        }
        "attribute" => {
            let attr = python::text(n.child_by_field_name("attribute")?, src);
            ctx.secret_words
                .is_secret(attr)
                .then(|| python::text(n, src).to_string())
        }
        "subscript" => {
            let key = n.child_by_field_name("subscript")?;
            match python::string_value(key, src) {
                Some(k) => ctx.secret_words.is_secret(&k).then_some(k),
                None => secret_operand_py(ctx, n.child_by_field_name("value")?, src),
            }
        }
        "call" => {
            let func = n.child_by_field_name("function")?;
            let (recv, method) = match func.kind() {
                "attribute" => (
                    func.child_by_field_name("object"),
                    python::text(func.child_by_field_name("attribute")?, src),
                ),
                _ => (None, python::text(func, src)),
            };
            if matches!(method, "hexdigest" | "digest") {
                return Some(python::text(n, src).to_string());
            }
            if matches!(method, "get" | "getenv" | "getheader") {
                if let Some(k) = python::positional_args(n)
                    .first()
                    .and_then(|a| python::string_value(*a, src))
                {
                    return ctx.secret_words.is_secret(&k).then_some(k);
                }
            }
            if is_view_py(method) {
                return match recv {
                    Some(r) => secret_operand_py(ctx, r, src),
                    None => python::positional_args(n)
                        .first()
                        .and_then(|a| secret_operand_py(ctx, *a, src)),
                };
            }
            ctx.secret_words
                .is_secret(method)
                .then(|| python::text(n, src).to_string())
        }
        "await" => secret_operand_py(ctx, n.named_child(0)?, src),
        _ => None,
    }
}

fn is_view_py(m: &str) -> bool {
    matches!(
        m,
        "strip"
            | "lower"
            | "upper"
            | "decode"
            | "encode"
            | "str"
            | "bytes"
            | "get_secret_value"
            | "rstrip"
            | "lstrip"
            | "casefold"
    )
}

fn encode_py(operand: &str) -> String {
    let t = operand.trim();
    let bytes = t.starts_with("b\"")
        || t.starts_with("b'")
        || t.contains(".encode(")
        || t.ends_with(".digest()");
    if bytes {
        t.to_string()
    } else if t.contains(' ') && !(t.starts_with('(') || t.starts_with('"') || t.starts_with('\''))
    {
        format!("({t}).encode(\"utf-8\")")
    } else {
        format!("{t}.encode(\"utf-8\")")
    }
}

// ---------------------------------------------------------------- Rust

fn check_rust(ctx: &Ctx, f: &syn::File, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    use syn::visit::Visit;
    struct V<'a, 'c> {
        ctx: &'a Ctx<'c>,
        file: &'a ParsedFile,
        out: &'a mut Vec<Diagnostic>,
    }
    impl<'ast> Visit<'ast> for V<'_, '_> {
        fn visit_expr_binary(&mut self, e: &'ast syn::ExprBinary) {
            if matches!(e.op, syn::BinOp::Eq(_) | syn::BinOp::Ne(_))
                && !is_trivial_rs(&e.left)
                && !is_trivial_rs(&e.right)
            {
                let secret = secret_operand_rs(self.ctx, &e.left)
                    .or_else(|| secret_operand_rs(self.ctx, &e.right));
                if let Some(secret) = secret {
                    let text = |x: &syn::Expr| {
                        let r = rust::span_range(x.span(), &self.file.src);
                        self.file.text().get(r).unwrap_or("").to_string()
                    };
                    let (a, b) = (as_bytes_rs(&text(&e.left)), as_bytes_rs(&text(&e.right)));
                    let not = if matches!(e.op, syn::BinOp::Ne(_)) {
                        "!"
                    } else {
                        ""
                    };
                    self.out.push(Diagnostic::new(
                        rust::span_range(e.span(), &self.file.src),
                        format!("Non-constant-time comparison of secret `{secret}`"),
                        format!("{not}bool::from({a}.ct_eq({b})) (use subtle::ConstantTimeEq;) or {not}constant_time_eq::constant_time_eq({a}, {b})"),
                    ));
                }
            }
            syn::visit::visit_expr_binary(self, e);
        }
    }
    let mut v = V { ctx, file, out };
    v.visit_file(f);
}

fn is_trivial_rs(e: &syn::Expr) -> bool {
    match e {
        syn::Expr::Lit(_) => true,
        syn::Expr::Reference(r) => is_trivial_rs(&r.expr),
        syn::Expr::Paren(p) => is_trivial_rs(&p.expr),
        syn::Expr::Path(p) => p.path.is_ident("None"),
        syn::Expr::MethodCall(m) => matches!(
            m.method.to_string().as_str(),
            "len" | "is_empty" | "is_some" | "is_none" | "count" | "chars"
        ),
        syn::Expr::Macro(m) => m.mac.path.is_ident("vec") && m.mac.tokens.is_empty(),
        _ => false,
    }
}

fn secret_operand_rs(ctx: &Ctx, e: &syn::Expr) -> Option<String> {
    let name = rust::expr_name(e)?;
    let digest = matches!(
        name.as_str(),
        "finalize" | "hexdigest" | "digest" | "sign" | "hmac"
    );
    (digest || ctx.secret_words.is_secret(&name)).then_some(name)
}

fn as_bytes_rs(t: &str) -> String {
    if t.ends_with(".as_bytes()") || t.ends_with("into_bytes()") || t.starts_with("b\"") {
        t.to_string()
    } else {
        format!("{t}.as_bytes()")
    }
}
