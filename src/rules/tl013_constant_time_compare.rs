//! TL013 constant-time-compare: secrets compared with `==`, `!=`, `in` or
//! `startswith` leak their value one byte at a time through timing.
//!
//! An operand is classified from its name and, for a local variable, from
//! the value it was last assigned in the same function (one step back):
//! `expected = hmac.new(...).hexdigest()` makes `expected` a secret, and
//! `digest = file_fingerprint(body)` makes `digest` a content hash.

use super::names::{split_pieces, NameKind, WordContext};
use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::lang::{python, rust, Language, ParsedFile, Syntax};
use std::collections::HashSet;
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
    gate: None,
    needs_index: false,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    match &file.syntax {
        Syntax::Python(tree) => {
            let path = file.path.to_ascii_lowercase();
            let text_path = TEXT_PATH_WORDS.iter().any(|w| path.contains(w));
            check_python(ctx, tree.root_node(), file.text(), text_path, out)
        }
        Syntax::Rust(f) => check_rust(ctx, f, file, out),
        Syntax::Sql(_) => {}
    }
}

// ---------------------------------------------------------------- shared

/// What an operand is known to hold.
#[derive(Clone, Debug, PartialEq)]
enum Class {
    /// A secret, known by this name.
    Secret(String),
    /// Positively not a secret: a literal, a constant, metadata about a
    /// secret (`next_page_token`), an unkeyed content hash, or a value from
    /// an API whose vocabulary reuses secret words (`inspect.signature`).
    NotSecret,
    Unknown,
}

impl Class {
    fn secret(&self) -> Option<&str> {
        match self {
            Class::Secret(s) => Some(s),
            _ => None,
        }
    }

    fn or(self, other: impl FnOnce() -> Class) -> Class {
        match self {
            Class::Secret(_) => self,
            _ => match other() {
                s @ Class::Secret(_) => s,
                o => {
                    if self == Class::NotSecret && o == Class::NotSecret {
                        Class::NotSecret
                    } else {
                        Class::Unknown
                    }
                }
            },
        }
    }
}

/// Qualifiers that make `<q>_token` another version of the same kind of
/// value as a bare `token`: a loop's previous value, a pagination cursor,
/// a tokenizer's special token. Comparing the two is change detection.
const VERSION_QUALIFIERS: &[&str] = &[
    "next",
    "prev",
    "previous",
    "last",
    "new",
    "old",
    "cached",
    "stale",
    "page",
    "continuation",
    "cursor",
    "eos",
    "bos",
    "pad",
    "unk",
    "sep",
    "cls",
    "mask",
    "stop",
    "special",
];

/// Bare names that hold a secret only when their value says so: `sig` is
/// as often a signal number or a Celery signature, `digest` a content hash.
const WEAK_NAMES: &[&str] = &["sig", "digest", "hexdigest"];

/// Modules whose vocabulary reuses secret words: `inspect.signature`,
/// Celery's `signature()`/`chain()`, signal numbers, tokenizers.
const FOREIGN_MODULES: &[&str] = &[
    "inspect",
    "celery",
    "signal",
    "tokenizers",
    "transformers",
    "tiktoken",
    "sentencepiece",
];

/// Importing one of these makes `token` a language-model token unless an
/// auth word qualifies it.
const LLM_MODULES: &[&str] = &[
    "openai",
    "anthropic",
    "tiktoken",
    "transformers",
    "tokenizers",
    "vllm",
    "llama_cpp",
    "sentencepiece",
    "litellm",
    "langchain",
    "langchain_core",
    "langchain_openai",
    "langchain_community",
    "huggingface_hub",
    "mistralai",
    "cohere",
    "ollama",
    "groq",
    // Text processing: lexers, tokenizers and markup parsers.
    "tokenize",
    "pygments",
    "markdown_it",
    "mistune",
    "lark",
    "ply",
    "sqlparse",
    "libcst",
];

/// A module whose path names one of these processes text: its `token`
/// is a lexical token unless an auth word qualifies it.
const TEXT_PATH_WORDS: &[&str] = &["lexer", "tokeniz", "parser", "grammar", "markdown"];

const LLM_CRATES: &[&str] = &[
    "tokenizers",
    "tiktoken_rs",
    "async_openai",
    "openai_api_rs",
    "candle_core",
    "candle_transformers",
    "llama_cpp",
    "ollama_rs",
];

/// Calls whose arguments are SQL expressions (SQLAlchemy, Django): `==`
/// there builds a `WHERE` clause, it compares nothing in Python.
const SQL_BUILDERS: &[&str] = &[
    "where",
    "filter",
    "filter_by",
    "having",
    "join",
    "outerjoin",
    "and_",
    "or_",
    "not_",
    "case",
    "on_conflict_do_update",
];

/// Qualifiers of a password the user types twice or changes.
const CONFIRMATION_WORDS: &[&str] = &[
    "confirm",
    "confirmation",
    "confirmed",
    "repeat",
    "repeated",
    "again",
    "retype",
    "verify",
    "new",
    "old",
    "current",
    "previous",
];

/// Words of a plaintext password (not of its hash).
const PASSWORD_WORDS: &[&str] = &["password", "passwd", "pwd", "passphrase"];

fn name_class(ctx: &Ctx, cx: WordContext, name: &str) -> Class {
    match ctx.secret_words.classify(name, cx) {
        NameKind::Secret => Class::Secret(name.to_string()),
        NameKind::Metadata => Class::NotSecret,
        NameKind::Plain if is_constant_name(name) => Class::NotSecret,
        NameKind::Plain => Class::Unknown,
    }
}

/// A local variable's class from its name and the value it was last
/// assigned (`None`: no assignment found, e.g. a parameter).
fn local_class(ctx: &Ctx, cx: WordContext, name: &str, value: Option<Class>) -> Class {
    match value {
        // `expected` from `hmac.new(...).hexdigest()`: say where it came from.
        Some(Class::Secret(from)) if !ctx.secret_words.is_secret_in(name, cx) => {
            Class::Secret(format!("{name}` from `{}", short(&from)))
        }
        Some(Class::Secret(_)) => Class::Secret(name.to_string()),
        // The value is positive evidence, stronger than the name.
        Some(Class::NotSecret) => Class::NotSecret,
        Some(Class::Unknown) if WEAK_NAMES.contains(&name) => Class::Unknown,
        _ => name_class(ctx, cx, name),
    }
}

/// `SIGTERM`, `LIVE_KEY_PREFIX`: module constants.
fn is_constant_name(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// `token == prev_token`, `next_page_token == page_token`,
/// `cached.token == new.token`, `old_digest != new_digest`: two versions of
/// the same kind of value (a loop's previous value, a pagination cursor, a
/// rotated token, a tokenizer's special token), compared to detect a
/// change. Each name comes with the name of the object it is read from.
fn versions_of_same_value(
    ctx: &Ctx,
    a: Option<(String, String)>,
    b: Option<(String, String)>,
) -> bool {
    let info = |(name, base): (String, String)| -> Option<(Vec<String>, bool, bool)> {
        let (word, before) = ctx.secret_words.secret_word(&name)?;
        let base_last = split_pieces(&base).pop().unwrap_or_default();
        let qualified = before
            .iter()
            .any(|p| VERSION_QUALIFIERS.contains(&p.as_str()))
            || (before.is_empty() && VERSION_QUALIFIERS.contains(&base_last.as_str()));
        let bare = !qualified && split_pieces(&name).len() == word.len();
        Some((word, qualified, bare))
    };
    match (a.and_then(info), b.and_then(info)) {
        (Some((wa, qa, ba)), Some((wb, qb, bb))) if wa == wb => (qa && (qb || bb)) || (qb && ba),
        _ => false,
    }
}

/// The secret a comparison is about and the class of the other operand;
/// an operand whose own name is secret-like (`expected_signature`) names
/// the finding rather than one that is secret by its value (`s`).
fn pick_secret<'c>(
    ctx: &Ctx,
    cx: WordContext,
    a: &'c Class,
    b: &'c Class,
) -> Option<(String, &'c Class)> {
    let by_name = |c: &Class| {
        c.secret().is_some_and(|s| {
            ctx.secret_words
                .is_secret_in(s.split('`').next().unwrap_or(s), cx)
        })
    };
    match (a.secret(), b.secret()) {
        (Some(_), Some(s)) if !by_name(a) && by_name(b) => Some((s.to_string(), a)),
        (Some(s), _) => Some((s.to_string(), b)),
        (None, Some(s)) => Some((s.to_string(), a)),
        (None, None) => None,
    }
}

/// The only secret word of a plaintext password (`new_password`), not
/// of a hash (`password_hash`).
fn is_plaintext_password(ctx: &Ctx, name: &str) -> bool {
    let pieces = split_pieces(name);
    ctx.secret_words
        .secret_word(name)
        .is_some_and(|(w, _)| w.len() == 1 && PASSWORD_WORDS.contains(&w[0].as_str()))
        && !pieces
            .iter()
            .any(|p| matches!(p.as_str(), "hash" | "hashed" | "digest" | "hmac"))
}

/// The user declared one side never secret (`[secrets] not-secret`): the
/// comparison is theirs to judge, even when the other side looks secret by
/// its value.
fn declared_not_secret(ctx: &Ctx, operands: [Option<(String, String)>; 2]) -> bool {
    operands
        .iter()
        .flatten()
        .any(|(name, _)| ctx.secret_words.declared_not_secret(name))
}

/// A plaintext password compared with something that is not a secret
/// (`password == email`), or with another plaintext password the user typed
/// (`new_password != confirm_password`, `old_password == new_password`):
/// a policy check, not a login.
fn is_password_policy_check(ctx: &Ctx, secret: &str, other: &Class) -> bool {
    if !is_plaintext_password(ctx, secret) {
        return false;
    }
    let Some(other) = other.secret() else {
        return true;
    };
    let typed = |name: &str| {
        split_pieces(name)
            .iter()
            .any(|p| CONFIRMATION_WORDS.contains(&p.as_str()))
    };
    is_plaintext_password(ctx, other) && (typed(secret) || typed(other))
}

fn is_nonce(ctx: &Ctx, name: &str) -> bool {
    ctx.secret_words
        .secret_word(name)
        .is_some_and(|(w, _)| w == ["nonce"])
}

/// Whitespace collapsed and long text shortened, for titles.
fn short(t: &str) -> String {
    let one_line = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 80 {
        let cut: String = one_line.chars().take(77).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

// ---------------------------------------------------------------- Python

struct Py<'a, 'c, 's, 't> {
    ctx: &'a Ctx<'c>,
    src: &'s str,
    root: Node<'t>,
    /// Assignments of the file, indexed on first use.
    assignments: std::cell::OnceCell<python::Assignments<'t>>,
    cx: WordContext,
    /// How this file spells `hmac.compare_digest`, and whether it still
    /// needs `import hmac`.
    compare_fn: &'static str,
    needs_import: bool,
    /// Names bound to modules in FOREIGN_MODULES.
    foreign: HashSet<String>,
}

fn check_python(ctx: &Ctx, root: Node, src: &str, text_path: bool, out: &mut Vec<Diagnostic>) {
    let imports = python::imports(root, src);
    let top = |m: &str| m.split('.').next().unwrap_or_default().to_string();
    // A module that imports pytest or unittest is test code; test
    // assertions and helpers are not authentication decisions.
    if imports
        .iter()
        .any(|(m, _, _)| matches!(top(m).as_str(), "pytest" | "unittest"))
    {
        return;
    }
    let cx = WordContext {
        llm_tokens: text_path
            || imports
                .iter()
                .any(|(m, _, _)| LLM_MODULES.contains(&top(m).as_str())),
        computes_macs: imports
            .iter()
            .any(|(m, name, _)| top(m) == "hmac" || name.eq_ignore_ascii_case("hmac")),
    };
    let foreign = imports
        .iter()
        .filter(|(m, _, _)| FOREIGN_MODULES.contains(&top(m).as_str()))
        .map(|(_, _, bound)| bound.clone())
        .collect();
    let has = |module: &str, name: &str| {
        imports
            .iter()
            .any(|(m, i, b)| m == module && i == name && b == name)
    };
    let (compare_fn, needs_import) = if has("hmac", "hmac") {
        ("hmac.compare_digest", false)
    } else if has("hmac", "compare_digest") || has("secrets", "compare_digest") {
        ("compare_digest", false)
    } else if has("secrets", "secrets") {
        ("secrets.compare_digest", false)
    } else {
        ("hmac.compare_digest", true)
    };
    let py = Py {
        ctx,
        src,
        root,
        assignments: std::cell::OnceCell::new(),
        cx,
        compare_fn,
        needs_import,
        foreign,
    };
    let tests = python::may_have_tests(src);
    let in_tests = |n: Node| tests && python::in_test_function(n, src);
    python::walk(root, &mut |n| match n.kind() {
        "comparison_operator" if !in_assert(n) && !in_tests(n) => py.compare(n, out),
        "call" if !in_tests(n) => {
            py.prefix_check(n, out);
            py.encoded_operands(n, out);
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

impl<'t> Py<'_, '_, '_, 't> {
    fn text(&self, n: Node<'t>) -> &str {
        python::text(n, self.src)
    }

    fn assignment_before(&self, at: Node<'t>, name: &str) -> Option<Node<'t>> {
        self.assignments
            .get_or_init(|| python::Assignments::new(self.root, self.src))
            .before(at, name, self.src)
    }

    /// `{"or", "and", "("}`: a literal collection of short words or
    /// punctuation is a keyword check, not a secret lookup (a hard-coded
    /// credential is longer than this).
    fn is_word_collection(&self, n: Node<'t>) -> bool {
        let n = python::unparen(n);
        if !matches!(n.kind(), "set" | "list" | "tuple") {
            return false;
        }
        let mut c = n.walk();
        let items: Vec<Node> = n.named_children(&mut c).collect();
        !items.is_empty()
            && items.iter().all(|i| {
                python::string_value(*i, self.src).is_some_and(|v| v.chars().count() <= 12)
            })
    }

    fn with_import(&self, code: String) -> String {
        if self.needs_import {
            format!("with `import hmac`: {code}")
        } else {
            code
        }
    }

    fn compare(&self, n: Node<'t>, out: &mut Vec<Diagnostic>) {
        let mut cursor = n.walk();
        let parts: Vec<Node<'t>> = n
            .children(&mut cursor)
            .filter(|c| c.kind() != "comment")
            .collect();
        // operand, operator, operand, operator, operand …
        for w in parts.windows(3).step_by(2) {
            let (a, op, b) = (w[0], self.text(w[1]), w[2]);
            let op = if op == "not" { "not in" } else { op };
            match op {
                "==" | "!=" => self.equality(n, a, op, b, out),
                "in" | "not in" => self.membership(a, op, b, out),
                _ => {}
            }
        }
    }

    fn equality(
        &self,
        cmp: Node<'t>,
        a: Node<'t>,
        op: &str,
        b: Node<'t>,
        out: &mut Vec<Diagnostic>,
    ) {
        if self.is_trivial(a) || self.is_trivial(b) {
            return;
        }
        if self.in_sql_expression(cmp) || self.is_column(a) || self.is_column(b) {
            return;
        }
        let (ca, cb) = (self.classify(a, 0), self.classify(b, 0));
        let Some((secret, other)) = pick_secret(self.ctx, self.cx, &ca, &cb) else {
            return;
        };
        // Two fields of one object (`self.new_password` and
        // `self.confirm_password`, `cleaned_data.get("password")` and
        // `cleaned_data.get("password_confirm")`) come from the same party:
        // there is nobody to leak to.
        if let (Some(x), Some(y)) = (self.base(a), self.base(b)) {
            if x == y && self.text(a) != self.text(b) {
                return;
            }
        }
        if self.is_record_comparison(a, b) {
            return;
        }
        if declared_not_secret(self.ctx, [self.name_and_base(a), self.name_and_base(b)]) {
            return;
        }
        if versions_of_same_value(self.ctx, self.name_and_base(a), self.name_and_base(b)) {
            return;
        }
        if is_password_policy_check(self.ctx, &secret, other) {
            return;
        }
        let call = format!(
            "{}({}, {})",
            self.compare_fn,
            self.encode(a),
            self.encode(b)
        );
        let suggestion = self.with_import(if op == "!=" {
            format!("not {call}")
        } else {
            call
        });
        out.push(Diagnostic::new(
            a.start_byte()..b.end_byte(),
            format!(
                "Non-constant-time comparison of secret `{}`",
                short(&secret)
            ),
            suggestion,
        ));
    }

    fn membership(&self, a: Node<'t>, op: &str, b: Node<'t>, out: &mut Vec<Diagnostic>) {
        if b.kind() == "string" || self.is_trivial(a) || self.is_word_collection(b) {
            return;
        }
        let Class::Secret(secret) = self.classify(a, 0) else {
            return;
        };
        // Nonces are public once sent; `nonce in seen_nonces` is the replay
        // check, not a secret lookup.
        if is_nonce(self.ctx, &secret) {
            return;
        }
        let candidate = if self.is_bytes(a, 0) {
            "candidate"
        } else {
            "candidate.encode(\"utf-8\")"
        };
        let any = format!(
            "any({}({}, {candidate}) for candidate in {})",
            self.compare_fn,
            self.encode(a),
            self.text(b)
        );
        out.push(Diagnostic::new(
            a.start_byte()..b.end_byte(),
            format!(
                "Secret `{}` looked up in a collection with `{op}` (not constant-time)",
                short(&secret)
            ),
            self.with_import(if op == "not in" {
                format!("not {any}")
            } else {
                any
            }),
        ));
    }

    /// `signature.startswith(prefix)` on a secret.
    fn prefix_check(&self, call: Node<'t>, out: &mut Vec<Diagnostic>) {
        let Some((method, Some(recv))) = python::method_and_receiver(call, self.src) else {
            return;
        };
        if !matches!(method, "startswith" | "endswith") {
            return;
        }
        // A literal or constant prefix (`"sha256="`, `LIVE_KEY_PREFIX`) is a
        // format check; the leak is a secret receiver matched against a
        // value the caller controls.
        let Some(arg) = python::positional_args(call).first().copied() else {
            return;
        };
        if self.is_trivial(arg) || self.classify(arg, 0) == Class::NotSecret {
            return;
        }
        if let Class::Secret(secret) = self.classify(recv, 0) {
            out.push(Diagnostic::new(
                call.byte_range(),
                format!(
                    "Secret `{}` checked with `{method}` (not constant-time)",
                    short(&secret)
                ),
                format!(
                    "compare the whole value: {}",
                    self.with_import(format!(
                        "{}({}, {})",
                        self.compare_fn,
                        self.encode(recv),
                        self.encode(arg)
                    ))
                ),
            ));
        }
    }

    /// SOFT: `hmac.compare_digest` on text that is not encoded first raises
    /// on non-ASCII input, which turns a bad signature into a 500.
    fn encoded_operands(&self, call: Node<'t>, out: &mut Vec<Diagnostic>) {
        let Some(name) = python::call_name(call, self.src) else {
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
        if !self.is_bytes(*a, 0) && !self.is_bytes(*b, 0) && (self.is_text(*a) || self.is_text(*b))
        {
            out.push(
                Diagnostic::new(
                    call.byte_range(),
                    "`compare_digest` on text that is not encoded to bytes",
                    format!("{name}({}, {})", self.encode(*a), self.encode(*b)),
                )
                .soft(),
            );
        }
    }

    /// Literals, `None`, lengths, constants that are not secrets:
    /// comparing with these is not a secret check.
    fn is_trivial(&self, n: Node<'t>) -> bool {
        let n = python::unparen(n);
        match n.kind() {
            "string" => !self.is_interpolated(n),
            "concatenated_string"
            | "integer"
            | "float"
            | "none"
            | "true"
            | "false"
            | "list"
            | "tuple"
            | "dictionary"
            | "set" => true,
            "call" => matches!(
                python::call_name(n, self.src).as_deref(),
                Some("len" | "bool" | "type" | "isinstance" | "int")
            ),
            "identifier" | "attribute" => {
                // `SIGTERM`, `signal.SIGINT`, `LIVE_KEY_PREFIX`, `DONE_TOKEN`
                // in LLM code; not `CALLBACK_SECRET` or `settings.SCIM_TOKEN`.
                let name = match n.child_by_field_name("attribute") {
                    Some(attr) => self.text(attr),
                    None => self.text(n),
                };
                name.len() > 1
                    && is_constant_name(name)
                    && !self.ctx.secret_words.is_secret_in(name, self.cx)
            }
            _ => false,
        }
    }

    fn is_interpolated(&self, n: Node<'t>) -> bool {
        let mut c = n.walk();
        let found = n
            .named_children(&mut c)
            .any(|x| x.kind() == "interpolation");
        found
    }

    /// Inside the arguments of `.where(...)`, `.filter(...)`, `and_(...)`:
    /// a SQL expression.
    fn in_sql_expression(&self, n: Node<'t>) -> bool {
        let mut cur = n.parent();
        while let Some(p) = cur {
            match p.kind() {
                "function_definition" | "class_definition" | "module" | "block" => return false,
                "argument_list" => {
                    if let Some(call) = p.parent().filter(|c| c.kind() == "call") {
                        if let Some((method, _)) = python::method_and_receiver(call, self.src) {
                            let last = method.rsplit('.').next().unwrap_or(method);
                            if SQL_BUILDERS.contains(&last) {
                                return true;
                            }
                        }
                    }
                }
                _ => {}
            }
            cur = p.parent();
        }
        false
    }

    /// `DashboardSession.token_digest`: a mapped column of a model class.
    fn is_column(&self, n: Node<'t>) -> bool {
        let n = python::unparen(n);
        if n.kind() != "attribute" {
            return false;
        }
        let (Some(obj), Some(attr)) = (
            n.child_by_field_name("object"),
            n.child_by_field_name("attribute"),
        ) else {
            return false;
        };
        let obj = self.text(obj);
        obj.starts_with(|c: char| c.is_ascii_uppercase())
            && obj.chars().any(|c| c.is_ascii_lowercase())
            && obj.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !is_constant_name(self.text(attr))
    }

    /// The object a value is read from: `self` for `self.x`,
    /// `cleaned_data` for `cleaned_data.get("x")`, `request.POST` for
    /// `request.POST["x"]`.
    fn base(&self, n: Node<'t>) -> Option<String> {
        let n = self.through_views(python::unparen(n));
        match n.kind() {
            "attribute" => Some(self.text(n.child_by_field_name("object")?).to_string()),
            "subscript" => Some(self.text(n.child_by_field_name("value")?).to_string()),
            "call" => match python::method_and_receiver(n, self.src)? {
                ("get" | "pop" | "getlist", Some(recv)) => Some(self.text(recv).to_string()),
                _ => None,
            },
            _ => None,
        }
    }

    /// `self.x == other.x` in a method whose `other` is the same class
    /// (an `__eq__`-style record comparison of two stored rows).
    fn is_record_comparison(&self, a: Node<'t>, b: Node<'t>) -> bool {
        let parts = |n: Node<'t>| -> Option<(String, String)> {
            let n = python::unparen(n);
            (n.kind() == "attribute").then_some(())?;
            Some((
                self.text(n.child_by_field_name("object")?).to_string(),
                self.text(n.child_by_field_name("attribute")?).to_string(),
            ))
        };
        let (Some((oa, fa)), Some((ob, fb))) = (parts(a), parts(b)) else {
            return false;
        };
        if fa != fb {
            return false;
        }
        let other = match (oa.as_str(), ob.as_str()) {
            ("self", o) | (o, "self") => o.to_string(),
            _ => return false,
        };
        let Some(func) = python::enclosing_function(a) else {
            return false;
        };
        let Some(param) = python::parameter(func, &other, self.src) else {
            return false;
        };
        if other == "other" {
            return true;
        }
        let class = {
            let mut cur = func.parent();
            while let Some(c) = cur.filter(|c| c.kind() != "class_definition") {
                cur = c.parent();
            }
            cur.and_then(|c| c.child_by_field_name("name"))
                .map(|n| self.text(n).to_string())
        };
        let annotation = param.child_by_field_name("type").map(|t| {
            self.text(t)
                .trim_matches(|c| c == '"' || c == '\'')
                .to_string()
        });
        class.is_some() && class == annotation
    }

    /// The name an operand is known by and the object it is read from.
    fn name_and_base(&self, n: Node<'t>) -> Option<(String, String)> {
        let n = self.through_views(python::unparen(n));
        match n.kind() {
            "identifier" => Some((self.text(n).to_string(), String::new())),
            "attribute" => {
                let obj = n.child_by_field_name("object")?;
                let obj = match obj.kind() {
                    "attribute" => obj.child_by_field_name("attribute")?,
                    _ => obj,
                };
                Some((
                    self.text(n.child_by_field_name("attribute")?).to_string(),
                    self.text(obj).to_string(),
                ))
            }
            "subscript" => Some((
                python::string_value(n.child_by_field_name("subscript")?, self.src)?,
                String::new(),
            )),
            _ => None,
        }
    }

    /// `x.strip().lower()` → `x`.
    fn through_views(&self, mut n: Node<'t>) -> Node<'t> {
        while n.kind() == "call" {
            match python::method_and_receiver(n, self.src) {
                Some((m, Some(recv))) if is_view_py(m) => n = python::unparen(recv),
                _ => break,
            }
        }
        n
    }

    fn classify(&self, n: Node<'t>, depth: u8) -> Class {
        let n = python::unparen(n);
        match n.kind() {
            "string" => {
                if !self.is_interpolated(n) {
                    return Class::NotSecret;
                }
                let mut c = n.walk();
                let parts: Vec<Node<'t>> = n
                    .named_children(&mut c)
                    .filter(|x| x.kind() == "interpolation")
                    .collect();
                parts
                    .into_iter()
                    .filter_map(|i| i.named_child(0))
                    .map(|e| self.classify(e, depth))
                    .find(|c| c.secret().is_some())
                    .map(|_| Class::Secret(short(self.text(n))))
                    .unwrap_or(Class::Unknown)
            }
            "concatenated_string" => {
                let mut c = n.walk();
                let parts: Vec<Node<'t>> = n.named_children(&mut c).collect();
                parts
                    .into_iter()
                    .map(|p| self.classify(p, depth))
                    .fold(Class::NotSecret, |acc, c| acc.or(|| c))
            }
            "integer" | "float" | "true" | "false" | "none" => Class::NotSecret,
            "identifier" => {
                let name = self.text(n);
                let value = if depth < 2 {
                    self.assignment_before(n, name)
                        .map(|v| self.classify(v, depth + 1))
                } else {
                    None
                };
                local_class(self.ctx, self.cx, name, value)
            }
            "attribute" => {
                let Some(attr) = n.child_by_field_name("attribute") else {
                    return Class::Unknown;
                };
                // `PKCS7Options.DetachedSignature`: an enum member names a
                // kind of secret, it holds none.
                let camel = |t: &str| {
                    t.starts_with(|c: char| c.is_ascii_uppercase())
                        && t.chars().any(|c| c.is_ascii_lowercase())
                        && !t.contains('_')
                };
                if n.child_by_field_name("object")
                    .is_some_and(|o| o.kind() == "identifier" && camel(self.text(o)))
                    && camel(self.text(attr))
                {
                    return Class::NotSecret;
                }
                match name_class(self.ctx, self.cx, self.text(attr)) {
                    Class::Secret(_) => Class::Secret(short(self.text(n))),
                    c => c,
                }
            }
            "subscript" => {
                let Some(key) = n.child_by_field_name("subscript") else {
                    return Class::Unknown;
                };
                match python::string_value(key, self.src) {
                    Some(k) => match self.ctx.secret_words.classify(&k, self.cx) {
                        NameKind::Secret => Class::Secret(k),
                        NameKind::Metadata => Class::NotSecret,
                        NameKind::Plain => Class::Unknown,
                    },
                    None => n
                        .child_by_field_name("value")
                        .map_or(Class::Unknown, |v| self.classify(v, depth)),
                }
            }
            "call" => self.classify_call(n, depth),
            "await" => n
                .named_child(0)
                .map_or(Class::Unknown, |x| self.classify(x, depth)),
            "binary_operator" | "boolean_operator" => {
                let (Some(l), Some(r)) = (
                    n.child_by_field_name("left"),
                    n.child_by_field_name("right"),
                ) else {
                    return Class::Unknown;
                };
                match self.classify(l, depth).or(|| self.classify(r, depth)) {
                    Class::Secret(_) => Class::Secret(short(self.text(n))),
                    c => c,
                }
            }
            "conditional_expression" => {
                let mut c = n.walk();
                let parts: Vec<Node<'t>> = n.named_children(&mut c).collect();
                match parts.first().zip(parts.get(2)) {
                    Some((x, y)) => self.classify(*x, depth).or(|| self.classify(*y, depth)),
                    None => Class::Unknown,
                }
            }
            _ => Class::Unknown,
        }
    }

    fn classify_call(&self, n: Node<'t>, depth: u8) -> Class {
        let Some((method, recv)) = python::method_and_receiver(n, self.src) else {
            return Class::Unknown;
        };
        let dotted = python::call_name(n, self.src).unwrap_or_default();
        let root = dotted.split('.').next().unwrap_or_default();
        let args = python::positional_args(n);
        let whole = || Class::Secret(short(self.text(n)));
        // `inspect.signature(f)`, Celery's `signature("task")`.
        if self.foreign.contains(root) {
            return Class::NotSecret;
        }
        if dotted == "hmac.new" || method == "HMAC" || dotted.ends_with(".HMAC") {
            return whole();
        }
        // An unkeyed hash is an integrity check, unless a secret is hashed
        // (`hashlib.md5(password.encode())`, `sha256(secret + body)`).
        if (root == "hashlib" && !dotted.contains("()"))
            || matches!(
                method,
                "sha1" | "sha224" | "sha256" | "sha384" | "sha512" | "md5" | "blake2b" | "blake2s"
            )
        {
            let keyed = args
                .iter()
                .any(|a| self.classify(*a, depth).secret().is_some());
            return if keyed { whole() } else { Class::NotSecret };
        }
        match method {
            "hexdigest" | "digest" => {
                return match recv.map(|r| self.classify(r, depth)) {
                    Some(Class::Secret(_)) => whole(),
                    Some(Class::NotSecret) => Class::NotSecret,
                    _ => Class::Unknown,
                };
            }
            "get" | "getenv" | "getheader" | "pop" | "getlist" => {
                if let Some(key) = args.first().and_then(|a| self.key_string(*a)) {
                    return match self.ctx.secret_words.classify(&key, self.cx) {
                        NameKind::Secret => Class::Secret(key),
                        NameKind::Metadata => Class::NotSecret,
                        NameKind::Plain => Class::Unknown,
                    };
                }
            }
            "len" | "int" | "bool" | "float" => return Class::NotSecret,
            _ => {}
        }
        if is_view_py(method) || is_encoder_py(method) {
            return match recv {
                Some(r) if !is_encoder_py(method) => self.classify(r, depth),
                _ => args
                    .first()
                    .map_or(Class::Unknown, |a| self.classify(*a, depth)),
            };
        }
        match self.ctx.secret_words.classify(method, self.cx) {
            NameKind::Secret => return whole(),
            NameKind::Metadata => return Class::NotSecret,
            NameKind::Plain => {}
        }
        // `totp.now()`: what a secret object returns is secret (but not the
        // pieces `split()` cuts it into, such as an Authorization scheme).
        if args.is_empty() && !is_splitter(method) {
            if let Some(Class::Secret(_)) = recv.map(|r| self.classify(r, depth)) {
                return whole();
            }
        }
        Class::Unknown
    }

    /// A literal key, or a constant that holds one
    /// (`CSRF_HEADER_NAME = "X-CSRF-Token"`).
    fn key_string(&self, n: Node<'t>) -> Option<String> {
        if let Some(s) = python::string_value(n, self.src) {
            return Some(s);
        }
        if n.kind() == "identifier" && is_constant_name(self.text(n)) {
            let v = self.assignment_before(n, self.text(n))?;
            return python::string_value(v, self.src);
        }
        None
    }

    /// A header or parameter read without a default (`headers.get("x")`),
    /// directly or one step back through an assignment.
    fn may_be_none(&self, n: Node<'t>, depth: u8) -> bool {
        let n = python::unparen(n);
        match n.kind() {
            "call" => match python::method_and_receiver(n, self.src) {
                Some(("get" | "getheader" | "pop", Some(_))) => {
                    python::positional_args(n).len() < 2
                        && python::keyword_arg(n, "default", self.src).is_none()
                }
                _ => false,
            },
            "identifier" if depth < 2 => self
                .assignment_before(n, self.text(n))
                .is_some_and(|v| self.may_be_none(v, depth + 1)),
            _ => false,
        }
    }

    /// Decided from the tree and one step back through assignments:
    /// `b"..."`, `.encode()`, `.digest()`, `bytes(...)`, `base64.b64encode`.
    fn is_bytes(&self, n: Node<'t>, depth: u8) -> bool {
        let n = python::unparen(n);
        match n.kind() {
            "string" => {
                let t = self.text(n);
                let prefix: String = t
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect::<String>()
                    .to_ascii_lowercase();
                prefix.contains('b')
            }
            "concatenated_string" => n.named_child(0).is_some_and(|c| self.is_bytes(c, depth)),
            "binary_operator" => {
                n.child_by_field_name("left")
                    .is_some_and(|c| self.is_bytes(c, depth))
                    || n.child_by_field_name("right")
                        .is_some_and(|c| self.is_bytes(c, depth))
            }
            "call" => {
                let Some((method, _)) = python::method_and_receiver(n, self.src) else {
                    return false;
                };
                let last = method.rsplit('.').next().unwrap_or(method);
                matches!(
                    last,
                    "encode"
                        | "digest"
                        | "bytes"
                        | "bytearray"
                        | "b64encode"
                        | "b64decode"
                        | "urlsafe_b64encode"
                        | "urlsafe_b64decode"
                        | "b16encode"
                        | "b32encode"
                        | "hexlify"
                        | "unhexlify"
                        | "fromhex"
                        | "urandom"
                        | "token_bytes"
                )
            }
            "identifier" if depth < 2 => self
                .assignment_before(n, self.text(n))
                .is_some_and(|v| self.is_bytes(v, depth + 1)),
            "await" => n.named_child(0).is_some_and(|c| self.is_bytes(c, depth)),
            _ => false,
        }
    }

    /// Text that may be non-ASCII: a `str` literal, a `.hexdigest()`, a
    /// request header.
    fn is_text(&self, n: Node<'t>) -> bool {
        let n = python::unparen(n);
        let t = self.text(n);
        if n.kind() == "string" || t.ends_with(".hexdigest()") || t.contains("headers") {
            return true;
        }
        n.kind() == "binary_operator"
            && (n
                .child_by_field_name("left")
                .is_some_and(|c| self.is_text(c))
                || n.child_by_field_name("right")
                    .is_some_and(|c| self.is_text(c)))
    }

    /// The operand as UTF-8 bytes, valid when pasted: bytes stay as they
    /// are, a header read that may be `None` becomes `""`, and anything
    /// that is not a primary expression is parenthesised.
    fn encode(&self, n: Node<'t>) -> String {
        let t = self.text(n).trim().to_string();
        if self.is_bytes(n, 0) {
            return t;
        }
        if self.may_be_none(n, 0) {
            return format!("({t} or \"\").encode(\"utf-8\")");
        }
        let primary = matches!(
            n.kind(),
            "identifier" | "attribute" | "call" | "subscript" | "parenthesized_expression"
        ) || (n.kind() == "string" && !t.contains('\n'));
        if primary {
            format!("{t}.encode(\"utf-8\")")
        } else {
            format!("({t}).encode(\"utf-8\")")
        }
    }
}

fn is_splitter(m: &str) -> bool {
    matches!(
        m,
        "split"
            | "rsplit"
            | "partition"
            | "rpartition"
            | "splitlines"
            | "items"
            | "keys"
            | "values"
    )
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
            | "removeprefix"
            | "removesuffix"
    )
}

/// Functions whose result is their argument in another representation.
fn is_encoder_py(m: &str) -> bool {
    let last = m.rsplit('.').next().unwrap_or(m);
    matches!(
        last,
        "b64encode" | "urlsafe_b64encode" | "b16encode" | "b32encode" | "hexlify" | "str" | "bytes"
    )
}

// ---------------------------------------------------------------- Rust

type Bindings<'ast> = Vec<(String, proc_macro2::LineColumn, rust::Bound<'ast>)>;

struct Rs<'a, 'c, 'ast> {
    ctx: &'a Ctx<'c>,
    file: &'a ParsedFile,
    out: &'a mut Vec<Diagnostic>,
    cx: WordContext,
    /// Enums defined in the file: values of these types are not strings.
    enums: HashSet<String>,
    scopes: Vec<Bindings<'ast>>,
}

fn check_rust(ctx: &Ctx, f: &syn::File, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    use syn::visit::Visit;
    struct Enums(HashSet<String>);
    impl<'ast> Visit<'ast> for Enums {
        fn visit_item_enum(&mut self, e: &'ast syn::ItemEnum) {
            self.0.insert(e.ident.to_string());
        }
    }
    let mut enums = Enums(HashSet::new());
    enums.visit_file(f);
    let text = file.text().to_ascii_lowercase();
    let llm = f.items.iter().any(|i| match i {
        syn::Item::Use(u) => use_root(&u.tree).is_some_and(|r| LLM_CRATES.contains(&r.as_str())),
        _ => false,
    });
    let cx = WordContext {
        llm_tokens: llm,
        computes_macs: text.contains("hmac"),
    };
    let mut v = Rs {
        ctx,
        file,
        out,
        cx,
        enums: enums.0,
        scopes: Vec::new(),
    };
    v.visit_file(f);
}

fn use_root(t: &syn::UseTree) -> Option<String> {
    match t {
        syn::UseTree::Path(p) => Some(p.ident.to_string()),
        syn::UseTree::Name(n) => Some(n.ident.to_string()),
        syn::UseTree::Rename(r) => Some(r.ident.to_string()),
        _ => None,
    }
}

impl<'ast> syn::visit::Visit<'ast> for Rs<'_, '_, 'ast> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !rust::is_test_attr(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if rust::is_test_attr(&f.attrs) {
            return;
        }
        self.scopes.push(rust::bindings(&f.sig, &f.block));
        syn::visit::visit_item_fn(self, f);
        self.scopes.pop();
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if rust::is_test_attr(&f.attrs) {
            return;
        }
        self.scopes.push(rust::bindings(&f.sig, &f.block));
        syn::visit::visit_impl_item_fn(self, f);
        self.scopes.pop();
    }
    fn visit_expr_binary(&mut self, e: &'ast syn::ExprBinary) {
        if matches!(e.op, syn::BinOp::Eq(_) | syn::BinOp::Ne(_)) {
            self.equality(e);
        }
        syn::visit::visit_expr_binary(self, e);
    }
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if m.method == "contains" && m.args.len() == 1 {
            self.contains(m);
        }
        syn::visit::visit_expr_method_call(self, m);
    }
}

impl<'ast> Rs<'_, '_, 'ast> {
    fn text(&self, e: &impl Spanned) -> String {
        let r = rust::span_range(e.span(), &self.file.src);
        self.file.text().get(r).unwrap_or("").to_string()
    }

    fn equality(&mut self, e: &syn::ExprBinary) {
        if self.is_trivial(&e.left) || self.is_trivial(&e.right) {
            return;
        }
        let (ca, cb) = (self.classify(&e.left, 0), self.classify(&e.right, 0));
        let Some((secret, other)) = pick_secret(self.ctx, self.cx, &ca, &cb) else {
            return;
        };
        if versions_of_same_value(
            self.ctx,
            self.name_and_base(&e.left),
            self.name_and_base(&e.right),
        ) {
            return;
        }
        if declared_not_secret(
            self.ctx,
            [self.name_and_base(&e.left), self.name_and_base(&e.right)],
        ) {
            return;
        }
        if let (Some(x), Some(y)) = (self.base(&e.left), self.base(&e.right)) {
            if x == y && self.text(&*e.left) != self.text(&*e.right) {
                return;
            }
        }
        if is_password_policy_check(self.ctx, &secret, other) {
            return;
        }
        let not = if matches!(e.op, syn::BinOp::Ne(_)) {
            "!"
        } else {
            ""
        };
        let suggestion = match (some_inner(&e.left), some_inner(&e.right)) {
            (None, Some(inner)) => self.option_eq(&e.left, inner, not),
            (Some(inner), None) => self.option_eq(&e.right, inner, not),
            _ => format!(
                "{not}constant_time_eq::constant_time_eq({}, {})",
                self.bytes(&e.left),
                self.bytes(&e.right)
            ),
        };
        self.out.push(Diagnostic::new(
            rust::span_range(e.span(), &self.file.src),
            format!(
                "Non-constant-time comparison of secret `{}`",
                short(&secret)
            ),
            suggestion,
        ));
    }

    /// `opt != Some(secret)`: compare inside the option, `None` is unequal.
    fn option_eq(&self, opt: &syn::Expr, inner: &syn::Expr, not: &str) -> String {
        format!(
            "{not}{}.as_deref().is_some_and(|v| constant_time_eq::constant_time_eq(v.as_bytes(), {}))",
            self.text(opt),
            self.bytes(inner)
        )
    }

    /// `keys.contains(&key)`: membership of a secret in a collection.
    fn contains(&mut self, m: &syn::ExprMethodCall) {
        let arg = &m.args[0];
        if self.is_trivial(arg) {
            return;
        }
        let arg_class = self.classify(arg, 0);
        let secret = match arg_class.secret() {
            Some(s) if is_nonce(self.ctx, s) => return,
            Some(s) => s.to_string(),
            None => match self.classify(&m.receiver, 0) {
                Class::Secret(s) if arg_class != Class::NotSecret => s,
                _ => return,
            },
        };
        let suggestion = format!(
            "{}.iter().any(|candidate| constant_time_eq::constant_time_eq(candidate.as_bytes(), {}))",
            self.text(&*m.receiver),
            self.bytes(arg)
        );
        self.out.push(Diagnostic::new(
            rust::span_range(m.span(), &self.file.src),
            format!(
                "Secret `{}` looked up with `contains` (not constant-time)",
                short(&secret)
            ),
            suggestion,
        ));
    }

    /// The operand as `&[u8]`, valid when pasted: `*`/`&` stripped before
    /// `.as_bytes()`, byte buffers borrowed, compound expressions
    /// parenthesised.
    fn bytes(&self, e: &syn::Expr) -> String {
        let mut inner = rust::peel(e);
        while let syn::Expr::MethodCall(m) = inner {
            if m.args.is_empty()
                && matches!(
                    m.method.to_string().as_str(),
                    "as_str" | "to_string" | "to_owned" | "clone" | "as_ref"
                )
            {
                inner = rust::peel(&m.receiver);
            } else {
                break;
            }
        }
        let t = self.text(inner);
        if t.ends_with(".as_bytes()") || t.starts_with("b\"") {
            return t;
        }
        if t.ends_with("into_bytes()") || t.ends_with(".to_vec()") || t.ends_with("finalize()") {
            return format!("&{t}");
        }
        match inner {
            syn::Expr::Binary(_)
            | syn::Expr::Cast(_)
            | syn::Expr::Unary(_)
            | syn::Expr::Range(_)
            | syn::Expr::If(_)
            | syn::Expr::Match(_) => format!("({t}).as_bytes()"),
            _ => format!("{t}.as_bytes()"),
        }
    }

    fn lookup(&self, name: &str, at: proc_macro2::LineColumn) -> Option<rust::Bound<'ast>> {
        let scope = self.scopes.last()?;
        scope
            .iter()
            .rev()
            .find(|(n, pos, _)| n == name && (pos.line, pos.column) < (at.line, at.column))
            .map(|(_, _, b)| *b)
    }

    fn is_trivial(&self, e: &syn::Expr) -> bool {
        match e {
            syn::Expr::Lit(_) => true,
            syn::Expr::Reference(r) => self.is_trivial(&r.expr),
            syn::Expr::Paren(p) => self.is_trivial(&p.expr),
            syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => self.is_trivial(&u.expr),
            syn::Expr::Path(p) => {
                let segs: Vec<String> = p
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect();
                let last = segs.last().cloned().unwrap_or_default();
                if p.path.is_ident("None") {
                    return true;
                }
                // `SIGTERM`, `EOS_TOKEN`, but not `ADMIN_TOKEN`.
                if last.len() > 1
                    && is_constant_name(&last)
                    && !self.ctx.secret_words.is_secret_in(&last, self.cx)
                {
                    return true;
                }
                // `Token::Eof`, `Signal::Drain`: an enum variant.
                if segs.len() >= 2
                    && last.starts_with(|c: char| c.is_ascii_uppercase())
                    && last.chars().any(|c| c.is_ascii_lowercase())
                {
                    return true;
                }
                // A value whose type is an enum of this file or a number.
                if segs.len() == 1 {
                    if let Some(rust::Bound::Type(ty)) = self.lookup(&last, p.span().start()) {
                        return self.is_non_text_type(ty);
                    }
                }
                false
            }
            syn::Expr::Call(c) => {
                matches!(&*c.func, syn::Expr::Path(p) if p.path.is_ident("Some") || p.path.is_ident("Ok"))
                    && c.args.len() == 1
                    && self.is_trivial(&c.args[0])
            }
            syn::Expr::MethodCall(m) => matches!(
                m.method.to_string().as_str(),
                "len" | "is_empty" | "is_some" | "is_none" | "count" | "chars"
            ),
            syn::Expr::Macro(m) => m.mac.path.is_ident("vec") && m.mac.tokens.is_empty(),
            _ => false,
        }
    }

    fn is_non_text_type(&self, ty: &syn::Type) -> bool {
        match ty {
            syn::Type::Reference(r) => self.is_non_text_type(&r.elem),
            syn::Type::Path(p) => p.path.segments.last().is_some_and(|s| {
                let id = s.ident.to_string();
                self.enums.contains(&id)
                    || matches!(
                        id.as_str(),
                        "i8" | "i16"
                            | "i32"
                            | "i64"
                            | "i128"
                            | "isize"
                            | "u8"
                            | "u16"
                            | "u32"
                            | "u64"
                            | "u128"
                            | "usize"
                            | "bool"
                            | "char"
                            | "f32"
                            | "f64"
                    )
            }),
            _ => false,
        }
    }

    /// The name an operand is known by and the object it is read from.
    fn name_and_base(&self, e: &syn::Expr) -> Option<(String, String)> {
        let e = self.through_views(e);
        match e {
            syn::Expr::Path(p) if p.path.segments.len() == 1 => {
                Some((p.path.segments[0].ident.to_string(), String::new()))
            }
            syn::Expr::Field(f) => match &f.member {
                syn::Member::Named(i) => {
                    let base = match rust::peel(&f.base) {
                        syn::Expr::Field(b) => match &b.member {
                            syn::Member::Named(bi) => bi.to_string(),
                            _ => String::new(),
                        },
                        other => rust::expr_name(other).unwrap_or_default(),
                    };
                    Some((i.to_string(), base))
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// `self` for `self.a`; two fields of one object come from one party.
    fn base(&self, e: &syn::Expr) -> Option<String> {
        match self.through_views(e) {
            syn::Expr::Field(f) => Some(self.text(&*f.base)),
            _ => None,
        }
    }

    /// `Some(x.as_str())`, `&*x`, `x.trim()` → `x`.
    fn through_views<'e>(&self, mut e: &'e syn::Expr) -> &'e syn::Expr {
        loop {
            e = rust::peel(e);
            match e {
                syn::Expr::MethodCall(m) if is_view_rs(&m.method.to_string()) => e = &m.receiver,
                syn::Expr::Call(_) => match some_inner(e) {
                    Some(inner) => e = inner,
                    None => return e,
                },
                _ => return e,
            }
        }
    }

    fn classify(&self, e: &syn::Expr, depth: u8) -> Class {
        use syn::Expr;
        let whole = || Class::Secret(short(&self.text(e)));
        match e {
            Expr::Lit(_) => Class::NotSecret,
            Expr::Reference(r) => self.classify(&r.expr, depth),
            Expr::Paren(p) => self.classify(&p.expr, depth),
            Expr::Group(g) => self.classify(&g.expr, depth),
            Expr::Try(t) => self.classify(&t.expr, depth),
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => self.classify(&u.expr, depth),
            Expr::Index(i) => self.classify(&i.expr, depth),
            Expr::Binary(b) if matches!(b.op, syn::BinOp::Add(_)) => self
                .classify(&b.left, depth)
                .or(|| self.classify(&b.right, depth)),
            Expr::Path(p) => {
                let last = p
                    .path
                    .segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default();
                if p.path.segments.len() > 1 || is_constant_name(&last) {
                    return name_class(self.ctx, self.cx, &last);
                }
                let value = if depth < 2 {
                    match self.lookup(&last, p.span().start()) {
                        Some(rust::Bound::Init(init)) => Some(self.classify(init, depth + 1)),
                        Some(rust::Bound::Element(coll)) => Some(self.classify(coll, depth + 1)),
                        Some(rust::Bound::Type(ty)) if self.is_non_text_type(ty) => {
                            Some(Class::NotSecret)
                        }
                        _ => None,
                    }
                } else {
                    None
                };
                local_class(self.ctx, self.cx, &last, value)
            }
            Expr::Field(f) => match &f.member {
                syn::Member::Named(i) => match name_class(self.ctx, self.cx, &i.to_string()) {
                    Class::Secret(_) => whole(),
                    c => c,
                },
                syn::Member::Unnamed(_) => self.classify(&f.base, depth),
            },
            Expr::Macro(m) => self.classify_format(m, depth),
            Expr::Call(c) => self.classify_call(e, c, depth),
            Expr::MethodCall(m) => self.classify_method(e, m, depth),
            _ => Class::Unknown,
        }
    }

    fn classify_call(&self, e: &syn::Expr, c: &syn::ExprCall, depth: u8) -> Class {
        let syn::Expr::Path(p) = &*c.func else {
            return Class::Unknown;
        };
        let segs: Vec<String> = p
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let last = segs.last().cloned().unwrap_or_default();
        let first_arg = || {
            c.args
                .first()
                .map_or(Class::Unknown, |a| self.classify(a, depth))
        };
        if let Some(inner) = some_inner(e) {
            return self.classify(inner, depth);
        }
        let ty = if segs.len() > 1 {
            segs[segs.len() - 2].to_ascii_lowercase()
        } else {
            String::new()
        };
        // `HmacSha256::new_from_slice(key)` is keyed; `Sha256::digest(body)`
        // is a content hash unless a secret is hashed.
        if ty.contains("hmac") || ty == "mac" {
            return Class::Secret(short(&self.text(e)));
        }
        if ty.starts_with("sha") || ty.starts_with("md5") || ty.starts_with("blake") {
            let keyed = c
                .args
                .iter()
                .any(|a| self.classify(a, depth).secret().is_some());
            return if keyed {
                Class::Secret(short(&self.text(e)))
            } else {
                Class::NotSecret
            };
        }
        if matches!(
            last.as_str(),
            "encode" | "encode_upper" | "from_utf8" | "from_utf8_lossy"
        ) {
            return first_arg();
        }
        match self.ctx.secret_words.classify(&last, self.cx) {
            NameKind::Secret => Class::Secret(short(&self.text(e))),
            NameKind::Metadata => Class::NotSecret,
            NameKind::Plain => Class::Unknown,
        }
    }

    fn classify_method(&self, e: &syn::Expr, m: &syn::ExprMethodCall, depth: u8) -> Class {
        let method = m.method.to_string();
        let recv = || self.classify(&m.receiver, depth);
        if is_view_rs(&method) {
            return recv();
        }
        match method.as_str() {
            // `headers.get("x-signature")`, `headers.get(header::AUTHORIZATION)`.
            "get" if m.args.len() == 1 => {
                let key = match rust::peel(&m.args[0]) {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }) => Some(s.value()),
                    syn::Expr::Path(p) if p.path.segments.len() > 1 => {
                        p.path.segments.last().map(|s| s.ident.to_string())
                    }
                    _ => None,
                };
                if let Some(k) = key {
                    return match self.ctx.secret_words.classify(&k, self.cx) {
                        NameKind::Secret => Class::Secret(k),
                        NameKind::Metadata => Class::NotSecret,
                        NameKind::Plain => Class::Unknown,
                    };
                }
                return Class::Unknown;
            }
            // What a MAC object produces is secret; a plain hasher's is not.
            "finalize" | "finalize_reset" | "sign" | "hexdigest" | "digest" => {
                return match recv() {
                    Class::NotSecret => Class::NotSecret,
                    _ => Class::Secret(short(&self.text(e))),
                };
            }
            "len" | "count" => return Class::NotSecret,
            _ => {}
        }
        match self.ctx.secret_words.classify(&method, self.cx) {
            NameKind::Secret => return Class::Secret(short(&self.text(e))),
            NameKind::Metadata => return Class::NotSecret,
            NameKind::Plain => {}
        }
        if m.args.is_empty() {
            if let Class::Secret(_) = recv() {
                return Class::Secret(short(&self.text(e)));
            }
        }
        Class::Unknown
    }

    /// `format!("Bearer {}", state.cfg.internal_token)`: secret when any
    /// argument (or inline `{name}`) is.
    fn classify_format(&self, m: &syn::ExprMacro, depth: u8) -> Class {
        let name = m
            .mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        if !matches!(name.as_str(), "format" | "format_args" | "concat") {
            return Class::Unknown;
        }
        let Ok(args) = m.mac.parse_body_with(
            syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
        ) else {
            return Class::Unknown;
        };
        let mut class = Class::NotSecret;
        for (i, a) in args.iter().enumerate() {
            let a = match a {
                syn::Expr::Assign(x) => &*x.right,
                other => other,
            };
            let c = if i == 0 {
                // Inline captures: `format!("Bearer {token}")`.
                match a {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }) => inline_captures(&s.value())
                        .iter()
                        .map(|n| local_class(self.ctx, self.cx, n, None))
                        .fold(Class::NotSecret, |acc, c| acc.or(|| c)),
                    _ => Class::Unknown,
                }
            } else {
                self.classify(a, depth)
            };
            class = class.or(|| c);
            if class.secret().is_some() {
                return Class::Secret(short(&self.text(m)));
            }
        }
        class
    }
}

/// `{name}` and `{name:?}` captures in a format string.
fn inline_captures(fmt: &str) -> Vec<String> {
    use crate::lang::template::{pieces, Piece};
    pieces(fmt)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Hole(h) => Some(h.split(':').next().unwrap_or("").to_string()),
            Piece::Lit(_) => None,
        })
        .filter(|name| {
            !name.is_empty()
                && name.chars().all(|c| c.is_alphanumeric() || c == '_')
                && !name.chars().all(|c| c.is_ascii_digit())
        })
        .collect()
}

/// `Some(x)` / `Ok(x)` → `x`.
fn some_inner(e: &syn::Expr) -> Option<&syn::Expr> {
    match rust::peel(e) {
        syn::Expr::Call(c) if c.args.len() == 1 => match &*c.func {
            syn::Expr::Path(p) if p.path.is_ident("Some") || p.path.is_ident("Ok") => {
                Some(&c.args[0])
            }
            _ => None,
        },
        _ => None,
    }
}

/// Methods that only change a value's representation or unwrap it.
fn is_view_rs(m: &str) -> bool {
    rust::is_view_method(m)
        || matches!(
            m,
            "to_lowercase"
                | "to_uppercase"
                | "to_ascii_lowercase"
                | "to_ascii_uppercase"
                | "trim_start"
                | "trim_end"
                | "strip_prefix"
                | "strip_suffix"
                | "and_then"
                | "map"
                | "ok"
                | "ok_or"
                | "ok_or_else"
                | "map_err"
                | "unwrap_or"
                | "unwrap_or_else"
                | "as_deref"
                | "cloned"
                | "copied"
                | "as_slice"
        )
}
