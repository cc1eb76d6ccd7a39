//! TL017 jwt-verification: token decoding that skips or weakens
//! verification lets anyone mint claims for any tenant.

use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::lang::{python, rust, Language, ParsedFile, Syntax};
use std::collections::HashMap;
use syn::spanned::Spanned;
use tree_sitter::Node;

pub static RULE: RuleMeta = RuleMeta {
    id: "TL017",
    name: "jwt-verification",
    severity: Severity::Hard,
    languages: &[Language::Python, Language::Rust],
    summary: "JWTs decoded with signature, audience, expiry and algorithm checks intact",
    doc: include_str!("../../rules/TL017-jwt-verification.md"),
    triggers: |_| {
        super::words(&[
            "jwt",
            "jose",
            "jsonwebtoken",
            "insecure_decode",
            "insecure_disable_signature_validation",
            "validate_aud",
            "validate_exp",
        ])
    },
    needs_index: false,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    match &file.syntax {
        Syntax::Python(tree) => check_python(ctx, tree.root_node(), file.text(), out),
        Syntax::Rust(f) => check_rust(f, file, out),
        Syntax::Sql(_) => {}
    }
}

// ---------------------------------------------------------------- Python

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lib {
    PyJwt,
    Jose,
    Authlib,
}

impl Lib {
    fn label(self) -> &'static str {
        match self {
            Lib::PyJwt => "PyJWT",
            Lib::Jose => "python-jose",
            Lib::Authlib => "authlib",
        }
    }
}

/// Local names bound to a JWT library (`jwt`, `jose_jwt`, `decode`, an
/// authlib `JsonWebToken(...)` instance).
fn jwt_bindings(root: Node, src: &str) -> HashMap<String, Lib> {
    let mut m = HashMap::new();
    python::walk(root, &mut |n| match n.kind() {
        "import_statement" => {
            let mut c = n.walk();
            for name in n.named_children(&mut c) {
                let (module, alias) = import_parts(name, src);
                let lib = match module.as_str() {
                    "jwt" => Lib::PyJwt,
                    "jose.jwt" => Lib::Jose,
                    _ => continue,
                };
                m.insert(alias.unwrap_or(module), lib);
            }
        }
        "import_from_statement" => {
            let Some(module) = n
                .child_by_field_name("module_name")
                .map(|x| python::text(x, src))
            else {
                return;
            };
            let lib = match module {
                "jwt" | "jwt.api_jwt" => Lib::PyJwt,
                "jose" | "jose.jwt" => Lib::Jose,
                "authlib.jose" | "authlib.jose.rfc7519" => Lib::Authlib,
                _ => return,
            };
            let mut c = n.walk();
            for name in n.children_by_field_name("name", &mut c) {
                let (imported, alias) = import_parts(name, src);
                if matches!(
                    imported.as_str(),
                    "jwt"
                        | "decode"
                        | "decode_complete"
                        | "get_unverified_claims"
                        | "get_unverified_header"
                        | "JsonWebToken"
                ) {
                    m.insert(alias.unwrap_or(imported), lib);
                }
            }
        }
        "assignment" => {
            // jwt = JsonWebToken(["RS256"])
            let (Some(l), Some(r)) = (
                n.child_by_field_name("left"),
                n.child_by_field_name("right"),
            ) else {
                return;
            };
            if l.kind() == "identifier" && r.kind() == "call" {
                if let Some(name) = python::call_name(r, src) {
                    if name.ends_with("JsonWebToken") {
                        m.insert(python::text(l, src).to_string(), Lib::Authlib);
                    }
                }
            }
        }
        _ => {}
    });
    m
}

fn import_parts(n: Node, src: &str) -> (String, Option<String>) {
    if n.kind() == "aliased_import" {
        let name = n
            .child_by_field_name("name")
            .map(|x| python::text(x, src).to_string())
            .unwrap_or_default();
        let alias = n
            .child_by_field_name("alias")
            .map(|x| python::text(x, src).to_string());
        (name, alias)
    } else {
        (python::text(n, src).to_string(), None)
    }
}

fn check_python(ctx: &Ctx, root: Node, src: &str, out: &mut Vec<Diagnostic>) {
    let bindings = jwt_bindings(root, src);
    python::walk(root, &mut |n| {
        if n.kind() != "call" {
            return;
        }
        let Some(name) = python::call_name(n, src) else {
            return;
        };
        let (base, func) = match name.rsplit_once('.') {
            Some((b, f)) => (b, f),
            None => (name.as_str(), name.as_str()),
        };
        let lib = match bindings.get(base) {
            Some(l) => *l,
            // `jwt.decode(...)` with the import elsewhere: PyJWT's API.
            None if base == "jwt" => Lib::PyJwt,
            None => return,
        };
        match func {
            "decode" | "decode_complete" => decode_call(ctx, n, src, lib, out),
            "get_unverified_claims" => out.push(Diagnostic::new(
                n.byte_range(),
                format!("`{name}` returns claims whose signature was never checked"),
                format!(
                    "decode with verification: jwt.decode({}, key, algorithms=[\"RS256\"], audience=...)",
                    first_arg(n, src)
                ),
            )),
            "get_unverified_header" => unverified_header(ctx, n, src, &name, out),
            _ => {}
        }
    });
}

fn first_arg(call: Node, src: &str) -> String {
    python::positional_args(call)
        .first()
        .map(|a| python::text(*a, src).to_string())
        .unwrap_or_else(|| "token".into())
}

fn decode_call(ctx: &Ctx, call: Node, src: &str, lib: Lib, out: &mut Vec<Diagnostic>) {
    let _ = ctx;
    let token = first_arg(call, src);
    if lib == Lib::Authlib {
        authlib_validate(call, src, out);
        return;
    }
    let mut disabled = false;
    if let Some(opts) = python::keyword_arg(call, "options", src) {
        for (key, value) in dict_items(opts, src) {
            let Some(k) = key_name(key, src) else {
                continue;
            };
            if matches!(k.as_str(), "verify_signature" | "verify_aud" | "verify_exp")
                && python::text(value, src) == "False"
            {
                disabled |= k == "verify_signature";
                out.push(Diagnostic::new(
                    key.start_byte()..value.end_byte(),
                    format!("JWT decoded with `{k}` disabled"),
                    format!("remove `\"{k}\": False` and pass the expected values (algorithms=[...], audience=..., leeway=...)"),
                ));
            }
        }
    }
    if let Some(v) = python::keyword_arg(call, "verify", src) {
        if python::text(v, src) == "False" {
            disabled = true;
            out.push(Diagnostic::new(
                v.parent().map_or(v.byte_range(), |p| p.byte_range()),
                "JWT decoded with `verify=False`",
                format!("jwt.decode({token}, key, algorithms=[\"RS256\"], audience=...)"),
            ));
        }
    }
    if disabled {
        return;
    }
    let algs = python::keyword_arg(call, "algorithms", src)
        .or_else(|| python::positional_args(call).get(2).copied());
    let Some(algs) = algs else {
        out.push(Diagnostic::new(
            call.byte_range(),
            format!(
                "`{}` without an explicit `algorithms=` allow-list ({})",
                python::call_name(call, src).unwrap_or_default(),
                lib.label()
            ),
            format!(
                "{}({token}, key, algorithms=[\"RS256\"])",
                python::call_name(call, src).unwrap_or_default()
            ),
        ));
        return;
    };
    let names: Vec<String> = list_strings(algs, src);
    if names.iter().any(|a| a.eq_ignore_ascii_case("none")) {
        out.push(Diagnostic::new(
            algs.byte_range(),
            "JWT allow-list accepts the `none` algorithm (unsigned tokens)",
            "algorithms=[\"RS256\"]",
        ));
    } else if mixes_families(&names) {
        out.push(Diagnostic::new(
            algs.byte_range(),
            format!(
                "JWT allow-list mixes HMAC and public-key algorithms ({}): algorithm confusion",
                names.join(", ")
            ),
            format!(
                "one family per key: algorithms=[\"{}\"]",
                names
                    .iter()
                    .find(|a| !a.starts_with("HS"))
                    .cloned()
                    .unwrap_or_else(|| "RS256".into())
            ),
        ));
    }
}

fn mixes_families(algs: &[String]) -> bool {
    let hs = algs
        .iter()
        .any(|a| a.to_ascii_uppercase().starts_with("HS"));
    let pk = algs.iter().any(|a| {
        let a = a.to_ascii_uppercase();
        a.starts_with("RS") || a.starts_with("ES") || a.starts_with("PS") || a == "EDDSA"
    });
    hs && pk
}

/// authlib's `jwt.decode` only parses; `claims.validate()` checks exp/aud.
fn authlib_validate(call: Node, src: &str, out: &mut Vec<Diagnostic>) {
    let Some(assign) = call.parent().filter(|p| p.kind() == "assignment") else {
        return;
    };
    let Some(target) = assign
        .child_by_field_name("left")
        .filter(|l| l.kind() == "identifier")
    else {
        return;
    };
    let var = python::text(target, src);
    let scope = python::enclosing_function(call).unwrap_or(assign);
    let needle = format!("{var}.validate(");
    if !python::text(scope, src).contains(&needle) {
        out.push(Diagnostic::new(
            call.byte_range(),
            format!("authlib claims `{var}` are decoded but never validated"),
            format!("call `{var}.validate()` before using the claims (it checks exp, nbf and the registered claim options)"),
        ));
    }
}

/// `get_unverified_header` is fine when only the key id / algorithm is read.
fn unverified_header(ctx: &Ctx, call: Node, src: &str, name: &str, out: &mut Vec<Diagnostic>) {
    let allowed = &ctx.config.jwt.allow_unverified_header_keys;
    if only_allowed_keys(call, src, allowed) {
        return;
    }
    out.push(Diagnostic::new(
        call.byte_range(),
        format!("`{name}` result used beyond key selection"),
        format!("read only {} from the unverified header, then verify: jwt.decode({}, key, algorithms=[...])", allowed.join("/"), first_arg(call, src)),
    ));
}

fn only_allowed_keys(call: Node, src: &str, allowed: &[String]) -> bool {
    let key_ok = |use_site: Node| -> bool {
        let Some(p) = use_site.parent() else {
            return false;
        };
        match p.kind() {
            "subscript" => p
                .child_by_field_name("subscript")
                .and_then(|k| python::string_value(k, src))
                .is_some_and(|k| allowed.contains(&k)),
            "attribute" => {
                let is_get = p
                    .child_by_field_name("attribute")
                    .is_some_and(|a| python::text(a, src) == "get");
                let call = p.parent().filter(|c| c.kind() == "call");
                is_get
                    && call
                        .and_then(|c| python::positional_args(c).first().copied())
                        .and_then(|k| python::string_value(k, src))
                        .is_some_and(|k| allowed.contains(&k))
            }
            _ => false,
        }
    };
    if key_ok(call) {
        return true;
    }
    let Some(assign) = call.parent().filter(|p| p.kind() == "assignment") else {
        return false;
    };
    let Some(target) = assign
        .child_by_field_name("left")
        .filter(|l| l.kind() == "identifier")
    else {
        return false;
    };
    let var = python::text(target, src);
    let scope = python::enclosing_function(call).unwrap_or(assign);
    let mut all_ok = true;
    python::walk(scope, &mut |n| {
        if n.kind() == "identifier"
            && python::text(n, src) == var
            && n.start_byte() > target.end_byte()
        {
            all_ok &= key_ok(n);
        }
    });
    all_ok
}

fn dict_items<'t>(n: Node<'t>, src: &str) -> Vec<(Node<'t>, Node<'t>)> {
    let n = python::unparen(n);
    let mut c = n.walk();
    match n.kind() {
        "dictionary" => n
            .named_children(&mut c)
            .filter(|p| p.kind() == "pair")
            .filter_map(|p| {
                Some((
                    p.child_by_field_name("key")?,
                    p.child_by_field_name("value")?,
                ))
            })
            .collect(),
        "call" if python::call_name(n, src).as_deref() == Some("dict") => n
            .child_by_field_name("arguments")
            .map(|args| {
                let mut c = args.walk();
                args.named_children(&mut c)
                    .filter(|k| k.kind() == "keyword_argument")
                    .filter_map(|k| {
                        Some((
                            k.child_by_field_name("name")?,
                            k.child_by_field_name("value")?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn key_name(key: Node, src: &str) -> Option<String> {
    match key.kind() {
        "identifier" => Some(python::text(key, src).to_string()),
        _ => python::string_value(key, src),
    }
}

fn list_strings(n: Node, src: &str) -> Vec<String> {
    let n = python::unparen(n);
    if !matches!(n.kind(), "list" | "tuple" | "set") {
        return python::string_value(n, src).into_iter().collect();
    }
    let mut c = n.walk();
    n.named_children(&mut c)
        .filter_map(|e| python::string_value(e, src))
        .collect()
}

// ---------------------------------------------------------------- Rust

fn check_rust(f: &syn::File, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    use syn::visit::Visit;
    struct V<'a> {
        file: &'a ParsedFile,
        out: &'a mut Vec<Diagnostic>,
    }
    impl V<'_> {
        fn push(&mut self, span: proc_macro2::Span, title: String, suggestion: &str) {
            self.out.push(Diagnostic::new(
                rust::span_range(span, &self.file.src),
                title,
                suggestion,
            ));
        }
    }
    impl<'ast> Visit<'ast> for V<'_> {
        fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
            if m.method == "insecure_disable_signature_validation" {
                self.push(
                    m.span(),
                    "JWT `Validation` with signature validation disabled".into(),
                    "remove `insecure_disable_signature_validation()` and decode with the issuer's DecodingKey",
                );
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
            if let syn::Expr::Field(f) = &*a.left {
                if let syn::Member::Named(field) = &f.member {
                    let field = field.to_string();
                    if matches!(field.as_str(), "validate_aud" | "validate_exp")
                        && is_false(&a.right)
                    {
                        self.push(
                            a.span(),
                            format!("JWT `Validation` with `{field} = false`"),
                            &fix_for(&field),
                        );
                    }
                    if field == "algorithms" && mixes_families(&alg_idents(&a.right)) {
                        self.push(
                            a.span(),
                            "JWT `Validation` accepts HMAC and public-key algorithms: algorithm confusion".into(),
                            "one family per key: Validation::new(Algorithm::RS256)",
                        );
                    }
                }
            }
            syn::visit::visit_expr_assign(self, a);
        }
        fn visit_expr_struct(&mut self, s: &'ast syn::ExprStruct) {
            if s.path
                .segments
                .last()
                .is_some_and(|l| l.ident == "Validation")
            {
                for fv in &s.fields {
                    if let syn::Member::Named(field) = &fv.member {
                        let field = field.to_string();
                        if matches!(field.as_str(), "validate_aud" | "validate_exp")
                            && is_false(&fv.expr)
                        {
                            self.push(
                                fv.span(),
                                format!("JWT `Validation` with `{field}: false`"),
                                &fix_for(&field),
                            );
                        }
                    }
                }
            }
            syn::visit::visit_expr_struct(self, s);
        }
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            if let syn::Expr::Path(p) = &*c.func {
                let last = p
                    .path
                    .segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default();
                if last.starts_with("dangerous_insecure_decode") || last == "insecure_decode" {
                    self.push(
                        c.span(),
                        format!("`{}` skips signature verification", rust::path_string(&p.path)),
                        "jsonwebtoken::decode::<Claims>(&token, &key, &Validation::new(Algorithm::RS256))",
                    );
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
    }
    let mut v = V { file, out };
    v.visit_file(f);
}

fn fix_for(field: &str) -> String {
    match field {
        "validate_aud" => {
            "keep audience validation: validation.set_audience(&[\"<your-audience>\"])".into()
        }
        _ => "keep expiry validation (the default); use `validation.leeway` for clock skew".into(),
    }
}

fn is_false(e: &syn::Expr) -> bool {
    matches!(e, syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Bool(b), .. }) if !b.value)
}

/// `Algorithm::HS256` names in an expression (e.g. `vec![…]`).
fn alg_idents(e: &syn::Expr) -> Vec<String> {
    let tokens = match e {
        syn::Expr::Macro(m) => m.mac.tokens.clone(),
        other => quote_tokens(other),
    };
    let mut out = Vec::new();
    let mut prev_alg = false;
    for t in tokens {
        if let proc_macro2::TokenTree::Ident(i) = t {
            let s = i.to_string();
            if prev_alg
                || s.starts_with("HS")
                || s.starts_with("RS")
                || s.starts_with("ES")
                || s.starts_with("PS")
            {
                out.push(s.clone());
            }
            prev_alg = s == "Algorithm";
        }
    }
    out
}

fn quote_tokens(e: &syn::Expr) -> proc_macro2::TokenStream {
    quote::ToTokens::to_token_stream(e)
}
