//! TL008 graph-tenant-scope: Cypher sent to FalkorDB / Neo4j, and Graphiti
//! searches and episodes, must be scoped to one tenant — a per-tenant
//! graph or a tenant predicate in the query text.

use super::keys::{py_peel, Key, Markers, Part, PyFile, PyKeys, Shape};
use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::lang::{python, Language, ParsedFile, Syntax};
use tree_sitter::Node;

/// Words one of which every file this rule reports on contains: a graph
/// client's name, or Cypher's own keyword with its pattern.
const TRIGGERS: &[&str] = &[
    "falkordb",
    "graphiti",
    "neo4j",
    "select_graph",
    "cypher",
    "match (",
    "merge (",
];

pub static RULE: RuleMeta = RuleMeta {
    id: "TL008",
    name: "graph-tenant-scope",
    severity: Severity::Hard,
    languages: &[Language::Python],
    summary: "Cypher queries and Graphiti calls are scoped to one tenant's graph or group",
    doc: include_str!("../../rules/TL008-graph-tenant-scope.md"),
    triggers: |c| {
        let mut w = super::words(TRIGGERS);
        w.extend(c.graph.scoping_calls.iter().cloned());
        w
    },
    gate: None,
    needs_index: false,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

/// Methods that run Cypher: FalkorDB `query`/`ro_query`, Neo4j
/// `run`/`execute_query`.
const CYPHER_METHODS: &[&str] = &["query", "ro_query", "run", "execute_query"];

/// Graphiti methods and the keyword that scopes them.
const GRAPHITI: &[(&str, &str)] = &[
    ("search", "group_ids"),
    ("search_", "group_ids"),
    ("retrieve_episodes", "group_ids"),
    ("get_nodes_by_query", "group_ids"),
    ("build_communities", "group_ids"),
    ("add_episode", "group_id"),
    ("add_episode_bulk", "group_id"),
];

/// What a graph handle is known to be.
#[derive(PartialEq, Clone, Copy)]
enum Scope {
    /// Selected with a tenant value (`select_graph(f"org_{org_id}")`).
    Tenant,
    /// A graph that holds no tenant data by configuration.
    Global,
    /// Shared, or not known: the query text must scope itself.
    Shared,
}

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    let Syntax::Python(tree) = &file.syntax else {
        return;
    };
    let text = file.text();
    let lower = text.to_ascii_lowercase();
    let cfg = &ctx.config.graph;
    if !TRIGGERS
        .iter()
        .chain(
            cfg.scoping_calls
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .iter(),
        )
        .any(|w| lower.contains(&w.to_ascii_lowercase()))
    {
        return;
    }
    let root = tree.root_node();
    let pf = PyFile::new(root, text);
    let markers = Markers::new(&ctx.config.tenant.columns, &cfg.tenant_properties);
    let g = Graph {
        ctx,
        keys: PyKeys {
            file: &pf,
            markers: &markers,
            helpers: &[],
        },
        src: text,
    };
    let mut calls = Vec::new();
    python::walk(root, &mut |n| {
        if n.kind() == "call" {
            calls.push(n);
        }
    });
    for call in calls {
        if python::in_test_function(call, text) {
            continue;
        }
        g.call(call, out);
    }
}

struct Graph<'a> {
    ctx: &'a Ctx<'a>,
    keys: PyKeys<'a>,
    src: &'a str,
}

impl<'a> Graph<'a> {
    fn text(&self, n: Node) -> &'a str {
        python::text(n, self.src)
    }

    fn call(&self, call: Node<'a>, out: &mut Vec<Diagnostic>) {
        let Some((method, Some(obj))) = python::method_and_receiver(call, self.src) else {
            return;
        };
        if let Some((_, kw)) = GRAPHITI.iter().find(|(m, _)| *m == method) {
            if self.is_graphiti(obj, 0) {
                self.graphiti(call, obj, method, kw, out);
            }
            return;
        }
        if !CYPHER_METHODS.contains(&method) {
            return;
        }
        let Some(q) = python::positional_args(call)
            .first()
            .copied()
            .or_else(|| python::keyword_arg(call, "query", self.src))
            .or_else(|| python::keyword_arg(call, "query_", self.src))
        else {
            return;
        };
        let Some(shape) = (match self.keys.key(q) {
            Key::Shape(s) | Key::Built { shape: s, .. } => Some(s),
            _ => None,
        }) else {
            return;
        };
        let cypher = flat_text(&shape);
        let Some(kind) = data_clause(&cypher) else {
            return;
        };
        if shape.tenant().is_some() || self.has_tenant_predicate(&cypher) {
            return;
        }
        if self.scope_of(obj, call, 0) != Scope::Shared || self.selected_earlier(call) {
            return;
        }
        // Neo4j: `execute_query(q, database_=f"org-{org_id}")`
        if ["database_", "database"].iter().any(|k| {
            python::keyword_arg(call, k, self.src).is_some_and(|v| self.is_tenant_value(v))
        }) {
            return;
        }
        let recv = self.text(obj);
        let var = node_var(&cypher).unwrap_or_else(|| "n".into());
        let tenant = self
            .keys
            .tenant_in_scope(call)
            .unwrap_or_else(|| self.ctx.default_tenant());
        let prop = tenant.rsplit('.').next().unwrap_or(&tenant).to_string();
        let scoping = self
            .ctx
            .config
            .graph
            .scoping_calls
            .first()
            .map_or("select_graph", String::as_str);
        let shown = snippet(&cypher);
        let suggestion = if matches!(method, "query" | "ro_query") {
            format!(
                "run it on the tenant's graph, `db.{scoping}(f\"org_{{{tenant}}}\")`, or add `WHERE {var}.{prop} = ${prop}` and `\"{prop}\": {tenant}` to the parameters"
            )
        } else {
            format!("add `WHERE {var}.{prop} = ${prop}` and pass `{prop}={tenant}`")
        };
        out.push(Diagnostic::new(
            call.byte_range(),
            format!(
                "Cypher {kind} `{shown}` on `{recv}` has no tenant scope: `{recv}` is not a per-tenant graph and the query has no tenant predicate"
            ),
            suggestion,
        ));
    }

    fn is_scoping_call(&self, name: &str) -> bool {
        self.ctx
            .config
            .graph
            .scoping_calls
            .iter()
            .any(|c| c == name)
    }

    /// A value that carries the tenant (`org_id`, `f"org_{org_id}"`,
    /// `tenant_graph_name(org_id)`).
    fn is_tenant_value(&self, v: Node<'a>) -> bool {
        match self.keys.key(v) {
            Key::Shape(s) | Key::Built { shape: s, .. } => {
                s.tenant().is_some() || self.is_global_name(&s)
            }
            Key::Call { tenant_arg, .. } => tenant_arg,
            Key::Helper => true,
            Key::Unknown => self.keys.flavor(v).is_some(),
        }
    }

    fn is_global_name(&self, s: &Shape) -> bool {
        let name = flat_text(s);
        self.ctx.config.graph.global_graphs.contains(&name)
    }

    /// What the graph handle `e` is.
    fn scope_of(&self, e: Node<'a>, at: Node<'a>, depth: u8) -> Scope {
        if depth > 4 {
            return Scope::Shared;
        }
        let e = py_peel(e);
        match e.kind() {
            "call" => {
                let name = python::call_name(e, self.src).unwrap_or_default();
                let last = name.rsplit('.').next().unwrap_or(&name);
                if self.is_scoping_call(last) {
                    return match python::positional_args(e)
                        .first()
                        .copied()
                        .or_else(|| python::keyword_arg(e, "name", self.src))
                    {
                        Some(a) if self.is_global_graph(a) => Scope::Global,
                        Some(a) if self.is_tenant_value(a) => Scope::Tenant,
                        _ => Scope::Shared,
                    };
                }
                if ["database", "database_"].iter().any(|k| {
                    python::keyword_arg(e, k, self.src).is_some_and(|v| self.is_tenant_value(v))
                }) {
                    return Scope::Tenant;
                }
                // a helper of this file that returns the graph
                for f in self.keys.file.functions_named(last) {
                    let mut best = Scope::Shared;
                    python::walk(*f, &mut |n| {
                        if n.kind() == "return_statement" {
                            if let Some(r) = n.named_child(0) {
                                if self.scope_of(r, r, depth + 1) != Scope::Shared {
                                    best = self.scope_of(r, r, depth + 1);
                                }
                            }
                        }
                    });
                    if best != Scope::Shared {
                        return best;
                    }
                }
                Scope::Shared
            }
            "identifier" | "attribute" => match self.keys.file.resolve(self.text(e), at) {
                Some(b) if !b.param => match b.value {
                    Some(v) => self.scope_of(v, v, depth + 1),
                    None => Scope::Shared,
                },
                _ => Scope::Shared,
            },
            _ => Scope::Shared,
        }
    }

    fn is_global_graph(&self, a: Node<'a>) -> bool {
        match self.keys.key(a) {
            Key::Shape(s) | Key::Built { shape: s, .. } => self.is_global_name(&s),
            _ => false,
        }
    }

    /// A per-tenant graph was selected earlier in the enclosing function.
    fn selected_earlier(&self, call: Node<'a>) -> bool {
        let Some(func) = python::enclosing_function(call) else {
            return false;
        };
        let mut found = false;
        python::walk(func, &mut |n| {
            if found || n.kind() != "call" || n.start_byte() >= call.start_byte() {
                return;
            }
            let name = python::call_name(n, self.src).unwrap_or_default();
            let last = name.rsplit('.').next().unwrap_or(&name);
            if self.is_scoping_call(last) && self.scope_of(n, n, 0) == Scope::Tenant {
                found = true;
            }
        });
        found
    }

    /// `WHERE n.org_id = $org_id`, `{group_id: $group_id}`,
    /// `n.group_id IN $group_ids`, `$tenant_id`.
    fn has_tenant_predicate(&self, cypher: &str) -> bool {
        let b = cypher.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if !(b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let word = &cypher[start..i];
            let tenant = self.keys.markers.is_marker(word)
                || self
                    .ctx
                    .config
                    .graph
                    .tenant_properties
                    .iter()
                    .any(|p| p == word || format!("{p}s") == word);
            if !tenant {
                continue;
            }
            if start > 0 && b[start - 1] == b'$' {
                return true;
            }
            let rest = cypher[i..].trim_start();
            if rest.starts_with(':')
                || rest.starts_with('=')
                || rest.len() >= 3 && rest[..3].eq_ignore_ascii_case("in ")
            {
                return true;
            }
        }
        false
    }

    fn is_graphiti(&self, e: Node<'a>, depth: u8) -> bool {
        if depth > 4 {
            return false;
        }
        let e = py_peel(e);
        let t = self.text(e);
        if super::keys::name_has(t.rsplit('.').next().unwrap_or(t), &["graphiti"]) {
            return true;
        }
        match e.kind() {
            "call" => python::call_name(e, self.src)
                .is_some_and(|n| n == "Graphiti" || n.ends_with(".Graphiti")),
            "identifier" | "attribute" => match self.keys.file.resolve(t, e) {
                Some(b) if !b.param => b.value.is_some_and(|v| self.is_graphiti(v, depth + 1)),
                Some(b) => b
                    .annotation
                    .is_some_and(|a| self.text(a).contains("Graphiti")),
                None => false,
            },
            _ => false,
        }
    }

    fn graphiti(
        &self,
        call: Node<'a>,
        obj: Node<'a>,
        method: &str,
        kw: &str,
        out: &mut Vec<Diagnostic>,
    ) {
        let args = call.child_by_field_name("arguments");
        if args.is_some_and(|a| {
            let mut c = a.walk();
            let splat = a
                .named_children(&mut c)
                .any(|x| x.kind() == "dictionary_splat");
            splat
        }) {
            return;
        }
        let value = python::keyword_arg(call, kw, self.src).map(py_peel);
        let empty = match value {
            None => true,
            Some(v) => v.kind() == "none" || (v.kind() == "list" && v.named_child_count() == 0),
        };
        if !empty {
            return;
        }
        let recv = self.text(obj);
        let tenant = self
            .keys
            .tenant_in_scope(call)
            .unwrap_or_else(|| self.ctx.default_tenant());
        let (what, fix) = if kw == "group_ids" {
            (
                "searches every org's graph",
                format!("pass `group_ids=[{tenant}]` to `{recv}.{method}(…)`"),
            )
        } else {
            (
                "writes into the shared default group",
                format!("pass `group_id={tenant}` to `{recv}.{method}(…)`"),
            )
        };
        let given = if value.is_some() { "an empty" } else { "no" };
        out.push(Diagnostic::new(
            call.byte_range(),
            format!("Graphiti `{recv}.{method}(…)` has {given} `{kw}`: it {what}"),
            fix,
        ));
    }
}

/// The key's text with holes as `{expr}`.
fn flat_text(s: &Shape) -> String {
    s.parts
        .iter()
        .map(|p| match p {
            Part::Lit(l) => l.clone(),
            Part::Hole { text, .. } => format!("{{{text}}}"),
        })
        .collect()
}

/// The data clause of a Cypher statement (`MATCH`, `MERGE`, `CREATE`
/// followed by a pattern); schema statements have none.
fn data_clause(cypher: &str) -> Option<&'static str> {
    let upper = cypher.to_ascii_uppercase();
    let b = upper.as_bytes();
    for kw in ["MATCH", "MERGE", "CREATE"] {
        let mut from = 0;
        while let Some(at) = upper[from..].find(kw) {
            let s = from + at;
            let e = s + kw.len();
            from = e;
            let boundary = s == 0 || !(b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'_');
            if boundary && upper[e..].trim_start().starts_with('(') {
                return Some(kw);
            }
        }
    }
    None
}

/// The first node variable of the pattern: `e` in `MATCH (e:Entity)`.
fn node_var(cypher: &str) -> Option<String> {
    let at = cypher.find('(')?;
    let v: String = cypher[at + 1..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!v.is_empty()).then_some(v)
}

fn snippet(cypher: &str) -> String {
    let one: String = cypher.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 60 {
        format!("{}…", one.chars().take(57).collect::<String>())
    } else {
        one
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses() {
        assert_eq!(data_clause("MATCH (n) RETURN n"), Some("MATCH"));
        assert_eq!(data_clause("optional match(n)"), Some("MATCH"));
        assert_eq!(data_clause("CREATE INDEX FOR (e:Entity) ON (e.name)"), None);
        assert_eq!(data_clause("CALL db.indexes()"), None);
        assert_eq!(node_var("MATCH (e:Entity) RETURN e"), Some("e".into()));
        assert_eq!(node_var("MATCH (:Entity) RETURN 1"), None);
    }
}
