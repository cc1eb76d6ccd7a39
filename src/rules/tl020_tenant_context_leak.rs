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
    needs_index: false,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    if let Syntax::Python(tree) = &file.syntax {
        context_vars(ctx, tree.root_node(), file.text(), out);
        module_caches(ctx, tree.root_node(), file.text(), out);
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
    fn module_caches_are_recognised() {
        let src = "_doc_cache = {}\n_settings_cache = {}\nHANDLERS = {}\n_s = TTLCache(maxsize=1, ttl=2)\n_CACHE: dict = dict()\n";
        let tree = python::parse(src).unwrap();
        assert_eq!(
            module_cache_names(tree.root_node(), src),
            vec!["_doc_cache", "_s", "_CACHE"]
        );
    }
}
