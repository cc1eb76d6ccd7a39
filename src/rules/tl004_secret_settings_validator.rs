//! TL004 secret-settings-validator: a settings field holding a webhook
//! secret, service token, API key or encryption key that defaults to an
//! empty string and that no validator rejects when empty — the service
//! starts, and every signature or token check compares against "".
//!
//! Python: subclasses of `BaseSettings` (directly or through a class of the
//! same file); validators are `@field_validator`/`@validator` naming the
//! field, `@model_validator`/`@root_validator`/`model_post_init` mentioning
//! it, their helpers one call deep, and module-level functions reading
//! `.field` that raise. Rust: `Deserialize` structs whose `String` field is
//! filled by `#[serde(default)]`; a validation function is any function of
//! the file that reads `.field` and tests it with `is_empty`/`trim`/`len`.

use super::names::{name_pattern_matches, NameKind, WordContext};
use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::lang::{python, rust, Language, ParsedFile, Syntax};
use std::collections::{HashMap, HashSet};
use tree_sitter::Node;

pub static RULE: RuleMeta = RuleMeta {
    id: "TL004",
    name: "secret-settings-validator",
    severity: Severity::Hard,
    languages: &[Language::Python, Language::Rust],
    summary: "Secret settings are rejected at start-up when empty",
    doc: include_str!("../../rules/TL004-secret-settings-validator.md"),
    triggers: |c| {
        let mut t = c.settings.base_classes.clone();
        t.push("deserialize".into());
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
        Syntax::Rust(f) => check_rust(ctx, f, file, out),
        Syntax::Sql(_) => {}
    }
}

/// A name the configuration marks as a secret setting, and whether it is
/// an encryption key.
fn secret_field(ctx: &Ctx, name: &str) -> Option<bool> {
    let cfg = &ctx.config.settings;
    if !cfg
        .secret_fields
        .iter()
        .chain(&cfg.encryption_key_fields)
        .any(|p| name_pattern_matches(p, name))
    {
        return None;
    }
    if ctx.secret_words.classify(name, WordContext::default()) != NameKind::Secret
        && !cfg
            .secret_fields
            .iter()
            .chain(&cfg.encryption_key_fields)
            .any(|p| !p.contains('*') && p.eq_ignore_ascii_case(name))
    {
        return None;
    }
    Some(
        cfg.encryption_key_fields
            .iter()
            .any(|p| name_pattern_matches(p, name)),
    )
}

/// Whether `word` occurs in `hay` as a whole identifier.
fn has_word(hay: &str, word: &str) -> bool {
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let bytes = hay.as_bytes();
    let mut from = 0;
    while let Some(i) = hay.get(from..).and_then(|h| h.find(word)) {
        let at = from + i;
        let end = at + word.len();
        let before = at == 0 || !ident(bytes[at - 1]);
        let after = end >= bytes.len() || !ident(bytes[end]);
        if before && after {
            return true;
        }
        from = at + word.len().max(1);
    }
    false
}

/// Text that decodes a key and checks its length.
fn decodes(text: &str) -> bool {
    const DECODERS: &[&str] = &[
        "b64decode",
        "b32decode",
        "fromhex",
        "unhexlify",
        "Fernet(",
        "AESGCM(",
        "ChaCha20Poly1305(",
        "decode(",
    ];
    let self_checking = ["Fernet(", "AESGCM(", "ChaCha20Poly1305("];
    DECODERS.iter().any(|d| text.contains(d))
        && (text.contains("len(") || self_checking.iter().any(|d| text.contains(d)))
}

// ---------------------------------------------------------------- Python

struct PyClass<'t> {
    name: String,
    node: Node<'t>,
    bases: Vec<String>,
}

/// How a validator covers a field.
#[derive(Default, Clone, Copy)]
struct Cover {
    empty: bool,
    decode: bool,
}

struct PyValidator {
    /// `None`: model-level (covers what its text mentions).
    fields: Option<Vec<String>>,
    name: String,
    /// The validator's text and its helpers' texts, one call deep.
    text: String,
    raises: bool,
}

fn check_python(ctx: &Ctx, root: Node, src: &str, out: &mut Vec<Diagnostic>) {
    let mut classes = Vec::new();
    python::walk(root, &mut |n| {
        if n.kind() != "class_definition" {
            return;
        }
        let Some(name) = n.child_by_field_name("name") else {
            return;
        };
        let mut bases = Vec::new();
        if let Some(args) = n.child_by_field_name("superclasses") {
            let mut c = args.walk();
            for b in args.named_children(&mut c) {
                if let Some(d) = python::dotted_name(b, src) {
                    bases.push(d);
                }
            }
        }
        classes.push(PyClass {
            name: python::text(name, src).to_string(),
            node: n,
            bases,
        });
    });
    let cfg = &ctx.config.settings;
    let imports = python::imports(root, src);
    // `from pydantic_settings import BaseSettings as Base`: the imported name.
    let original = |b: &str| -> String {
        imports
            .iter()
            .find(|(_, _, bound)| bound == b)
            .map(|(_, imported, _)| imported.clone())
            .unwrap_or_else(|| b.to_string())
    };
    let mut settings: HashSet<String> = HashSet::new();
    loop {
        let before = settings.len();
        for c in &classes {
            let is = c.bases.iter().any(|b| {
                let b = original(b);
                let last = b.rsplit('.').next().unwrap_or(&b);
                cfg.base_classes.iter().any(|x| x == last) || settings.contains(&b)
            });
            if is {
                settings.insert(c.name.clone());
            }
        }
        if settings.len() == before {
            break;
        }
    }
    if settings.is_empty() {
        return;
    }
    let functions = python::top_level_functions_by_name(root, src);
    let module_checks: Vec<(String, String)> = functions
        .values()
        .filter(|f| contains_kind(**f, &["raise_statement"]))
        .map(|f| (python::text(*f, src).to_string(), String::new()))
        .collect();
    let v1 = imports.iter().any(|(m, n, _)| {
        (m == "pydantic" || m == "pydantic.v1")
            && matches!(n.as_str(), "validator" | "root_validator" | "BaseSettings")
    });
    for class in classes.iter().filter(|c| settings.contains(&c.name)) {
        if python::in_test_function(class.node, src) {
            continue;
        }
        let related = related_classes(class, &classes, &settings);
        let validators: Vec<PyValidator> = related
            .iter()
            .flat_map(|c| validators(c.node, &related, &functions, src))
            .collect();
        let prefix = related
            .iter()
            .find_map(|c| env_prefix(c.node, src))
            .unwrap_or_default();
        for (name_node, ty, value) in fields(class.node) {
            let name = python::text(name_node, src);
            let Some(encryption) = secret_field(ctx, name) else {
                continue;
            };
            let ty_text = ty.map(|t| python::text(t, src)).unwrap_or("");
            if ty.is_none() || !ty_text.to_ascii_lowercase().contains("str") {
                continue;
            }
            let Some(value) = value else { continue };
            let Some(field_call) = empty_default(value, src) else {
                continue;
            };
            let mut cover = Cover::default();
            if annotation_validates(ty_text) {
                cover = Cover {
                    empty: true,
                    decode: true,
                };
            }
            if field_call.is_some_and(|f| positive_min_length(f, src))
                || ty_text.contains("min_length")
            {
                cover.empty = true;
            }
            let mut non_raising: Option<&str> = None;
            for v in &validators {
                let covers = match &v.fields {
                    Some(fs) => fs.iter().any(|f| f == name || f == "*"),
                    None => has_word(&v.text, name),
                };
                if !covers {
                    continue;
                }
                if !v.raises {
                    non_raising.get_or_insert(&v.name);
                    continue;
                }
                cover.empty = true;
                cover.decode |= decodes(&v.text);
            }
            for (text, _) in &module_checks {
                if has_word(text, name) && text.contains(&format!(".{name}")) {
                    cover.empty = true;
                    cover.decode |= decodes(text);
                }
            }
            if cover.empty && (cover.decode || !encryption) {
                continue;
            }
            let env = field_call
                .and_then(|f| env_alias(f, src))
                .unwrap_or_else(|| format!("{prefix}{name}").to_ascii_uppercase());
            let secret_str = ty_text.contains("SecretStr");
            let value_expr = if secret_str {
                "value.get_secret_value()"
            } else {
                "value"
            };
            let decorator = if v1 {
                format!("@validator(\"{name}\")")
            } else {
                format!("@field_validator(\"{name}\")")
            };
            let decode_step = format!(
                "if len(base64.b64decode({value_expr})) != 32: raise ValueError(\"{env} must be base64 of 32 bytes\")"
            );
            let (title, suggestion) = if cover.empty {
                (
                    format!(
                        "encryption key `{}.{name}` (env `{env}`) is checked for emptiness but never decoded and length-checked",
                        class.name
                    ),
                    format!(
                        "in the validator of `{name}` on `{}`, also `{decode_step}`",
                        class.name
                    ),
                )
            } else {
                let why = match non_raising {
                    Some(v) => format!("its validator `{v}` never raises"),
                    None => "no validator rejects an empty value".to_string(),
                };
                let decode = if encryption {
                    format!("; {decode_step}")
                } else {
                    String::new()
                };
                let fix = format!(
                    "add to `{}`: `{decorator} def _require_{name}(cls, value): if not {value_expr}.strip(): raise ValueError(\"{env} must be set\"){decode}; return value`",
                    class.name
                );
                (
                    format!(
                        "secret setting `{}.{name}` (env `{env}`) defaults to an empty string and {why}: the service starts without the secret",
                        class.name
                    ),
                    fix,
                )
            };
            out.push(Diagnostic::new(name_node.byte_range(), title, suggestion));
        }
    }
}

/// The class, its ancestors and its descendants among the settings
/// classes of the file: a validator anywhere on the chain runs on the
/// settings object that holds the field.
fn related_classes<'a, 't>(
    class: &'a PyClass<'t>,
    all: &'a [PyClass<'t>],
    settings: &HashSet<String>,
) -> Vec<&'a PyClass<'t>> {
    let by_name: HashMap<&str, &PyClass> = all.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut out = vec![class];
    let mut i = 0;
    while i < out.len() {
        let c = out[i];
        for b in &c.bases {
            if let Some(p) = by_name.get(b.as_str()) {
                if settings.contains(&p.name) && !out.iter().any(|x| x.name == p.name) {
                    out.push(p);
                }
            }
        }
        i += 1;
    }
    for c in all {
        let mut cur = Some(c);
        let mut seen = 0;
        while let Some(x) = cur {
            if x.name == class.name && c.name != class.name {
                if !out.iter().any(|o| o.name == c.name) {
                    out.push(c);
                }
                break;
            }
            cur = x
                .bases
                .iter()
                .find_map(|b| by_name.get(b.as_str()).copied());
            seen += 1;
            if seen > 16 {
                break;
            }
        }
    }
    out
}

/// Annotated field declarations of a class body: (name, type, value).
fn fields(class: Node) -> Vec<(Node, Option<Node>, Option<Node>)> {
    let mut out = Vec::new();
    let Some(body) = class.child_by_field_name("body") else {
        return out;
    };
    let mut c = body.walk();
    for stmt in body.named_children(&mut c) {
        if stmt.kind() != "expression_statement" {
            continue;
        }
        let Some(a) = stmt.named_child(0).filter(|a| a.kind() == "assignment") else {
            continue;
        };
        let Some(left) = a
            .child_by_field_name("left")
            .filter(|l| l.kind() == "identifier")
        else {
            continue;
        };
        out.push((
            left,
            a.child_by_field_name("type"),
            a.child_by_field_name("right"),
        ));
    }
    out
}

/// When `value` makes the field empty by default: `Some(the Field(...)
/// call, if any)`.
fn empty_default<'t>(value: Node<'t>, src: &str) -> Option<Option<Node<'t>>> {
    let value = python::unparen(value);
    if python::string_value(value, src).is_some_and(|s| s.is_empty()) {
        return Some(None);
    }
    if value.kind() != "call" {
        return None;
    }
    let name = python::call_name(value, src)?;
    let last = name.rsplit('.').next().unwrap_or(&name);
    let args = python::positional_args(value);
    match last {
        "Field" => {
            let default = python::keyword_arg(value, "default", src).or(args.first().copied());
            let factory = python::keyword_arg(value, "default_factory", src)
                .is_some_and(|f| python::text(f, src) == "str");
            if factory || default.is_some_and(|d| empty_default(d, src).is_some()) {
                Some(Some(value))
            } else {
                None
            }
        }
        "SecretStr" | "str" => match args.first() {
            None => Some(None),
            Some(a) => empty_default(*a, src).map(|_| None),
        },
        "getenv" | "get" if name.ends_with("os.getenv") || name.ends_with("os.environ.get") => {
            let d = args.get(1)?;
            empty_default(*d, src).map(|_| None)
        }
        _ => None,
    }
}

/// `Field(..., min_length=N)` with N ≥ 1.
fn positive_min_length(call: Node, src: &str) -> bool {
    python::keyword_arg(call, "min_length", src)
        .and_then(|v| python::text(v, src).parse::<u64>().ok())
        .is_some_and(|n| n >= 1)
}

/// An annotation that validates by itself: `constr(min_length=1)`,
/// `Annotated[str, AfterValidator(check_key)]`.
fn annotation_validates(ty: &str) -> bool {
    [
        "AfterValidator",
        "BeforeValidator",
        "PlainValidator",
        "WrapValidator",
    ]
    .iter()
    .any(|v| ty.contains(v))
}

/// `Field(alias="X")`, `validation_alias="X"`, v1 `env="X"`.
fn env_alias(call: Node, src: &str) -> Option<String> {
    ["validation_alias", "alias", "env"]
        .iter()
        .find_map(|k| python::keyword_arg(call, k, src).and_then(|v| python::string_value(v, src)))
}

/// `env_prefix` from `model_config = SettingsConfigDict(env_prefix=…)`,
/// a `model_config` dict, or a v1 `class Config: env_prefix = …`.
fn env_prefix(class: Node, src: &str) -> Option<String> {
    let body = class.child_by_field_name("body")?;
    let mut found = None;
    let mut stack = vec![body];
    while let Some(n) = stack.pop() {
        if found.is_some() {
            break;
        }
        match n.kind() {
            "class_definition" if n != class => {
                let is_config = n
                    .child_by_field_name("name")
                    .is_some_and(|x| python::text(x, src) == "Config");
                if !is_config {
                    continue;
                }
            }
            "function_definition" => continue,
            "keyword_argument"
                if n.child_by_field_name("name")
                    .is_some_and(|k| python::text(k, src) == "env_prefix") =>
            {
                found = n
                    .child_by_field_name("value")
                    .and_then(|v| python::string_value(v, src));
            }
            "pair" => {
                let key = n
                    .child_by_field_name("key")
                    .and_then(|k| python::string_value(k, src));
                if key.as_deref() == Some("env_prefix") {
                    found = n
                        .child_by_field_name("value")
                        .and_then(|v| python::string_value(v, src));
                }
            }
            "assignment"
                if n.child_by_field_name("left")
                    .is_some_and(|l| python::text(l, src) == "env_prefix") =>
            {
                found = n
                    .child_by_field_name("right")
                    .and_then(|v| python::string_value(v, src));
            }
            _ => {}
        }
        let mut c = n.walk();
        stack.extend(n.named_children(&mut c));
    }
    found
}

/// Methods of a class body by name, with their decorators.
fn methods<'t>(class: Node<'t>, src: &str) -> Vec<(String, Node<'t>, Vec<Node<'t>>)> {
    let mut out = Vec::new();
    let Some(body) = class.child_by_field_name("body") else {
        return out;
    };
    let mut c = body.walk();
    for n in body.named_children(&mut c) {
        let (f, decorators) = if n.kind() == "decorated_definition" {
            let mut dc = n.walk();
            let decos: Vec<Node> = n
                .named_children(&mut dc)
                .filter(|x| x.kind() == "decorator")
                .collect();
            (n.child_by_field_name("definition"), decos)
        } else {
            (Some(n), Vec::new())
        };
        if let Some(f) = f.filter(|f| f.kind() == "function_definition") {
            if let Some(name) = f.child_by_field_name("name") {
                out.push((python::text(name, src).to_string(), f, decorators));
            }
        }
    }
    out
}

fn contains_kind(node: Node, kinds: &[&str]) -> bool {
    let mut found = false;
    python::walk(node, &mut |n| {
        if !found && kinds.contains(&n.kind()) {
            found = true;
        }
    });
    found
}

/// The validators declared in `class`, with their helpers (methods of the
/// related classes and module functions) one call deep.
fn validators(
    class: Node,
    related: &[&PyClass],
    functions: &HashMap<String, Node>,
    src: &str,
) -> Vec<PyValidator> {
    let all_methods: Vec<(String, Node, Vec<Node>)> =
        related.iter().flat_map(|c| methods(c.node, src)).collect();
    let mut out = Vec::new();
    for (name, f, decorators) in methods(class, src) {
        let mut fields: Option<Option<Vec<String>>> = None;
        for d in &decorators {
            let Some(expr) = d.named_child(0) else {
                continue;
            };
            let (callee, call) = if expr.kind() == "call" {
                (python::call_name(expr, src), Some(expr))
            } else {
                (python::dotted_name(expr, src), None)
            };
            let Some(callee) = callee else { continue };
            match callee.rsplit('.').next().unwrap_or(&callee) {
                "field_validator" | "validator" => {
                    let listed = call
                        .map(|c| {
                            python::positional_args(c)
                                .iter()
                                .filter_map(|a| python::string_value(*a, src))
                                .collect()
                        })
                        .unwrap_or_default();
                    fields = Some(Some(listed));
                }
                "model_validator" | "root_validator" => fields = Some(None),
                _ => {}
            }
        }
        if fields.is_none()
            && matches!(
                name.as_str(),
                "model_post_init" | "__post_init__" | "__init__"
            )
        {
            fields = Some(None);
        }
        let Some(fields) = fields else { continue };
        let mut text = python::text(f, src).to_string();
        let mut raises = contains_kind(f, &["raise_statement", "assert_statement"]);
        let mut helpers = Vec::new();
        python::walk(f, &mut |n| {
            if n.kind() != "call" {
                return;
            }
            if let Some(callee) = python::call_name(n, src) {
                helpers.push(callee);
            }
        });
        for callee in helpers {
            let helper = match callee.split_once('.') {
                Some(("self" | "cls", m)) => all_methods
                    .iter()
                    .find(|(n, _, _)| n == m)
                    .map(|(_, f, _)| *f),
                Some(_) => None,
                None => functions.get(&callee).copied(),
            };
            if let Some(h) = helper {
                text.push('\n');
                text.push_str(python::text(h, src));
                raises |= contains_kind(h, &["raise_statement", "assert_statement"]);
            }
        }
        out.push(PyValidator {
            fields,
            name,
            text,
            raises,
        });
    }
    out
}

// ---------------------------------------------------------------- Rust

fn check_rust(ctx: &Ctx, f: &syn::File, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    let mut structs = Vec::new();
    let mut fns: Vec<String> = Vec::new();
    let mut default_impls: HashMap<String, String> = HashMap::new();
    collect_rust(&f.items, file, &mut structs, &mut fns, &mut default_impls);
    for s in structs {
        let derives = derives(&s.attrs);
        if !derives.iter().any(|d| d == "Deserialize") {
            continue;
        }
        let struct_default = s.attrs.iter().any(serde_bare_default);
        let name = s.ident.to_string();
        let syn::Fields::Named(named) = &s.fields else {
            continue;
        };
        for field in &named.named {
            let Some(ident) = &field.ident else { continue };
            let fname = ident.to_string();
            let Some(encryption) = secret_field(ctx, &fname) else {
                continue;
            };
            if !is_string(&field.ty) {
                continue;
            }
            let defaulted = if field.attrs.iter().any(serde_bare_default) {
                true
            } else if struct_default {
                if derives.iter().any(|d| d == "Default") {
                    true
                } else {
                    match default_impls.get(&name) {
                        Some(body) => impl_sets_empty(body, &fname),
                        None => false,
                    }
                }
            } else {
                false
            };
            if !defaulted {
                continue;
            }
            let dotted = format!(".{fname}");
            let checking: Vec<&String> = fns
                .iter()
                .filter(|t| {
                    has_word(t, &fname)
                        && t.contains(&dotted)
                        && (t.contains("is_empty") || t.contains(".trim()") || t.contains(".len()"))
                })
                .collect();
            let empty = !checking.is_empty();
            let decode = checking
                .iter()
                .any(|t| t.contains("decode") && t.contains("len()"));
            if empty && (decode || !encryption) {
                continue;
            }
            let env = field
                .attrs
                .iter()
                .find_map(serde_rename)
                .unwrap_or_else(|| fname.to_ascii_uppercase());
            let (title, suggestion) = if empty {
                (
                    format!("encryption key `{name}.{fname}` (env `{env}`) is checked for emptiness but never decoded and length-checked"),
                    format!("in the validation of `{name}`, decode `self.{fname}` (base64) and return an error unless it is 32 bytes"),
                )
            } else {
                (
                    format!("secret setting `{name}.{fname}` (env `{env}`) defaults to an empty string and no validation function rejects an empty value: the service starts without the secret"),
                    format!("in the validation of `{name}` (a `fn validate(&self)` called after loading) add `if self.{fname}.trim().is_empty() {{ return Err(\"{env} must be set\".into()); }}`"),
                )
            };
            out.push(Diagnostic::new(
                rust::span_range(ident.span(), &file.src),
                title,
                suggestion,
            ));
        }
    }
}

fn collect_rust<'a>(
    items: &'a [syn::Item],
    file: &ParsedFile,
    structs: &mut Vec<&'a syn::ItemStruct>,
    fns: &mut Vec<String>,
    default_impls: &mut HashMap<String, String>,
) {
    use syn::spanned::Spanned;
    let text = |span: proc_macro2::Span| {
        let r = rust::span_range(span, &file.src);
        file.text().get(r).unwrap_or("").to_string()
    };
    for item in items {
        match item {
            syn::Item::Struct(s) if !rust::is_test_attr(&s.attrs) => structs.push(s),
            syn::Item::Fn(f) if !rust::is_test_attr(&f.attrs) => fns.push(text(f.block.span())),
            syn::Item::Impl(i) if !rust::is_test_attr(&i.attrs) => {
                let self_name = match &*i.self_ty {
                    syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
                    _ => None,
                };
                let is_default = i
                    .trait_
                    .as_ref()
                    .and_then(|(_, p, _)| p.segments.last())
                    .is_some_and(|s| s.ident == "Default");
                for it in &i.items {
                    if let syn::ImplItem::Fn(m) = it {
                        let body = text(m.block.span());
                        if is_default {
                            if let Some(n) = &self_name {
                                default_impls.insert(n.clone(), body.clone());
                            }
                        } else {
                            fns.push(body);
                        }
                    }
                }
            }
            syn::Item::Mod(m) if !rust::is_test_attr(&m.attrs) => {
                if let Some((_, inner)) = &m.content {
                    collect_rust(inner, file, structs, fns, default_impls);
                }
            }
            _ => {}
        }
    }
}

/// Last path segments of `#[derive(...)]`.
fn derives(attrs: &[syn::Attribute]) -> Vec<String> {
    let mut out = Vec::new();
    for a in attrs.iter().filter(|a| a.path().is_ident("derive")) {
        let parsed = a.parse_args_with(
            syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
        );
        if let Ok(paths) = parsed {
            out.extend(
                paths
                    .iter()
                    .filter_map(|p| p.segments.last().map(|s| s.ident.to_string())),
            );
        }
    }
    out
}

/// The top-level tokens of `#[serde(...)]`.
fn serde_tokens(a: &syn::Attribute) -> Option<Vec<proc_macro2::TokenTree>> {
    if !a.path().is_ident("serde") {
        return None;
    }
    match &a.meta {
        syn::Meta::List(l) => Some(l.tokens.clone().into_iter().collect()),
        _ => None,
    }
}

/// `#[serde(default)]` without a function.
fn serde_bare_default(a: &syn::Attribute) -> bool {
    let Some(toks) = serde_tokens(a) else {
        return false;
    };
    toks.iter().enumerate().any(|(i, t)| {
        matches!(t, proc_macro2::TokenTree::Ident(id) if id == "default")
            && !matches!(toks.get(i + 1), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == '=')
    })
}

/// `#[serde(rename = "X")]`.
fn serde_rename(a: &syn::Attribute) -> Option<String> {
    let toks = serde_tokens(a)?;
    toks.windows(3).find_map(|w| match w {
        [proc_macro2::TokenTree::Ident(id), proc_macro2::TokenTree::Punct(p), proc_macro2::TokenTree::Literal(l)]
            if id == "rename" && p.as_char() == '=' =>
        {
            Some(l.to_string().trim_matches('"').to_string())
        }
        _ => None,
    })
}

fn is_string(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == "String" && s.arguments.is_none()))
}

/// Whether a hand-written `Default::default` body fills `field` with an
/// empty string (or does not mention it: `..Default::default()`).
fn impl_sets_empty(body: &str, field: &str) -> bool {
    let key = format!("{field}:");
    let bytes = body.as_bytes();
    let at = body
        .match_indices(&key)
        .map(|(i, _)| i)
        .find(|&i| i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'));
    let Some(at) = at else {
        return true;
    };
    let rest = body.get(at + key.len()..).unwrap_or("");
    let value = rest.split([',', '}']).next().unwrap_or("").trim();
    value.starts_with("\"\"")
        || value.starts_with("String::new()")
        || value.starts_with("String::default()")
        || value.starts_with("Default::default()")
        || value.contains("unwrap_or_default()")
}
