//! Rust through syn: small helpers for rules that walk `syn` trees.

pub use super::embedded::{path_string, span_range};

/// The identifier a Rust expression is "about", for name-based heuristics:
/// the last path segment, field, or method name; references, parentheses,
/// `?`, and conversions like `.as_bytes()` are looked through.
pub fn expr_name(e: &syn::Expr) -> Option<String> {
    use syn::Expr;
    match e {
        Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        Expr::Field(f) => match &f.member {
            syn::Member::Named(i) => Some(i.to_string()),
            syn::Member::Unnamed(_) => expr_name(&f.base),
        },
        Expr::MethodCall(m) => {
            let method = m.method.to_string();
            if is_view_method(&method) {
                expr_name(&m.receiver)
            } else {
                Some(method)
            }
        }
        Expr::Call(c) => expr_name(&c.func),
        Expr::Reference(r) => expr_name(&r.expr),
        Expr::Paren(p) => expr_name(&p.expr),
        Expr::Try(t) => expr_name(&t.expr),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => expr_name(&u.expr),
        Expr::Index(i) => expr_name(&i.expr),
        _ => None,
    }
}

/// Methods that only change a value's representation.
pub fn is_view_method(m: &str) -> bool {
    matches!(
        m,
        "as_bytes"
            | "as_str"
            | "as_ref"
            | "to_str"
            | "to_string"
            | "to_owned"
            | "clone"
            | "unwrap"
            | "expect"
            | "unwrap_or_default"
            | "trim"
            | "expose_secret"
            | "deref"
            | "into_bytes"
            | "to_vec"
    )
}
