//! TL007 vector-store-tenant-filter: Qdrant reads and deletes on a tenant
//! collection filter on the collection's tenant key (under `must`, with the
//! configured type); upserts write that key into every point's payload.
//!
//! Python: qdrant-client (`QdrantClient`, `AsyncQdrantClient`) calls on a
//! receiver known to be a client. Rust: `qdrant-client` requests, found by
//! their builders (`SearchPointsBuilder::new(…)`) or structs
//! (`SearchPoints { … }`). Filters are followed through variables, list
//! appends and helper functions of the same file; what cannot be followed
//! is given the benefit of the doubt.

use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::config::{QdrantConfig, QdrantKeyType};
use crate::lang::{python, rust, Language, ParsedFile, Syntax};
use std::ops::Range;
use tree_sitter::Node;

pub static RULE: RuleMeta = RuleMeta {
    id: "TL007",
    name: "vector-store-tenant-filter",
    severity: Severity::Hard,
    languages: &[Language::Python, Language::Rust],
    summary: "Qdrant reads, deletes and upserts are scoped by the collection's tenant key",
    doc: include_str!("../../rules/TL007-vector-store-tenant-filter.md"),
    triggers: |_| super::words(&["qdrant"]),
    gate: None,
    needs_index: false,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    // Every way of reaching a Qdrant client names the crate or the class;
    // the pre-filter relies on it.
    if !file.text().to_ascii_lowercase().contains("qdrant") {
        return;
    }
    let mut found = Vec::new();
    match &file.syntax {
        Syntax::Python(tree) => py::check(ctx, tree.root_node(), file.text(), &mut found),
        Syntax::Rust(f) => rs::check(ctx, f, file, &mut found),
        Syntax::Sql(_) => {}
    }
    for d in found {
        if !out.iter().any(|o| o.range == d.range && o.title == d.title) {
            out.push(d);
        }
    }
}

// ---------------------------------------------------------------- shared

/// What scopes a collection: its configured key and type, or (for an
/// unlisted collection) any tenant column.
struct Expect {
    collection: Option<String>,
    configured: Option<(String, QdrantKeyType)>,
    tenant_keys: Vec<String>,
    /// The tenant key this file writes as a string elsewhere, for
    /// suggestions on unlisted collections.
    file_key: Option<String>,
}

impl Expect {
    fn new(ctx: &Ctx, collection: Option<String>, file_text: &str) -> Expect {
        let q: &QdrantConfig = &ctx.config.qdrant;
        let configured = collection
            .as_ref()
            .and_then(|c| q.collections.get(c))
            .map(|c| (c.key.clone(), c.key_type));
        let mut tenant_keys: Vec<String> = ctx.config.tenant.columns.clone();
        tenant_keys.push("group_id".into());
        if let Some((k, _)) = &configured {
            tenant_keys.push(k.clone());
        }
        let file_key = tenant_keys
            .iter()
            .find(|k| {
                file_text.contains(&format!("\"{k}\"")) || file_text.contains(&format!("'{k}'"))
            })
            .cloned();
        Expect {
            collection,
            configured,
            tenant_keys,
            file_key,
        }
    }

    /// Does a condition on payload key `key` scope this collection?
    fn accepts(&self, key: &str) -> bool {
        let key = leaf(key);
        match &self.configured {
            Some((k, _)) => leaf(k) == key,
            None => self.tenant_keys.iter().any(|t| t == key),
        }
    }

    /// A tenant key, but not this collection's.
    fn is_other_tenant_key(&self, key: &str) -> bool {
        self.configured.is_some()
            && !self.accepts(key)
            && self.tenant_keys.iter().any(|t| t == leaf(key))
    }

    /// Does a value of this kind contradict the configured key type?
    fn wrong_type(&self, v: ValueKind) -> bool {
        matches!(
            (&self.configured, v),
            (Some((_, QdrantKeyType::String)), ValueKind::Int)
                | (Some((_, QdrantKeyType::Integer)), ValueKind::Str)
        )
    }

    /// The key to suggest: the configured one, else the tenant column the
    /// enclosing function holds, else the first tenant column.
    fn key_for(&self, tenant_var: Option<&str>) -> String {
        if let Some((k, _)) = &self.configured {
            return k.clone();
        }
        let var_leaf = tenant_var.map(|v| v.rsplit('.').next().unwrap_or(v));
        if let Some(v) = var_leaf.filter(|v| self.tenant_keys.iter().any(|t| t == v)) {
            return v.to_string();
        }
        if let Some(k) = &self.file_key {
            return k.clone();
        }
        self.tenant_keys
            .first()
            .cloned()
            .unwrap_or_else(|| "org_id".into())
    }

    fn describe(&self) -> String {
        match &self.collection {
            Some(c) => format!("`{c}`"),
            None => "the collection".into(),
        }
    }

    fn missing_key(&self) -> String {
        match &self.configured {
            Some((k, _)) => format!("`{k}`"),
            None => "tenant".into(),
        }
    }
}

/// `metadata.org_id` filters on the nested key `org_id`.
fn leaf(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key).trim_end_matches("[]")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    Str,
    Int,
    Unknown,
}

/// The verdict on one filter.
#[derive(Debug, Clone, PartialEq)]
enum Scope {
    Scoped,
    /// Built somewhere this rule cannot see: not reported.
    Unknown,
    /// No tenant condition under `must`.
    Missing,
    /// `must` filters on another tenant key than the collection's.
    WrongKey {
        at: Range<usize>,
        key: String,
    },
    /// The tenant condition sits only under `should` / `must_not`.
    NotEnforced {
        at: Range<usize>,
        key: String,
        clause: String,
    },
    /// The tenant condition matches a value of the wrong type.
    WrongType {
        at: Range<usize>,
        key: String,
        value: String,
    },
}

impl Scope {
    /// Ordering for "the worst of several": a definite problem beats not
    /// knowing, which beats scoped.
    fn rank(&self) -> u8 {
        match self {
            Scope::Scoped => 0,
            Scope::Unknown => 1,
            Scope::Missing => 2,
            Scope::NotEnforced { .. } => 3,
            Scope::WrongType { .. } => 4,
            Scope::WrongKey { .. } => 5,
        }
    }

    fn worst(self, other: Scope) -> Scope {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

/// One entry of a filter clause.
enum Cond {
    /// A field condition on a known key.
    Field {
        key: String,
        value: ValueKind,
        value_text: String,
        at: Range<usize>,
    },
    /// A nested filter (or helper) with its own verdict.
    Nested(Scope),
    /// A known condition on something else (`HasIdCondition`, …).
    Other,
    Unknown,
}

/// Verdict on a filter from its clauses.
fn judge(
    expect: &Expect,
    must: &[Cond],
    must_unknown: bool,
    others: &[(String, Vec<Cond>)],
) -> Scope {
    let mut bad_type = None;
    let mut wrong_key = None;
    let mut nested_problem: Option<Scope> = None;
    for c in must {
        match c {
            Cond::Field {
                key,
                value,
                value_text,
                at,
            } if expect.accepts(key) => {
                if expect.wrong_type(*value) {
                    bad_type.get_or_insert(Scope::WrongType {
                        at: at.clone(),
                        key: key.clone(),
                        value: value_text.clone(),
                    });
                } else {
                    return Scope::Scoped;
                }
            }
            Cond::Field { key, at, .. } if expect.is_other_tenant_key(key) => {
                wrong_key.get_or_insert(Scope::WrongKey {
                    at: at.clone(),
                    key: key.clone(),
                });
            }
            Cond::Nested(Scope::Scoped) => return Scope::Scoped,
            Cond::Nested(s) => {
                nested_problem = Some(match nested_problem {
                    Some(p) => p.worst(s.clone()),
                    None => s.clone(),
                })
            }
            _ => {}
        }
    }
    if let Some(s) = bad_type.or(wrong_key) {
        return s;
    }
    let unknown = must_unknown || must.iter().any(|c| matches!(c, Cond::Unknown));
    if unknown || matches!(nested_problem, Some(Scope::Unknown)) {
        return Scope::Unknown;
    }
    if let Some(p) = nested_problem.filter(|p| *p != Scope::Missing) {
        return p;
    }
    for (clause, conds) in others {
        for c in conds {
            match c {
                Cond::Field { key, at, .. } if expect.accepts(key) => {
                    return Scope::NotEnforced {
                        at: at.clone(),
                        key: key.clone(),
                        clause: clause.clone(),
                    }
                }
                Cond::Nested(Scope::Scoped) => {
                    return Scope::NotEnforced {
                        at: 0..0,
                        key: expect.key_for(None),
                        clause: clause.clone(),
                    }
                }
                _ => {}
            }
        }
    }
    Scope::Missing
}

/// Collapse a multi-line snippet into one line for a suggestion.
fn one_line(s: &str) -> String {
    let mut out = String::new();
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space
            && !out.is_empty()
            && !out.ends_with(['(', '[', '{'])
            && !matches!(c, ')' | ']' | '}')
        {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out.replace(",)", ")").replace(",]", "]")
}

/// Is this name one a tenant is held in (`org_id`, `tenant`, `workspace`)?
fn tenantish(ctx: &Ctx, name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if ctx.config.tenant.columns.contains(&lower) {
        return true;
    }
    lower.split(['_', '.']).any(|p| {
        matches!(
            p,
            "org" | "tenant" | "organization" | "organisation" | "workspace"
        )
    })
}

/// The best tenant variable among candidate names: the key itself, then a
/// tenant column, then any tenant-like name.
fn pick_tenant_var(ctx: &Ctx, names: &[String], key_hint: Option<&str>) -> Option<String> {
    let leaf_of = |n: &String| n.rsplit('.').next().unwrap_or(n).to_string();
    if let Some(k) = key_hint {
        if let Some(n) = names.iter().find(|n| leaf_of(n) == k) {
            return Some(n.clone());
        }
    }
    names
        .iter()
        .find(|n| ctx.config.tenant.columns.contains(&leaf_of(n)))
        .or_else(|| names.iter().find(|n| tenantish(ctx, &leaf_of(n))))
        .cloned()
}

// ---------------------------------------------------------------- Python

mod py {
    use super::*;
    use crate::lang::python::LocalWrite;

    /// What a client method does with its points.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Kind {
        Read,
        Batch,
        Retrieve,
        Select,
        Upsert,
    }

    fn kind_of(method: &str) -> Option<Kind> {
        Some(match method {
            "search"
            | "search_groups"
            | "query_points"
            | "query_points_groups"
            | "scroll"
            | "count"
            | "recommend"
            | "recommend_groups"
            | "discover" => Kind::Read,
            "search_batch" | "query_batch_points" | "recommend_batch" | "discover_batch" => {
                Kind::Batch
            }
            "retrieve" => Kind::Retrieve,
            "delete" | "set_payload" | "overwrite_payload" | "delete_payload" | "clear_payload"
            | "delete_vectors" | "update_vectors" => Kind::Select,
            "upsert" => Kind::Upsert,
            _ => return None,
        })
    }

    /// The filter keyword of a read and where it sits positionally.
    fn filter_arg<'t>(call: Node<'t>, method: &str, src: &str) -> Option<Node<'t>> {
        for kw in ["query_filter", "scroll_filter", "count_filter", "filter"] {
            if let Some(v) = python::keyword_arg(call, kw, src) {
                return Some(v);
            }
        }
        let index = match method {
            "scroll" | "count" => 1,
            "search" => 2,
            _ => return None,
        };
        python::positional_args(call).get(index).copied()
    }

    fn selector_arg<'t>(call: Node<'t>, method: &str, src: &str) -> Option<Node<'t>> {
        for kw in ["points_selector", "points"] {
            if let Some(v) = python::keyword_arg(call, kw, src) {
                return Some(v);
            }
        }
        let index = match method {
            "delete" | "clear_payload" => 1,
            _ => 2,
        };
        python::positional_args(call).get(index).copied()
    }

    /// The last part of a called name, without `()`.
    fn last_name(call: Node, src: &str) -> Option<String> {
        let name = python::call_name(call, src)?;
        Some(name.rsplit('.').next().unwrap_or(&name).to_string())
    }

    fn is_call_to(n: Node, src: &str, names: &[&str]) -> bool {
        n.kind() == "call" && last_name(n, src).is_some_and(|l| names.contains(&l.as_str()))
    }

    fn strip_await(n: Node) -> Node {
        let n = python::unparen(n);
        if n.kind() == "await" {
            n.named_child(0).map(python::unparen).unwrap_or(n)
        } else {
            n
        }
    }

    /// Module root of a node.
    fn root_of(n: Node) -> Node {
        let mut r = n;
        while let Some(p) = r.parent() {
            r = p;
        }
        r
    }

    fn enclosing_class(n: Node) -> Option<Node> {
        let mut cur = n.parent();
        while let Some(p) = cur {
            if p.kind() == "class_definition" {
                return Some(p);
            }
            cur = p.parent();
        }
        None
    }

    /// The scope `name`, used at `at`, is bound in: the enclosing function
    /// when it writes or takes the name, else the module. `None` when the
    /// name is a parameter (its value comes from the caller).
    pub(super) fn scope_for<'t>(at: Node<'t>, name: &str, src: &str) -> Option<Node<'t>> {
        if let Some(f) = python::enclosing_function(at) {
            if is_parameter(f, name, src) {
                return None;
            }
            if !python::local_writes(f, name, src).is_empty() {
                return Some(f);
            }
        }
        Some(root_of(at))
    }

    fn parameter_node<'t>(func: Node<'t>, name: &str, src: &str) -> Option<Node<'t>> {
        let params = func.child_by_field_name("parameters")?;
        let mut c = params.walk();
        let found = params
            .named_children(&mut c)
            .find(|p| param_name(*p, src) == Some(name));
        found
    }

    fn param_name<'s>(p: Node, src: &'s str) -> Option<&'s str> {
        let ident = match p.kind() {
            "identifier" => Some(p),
            "typed_parameter" => p.named_child(0),
            "default_parameter" | "typed_default_parameter" => p.child_by_field_name("name"),
            _ => None,
        }?;
        (ident.kind() == "identifier").then(|| python::text(ident, src))
    }

    fn is_parameter(func: Node, name: &str, src: &str) -> bool {
        parameter_node(func, name, src).is_some()
    }

    /// The value `name` holds at `at`: its last plain assignment before it.
    pub(super) fn value_at<'t>(at: Node<'t>, name: &str, src: &str) -> Option<Node<'t>> {
        let scope = scope_for(at, name, src)?;
        python::local_writes(scope, name, src)
            .into_iter()
            .filter(|(b, _)| *b < at.start_byte())
            .filter_map(|(_, w)| match w {
                LocalWrite::Assign(r) => Some(r),
                _ => None,
            })
            .next_back()
    }

    /// A string a node stands for: a literal, or a name bound to one (a
    /// module constant, a local, a parameter default, a class attribute).
    pub(super) fn const_string(n: Node, src: &str, depth: u8) -> Option<String> {
        let n = python::unparen(n);
        if depth > 4 {
            return None;
        }
        match n.kind() {
            "string" => python::string_value(n, src),
            "identifier" => {
                let name = python::text(n, src);
                if let Some(f) = python::enclosing_function(n) {
                    if let Some(p) = parameter_node(f, name, src) {
                        return p
                            .child_by_field_name("value")
                            .and_then(|v| const_string(v, src, depth + 1));
                    }
                }
                const_string(value_at(n, name, src)?, src, depth + 1)
            }
            "attribute" => {
                let obj = n.child_by_field_name("object")?;
                let attr = python::text(n.child_by_field_name("attribute")?, src);
                if !matches!(python::text(obj, src), "self" | "cls") {
                    return None;
                }
                let class = enclosing_class(n)?;
                class_attribute(class, attr, src).and_then(|v| const_string(v, src, depth + 1))
            }
            _ => None,
        }
    }

    /// `X = v` in a class body or `self.X = v` in one of its methods.
    fn class_attribute<'t>(class: Node<'t>, attr: &str, src: &str) -> Option<Node<'t>> {
        let mut found = None;
        python::walk(class, &mut |n| {
            if found.is_some() || n.kind() != "assignment" {
                return;
            }
            let Some(l) = n.child_by_field_name("left") else {
                return;
            };
            let lt = python::text(l, src);
            let direct = lt == attr
                && n.parent()
                    .and_then(|p| p.parent())
                    .is_some_and(|b| b.parent() == Some(class));
            if direct || lt == format!("self.{attr}") {
                found = n.child_by_field_name("right");
            }
        });
        found
    }

    /// Assignments and annotations of `self.attr` / `attr` in a class.
    fn class_attribute_mentions<'t>(class: Node<'t>, attr: &str, src: &str) -> Vec<Node<'t>> {
        let mut out = Vec::new();
        python::walk(class, &mut |n| {
            if n.kind() != "assignment" {
                return;
            }
            let Some(l) = n.child_by_field_name("left") else {
                return;
            };
            let lt = python::text(l, src);
            if lt == attr || lt == format!("self.{attr}") {
                out.push(n);
            }
        });
        out
    }

    fn names_client_class(t: &str) -> bool {
        t.contains("QdrantClient")
    }

    fn is_client_constructor(n: Node, src: &str) -> bool {
        let n = strip_await(n);
        n.kind() == "call" && python::call_name(n, src).is_some_and(|c| names_client_class(&c))
    }

    /// Is `recv` a Qdrant client?
    fn is_client(recv: Node, src: &str) -> bool {
        let recv = python::unparen(recv);
        if python::text(recv, src)
            .to_ascii_lowercase()
            .contains("qdrant")
        {
            return true;
        }
        match recv.kind() {
            "identifier" => {
                let name = python::text(recv, src);
                if let Some(f) = python::enclosing_function(recv) {
                    if let Some(p) = parameter_node(f, name, src) {
                        return p
                            .child_by_field_name("type")
                            .is_some_and(|t| names_client_class(python::text(t, src)));
                    }
                }
                value_at(recv, name, src).is_some_and(|v| is_client_constructor(v, src))
            }
            "attribute" => {
                let (Some(obj), Some(attr)) = (
                    recv.child_by_field_name("object"),
                    recv.child_by_field_name("attribute"),
                ) else {
                    return false;
                };
                if python::text(obj, src) != "self" {
                    return false;
                }
                let Some(class) = enclosing_class(recv) else {
                    return false;
                };
                class_attribute_mentions(class, python::text(attr, src), src)
                    .into_iter()
                    .any(|a| {
                        a.child_by_field_name("type")
                            .is_some_and(|t| names_client_class(python::text(t, src)))
                            || a.child_by_field_name("right").is_some_and(|r| {
                                // `self.client = client` with `client: AsyncQdrantClient`
                                is_client_constructor(r, src)
                                    || (r.kind() == "identifier" && is_client(r, src))
                            })
                    })
            }
            _ => false,
        }
    }

    /// Functions defined in the file, by name.
    struct Funcs<'t> {
        all: Vec<(String, Node<'t>)>,
    }

    impl<'t> Funcs<'t> {
        fn new(root: Node<'t>, src: &str) -> Funcs<'t> {
            let all = python::function_definitions(root, src)
                .into_iter()
                .map(|(name, n)| (name.to_string(), n))
                .collect();
            Funcs { all }
        }

        /// The function a call calls, when it is `f(...)` or `self.f(...)`.
        fn called(&self, call: Node, src: &str) -> Option<Node<'t>> {
            let f = call.child_by_field_name("function")?;
            let name = match f.kind() {
                "identifier" => python::text(f, src),
                "attribute" => {
                    let obj = python::text(f.child_by_field_name("object")?, src);
                    if !matches!(obj, "self" | "cls") {
                        return None;
                    }
                    python::text(f.child_by_field_name("attribute")?, src)
                }
                _ => return None,
            };
            self.all.iter().find(|(n, _)| n == name).map(|(_, f)| *f)
        }
    }

    /// The expressions a function returns (not those of nested functions).
    fn returns<'t>(func: Node<'t>) -> Vec<Node<'t>> {
        let mut out = Vec::new();
        let mut stack = vec![func];
        while let Some(n) = stack.pop() {
            if n != func
                && matches!(
                    n.kind(),
                    "function_definition" | "class_definition" | "lambda"
                )
            {
                continue;
            }
            if n.kind() == "return_statement" {
                if let Some(v) = n.named_child(0) {
                    out.push(v);
                }
            }
            let mut c = n.walk();
            stack.extend(n.named_children(&mut c));
        }
        out.sort_by_key(|r| r.start_byte());
        out
    }

    struct Checker<'a, 't> {
        ctx: &'a Ctx<'a>,
        src: &'a str,
        funcs: Funcs<'t>,
        /// How the file spells the models: `models.`, `rest.`, or nothing.
        prefix: String,
    }

    pub fn check(ctx: &Ctx, root: Node, src: &str, out: &mut Vec<Diagnostic>) {
        let c = Checker {
            ctx,
            src,
            funcs: Funcs::new(root, src),
            prefix: models_prefix(root, src),
        };
        python::walk(root, &mut |n| {
            if n.kind() != "call" {
                return;
            }
            let Some(func) = n
                .child_by_field_name("function")
                .filter(|f| f.kind() == "attribute")
            else {
                return;
            };
            let (Some(recv), Some(method)) = (
                func.child_by_field_name("object"),
                func.child_by_field_name("attribute"),
            ) else {
                return;
            };
            let method = python::text(method, src);
            let Some(kind) = kind_of(method) else {
                return;
            };
            if python::positional_args(n).is_empty()
                && python::keyword_arg(n, "collection_name", src).is_none()
            {
                return;
            }
            if !is_client(recv, src) {
                return;
            }
            c.client_call(n, method, kind, out);
        });
    }

    /// `models.` when the file writes `models.Filter(...)`, `""` when it
    /// imports the names.
    fn models_prefix(root: Node, src: &str) -> String {
        // Filters first: a file may import `PointStruct` by name and still
        // write `models.Filter`.
        for classes in [
            &["Filter", "FieldCondition", "MatchValue"][..],
            &["PointStruct"],
        ] {
            let mut found: Option<String> = None;
            python::walk(root, &mut |n| {
                if found.is_some() || n.kind() != "call" {
                    return;
                }
                if let Some(name) = python::call_name(n, src) {
                    for cls in classes {
                        if name == *cls {
                            found = Some(String::new());
                        } else if let Some(p) = name.strip_suffix(cls).filter(|p| p.ends_with('.'))
                        {
                            found = Some(p.to_string());
                        }
                    }
                }
            });
            if let Some(f) = found {
                return f;
            }
        }
        "models.".into()
    }

    impl<'a, 't> Checker<'a, 't> {
        fn client_call(&self, call: Node<'t>, method: &str, kind: Kind, out: &mut Vec<Diagnostic>) {
            let src = self.src;
            let coll_node = python::keyword_arg(call, "collection_name", src)
                .or_else(|| python::positional_args(call).first().copied());
            let collection = coll_node.and_then(|n| const_string(n, src, 0));
            if collection
                .as_ref()
                .is_some_and(|c| self.ctx.config.qdrant.global_collections.contains(c))
            {
                return;
            }
            let shown = collection
                .clone()
                .or_else(|| coll_node.map(|n| python::text(n, src).to_string()));
            let expect = Expect::new(self.ctx, collection, src);
            let expect = Expect {
                collection: shown,
                ..expect
            };
            match kind {
                Kind::Read => {
                    let given = filter_arg(call, method, src);
                    let mut verdict = match given {
                        Some(f) => self.filter(f, &expect, 0),
                        None => Scope::Missing,
                    };
                    if verdict == Scope::Missing && method.starts_with("query_points") {
                        if let Some(p) = self.prefetch_scope(call, &expect) {
                            verdict = p;
                        }
                    }
                    let kw = match method {
                        "scroll" => "scroll_filter",
                        "count" => "count_filter",
                        _ => "query_filter",
                    };
                    self.report(call, method, &expect, verdict, kw, given, out);
                }
                Kind::Batch => {
                    let requests = python::keyword_arg(call, "requests", src)
                        .or_else(|| python::positional_args(call).get(1).copied());
                    let Some(requests) = requests else { return };
                    let reqs = self.requests(requests);
                    if reqs.is_empty() {
                        return;
                    }
                    let verdict = reqs
                        .into_iter()
                        .map(|r| match python::keyword_arg(r, "filter", src) {
                            Some(f) => self.filter(f, &expect, 0),
                            None => Scope::Missing,
                        })
                        .fold(Scope::Scoped, Scope::worst);
                    self.report(call, method, &expect, verdict, "filter", None, out);
                }
                Kind::Retrieve => {
                    if self.owner_checked(call, &expect) {
                        return;
                    }
                    let ids = python::keyword_arg(call, "ids", src)
                        .or_else(|| python::positional_args(call).get(1).copied());
                    if ids.is_some_and(|i| self.ids_from_scoped_read(call, i, &expect)) {
                        return;
                    }
                    let tenant = self.tenant_var(call, &expect);
                    let key = expect.key_for(tenant.as_deref());
                    let value = tenant.unwrap_or_else(|| key.clone());
                    let coll =
                        coll_node.map_or("collection".into(), |n| python::text(n, src).to_string());
                    let ids_text = ids.map_or("ids".into(), |n| python::text(n, src).to_string());
                    let recv = call
                        .child_by_field_name("function")
                        .and_then(|f| f.child_by_field_name("object"))
                        .map_or("client".into(), |r| python::text(r, src).to_string());
                    let awaited = call.parent().is_some_and(|p| p.kind() == "await");
                    let recv = if awaited {
                        format!("await {recv}")
                    } else {
                        recv
                    };
                    let m = &self.prefix;
                    out.push(Diagnostic::new(
                        call.byte_range(),
                        format!(
                            "Qdrant `retrieve` on {} fetches points by id without checking their {} key",
                            expect.describe(),
                            expect.missing_key()
                        ),
                        format!(
                            "{recv}.scroll(collection_name={coll}, scroll_filter={m}Filter(must=[{m}HasIdCondition(has_id={ids_text}), {m}FieldCondition(key=\"{key}\", match={m}MatchValue(value={value}))]))"
                        ),
                    ));
                }
                Kind::Select => {
                    let Some(sel) = selector_arg(call, method, src) else {
                        return;
                    };
                    let verdict = self.selector(call, sel, &expect);
                    self.report(
                        call,
                        method,
                        &expect,
                        verdict,
                        "points_selector",
                        Some(sel),
                        out,
                    );
                }
                Kind::Upsert => self.upsert(call, &expect, out),
            }
        }

        /// The verdict on a points selector: a filter, or ids.
        fn selector(&self, call: Node<'t>, sel: Node<'t>, expect: &Expect) -> Scope {
            let src = self.src;
            let sel = python::unparen(sel);
            let ids = match sel.kind() {
                "call" if is_call_to(sel, src, &["FilterSelector"]) => {
                    return match python::keyword_arg(sel, "filter", src)
                        .or_else(|| python::positional_args(sel).first().copied())
                    {
                        Some(f) => self.filter(f, expect, 0),
                        None => Scope::Missing,
                    };
                }
                "call" if is_call_to(sel, src, &["PointIdsList"]) => {
                    python::keyword_arg(sel, "points", src).unwrap_or(sel)
                }
                // A filter, a helper returning one, or something unknown.
                "call" | "dictionary" => return self.filter(sel, expect, 0),
                "identifier" => {
                    return match value_at(sel, python::text(sel, src), src) {
                        Some(v) if v != sel => self.selector(call, v, expect),
                        _ => Scope::Unknown,
                    }
                }
                "list" | "tuple" | "list_comprehension" | "generator_expression" => sel,
                _ => return Scope::Unknown,
            };
            // Points by id: scoped only when the ids come from a scoped
            // read, or the payloads were checked.
            if self.ids_from_scoped_read(call, ids, expect) || self.owner_checked(call, expect) {
                Scope::Scoped
            } else {
                Scope::Missing
            }
        }

        /// Search / query requests in a batch.
        fn requests(&self, n: Node<'t>) -> Vec<Node<'t>> {
            let src = self.src;
            let names = [
                "SearchRequest",
                "QueryRequest",
                "RecommendRequest",
                "DiscoverRequest",
            ];
            let mut out = Vec::new();
            let mut collect = |x: Node<'t>| {
                python::walk(x, &mut |c| {
                    if is_call_to(c, src, &names) {
                        out.push(c);
                    }
                })
            };
            let n = python::unparen(n);
            if n.kind() == "identifier" {
                if let Some(scope) = scope_for(n, python::text(n, src), src) {
                    for (_, w) in python::local_writes(scope, python::text(n, src), src) {
                        match w {
                            LocalWrite::Assign(x)
                            | LocalWrite::AugAdd(x)
                            | LocalWrite::Push(x)
                            | LocalWrite::Extend(x) => collect(x),
                            _ => {}
                        }
                    }
                }
            } else {
                collect(n);
            }
            out
        }

        /// `query_points(prefetch=[Prefetch(filter=…), …])` with every
        /// prefetch scoped narrows the final result too.
        fn prefetch_scope(&self, call: Node<'t>, expect: &Expect) -> Option<Scope> {
            let src = self.src;
            let p = python::unparen(python::keyword_arg(call, "prefetch", src)?);
            let items: Vec<Node> = match p.kind() {
                "list" | "tuple" => {
                    let mut c = p.walk();
                    p.named_children(&mut c).collect()
                }
                "call" => vec![p],
                _ => return None,
            };
            let mut verdict = Scope::Scoped;
            for i in items {
                if !is_call_to(i, src, &["Prefetch"]) {
                    return None;
                }
                let v = match python::keyword_arg(i, "filter", src) {
                    Some(f) => self.filter(f, expect, 0),
                    None => Scope::Missing,
                };
                verdict = verdict.worst(v);
            }
            Some(verdict)
        }

        /// The verdict on a filter expression.
        fn filter(&self, n: Node<'t>, expect: &Expect, depth: u8) -> Scope {
            let src = self.src;
            let n = strip_await(n);
            if depth > 4 {
                return Scope::Unknown;
            }
            match n.kind() {
                "none" => Scope::Missing,
                "call" => {
                    let Some(last) = last_name(n, src) else {
                        return Scope::Unknown;
                    };
                    if last == "Filter" {
                        return self.filter_call(n, expect, depth);
                    }
                    if last == "FilterSelector" {
                        return match python::keyword_arg(n, "filter", src) {
                            Some(f) => self.filter(f, expect, depth + 1),
                            None => Scope::Missing,
                        };
                    }
                    if self.ctx.config.qdrant.filter_helpers.contains(&last) {
                        return Scope::Scoped;
                    }
                    match self.funcs.called(n, src) {
                        Some(f) => returns(f)
                            .into_iter()
                            .map(|r| self.filter(r, expect, depth + 1))
                            .reduce(Scope::worst)
                            .unwrap_or(Scope::Unknown),
                        None => Scope::Unknown,
                    }
                }
                "identifier" => match value_at(n, python::text(n, src), src) {
                    Some(v) => self.filter(v, expect, depth + 1),
                    None => Scope::Unknown,
                },
                "conditional_expression" => {
                    let a = n.named_child(0);
                    let b = n.named_child(2);
                    match (a, b) {
                        (Some(a), Some(b)) => self.filter(a, expect, depth + 1).worst(self.filter(
                            b,
                            expect,
                            depth + 1,
                        )),
                        _ => Scope::Unknown,
                    }
                }
                "dictionary" => {
                    let get = |k: &str| dict_value(n, k, src);
                    let (must, unknown) = match get("must") {
                        Some(m) => self.conditions(m, expect, depth),
                        None => (Vec::new(), false),
                    };
                    let others = self.other_clauses(expect, depth, get("should"), get("must_not"));
                    judge(expect, &must, unknown, &others)
                }
                _ => Scope::Unknown,
            }
        }

        fn filter_call(&self, call: Node<'t>, expect: &Expect, depth: u8) -> Scope {
            let src = self.src;
            if python::keyword_arg(call, "must", src).is_none()
                && call
                    .child_by_field_name("arguments")
                    .is_some_and(|a| python::text(a, src).contains("**"))
            {
                return Scope::Unknown;
            }
            let (must, unknown) = match python::keyword_arg(call, "must", src) {
                Some(m) => self.conditions(m, expect, depth),
                None => (Vec::new(), false),
            };
            let others = self.other_clauses(
                expect,
                depth,
                python::keyword_arg(call, "should", src),
                python::keyword_arg(call, "must_not", src),
            );
            judge(expect, &must, unknown, &others)
        }

        fn other_clauses(
            &self,
            expect: &Expect,
            depth: u8,
            should: Option<Node<'t>>,
            must_not: Option<Node<'t>>,
        ) -> Vec<(String, Vec<Cond>)> {
            let mut others = Vec::new();
            for (clause, node) in [("should", should), ("must_not", must_not)] {
                if let Some(x) = node {
                    others.push((clause.to_string(), self.conditions(x, expect, depth).0));
                }
            }
            others
        }

        /// The conditions of a clause, and whether some could not be seen.
        fn conditions(&self, n: Node<'t>, expect: &Expect, depth: u8) -> (Vec<Cond>, bool) {
            let src = self.src;
            let n = python::unparen(n);
            let mut out = Vec::new();
            let mut unknown = false;
            match n.kind() {
                "list" | "tuple" => {
                    let mut c = n.walk();
                    for e in n.named_children(&mut c) {
                        if e.kind() == "list_splat" {
                            match e.named_child(0) {
                                Some(inner) => {
                                    let (more, u) = self.conditions(inner, expect, depth + 1);
                                    out.extend(more);
                                    unknown |= u;
                                }
                                None => unknown = true,
                            }
                        } else if e.kind() != "comment" {
                            out.push(self.condition(e, expect, depth));
                        }
                    }
                }
                "binary_operator" => {
                    for side in ["left", "right"] {
                        if let Some(s) = n.child_by_field_name(side) {
                            let (more, u) = self.conditions(s, expect, depth + 1);
                            out.extend(more);
                            unknown |= u;
                        }
                    }
                }
                "identifier" => {
                    let name = python::text(n, src);
                    let Some(scope) = scope_for(n, name, src) else {
                        return (out, true);
                    };
                    let mut based = false;
                    for (at, w) in python::local_writes(scope, name, src) {
                        if at >= n.start_byte() {
                            continue;
                        }
                        match w {
                            LocalWrite::Assign(x) => {
                                // A later assignment replaces the list.
                                out.clear();
                                let (more, u) = self.conditions(x, expect, depth + 1);
                                out.extend(more);
                                unknown = u;
                                based = true;
                            }
                            LocalWrite::AugAdd(x) | LocalWrite::Extend(x) => {
                                let (more, u) = self.conditions(x, expect, depth + 1);
                                out.extend(more);
                                unknown |= u;
                            }
                            LocalWrite::Push(x) => out.push(self.condition(x, expect, depth)),
                            _ => {}
                        }
                    }
                    if !based {
                        unknown = true;
                    }
                }
                "call" | "dictionary" => out.push(self.condition(n, expect, depth)),
                _ => unknown = true,
            }
            (out, unknown)
        }

        /// One condition.
        fn condition(&self, n: Node<'t>, expect: &Expect, depth: u8) -> Cond {
            let src = self.src;
            let n = python::unparen(n);
            if depth > 4 {
                return Cond::Unknown;
            }
            match n.kind() {
                "call" => {
                    let Some(last) = last_name(n, src) else {
                        return Cond::Unknown;
                    };
                    match last.as_str() {
                        "FieldCondition" => {
                            let key = python::keyword_arg(n, "key", src)
                                .and_then(|k| const_string(k, src, 0));
                            let Some(key) = key else { return Cond::Unknown };
                            let (value, value_text) = python::keyword_arg(n, "match", src)
                                .map(|m| self.match_value(m))
                                .unwrap_or((ValueKind::Unknown, String::new()));
                            Cond::Field {
                                key,
                                value,
                                value_text,
                                at: n.byte_range(),
                            }
                        }
                        "Filter" => Cond::Nested(self.filter_call(n, expect, depth + 1)),
                        "HasIdCondition" | "IsEmptyCondition" | "IsNullCondition"
                        | "NestedCondition" | "HasVectorCondition" => Cond::Other,
                        _ if self.ctx.config.qdrant.filter_helpers.contains(&last) => {
                            Cond::Nested(Scope::Scoped)
                        }
                        _ => match self.funcs.called(n, src) {
                            Some(f) => {
                                let rets = returns(f);
                                if rets.is_empty() {
                                    return Cond::Unknown;
                                }
                                // A helper returning a condition or a filter:
                                // its first return stands for it.
                                self.condition(rets[rets.len() - 1], expect, depth + 1)
                            }
                            None => Cond::Unknown,
                        },
                    }
                }
                "identifier" => match value_at(n, python::text(n, src), src) {
                    Some(v) => self.condition(v, expect, depth + 1),
                    None => Cond::Unknown,
                },
                "dictionary" => {
                    if let Some(k) = dict_value(n, "key", src) {
                        let Some(key) = const_string(k, src, 0) else {
                            return Cond::Unknown;
                        };
                        let (value, value_text) = dict_value(n, "match", src)
                            .and_then(|m| dict_value(m, "value", src))
                            .map(|v| (value_kind(v, src), python::text(v, src).to_string()))
                            .unwrap_or((ValueKind::Unknown, String::new()));
                        return Cond::Field {
                            key,
                            value,
                            value_text,
                            at: n.byte_range(),
                        };
                    }
                    if dict_value(n, "must", src).is_some() {
                        return Cond::Nested(self.filter(n, expect, depth + 1));
                    }
                    Cond::Unknown
                }
                _ => Cond::Unknown,
            }
        }

        /// The kind of value a `match=` matches.
        fn match_value(&self, m: Node<'t>) -> (ValueKind, String) {
            let src = self.src;
            let m = python::unparen(m);
            if is_call_to(m, src, &["MatchValue"]) {
                if let Some(v) = python::keyword_arg(m, "value", src)
                    .or_else(|| python::positional_args(m).first().copied())
                {
                    return (value_kind(v, src), python::text(v, src).to_string());
                }
            }
            (ValueKind::Unknown, String::new())
        }

        /// Report a verdict on a client call.
        #[allow(clippy::too_many_arguments)]
        fn report(
            &self,
            call: Node<'t>,
            method: &str,
            expect: &Expect,
            verdict: Scope,
            kw: &str,
            given: Option<Node<'t>>,
            out: &mut Vec<Diagnostic>,
        ) {
            let m = &self.prefix;
            let tenant = self.tenant_var(call, expect);
            let key = expect.key_for(tenant.as_deref());
            let value = tenant.clone().unwrap_or_else(|| key.clone());
            let cond =
                format!("{m}FieldCondition(key=\"{key}\", match={m}MatchValue(value={value}))");
            match verdict {
                Scope::Scoped | Scope::Unknown => {}
                Scope::Missing => {
                    let drop = [
                        kw,
                        "query_filter",
                        "scroll_filter",
                        "count_filter",
                        "filter",
                        "points_selector",
                        "points",
                    ];
                    let (title, suggestion) = match (kw, given) {
                        ("points_selector", Some(sel)) => (
                            format!(
                                "Qdrant `{method}` on {} selects points without a {} filter",
                                expect.describe(),
                                expect.missing_key()
                            ),
                            if matches!(method, "delete" | "clear_payload") {
                                format!(
                                    "{}, points_selector={m}FilterSelector(filter={}))",
                                    self.call_without(call, &drop, given),
                                    self.selector_with(sel, &cond),
                                )
                            } else {
                                format!(
                                    "{}, points={})",
                                    self.call_without(call, &drop, given),
                                    self.selector_with(sel, &cond),
                                )
                            },
                        ),
                        ("filter", _) => (
                            format!(
                                "Qdrant `{method}` on {} sends requests without a {} filter",
                                expect.describe(),
                                expect.missing_key()
                            ),
                            format!("give every request filter={m}Filter(must=[{cond}])"),
                        ),
                        (_, Some(f)) => (
                            format!(
                                "Qdrant `{method}` on {}: its filter has no {} condition under `must`",
                                expect.describe(),
                                expect.missing_key()
                            ),
                            format!(
                                "{}, {kw}={})",
                                self.call_without(call, &drop, given),
                                self.filter_with(f, &cond),
                            ),
                        ),
                        _ => (
                            format!(
                                "Qdrant `{method}` on {} has no {} filter",
                                expect.describe(),
                                expect.missing_key()
                            ),
                            format!(
                                "{}, {kw}={m}Filter(must=[{cond}]))",
                                self.call_without(call, &drop, given),
                            ),
                        ),
                    };
                    out.push(Diagnostic::new(call.byte_range(), title, suggestion));
                }
                Scope::WrongKey { at, key: found } => {
                    let value = tenant.unwrap_or_else(|| key.clone());
                    out.push(Diagnostic::new(
                        at,
                        format!(
                            "Qdrant filter on {} uses `{found}`, but that collection's tenant key is `{key}`",
                            expect.describe()
                        ),
                        format!("{m}FieldCondition(key=\"{key}\", match={m}MatchValue(value={value}))"),
                    ));
                }
                Scope::NotEnforced { at, key, clause } => {
                    let at = if at.is_empty() { call.byte_range() } else { at };
                    out.push(Diagnostic::new(
                        at,
                        format!("Tenant condition on `{key}` sits under `{clause}`, which does not enforce it"),
                        format!("{m}Filter(must=[{m}FieldCondition(key=\"{key}\", match={m}MatchValue(value={value}))])"),
                    ));
                }
                Scope::WrongType { at, key, value: v } => {
                    let (ty, fixed) = match &expect.configured {
                        Some((_, QdrantKeyType::Integer)) => {
                            ("an integer", format!("int({value})"))
                        }
                        _ => ("a string", value.clone()),
                    };
                    out.push(Diagnostic::new(
                        at,
                        format!(
                            "`{key}` is {ty} key in {}, but the filter matches `{v}`",
                            expect.describe()
                        ),
                        format!(
                            "{m}FieldCondition(key=\"{key}\", match={m}MatchValue(value={fixed}))"
                        ),
                    ));
                }
            }
        }

        /// A filter expression with the tenant condition added to `must`.
        fn filter_with(&self, f: Node<'t>, cond: &str) -> String {
            let src = self.src;
            let m = &self.prefix;
            let f = python::unparen(f);
            if is_call_to(f, src, &["Filter"]) {
                if let Some(list) =
                    python::keyword_arg(f, "must", src).filter(|l| l.kind() == "list")
                {
                    let t = python::text(f, src);
                    let at = list.start_byte() + 1 - f.start_byte();
                    let rest = &t[at..];
                    let sep = if rest.trim_start().starts_with(']') {
                        ""
                    } else {
                        ", "
                    };
                    return one_line(&format!("{}{cond}{sep}{rest}", &t[..at]));
                }
            }
            if f.kind() == "none" {
                return format!("{m}Filter(must=[{cond}])");
            }
            format!(
                "{m}Filter(must=[{cond}, {}])",
                one_line(python::text(f, src))
            )
        }

        /// A filter for a points selector (a filter or ids) with the
        /// tenant condition added.
        fn selector_with(&self, sel: Node<'t>, cond: &str) -> String {
            let src = self.src;
            let m = &self.prefix;
            let sel = python::unparen(sel);
            if is_call_to(sel, src, &["FilterSelector"]) {
                if let Some(f) = python::keyword_arg(sel, "filter", src) {
                    return self.filter_with(f, cond);
                }
            }
            if is_call_to(sel, src, &["Filter"]) || sel.kind() == "dictionary" {
                return self.filter_with(sel, cond);
            }
            let ids = if is_call_to(sel, src, &["PointIdsList"]) {
                python::keyword_arg(sel, "points", src).unwrap_or(sel)
            } else {
                sel
            };
            format!(
                "{m}Filter(must=[{cond}, {m}HasIdCondition(has_id={})])",
                one_line(python::text(ids, src))
            )
        }

        /// The call's text on one line, without the given keyword
        /// arguments and without its closing parenthesis.
        fn call_without(&self, call: Node<'t>, drop: &[&str], given: Option<Node<'t>>) -> String {
            let src = self.src;
            let func = call
                .child_by_field_name("function")
                .map_or("", |f| python::text(f, src));
            let mut parts = Vec::new();
            if let Some(args) = call.child_by_field_name("arguments") {
                let mut c = args.walk();
                for a in args.named_children(&mut c) {
                    if a.kind() == "comment" {
                        continue;
                    }
                    let dropped = Some(a) == given
                        || a.kind() == "keyword_argument"
                            && a.child_by_field_name("name")
                                .is_some_and(|k| drop.contains(&python::text(k, src)));
                    if !dropped {
                        parts.push(one_line(python::text(a, src)));
                    }
                }
            }
            let awaited = call.parent().is_some_and(|p| p.kind() == "await");
            format!(
                "{}{}({}",
                if awaited { "await " } else { "" },
                one_line(func),
                parts.join(", ")
            )
        }

        /// The variable holding the tenant in the enclosing function: a
        /// parameter, else an attribute like `user.org_id` it reads.
        fn tenant_var(&self, at: Node<'t>, expect: &Expect) -> Option<String> {
            let src = self.src;
            let f = python::enclosing_function(at)?;
            let hint = expect.configured.as_ref().map(|(k, _)| leaf(k).to_string());
            let mut names = Vec::new();
            if let Some(params) = f.child_by_field_name("parameters") {
                let mut c = params.walk();
                for p in params.named_children(&mut c) {
                    if let Some(n) = param_name(p, src) {
                        names.push(n.to_string());
                    }
                }
            }
            if let Some(v) = pick_tenant_var(self.ctx, &names, hint.as_deref()) {
                return Some(v);
            }
            let mut attrs = Vec::new();
            python::walk(f, &mut |n| {
                if n.kind() == "attribute" && n.parent().is_none_or(|p| p.kind() != "attribute") {
                    let t = python::text(n, src);
                    if !t.contains('(') && !t.contains('\n') {
                        attrs.push(t.to_string());
                    }
                }
            });
            pick_tenant_var(self.ctx, &attrs, hint.as_deref()).filter(|a| {
                let l = a.rsplit('.').next().unwrap_or(a);
                self.ctx.config.tenant.columns.iter().any(|c| c == l)
            })
        }

        /// Does the enclosing function compare a point's payload tenant key
        /// (`point.payload["org_id"] != org_id`)?
        fn owner_checked(&self, at: Node<'t>, expect: &Expect) -> bool {
            let src = self.src;
            let Some(f) = python::enclosing_function(at) else {
                return false;
            };
            let mut found = false;
            python::walk(f, &mut |n| {
                if found || n.kind() != "comparison_operator" {
                    return;
                }
                let t = python::text(n, src);
                if !t.contains("payload") {
                    return;
                }
                let mut keys = expect.tenant_keys.clone();
                if let Some((k, _)) = &expect.configured {
                    keys = vec![k.clone()];
                }
                found = keys.iter().any(|k| {
                    t.contains(&format!("\"{k}\""))
                        || t.contains(&format!("'{k}'"))
                        || t.contains(&format!(".{k}"))
                });
            });
            found
        }

        /// Do the names in `ids` come from a tenant-scoped read earlier in
        /// the same function (`points, _ = client.scroll(… org filter …)`)?
        fn ids_from_scoped_read(&self, call: Node<'t>, ids: Node<'t>, expect: &Expect) -> bool {
            let src = self.src;
            let Some(f) = python::enclosing_function(call) else {
                return false;
            };
            // Scoped reads in the function.
            let mut scoped: Vec<Range<usize>> = Vec::new();
            python::walk(f, &mut |n| {
                if n.kind() != "call" || n == call {
                    return;
                }
                let Some(func) = n
                    .child_by_field_name("function")
                    .filter(|x| x.kind() == "attribute")
                else {
                    return;
                };
                let method = func
                    .child_by_field_name("attribute")
                    .map(|a| python::text(a, src));
                let Some(method) = method.filter(|m| kind_of(m) == Some(Kind::Read)) else {
                    return;
                };
                if !func
                    .child_by_field_name("object")
                    .is_some_and(|r| is_client(r, src))
                {
                    return;
                }
                let v = match filter_arg(n, method, src) {
                    Some(x) => self.filter(x, expect, 0),
                    None => Scope::Missing,
                };
                if v == Scope::Scoped {
                    scoped.push(n.byte_range());
                }
            });
            if scoped.is_empty() {
                return false;
            }
            let mut tainted: Vec<String> = Vec::new();
            for _ in 0..4 {
                python::walk(f, &mut |n| {
                    let (target, value) = match n.kind() {
                        "assignment" => (
                            n.child_by_field_name("left"),
                            n.child_by_field_name("right"),
                        ),
                        "for_statement" | "for_in_clause" => (
                            n.child_by_field_name("left"),
                            n.child_by_field_name("right"),
                        ),
                        _ => return,
                    };
                    let (Some(target), Some(value)) = (target, value) else {
                        return;
                    };
                    let r = value.byte_range();
                    let from_read = scoped.iter().any(|s| r.start <= s.start && s.end <= r.end);
                    let from_tainted = mentions(value, src, &tainted);
                    if from_read || from_tainted {
                        python::walk(target, &mut |t| {
                            if t.kind() == "identifier" {
                                let name = python::text(t, src).to_string();
                                if !tainted.contains(&name) {
                                    tainted.push(name);
                                }
                            }
                        });
                    }
                });
            }
            // A comprehension's own variables come from its iterable.
            let ids = python::unparen(ids);
            if matches!(ids.kind(), "list_comprehension" | "generator_expression") {
                let mut ok = false;
                python::walk(ids, &mut |n| {
                    if n.kind() == "for_in_clause" {
                        if let Some(r) = n.child_by_field_name("right") {
                            ok |= mentions(r, src, &tainted);
                        }
                    }
                });
                return ok;
            }
            mentions(ids, src, &tainted)
        }

        /// Upserts: every visible point payload carries the tenant key.
        fn upsert(&self, call: Node<'t>, expect: &Expect, out: &mut Vec<Diagnostic>) {
            let src = self.src;
            let Some(points) = python::keyword_arg(call, "points", src)
                .or_else(|| python::positional_args(call).get(1).copied())
            else {
                return;
            };
            let mut payloads: Vec<Node<'t>> = Vec::new();
            for p in self.point_builders(points, 0) {
                if let Some(pl) = python::keyword_arg(p, "payload", src) {
                    payloads.push(pl);
                } else if let Some(pls) = python::keyword_arg(p, "payloads", src) {
                    let pls = python::unparen(pls);
                    match pls.kind() {
                        "list" => {
                            let mut c = pls.walk();
                            payloads.extend(pls.named_children(&mut c));
                        }
                        "list_comprehension" => {
                            if let Some(b) = pls.child_by_field_name("body") {
                                payloads.push(b);
                            }
                        }
                        _ => payloads.push(pls),
                    }
                } else if is_call_to(p, src, &["PointStruct"]) {
                    // A point without any payload.
                    payloads.push(p);
                }
            }
            for pl in payloads {
                let keys = if is_call_to(pl, src, &["PointStruct"]) {
                    Some(Vec::new())
                } else {
                    self.payload_keys(pl, 0)
                };
                let Some(keys) = keys else { continue };
                if keys.iter().any(|k| k == OPAQUE || expect.accepts(k)) {
                    continue;
                }
                let tenant = self.tenant_var(call, expect);
                let key = expect.key_for(tenant.as_deref());
                let value = tenant.unwrap_or_else(|| key.clone());
                let wrong = keys.iter().find(|k| expect.is_other_tenant_key(k));
                let title = match wrong {
                    Some(w) => format!(
                        "Qdrant upsert into {} writes `{w}`, but that collection's tenant key is `{key}`",
                        expect.describe()
                    ),
                    None => format!(
                        "Qdrant upsert into {}: point payload has no {} key",
                        expect.describe(),
                        if expect.configured.is_some() { format!("`{key}`") } else { "tenant".into() }
                    ),
                };
                let pl_text = python::text(pl, src);
                let suggestion = if pl.kind() == "dictionary" {
                    format!("payload={{\"{key}\": {value}, {}", one_line(&pl_text[1..]))
                } else if is_call_to(pl, src, &["PointStruct"]) {
                    format!(
                        "{}, payload={{\"{key}\": {value}}})",
                        one_line(
                            pl_text
                                .trim_end_matches(')')
                                .trim_end()
                                .trim_end_matches(',')
                        )
                    )
                } else {
                    format!("payload={{**{}, \"{key}\": {value}}}", one_line(pl_text))
                };
                out.push(Diagnostic::new(call.byte_range(), title, suggestion));
                return;
            }
        }

        /// `PointStruct(...)` / `Batch(...)` calls whose points reach `n`.
        fn point_builders(&self, n: Node<'t>, depth: u8) -> Vec<Node<'t>> {
            let src = self.src;
            let names = ["PointStruct", "Batch", "PointsBatch"];
            let mut out = Vec::new();
            if depth > 3 {
                return out;
            }
            let n = python::unparen(n);
            let visit = |x: Node<'t>, out: &mut Vec<Node<'t>>| {
                python::walk(x, &mut |c| {
                    if is_call_to(c, src, &names) {
                        out.push(c);
                    } else if c.kind() == "call" {
                        // Points built by a helper of this file.
                        if let Some(f) = self.funcs.called(c, src) {
                            python::walk(f, &mut |d| {
                                if is_call_to(d, src, &names) {
                                    out.push(d);
                                }
                            });
                        }
                    } else if c.kind() == "identifier" && c != n {
                        let parent_is_call = c
                            .parent()
                            .is_some_and(|p| p.kind() == "call" || p.kind() == "attribute");
                        if !parent_is_call {
                            out.extend(self.point_builders(c, depth + 1));
                        }
                    }
                });
            };
            if n.kind() == "identifier" {
                let name = python::text(n, src);
                if let Some(scope) = scope_for(n, name, src) {
                    for (at, w) in python::local_writes(scope, name, src) {
                        if at >= n.start_byte() {
                            continue;
                        }
                        match w {
                            LocalWrite::Assign(x)
                            | LocalWrite::AugAdd(x)
                            | LocalWrite::Push(x)
                            | LocalWrite::Extend(x) => visit(x, &mut out),
                            _ => {}
                        }
                    }
                }
            } else {
                visit(n, &mut out);
            }
            out.dedup_by_key(|x| x.start_byte());
            out
        }

        /// The string keys a payload has, or `None` when it cannot be seen.
        fn payload_keys(&self, n: Node<'t>, depth: u8) -> Option<Vec<String>> {
            let src = self.src;
            let n = python::unparen(n);
            if depth > 3 {
                return None;
            }
            match n.kind() {
                "dictionary" => {
                    let mut keys = Vec::new();
                    let mut opaque = false;
                    let mut c = n.walk();
                    for e in n.named_children(&mut c) {
                        match e.kind() {
                            "pair" => {
                                match e
                                    .child_by_field_name("key")
                                    .and_then(|k| const_string(k, src, 0))
                                {
                                    Some(k) => keys.push(k),
                                    None => opaque = true,
                                }
                            }
                            "dictionary_splat" => match e
                                .named_child(0)
                                .and_then(|x| self.payload_keys(x, depth + 1))
                            {
                                Some(more) => keys.extend(more),
                                None => opaque = true,
                            },
                            _ => {}
                        }
                    }
                    if opaque {
                        // Keys this rule cannot read: the tenant may be among them.
                        keys.push(OPAQUE.into());
                    }
                    Some(keys)
                }
                "call" if last_name(n, src).as_deref() == Some("dict") => {
                    let mut keys = Vec::new();
                    let args = n.child_by_field_name("arguments")?;
                    let mut c = args.walk();
                    for a in args.named_children(&mut c) {
                        match a.kind() {
                            "keyword_argument" => keys.push(
                                python::text(a.child_by_field_name("name")?, src).to_string(),
                            ),
                            _ => keys.extend(self.payload_keys(a, depth + 1)?),
                        }
                    }
                    Some(keys)
                }
                "identifier" => {
                    let name = python::text(n, src);
                    let scope = scope_for(n, name, src)?;
                    let mut keys: Option<Vec<String>> = None;
                    for (at, w) in python::local_writes(scope, name, src) {
                        if at >= n.start_byte() {
                            continue;
                        }
                        match w {
                            LocalWrite::Assign(x) => keys = self.payload_keys(x, depth + 1),
                            LocalWrite::SetItem(k) => {
                                if let (Some(ks), Some(k)) =
                                    (keys.as_mut(), const_string(k, src, 0))
                                {
                                    ks.push(k);
                                }
                            }
                            LocalWrite::Update(call) => {
                                if let Some(ks) = keys.as_mut() {
                                    let args = call.child_by_field_name("arguments")?;
                                    let mut c = args.walk();
                                    for a in args.named_children(&mut c) {
                                        match a.kind() {
                                            "keyword_argument" => {
                                                if let Some(k) = a.child_by_field_name("name") {
                                                    ks.push(python::text(k, src).to_string());
                                                }
                                            }
                                            _ => match self.payload_keys(a, depth + 1) {
                                                Some(more) => ks.extend(more),
                                                None => return None,
                                            },
                                        }
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                    keys
                }
                _ => None,
            }
        }
    }

    /// A payload key this rule cannot read.
    const OPAQUE: &str = "*";

    /// Does `n` mention any of `names` as an identifier?
    fn mentions(n: Node, src: &str, names: &[String]) -> bool {
        if names.is_empty() {
            return false;
        }
        let mut found = false;
        python::walk(n, &mut |x| {
            if !found && x.kind() == "identifier" {
                found = names.iter().any(|t| t == python::text(x, src));
            }
        });
        found
    }

    /// The value of `"key": v` in a dict literal.
    fn dict_value<'t>(d: Node<'t>, key: &str, src: &str) -> Option<Node<'t>> {
        let d = python::unparen(d);
        if d.kind() != "dictionary" {
            return None;
        }
        let mut c = d.walk();
        let found = d.named_children(&mut c).find(|p| {
            p.kind() == "pair"
                && p.child_by_field_name("key")
                    .and_then(|k| python::string_value(k, src))
                    .is_some_and(|k| k == key)
        });
        found.and_then(|p| p.child_by_field_name("value"))
    }

    /// What type a matched value has, when it shows.
    pub(super) fn value_kind(v: Node, src: &str) -> ValueKind {
        let v = python::unparen(v);
        match v.kind() {
            "integer" => ValueKind::Int,
            "string" | "concatenated_string" => ValueKind::Str,
            "call" => match python::call_name(v, src).as_deref() {
                Some("int") => ValueKind::Int,
                Some("str") => ValueKind::Str,
                _ => ValueKind::Unknown,
            },
            _ => ValueKind::Unknown,
        }
    }
}

// ---------------------------------------------------------------- Rust

mod rs {
    use super::*;
    use proc_macro2::{TokenStream, TokenTree};
    use quote::ToTokens;
    use syn::punctuated::Punctuated;
    use syn::spanned::Spanned;
    use syn::visit::Visit;
    use syn::Expr;

    /// What a request does with its points.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    enum Kind {
        Read,
        Batch,
        Retrieve,
        Select,
        Upsert,
    }

    /// Client methods that take a request.
    const METHODS: &[&str] = &[
        "search_points",
        "search_groups",
        "query",
        "query_groups",
        "scroll",
        "count",
        "recommend",
        "recommend_groups",
        "discover",
        "facet",
        "search_batch_points",
        "query_batch",
        "recommend_batch",
        "discover_batch",
        "get_points",
        "delete_points",
        "delete_points_blocking",
        "set_payload",
        "set_payload_blocking",
        "overwrite_payload",
        "delete_payload",
        "clear_payload",
        "delete_vectors",
        "update_vectors",
        "upsert_points",
        "upsert_points_blocking",
        "upsert_points_chunked",
    ];

    fn builder_kind(name: &str) -> Option<Kind> {
        let base = name.strip_suffix("Builder").unwrap_or(name);
        Some(match base {
            "SearchPoints"
            | "QueryPoints"
            | "ScrollPoints"
            | "CountPoints"
            | "RecommendPoints"
            | "DiscoverPoints"
            | "SearchPointGroups"
            | "QueryPointGroups"
            | "RecommendPointGroups"
            | "FacetCounts" => Kind::Read,
            "SearchBatchPoints"
            | "QueryBatchPoints"
            | "RecommendBatchPoints"
            | "DiscoverBatchPoints" => Kind::Batch,
            "GetPoints" => Kind::Retrieve,
            "DeletePoints"
            | "SetPayloadPoints"
            | "DeletePayloadPoints"
            | "ClearPayloadPoints"
            | "DeletePointVectors"
            | "UpdatePointVectors" => Kind::Select,
            "UpsertPoints" => Kind::Upsert,
            _ => return None,
        })
    }

    /// A request as written: a builder chain or a struct literal.
    enum Request<'a> {
        Builder {
            name: String,
            /// `Builder::new(...)`.
            new: &'a syn::ExprCall,
            /// Chained calls after `new`, innermost first.
            calls: Vec<&'a syn::ExprMethodCall>,
        },
        Struct(&'a syn::ExprStruct),
    }

    impl<'a> Request<'a> {
        fn kind(&self) -> Option<Kind> {
            match self {
                Request::Builder { name, .. } => builder_kind(name),
                Request::Struct(s) => builder_kind(&last_segment(&s.path)),
            }
        }

        fn collection(&self) -> Option<&'a Expr> {
            match self {
                Request::Builder { new, .. } => new.args.first(),
                Request::Struct(s) => field(s, "collection_name"),
            }
        }

        /// The argument of the last chained call named one of `methods`.
        fn chained(&self, methods: &[&str]) -> Option<&'a Expr> {
            match self {
                Request::Builder { calls, .. } => calls
                    .iter()
                    .rev()
                    .find(|c| methods.contains(&c.method.to_string().as_str()))
                    .and_then(|c| c.args.first()),
                Request::Struct(_) => None,
            }
        }

        fn filter(&self) -> Option<&'a Expr> {
            match self {
                Request::Builder { .. } => self.chained(&["filter"]),
                Request::Struct(s) => field(s, "filter"),
            }
        }

        fn selector(&self) -> Option<&'a Expr> {
            match self {
                Request::Builder { .. } => self.chained(&["points", "points_selector"]),
                Request::Struct(s) => field(s, "points").or_else(|| field(s, "points_selector")),
            }
        }

        /// The points of an upsert / the requests of a batch.
        fn items(&self) -> Option<&'a Expr> {
            match self {
                Request::Builder { new, .. } => new.args.iter().nth(1),
                Request::Struct(s) => field(s, "points").or_else(|| field(s, "search_points")),
            }
        }
    }

    fn field<'a>(s: &'a syn::ExprStruct, name: &str) -> Option<&'a Expr> {
        s.fields.iter().find_map(|f| match &f.member {
            syn::Member::Named(i) if i == name => Some(&f.expr),
            _ => None,
        })
    }

    fn last_segment(p: &syn::Path) -> String {
        p.segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default()
    }

    /// `Filter::must` → ("Filter", "must").
    fn path_tail(p: &syn::Path) -> (String, String) {
        let n = p.segments.len();
        let seg = |i: usize| p.segments[i].ident.to_string();
        match n {
            0 => (String::new(), String::new()),
            1 => (String::new(), seg(0)),
            _ => (seg(n - 2), seg(n - 1)),
        }
    }

    /// Look through `&`, `( )`, `.clone()`, `.into()`, `.build()`, `Some(…)`.
    fn peel(mut e: &Expr) -> &Expr {
        loop {
            e = match e {
                Expr::Reference(r) => &r.expr,
                Expr::Paren(p) => &p.expr,
                Expr::Group(g) => &g.expr,
                Expr::Try(t) => &t.expr,
                Expr::MethodCall(m)
                    if m.args.is_empty()
                        && matches!(
                            m.method.to_string().as_str(),
                            "clone" | "into" | "build" | "to_owned" | "unwrap" | "to_vec"
                        ) =>
                {
                    &m.receiver
                }
                Expr::Call(c)
                    if c.args.len() == 1
                        && matches!(&*c.func, Expr::Path(p) if p.path.is_ident("Some")) =>
                {
                    &c.args[0]
                }
                _ => return e,
            };
        }
    }

    fn ident_of(e: &Expr) -> Option<String> {
        match e {
            Expr::Path(p) if p.path.segments.len() == 1 && p.qself.is_none() => {
                Some(p.path.segments[0].ident.to_string())
            }
            _ => None,
        }
    }

    /// Module-level facts: string constants and functions.
    struct Module<'a> {
        consts: Vec<(String, String)>,
        fns: Vec<(String, &'a syn::Signature, &'a syn::Block)>,
    }

    fn module(f: &syn::File) -> Module<'_> {
        struct M<'a> {
            m: Module<'a>,
        }
        impl<'a> Visit<'a> for M<'a> {
            fn visit_item_const(&mut self, c: &'a syn::ItemConst) {
                if let Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) = &*c.expr
                {
                    self.m.consts.push((c.ident.to_string(), s.value()));
                }
            }
            fn visit_impl_item_const(&mut self, c: &'a syn::ImplItemConst) {
                if let Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) = &c.expr
                {
                    self.m.consts.push((c.ident.to_string(), s.value()));
                }
            }
        }
        let fns = crate::lang::rust::functions(f)
            .into_iter()
            .map(|x| (x.name(), x.sig, x.block))
            .collect();
        let mut m = M {
            m: Module {
                consts: Vec::new(),
                fns,
            },
        };
        m.visit_file(f);
        m.m
    }

    /// One function's local facts.
    struct Fn<'a> {
        params: Vec<String>,
        /// `let name = init;` with the byte offset of the statement.
        lets: Vec<(String, usize, &'a Expr)>,
        /// `name.push(x)` / `name.extend(x)` / `name.insert(k, v)`.
        pushes: Vec<(String, usize, String, &'a syn::ExprMethodCall)>,
        /// Tenant fields read in the body (`claims.org_id`).
        fields: Vec<String>,
        /// `==`/`!=` comparisons, as token text.
        comparisons: Vec<String>,
        /// Client calls found in the body.
        calls: Vec<&'a syn::ExprMethodCall>,
    }

    fn function<'a>(
        sig: &'a syn::Signature,
        body: &'a syn::Block,
        src: &crate::lang::SourceText,
    ) -> Fn<'a> {
        struct V<'a, 's> {
            f: Fn<'a>,
            src: &'s crate::lang::SourceText,
        }
        impl<'a> Visit<'a> for V<'a, '_> {
            fn visit_local(&mut self, l: &'a syn::Local) {
                let mut pat = &l.pat;
                if let syn::Pat::Type(t) = pat {
                    pat = &t.pat;
                }
                if let (syn::Pat::Ident(i), Some(init)) = (pat, &l.init) {
                    let at = rust::span_range(l.span(), self.src).start;
                    self.f.lets.push((i.ident.to_string(), at, &init.expr));
                }
                syn::visit::visit_local(self, l);
            }
            fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
                let method = m.method.to_string();
                if matches!(method.as_str(), "push" | "extend" | "insert" | "append") {
                    if let Some(name) = ident_of(&m.receiver) {
                        let at = rust::span_range(m.span(), self.src).start;
                        self.f.pushes.push((name, at, method.clone(), m));
                    }
                }
                if METHODS.contains(&method.as_str()) {
                    self.f.calls.push(m);
                }
                syn::visit::visit_expr_method_call(self, m);
            }
            fn visit_expr_field(&mut self, e: &'a syn::ExprField) {
                if let syn::Member::Named(i) = &e.member {
                    let base = e.base.to_token_stream().to_string().replace(' ', "");
                    self.f.fields.push(format!("{base}.{i}"));
                }
                syn::visit::visit_expr_field(self, e);
            }
            fn visit_expr_binary(&mut self, b: &'a syn::ExprBinary) {
                if matches!(b.op, syn::BinOp::Eq(_) | syn::BinOp::Ne(_)) {
                    self.f.comparisons.push(b.to_token_stream().to_string());
                }
                syn::visit::visit_expr_binary(self, b);
            }
            fn visit_item(&mut self, _: &'a syn::Item) {}
        }
        let params = sig
            .inputs
            .iter()
            .filter_map(|a| match a {
                syn::FnArg::Typed(t) => match &*t.pat {
                    syn::Pat::Ident(i) => Some(i.ident.to_string()),
                    _ => None,
                },
                syn::FnArg::Receiver(_) => None,
            })
            .collect();
        let mut v = V {
            f: Fn {
                params,
                lets: Vec::new(),
                pushes: Vec::new(),
                fields: Vec::new(),
                comparisons: Vec::new(),
                calls: Vec::new(),
            },
            src,
        };
        v.visit_block(body);
        v.f
    }

    impl<'a> Fn<'a> {
        /// The last `let name = …` before byte `at`.
        fn binding(&self, name: &str, at: usize) -> Option<&'a Expr> {
            self.lets
                .iter()
                .rfind(|(n, b, _)| n == name && *b < at)
                .map(|(_, _, e)| *e)
        }
    }

    struct Checker<'a, 'c> {
        ctx: &'a Ctx<'c>,
        file: &'a ParsedFile,
        module: Module<'a>,
    }

    pub fn check(ctx: &Ctx, f: &syn::File, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
        let c = Checker {
            ctx,
            file,
            module: module(f),
        };
        for (_, sig, block) in &c.module.fns {
            let func = function(sig, block, &file.src);
            for call in &func.calls {
                c.client_call(&func, call, out);
            }
        }
    }

    impl<'a> Checker<'a, '_> {
        fn range(&self, e: &impl Spanned) -> Range<usize> {
            rust::span_range(e.span(), &self.file.src)
        }

        fn text(&self, e: &impl Spanned) -> String {
            self.file
                .text()
                .get(self.range(e))
                .unwrap_or("")
                .to_string()
        }

        /// The request an expression builds, followed through `let`s.
        fn request(&self, func: &Fn<'a>, e: &'a Expr, depth: u8) -> Option<Request<'a>> {
            if depth > 4 {
                return None;
            }
            let mut calls = Vec::new();
            let mut cur = e;
            loop {
                cur = peel(cur);
                match cur {
                    Expr::MethodCall(m) => {
                        calls.push(m);
                        cur = &m.receiver;
                    }
                    Expr::Call(c) => {
                        let Expr::Path(p) = &*c.func else { return None };
                        let (ty, f) = path_tail(&p.path);
                        if f != "new" || builder_kind(&ty).is_none() {
                            return None;
                        }
                        calls.reverse();
                        return Some(Request::Builder {
                            name: ty,
                            new: c,
                            calls,
                        });
                    }
                    Expr::Struct(s) => {
                        return builder_kind(&last_segment(&s.path))
                            .is_some()
                            .then_some(Request::Struct(s))
                    }
                    Expr::Path(_) => {
                        let name = ident_of(cur)?;
                        let init = func.binding(&name, self.range(cur).start)?;
                        let inner = self.request(func, init, depth + 1)?;
                        return Some(match inner {
                            Request::Builder {
                                name,
                                new,
                                calls: mut earlier,
                            } => {
                                calls.reverse();
                                earlier.extend(calls);
                                Request::Builder {
                                    name,
                                    new,
                                    calls: earlier,
                                }
                            }
                            s => s,
                        });
                    }
                    _ => return None,
                }
            }
        }

        fn const_str(&self, func: &Fn<'a>, e: &Expr) -> Option<String> {
            match peel(e) {
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                Expr::Path(p) => {
                    let name = last_segment(&p.path);
                    if p.path.segments.len() == 1 {
                        if let Some(init) = func.binding(&name, self.range(e).start) {
                            return self.const_str(func, init);
                        }
                    }
                    self.module
                        .consts
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, v)| v.clone())
                }
                Expr::MethodCall(m) if m.method == "to_string" || m.method == "into" => {
                    self.const_str(func, &m.receiver)
                }
                _ => None,
            }
        }

        fn client_call(
            &self,
            func: &Fn<'a>,
            call: &'a syn::ExprMethodCall,
            out: &mut Vec<Diagnostic>,
        ) {
            let method = call.method.to_string();
            // The 1.x API: `upsert_points(collection, shard_key, points, ordering)`.
            if call.args.len() >= 3
                && matches!(
                    method.as_str(),
                    "upsert_points"
                        | "upsert_points_blocking"
                        | "delete_points"
                        | "delete_points_blocking"
                )
            {
                let collection = self.const_str(func, &call.args[0]);
                let expect = self.expect(collection, Some(&call.args[0]));
                let Some(expect) = expect else { return };
                if method.starts_with("upsert") {
                    self.upsert(func, call, &call.args[2], &expect, out);
                } else {
                    let v = self.selector(func, call, &call.args[2], &expect);
                    self.report(func, call, &method, &expect, v, None, out);
                }
                return;
            }
            let Some(arg) = call.args.first() else { return };
            let Some(req) = self.request(func, arg, 0) else {
                return;
            };
            let Some(kind) = req.kind() else { return };
            let coll_expr = req.collection();
            let collection = coll_expr.and_then(|c| self.const_str(func, c));
            let Some(expect) = self.expect(collection, coll_expr) else {
                return;
            };
            match kind {
                Kind::Read => {
                    let v = match req.filter() {
                        Some(f) => self.filter(func, f, &expect, 0),
                        None => Scope::Missing,
                    };
                    self.report(func, call, &method, &expect, v, Some(&req), out);
                }
                Kind::Batch => {
                    let Some(items) = req.items() else { return };
                    let mut verdict = None;
                    self.each_request(func, items, &mut |r: Request<'a>| {
                        let v = match r.filter() {
                            Some(f) => self.filter(func, f, &expect, 0),
                            None => Scope::Missing,
                        };
                        verdict = Some(match verdict.take() {
                            Some(p) => Scope::worst(p, v),
                            None => v,
                        });
                    });
                    if let Some(v) = verdict {
                        self.report(func, call, &method, &expect, v, None, out);
                    }
                }
                Kind::Retrieve => {
                    if !self.owner_checked(func, &expect) {
                        self.report(
                            func,
                            call,
                            &method,
                            &expect,
                            Scope::Missing,
                            Some(&req),
                            out,
                        );
                    }
                }
                Kind::Select => {
                    let Some(sel) = req.selector() else { return };
                    let v = self.selector(func, call, sel, &expect);
                    self.report(func, call, &method, &expect, v, Some(&req), out);
                }
                Kind::Upsert => {
                    if let Some(points) = req.items() {
                        self.upsert(func, call, points, &expect, out);
                    }
                }
            }
        }

        fn expect(&self, collection: Option<String>, shown: Option<&Expr>) -> Option<Expect> {
            if collection
                .as_ref()
                .is_some_and(|c| self.ctx.config.qdrant.global_collections.contains(c))
            {
                return None;
            }
            let shown = collection.clone().or_else(|| shown.map(|e| self.text(e)));
            let e = Expect::new(self.ctx, collection, self.file.text());
            Some(Expect {
                collection: shown,
                ..e
            })
        }

        /// Requests inside a batch's list.
        fn each_request(&self, func: &Fn<'a>, items: &'a Expr, f: &mut dyn FnMut(Request<'a>)) {
            match peel(items) {
                Expr::Array(a) => {
                    for e in &a.elems {
                        if let Some(r) = self.request(func, e, 0) {
                            f(r);
                        }
                    }
                }
                Expr::Path(_) => {
                    if let Some(name) = ident_of(peel(items)) {
                        if let Some(init) = func.binding(&name, self.range(items).start) {
                            self.each_request(func, init, f);
                        }
                        for (n, _, m, call) in &func.pushes {
                            if *n == name && m == "push" {
                                if let Some(r) =
                                    call.args.first().and_then(|a| self.request(func, a, 0))
                                {
                                    f(r);
                                }
                            }
                        }
                    }
                }
                Expr::MethodCall(m) => {
                    // `xs.iter().map(|x| SearchPointsBuilder::new(…)).collect()`
                    for a in &m.args {
                        if let Expr::Closure(c) = a {
                            if let Some(r) = self.request(func, &c.body, 0) {
                                f(r);
                            }
                        }
                    }
                    self.each_request(func, &m.receiver, f);
                }
                _ => {}
            }
        }

        /// The verdict on a filter expression.
        fn filter(&self, func: &Fn<'a>, e: &'a Expr, expect: &Expect, depth: u8) -> Scope {
            if depth > 4 {
                return Scope::Unknown;
            }
            let e = peel(e);
            match e {
                Expr::Path(p) if p.path.is_ident("None") => Scope::Missing,
                Expr::Path(_) => {
                    match ident_of(e).and_then(|n| func.binding(&n, self.range(e).start)) {
                        Some(init) => self.filter(func, init, expect, depth + 1),
                        None => Scope::Unknown,
                    }
                }
                Expr::Call(c) => {
                    let Expr::Path(p) = &*c.func else {
                        return Scope::Unknown;
                    };
                    let (ty, f) = path_tail(&p.path);
                    if ty == "Filter" {
                        let arg = c.args.first();
                        let (conds, unknown) = match arg {
                            Some(a) => self.conditions(func, a, expect, depth),
                            None => (Vec::new(), true),
                        };
                        return match f.as_str() {
                            "must" | "all" => judge(expect, &conds, unknown, &[]),
                            "should" | "any" => {
                                judge(expect, &[], false, &[("should".into(), conds)])
                            }
                            "must_not" | "none" => {
                                judge(expect, &[], false, &[("must_not".into(), conds)])
                            }
                            _ => Scope::Unknown,
                        };
                    }
                    self.helper(func, &f, expect, depth)
                }
                Expr::MethodCall(m) if matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident("self")) => {
                    self.helper(func, &m.method.to_string(), expect, depth)
                }
                Expr::Struct(s) if last_segment(&s.path) == "Filter" => {
                    let (must, unknown) = match field(s, "must") {
                        Some(m) => self.conditions(func, m, expect, depth),
                        None => (Vec::new(), false),
                    };
                    let mut others = Vec::new();
                    for clause in ["should", "must_not"] {
                        if let Some(x) = field(s, clause) {
                            others.push((
                                clause.to_string(),
                                self.conditions(func, x, expect, depth).0,
                            ));
                        }
                    }
                    judge(expect, &must, unknown, &others)
                }
                Expr::If(i) => {
                    let then = i
                        .then_branch
                        .stmts
                        .last()
                        .and_then(|s| match s {
                            syn::Stmt::Expr(x, None) => {
                                Some(self.filter(func, x, expect, depth + 1))
                            }
                            _ => None,
                        })
                        .unwrap_or(Scope::Unknown);
                    let other = match &i.else_branch {
                        Some((_, x)) => self.filter(func, x, expect, depth + 1),
                        None => Scope::Missing,
                    };
                    then.worst(other)
                }
                Expr::Block(b) => match b.block.stmts.last() {
                    Some(syn::Stmt::Expr(x, None)) => self.filter(func, x, expect, depth + 1),
                    _ => Scope::Unknown,
                },
                _ => Scope::Unknown,
            }
        }

        /// A filter returned by a function: a configured helper, or one
        /// defined in this file.
        fn helper(&self, _func: &Fn<'a>, name: &str, expect: &Expect, depth: u8) -> Scope {
            if self
                .ctx
                .config
                .qdrant
                .filter_helpers
                .iter()
                .any(|h| h == name)
            {
                return Scope::Scoped;
            }
            let Some((_, sig, block)) = self.module.fns.iter().find(|(n, _, _)| n == name) else {
                return Scope::Unknown;
            };
            let inner = function(sig, block, &self.file.src);
            let mut verdict: Option<Scope> = None;
            for r in returns(block) {
                let v = self.filter(&inner, r, expect, depth + 1);
                verdict = Some(match verdict {
                    Some(p) => p.worst(v),
                    None => v,
                });
            }
            verdict.unwrap_or(Scope::Unknown)
        }

        /// Conditions of a clause (`[…]`, `vec![…]`, a `Vec` built with
        /// `push`), and whether some could not be seen.
        fn conditions(
            &self,
            func: &Fn<'a>,
            e: &'a Expr,
            expect: &Expect,
            depth: u8,
        ) -> (Vec<Cond>, bool) {
            let e = peel(e);
            match e {
                Expr::Array(a) => (
                    a.elems
                        .iter()
                        .map(|x| self.condition(func, x, expect, depth))
                        .collect(),
                    false,
                ),
                Expr::Macro(m) if m.mac.path.is_ident("vec") => {
                    match m
                        .mac
                        .parse_body_with(Punctuated::<Expr, syn::Token![,]>::parse_terminated)
                    {
                        Ok(items) => (
                            items
                                .iter()
                                .map(|x| self.condition_owned(func, x, expect, depth))
                                .collect(),
                            false,
                        ),
                        Err(_) => (Vec::new(), true),
                    }
                }
                Expr::Path(_) => {
                    let Some(name) = ident_of(e) else {
                        return (Vec::new(), true);
                    };
                    let at = self.range(e).start;
                    let (mut out, mut unknown) = match func.binding(&name, at) {
                        Some(init) => self.conditions(func, init, expect, depth + 1),
                        None => (Vec::new(), true),
                    };
                    for (n, b, m, call) in &func.pushes {
                        if *n != name || *b >= at {
                            continue;
                        }
                        match (m.as_str(), call.args.first()) {
                            ("push", Some(x)) => out.push(self.condition(func, x, expect, depth)),
                            ("extend", Some(x)) => {
                                let (more, u) = self.conditions(func, x, expect, depth + 1);
                                out.extend(more);
                                unknown |= u;
                            }
                            _ => {}
                        }
                    }
                    (out, unknown)
                }
                _ => (vec![self.condition(func, e, expect, depth)], false),
            }
        }

        /// A condition parsed out of a macro (owned, so not followed
        /// through helpers that need the borrowed tree).
        fn condition_owned(&self, func: &Fn<'a>, e: &Expr, expect: &Expect, depth: u8) -> Cond {
            match peel(e) {
                Expr::Call(c) => self.condition_call(func, c, expect, depth),
                Expr::Path(_) | Expr::MethodCall(_) | Expr::Struct(_) => {
                    // Re-find the same expression in the file's tree is not
                    // possible; treat variables and helpers as unknown.
                    Cond::Unknown
                }
                _ => Cond::Unknown,
            }
        }

        fn condition(&self, func: &Fn<'a>, e: &'a Expr, expect: &Expect, depth: u8) -> Cond {
            if depth > 4 {
                return Cond::Unknown;
            }
            let e = peel(e);
            match e {
                Expr::Call(c) => {
                    if let Expr::Path(p) = &*c.func {
                        let (ty, f) = path_tail(&p.path);
                        if ty == "Filter" {
                            return Cond::Nested(self.filter(func, e, expect, depth + 1));
                        }
                        if ty != "Condition"
                            && !f.is_empty()
                            && self.module.fns.iter().any(|(n, _, _)| *n == f)
                            || self.ctx.config.qdrant.filter_helpers.contains(&f)
                        {
                            return self.condition_helper(&f, expect, depth);
                        }
                    }
                    self.condition_call(func, c, expect, depth)
                }
                Expr::Path(_) => {
                    match ident_of(e).and_then(|n| func.binding(&n, self.range(e).start)) {
                        Some(init) => self.condition(func, init, expect, depth + 1),
                        None => Cond::Unknown,
                    }
                }
                Expr::MethodCall(m) if matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident("self")) => {
                    self.condition_helper(&m.method.to_string(), expect, depth)
                }
                Expr::Struct(s) if last_segment(&s.path) == "FieldCondition" => {
                    match field(s, "key").and_then(|k| self.const_str(func, k)) {
                        Some(key) => Cond::Field {
                            key,
                            value: ValueKind::Unknown,
                            value_text: String::new(),
                            at: self.range(s),
                        },
                        None => Cond::Unknown,
                    }
                }
                Expr::Struct(s) if last_segment(&s.path) == "Filter" => {
                    Cond::Nested(self.filter(func, e, expect, depth + 1))
                }
                _ => Cond::Unknown,
            }
        }

        fn condition_helper(&self, name: &str, expect: &Expect, depth: u8) -> Cond {
            if self
                .ctx
                .config
                .qdrant
                .filter_helpers
                .iter()
                .any(|h| h == name)
            {
                return Cond::Nested(Scope::Scoped);
            }
            let Some((_, sig, block)) = self.module.fns.iter().find(|(n, _, _)| n == name) else {
                return Cond::Unknown;
            };
            let inner = function(sig, block, &self.file.src);
            match returns(block).last() {
                Some(r) => self.condition(&inner, r, expect, depth + 1),
                None => Cond::Unknown,
            }
        }

        /// `Condition::matches("org_id", value)` and friends.
        fn condition_call(
            &self,
            func: &Fn<'a>,
            c: &syn::ExprCall,
            _expect: &Expect,
            _depth: u8,
        ) -> Cond {
            let Expr::Path(p) = &*c.func else {
                return Cond::Unknown;
            };
            let (ty, f) = path_tail(&p.path);
            if ty != "Condition" {
                return Cond::Unknown;
            }
            match f.as_str() {
                "matches" => {
                    let key = c.args.first().and_then(|k| self.const_str(func, k));
                    let Some(key) = key else { return Cond::Unknown };
                    let value = c.args.iter().nth(1);
                    Cond::Field {
                        key,
                        value: value.map_or(ValueKind::Unknown, value_kind),
                        value_text: value.map(|v| self.text(v)).unwrap_or_default(),
                        at: self.range(c),
                    }
                }
                _ => Cond::Other,
            }
        }

        /// Selector of a delete / payload update: a filter or ids.
        fn selector(
            &self,
            func: &Fn<'a>,
            call: &'a syn::ExprMethodCall,
            sel: &'a Expr,
            expect: &Expect,
        ) -> Scope {
            let s = peel(sel);
            let is_filter = match s {
                Expr::Call(c) => {
                    matches!(&*c.func, Expr::Path(p) if path_tail(&p.path).0 == "Filter")
                        || matches!(&*c.func, Expr::Path(p) if !matches!(last_segment(&p.path).as_str(), "PointsIdsList" | "from"))
                }
                Expr::Struct(st) => last_segment(&st.path) == "Filter",
                Expr::MethodCall(_) => true,
                Expr::Path(_) => {
                    return match ident_of(s).and_then(|n| func.binding(&n, self.range(s).start)) {
                        Some(init) => self.selector(func, call, init, expect),
                        None => Scope::Unknown,
                    }
                }
                _ => false,
            };
            if is_filter {
                return self.filter(func, s, expect, 0);
            }
            if self.owner_checked(func, expect) || self.ids_from_scoped_read(func, call, s, expect)
            {
                Scope::Scoped
            } else {
                Scope::Missing
            }
        }

        /// Do the ids come from a tenant-scoped read earlier in the function?
        fn ids_from_scoped_read(
            &self,
            func: &Fn<'a>,
            call: &'a syn::ExprMethodCall,
            ids: &Expr,
            expect: &Expect,
        ) -> bool {
            let mut scoped: Vec<Range<usize>> = Vec::new();
            for c in &func.calls {
                if std::ptr::eq(*c, call) {
                    continue;
                }
                let Some(req) = c.args.first().and_then(|a| self.request(func, a, 0)) else {
                    continue;
                };
                if req.kind() != Some(Kind::Read) {
                    continue;
                }
                let v = match req.filter() {
                    Some(f) => self.filter(func, f, expect, 0),
                    None => Scope::Missing,
                };
                if v == Scope::Scoped {
                    scoped.push(self.range(*c));
                }
            }
            if scoped.is_empty() {
                return false;
            }
            let mut tainted: Vec<String> = Vec::new();
            for _ in 0..4 {
                for (name, _, init) in &func.lets {
                    let r = self.range(*init);
                    let from_read = scoped.iter().any(|s| r.start <= s.start && s.end <= r.end);
                    if (from_read || mentions(init.to_token_stream(), &tainted))
                        && !tainted.contains(name)
                    {
                        tainted.push(name.clone());
                    }
                }
            }
            mentions(ids.to_token_stream(), &tainted)
        }

        /// Does the function compare a payload's tenant key?
        fn owner_checked(&self, func: &Fn<'a>, expect: &Expect) -> bool {
            let keys: Vec<String> = match &expect.configured {
                Some((k, _)) => vec![k.clone()],
                None => expect.tenant_keys.clone(),
            };
            func.comparisons.iter().any(|c| {
                c.contains("payload") && keys.iter().any(|k| c.contains(&format!("\"{k}\"")))
            })
        }

        /// Upserts: every visible point payload names the tenant key.
        fn upsert(
            &self,
            func: &Fn<'a>,
            call: &'a syn::ExprMethodCall,
            points: &'a Expr,
            expect: &Expect,
            out: &mut Vec<Diagnostic>,
        ) {
            let mut payloads: Vec<(TokenStream, Range<usize>)> = Vec::new();
            self.point_payloads(func, points, 0, &mut payloads);
            for (tokens, at) in payloads {
                let mut keys = Vec::new();
                string_literals(tokens.clone(), &mut keys);
                // A payload built in a variable: its `insert("k", …)` calls too.
                if let Some(name) = syn::parse2::<Expr>(tokens).ok().as_ref().and_then(ident_of) {
                    if let Some(init) = func.binding(&name, at.start) {
                        string_literals(init.to_token_stream(), &mut keys);
                    }
                    for (n, _, m, c) in &func.pushes {
                        if *n == name && m == "insert" {
                            string_literals(c.args.to_token_stream(), &mut keys);
                        }
                    }
                }
                if keys.is_empty() || keys.iter().any(|k| expect.accepts(k)) {
                    continue;
                }
                let tenant = self.tenant_var(func, expect);
                let key = expect.key_for(tenant.as_deref());
                let value = tenant.unwrap_or_else(|| key.clone());
                let wrong = keys.iter().find(|k| expect.is_other_tenant_key(k));
                let title = match wrong {
                    Some(w) => format!(
                        "Qdrant upsert into {} writes `{w}`, but that collection's tenant key is `{key}`",
                        expect.describe()
                    ),
                    None => format!(
                        "Qdrant upsert into {}: point payload has no {} key",
                        expect.describe(),
                        if expect.configured.is_some() { format!("`{key}`") } else { "tenant".into() }
                    ),
                };
                out.push(Diagnostic::new(
                    self.range(call),
                    title,
                    format!("put \"{key}\": {value} in every point's payload, e.g. json!({{\"{key}\": {value}, …}})"),
                ));
                return;
            }
        }

        /// The payload argument of every `PointStruct::new(id, vector,
        /// payload)` that reaches `points`.
        fn point_payloads(
            &self,
            func: &Fn<'a>,
            points: &'a Expr,
            depth: u8,
            out: &mut Vec<(TokenStream, Range<usize>)>,
        ) {
            if depth > 3 {
                return;
            }
            let p = peel(points);
            if let Some(name) = ident_of(p) {
                let at = self.range(p).start;
                if let Some(init) = func.binding(&name, at) {
                    self.point_payloads(func, init, depth + 1, out);
                }
                for (n, b, m, c) in &func.pushes {
                    if *n == name && *b < at && matches!(m.as_str(), "push" | "extend") {
                        if let Some(a) = c.args.first() {
                            self.point_payloads(func, a, depth + 1, out);
                        }
                    }
                }
                return;
            }
            let tokens = p.to_token_stream();
            find_point_structs(tokens.clone(), &self.file.src, out);
            // Points built into variables first: `vec![point]`.
            let at = self.range(p).start;
            let mut names = Vec::new();
            idents(tokens, &mut names);
            names.sort();
            names.dedup();
            for n in names {
                if let Some(init) = func.binding(&n, at) {
                    self.point_payloads(func, init, depth + 1, out);
                }
            }
        }

        fn tenant_var(&self, func: &Fn<'a>, expect: &Expect) -> Option<String> {
            let hint = expect.configured.as_ref().map(|(k, _)| leaf(k).to_string());
            pick_tenant_var(self.ctx, &func.params, hint.as_deref()).or_else(|| {
                pick_tenant_var(self.ctx, &func.fields, hint.as_deref()).filter(|a| {
                    let l = a.rsplit('.').next().unwrap_or(a);
                    self.ctx.config.tenant.columns.iter().any(|c| c == l)
                })
            })
        }

        #[allow(clippy::too_many_arguments)]
        fn report(
            &self,
            func: &Fn<'a>,
            call: &'a syn::ExprMethodCall,
            method: &str,
            expect: &Expect,
            verdict: Scope,
            req: Option<&Request<'a>>,
            out: &mut Vec<Diagnostic>,
        ) {
            let tenant = self.tenant_var(func, expect);
            let key = expect.key_for(tenant.as_deref());
            let var = tenant.unwrap_or_else(|| key.clone());
            let value = match &expect.configured {
                Some((_, QdrantKeyType::Integer)) => var.clone(),
                _ => format!("{var}.to_string()"),
            };
            let cond = format!("Condition::matches(\"{key}\", {value})");
            match verdict {
                Scope::Scoped | Scope::Unknown => {}
                Scope::Missing => {
                    let kind = req.and_then(|r| r.kind());
                    let title = match kind {
                        Some(Kind::Retrieve) => format!(
                            "Qdrant `{method}` on {} fetches points by id without checking their {} key",
                            expect.describe(),
                            expect.missing_key()
                        ),
                        Some(Kind::Select) | None if method.contains("delete") || method.contains("payload") => format!(
                            "Qdrant `{method}` on {} selects points without a {} filter",
                            expect.describe(),
                            expect.missing_key()
                        ),
                        _ => format!(
                            "Qdrant `{method}` on {} has no {} filter",
                            expect.describe(),
                            expect.missing_key()
                        ),
                    };
                    let suggestion = self.suggest(req, kind, &cond, expect);
                    out.push(Diagnostic::new(self.range(call), title, suggestion));
                }
                Scope::WrongKey { at, key: found } => out.push(Diagnostic::new(
                    at,
                    format!(
                        "Qdrant filter on {} uses `{found}`, but that collection's tenant key is `{key}`",
                        expect.describe()
                    ),
                    cond,
                )),
                Scope::NotEnforced { at, key, clause } => {
                    let at = if at.is_empty() { self.range(call) } else { at };
                    out.push(Diagnostic::new(
                        at,
                        format!("Tenant condition on `{key}` sits under `{clause}`, which does not enforce it"),
                        format!("Filter::must([{cond}])"),
                    ))
                }
                Scope::WrongType { at, key, value: v } => {
                    let ty = match &expect.configured {
                        Some((_, QdrantKeyType::Integer)) => "an integer",
                        _ => "a string",
                    };
                    out.push(Diagnostic::new(
                        at,
                        format!(
                            "`{key}` is {ty} key in {}, but the filter matches `{v}`",
                            expect.describe()
                        ),
                        cond,
                    ))
                }
            }
        }

        /// The user's request with the tenant filter added.
        fn suggest(
            &self,
            req: Option<&Request<'a>>,
            kind: Option<Kind>,
            cond: &str,
            _expect: &Expect,
        ) -> String {
            let filter = format!("Filter::must([{cond}])");
            match (req, kind) {
                (Some(Request::Builder { new, name, calls }), Some(k)) => {
                    let new_text = one_line(&self.text(*new));
                    let rest: String = calls
                        .iter()
                        .filter(|c| {
                            !matches!(
                                c.method.to_string().as_str(),
                                "filter" | "points" | "points_selector"
                            )
                        })
                        .map(|c| one_line(&format!(".{}({})", c.method, self.text(&c.args))))
                        .collect();
                    match k {
                        Kind::Retrieve => {
                            let coll = new.args.first().map(|a| self.text(a)).unwrap_or_default();
                            let ids = new
                                .args
                                .iter()
                                .nth(1)
                                .map(|a| self.text(a))
                                .unwrap_or_else(|| "ids".into());
                            format!(
                                "ScrollPointsBuilder::new({coll}).filter(Filter::must([{cond}, Condition::has_id({ids})]))"
                            )
                        }
                        Kind::Select => {
                            let sel = req.and_then(|r| r.selector()).map(|s| match peel(s) {
                                Expr::Struct(st) if last_segment(&st.path) == "PointsIdsList" => {
                                    field(st, "ids").map_or_else(|| self.text(s), |i| self.text(i))
                                }
                                _ => self.text(s),
                            });
                            let method = if name.starts_with("DeletePoints") {
                                "points"
                            } else {
                                "points_selector"
                            };
                            match sel {
                                Some(f) if f.starts_with("Filter") => {
                                    format!("{new_text}.{method}({}){rest}", filter_with(&f, cond))
                                }
                                Some(ids) => format!("{new_text}.{method}(Filter::must([{cond}, Condition::has_id({})])){rest}", one_line(&ids)),
                                None => format!("{new_text}.{method}({filter}){rest}"),
                            }
                        }
                        _ => match req.and_then(|r| r.filter()) {
                            Some(f) => format!(
                                "{new_text}.filter({}){rest}",
                                filter_with(&self.text(f), cond)
                            ),
                            None => format!("{new_text}.filter({filter}){rest}"),
                        },
                    }
                }
                (Some(Request::Struct(_)), _) => format!("filter: Some({filter}),"),
                _ => format!("scope the request with {filter}"),
            }
        }
    }

    /// An existing filter's text with the tenant condition added to `must`.
    fn filter_with(existing: &str, cond: &str) -> String {
        let t = one_line(existing);
        for head in ["Filter::must([", "Filter::must(vec!["] {
            if let Some(rest) = t.strip_prefix(head) {
                return format!("{head}{cond}, {rest}");
            }
        }
        format!("Filter::must([{cond}, Condition::from({t})])")
    }

    /// The expressions a function body returns: its tail and `return`s.
    fn returns(block: &syn::Block) -> Vec<&Expr> {
        struct R<'a> {
            out: Vec<&'a Expr>,
        }
        impl<'a> Visit<'a> for R<'a> {
            fn visit_expr_return(&mut self, r: &'a syn::ExprReturn) {
                if let Some(e) = &r.expr {
                    self.out.push(e);
                }
            }
            fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
            fn visit_item(&mut self, _: &'a syn::Item) {}
        }
        let mut r = R { out: Vec::new() };
        r.visit_block(block);
        if let Some(syn::Stmt::Expr(e, None)) = block.stmts.last() {
            r.out.push(e);
        }
        r.out
    }

    fn value_kind(v: &Expr) -> ValueKind {
        match peel(v) {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(_),
                ..
            }) => ValueKind::Str,
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(_),
                ..
            }) => ValueKind::Int,
            Expr::Cast(c) => {
                let ty = c.ty.to_token_stream().to_string();
                if matches!(
                    ty.as_str(),
                    "i64" | "u64" | "i32" | "u32" | "isize" | "usize"
                ) {
                    ValueKind::Int
                } else {
                    ValueKind::Unknown
                }
            }
            Expr::MethodCall(m) => match m.method.to_string().as_str() {
                "to_string" | "to_owned" => ValueKind::Str,
                _ => ValueKind::Unknown,
            },
            Expr::Macro(m) if m.mac.path.is_ident("format") => ValueKind::Str,
            _ => ValueKind::Unknown,
        }
    }

    /// Does a token stream mention one of `names` as an identifier?
    fn mentions(tokens: TokenStream, names: &[String]) -> bool {
        tokens.into_iter().any(|t| match t {
            TokenTree::Ident(i) => names.iter().any(|n| i == n.as_str()),
            TokenTree::Group(g) => mentions(g.stream(), names),
            _ => false,
        })
    }

    fn idents(tokens: TokenStream, out: &mut Vec<String>) {
        for t in tokens {
            match t {
                TokenTree::Ident(i) => out.push(i.to_string()),
                TokenTree::Group(g) => idents(g.stream(), out),
                _ => {}
            }
        }
    }

    /// Every string literal in a token stream (macros included).
    fn string_literals(tokens: TokenStream, out: &mut Vec<String>) {
        for t in tokens {
            match t {
                TokenTree::Literal(l) => {
                    if let Ok(syn::Lit::Str(s)) =
                        syn::parse2::<syn::Lit>(TokenTree::Literal(l).into())
                    {
                        out.push(s.value());
                    }
                }
                TokenTree::Group(g) => string_literals(g.stream(), out),
                _ => {}
            }
        }
    }

    /// The third argument of every `PointStruct::new(…)` in a token stream.
    fn find_point_structs(
        tokens: TokenStream,
        src: &crate::lang::SourceText,
        out: &mut Vec<(TokenStream, Range<usize>)>,
    ) {
        let toks: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, t) in toks.iter().enumerate() {
            if let TokenTree::Group(g) = t {
                let is_new = i >= 4
                    && matches!(&toks[i - 1], TokenTree::Ident(n) if n == "new")
                    && matches!(&toks[i - 4], TokenTree::Ident(n) if n == "PointStruct");
                if is_new && g.delimiter() == proc_macro2::Delimiter::Parenthesis {
                    if let Ok(args) = syn::parse::Parser::parse2(
                        Punctuated::<Expr, syn::Token![,]>::parse_terminated,
                        g.stream(),
                    ) {
                        if let Some(p) = args.iter().nth(2) {
                            out.push((p.to_token_stream(), rust::span_range(p.span(), src)));
                        }
                    }
                }
                find_point_structs(g.stream(), src, out);
            }
        }
    }
}
