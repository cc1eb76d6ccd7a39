//! Route discovery and handler flow, shared by the endpoint rules (TL005,
//! TL006, TL012, TL023).
//!
//! A route is a handler function with its HTTP method, full path (router
//! prefixes applied: those of the same file, and for Python those under
//! which another module of the project mounts the router, from the project
//! index) and parameters, found in:
//!
//! - FastAPI / Starlette: `@app.get("/p")`, `@router.post(...)`,
//!   `@router.api_route("/p", methods=[...])`, `add_api_route("/p", h)`,
//!   `Route("/p", endpoint=h)`; `APIRouter(prefix=..., dependencies=[...])`
//!   and `include_router(router, prefix=...)` in the same file or in the
//!   module that imports the router (`from app.api import admin` …
//!   `app.include_router(admin.router, prefix="/admin")`); a
//!   `BaseHTTPMiddleware` subclass's `dispatch` is a middleware route.
//! - Flask: `@app.route("/p", methods=[...])`, `@bp.post(...)`,
//!   `Blueprint(..., url_prefix=...)`, `register_blueprint(bp, url_prefix=)`,
//!   `add_url_rule`; `before_request` functions are middleware routes.
//! - axum: `Router::new().route("/p", post(h).get(g))`, `.nest("/api", …)`
//!   inline or through a router-building function of the same file.
//! - actix-web: `#[post("/p")]`, `#[route("/p", method = "POST")]`,
//!   `web::resource("/p").route(web::post().to(h))`, `.route("/p",
//!   web::post().to(h))`, `web::scope("/api")`.
//!
//! The flow of a handler is its calls and comparisons in execution order
//! (by where each ends), with the calls made by helpers defined in the
//! same file inlined one level deep at their call site.

use crate::lang::rust::{path_string, span_range};
use crate::lang::{python, SourceText};
use std::collections::HashMap;
use std::ops::Range;
use syn::spanned::Spanned;
use tree_sitter::Node;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    FastApi,
    Flask,
    Starlette,
    Axum,
    Actix,
}

/// Where a handler parameter comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamKind {
    /// A segment of the route path (`{doc_id}`, `<int:id>`, `Path(id)`).
    Path,
    /// The query string (`Query(...)`, a scalar FastAPI parameter).
    Query,
    /// The request body, with the model's name (`payload: EventIn`, `Json<T>`).
    Body(String),
    /// The raw request (`Request`, `Bytes`, `String` body).
    Request,
    /// A header or cookie.
    Header,
    /// A dependency or extractor: `Depends(get_user)` → `get_user`,
    /// axum `AdminUser` → `AdminUser`.
    Depends(String),
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
    pub range: Range<usize>,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub framework: Framework,
    /// Upper-case method (`POST`), `ANY` when not restricted, `*` for a
    /// middleware.
    pub method: String,
    /// The full path with the prefixes found in the same file; `*` for a
    /// middleware.
    pub path: String,
    /// The handler's function name (`Class.dispatch` for a middleware).
    pub handler: String,
    /// The whole function definition.
    pub fn_range: Range<usize>,
    /// The handler's name, where findings are reported.
    pub name_range: Range<usize>,
    pub params: Vec<Param>,
    /// Route- and router-level dependencies (`dependencies=[Depends(x)]`).
    pub dependencies: Vec<String>,
    pub middleware: bool,
}

impl Route {
    /// Names of the path parameters.
    pub fn path_params(&self) -> Vec<&str> {
        self.params
            .iter()
            .filter(|p| p.kind == ParamKind::Path)
            .map(|p| p.name.as_str())
            .collect()
    }

    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Every dependency: route-level ones and those in the signature.
    pub fn all_dependencies(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.dependencies.iter().map(String::as_str).collect();
        out.extend(self.params.iter().filter_map(|p| match &p.kind {
            ParamKind::Depends(d) => Some(d.as_str()),
            _ => None,
        }));
        out
    }
}

/// Names of the parameters in a route path: `{id}`, `{id:path}`,
/// `<int:id>`, `:id`, `*rest`.
pub fn path_placeholders(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(i) = rest.find(['{', '<']) {
        let close = if rest[i..].starts_with('{') { '}' } else { '>' };
        let Some(j) = rest[i..].find(close) else {
            break;
        };
        let inner = &rest[i + 1..i + j];
        let name = if close == '>' {
            inner.rsplit(':').next().unwrap_or(inner)
        } else {
            inner.split(':').next().unwrap_or(inner)
        };
        let name = name.trim().trim_start_matches('*');
        if !name.is_empty() {
            out.push(name.to_string());
        }
        rest = &rest[i + j + 1..];
    }
    for seg in path.split('/') {
        if let Some(n) = seg.strip_prefix(':').or_else(|| seg.strip_prefix('*')) {
            if !n.is_empty() && !out.iter().any(|o| o == n) {
                out.push(n.to_string());
            }
        }
    }
    out
}

/// `pattern` with `*` wildcards against `name`, case-insensitively. A
/// dotted name matches when the pattern matches it whole or its last part.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let p = pattern.to_ascii_lowercase();
    let n = name.to_ascii_lowercase();
    let last = n.rsplit(['.', ':']).next().unwrap_or(&n);
    glob(&p, &n) || glob(&p, last)
}

pub fn any_matches(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|p| name_matches(p, name))
}

fn glob(p: &str, s: &str) -> bool {
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == s;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !s.starts_with(first) || s.len() < first.len() + last.len() || !s.ends_with(last) {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

fn join_path(prefix: &str, path: &str) -> String {
    if prefix.is_empty() {
        return path.to_string();
    }
    let p = prefix.trim_end_matches('/');
    if path.is_empty() || path == "/" {
        return if p.is_empty() { "/".into() } else { p.into() };
    }
    if path.starts_with('/') {
        format!("{p}{path}")
    } else {
        format!("{p}/{path}")
    }
}

const HTTP_METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "options"];

/// Words one of which names every Python route form above: a framework
/// import, a router constructor (`ROUTER_CTORS`) or a registration call.
const PY_ROUTE_WORDS: &[&str] = &[
    "fastapi",
    "flask",
    "starlette",
    "quart",
    "apirouter",
    "blueprint",
    "add_api_route",
    "add_url_rule",
    "basehttpmiddleware",
];

/// Words one of which names every Rust route form above: a `route` /
/// `resource` call or a verb attribute, bare (`#[get(`) or by its path
/// (`#[rocket::get(`, any attribute whose last segment is a verb).
const RS_ROUTE_WORDS: &[&str] = &[
    "route",
    "resource",
    "actix",
    "#[get",
    "#[post",
    "#[put",
    "#[patch",
    "#[delete",
    "#[head",
    "#[options",
    "::get(",
    "::post(",
    "::put(",
    "::patch(",
    "::delete(",
    "::head(",
    "::options(",
];

/// Every word [`may_declare_routes`] looks for, both languages: trigger
/// words for a rule that can only fire on a route.
pub fn route_words() -> Vec<String> {
    PY_ROUTE_WORDS
        .iter()
        .chain(RS_ROUTE_WORDS)
        .map(|w| w.to_string())
        .collect()
}

/// The words of the router constructors: a module whose router another
/// module mounts (`include_router`, `register_blueprint`) constructs it.
/// A rule reading words of a route's path (TL005, TL012) triggers on them
/// too, since the mount prefix is written in the mounting module.
pub fn router_ctor_words() -> Vec<String> {
    ROUTER_CTORS
        .iter()
        .map(|(c, _)| c.to_ascii_lowercase())
        .collect()
}

/// Can `text` declare a route this module discovers? Every form above
/// names its framework, router constructor or registration call (Python)
/// or a `route`/`resource` call or verb attribute (Rust). The endpoint
/// rules use it as their pre-filter gate: without a route they cannot fire.
pub fn may_declare_routes(lang: crate::lang::Language, text: &str) -> bool {
    use aho_corasick::AhoCorasick;
    use std::sync::LazyLock;
    fn matcher(words: &[&str]) -> AhoCorasick {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(words)
            .unwrap_or_else(|_| AhoCorasick::new(Vec::<String>::new()).expect("empty matcher"))
    }
    static PY: LazyLock<AhoCorasick> = LazyLock::new(|| matcher(PY_ROUTE_WORDS));
    static RS: LazyLock<AhoCorasick> = LazyLock::new(|| matcher(RS_ROUTE_WORDS));
    match lang {
        crate::lang::Language::Python => PY.is_match(text),
        crate::lang::Language::Rust => RS.is_match(text),
        crate::lang::Language::Sql => false,
    }
}

/// Can a route of the file at `path` have a literal path segment holding
/// one of `words` ([`path_has_word`])? The segment is written in the file
/// (a route, router or mount prefix) or, for a Python module, in the
/// prefix under which another module mounts its router.
pub fn may_have_path_word(
    index: &crate::index::ProjectIndex,
    path: &str,
    text: &str,
    words: &[String],
) -> bool {
    let lower = |s: &str| s.to_ascii_lowercase();
    let hit = |s: &str| {
        let s = lower(s);
        words.iter().any(|w| !w.is_empty() && s.contains(&lower(w)))
    };
    hit(text)
        || index
            .mounts
            .iter()
            .any(|m| crate::index::is_module(path, &m.module) && hit(&m.prefix))
}

// ---------------------------------------------------------------- Python

/// A Python route and its function node.
pub struct PyRoute<'t> {
    pub route: Route,
    pub func: Node<'t>,
}

/// A router object of the file: its prefix and dependencies.
#[derive(Default, Clone)]
struct Router {
    prefix: String,
    deps: Vec<String>,
    flask: bool,
}

const ROUTER_CTORS: &[(&str, bool)] = &[
    ("APIRouter", false),
    ("FastAPI", false),
    ("Starlette", false),
    ("Flask", true),
    ("Quart", true),
    ("Blueprint", true),
];

/// The routes of a Python file; `mounted` gives the prefix under which
/// another module of the project mounts one of its routers.
pub fn python_routes<'t>(
    root: Node<'t>,
    src: &str,
    mounted: &dyn Fn(&str) -> Option<String>,
) -> Vec<PyRoute<'t>> {
    let imports = python::imports(root, src);
    let web = imports.iter().any(|(m, _, _)| {
        let top = m.split('.').next().unwrap_or("");
        matches!(top, "fastapi" | "flask" | "starlette" | "quart")
    });
    let flask_file = imports
        .iter()
        .any(|(m, _, _)| m.starts_with("flask") || m.starts_with("quart"));
    // Routers and their prefixes.
    let mut routers: HashMap<String, Router> = HashMap::new();
    python::walk(root, &mut |n| {
        if n.kind() != "assignment" {
            return;
        }
        let (Some(l), Some(r)) = (
            n.child_by_field_name("left"),
            n.child_by_field_name("right"),
        ) else {
            return;
        };
        if r.kind() != "call" {
            return;
        }
        let Some(ctor) = python::call_name(r, src) else {
            return;
        };
        let last = ctor.rsplit('.').next().unwrap_or("");
        let Some(&(_, flask)) = ROUTER_CTORS.iter().find(|(c, _)| *c == last) else {
            return;
        };
        let Some(var) = python::dotted_name(l, src) else {
            return;
        };
        let kw = if flask { "url_prefix" } else { "prefix" };
        let prefix = python::keyword_arg(r, kw, src)
            .and_then(|v| python::string_value(v, src))
            .unwrap_or_default();
        let deps = python::keyword_arg(r, "dependencies", src)
            .map(|d| depends_in(d, src))
            .unwrap_or_default();
        routers.insert(
            var,
            Router {
                prefix,
                deps,
                flask,
            },
        );
    });
    let mounts = python::router_mounts(root, src);
    for (var, prefix) in &mounts {
        if let Some(r) = routers.get_mut(var) {
            r.prefix = join_path(prefix, &r.prefix);
        }
    }
    // Routers mounted by another module of the project.
    for (var, r) in routers.iter_mut() {
        if !mounts.iter().any(|(v, _)| v == var) {
            if let Some(prefix) = mounted(var) {
                r.prefix = join_path(&prefix, &r.prefix);
            }
        }
    }
    let functions = python::top_level_functions_by_name(root, src);
    let aliases = annotated_aliases(root, src);
    let mut out = Vec::new();
    python::walk(root, &mut |n| match n.kind() {
        "decorated_definition" => {
            let Some(func) = n
                .child_by_field_name("definition")
                .filter(|f| f.kind() == "function_definition")
            else {
                return;
            };
            let mut c = n.walk();
            for dec in n.named_children(&mut c).filter(|d| d.kind() == "decorator") {
                let Some(call) = dec.named_child(0).filter(|x| x.kind() == "call") else {
                    continue;
                };
                let Some(f) = call
                    .child_by_field_name("function")
                    .filter(|f| f.kind() == "attribute")
                else {
                    continue;
                };
                let (Some(obj), Some(attr)) = (
                    f.child_by_field_name("object"),
                    f.child_by_field_name("attribute"),
                ) else {
                    continue;
                };
                let recv = python::dotted_name(obj, src).unwrap_or_default();
                let router = routers.get(&recv);
                if router.is_none() && !web {
                    continue;
                }
                let attr = python::text(attr, src);
                let flask = router.map_or(flask_file, |r| r.flask);
                let method = match attr {
                    m if HTTP_METHODS.contains(&m) => m.to_ascii_uppercase(),
                    "route" | "api_route" => methods_kw(call, src).unwrap_or_else(|| {
                        if flask || attr == "route" {
                            "GET".into()
                        } else {
                            "ANY".into()
                        }
                    }),
                    _ => continue,
                };
                let Some(path) = python::positional_args(call)
                    .first()
                    .copied()
                    .or_else(|| python::keyword_arg(call, "path", src))
                    .or_else(|| python::keyword_arg(call, "rule", src))
                    .and_then(|p| python::string_value(p, src))
                else {
                    continue;
                };
                let router = router.cloned().unwrap_or_default();
                let mut deps = router.deps.clone();
                if let Some(d) = python::keyword_arg(call, "dependencies", src) {
                    deps.extend(depends_in(d, src));
                }
                let framework = if flask {
                    Framework::Flask
                } else {
                    Framework::FastApi
                };
                out.push(py_route(
                    func,
                    src,
                    framework,
                    method,
                    join_path(&router.prefix, &path),
                    deps,
                    &aliases,
                ));
            }
            // Flask `before_request`: a middleware for its blueprint/app.
            let mut c = n.walk();
            let before = n.named_children(&mut c).any(|d| {
                d.kind() == "decorator"
                    && python::text(d, src).trim_end().ends_with(".before_request")
            });
            if before {
                let mut r = py_route(
                    func,
                    src,
                    Framework::Flask,
                    "*".into(),
                    "*".into(),
                    Vec::new(),
                    &aliases,
                );
                r.route.middleware = true;
                out.push(r);
            }
        }
        "call" => {
            // add_api_route("/p", h, methods=[..]) / add_url_rule("/p",
            // view_func=h) / Route("/p", endpoint=h).
            let Some(name) = python::call_name(n, src) else {
                return;
            };
            let last = name.rsplit('.').next().unwrap_or("");
            let (handler_kw, framework) = match last {
                "add_api_route" => ("endpoint", Framework::FastApi),
                "add_url_rule" => ("view_func", Framework::Flask),
                "Route" | "APIRoute" if web => ("endpoint", Framework::Starlette),
                _ => return,
            };
            let args = python::positional_args(n);
            let Some(path) = args.first().and_then(|p| python::string_value(*p, src)) else {
                return;
            };
            let handler = python::keyword_arg(n, handler_kw, src).or_else(|| {
                args.get(if last == "add_url_rule" { 2 } else { 1 })
                    .copied()
            });
            let Some(h) = handler.filter(|h| h.kind() == "identifier") else {
                return;
            };
            let Some(func) = functions.get(python::text(h, src)).copied() else {
                return;
            };
            let recv = name.rsplit_once('.').map(|(r, _)| r).unwrap_or("");
            let router = routers.get(recv).cloned().unwrap_or_default();
            let method = methods_kw(n, src).unwrap_or_else(|| {
                if framework == Framework::FastApi {
                    "ANY".into()
                } else {
                    "GET".into()
                }
            });
            let mut deps = router.deps.clone();
            if let Some(d) = python::keyword_arg(n, "dependencies", src) {
                deps.extend(depends_in(d, src));
            }
            out.push(py_route(
                func,
                src,
                framework,
                method,
                join_path(&router.prefix, &path),
                deps,
                &aliases,
            ));
        }
        "class_definition" => {
            let inherits = n
                .child_by_field_name("superclasses")
                .is_some_and(|s| python::text(s, src).contains("BaseHTTPMiddleware"));
            if !inherits {
                return;
            }
            let class = n
                .child_by_field_name("name")
                .map(|x| python::text(x, src))
                .unwrap_or("");
            let Some(body) = n.child_by_field_name("body") else {
                return;
            };
            let mut c = body.walk();
            for item in body.named_children(&mut c) {
                let f = if item.kind() == "decorated_definition" {
                    item.child_by_field_name("definition")
                } else {
                    Some(item)
                };
                let Some(f) = f.filter(|f| f.kind() == "function_definition") else {
                    continue;
                };
                if f.child_by_field_name("name")
                    .is_some_and(|x| python::text(x, src) == "dispatch")
                {
                    let mut r = py_route(
                        f,
                        src,
                        Framework::Starlette,
                        "*".into(),
                        "*".into(),
                        Vec::new(),
                        &aliases,
                    );
                    r.route.handler = format!("{class}.dispatch");
                    r.route.middleware = true;
                    out.push(r);
                }
            }
        }
        _ => {}
    });
    out
}

/// `methods=["POST", ...]` of a route decorator or registration.
fn methods_kw(call: Node, src: &str) -> Option<String> {
    let list = python::keyword_arg(call, "methods", src)?;
    let mut c = list.walk();
    let methods: Vec<String> = list
        .named_children(&mut c)
        .filter_map(|m| python::string_value(m, src))
        .map(|m| m.to_ascii_uppercase())
        .collect();
    (!methods.is_empty()).then(|| methods.join(","))
}

/// The callables named in `Depends(x)` / `Security(x)` inside `node`.
fn depends_in(node: Node, src: &str) -> Vec<String> {
    let mut out = Vec::new();
    python::walk(node, &mut |n| {
        if n.kind() != "call" {
            return;
        }
        let name = python::call_name(n, src).unwrap_or_default();
        let last = name.rsplit('.').next().unwrap_or("");
        if matches!(last, "Depends" | "Security") {
            if let Some(a) = python::positional_args(n)
                .first()
                .copied()
                .or_else(|| python::keyword_arg(n, "dependency", src))
            {
                let a = if a.kind() == "call" {
                    a.child_by_field_name("function").unwrap_or(a)
                } else {
                    a
                };
                if let Some(d) = python::dotted_name(a, src) {
                    out.push(d);
                }
            }
        }
    });
    out
}

/// Module-level `CurrentUser = Annotated[User, Depends(get_current_user)]`
/// aliases: alias → the dependency.
fn annotated_aliases(root: Node, src: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut c = root.walk();
    for st in root.named_children(&mut c) {
        let Some(a) = st.named_child(0).filter(|a| a.kind() == "assignment") else {
            continue;
        };
        let (Some(l), Some(r)) = (
            a.child_by_field_name("left"),
            a.child_by_field_name("right"),
        ) else {
            continue;
        };
        if l.kind() == "identifier" && python::text(r, src).starts_with("Annotated[") {
            if let Some(d) = depends_in(r, src).into_iter().next() {
                out.insert(python::text(l, src).to_string(), d);
            }
        }
    }
    out
}

fn py_route<'t>(
    func: Node<'t>,
    src: &str,
    framework: Framework,
    method: String,
    path: String,
    dependencies: Vec<String>,
    aliases: &HashMap<String, String>,
) -> PyRoute<'t> {
    let name = func.child_by_field_name("name");
    let placeholders = path_placeholders(&path);
    let mut params = Vec::new();
    if let Some(ps) = func.child_by_field_name("parameters") {
        let mut c = ps.walk();
        for p in ps.named_children(&mut c) {
            let ident = match p.kind() {
                "identifier" => Some(p),
                "typed_parameter" => p.named_child(0).filter(|i| i.kind() == "identifier"),
                "default_parameter" | "typed_default_parameter" => p
                    .child_by_field_name("name")
                    .filter(|i| i.kind() == "identifier"),
                _ => None,
            };
            let Some(ident) = ident else { continue };
            let pname = python::text(ident, src).to_string();
            if pname == "self" || pname == "cls" {
                continue;
            }
            let ty = p.child_by_field_name("type").map(|t| python::text(t, src));
            let default = p.child_by_field_name("value");
            let kind = param_kind(&pname, ty, default, src, &placeholders, framework, aliases);
            params.push(Param {
                name: pname,
                kind,
                range: p.byte_range(),
            });
        }
    }
    PyRoute {
        route: Route {
            framework,
            method,
            path,
            handler: name
                .map(|n| python::text(n, src).to_string())
                .unwrap_or_default(),
            fn_range: func.byte_range(),
            name_range: name.map_or(func.byte_range(), |n| n.byte_range()),
            params,
            dependencies,
            middleware: false,
        },
        func,
    }
}

fn param_kind(
    name: &str,
    ty: Option<&str>,
    default: Option<Node>,
    src: &str,
    placeholders: &[String],
    framework: Framework,
    aliases: &HashMap<String, String>,
) -> ParamKind {
    if placeholders.iter().any(|p| p == name) {
        return ParamKind::Path;
    }
    if let Some(d) = default {
        if d.kind() == "call" {
            let f = python::call_name(d, src).unwrap_or_default();
            match f.rsplit('.').next().unwrap_or("") {
                "Depends" | "Security" => {
                    return ParamKind::Depends(depends_in(d, src).pop().unwrap_or_default())
                }
                "Query" => return ParamKind::Query,
                "Header" | "Cookie" => return ParamKind::Header,
                "Path" => return ParamKind::Path,
                "Body" | "Form" | "File" => return ParamKind::Body(ty.unwrap_or("").to_string()),
                _ => {}
            }
        }
    }
    let ty = ty.unwrap_or("").trim();
    if let Some(d) = aliases.get(ty) {
        return ParamKind::Depends(d.clone());
    }
    if ty.starts_with("Annotated[") {
        for (marker, kind) in [
            ("Depends(", None),
            ("Security(", None),
            ("Query(", Some(ParamKind::Query)),
            ("Header(", Some(ParamKind::Header)),
            ("Cookie(", Some(ParamKind::Header)),
            ("Path(", Some(ParamKind::Path)),
            ("Body(", Some(ParamKind::Body(String::new()))),
        ] {
            if ty.contains(marker) {
                return match kind {
                    Some(k) => k,
                    None => {
                        let dep = ty
                            .split(marker)
                            .nth(1)
                            .map(|s| s.split([')', ',', '(']).next().unwrap_or("").trim())
                            .unwrap_or("");
                        ParamKind::Depends(dep.to_string())
                    }
                };
            }
        }
    }
    let base = ty.rsplit('.').next().unwrap_or(ty);
    if matches!(
        base,
        "Request" | "HTTPConnection" | "WebSocket" | "BackgroundTasks" | "Response"
    ) {
        return ParamKind::Request;
    }
    if framework != Framework::Flask
        && base.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && !matches!(
            base,
            "UUID" | "Optional" | "List" | "Literal" | "Decimal" | "Any" | "Union"
        )
        && !base.starts_with("Optional[")
    {
        return ParamKind::Body(base.to_string());
    }
    ParamKind::Query
}

/// Words that make a name a tenant identifier besides the configured
/// tenant columns (`org_slug`, `tenant`, `organization`).
const TENANT_PIECES: &[&str] = &["org", "tenant", "organization", "organisation", "workspace"];

/// A name that identifies a tenant: a tenant column (`org_id`) or a name
/// with a tenant word as a piece (`org_slug`, `tenant`, `caller_org`).
pub fn tenant_named(name: &str, columns: &[String]) -> bool {
    let last = name.rsplit(['.', ':']).next().unwrap_or(name);
    if columns.iter().any(|c| c.eq_ignore_ascii_case(last)) {
        return true;
    }
    let pieces = super::names::split_pieces(last);
    pieces.iter().any(|p| TENANT_PIECES.contains(&p.as_str()))
        && !pieces
            .iter()
            .any(|p| matches!(p.as_str(), "name" | "names" | "count" | "type" | "url"))
}

/// Byte offsets of `name` used as a value in `text`: not an attribute
/// (`x.name`), a string key (`"name"`) or a keyword name (`name=`).
pub fn value_uses(text: &str, name: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text
        .get(from..)
        .and_then(|t| t.find(name))
        .map(|i| i + from)
    {
        from = i + name.len();
        let before = i.checked_sub(1).map(|j| b[j]);
        let after = b.get(from).copied();
        if before.is_some_and(|c| word(c) || c == b'.' || c == b'"' || c == b'\'')
            || after.is_some_and(|c| word(c) || c == b'"' || c == b'\'')
        {
            continue;
        }
        let rest = text[from..].trim_start();
        if rest.starts_with('=') && !rest.starts_with("==")
            || rest.starts_with(':') && !rest.starts_with("::")
        {
            continue;
        }
        out.push(i);
    }
    out
}

/// A route with a literal path segment containing one of `words`
/// (`/admin/...`, `/webhooks/...`); placeholders never count.
pub fn path_has_word(r: &Route, words: &[String]) -> bool {
    if r.middleware {
        return false;
    }
    let placeholders = path_placeholders(&r.path);
    r.path.to_ascii_lowercase().split('/').any(|seg| {
        !seg.is_empty()
            && !placeholders
                .iter()
                .any(|p| seg.contains(&p.to_ascii_lowercase()))
            && words
                .iter()
                .any(|w| !w.is_empty() && seg.contains(&w.to_ascii_lowercase()))
    })
}

/// Code on one line, cut to `max` characters, for messages.
pub fn short(text: &str, max: usize) -> String {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > max {
        let head: String = t.chars().take(max.saturating_sub(3)).collect();
        format!("{head}...")
    } else {
        t
    }
}

/// Clauses joined into one sentence: `a; b.` with a capital first letter.
pub fn sentence(parts: &[String]) -> String {
    let joined = parts.join("; ");
    let mut chars = joined.chars();
    match chars.next() {
        Some(c) => format!("{}{}.", c.to_uppercase(), chars.as_str()),
        None => joined,
    }
}

/// A route of a file, outside test code, with its flow and the byte range
/// of its body.
pub struct Endpoint {
    pub route: Route,
    pub flow: Flow,
    pub body: Range<usize>,
}

/// Every route of a parsed Python or Rust file outside test code,
/// discovered once per file for all the endpoint rules.
pub fn endpoints(
    file: &crate::lang::ParsedFile,
    index: &crate::index::ProjectIndex,
) -> std::sync::Arc<Endpoints> {
    file.derived(|f| Endpoints(discover(f, index)))
}

/// The endpoints of one file.
pub struct Endpoints(pub Vec<Endpoint>);

fn discover(file: &crate::lang::ParsedFile, index: &crate::index::ProjectIndex) -> Vec<Endpoint> {
    use crate::lang::Syntax;
    let mut out = Vec::new();
    match &file.syntax {
        Syntax::Python(tree) => {
            let root = tree.root_node();
            let src = file.text();
            let mounted = |router: &str| index.mount_prefix(&file.path, router);
            for r in python_routes(root, src, &mounted) {
                if python::in_test_function(r.func, src) {
                    continue;
                }
                let body = r
                    .func
                    .child_by_field_name("body")
                    .map_or(0..0, |b| b.byte_range());
                out.push(Endpoint {
                    flow: python_flow(r.func, root, src),
                    route: r.route,
                    body,
                });
            }
        }
        Syntax::Rust(f) => {
            for r in rust_routes(f, &file.src) {
                if crate::lang::rust::is_test_attr(&r.func.attrs) {
                    continue;
                }
                out.push(Endpoint {
                    flow: rust_flow(r.func, f, &file.src),
                    body: span_range(r.func.block.span(), &file.src),
                    route: r.route,
                });
            }
        }
        Syntax::Sql(_) => {}
    }
    out
}

// ---------------------------------------------------------------- flow

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Call,
    /// A comparison (`a == b`, `a != b`, `a < b`, …).
    Compare,
}

/// One call or comparison of a handler.
#[derive(Debug, Clone)]
pub struct Step {
    pub kind: StepKind,
    /// Where it happens in the handler: its own end, or the end of the
    /// call to the helper it is in.
    pub at: usize,
    /// Its range in the handler (the helper call for inlined steps).
    pub range: Range<usize>,
    /// Called name (`db.add`, `hmac.compare_digest`, `sqlx::query`); for a
    /// comparison, its text.
    pub name: String,
    /// Argument texts (a comparison's two sides).
    pub args: Vec<String>,
    /// The whole call's text.
    pub text: String,
    /// The same-file helper this step was inlined from.
    pub via: Option<String>,
    /// A call to a helper defined in the same file (its calls are
    /// inlined after it).
    pub local: bool,
}

impl Step {
    /// The last part of the called name (`compare_digest`, `add`).
    pub fn method(&self) -> &str {
        self.name.rsplit(['.', ':']).next().unwrap_or(&self.name)
    }

    /// The receiver part of the called name (`db` of `db.add`).
    pub fn receiver(&self) -> &str {
        self.name
            .rsplit_once('.')
            .map(|(r, _)| r)
            .unwrap_or_default()
    }
}

/// A handler's steps in execution order and the text they come from
/// (handler and inlined helpers), for status codes and markers.
#[derive(Debug, Default)]
pub struct Flow {
    pub steps: Vec<Step>,
    pub text: String,
}

impl Flow {
    /// Steps that are calls.
    pub fn calls(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.kind == StepKind::Call)
    }

    /// The first call satisfying `f`.
    pub fn first_call(&self, f: impl Fn(&Step) -> bool) -> Option<&Step> {
        self.calls().find(|s| f(s))
    }
}

/// The flow of a Python handler.
pub fn python_flow(func: Node, root: Node, src: &str) -> Flow {
    let helpers = python::top_level_functions_by_name(root, src);
    let own = func
        .child_by_field_name("name")
        .map(|n| python::text(n, src))
        .unwrap_or("");
    let mut flow = Flow {
        steps: Vec::new(),
        text: python::text(func, src).to_string(),
    };
    let Some(body) = func.child_by_field_name("body") else {
        return flow;
    };
    py_steps(body, src, None, &mut flow.steps);
    let mut inlined = Vec::new();
    for s in &mut flow.steps {
        if s.kind != StepKind::Call || s.name.contains('.') || s.name == own {
            continue;
        }
        let Some(h) = helpers.get(&s.name) else {
            continue;
        };
        s.local = true;
        let mut inner = Vec::new();
        if let Some(b) = h.child_by_field_name("body") {
            py_steps(b, src, Some(&s.name), &mut inner);
        }
        for mut i in inner {
            i.at = s.at;
            i.range = s.range.clone();
            inlined.push(i);
        }
        flow.text.push('\n');
        flow.text.push_str(python::text(*h, src));
    }
    flow.steps.extend(inlined);
    flow.steps.sort_by_key(|s| (s.at, s.via.is_none()));
    flow
}

fn py_steps(body: Node, src: &str, via: Option<&str>, out: &mut Vec<Step>) {
    python::walk(body, &mut |n| match n.kind() {
        "call" => {
            let Some(name) = python::call_name(n, src) else {
                return;
            };
            let mut args = Vec::new();
            if let Some(a) = n.child_by_field_name("arguments") {
                let mut c = a.walk();
                for x in a.named_children(&mut c) {
                    let x = if x.kind() == "keyword_argument" {
                        x.child_by_field_name("value").unwrap_or(x)
                    } else {
                        x
                    };
                    args.push(python::text(x, src).to_string());
                }
            }
            out.push(Step {
                kind: StepKind::Call,
                at: n.end_byte(),
                range: n.byte_range(),
                name,
                args,
                text: python::text(n, src).to_string(),
                via: via.map(String::from),
                local: false,
            });
        }
        "comparison_operator" => {
            let mut c = n.walk();
            let sides: Vec<String> = n
                .named_children(&mut c)
                .map(|x| python::text(x, src).to_string())
                .collect();
            out.push(Step {
                kind: StepKind::Compare,
                at: n.end_byte(),
                range: n.byte_range(),
                name: python::text(n, src).to_string(),
                args: sides,
                text: python::text(n, src).to_string(),
                via: via.map(String::from),
                local: false,
            });
        }
        _ => {}
    });
}

// ---------------------------------------------------------------- Rust

/// A Rust route and its handler function.
pub struct RsRoute<'a> {
    pub route: Route,
    pub func: &'a syn::ItemFn,
}

/// Free functions of a file (top level and inline modules) by name.
pub fn rust_functions(file: &syn::File) -> HashMap<String, &syn::ItemFn> {
    fn collect<'a>(items: &'a [syn::Item], out: &mut HashMap<String, &'a syn::ItemFn>) {
        for i in items {
            match i {
                syn::Item::Fn(f) => {
                    out.insert(f.sig.ident.to_string(), f);
                }
                syn::Item::Mod(m) => {
                    if let Some((_, items)) = &m.content {
                        collect(items, out);
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = HashMap::new();
    collect(&file.items, &mut out);
    out
}

fn lit_str(e: &syn::Expr) -> Option<String> {
    match crate::lang::rust::peel(e) {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.value()),
        _ => None,
    }
}

fn last_segment(e: &syn::Expr) -> Option<String> {
    match crate::lang::rust::peel(e) {
        syn::Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// The innermost receiver of a method chain.
fn chain_root(mut e: &syn::Expr) -> &syn::Expr {
    while let syn::Expr::MethodCall(m) = e {
        e = &m.receiver;
    }
    e
}

/// `web::scope("/x")` / `web::resource("/x")`: the function and path.
fn ctor_with_path(e: &syn::Expr) -> Option<(String, String)> {
    if let syn::Expr::Call(c) = e {
        let f = last_segment(&c.func)?;
        let p = lit_str(c.args.first()?)?;
        return Some((f, p));
    }
    None
}

/// Methods and handler names of an axum method router (`post(h).get(g)`,
/// `routing::post(h)`, `on(MethodFilter::POST, h)`) or an actix route
/// (`web::post().to(h)`).
fn method_handlers(e: &syn::Expr) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cur = crate::lang::rust::peel(e);
    loop {
        match cur {
            syn::Expr::MethodCall(m) => {
                let method = m.method.to_string();
                if HTTP_METHODS.contains(&method.as_str()) || method == "any" {
                    if let Some(h) = m.args.first().and_then(last_segment) {
                        out.push((method.to_ascii_uppercase(), h));
                    }
                } else if method == "to" {
                    // actix: web::post().to(h) / web::route().method(..).to(h)
                    let verb = match crate::lang::rust::peel(&m.receiver) {
                        syn::Expr::Call(c) => last_segment(&c.func),
                        _ => None,
                    }
                    .filter(|v| HTTP_METHODS.contains(&v.as_str()))
                    .map(|v| v.to_ascii_uppercase())
                    .unwrap_or_else(|| "ANY".into());
                    if let Some(h) = m.args.first().and_then(last_segment) {
                        out.push((verb, h));
                    }
                    return out;
                }
                cur = &m.receiver;
            }
            syn::Expr::Call(c) => {
                let f = last_segment(&c.func).unwrap_or_default();
                if HTTP_METHODS.contains(&f.as_str()) || f == "any" {
                    if let Some(h) = c.args.first().and_then(last_segment) {
                        out.push((f.to_ascii_uppercase(), h));
                    }
                } else if f == "on" && c.args.len() == 2 {
                    let filter = match &c.args[0] {
                        syn::Expr::Path(p) => path_string(&p.path),
                        _ => String::new(),
                    };
                    let verb = filter.rsplit("::").next().unwrap_or("ANY").to_string();
                    if let Some(h) = last_segment(&c.args[1]) {
                        out.push((verb, h));
                    }
                }
                return out;
            }
            _ => return out,
        }
    }
}

pub fn rust_routes<'a>(file: &'a syn::File, src: &SourceText) -> Vec<RsRoute<'a>> {
    use syn::visit::Visit;
    let fns = rust_functions(file);
    // Pass 1: `.nest("/p", build())` with `build` a function of this file.
    struct Nests(HashMap<String, String>);
    impl<'a> Visit<'a> for Nests {
        fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
            if m.method == "nest" && m.args.len() == 2 {
                if let (Some(p), syn::Expr::Call(c)) =
                    (lit_str(&m.args[0]), crate::lang::rust::peel(&m.args[1]))
                {
                    if let Some(f) = last_segment(&c.func) {
                        self.0.insert(f, p);
                    }
                }
            }
            syn::visit::visit_expr_method_call(self, m);
        }
    }
    let mut nests = Nests(HashMap::new());
    nests.visit_file(file);

    struct V<'f> {
        prefix: Vec<String>,
        roots: Vec<*const syn::Expr>,
        found: Vec<(Framework, String, String, String)>,
        nests: &'f HashMap<String, String>,
    }
    impl V<'_> {
        fn prefix(&self) -> String {
            self.prefix.concat()
        }
        fn push(&mut self, fw: Framework, method: String, path: &str, h: String) {
            let full = join_path(&self.prefix(), path);
            self.found.push((fw, method, full, h));
        }
    }
    impl<'a> Visit<'a> for V<'_> {
        fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
            let p = self.nests.get(&f.sig.ident.to_string()).cloned();
            if let Some(p) = &p {
                self.prefix.push(p.trim_end_matches('/').to_string());
            }
            syn::visit::visit_item_fn(self, f);
            if p.is_some() {
                self.prefix.pop();
            }
        }
        fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
            // actix `web::scope("/x")…`: a prefix for the whole chain.
            let root = chain_root(&m.receiver);
            let scoped = match ctor_with_path(root) {
                Some((f, p)) if f == "scope" && !self.roots.contains(&(root as *const _)) => {
                    self.roots.push(root as *const _);
                    self.prefix.push(p.trim_end_matches('/').to_string());
                    true
                }
                _ => false,
            };
            let method = m.method.to_string();
            match (method.as_str(), m.args.len()) {
                ("route", 2) => {
                    if let Some(path) = lit_str(&m.args[0]) {
                        let actix = matches!(crate::lang::rust::peel(&m.args[1]),
                            syn::Expr::MethodCall(x) if x.method == "to");
                        let fw = if actix {
                            Framework::Actix
                        } else {
                            Framework::Axum
                        };
                        for (verb, h) in method_handlers(&m.args[1]) {
                            self.push(fw, verb, &path, h);
                        }
                    }
                }
                ("route", 1) | ("to", 1) => {
                    // web::resource("/p").route(web::post().to(h)) / .to(h)
                    if let Some((f, path)) = ctor_with_path(chain_root(&m.receiver)) {
                        if f == "resource" {
                            let hs = if method == "to" {
                                m.args
                                    .first()
                                    .and_then(last_segment)
                                    .map(|h| vec![("ANY".to_string(), h)])
                                    .unwrap_or_default()
                            } else {
                                method_handlers(&m.args[0])
                            };
                            for (verb, h) in hs {
                                self.push(Framework::Actix, verb, &path, h);
                            }
                        }
                    }
                }
                ("nest", 2) => {
                    if let Some(p) = lit_str(&m.args[0]) {
                        self.visit_expr(&m.receiver);
                        self.prefix.push(p.trim_end_matches('/').to_string());
                        self.visit_expr(&m.args[1]);
                        self.prefix.pop();
                        if scoped {
                            self.prefix.pop();
                            self.roots.pop();
                        }
                        return;
                    }
                }
                _ => {}
            }
            syn::visit::visit_expr_method_call(self, m);
            if scoped {
                self.prefix.pop();
                self.roots.pop();
            }
        }
    }
    let mut v = V {
        prefix: Vec::new(),
        roots: Vec::new(),
        found: Vec::new(),
        nests: &nests.0,
    };
    v.visit_file(file);
    let mut out = Vec::new();
    for (fw, method, path, h) in v.found {
        if let Some(f) = fns.get(&h) {
            out.push(rs_route(f, src, fw, method, path));
        }
    }
    // actix attribute macros.
    for f in fns.values() {
        for a in &f.attrs {
            let p = path_string(a.path());
            let last = p.rsplit("::").next().unwrap_or("").to_string();
            let is_verb = HTTP_METHODS.contains(&last.as_str());
            if !is_verb && last != "route" {
                continue;
            }
            let Ok(args) = a.parse_args_with(
                syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
            ) else {
                continue;
            };
            let Some(path) = args.first().and_then(lit_str) else {
                continue;
            };
            let method = if is_verb {
                last.to_ascii_uppercase()
            } else {
                args.iter()
                    .filter_map(|e| match e {
                        syn::Expr::Assign(a) => lit_str(&a.right),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let method = if method.is_empty() {
                "ANY".into()
            } else {
                method
            };
            out.push(rs_route(f, src, Framework::Actix, method, path));
        }
    }
    out.sort_by_key(|r| r.route.name_range.start);
    out
}

/// A type without references and parentheses.
fn peel_type(mut t: &syn::Type) -> &syn::Type {
    loop {
        t = match t {
            syn::Type::Reference(r) => &r.elem,
            syn::Type::Paren(p) => &p.elem,
            syn::Type::Group(g) => &g.elem,
            _ => return t,
        };
    }
}

/// The generic argument's last segment name (`Json<EventIn>` → `EventIn`).
fn generic_arg(seg: &syn::PathSegment) -> String {
    if let syn::PathArguments::AngleBracketed(a) = &seg.arguments {
        for g in &a.args {
            if let syn::GenericArgument::Type(syn::Type::Path(p)) = g {
                if let Some(s) = p.path.segments.last() {
                    return s.ident.to_string();
                }
            }
        }
    }
    String::new()
}

fn pat_names(p: &syn::Pat, out: &mut Vec<String>) {
    match p {
        syn::Pat::Ident(i) => out.push(i.ident.to_string()),
        syn::Pat::TupleStruct(t) => t.elems.iter().for_each(|e| pat_names(e, out)),
        syn::Pat::Tuple(t) => t.elems.iter().for_each(|e| pat_names(e, out)),
        syn::Pat::Struct(s) => s.fields.iter().for_each(|f| pat_names(&f.pat, out)),
        syn::Pat::Type(t) => pat_names(&t.pat, out),
        syn::Pat::Reference(r) => pat_names(&r.pat, out),
        _ => {}
    }
}

fn rs_route<'a>(
    f: &'a syn::ItemFn,
    src: &SourceText,
    framework: Framework,
    method: String,
    path: String,
) -> RsRoute<'a> {
    let placeholders = path_placeholders(&path);
    let mut params = Vec::new();
    for input in &f.sig.inputs {
        let syn::FnArg::Typed(t) = input else {
            continue;
        };
        let mut names = Vec::new();
        pat_names(&t.pat, &mut names);
        let seg = match peel_type(&t.ty) {
            syn::Type::Path(p) => p.path.segments.last(),
            _ => None,
        };
        let ty = seg.map(|s| s.ident.to_string()).unwrap_or_default();
        let kind = match ty.as_str() {
            "Path" => ParamKind::Path,
            "Query" => ParamKind::Query,
            "Json" | "Form" => ParamKind::Body(seg.map(generic_arg).unwrap_or_default()),
            "HeaderMap" | "TypedHeader" | "HttpRequest" => ParamKind::Header,
            "Bytes" | "String" | "Request" | "Payload" | "BytesMut" => ParamKind::Request,
            "State" | "Data" | "Extension" => {
                ParamKind::Depends(seg.map(generic_arg).unwrap_or_default())
            }
            _ if names.len() == 1 && placeholders.contains(&names[0]) => ParamKind::Path,
            other => ParamKind::Depends(other.to_string()),
        };
        let range = span_range(t.span(), src);
        for n in names {
            params.push(Param {
                name: n,
                kind: kind.clone(),
                range: range.clone(),
            });
        }
    }
    RsRoute {
        route: Route {
            framework,
            method,
            path,
            handler: f.sig.ident.to_string(),
            fn_range: span_range(f.span(), src),
            name_range: span_range(f.sig.ident.span(), src),
            params,
            dependencies: Vec::new(),
            middleware: false,
        },
        func: f,
    }
}

/// The flow of a Rust handler.
pub fn rust_flow(func: &syn::ItemFn, file: &syn::File, src: &SourceText) -> Flow {
    let fns = rust_functions(file);
    let text = |s: proc_macro2::Span| -> String {
        src.text
            .get(span_range(s, src))
            .unwrap_or_default()
            .to_string()
    };
    let mut flow = Flow {
        steps: Vec::new(),
        text: text(func.span()),
    };
    rs_steps(&func.block, src, None, &mut flow.steps);
    let own = func.sig.ident.to_string();
    let mut inlined = Vec::new();
    for s in &mut flow.steps {
        if s.kind != StepKind::Call || s.name.contains(['.', ':']) || s.name == own {
            continue;
        }
        let Some(h) = fns.get(&s.name) else { continue };
        s.local = true;
        let mut inner = Vec::new();
        rs_steps(&h.block, src, Some(&s.name), &mut inner);
        for mut i in inner {
            i.at = s.at;
            i.range = s.range.clone();
            inlined.push(i);
        }
        flow.text.push('\n');
        flow.text.push_str(&text(h.span()));
    }
    flow.steps.extend(inlined);
    flow.steps.sort_by_key(|s| (s.at, s.via.is_none()));
    flow
}

fn rs_steps(block: &syn::Block, src: &SourceText, via: Option<&str>, out: &mut Vec<Step>) {
    use syn::visit::Visit;
    struct V<'s> {
        src: &'s SourceText,
        via: Option<String>,
        out: Vec<Step>,
    }
    impl V<'_> {
        fn text(&self, s: proc_macro2::Span) -> String {
            self.src
                .text
                .get(span_range(s, self.src))
                .unwrap_or_default()
                .to_string()
        }
        fn step(
            &mut self,
            kind: StepKind,
            span: proc_macro2::Span,
            name: String,
            args: Vec<String>,
        ) {
            let range = span_range(span, self.src);
            let text = self.text(span);
            self.out.push(Step {
                kind,
                at: range.end,
                range,
                name,
                args,
                text,
                via: self.via.clone(),
                local: false,
            });
        }
    }
    impl<'a> Visit<'a> for V<'_> {
        fn visit_expr_call(&mut self, c: &'a syn::ExprCall) {
            if let syn::Expr::Path(p) = &*c.func {
                let args = c.args.iter().map(|a| self.text(a.span())).collect();
                self.step(StepKind::Call, c.span(), path_string(&p.path), args);
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
            let recv = crate::lang::rust::expr_name(&m.receiver).unwrap_or_default();
            let args = m.args.iter().map(|a| self.text(a.span())).collect();
            self.step(
                StepKind::Call,
                m.span(),
                format!("{recv}.{}", m.method),
                args,
            );
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_macro(&mut self, mac: &'a syn::Macro) {
            let args = vec![mac.tokens.to_string()];
            self.step(StepKind::Call, mac.span(), path_string(&mac.path), args);
            // Tokens of `format!`/`query!` are not walked.
        }
        fn visit_expr_binary(&mut self, b: &'a syn::ExprBinary) {
            use syn::BinOp::*;
            if matches!(b.op, Eq(_) | Ne(_) | Lt(_) | Le(_) | Gt(_) | Ge(_)) {
                let sides = vec![self.text(b.left.span()), self.text(b.right.span())];
                let t = self.text(b.span());
                self.step(StepKind::Compare, b.span(), t, sides);
            }
            syn::visit::visit_expr_binary(self, b);
        }
    }
    let mut v = V {
        src,
        via: via.map(String::from),
        out: Vec::new(),
    };
    v.visit_block(block);
    out.extend(v.out);
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::lang::Language;

    /// Every source with routes passes the pre-filter gate.
    fn py(src: &str) -> Vec<Route> {
        let tree = python::parse(src).unwrap();
        let found: Vec<Route> = python_routes(tree.root_node(), src, &|_| None)
            .into_iter()
            .map(|r| r.route)
            .collect();
        assert!(found.is_empty() || may_declare_routes(Language::Python, src));
        found
    }

    fn rs(src: &str) -> Vec<Route> {
        let file: syn::File = syn::parse_str(src).unwrap();
        let st = SourceText::new(src.to_string());
        let found: Vec<Route> = rust_routes(&file, &st)
            .into_iter()
            .map(|r| r.route)
            .collect();
        assert!(found.is_empty() || may_declare_routes(Language::Rust, src));
        found
    }

    #[test]
    fn gate_passes_route_files_only() {
        let service = "import httpx\n\nasync def fetch(org_id):\n    return await client.get(f\"/v1/{org_id}\")\n";
        assert!(!may_declare_routes(Language::Python, service));
        assert!(py(service).is_empty());
        let flask = "import flask\napp = flask.Flask(__name__)\n@app.route(\"/x\")\ndef x():\n    return 'x'\n";
        assert_eq!(py(flask).len(), 1);
        let actix = "#[get(\"/notes/{id}\")]\nasync fn note(id: web::Path<i64>) -> String { String::new() }\n";
        assert_eq!(rs(actix).len(), 1);
        let qualified =
            "#[rocket::get(\"/notes/<id>\")]\nasync fn note(id: i64) -> String { String::new() }\n";
        assert_eq!(rs(qualified).len(), 1);
        let lib = "pub fn total(xs: &[i64]) -> i64 { xs.iter().sum() }\n";
        assert!(!may_declare_routes(Language::Rust, lib));
    }

    fn summary(rs: &[Route]) -> Vec<String> {
        rs.iter()
            .map(|r| format!("{} {} {}", r.method, r.path, r.handler))
            .collect()
    }

    #[test]
    fn fastapi_decorators_prefixes_and_params() {
        let src = r#"
from fastapi import APIRouter, Depends, FastAPI, Header, Request
from typing import Annotated

CurrentUser = Annotated[User, Depends(get_current_user)]
router = APIRouter(prefix="/documents", dependencies=[Depends(require_member)])
app = FastAPI()

@router.get("/{document_id}")
async def get_document(document_id: uuid.UUID, user: CurrentUser, db: AsyncSession = Depends(get_db)):
    return None

@router.api_route("/{document_id}/share", methods=["POST", "PUT"], dependencies=[Depends(audit)])
async def share(document_id: str, payload: ShareIn, request: Request, limit: int = 10, x_sig: str = Header(...)):
    return None

@app.post("/webhooks/{org_id}/stripe")
def stripe_hook(org_id: str):
    pass

app.include_router(router, prefix="/api")
"#;
        let routes = py(src);
        assert_eq!(
            summary(&routes),
            [
                "GET /api/documents/{document_id} get_document",
                "POST,PUT /api/documents/{document_id}/share share",
                "POST /webhooks/{org_id}/stripe stripe_hook",
            ]
        );
        let get = &routes[0];
        assert_eq!(get.param("document_id").unwrap().kind, ParamKind::Path);
        assert_eq!(
            get.param("user").unwrap().kind,
            ParamKind::Depends("get_current_user".into())
        );
        assert_eq!(
            get.param("db").unwrap().kind,
            ParamKind::Depends("get_db".into())
        );
        assert_eq!(get.dependencies, ["require_member"]);
        let share = &routes[1];
        assert_eq!(share.dependencies, ["require_member", "audit"]);
        assert_eq!(
            share.param("payload").unwrap().kind,
            ParamKind::Body("ShareIn".into())
        );
        assert_eq!(share.param("request").unwrap().kind, ParamKind::Request);
        assert_eq!(share.param("limit").unwrap().kind, ParamKind::Query);
        assert_eq!(share.param("x_sig").unwrap().kind, ParamKind::Header);
        assert_eq!(routes[2].path_params(), ["org_id"]);
    }

    #[test]
    fn flask_blueprints_registrations_and_middleware() {
        let src = r#"
from flask import Blueprint, Flask
bp = Blueprint("hooks", __name__, url_prefix="/hooks")
app = Flask(__name__)

@bp.route("/<int:org_id>/github", methods=["POST"])
def github(org_id):
    pass

@bp.get("/health")
def health():
    pass

@app.before_request
def check_secret():
    pass

def export(doc_id):
    pass

app.add_url_rule("/export/<doc_id>", view_func=export)

class Guard(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        return await call_next(request)
"#;
        let routes = py(src);
        assert_eq!(
            summary(&routes),
            [
                "POST /hooks/<int:org_id>/github github",
                "GET /hooks/health health",
                "* * check_secret",
                "GET /export/<doc_id> export",
                "* * Guard.dispatch",
            ]
        );
        assert_eq!(routes[0].path_params(), ["org_id"]);
        assert!(routes[2].middleware && routes[4].middleware);
    }

    #[test]
    fn non_web_decorators_are_not_routes() {
        let src = r#"
import functools
@cache.get("/x")
def f():
    pass
"#;
        assert!(py(src).is_empty());
    }

    #[test]
    fn axum_routes_nests_and_extractors() {
        let src = r#"
fn app() -> Router {
    Router::new()
        .route("/webhooks/:org_id/billing", post(billing_hook))
        .route("/docs/{doc_id}", get(get_doc).delete(delete_doc))
        .nest("/admin", admin_routes())
}
fn admin_routes() -> Router {
    Router::new().route("/tenants/:slug", axum::routing::delete(delete_tenant))
}
async fn billing_hook(Path(org_id): Path<String>, headers: HeaderMap, body: Bytes) -> StatusCode { StatusCode::OK }
async fn get_doc(Path(doc_id): Path<Uuid>, user: AuthUser, State(db): State<PgPool>) -> Json<Doc> { Json(load(&db, doc_id).await) }
async fn delete_doc(Path(doc_id): Path<Uuid>) {}
async fn delete_tenant(Path(slug): Path<String>, Json(body): Json<DeleteIn>) {}
"#;
        let routes = rs(src);
        assert_eq!(
            summary(&routes),
            [
                "POST /webhooks/:org_id/billing billing_hook",
                "GET /docs/{doc_id} get_doc",
                "DELETE /docs/{doc_id} delete_doc",
                "DELETE /admin/tenants/:slug delete_tenant",
            ]
        );
        let hook = &routes[0];
        assert_eq!(hook.param("org_id").unwrap().kind, ParamKind::Path);
        assert_eq!(hook.param("headers").unwrap().kind, ParamKind::Header);
        assert_eq!(hook.param("body").unwrap().kind, ParamKind::Request);
        assert_eq!(
            routes[1].param("user").unwrap().kind,
            ParamKind::Depends("AuthUser".into())
        );
        assert_eq!(
            routes[3].param("body").unwrap().kind,
            ParamKind::Body("DeleteIn".into())
        );
    }

    #[test]
    fn actix_attributes_resources_and_scopes() {
        let src = r#"
#[post("/callback/{tenant}")]
async fn callback(path: web::Path<String>, body: web::Bytes) -> HttpResponse { HttpResponse::Ok().finish() }

fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/internal")
            .service(web::resource("/sync").route(web::post().to(sync)))
            .route("/users/{user_id}", web::get().to(get_user)),
    );
}
async fn sync(body: web::Json<SyncIn>) -> HttpResponse { HttpResponse::Ok().finish() }
async fn get_user(path: web::Path<Uuid>) -> HttpResponse { HttpResponse::Ok().finish() }
"#;
        let routes = rs(src);
        assert_eq!(
            summary(&routes),
            [
                "POST /callback/{tenant} callback",
                "POST /internal/sync sync",
                "GET /internal/users/{user_id} get_user",
            ]
        );
        assert_eq!(routes[0].param("path").unwrap().kind, ParamKind::Path);
        assert_eq!(
            routes[1].param("body").unwrap().kind,
            ParamKind::Body("SyncIn".into())
        );
    }

    #[test]
    fn python_flow_inlines_same_file_helpers() {
        let src = r#"
import hmac
from fastapi import APIRouter
async def _verify(request):
    if not hmac.compare_digest(a, b):
        raise HTTPException(401)

@router.post("/webhook")
async def hook(request: Request, db=Depends(get_db)):
    db.add(Event())
    await _verify(request)
"#;
        let tree = python::parse(src).unwrap();
        let root = tree.root_node();
        let r = python_routes(root, src, &|_| None);
        let flow = python_flow(r[0].func, root, src);
        let names: Vec<&str> = flow.calls().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Event",
                "db.add",
                "hmac.compare_digest",
                "HTTPException",
                "_verify"
            ]
        );
        let cd = flow.first_call(|s| s.method() == "compare_digest").unwrap();
        assert_eq!(cd.via.as_deref(), Some("_verify"));
    }

    #[test]
    fn path_placeholders_of_each_framework() {
        assert_eq!(path_placeholders("/a/{id}/b/{rest:path}"), ["id", "rest"]);
        assert_eq!(path_placeholders("/a/<int:id>/<slug>"), ["id", "slug"]);
        assert_eq!(path_placeholders("/a/:org_id/*tail"), ["org_id", "tail"]);
    }

    #[test]
    fn glob_names() {
        assert!(name_matches("*owner*", "_check_task_ownership"));
        assert!(name_matches("*owner*", "self.validate_owner"));
        assert!(name_matches(
            "require_platform_admin",
            "deps.require_platform_admin"
        ));
        assert!(!name_matches("*owner*", "get_task"));
        assert!(name_matches("_get_*_or_404", "_get_document_or_404"));
        assert!(!name_matches("a*a", "a"));
    }
}
