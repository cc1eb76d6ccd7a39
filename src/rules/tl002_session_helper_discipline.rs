//! TL002 session-helper-discipline: a session opened straight from a raw
//! factory (no tenant-scoped helper) must bind the tenant before its first
//! query, or be declared cross-org by design.

use super::keys::{self, Markers, PyFile, PyKeys, RsFile, RsFn, RsKeys};
use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::config::SessionConfig;
use crate::lang::{python, Language, ParsedFile, Syntax};
use std::collections::HashSet;
use std::ops::Range;
use syn::spanned::Spanned;
use tree_sitter::Node;

pub static RULE: RuleMeta = RuleMeta {
    id: "TL002",
    name: "session-helper-discipline",
    severity: Severity::Hard,
    languages: &[Language::Python, Language::Rust],
    summary: "Raw database sessions bind the tenant before their first query",
    doc: include_str!("../../rules/TL002-session-helper-discipline.md"),
    triggers: |c| {
        let mut w: Vec<String> = c.session.factories.clone();
        w.extend(
            [
                "sessionmaker",
                "engine.connect",
                "engine.begin",
                "create_engine",
                "create_async_engine",
                // `pool.acquire()`, `pool.begin()`, `PgPool`, and queries
                // run on a pool (`.fetch_all(&pool)`, `&state.db_pool`).
                "pool",
            ]
            .map(String::from),
        );
        w
    },
    gate: None,
    // Queries run straight on a Rust pool are judged by the tables they touch.
    needs_index: true,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

/// sqlx executor methods: on a query with the pool as argument
/// (`query.fetch_all(&pool)`), or on the pool itself (`pool.execute(q)`).
const EXECUTOR_METHODS: &[&str] = &[
    "execute",
    "execute_many",
    "fetch",
    "fetch_one",
    "fetch_all",
    "fetch_optional",
    "fetch_many",
];

/// Session methods that run SQL (or queue a write that will).
const QUERY_METHODS: &[&str] = &[
    "execute",
    "exec_driver_sql",
    "scalar",
    "scalars",
    "scalar_one",
    "get",
    "get_one",
    "query",
    "stream",
    "stream_scalars",
    "merge",
    "add",
    "add_all",
    "delete",
    "refresh",
    "run_sync",
    "fetch",
    "fetch_one",
    "fetch_all",
    "fetch_optional",
    "fetchrow",
    "fetchval",
];

/// Whether `path` lies under one of the excluded directories, or is a
/// test module.
fn excluded(cfg: &SessionConfig, path: &str) -> bool {
    let mut parts = path.split('/').peekable();
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            return p.starts_with("test_") || p == "conftest.py" || p.ends_with("_test.py");
        }
        if cfg.excluded_dirs.iter().any(|d| d == p) {
            return true;
        }
    }
    false
}

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    let cfg = &ctx.config.session;
    if excluded(cfg, &file.path) {
        return;
    }
    let prefix = ctx.config.tenant.setting_prefix.to_ascii_lowercase();
    match &file.syntax {
        Syntax::Python(tree) => Py::new(ctx, tree.root_node(), file.text(), &prefix).run(out),
        Syntax::Rust(syn_file) => rust_check(ctx, syn_file, file, &prefix, out),
        Syntax::Sql(_) => {}
    }
}

/// SQL text that sets the tenant setting (`set_config('app.…'`,
/// `SET LOCAL app.…`).
fn sets_tenant_sql(text: &str, prefix: &str) -> bool {
    let t = text.to_ascii_lowercase();
    let squeezed: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
    (squeezed.contains("set_config('") || squeezed.contains("set_config(\""))
        && (squeezed.contains(&format!("'{prefix}")) || squeezed.contains(&format!("\"{prefix}")))
        || squeezed.contains(&format!("set local {prefix}"))
}

// ---------------------------------------------------------------- Python

struct Py<'a> {
    ctx: &'a Ctx<'a>,
    root: Node<'a>,
    src: &'a str,
    prefix: &'a str,
    factories: HashSet<String>,
    engines: HashSet<String>,
    setters: HashSet<String>,
}

/// What happens to a session, in source order.
enum Event {
    Setter,
    Query(String),
    /// Handed to the caller (`yield db`, `return db`): a session provider.
    Provided,
}

fn last_segment(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

impl<'a> Py<'a> {
    fn new(ctx: &'a Ctx<'a>, root: Node<'a>, src: &'a str, prefix: &'a str) -> Py<'a> {
        let cfg = &ctx.config.session;
        let mut p = Py {
            ctx,
            root,
            src,
            prefix,
            factories: cfg.factories.iter().cloned().collect(),
            engines: HashSet::new(),
            setters: cfg.tenant_setters.iter().cloned().collect(),
        };
        p.learn();
        p
    }

    /// Factories and engines assigned in this file, and local functions
    /// that bind the tenant of the session they are given.
    fn learn(&mut self) {
        let src = self.src;
        let mut funcs = Vec::new();
        python::walk(self.root, &mut |n| match n.kind() {
            "assignment" => {
                let (Some(l), Some(r)) = (
                    n.child_by_field_name("left"),
                    n.child_by_field_name("right"),
                ) else {
                    return;
                };
                if r.kind() != "call" || !matches!(l.kind(), "identifier" | "attribute") {
                    return;
                }
                let callee = python::call_name(r, src).unwrap_or_default();
                let target = last_segment(python::text(l, src)).to_string();
                match last_segment(&callee) {
                    "sessionmaker"
                    | "async_sessionmaker"
                    | "scoped_session"
                    | "async_scoped_session" => {
                        self.factories.insert(target);
                    }
                    "create_engine" | "create_async_engine" | "engine_from_config" => {
                        self.engines.insert(target);
                    }
                    _ => {}
                }
            }
            "function_definition" => funcs.push(n),
            _ => {}
        });
        for f in funcs {
            let Some(name) = f.child_by_field_name("name") else {
                continue;
            };
            let name = python::text(name, src).to_string();
            if self.setters.contains(&name) {
                continue;
            }
            let mut binds = false;
            python::walk(f, &mut |n| {
                if binds || n.kind() != "call" {
                    return;
                }
                let callee = python::call_name(n, src).unwrap_or_default();
                binds = self.setters.contains(last_segment(&callee))
                    || (QUERY_METHODS.contains(&last_segment(&callee))
                        && self.sql_arg_sets_tenant(n));
            });
            if binds {
                self.setters.insert(name);
            }
        }
    }

    fn sql_arg_sets_tenant(&self, call: Node<'a>) -> bool {
        let Some(arg) = python::positional_args(call).first().copied() else {
            return false;
        };
        let mut text = python::text(arg, self.src).to_string();
        let mut inner = arg;
        // text("…") / sql held in a variable
        if inner.kind() == "call" {
            if let Some(a) = python::positional_args(inner).first() {
                inner = *a;
            }
        }
        if inner.kind() == "identifier" {
            if let Some(rhs) =
                python::assignment_before(inner, python::text(inner, self.src), self.src)
            {
                text.push_str(python::text(rhs, self.src));
            }
        }
        sets_tenant_sql(&text, self.prefix)
    }

    /// A literal statement that reads no table (`SELECT 1`, `SELECT now()`):
    /// a health check, not a tenant query.
    fn sql_arg_reads_no_table(&self, call: Node<'a>) -> bool {
        let Some(mut arg) = python::positional_args(call).first().copied() else {
            return false;
        };
        if arg.kind() == "call" {
            match python::positional_args(arg).first() {
                Some(a) => arg = *a,
                None => return false,
            }
        }
        let Some(sql) = python::string_value(arg, self.src) else {
            return false;
        };
        let sql = format!(
            " {} ",
            sql.to_ascii_lowercase()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        );
        ![
            "from", "update", "insert", "delete", "into", "merge", "copy", "truncate", "call",
        ]
        .iter()
        .any(|k| sql.contains(&format!(" {k} ")))
    }

    /// The text of a raw session opening, if `call` is one.
    fn raw_open(&self, call: Node<'a>) -> Option<String> {
        let func = call.child_by_field_name("function")?;
        let src = self.src;
        if func.kind() == "call" {
            let inner = python::call_name(func, src)?;
            if matches!(last_segment(&inner), "sessionmaker" | "async_sessionmaker") {
                return Some(format!("{}()", last_segment(&inner)));
            }
            return None;
        }
        let name = python::dotted_name(func, src)?;
        let last = last_segment(&name);
        if self.factories.contains(&name) || self.factories.contains(last) {
            return Some(format!("{name}()"));
        }
        if matches!(last, "connect" | "begin") && func.kind() == "attribute" {
            let obj = func.child_by_field_name("object")?;
            let recv = python::dotted_name(obj, src)?;
            let owner = last_segment(&recv);
            if self.engines.contains(owner) || keys::name_has(owner, &["engine"]) {
                return Some(format!("{recv}.{last}()"));
            }
        }
        None
    }

    fn run(&self, out: &mut Vec<Diagnostic>) {
        let mut calls = Vec::new();
        python::walk(self.root, &mut |n| {
            if n.kind() == "call" {
                calls.push(n);
            }
        });
        let mut pf: Option<PyFile> = None;
        for call in calls {
            let Some(opened) = self.raw_open(call) else {
                continue;
            };
            if python::in_test_function(call, self.src) {
                continue;
            }
            let Some((var, scope, is_with)) = self.binding(call) else {
                continue;
            };
            if self.in_scoped_helper(call) {
                continue;
            }
            let Some((query, at)) = self.first_unbound_query(&var, scope, call.end_byte()) else {
                continue;
            };
            let stmt = keys::py_statement(call);
            if keys::cross_org_marked(
                self.src,
                stmt.start_byte()..call.end_byte(),
                keys::py_function_header(call),
            ) {
                continue;
            }
            let pf = pf.get_or_insert_with(|| PyFile::new(self.root, self.src));
            let markers = Markers::new(
                &self.ctx.config.tenant.columns,
                &self.ctx.config.redis.tenant_markers,
            );
            let tenant = PyKeys {
                file: pf,
                markers: &markers,
                helpers: &[],
            }
            .tenant_in_scope(call)
            .unwrap_or_else(|| self.ctx.default_tenant());
            let line = self.src[..at.min(self.src.len())].matches('\n').count() + 1;
            out.push(Diagnostic::new(
                call.byte_range(),
                format!(
                    "`{opened}` opens session `{var}` without a tenant: `{query}` (line {line}) runs before any tenant setter"
                ),
                self.suggestion(&var, &tenant, is_with, call),
            ));
        }
    }

    fn suggestion(&self, var: &str, tenant: &str, is_with: bool, call: Node) -> String {
        let cfg = &self.ctx.config.session;
        let setter = cfg
            .tenant_setters
            .first()
            .map_or("set_tenant", String::as_str);
        let awaiting = python::enclosing_function(call)
            .is_some_and(|f| python::text(f, self.src).starts_with("async"));
        let aw = if awaiting { "await " } else { "" };
        let fallback = format!(
            "call `{aw}{setter}({var}, {tenant})` before the first query, or put `# cross-org-by-design: <reason>` above it"
        );
        match cfg.scoped_helpers.first() {
            Some(h) if is_with => {
                let kw = if awaiting { "async with" } else { "with" };
                format!("`{kw} {h}({tenant}) as {var}:`; or {fallback}")
            }
            _ => fallback,
        }
    }

    /// The function enclosing `n` is itself a configured scoped helper.
    fn in_scoped_helper(&self, n: Node) -> bool {
        let mut cur = python::enclosing_function(n);
        while let Some(f) = cur {
            let name = f
                .child_by_field_name("name")
                .map(|x| python::text(x, self.src))
                .unwrap_or("");
            if self
                .ctx
                .config
                .session
                .scoped_helpers
                .iter()
                .any(|h| h == name)
            {
                return true;
            }
            cur = python::enclosing_function(f);
        }
        false
    }

    /// The session variable, the node its uses are searched in, and
    /// whether it is opened by a `with` statement.
    fn binding(&self, call: Node<'a>) -> Option<(String, Node<'a>, bool)> {
        let parent = call.parent()?;
        match parent.kind() {
            "as_pattern" => {
                let alias = parent.child_by_field_name("alias")?;
                let ident = if alias.kind() == "identifier" {
                    alias
                } else {
                    alias.named_child(0)?
                };
                if ident.kind() != "identifier" {
                    return None;
                }
                let mut w = parent;
                while w.kind() != "with_statement" {
                    w = w.parent()?;
                }
                Some((python::text(ident, self.src).to_string(), w, true))
            }
            "assignment" => {
                let left = parent.child_by_field_name("left")?;
                if left.kind() != "identifier" {
                    return None;
                }
                let scope =
                    python::enclosing_function(call).and_then(|f| f.child_by_field_name("body"))?;
                Some((python::text(left, self.src).to_string(), scope, false))
            }
            _ => None,
        }
    }

    /// The first query on `var` after `from`, when no tenant setter came
    /// first and the session was not handed to the caller first.
    fn first_unbound_query(
        &self,
        var: &str,
        scope: Node<'a>,
        from: usize,
    ) -> Option<(String, usize)> {
        let src = self.src;
        let mut events: Vec<(usize, Event)> = Vec::new();
        python::walk(scope, &mut |n| {
            if n.start_byte() < from {
                return;
            }
            match n.kind() {
                "yield" | "return_statement"
                    if n.named_child(0).is_some_and(|v| {
                        v.kind() == "identifier" && python::text(v, src) == var
                    }) =>
                {
                    events.push((n.start_byte(), Event::Provided));
                }
                "call" => {
                    if let Some(e) = self.call_event(n, var) {
                        events.push((n.start_byte(), e));
                    }
                }
                _ => {}
            }
        });
        events.sort_by_key(|(at, _)| *at);
        match events.into_iter().next()? {
            (at, Event::Query(q)) => Some((q, at)),
            _ => None,
        }
    }

    fn call_event(&self, call: Node<'a>, var: &str) -> Option<Event> {
        let src = self.src;
        let func = call.child_by_field_name("function")?;
        let callee = python::dotted_name(func, src).unwrap_or_default();
        let last = last_segment(&callee);
        let is_var = |n: Node| n.kind() == "identifier" && python::text(n, src) == var;
        if func.kind() == "attribute" {
            let obj = func.child_by_field_name("object")?;
            if is_var(obj) {
                if QUERY_METHODS.contains(&last) {
                    if self.sql_arg_sets_tenant(call) {
                        return Some(Event::Setter);
                    }
                    if self.sql_arg_reads_no_table(call) {
                        return None;
                    }
                    let head = python::text(call, src)
                        .lines()
                        .next()
                        .unwrap_or("")
                        .trim_end_matches(['(', ' '])
                        .to_string();
                    let shown = if head.len() > 60 || !head.ends_with(')') {
                        format!("{var}.{last}(…)")
                    } else {
                        head
                    };
                    return Some(Event::Query(shown));
                }
                return None;
            }
        }
        let args = call.child_by_field_name("arguments")?;
        let mut c = args.walk();
        let passed = args.named_children(&mut c).any(|a| {
            is_var(a)
                || (a.kind() == "keyword_argument"
                    && a.child_by_field_name("value").is_some_and(is_var))
        });
        if !passed {
            return None;
        }
        if self.setters.contains(last) {
            return Some(Event::Setter);
        }
        if matches!(
            last,
            "print"
                | "isinstance"
                | "id"
                | "repr"
                | "str"
                | "len"
                | "close"
                | "info"
                | "debug"
                | "warning"
                | "error"
                | "exception"
        ) {
            return None;
        }
        let mut c = args.walk();
        let shown = if args.named_children(&mut c).count() == 1 {
            format!("{callee}({var})")
        } else {
            format!("{callee}({var}, …)")
        };
        Some(Event::Query(shown))
    }
}

// ---------------------------------------------------------------- Rust

fn rust_check(
    ctx: &Ctx,
    file: &syn::File,
    parsed: &ParsedFile,
    prefix: &str,
    out: &mut Vec<Diagnostic>,
) {
    let rf = RsFile::new(file, &parsed.src);
    let text = parsed.text();
    let cfg = &ctx.config.session;
    // Local functions that bind the tenant (their body sets it).
    let mut setters: HashSet<String> = cfg.tenant_setters.iter().cloned().collect();
    let fns: Vec<(&syn::Signature, &syn::Block, bool)> = crate::lang::rust::functions(file)
        .into_iter()
        .map(|f| (f.sig, f.block, f.in_test))
        .collect();
    for (sig, block, _) in &fns {
        if text
            .get(rf.range(block.span()))
            .is_some_and(|b| sets_tenant_sql(b, prefix))
        {
            setters.insert(sig.ident.to_string());
        }
    }
    let markers = Markers::new(&ctx.config.tenant.columns, &ctx.config.redis.tenant_markers);
    let keys = RsKeys {
        file: &rf,
        markers: &markers,
        helpers: &[],
    };
    let sites: Vec<(Range<usize>, String)> = parsed
        .sql_sites()
        .iter()
        .map(|s| (s.host(), s.sql().to_string()))
        .collect();
    for (sig, block, test) in &fns {
        if *test || cfg.scoped_helpers.iter().any(|h| sig.ident == h) {
            continue;
        }
        let kf = RsFn::new(sig, block, rf.range(block.span()), &rf);
        if !setters.contains(&sig.ident.to_string()) {
            pool_queries(
                &PoolCx {
                    ctx,
                    keys: &keys,
                    f: &kf,
                    sites: &sites,
                    text,
                    prefix,
                },
                out,
            );
        }
        let header_start = rf.range(sig.span()).start;
        let body_first = block
            .stmts
            .first()
            .map_or(header_start, |s| rf.range(s.span()).start);
        let header = header_start..body_first.max(header_start);
        let pool_params = pool_params(&kf);
        for stmt in &block.stmts {
            rust_local(
                &RsCx {
                    rf: &rf,
                    text,
                    prefix,
                    setters: &setters,
                    pool_params: &pool_params,
                    block,
                    header: header.clone(),
                    ctx,
                    tenant: keys.tenant_in_scope(Some(&kf)),
                },
                stmt,
                out,
            );
        }
    }
}

struct RsCx<'a, 'b> {
    rf: &'b RsFile<'a>,
    text: &'b str,
    prefix: &'b str,
    setters: &'b HashSet<String>,
    pool_params: &'b [String],
    block: &'a syn::Block,
    header: Range<usize>,
    ctx: &'b Ctx<'b>,
    tenant: Option<String>,
}

/// Parameters typed as a Postgres pool (`pool: &PgPool`,
/// `State(pool): State<PgPool>`, `db: web::Data<Pool<Postgres>>`).
fn pool_params(f: &RsFn) -> Vec<String> {
    f.params
        .iter()
        .filter(|(_, ty)| ty.is_some_and(is_pool_type))
        .map(|(p, _)| p.clone())
        .collect()
}

fn is_pool_type(ty: &syn::Type) -> bool {
    let t = quote::quote!(#ty).to_string().replace(' ', "");
    t.contains("PgPool") || t.contains("Pool<Postgres>")
}

struct PoolCx<'a, 'b> {
    ctx: &'b Ctx<'b>,
    keys: &'b RsKeys<'a>,
    f: &'b RsFn<'a>,
    /// Embedded SQL of the file: host range, text.
    sites: &'b [(Range<usize>, String)],
    text: &'b str,
    prefix: &'b str,
}

/// Queries run straight on a pool (`sqlx::query(…).fetch_all(&pool)`,
/// `&state.db_pool`, `&*pool`, `pool.execute(…)`): each borrows some
/// connection, runs, and hands it back, so no tenant setter can reach it.
/// Reported when the SQL touches a tenant table (or the index knows no
/// tables at all, as the Python half judges a raw session); health checks
/// that read no table, tenant-setting SQL (TL020's business) and queries
/// on global tables stay quiet.
fn pool_queries(cx: &PoolCx, out: &mut Vec<Diagnostic>) {
    use syn::visit::Visit;
    struct V<'c, 'a, 'b> {
        cx: &'c PoolCx<'a, 'b>,
        pools: Vec<String>,
        /// Call range, pool as written, method, whether only known SQL counts.
        found: Vec<(Range<usize>, String, String, bool)>,
    }
    impl V<'_, '_, '_> {
        /// The pool an executor argument names, as written.
        fn pool(&self, e: &syn::Expr) -> Option<String> {
            let mut e = keys::rs_peel(e);
            while let syn::Expr::MethodCall(m) = e {
                if !(m.args.is_empty()
                    && matches!(m.method.to_string().as_str(), "get_ref" | "as_ref"))
                {
                    return None;
                }
                e = keys::rs_peel(&m.receiver);
            }
            let segs = keys::rs_segments(e)?;
            let last = segs.last()?;
            let typed = self
                .cx
                .keys
                .file
                .fields
                .get(last)
                .is_some_and(|tys| tys.iter().any(|t| t.replace(' ', "").contains("PgPool")));
            let is_pool = keys::name_has(last, &["pool"])
                || typed
                || (segs.len() == 1 && self.pools.contains(last));
            is_pool.then(|| self.cx.keys.text(e))
        }
    }
    impl<'ast> Visit<'ast> for V<'_, '_, '_> {
        fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
            let method = m.method.to_string();
            if EXECUTOR_METHODS.contains(&method.as_str()) {
                let on_query = (m.args.len() == 1).then(|| self.pool(&m.args[0])).flatten();
                // `pool.execute(q)`; not a thread pool's `pool.execute(move || …)`.
                let on_pool = || {
                    (!m.args.is_empty() && !matches!(m.args[0], syn::Expr::Closure(_)))
                        .then(|| self.pool(&m.receiver))
                        .flatten()
                };
                if let Some((pool, sql_known_needed)) = on_query
                    .map(|p| (p, false))
                    .or_else(|| on_pool().map(|p| (p, true)))
                {
                    let r = self.cx.keys.file.range(m.span());
                    self.found.push((r, pool, method, sql_known_needed));
                    return;
                }
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut v = V {
        cx,
        pools: pool_params(cx.f),
        found: Vec::new(),
    };
    v.visit_block(cx.f.body);
    let index = cx.ctx.index;
    let config = cx.ctx.config;
    for (range, pool, method, on_pool) in v.found {
        let sqls: Vec<&str> = cx
            .sites
            .iter()
            .filter(|(r, _)| r.start >= range.start && r.end <= range.end)
            .map(|(_, s)| s.as_str())
            .collect();
        if sqls.iter().any(|s| sets_tenant_sql(s, cx.prefix)) {
            continue;
        }
        let tables: Vec<String> = sqls
            .iter()
            .flat_map(|s| crate::lang::sql_tokens::relations_read(s))
            .collect();
        let tenant_tables: Vec<&String> = tables
            .iter()
            .filter(|t| index.is_tenant_table(t, config))
            .collect();
        let unknown_schema = index.tables.is_empty() && !tables.is_empty();
        let unknown_sql = sqls.is_empty() && !on_pool;
        if tenant_tables.is_empty() && !unknown_schema && !unknown_sql {
            continue;
        }
        let stmt =
            cx.f.body
                .stmts
                .iter()
                .map(|s| cx.keys.file.range(s.span()))
                .find(|r| r.contains(&range.start))
                .unwrap_or(range.clone());
        if keys::cross_org_marked(cx.text, stmt, Some(cx.f.header.clone())) {
            continue;
        }
        let what = match tenant_tables.first() {
            Some(t) => format!("a query on tenant table `{t}`"),
            None => "a query".to_string(),
        };
        let setter = config
            .session
            .tenant_setters
            .first()
            .map_or("set_tenant", String::as_str);
        let tenant = cx
            .keys
            .tenant_in_scope(Some(cx.f))
            .unwrap_or_else(|| cx.ctx.default_tenant());
        let on = pool.trim_start_matches(['&', '*']);
        out.push(Diagnostic::new(
            range,
            format!(
                "`.{method}(…)` runs {what} straight on the pool `{on}`: the connection it borrows never gets the tenant setting"
            ),
            format!(
                "`let mut tx = {on}.begin().await?; {setter}(&mut tx, {tenant}).await?;` and run the query on `&mut *tx`, or put `// cross-org-by-design: <reason>` above it"
            ),
        ));
    }
}

/// `let mut tx = pool.begin().await?;` and the uses of `tx` after it.
fn rust_local(cx: &RsCx, stmt: &syn::Stmt, out: &mut Vec<Diagnostic>) {
    let syn::Stmt::Local(local) = stmt else {
        return;
    };
    let Some(init) = &local.init else { return };
    let var = match &local.pat {
        syn::Pat::Ident(i) => i.ident.to_string(),
        syn::Pat::Type(t) => match &*t.pat {
            syn::Pat::Ident(i) => i.ident.to_string(),
            _ => return,
        },
        _ => return,
    };
    let mut e: &syn::Expr = &init.expr;
    loop {
        e = match e {
            syn::Expr::Try(t) => &t.expr,
            syn::Expr::Await(a) => &a.base,
            syn::Expr::Paren(p) => &p.expr,
            _ => break,
        };
    }
    let syn::Expr::MethodCall(m) = e else { return };
    let method = m.method.to_string();
    if !matches!(method.as_str(), "acquire" | "begin" | "try_begin") {
        return;
    }
    let recv = quote::ToTokens::to_token_stream(&*m.receiver)
        .to_string()
        .replace(' ', "");
    let owner = recv.rsplit('.').next().unwrap_or(&recv).to_string();
    let typed_pool = cx
        .rf
        .fields
        .get(&owner)
        .is_some_and(|tys| tys.iter().any(|t| t.replace(' ', "").contains("PgPool")));
    if !(keys::name_has(&owner, &["pool"]) || typed_pool || cx.pool_params.contains(&owner)) {
        return;
    }
    let stmt_range = cx.rf.range(local.span());
    // Uses of `var` after the `let`.
    struct Uses<'c> {
        var: &'c str,
        text: &'c str,
        prefix: &'c str,
        setters: &'c HashSet<String>,
        rf: &'c RsFile<'c>,
        after: usize,
        events: Vec<(usize, bool, String)>,
    }
    fn mentions(tokens: proc_macro2::TokenStream, var: &str) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == var,
            proc_macro2::TokenTree::Group(g) => mentions(g.stream(), var),
            _ => false,
        })
    }
    impl<'c> syn::visit::Visit<'c> for Uses<'c> {
        fn visit_expr_method_call(&mut self, m: &'c syn::ExprMethodCall) {
            let r = self.rf.range(m.span());
            let name = m.method.to_string();
            if r.start >= self.after && QUERY_METHODS.contains(&name.as_str()) {
                let on_var = m
                    .args
                    .iter()
                    .any(|a| mentions(quote::ToTokens::to_token_stream(a), self.var))
                    || mentions(quote::ToTokens::to_token_stream(&*m.receiver), self.var)
                        && !matches!(&*m.receiver, syn::Expr::MethodCall(_));
                if on_var {
                    let body = self.text.get(r.clone()).unwrap_or("");
                    let setter = sets_tenant_sql(body, self.prefix);
                    self.events
                        .push((r.start, setter, format!(".{name}(&mut *{})", self.var)));
                    return;
                }
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_expr_call(&mut self, c: &'c syn::ExprCall) {
            let r = self.rf.range(c.span());
            if r.start >= self.after
                && c.args
                    .iter()
                    .any(|a| mentions(quote::ToTokens::to_token_stream(a), self.var))
            {
                let name = crate::lang::rust::expr_name(&c.func).unwrap_or_default();
                if !matches!(name.as_str(), "Ok" | "Some" | "drop" | "Err") {
                    let setter = self.setters.contains(&name);
                    self.events
                        .push((r.start, setter, format!("{name}(&mut {}, …)", self.var)));
                    return;
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_item(&mut self, _: &'c syn::Item) {}
    }
    let mut uses = Uses {
        var: &var,
        text: cx.text,
        prefix: cx.prefix,
        setters: cx.setters,
        rf: cx.rf,
        after: stmt_range.end,
        events: Vec::new(),
    };
    syn::visit::Visit::visit_block(&mut uses, cx.block);
    uses.events.sort_by_key(|(at, _, _)| *at);
    let Some((at, false, query)) = uses.events.into_iter().next() else {
        return;
    };
    if keys::cross_org_marked(cx.text, stmt_range.clone(), Some(cx.header.clone())) {
        return;
    }
    let line = cx.text[..at.min(cx.text.len())].matches('\n').count() + 1;
    let setter = cx
        .ctx
        .config
        .session
        .tenant_setters
        .first()
        .map_or("set_tenant", String::as_str);
    let tenant = cx.tenant.clone().unwrap_or_else(|| cx.ctx.default_tenant());
    out.push(Diagnostic::new(
        stmt_range,
        format!(
            "`{recv}.{method}()` opens `{var}` without a tenant: `{query}` (line {line}) runs before any tenant setter"
        ),
        format!(
            "call `{setter}(&mut {var}, {tenant}).await?` right after opening it, or put `// cross-org-by-design: <reason>` above it"
        ),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_sql_is_recognised() {
        assert!(sets_tenant_sql(
            "SELECT set_config('app.current_org_id', :o, true)",
            "app."
        ));
        assert!(sets_tenant_sql("SET  LOCAL app.org = 5", "app."));
        assert!(!sets_tenant_sql(
            "SELECT set_config('search_path', 'x', true)",
            "app."
        ));
        assert!(!sets_tenant_sql("SELECT * FROM notes", "app."));
    }

    #[test]
    fn excluded_paths() {
        let cfg = SessionConfig::default();
        assert!(excluded(&cfg, "svc/migrations/versions/0001.py"));
        assert!(excluded(&cfg, "tests/workers.py"));
        assert!(excluded(&cfg, "app/test_worker.py"));
        assert!(excluded(&cfg, "conftest.py"));
        assert!(!excluded(&cfg, "app/workers/reaper.py"));
        assert!(!excluded(&cfg, "app/testing_utils.py"));
    }
}
