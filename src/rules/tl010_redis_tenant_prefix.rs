//! TL010 redis-tenant-prefix: Redis keys, patterns and pub/sub channels
//! must carry the tenant, so that one tenant's cache, queue or channel is
//! never read, overwritten, scanned or flushed by another.

use super::keys::{
    self, name_has, py_peel, rs_peel, HoleKind, Key, Markers, Part, PyFile, PyKeys, RsFile, RsFn,
    RsKeys, Shape,
};
use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::config::RedisConfig;
use crate::lang::{python, rust, Language, ParsedFile, Syntax};
use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use syn::spanned::Spanned;
use tree_sitter::Node;

pub static RULE: RuleMeta = RuleMeta {
    id: "TL010",
    name: "redis-tenant-prefix",
    severity: Severity::Hard,
    languages: &[Language::Python, Language::Rust],
    summary: "Redis keys, scan patterns and pub/sub channels carry a tenant component",
    doc: include_str!("../../rules/TL010-redis-tenant-prefix.md"),
    triggers: |_| vec!["redis".into()],
    gate: None,
    needs_index: false,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

/// What a Redis command does with its arguments.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmd {
    /// The first argument is a key; `write` creates data under it.
    Key {
        write: bool,
    },
    /// Every argument is a key (`delete`, `exists`, `mget`).
    Keys,
    /// A key pattern (`keys`, `scan_iter(match=…)`): keyword name, position.
    Pattern {
        kw: &'static str,
        pos: usize,
    },
    Publish,
    Subscribe {
        pattern: bool,
    },
}

/// Commands by their redis-py / Redis name.
fn command(m: &str) -> Option<Cmd> {
    const WRITE: &[&str] = &[
        "set",
        "setex",
        "setnx",
        "psetex",
        "getset",
        "append",
        "incr",
        "incrby",
        "incrbyfloat",
        "decr",
        "decrby",
        "hset",
        "hsetnx",
        "hmset",
        "hincrby",
        "hincrbyfloat",
        "lpush",
        "rpush",
        "lpushx",
        "rpushx",
        "linsert",
        "lset",
        "sadd",
        "smove",
        "zadd",
        "zincrby",
        "xadd",
        "pfadd",
        "setbit",
        "setrange",
        "rename",
        "renamenx",
        "restore",
        "json_set",
    ];
    const READ: &[&str] = &[
        "get",
        "getdel",
        "getex",
        "getrange",
        "strlen",
        "expire",
        "pexpire",
        "expireat",
        "pexpireat",
        "persist",
        "ttl",
        "pttl",
        "hget",
        "hmget",
        "hgetall",
        "hdel",
        "hexists",
        "hkeys",
        "hvals",
        "hlen",
        "hstrlen",
        "lpop",
        "rpop",
        "lrange",
        "llen",
        "ltrim",
        "lrem",
        "lindex",
        "blpop",
        "brpop",
        "lmove",
        "srem",
        "smembers",
        "sismember",
        "smismember",
        "scard",
        "spop",
        "srandmember",
        "zrem",
        "zrange",
        "zrevrange",
        "zrangebyscore",
        "zrevrangebyscore",
        "zscore",
        "zcard",
        "zcount",
        "zrank",
        "zrevrank",
        "zremrangebyscore",
        "zremrangebyrank",
        "zpopmin",
        "zpopmax",
        "xrange",
        "xrevrange",
        "xlen",
        "xtrim",
        "xdel",
        "pfcount",
        "getbit",
        "dump",
        "hscan",
        "sscan",
        "zscan",
        "hscan_iter",
        "sscan_iter",
        "zscan_iter",
    ];
    Some(match m {
        _ if WRITE.contains(&m) => Cmd::Key { write: true },
        _ if READ.contains(&m) => Cmd::Key { write: false },
        "delete" | "del" | "unlink" | "exists" | "touch" | "mget" | "watch" => Cmd::Keys,
        "keys" => Cmd::Pattern {
            kw: "pattern",
            pos: 0,
        },
        "scan_iter" => Cmd::Pattern {
            kw: "match",
            pos: 0,
        },
        "scan" => Cmd::Pattern {
            kw: "match",
            pos: 1,
        },
        "publish" | "spublish" => Cmd::Publish,
        "subscribe" | "ssubscribe" => Cmd::Subscribe { pattern: false },
        "psubscribe" => Cmd::Subscribe { pattern: true },
        _ => return None,
    })
}

/// Commands of the Rust `redis` crate's `Commands`/`AsyncCommands` traits.
fn rs_command(m: &str) -> Option<Cmd> {
    Some(match m {
        "set_ex" | "set_nx" | "pset_ex" | "set_options" | "set_multiple" | "hset_nx"
        | "hset_multiple" | "hincr" | "zadd_multiple" | "zincr" | "lpush_exists"
        | "rpush_exists" => Cmd::Key { write: true },
        "get_del"
        | "get_ex"
        | "expire_at"
        | "pexpire_at"
        | "zrange_withscores"
        | "zrembyscore"
        | "zrevrange_withscores" => Cmd::Key { write: false },
        "keys" => Cmd::Pattern { kw: "", pos: 0 },
        "scan_match" => Cmd::Pattern { kw: "", pos: 0 },
        "scan" | "scan_iter" | "hscan" | "sscan" | "zscan" | "getset_ex" => return None,
        _ => command(m)?,
    })
}

/// Config words that, as the last piece of a name, mean "about Redis", not
/// "a Redis client" (`redis_url`, `redis_settings`).
const CONFIGISH: &[&str] = &[
    "url",
    "urls",
    "uri",
    "dsn",
    "config",
    "conf",
    "cfg",
    "settings",
    "opts",
    "options",
    "kwargs",
    "args",
    "params",
    "host",
    "port",
    "keys",
    "key",
    "prefix",
    "prefixes",
    "map",
    "names",
    "name",
    "timeout",
    "ttl",
    "db",
    "password",
    "enabled",
    "version",
    "available",
    "error",
    "errors",
    "module",
    "ok",
    "healthy",
    "status",
];

/// A name that says "Redis client": a `redis`/`rds`/`valkey` piece, not
/// followed by a config word (`redis_client`, `self.redis`, not
/// `redis_url`); or a client-like attribute of such a name
/// (`self.redis.client`, `app.state.redis.pool`).
fn redis_name(name: &str) -> bool {
    let one = |seg: &str| {
        let pieces = super::names::split_pieces(seg);
        pieces.iter().any(|p| {
            matches!(
                p.as_str(),
                "redis" | "rds" | "aioredis" | "aredis" | "valkey" | "keydb"
            )
        }) && !pieces
            .last()
            .is_some_and(|p| CONFIGISH.contains(&p.as_str()))
    };
    let segs: Vec<&str> = name.split(['.', ':']).filter(|s| !s.is_empty()).collect();
    let Some((last, owners)) = segs.split_last() else {
        return false;
    };
    one(last)
        || matches!(
            *last,
            "client" | "conn" | "connection" | "con" | "pool" | "master" | "primary" | "writer"
        ) && owners.iter().any(|s| one(s))
}

fn redis_type(ty: &str) -> bool {
    ty.to_ascii_lowercase().contains("redis")
        || [
            "MultiplexedConnection",
            "ConnectionManager",
            "ConnectionLike",
            "PubSub",
        ]
        .iter()
        .any(|t| ty.contains(t))
}

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    // Every client this rule recognises is named or typed after Redis
    // somewhere in the file (the pre-filter relies on this).
    if !file.text().to_ascii_lowercase().contains("redis") {
        return;
    }
    let cfg = &ctx.config.redis;
    let markers = Markers::new(&ctx.config.tenant.columns, &cfg.tenant_markers);
    let default_tenant = ctx
        .config
        .tenant
        .columns
        .first()
        .cloned()
        .unwrap_or_else(|| "org_id".into());
    let mut r = Report {
        cfg,
        text: file.text(),
        src: &file.src,
        default_tenant,
        sites: Vec::new(),
        pending: Vec::new(),
        out,
    };
    match &file.syntax {
        Syntax::Python(tree) => {
            let pf = PyFile::new(tree.root_node(), file.text());
            let keys = PyKeys {
                file: &pf,
                markers: &markers,
                helpers: &cfg.key_helpers,
            };
            let py = Py { keys: &keys };
            py.check(tree.root_node(), &mut r);
            let flush = (!cfg.flush_function.is_empty())
                .then(|| {
                    pf.functions_named(&cfg.flush_function)
                        .first()
                        .map(|f| f.byte_range())
                })
                .flatten();
            r.finish(flush);
        }
        Syntax::Rust(f) => {
            let rf = RsFile::new(f, &file.src);
            let keys = RsKeys {
                file: &rf,
                markers: &markers,
                helpers: &cfg.key_helpers,
            };
            check_rust(f, &keys, &mut r);
            let flush = (!cfg.flush_function.is_empty())
                .then(|| rf.fn_body(&cfg.flush_function))
                .flatten();
            r.finish(flush);
        }
        Syntax::Sql(_) => {}
    }
}

/// A tenant-scoped key seen in the file, for the checks that compare keys.
struct Site {
    range: Range<usize>,
    shape: Shape,
    write: bool,
    rust: bool,
}

/// Findings and the sites they are drawn from, for one file.
struct Report<'a, 'o> {
    cfg: &'a RedisConfig,
    text: &'a str,
    src: &'a crate::lang::SourceText,
    default_tenant: String,
    sites: Vec<Site>,
    /// Key findings with what makes them the same finding: one per key
    /// variable per function, one per key text per line
    /// (`pipe.set(k).expire(k)`); the first in the file is kept.
    pending: Vec<(String, Diagnostic)>,
    out: &'o mut Vec<Diagnostic>,
}

/// How a key argument is used.
#[derive(Clone, Copy, PartialEq)]
enum Use {
    Key { write: bool },
    Pattern,
    Channel { pattern: bool },
}

/// One key argument, ready to judge.
struct Arg<'k> {
    range: Range<usize>,
    key: Key,
    /// The key code with the tenant added, when the key's shape is known.
    fixed: Option<Shape>,
    tenant: &'k str,
    rust: bool,
    /// The whole call's text with the key replaced, when on one line.
    call: Option<(String, Range<usize>)>,
    /// Statement and function ranges, for `cross-org-by-design`.
    stmt: Range<usize>,
    func: Option<Range<usize>>,
}

impl Report<'_, '_> {
    fn code(&self, s: &Shape, rust: bool) -> String {
        if rust {
            s.rust()
        } else {
            s.python()
        }
    }

    /// The suggestion for a key written with `fixed` instead.
    fn suggest(&self, a: &Arg, fixed: &Shape) -> String {
        let mut code = self.code(fixed, a.rust);
        let constant = match &a.key {
            Key::Shape(s) => s.via.as_deref().filter(|v| {
                v.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            }),
            _ => None,
        };
        if let Some(c) = constant {
            // a module constant stays global: scope it where it is used
            let hole = |t: &str| Part::Hole {
                text: t.to_string(),
                tenant: None,
                kind: HoleKind::Value,
            };
            let scoped = Shape {
                parts: vec![hole(c), Part::Lit(":".into()), hole(a.tenant)],
                via: None,
            };
            code = self.code(&scoped, a.rust);
        }
        match &a.key {
            Key::Shape(s) if s.via.is_some() && constant.is_none() => {
                let v = s.via.as_deref().unwrap_or_default();
                if a.rust {
                    format!("let {v} = {code};")
                } else {
                    format!("{v} = {code}")
                }
            }
            Key::Built { helper, .. } => {
                if a.rust {
                    format!("give `{helper}` the tenant: fn {helper}({}: &str, …) -> String {{ {code} }}", a.tenant)
                } else {
                    format!(
                        "give `{helper}` the tenant: def {helper}({}, …): return {code}",
                        a.tenant
                    )
                }
            }
            _ => match &a.call {
                Some((call, r)) => {
                    let mut s = call.clone();
                    s.replace_range(r.clone(), &code);
                    s
                }
                None => code,
            },
        }
    }

    fn judge(&mut self, a: Arg, how: Use) {
        let global = &self.cfg.global_prefixes;
        let shape = match &a.key {
            Key::Shape(s) | Key::Built { shape: s, .. } => s.clone(),
            Key::Helper | Key::Unknown => return,
            Key::Call {
                tenant_arg: true, ..
            } => return,
            k if k.is_inherited_method() => return,
            Key::Call { text, name, .. } => {
                let keyish = name_has(name, &["key", "keys", "channel", "topic", "pattern"]);
                if keyish && !self.by_design(&a, how) {
                    let what = match how {
                        Use::Channel { .. } => "Pub/sub channel",
                        _ => "Redis key",
                    };
                    self.out.push(Diagnostic::new(
                        a.range.clone(),
                        format!("{what} from `{text}` gets no tenant value"),
                        format!(
                            "pass the tenant: {name}({}, …), or list `{name}` in [redis] key-helpers if it scopes the key itself",
                            a.tenant
                        ),
                    ));
                }
                return;
            }
        };
        if shape.is_global(global) || shape.has_foreign_prefix() || !shape.has_fixed_text() {
            return;
        }
        let once = match &shape.via {
            Some(v) => format!(
                "{:?}:{v}:{}",
                a.func.as_ref().map(|f| f.start),
                shape.display()
            ),
            None => format!("{}:{}", self.src.pos(a.range.start).line, shape.display()),
        };
        let wild = matches!(how, Use::Pattern | Use::Channel { pattern: true })
            .then(|| pattern_issue(&shape))
            .flatten();
        if let Some(issue) = wild {
            if self.by_design(&a, how) {
                return;
            }
            let display = shape.display();
            let (title, fixed) = match issue {
                Wild::Across => (
                    format!("Redis pattern `{display}` matches keys of every tenant"),
                    a.fixed.clone(),
                ),
                Wild::Prefix(i) => {
                    let mut fixed = shape.clone();
                    if let Some(Part::Lit(l)) = fixed.parts.get_mut(i) {
                        l.insert(0, ':');
                    }
                    (
                        format!("Redis pattern `{display}` also matches tenants whose id starts with the same characters"),
                        Some(fixed),
                    )
                }
            };
            let title = if matches!(how, Use::Channel { .. }) {
                title
                    .replace("Redis pattern", "Pub/sub pattern")
                    .replace("keys of every tenant", "channels of every tenant")
            } else {
                title
            };
            let suggestion = match &fixed {
                Some(f) => self.suggest(&a, f),
                None => format!(
                    "scope the pattern to one tenant: {}:{{{}}}:*",
                    shape.leading().trim_end_matches([':', '*']),
                    a.tenant
                ),
            };
            self.pending
                .push((once, Diagnostic::new(a.range.clone(), title, suggestion)));
            return;
        }
        if let Some(flavor) = shape.tenant() {
            if let Use::Key { write } = how {
                if flavor.is_specific() || write {
                    self.sites.push(Site {
                        range: a.range.clone(),
                        shape: shape.clone(),
                        write,
                        rust: a.rust,
                    });
                }
            }
            return;
        }
        if self.by_design(&a, how) {
            return;
        }
        let display = shape.display();
        let title = match (&a.key, how) {
            (_, Use::Channel { .. }) => {
                format!("Pub/sub channel `{display}` has no tenant component")
            }
            (Key::Built { helper, .. }, _) => {
                format!("Redis key `{display}` built by `{helper}` has no tenant component")
            }
            _ => format!("Redis key `{display}` has no tenant component"),
        };
        let suggestion = match &a.fixed {
            Some(f) => self.suggest(&a, f),
            None => format!("add the tenant after the namespace: …:{{{}}}:…", a.tenant),
        };
        let suggestion = if matches!(how, Use::Channel { .. }) {
            let marker = if a.rust { "//" } else { "#" };
            format!("{suggestion}  (or mark a deliberate fan-out with `{marker} cross-org-by-design: <reason>`)")
        } else {
            suggestion
        };
        self.pending
            .push((once, Diagnostic::new(a.range, title, suggestion)));
    }

    /// `cross-org-by-design:` is honoured for pub/sub only.
    fn by_design(&self, a: &Arg, how: Use) -> bool {
        matches!(how, Use::Channel { .. })
            && keys::cross_org_marked(self.text, a.stmt.clone(), a.func.clone())
    }

    /// A key argument the rule cannot see (a missing MATCH).
    fn unbounded_scan(&mut self, range: Range<usize>, what: &str, tenant: &str, rust: bool) {
        let fix = if rust {
            format!("…_match(format!(\"<namespace>:{{{tenant}}}:*\"))")
        } else {
            format!("scan_iter(match=f\"<namespace>:{{{tenant}}}:*\")")
        };
        self.out.push(Diagnostic::new(
            range,
            format!("{what} without a pattern walks the keys of every tenant"),
            fix,
        ));
    }

    /// Checks across the file's keys: one key family built with two kinds
    /// of tenant id; tenant namespaces the deprovisioning flush forgets.
    fn finish(&mut self, flush: Option<Range<usize>>) {
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_by_key(|(_, d)| d.range.start);
        let mut once = HashSet::new();
        for (k, d) in pending {
            if once.insert(k) {
                self.out.push(d);
            }
        }
        let mut first: BTreeMap<String, usize> = BTreeMap::new();
        let mut reported = HashSet::new();
        self.sites.sort_by_key(|s| s.range.start);
        for (i, s) in self.sites.iter().enumerate() {
            let fam = s.shape.leading().to_string();
            let Some(fl) = s.shape.tenant().filter(|f| f.is_specific()) else {
                continue;
            };
            if fam.trim_matches(':').is_empty() {
                continue;
            }
            let Some(&j) = first.get(&fam) else {
                first.insert(fam, i);
                continue;
            };
            let other = &self.sites[j];
            if other.shape.tenant() == Some(fl) || !reported.insert(s.range.start) {
                continue;
            }
            let mine = s.shape.tenant_text().unwrap_or_default();
            let theirs = other.shape.tenant_text().unwrap_or_default().to_string();
            let line = self.src.pos(other.range.start).line;
            let mut fixed = s.shape.clone();
            for p in &mut fixed.parts {
                if let Part::Hole {
                    text,
                    tenant: Some(_),
                    ..
                } = p
                {
                    *text = theirs.clone();
                    break;
                }
            }
            self.out.push(Diagnostic::new(
                s.range.clone(),
                format!(
                    "Redis key `{}` uses `{mine}` as the tenant, but `{}` (line {line}) uses `{theirs}` for the same `{fam}` keys",
                    s.shape.display(),
                    other.shape.display()
                ),
                format!(
                    "build producer and consumer keys from the same id: {}",
                    if s.rust { fixed.rust() } else { fixed.python() }
                ),
            ));
        }
        let Some(body) = flush else { return };
        let body_text = self.text.get(body).unwrap_or("");
        let mut seen = HashSet::new();
        for s in self.sites.iter().filter(|s| s.write) {
            let Some(ns) = s.shape.namespace(':') else {
                continue;
            };
            if !seen.insert(ns.clone()) || body_text.contains(&format!("{ns}:")) {
                continue;
            }
            let f = &self.cfg.flush_function;
            self.out.push(
                Diagnostic::new(
                    s.range.clone(),
                    format!("Tenant namespace `{ns}` is not flushed by `{f}`"),
                    format!("add the namespace to `{f}`: delete the keys matching \"{ns}:{{org_id}}:*\" when a tenant is deprovisioned"),
                )
                .soft(),
            );
        }
    }
}

/// How a pattern reaches beyond one tenant.
enum Wild {
    /// A wildcard before (or without) the tenant component.
    Across,
    /// A wildcard right after the tenant value (`cache:{org_id}*`); the
    /// index of the literal part that starts with it.
    Prefix(usize),
}

fn pattern_issue(s: &Shape) -> Option<Wild> {
    let wild = |l: &str| l.contains(['*', '?', '[']);
    let mut tenant_at = None;
    for (i, p) in s.parts.iter().enumerate() {
        match p {
            Part::Hole {
                tenant: Some(_), ..
            } if tenant_at.is_none() => tenant_at = Some(i),
            Part::Lit(l) if wild(l) => {
                return match tenant_at {
                    None => Some(Wild::Across),
                    Some(t) if t + 1 == i && l.starts_with(['*', '?', '[']) => {
                        Some(Wild::Prefix(i))
                    }
                    Some(_) => None,
                };
            }
            _ => {}
        }
    }
    None
}

// ---------------------------------------------------------------- Python

struct Py<'a, 'k> {
    keys: &'k PyKeys<'a>,
}

impl<'a> Py<'a, '_> {
    fn src(&self) -> &'a str {
        self.keys.file.src
    }

    fn check(&self, root: Node<'a>, r: &mut Report) {
        let mut calls = Vec::new();
        python::walk(root, &mut |n| {
            if n.kind() == "call" {
                calls.push(n);
            }
        });
        for call in calls {
            self.call(call, r);
        }
    }

    fn call(&self, call: Node<'a>, r: &mut Report) {
        let Some(func) = call
            .child_by_field_name("function")
            .filter(|f| f.kind() == "attribute")
        else {
            return;
        };
        let (Some(obj), Some(attr)) = (
            func.child_by_field_name("object"),
            func.child_by_field_name("attribute"),
        ) else {
            return;
        };
        let method = python::text(attr, self.src());
        let Some(cmd) = command(method) else { return };
        if !self.is_redis(obj, 0) {
            return;
        }
        let src = self.src();
        let positional = python::positional_args(call);
        let splat = |n: &Node| matches!(n.kind(), "list_splat" | "dictionary_splat");
        let tenant = self
            .keys
            .tenant_in_scope(call)
            .unwrap_or_else(|| r.default_tenant.clone());
        match cmd {
            Cmd::Key { write } => {
                let arg = python::keyword_arg(call, "name", src)
                    .or_else(|| positional.first().copied().filter(|a| !splat(a)));
                if let Some(a) = arg {
                    self.arg(call, a, &tenant, Use::Key { write }, r);
                }
            }
            Cmd::Keys => {
                for a in positional.iter().filter(|a| !splat(a)) {
                    let a = py_peel(*a);
                    if matches!(a.kind(), "list" | "tuple") {
                        let mut c = a.walk();
                        let items: Vec<Node> = a.named_children(&mut c).collect();
                        for item in items {
                            self.arg(call, item, &tenant, Use::Key { write: false }, r);
                        }
                    } else {
                        self.arg(call, a, &tenant, Use::Key { write: false }, r);
                    }
                }
            }
            Cmd::Pattern { kw, pos } => {
                match python::keyword_arg(call, kw, src).or_else(|| positional.get(pos).copied()) {
                    Some(a) if !splat(&a) && python::text(a, src) != "None" => {
                        self.arg(call, a, &tenant, Use::Pattern, r)
                    }
                    Some(_) => {}
                    None => {
                        let what = if method == "keys" { "KEYS" } else { "SCAN" };
                        r.unbounded_scan(call.byte_range(), what, &tenant, false);
                    }
                }
            }
            Cmd::Publish => {
                if let Some(a) = python::keyword_arg(call, "channel", src)
                    .or_else(|| positional.first().copied())
                {
                    self.arg(call, a, &tenant, Use::Channel { pattern: false }, r);
                }
            }
            Cmd::Subscribe { pattern } => {
                for a in positional.iter().filter(|a| !splat(a)) {
                    self.arg(call, *a, &tenant, Use::Channel { pattern }, r);
                }
            }
        }
    }

    fn arg(&self, call: Node<'a>, arg: Node<'a>, tenant: &str, how: Use, r: &mut Report) {
        let key = self.keys.key(arg);
        let fixed = key
            .shape()
            .map(|s| s.with_tenant_after_namespace(tenant, ':'));
        let call_text = python::text(call, self.src());
        let call_fix = (!call_text.contains('\n')).then(|| {
            let start = arg.start_byte() - call.start_byte();
            (
                call_text.to_string(),
                start..start + (arg.end_byte() - arg.start_byte()),
            )
        });
        let a = Arg {
            range: arg.byte_range(),
            key,
            fixed,
            tenant,
            rust: false,
            call: call_fix,
            stmt: keys::py_statement(call).byte_range(),
            func: keys::py_function_header(call),
        };
        r.judge(a, how);
    }

    /// Is `recv` a Redis client, pipeline or pub/sub object?
    fn is_redis(&self, recv: Node<'a>, depth: u8) -> bool {
        let src = self.src();
        let r = py_peel(recv);
        if depth > 4 {
            return false;
        }
        match r.kind() {
            "identifier" | "attribute" => {
                let t = python::text(r, src);
                if redis_name(t) {
                    return true;
                }
                match self.keys.file.resolve(t, r) {
                    Some(b) => {
                        b.annotation
                            .is_some_and(|a| redis_type(python::text(a, src)))
                            || b.value.is_some_and(|v| self.is_redis_value(v, depth + 1))
                    }
                    None => false,
                }
            }
            "call" => self.is_redis_value(r, depth + 1),
            _ => false,
        }
    }

    fn is_redis_value(&self, v: Node<'a>, depth: u8) -> bool {
        let src = self.src();
        let v = py_peel(v);
        match v.kind() {
            "call" => {
                let Some(func) = v.child_by_field_name("function") else {
                    return false;
                };
                if func.kind() == "attribute" {
                    let method = func
                        .child_by_field_name("attribute")
                        .map_or("", |a| python::text(a, src));
                    if let Some(obj) = func.child_by_field_name("object") {
                        let chained =
                            matches!(method, "pipeline" | "pubsub" | "client" | "monitor")
                                || command(method).is_some();
                        if chained && self.is_redis(obj, depth) {
                            return true;
                        }
                    }
                }
                let name = python::text(func, src);
                if matches!(
                    name.rsplit('.').next(),
                    Some("Depends" | "Inject" | "Provide")
                ) {
                    return python::positional_args(v)
                        .first()
                        .is_some_and(|a| redis_name(python::text(*a, src)));
                }
                // `redis.Redis(...)`, `aioredis.from_url(...)`, `get_redis()`
                // — not `get_redis_url()`
                !name.contains('(') && name.split('.').any(redis_name)
            }
            "identifier" | "attribute" => self.is_redis(v, depth),
            _ => false,
        }
    }
}

// ---------------------------------------------------------------- Rust

fn check_rust<'a>(f: &'a syn::File, keys: &RsKeys<'a>, r: &mut Report) {
    use syn::visit::Visit;
    struct V<'a, 'k, 'r, 'x, 'o> {
        keys: &'k RsKeys<'a>,
        r: &'r mut Report<'x, 'o>,
        fns: Vec<RsFn<'a>>,
        done: HashSet<usize>,
    }
    impl<'a> Visit<'a> for V<'a, '_, '_, '_, '_> {
        fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
            let range = self.keys.file.range(f.span());
            self.fns
                .push(RsFn::new(&f.sig, &f.block, range, self.keys.file));
            syn::visit::visit_item_fn(self, f);
            self.fns.pop();
        }
        fn visit_impl_item_fn(&mut self, f: &'a syn::ImplItemFn) {
            let range = self.keys.file.range(f.span());
            self.fns
                .push(RsFn::new(&f.sig, &f.block, range, self.keys.file));
            syn::visit::visit_impl_item_fn(self, f);
            self.fns.pop();
        }
        fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
            self.cmd_chain(m);
            self.command(m);
            syn::visit::visit_expr_method_call(self, m);
        }
    }
    impl<'a> V<'a, '_, '_, '_, '_> {
        fn f(&self) -> Option<&RsFn<'a>> {
            self.fns.last()
        }

        fn tenant(&self) -> String {
            self.keys
                .tenant_in_scope(self.f())
                .unwrap_or_else(|| self.r.default_tenant.clone())
        }

        /// `con.set(key, v)`, `pipe.hset(key, f, v)`, `con.publish(ch, m)`.
        fn command(&mut self, m: &'a syn::ExprMethodCall) {
            let method = m.method.to_string();
            let Some(cmd) = rs_command(&method) else {
                return;
            };
            if m.args.is_empty() || !self.is_redis(&m.receiver, 0) {
                return;
            }
            let args: Vec<&'a syn::Expr> = m.args.iter().collect();
            self.dispatch(m, cmd, &args, &method);
        }

        /// `redis::cmd("SET").arg(key).arg(v)`, `pipe.cmd("DEL").arg(k)`.
        fn cmd_chain(&mut self, outer: &'a syn::ExprMethodCall) {
            // outer → inner
            let mut chain: Vec<&'a syn::ExprMethodCall> = vec![outer];
            let mut root = &*outer.receiver;
            while let syn::Expr::MethodCall(inner) = root {
                chain.push(inner);
                root = &inner.receiver;
            }
            chain.reverse();
            let mut i = 0;
            // the root itself may be `redis::cmd("X")`
            let mut current: Option<(String, usize)> = match root {
                syn::Expr::Call(c) => match &*c.func {
                    syn::Expr::Path(p)
                        if p.path.segments.last().is_some_and(|s| s.ident == "cmd") =>
                    {
                        c.args
                            .first()
                            .and_then(lit_str)
                            .map(|n| (n, self.keys.file.range(c.span()).start))
                    }
                    _ => None,
                },
                _ => None,
            };
            while i <= chain.len() {
                // collect the `.arg(...)`s after the current command
                let mut args: Vec<&'a syn::Expr> = Vec::new();
                let start = i;
                while i < chain.len() && chain[i].method == "arg" && chain[i].args.len() == 1 {
                    args.push(&chain[i].args[0]);
                    i += 1;
                }
                if let Some((name, at)) = current.take() {
                    if i > start && self.done.insert(at) {
                        self.cmd_args(chain[i - 1], &name, &args);
                    }
                }
                if i < chain.len() && chain[i].method == "cmd" {
                    current = chain[i]
                        .args
                        .first()
                        .and_then(lit_str)
                        .map(|n| (n, self.keys.file.range(chain[i].span()).start));
                }
                i += 1;
            }
        }

        fn cmd_args(&mut self, last: &'a syn::ExprMethodCall, name: &str, args: &[&'a syn::Expr]) {
            let lower = name.to_ascii_lowercase();
            if lower == "scan" {
                let pat = args
                    .iter()
                    .position(|a| lit_str(a).is_some_and(|s| s.eq_ignore_ascii_case("match")))
                    .and_then(|i| args.get(i + 1));
                match pat {
                    Some(p) => self.arg(last, p, Use::Pattern),
                    None => {
                        let tenant = self.tenant();
                        let range = self.keys.file.range(last.span());
                        self.r.unbounded_scan(range, "SCAN", &tenant, true);
                    }
                }
                return;
            }
            let Some(cmd) = command(&lower) else { return };
            self.dispatch(last, cmd, args, &lower);
        }

        fn dispatch(
            &mut self,
            m: &'a syn::ExprMethodCall,
            cmd: Cmd,
            args: &[&'a syn::Expr],
            method: &str,
        ) {
            match cmd {
                Cmd::Key { write } => {
                    if let Some(a) = args.first() {
                        self.arg(m, a, Use::Key { write });
                    }
                }
                Cmd::Keys => {
                    let list: Vec<&'a syn::Expr> = if method == "mget"
                        || method == "del"
                        || method == "exists"
                        || method == "unlink"
                    {
                        args.iter().take(1).copied().collect()
                    } else {
                        args.to_vec()
                    };
                    for a in list {
                        match rs_peel(a) {
                            syn::Expr::Array(arr) => {
                                for e in &arr.elems {
                                    self.arg(m, e, Use::Key { write: false });
                                }
                            }
                            _ => self.arg(m, a, Use::Key { write: false }),
                        }
                    }
                }
                Cmd::Pattern { .. } => {
                    if let Some(a) = args.first() {
                        self.arg(m, a, Use::Pattern);
                    }
                }
                Cmd::Publish => {
                    if let Some(a) = args.first() {
                        self.arg(m, a, Use::Channel { pattern: false });
                    }
                }
                Cmd::Subscribe { pattern } => {
                    for a in args {
                        self.arg(m, a, Use::Channel { pattern });
                    }
                }
            }
        }

        fn arg(&mut self, m: &'a syn::ExprMethodCall, a: &'a syn::Expr, how: Use) {
            let tenant = self.tenant();
            let key = self.keys.key(a, self.f());
            let fixed = key
                .shape()
                .map(|s| s.with_tenant_after_namespace(&tenant, ':'));
            let range = self.keys.file.range(rs_peel(a).span());
            let call_range = self.keys.file.range(m.span());
            let text = self.r.text;
            let call = text
                .get(call_range.clone())
                .filter(|t| {
                    !t.contains('\n')
                        && range.start >= call_range.start
                        && range.end <= call_range.end
                })
                .map(|t| {
                    let s = range.start - call_range.start;
                    (t.to_string(), s..s + range.len())
                });
            let stmt = call_range.clone();
            let func = self.f().map(|f| f.header.clone());
            self.r.judge(
                Arg {
                    range,
                    key,
                    fixed,
                    tenant: &tenant,
                    rust: true,
                    call,
                    stmt,
                    func,
                },
                how,
            );
        }

        fn is_redis(&self, e: &'a syn::Expr, depth: u8) -> bool {
            if depth > 4 {
                return false;
            }
            match rs_peel(e) {
                syn::Expr::Path(p) => {
                    let Some(name) = p.path.get_ident().map(|i| i.to_string()) else {
                        return false;
                    };
                    if redis_name(&name) {
                        return true;
                    }
                    let at = self.keys.file.range(p.span()).start;
                    let Some(l) = self.f().and_then(|f| f.local(&name, at)) else {
                        return false;
                    };
                    l.ty.is_some_and(|t| redis_type(&quote::quote!(#t).to_string()))
                        || l.init.is_some_and(|i| self.is_redis(i, depth + 1))
                }
                syn::Expr::Field(fe) => match &fe.member {
                    syn::Member::Named(i) => {
                        let name = i.to_string();
                        redis_name(&name)
                            || self
                                .keys
                                .file
                                .fields
                                .get(&name)
                                .is_some_and(|ts| ts.iter().any(|t| redis_type(t)))
                    }
                    syn::Member::Unnamed(_) => false,
                },
                syn::Expr::MethodCall(m) => {
                    let method = m.method.to_string();
                    // Error plumbing around the connection:
                    // `client.get_connection().map_err(internal)?`.
                    if matches!(
                        method.as_str(),
                        "map_err" | "context" | "with_context" | "expect" | "unwrap"
                    ) {
                        return self.is_redis(&m.receiver, depth + 1);
                    }
                    let connects = method.starts_with("get_")
                        && (method.contains("connection") || method.contains("pubsub"));
                    let chained = matches!(
                        method.as_str(),
                        "as_pubsub" | "into_pubsub" | "atomic" | "ignore" | "arg" | "cmd" | "get"
                    ) || rs_command(&method).is_some();
                    (connects || chained) && self.is_redis(&m.receiver, depth + 1)
                        || connects && method.contains("multiplexed")
                }
                syn::Expr::Call(c) => match rs_peel(&c.func) {
                    syn::Expr::Path(p) => {
                        let path = rust::path_string(&p.path);
                        path.split("::").any(|s| s == "redis")
                            || path.contains("ConnectionManager")
                            || path.contains("MultiplexedConnection")
                    }
                    _ => false,
                },
                _ => false,
            }
        }
    }
    let mut v = V {
        keys,
        r,
        fns: Vec::new(),
        done: HashSet::new(),
    };
    v.visit_file(f);
}

fn lit_str(e: &syn::Expr) -> Option<String> {
    match rs_peel(e) {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.value()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::index::ProjectIndex;
    use crate::lang::Language;

    fn rust_suggestions(code: &str) -> Vec<String> {
        let cfg = Config::default();
        let idx = ProjectIndex::default();
        let ctx = Ctx::new(&cfg, &idx, None);
        let f = ParsedFile::parse("src/api/notes.rs", Language::Rust, code).unwrap();
        let mut out = Vec::new();
        check(&ctx, &f, &mut out);
        out.into_iter().map(|d| d.suggestion).collect()
    }

    #[test]
    fn rust_suggestion_names_the_handlers_tenant_expression() {
        let code = r#"
use redis::AsyncCommands;

pub struct AuthUser { pub user_id: Uuid, pub org_id: Uuid }

pub async fn cache_note(
    Extension(user): Extension<AuthUser>,
    Path(note_id): Path<Uuid>,
    mut con: redis::aio::MultiplexedConnection,
) -> redis::RedisResult<()> {
    con.set(format!("notes:{note_id}"), "cached").await
}

pub async fn lease(claims: Claims, mut con: redis::aio::MultiplexedConnection, job: &str) -> redis::RedisResult<()> {
    tracing::info!(org = %claims.org_id, "lease");
    con.set(format!("lease:{job}"), 1).await
}
"#;
        let s = rust_suggestions(code);
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(
            s[0].contains("format!(\"notes:{}:{}\", user.org_id, note_id)"),
            "{}",
            s[0]
        );
        assert!(
            s[1].contains("format!(\"lease:{}:{}\", claims.org_id, job)"),
            "{}",
            s[1]
        );
    }
}
