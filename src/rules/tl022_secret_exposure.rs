//! TL022 secret-exposure: tokens and secrets that end up where logs keep
//! them — read from URL query parameters, put into generated URLs, or
//! passed to a log call or `print`.

use super::names::WordContext;
use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::lang::{python, rust, Language, ParsedFile, Syntax};
use proc_macro2::{TokenStream, TokenTree};
use syn::spanned::Spanned;
use tree_sitter::Node;

pub static RULE: RuleMeta = RuleMeta {
    id: "TL022",
    name: "secret-exposure",
    severity: Severity::Soft,
    languages: &[Language::Python, Language::Rust],
    summary: "Tokens and secrets stay out of URLs and logs",
    doc: include_str!("../../rules/TL022-secret-exposure.md"),
    triggers: |c| {
        let mut t = super::names::SecretWords::triggers(&c.secrets);
        t.push("headers".into());
        t
    },
    gate: None,
    needs_index: false,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    match &file.syntax {
        Syntax::Python(tree) => check_python(ctx, tree.root_node(), file.text(), out),
        Syntax::Rust(f) => {
            use syn::visit::Visit;
            let mut v = Rs { ctx, file, out };
            v.visit_file(f);
        }
        Syntax::Sql(_) => {}
    }
}

/// A credential: secret-like by the shared classifier, and not a value
/// that is public by design (a signature, a digest, a nonce).
fn is_credential(ctx: &Ctx, name: &str) -> bool {
    if !ctx.secret_words.is_secret_in(name, WordContext::default()) {
        return false;
    }
    match ctx.secret_words.secret_word(name) {
        Some((word, _)) => !matches!(
            word.first().map(String::as_str),
            Some("signature" | "sig" | "digest" | "hexdigest" | "hmac" | "mac" | "nonce")
        ),
        None => false,
    }
}

/// Links that carry a single-use token by design (password reset,
/// invitation, e-mail confirmation, unsubscribe).
fn one_time_link(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    [
        "reset",
        "invite",
        "invitation",
        "magic",
        "verify",
        "verification",
        "confirm",
        "unsubscribe",
        "activat",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// Credential parameter names in `?name=` / `&name=` of a URL text.
fn url_credentials(ctx: &Ctx, text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b != b'?' && *b != b'&' {
            continue;
        }
        let rest = &text[i + 1..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        let name = &rest[..end];
        if !name.is_empty() && rest[end..].starts_with('=') && is_credential(ctx, name) {
            return Some(name.to_string());
        }
    }
    None
}

// ---------------------------------------------------------------- Python

const LOG_METHODS: &[&str] = &[
    "debug",
    "info",
    "warning",
    "warn",
    "error",
    "exception",
    "critical",
    "log",
    "msg",
];

fn is_log_call(call: Node, src: &str) -> bool {
    let Some(name) = python::call_name(call, src) else {
        return false;
    };
    if name == "print" {
        return true;
    }
    let Some((recv, method)) = name.rsplit_once('.') else {
        return false;
    };
    LOG_METHODS.contains(&method) && recv.to_ascii_lowercase().contains("log")
}

/// The credential a logged expression shows, if any.
fn logged_secret(ctx: &Ctx, e: Node, src: &str) -> Option<String> {
    match e.kind() {
        "identifier" | "attribute" => {
            let name = match e.kind() {
                "attribute" => python::text(e.child_by_field_name("attribute")?, src),
                _ => python::text(e, src),
            };
            if name == "headers" {
                return Some(python::text(e, src).to_string());
            }
            is_credential(ctx, name).then(|| python::text(e, src).to_string())
        }
        "call" => {
            let name = python::call_name(e, src)?;
            if name.ends_with(".get_secret_value") {
                return Some(python::text(e, src).to_string());
            }
            // `dict(request.headers)`, `str(token)`: the value itself.
            if matches!(name.as_str(), "dict" | "str" | "repr") {
                let a = *python::positional_args(e).first()?;
                return logged_secret(ctx, a, src);
            }
            None
        }
        "string" => {
            let mut c = e.walk();
            let found = e
                .named_children(&mut c)
                .filter(|x| x.kind() == "interpolation")
                .find_map(|x| x.named_child(0).and_then(|v| logged_secret(ctx, v, src)));
            found
        }
        "dictionary" => {
            let mut c = e.walk();
            let found = e
                .named_children(&mut c)
                .filter(|p| p.kind() == "pair")
                .find_map(|p| {
                    p.child_by_field_name("value")
                        .and_then(|v| logged_secret(ctx, v, src))
                });
            found
        }
        "binary_operator" | "concatenated_string" => {
            let mut c = e.walk();
            let found = e
                .named_children(&mut c)
                .find_map(|x| logged_secret(ctx, x, src));
            found
        }
        _ => None,
    }
}

fn query_receiver(recv: &str) -> bool {
    recv.ends_with(".query_params")
        || recv.ends_with("request.args")
        || recv.ends_with("request.GET")
}

fn check_python(ctx: &Ctx, root: Node, src: &str, out: &mut Vec<Diagnostic>) {
    python::walk(root, &mut |n| {
        let kind = n.kind();
        if !matches!(
            kind,
            "call" | "subscript" | "string" | "default_parameter" | "typed_default_parameter"
        ) {
            return;
        }
        let found = match kind {
            "call" => python_call(ctx, n, src),
            "subscript" => python_query_subscript(ctx, n, src),
            "string" => python_url(ctx, n, src),
            _ => python_query_param(ctx, n, src),
        };
        if let Some((title, suggestion)) = found {
            if !python::in_test_function(n, src) {
                out.push(Diagnostic::new(n.byte_range(), title, suggestion));
            }
        }
    });
}

type Found = Option<(String, String)>;

fn python_call(ctx: &Ctx, n: Node, src: &str) -> Found {
    if is_log_call(n, src) {
        let args = n.child_by_field_name("arguments")?;
        let mut c = args.walk();
        let shown = args.named_children(&mut c).find_map(|a| {
            let v = if a.kind() == "keyword_argument" {
                a.child_by_field_name("value")?
            } else {
                a
            };
            logged_secret(ctx, v, src)
        })?;
        let call = python::call_name(n, src).unwrap_or_default();
        if shown.ends_with("headers") || shown.ends_with("headers)") {
            return Some((
                format!("`{call}` logs `{shown}`, including the `Authorization` header and signatures"),
                "log only the headers you need (`request.headers.get(\"x-request-id\")`), never the whole mapping".into(),
            ));
        }
        return Some((
            format!("`{call}` writes the secret `{shown}` to the logs"),
            format!("log that it is present, not its value: `bool({shown})` or `len({shown})`"),
        ));
    }
    let (method, recv) = python::method_and_receiver(n, src)?;
    if method != "get" || !query_receiver(python::text(recv?, src)) {
        return None;
    }
    let key = python::string_value(*python::positional_args(n).first()?, src)?;
    is_credential(ctx, &key).then(|| query_message(&key))
}

fn query_message(key: &str) -> (String, String) {
    (
        format!("credential `{key}` is read from the URL query string, which access logs and proxies keep"),
        format!("send `{key}` in a header (`Authorization: Bearer …` or `X-…`) or the request body"),
    )
}

fn python_query_subscript(ctx: &Ctx, n: Node, src: &str) -> Found {
    let recv = n.child_by_field_name("value")?;
    if !query_receiver(python::text(recv, src)) {
        return None;
    }
    let key = python::string_value(n.child_by_field_name("subscript")?, src)?;
    is_credential(ctx, &key).then(|| query_message(&key))
}

/// FastAPI `token: str = Query(...)`.
fn python_query_param(ctx: &Ctx, n: Node, src: &str) -> Found {
    let value = n.child_by_field_name("value")?;
    if value.kind() != "call"
        || python::call_name(value, src).is_none_or(|c| c.rsplit('.').next() != Some("Query"))
    {
        return None;
    }
    let name = python::keyword_arg(value, "alias", src)
        .and_then(|a| python::string_value(a, src))
        .or_else(|| {
            n.child_by_field_name("name")
                .map(|x| python::text(x, src).to_string())
        })?;
    is_credential(ctx, &name).then(|| query_message(&name))
}

/// `f"{base}/export?api_key={key}"`.
fn python_url(ctx: &Ctx, n: Node, src: &str) -> Found {
    let mut c = n.walk();
    if !n
        .named_children(&mut c)
        .any(|x| x.kind() == "interpolation")
    {
        return None;
    }
    let text = python::text(n, src);
    let name = url_credentials(ctx, text)?;
    if one_time_link(text) {
        return None;
    }
    Some((
        format!("generated URL carries the credential `{name}` in its query string"),
        format!(
            "pass `{name}` in a header, or hand out a short-lived signed URL instead of the key"
        ),
    ))
}

// ---------------------------------------------------------------- Rust

struct Rs<'c, 'f> {
    ctx: &'c Ctx<'c>,
    file: &'f ParsedFile,
    out: &'f mut Vec<Diagnostic>,
}

const RS_LOG_MACROS: &[&str] = &[
    "info", "debug", "warn", "error", "trace", "event", "println", "eprintln", "print", "eprint",
];

fn flat(ts: TokenStream, out: &mut Vec<TokenTree>) {
    for t in ts {
        if let TokenTree::Group(g) = &t {
            flat(g.stream(), out);
        } else {
            out.push(t);
        }
    }
}

/// `{name}` / `{name:?}` captures of a format string literal.
fn captures(lit: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = lit;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let end = after.find(['}', ':']).unwrap_or(after.len());
        let name = &after[..end];
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.push(name.to_string());
        }
        rest = after;
    }
    out
}

impl Rs<'_, '_> {
    fn logged(&self, tokens: &[TokenTree]) -> Option<String> {
        for (i, t) in tokens.iter().enumerate() {
            match t {
                TokenTree::Ident(id) => {
                    let name = id.to_string();
                    let masked = matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '.')
                        && matches!(tokens.get(i + 2), Some(TokenTree::Ident(m))
                            if matches!(m.to_string().as_str(), "len" | "is_empty" | "is_some" | "is_none"));
                    let field_name = matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '=');
                    if masked || field_name {
                        continue;
                    }
                    if name == "headers" || is_credential(self.ctx, &name) {
                        return Some(name);
                    }
                }
                TokenTree::Literal(l) => {
                    let s = l.to_string();
                    if s.starts_with('"') {
                        if let Some(c) = captures(&s)
                            .into_iter()
                            .find(|c| is_credential(self.ctx, c))
                        {
                            return Some(c);
                        }
                    }
                }
                _ => {}
            }
        }
        None
    }

    fn push(&mut self, span: proc_macro2::Span, title: String, suggestion: String) {
        let range = rust::span_range(span, &self.file.src);
        self.out.push(Diagnostic::new(range, title, suggestion));
    }
}

impl<'ast> syn::visit::Visit<'ast> for Rs<'_, '_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !rust::is_test_attr(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !rust::is_test_attr(&f.attrs) {
            syn::visit::visit_item_fn(self, f);
        }
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !rust::is_test_attr(&f.attrs) {
            syn::visit::visit_impl_item_fn(self, f);
        }
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let name = m
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        let mut tokens = Vec::new();
        flat(m.tokens.clone(), &mut tokens);
        if RS_LOG_MACROS.contains(&name.as_str()) {
            if let Some(shown) = self.logged(&tokens) {
                let (title, suggestion) = if shown == "headers" {
                    (
                        format!("`{name}!` logs `headers`, including the `Authorization` header and signatures"),
                        "log only the headers you need, never the whole map".to_string(),
                    )
                } else {
                    (
                        format!("`{name}!` writes the secret `{shown}` to the logs"),
                        format!("log that it is present, not its value: `{shown}_set = !{shown}.is_empty()`"),
                    )
                };
                self.push(m.path.span(), title, suggestion);
            }
        } else if name == "format" {
            let lit = tokens.iter().find_map(|t| match t {
                TokenTree::Literal(l) if l.to_string().starts_with('"') => Some(l.to_string()),
                _ => None,
            });
            if let Some(lit) = lit {
                if let Some(param) = url_credentials(self.ctx, &lit) {
                    if !one_time_link(&lit) {
                        self.push(
                            m.path.span(),
                            format!("generated URL carries the credential `{param}` in its query string"),
                            format!("pass `{param}` in a header, or hand out a short-lived signed URL instead of the key"),
                        );
                    }
                }
            }
        }
        syn::visit::visit_macro(self, m);
    }
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if m.method == "get" {
            let recv = rust::expr_name(&m.receiver).unwrap_or_default();
            if matches!(recv.as_str(), "params" | "query" | "query_params" | "qs") {
                if let Some(syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                })) = m.args.first()
                {
                    let key = s.value();
                    if is_credential(self.ctx, &key) {
                        let (title, suggestion) = query_message(&key);
                        self.push(m.span(), title, suggestion);
                    }
                }
            }
        }
        syn::visit::visit_expr_method_call(self, m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_captures() {
        assert_eq!(
            captures("\"key {api_key} and {x:?} {{}}\""),
            vec!["api_key", "x"]
        );
    }
}
