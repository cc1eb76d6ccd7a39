//! TL020 tenant-context-leak: tenant context that outlives its request —
//! a Postgres tenant setting scoped to the session of a pooled connection,
//! a tenant `ContextVar` set without a `reset` in `finally`, or a
//! module-level cache written under a key without the tenant.

use super::keys::{name_has, Key, Markers, PyFile, PyKeys};
use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::lang::sql_tokens::{self, Tok, Token};
use crate::lang::{python, Language, ParsedFile, Syntax};
use tree_sitter::Node;

pub static RULE: RuleMeta = RuleMeta {
    id: "TL020",
    name: "tenant-context-leak",
    severity: Severity::Hard,
    languages: &[Language::Sql, Language::Python, Language::Rust],
    summary: "Tenant settings are transaction-scoped, never session-scoped",
    doc: include_str!("../../rules/TL020-tenant-context-leak.md"),
    triggers: |c| {
        let p = &c.tenant.setting_prefix;
        vec![
            "set_config".into(),
            format!("set {p}"),
            format!("set session {p}"),
            "contextvar".into(),
            "cache".into(),
            "memo".into(),
        ]
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
        Syntax::Python(tree) => {
            context_vars(ctx, tree.root_node(), file.text(), out);
            module_caches(ctx, tree.root_node(), file.text(), out);
        }
        Syntax::Rust(f) => rust::module_caches(ctx, f, file, out),
        Syntax::Sql(_) => {}
    }
    let prefix = ctx.config.tenant.setting_prefix.to_ascii_lowercase();
    for site in file.sql_sites().iter().filter(|s| !s.reverting) {
        let sql = site.sql();
        let toks = sql_tokens::tokenize(sql);
        if let Some(name) = session_set(&toks, &prefix) {
            out.push(Diagnostic::new(
                site.host(),
                format!(
                    "`SET {name}` keeps the tenant for the whole session of a pooled connection"
                ),
                format!("SET LOCAL {name} = … inside the request's transaction"),
            ));
        }
        for (name, at) in set_config_session(&toks, &prefix) {
            let r = toks[at].range.clone();
            out.push(Diagnostic::new(
                site.host_range(r.start..toks.last().map_or(r.end, |t| t.range.end)),
                format!("`set_config('{name}', …, false)` keeps the tenant for the whole session of a pooled connection"),
                format!("set_config('{name}', …, true) inside the request's transaction"),
            ));
        }
    }
}

/// `SET [SESSION] app.x = …` (not `SET LOCAL`), written with single
/// spaces as the pre-filter's trigger words expect.
fn session_set(toks: &[Token], prefix: &str) -> Option<String> {
    if !toks.first()?.is("set") {
        return None;
    }
    let gap = |a: &Token, b: &Token| b.range.start == a.range.end + 1;
    let mut i = 1;
    if toks.get(i)?.is("local") {
        return None;
    }
    if toks.get(i)?.is("session") {
        if !gap(&toks[i - 1], &toks[i]) {
            return None;
        }
        i += 1;
    }
    if !gap(&toks[i - 1], toks.get(i)?) {
        return None;
    }
    let mut name = String::new();
    while let Some(t) = toks.get(i) {
        match &t.tok {
            Tok::Word(w) if !t.is("to") => name.push_str(w),
            Tok::Ident(w) => name.push_str(w),
            Tok::Punct('.') => name.push('.'),
            _ => break,
        }
        i += 1;
    }
    name.to_ascii_lowercase()
        .starts_with(prefix)
        .then_some(name)
}

/// `set_config('app.x', v, false)`: (setting, index of `set_config`).
fn set_config_session(toks: &[Token], prefix: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for i in 0..toks.len() {
        if !toks[i].is("set_config") || !toks.get(i + 1).is_some_and(|t| t.is_punct('(')) {
            continue;
        }
        let Some(close) = sql_tokens::matching_paren(toks, i + 1) else {
            continue;
        };
        let Some(Tok::Str(name)) = toks.get(i + 2).map(|t| &t.tok) else {
            continue;
        };
        if !name.to_ascii_lowercase().starts_with(prefix) {
            continue;
        }
        if close >= 1 && toks[close - 1].is("false") {
            out.push((name.clone(), i));
        }
    }
    out
}

/// (left, right) of every module-level assignment.
fn module_assignments(root: Node) -> Vec<(Node, Node)> {
    let mut c = root.walk();
    let stmts: Vec<Node> = root.named_children(&mut c).collect();
    stmts
        .into_iter()
        .filter(|s| s.kind() == "expression_statement")
        .filter_map(|s| s.named_child(0))
        .filter(|a| a.kind() == "assignment")
        .filter_map(|a| {
            Some((
                a.child_by_field_name("left")?,
                a.child_by_field_name("right")?,
            ))
        })
        .collect()
}

/// Module-level `ContextVar`s whose name marks a tenant.
fn tenant_context_vars(ctx: &Ctx, root: Node, src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (left, right) in module_assignments(root) {
        let is_var = right.kind() == "call"
            && python::call_name(right, src)
                .is_some_and(|n| n == "ContextVar" || n.ends_with(".ContextVar"));
        let name = python::text(left, src);
        if is_var && left.kind() == "identifier" && is_tenant_name(ctx, name) {
            out.push(name.to_string());
        }
    }
    out
}

fn is_tenant_name(ctx: &Ctx, name: &str) -> bool {
    let pieces = super::names::split_pieces(name);
    pieces.iter().any(|p| {
        matches!(
            p.as_str(),
            "tenant" | "org" | "organization" | "workspace" | "account" | "customer" | "team"
        )
    }) || ctx
        .config
        .tenant
        .columns
        .iter()
        .any(|c| name.contains(c.as_str()))
}

/// `current_org.set(x)` whose token is not `reset` in a `finally` of the
/// same function.
fn context_vars(ctx: &Ctx, root: Node, src: &str, out: &mut Vec<Diagnostic>) {
    let vars = tenant_context_vars(ctx, root, src);
    if vars.is_empty() {
        return;
    }
    python::walk(root, &mut |n| {
        if n.kind() != "call" {
            return;
        }
        let Some(name) = python::call_name(n, src) else {
            return;
        };
        let Some(var) = name
            .strip_suffix(".set")
            .filter(|v| vars.iter().any(|x| x == v))
        else {
            return;
        };
        let Some(func) = python::enclosing_function(n) else {
            return;
        };
        let token = n
            .parent()
            .filter(|p| p.kind() == "assignment")
            .and_then(|p| p.child_by_field_name("left"))
            .map(|l| python::text(l, src).to_string());
        let reset_in_finally = token.as_ref().is_some_and(|t| {
            let needle = format!("{var}.reset({t})");
            let mut found = false;
            python::walk(func, &mut |m| {
                if m.kind() == "finally_clause"
                    && python::text(m, src).replace(' ', "").contains(&needle)
                {
                    found = true;
                }
            });
            found
        });
        if reset_in_finally {
            return;
        }
        let arg = python::positional_args(n)
            .first()
            .map(|a| python::text(*a, src).to_string())
            .unwrap_or_else(|| "value".into());
        out.push(Diagnostic::new(
            n.byte_range(),
            format!("Tenant context `{var}` is set without a `reset` in `finally`: the next task on this worker inherits it"),
            format!("token = {var}.set({arg}); then try: … finally: {var}.reset(token)"),
        ));
    });
}

/// Name pieces of a cache.
const CACHE_WORDS: &[&str] = &["cache", "cached", "caches", "memo", "memos", "memoized"];

/// Name pieces of caches of process-wide data: settings, signing keys,
/// compiled patterns, templates.
const GLOBAL_WORDS: &[&str] = &[
    "settings",
    "setting",
    "config",
    "conf",
    "jwks",
    "jwk",
    "kid",
    "keyset",
    "regex",
    "regexes",
    "re",
    "pattern",
    "patterns",
    "compiled",
    "schema",
    "schemas",
    "template",
    "templates",
    "translation",
    "translations",
    "i18n",
    "locale",
    "locales",
    "tokenizer",
    "tokenizers",
    "model",
    "models",
    "encoder",
    "encoders",
    "client",
    "clients",
    "engine",
    "engines",
];

/// Module-level caches: `_cache = {}`, `_CACHE: dict[str, X] = {}`,
/// `TTLCache(...)`, `defaultdict(...)`, `OrderedDict()`, `LRUCache(...)`.
fn module_cache_names(root: Node, src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (left, right) in module_assignments(root) {
        if left.kind() != "identifier" {
            continue;
        }
        let name = python::text(left, src);
        let cache_type = right.kind() == "call"
            && python::call_name(right, src).is_some_and(|n| {
                let last = n.rsplit('.').next().unwrap_or(&n);
                matches!(
                    last,
                    "TTLCache" | "LRUCache" | "LFUCache" | "TLRUCache" | "MRUCache"
                )
            });
        let mutable = right.kind() == "dictionary"
            || right.kind() == "call"
                && python::call_name(right, src).is_some_and(|n| {
                    let last = n.rsplit('.').next().unwrap_or(&n);
                    matches!(
                        last,
                        "dict" | "defaultdict" | "OrderedDict" | "WeakValueDictionary"
                    )
                });
        if (cache_type || mutable && name_has(name, CACHE_WORDS)) && !name_has(name, GLOBAL_WORDS) {
            out.push(name.to_string());
        }
    }
    out
}

/// Writes to module-level caches inside functions whose key has no tenant
/// component, and `lru_cache`d functions that read the tenant from
/// context instead of taking it as an argument.
fn module_caches(ctx: &Ctx, root: Node, src: &str, out: &mut Vec<Diagnostic>) {
    let lower = src.to_ascii_lowercase();
    if !lower.contains("cache") && !lower.contains("memo") {
        return;
    }
    let names = module_cache_names(root, src);
    let pf = PyFile::new(root, src);
    let markers = Markers::new(&ctx.config.tenant.columns, &ctx.config.redis.tenant_markers);
    let keys = PyKeys {
        file: &pf,
        markers: &markers,
        helpers: &ctx.config.redis.key_helpers,
    };
    python::walk(root, &mut |n| {
        let (cache, key) = match n.kind() {
            "assignment" => {
                let Some(l) = n
                    .child_by_field_name("left")
                    .filter(|l| l.kind() == "subscript")
                else {
                    return;
                };
                match (
                    l.child_by_field_name("value"),
                    l.child_by_field_name("subscript"),
                ) {
                    (Some(v), Some(k)) => (v, k),
                    _ => return,
                }
            }
            "call" => {
                let Some(f) = n
                    .child_by_field_name("function")
                    .filter(|f| f.kind() == "attribute")
                else {
                    return;
                };
                let m = f
                    .child_by_field_name("attribute")
                    .map(|a| python::text(a, src));
                let (Some(v), Some(k)) = (
                    f.child_by_field_name("object"),
                    python::positional_args(n).first().copied(),
                ) else {
                    return;
                };
                if m != Some("setdefault") {
                    return;
                }
                (v, k)
            }
            "function_definition" => {
                cached_function(&keys, n, src, out);
                return;
            }
            _ => return,
        };
        let cache_name = python::text(cache, src);
        if cache.kind() != "identifier" || !names.iter().any(|c| c == cache_name) {
            return;
        }
        if python::enclosing_function(n).is_none() || python::in_test_function(n, src) {
            return;
        }
        // a local of the same name shadows the module cache
        if let Some(b) = pf.resolve(cache_name, n) {
            if python::enclosing_function(n).is_some() && b.param {
                return;
            }
        }
        if has_tenant(&keys, key, 0) {
            return;
        }
        let key_text = python::text(key, src);
        if name_has(key_text, GLOBAL_WORDS) {
            return;
        }
        // Only a function that knows the tenant can cache one tenant's
        // data; a parser's or a registry's cache holds none.
        let Some(tenant) = keys.tenant_in_scope(n) else {
            return;
        };
        out.push(Diagnostic::new(
            n.byte_range(),
            format!("Module-level cache `{cache_name}` is written under key `{key_text}`, which has no tenant component: one org's entry is served to every org in this process"),
            format!("key it by the tenant: `{cache_name}[({tenant}, {key_text})]`"),
        ));
    });
}

/// Whether a cache key carries the tenant: an f-string or tuple with a
/// tenant part, a key built by a local helper from a tenant, or a local
/// assigned from one of those.
fn has_tenant<'a>(keys: &PyKeys<'a>, key: Node<'a>, depth: u8) -> bool {
    if depth > 4 {
        return false;
    }
    let tenant_key = match keys.key(key) {
        Key::Shape(s) | Key::Built { shape: s, .. } => s.tenant().is_some(),
        Key::Call { tenant_arg, .. } => tenant_arg,
        Key::Helper => true,
        Key::Unknown => false,
    };
    if tenant_key || keys.flavor(key).is_some() {
        return true;
    }
    let k = super::keys::py_peel(key);
    if k.kind() == "identifier" {
        if let Some(v) = keys
            .file
            .resolve(python::text(k, keys.file.src), k)
            .filter(|b| !b.param)
            .and_then(|b| b.value)
        {
            return has_tenant(keys, v, depth + 1);
        }
    }
    false
}

/// `@lru_cache` / `@cache` / `@cached(...)` on a function that reads the
/// tenant from context (`current_org.get()`, `request.state.org_id`) but
/// takes no tenant argument.
fn cached_function(keys: &PyKeys, f: Node, src: &str, out: &mut Vec<Diagnostic>) {
    let Some(deco) = f.parent().filter(|p| p.kind() == "decorated_definition") else {
        return;
    };
    let mut c = deco.walk();
    let cached = deco
        .named_children(&mut c)
        .filter(|d| d.kind() == "decorator")
        .find_map(|d| {
            let t = python::text(d, src).trim_start_matches('@');
            let head = t.split('(').next().unwrap_or(t).trim();
            let last = head.rsplit('.').next().unwrap_or(head);
            matches!(
                last,
                "lru_cache" | "cache" | "cached" | "ttl_cache" | "alru_cache"
            )
            .then(|| head.to_string())
        });
    let Some(deco_name) = cached else { return };
    if python::in_test_function(f, src) {
        return;
    }
    if keys
        .file
        .params_of(f.child_by_field_name("body").unwrap_or(f))
        .iter()
        .any(|b| keys.markers.is_marker(b.target))
    {
        return;
    }
    let Some(body) = f.child_by_field_name("body") else {
        return;
    };
    let mut found: Option<String> = None;
    python::walk(body, &mut |n| {
        if found.is_some() || !matches!(n.kind(), "identifier" | "attribute") {
            return;
        }
        if n.parent().is_some_and(|p| {
            (p.kind() == "attribute" && p.child_by_field_name("object") == Some(n))
                || (n.kind() == "identifier"
                    && p.kind() == "call"
                    && p.child_by_field_name("function") == Some(n))
        }) {
            return;
        }
        if keys.flavor(n).is_some() {
            let shown = n
                .parent()
                .filter(|p| p.kind() == "call" && p.child_by_field_name("function") == Some(n))
                .unwrap_or(n);
            found = Some(python::text(shown, src).to_string());
        }
    });
    let Some(read) = found else { return };
    let Some(name) = f.child_by_field_name("name") else {
        return;
    };
    let fname = python::text(name, src);
    out.push(Diagnostic::new(
        name.byte_range(),
        format!("`@{deco_name}` on `{fname}` caches a result that depends on the tenant (`{read}`) under arguments that do not include it: every org gets the first org's result"),
        format!("take the tenant as a parameter, `def {fname}(org_id, …)`, and pass `{read}` at the call"),
    ));
}

// ---------------------------------------------------------------- Rust

/// The Rust half of the cache check: `static`s, `thread_local!` and
/// `lazy_static!` holding a map or a cache, written inside a function that
/// sees a tenant under a key without one; `#[cached]` / `#[memoize]`
/// functions that read the tenant from context.
mod rust {
    use super::*;
    use crate::rules::keys::{rs_peel, RsFile, RsFn, RsKeys};
    use std::collections::HashMap;
    use syn::spanned::Spanned;
    use syn::visit::Visit;

    /// Map types: a cache only when its name says so.
    const MAP_TYPES: &[&str] = &[
        "HashMap",
        "BTreeMap",
        "DashMap",
        "IndexMap",
        "FxHashMap",
        "AHashMap",
    ];

    /// Cache types (`lru`, `moka`, `quick_cache`, `cached`): always caches.
    const CACHE_TYPES: &[&str] = &[
        "LruCache",
        "Cache",
        "TimedCache",
        "SizedCache",
        "TimedSizedCache",
        "UnboundCache",
        "TtlCache",
    ];

    /// Methods that write an entry, their first argument being the key:
    /// `insert`/`put`/`push`, and the `setdefault` forms `entry(k).or_insert…`,
    /// `get_or_insert_with`, moka's `get_with`, cached's `cache_set`.
    const WRITES: &[&str] = &[
        "insert",
        "put",
        "push",
        "entry",
        "get_or_insert",
        "get_or_insert_with",
        "get_or_insert_mut",
        "get_with",
        "try_get_with",
        "optionally_get_with",
        "cache_set",
    ];

    /// Methods between a cache static and the map: locks, cells, guards.
    const GUARDS: &[&str] = &[
        "lock",
        "write",
        "borrow_mut",
        "get_or_init",
        "get_mut",
        "get",
        "as_mut",
        "blocking_lock",
        "blocking_write",
        "try_lock",
        "try_write",
    ];

    /// Caches declared by a `static` (also inside `thread_local!` and
    /// `lazy_static!`): name → its type's path idents.
    pub(super) fn cache_statics(file: &syn::File) -> Vec<String> {
        struct V {
            out: Vec<String>,
        }
        impl V {
            fn judge(&mut self, name: String, ty: &syn::Type) {
                let mut idents = Vec::new();
                type_idents(quote::ToTokens::to_token_stream(ty), &mut idents);
                let cache_type = idents.iter().any(|i| CACHE_TYPES.contains(&i.as_str()));
                let map = idents.iter().any(|i| MAP_TYPES.contains(&i.as_str()));
                if (cache_type || map && name_has(&name, CACHE_WORDS))
                    && !name_has(&name, GLOBAL_WORDS)
                {
                    self.out.push(name);
                }
            }
        }
        impl<'ast> Visit<'ast> for V {
            fn visit_item_static(&mut self, st: &'ast syn::ItemStatic) {
                self.judge(st.ident.to_string(), &st.ty);
            }
            fn visit_macro(&mut self, m: &'ast syn::Macro) {
                let last = m.path.segments.last().map(|s| s.ident.to_string());
                if matches!(last.as_deref(), Some("thread_local" | "lazy_static")) {
                    if let Ok(items) = syn::parse2::<syn::File>(drop_static_ref(m.tokens.clone())) {
                        for item in &items.items {
                            if let syn::Item::Static(st) = item {
                                self.judge(st.ident.to_string(), &st.ty);
                            }
                        }
                    }
                }
                syn::visit::visit_macro(self, m);
            }
        }
        let mut v = V { out: Vec::new() };
        v.visit_file(file);
        v.out
    }

    /// `lazy_static!`'s `static ref X: T = …;` as a plain `static`.
    fn drop_static_ref(ts: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
        let mut out = Vec::new();
        let mut after_static = false;
        for t in ts {
            let is_ref = matches!(&t, proc_macro2::TokenTree::Ident(i) if i == "ref");
            if !(after_static && is_ref) {
                after_static = matches!(&t, proc_macro2::TokenTree::Ident(i) if i == "static");
                out.push(t);
            } else {
                after_static = false;
            }
        }
        out.into_iter().collect()
    }

    fn type_idents(ts: proc_macro2::TokenStream, out: &mut Vec<String>) {
        for t in ts {
            match t {
                proc_macro2::TokenTree::Ident(i) => out.push(i.to_string()),
                proc_macro2::TokenTree::Group(g) => type_idents(g.stream(), out),
                _ => {}
            }
        }
    }

    pub fn module_caches(ctx: &Ctx, file: &syn::File, pf: &ParsedFile, out: &mut Vec<Diagnostic>) {
        let lower = pf.text().to_ascii_lowercase();
        if !lower.contains("cache") && !lower.contains("memo") {
            return;
        }
        let caches = cache_statics(file);
        let rf = RsFile::new(file, &pf.src);
        let markers = Markers::new(&ctx.config.tenant.columns, &ctx.config.redis.tenant_markers);
        let keys = RsKeys {
            file: &rf,
            markers: &markers,
            helpers: &ctx.config.redis.key_helpers,
        };
        let mut v = Fns {
            keys: &keys,
            caches: &caches,
            out,
        };
        for f in crate::lang::rust::functions(file) {
            if !f.in_test {
                v.function(f.attrs, f.sig, f.block, f.span);
            }
        }
    }

    struct Fns<'k, 'a, 'o> {
        keys: &'k RsKeys<'a>,
        caches: &'k [String],
        out: &'o mut Vec<Diagnostic>,
    }

    impl<'a> Fns<'_, 'a, '_> {
        fn function(
            &mut self,
            attrs: &[syn::Attribute],
            sig: &'a syn::Signature,
            block: &'a syn::Block,
            whole: proc_macro2::Span,
        ) {
            let f = RsFn::new(sig, block, self.keys.file.range(whole), self.keys.file);
            self.cached_fn(attrs, sig, &f);
            if self.caches.is_empty() {
                return;
            }
            let mut w = Writes {
                fns: self,
                f: &f,
                aliases: HashMap::new(),
                found: Vec::new(),
            };
            w.visit_block(block);
            let found = std::mem::take(&mut w.found);
            for (m, cache) in found {
                self.judge(m, &cache, &f);
            }
        }

        /// The cache static an expression reaches through guards, locals
        /// bound to a guard, and `CACHE.with(|c| …)` closure parameters.
        fn cache_of(
            &self,
            e: &'a syn::Expr,
            f: &RsFn<'a>,
            aliases: &HashMap<String, String>,
            depth: u8,
        ) -> Option<String> {
            if depth > 4 {
                return None;
            }
            let mut e = rs_peel(e);
            while let syn::Expr::MethodCall(m) = e {
                let method = m.method.to_string();
                // `CACHE.get_mut(&org_id)`: an inner map, keyed by its caller.
                if !GUARDS.contains(&method.as_str())
                    || !(m.args.is_empty() || method == "get_or_init")
                {
                    return None;
                }
                e = rs_peel(&m.receiver);
            }
            let syn::Expr::Path(p) = e else { return None };
            let name = p.path.segments.last()?.ident.to_string();
            if p.path.segments.len() == 1 {
                if let Some(c) = aliases.get(&name) {
                    return Some(c.clone());
                }
                let at = self.keys.file.range(e.span()).start;
                // A local or parameter of the same name shadows the static.
                if let Some(l) = f.local(&name, at) {
                    return l.init.and_then(|i| self.cache_of(i, f, aliases, depth + 1));
                }
            }
            self.caches.contains(&name).then_some(name)
        }

        fn judge(&mut self, m: &'a syn::ExprMethodCall, cache: &str, f: &RsFn<'a>) {
            let Some(key) = m.args.first() else { return };
            if has_tenant(self.keys, key, f, 0) {
                return;
            }
            let key_text = self.keys.text(key);
            if name_has(&key_text, GLOBAL_WORDS) {
                return;
            }
            // Only a function that knows the tenant can cache one tenant's
            // data; a parser's or a registry's cache holds none.
            let Some(tenant) = self.keys.tenant_in_scope(Some(f)) else {
                return;
            };
            let method = m.method.to_string();
            let rest = if m.args.len() > 1 { ", …" } else { "" };
            self.out.push(Diagnostic::new(
                self.keys.file.range(m.span()),
                format!("Module-level cache `{cache}` is written under key `{key_text}`, which has no tenant component: one org's entry is served to every org in this process"),
                format!("key it by the tenant: `.{method}(({tenant}, {key_text}){rest})`, with the map keyed by `(tenant, key)`"),
            ));
        }

        /// `#[cached]` / `#[memoize]` on a function that reads the tenant
        /// from context but takes none as a parameter.
        fn cached_fn(&mut self, attrs: &[syn::Attribute], sig: &syn::Signature, f: &RsFn<'a>) {
            let Some(attr) = attrs.iter().find_map(|a| {
                let last = a.path().segments.last()?.ident.to_string();
                matches!(last.as_str(), "cached" | "io_cached" | "memoize").then_some(last)
            }) else {
                return;
            };
            if f.params.iter().any(|(p, _)| self.keys.markers.is_marker(p)) {
                return;
            }
            let Some(read) = self.keys.tenant_read(f.body, 1) else {
                return;
            };
            let fname = sig.ident.to_string();
            self.out.push(Diagnostic::new(
                self.keys.file.range(sig.ident.span()),
                format!("`#[{attr}]` on `{fname}` caches a result that depends on the tenant (`{read}`) under arguments that do not include it: every org gets the first org's result"),
                format!("take the tenant as a parameter, `fn {fname}(org_id: …, …)`, and pass `{read}` at the call"),
            ));
        }
    }

    /// Writes to cache statics in one function body.
    struct Writes<'s, 'k, 'a, 'o> {
        fns: &'s Fns<'k, 'a, 'o>,
        f: &'s RsFn<'a>,
        /// Closure parameters of `CACHE.with(|c| …)` → the cache.
        aliases: HashMap<String, String>,
        found: Vec<(&'a syn::ExprMethodCall, String)>,
    }

    impl<'a> Visit<'a> for Writes<'_, '_, 'a, '_> {
        fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
            let method = m.method.to_string();
            if WRITES.contains(&method.as_str()) {
                if let Some(c) = self.fns.cache_of(&m.receiver, self.f, &self.aliases, 0) {
                    self.found.push((m, c));
                }
            }
            let local_key = matches!(method.as_str(), "with" | "with_borrow_mut" | "with_borrow");
            let cache = local_key
                .then(|| self.fns.cache_of(&m.receiver, self.f, &self.aliases, 0))
                .flatten();
            if let (Some(c), Some(syn::Expr::Closure(cl))) = (cache, m.args.first()) {
                let mut bound = Vec::new();
                for p in &cl.inputs {
                    if let syn::Pat::Ident(i) = strip_pat(p) {
                        bound.push(i.ident.to_string());
                    }
                }
                for b in &bound {
                    self.aliases.insert(b.clone(), c.clone());
                }
                syn::visit::visit_expr_method_call(self, m);
                for b in &bound {
                    self.aliases.remove(b);
                }
                return;
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }

    fn strip_pat(p: &syn::Pat) -> &syn::Pat {
        match p {
            syn::Pat::Type(t) => strip_pat(&t.pat),
            syn::Pat::Reference(r) => strip_pat(&r.pat),
            p => p,
        }
    }

    /// Whether a key carries the tenant, as the Python half judges it: a
    /// `format!` or tuple with a tenant part, a key built by a helper from a
    /// tenant, a struct literal with a tenant field, or a local assigned
    /// from one of those.
    fn has_tenant<'a>(keys: &RsKeys<'a>, key: &'a syn::Expr, f: &RsFn<'a>, depth: u8) -> bool {
        if depth > 4 {
            return false;
        }
        let tenant_key = match keys.key(key, Some(f)) {
            Key::Shape(s) | Key::Built { shape: s, .. } => s.tenant().is_some(),
            Key::Call { tenant_arg, .. } => tenant_arg,
            Key::Helper => true,
            Key::Unknown => false,
        };
        if tenant_key || keys.flavor(key).is_some() {
            return true;
        }
        if let syn::Expr::Path(p) = rs_peel(key) {
            if let Some(name) = p.path.get_ident().map(|i| i.to_string()) {
                let at = keys.file.range(key.span()).start;
                if let Some(init) = f.local(&name, at).and_then(|l| l.init) {
                    return has_tenant(keys, init, f, depth + 1);
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_scope_is_found() {
        let t = |s: &str| sql_tokens::tokenize(s);
        assert_eq!(
            session_set(&t("SET app.current_org_id = '1'"), "app."),
            Some("app.current_org_id".into())
        );
        assert_eq!(
            session_set(&t("SET SESSION app.org TO 5"), "app."),
            Some("app.org".into())
        );
        assert_eq!(session_set(&t("SET LOCAL app.org = 5"), "app."), None);
        assert_eq!(session_set(&t("SET search_path TO x"), "app."), None);
        assert_eq!(
            set_config_session(&t("SELECT set_config('app.org', :org, false)"), "app.").len(),
            1
        );
        assert!(
            set_config_session(&t("SELECT set_config('app.org', :org, true)"), "app.").is_empty()
        );
    }

    #[test]
    fn rust_caches_are_recognised() {
        let src = r#"
static DOC_CACHE: Lazy<Mutex<HashMap<Uuid, Doc>>> = Lazy::new(Default::default);
static SETTINGS_CACHE: OnceLock<HashMap<String, String>> = OnceLock::new();
static HANDLERS: Lazy<Mutex<HashMap<String, fn()>>> = Lazy::new(Default::default);
static RECENT: Lazy<Mutex<lru::LruCache<Uuid, Doc>>> = Lazy::new(|| Mutex::new(lru::LruCache::unbounded()));
static COUNTER: AtomicU64 = AtomicU64::new(0);
thread_local! {
    pub static CHUNK_MEMO: RefCell<HashMap<String, Vec<f32>>> = RefCell::new(HashMap::new());
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}
lazy_static! {
    static ref TOKEN_CACHE: Mutex<HashMap<String, String>> = Mutex::new(HashMap::new());
    static ref JWKS_CACHE: RwLock<HashMap<String, Jwk>> = RwLock::new(HashMap::new());
}
"#;
        let f = syn::parse_file(src).unwrap();
        assert_eq!(
            rust::cache_statics(&f),
            ["DOC_CACHE", "RECENT", "CHUNK_MEMO", "TOKEN_CACHE"]
        );
    }

    #[test]
    fn module_caches_are_recognised() {
        let src = "_doc_cache = {}\n_settings_cache = {}\nHANDLERS = {}\n_s = TTLCache(maxsize=1, ttl=2)\n_CACHE: dict = dict()\n";
        let tree = python::parse(src).unwrap();
        assert_eq!(
            module_cache_names(tree.root_node(), src),
            vec!["_doc_cache", "_s", "_CACHE"]
        );
    }
}
