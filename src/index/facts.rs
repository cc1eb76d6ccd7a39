//! Schema facts of one file: what its SQL, alembic operations,
//! SQLAlchemy models and diesel `table!` declarations say about tables,
//! RLS, policies, views, functions, roles and grants. Pure: a parsed file
//! in, a list of events out.

use super::fallback;
use crate::lang::sql_tokens::{self, Tok};
use crate::lang::{python, ParsedFile, SqlSite, Syntax};
use sqlparser::ast::{AlterTableOperation, ObjectName, ObjectType, Statement};
use std::ops::Range;
use tree_sitter::Node;

/// Where a fact was stated: host byte range in `path`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Site {
    pub path: String,
    pub range: Range<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Origin {
    Sql,
    Alembic,
    Model,
    /// diesel `table!` in `schema.rs`: generated from the database the
    /// migrations built; declares columns, never creates anything.
    Schema,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RlsChange {
    Enable,
    Disable,
    Force,
    NoForce,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Policy {
    pub name: String,
    /// `ALL`, `SELECT`, `INSERT`, `UPDATE`, `DELETE`.
    pub command: String,
    pub permissive: bool,
    pub roles: Vec<String>,
    pub using: Option<String>,
    pub with_check: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Event {
    CreateTable {
        table: String,
        columns: Vec<String>,
        /// Parallel to `columns`; empty when unknown.
        types: Vec<String>,
        origin: Origin,
        class: Option<String>,
    },
    AddColumn {
        table: String,
        column: String,
    },
    DropTable {
        table: String,
    },
    Rls {
        table: String,
        change: RlsChange,
    },
    CreatePolicy {
        table: String,
        policy: Policy,
    },
    /// `ALTER POLICY`: the clauses it replaces.
    AlterPolicy {
        table: String,
        name: String,
        using: Option<String>,
        with_check: Option<String>,
    },
    DropPolicy {
        table: String,
        name: String,
    },
    CreateView {
        name: String,
        reads: Vec<String>,
        security_invoker: bool,
    },
    CreateFunction {
        name: String,
        security_definer: bool,
        search_path: bool,
        reads: Vec<String>,
    },
    RoleBypass {
        role: String,
        attribute: String,
    },
    Grant {
        tables: Vec<String>,
        grantees: Vec<String>,
    },
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Fact {
    pub event: Event,
    pub site: Site,
    /// From a downgrade: does not change the schema the app runs on.
    pub reverting: bool,
}

/// Everything one file says about the schema.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct FileFacts {
    pub path: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<Fact>,
    /// alembic `revision` / `down_revision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_revision: Option<String>,
    /// SQL statements nobody could read.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unread: usize,
    /// For a deploy file (Dockerfile, entrypoint, compose): its text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<String>,
    /// Routers this file mounts from other modules, with their prefixes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<Mount>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// `app.include_router(admin.router, prefix="/admin")`: the router named
/// `router` of module `app.api.admin` is served under `/admin`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mount {
    pub module: String,
    pub router: String,
    pub prefix: String,
}

/// Words at least one of which appears in any SQL that states schema facts.
pub const SQL_TRIGGERS: &[&str] = &[
    "table",
    "policy",
    "row level security",
    "view",
    "function",
    "procedure",
    "role",
    "user",
    "grant",
];

/// Words of the Python constructs that state schema facts without SQL
/// (alembic operations, declarative models).
pub const PYTHON_TRIGGERS: &[&str] = &[
    "create_table",
    "add_column",
    "drop_table",
    "__tablename__",
    "include_router(",
    "register_blueprint(",
];

/// Words of the Rust constructs that state schema facts without SQL
/// (diesel's `table!` / `diesel::table!`).
pub const RUST_TRIGGERS: &[&str] = &["table!"];

pub fn extract(file: &ParsedFile) -> FileFacts {
    let mut out = FileFacts {
        path: file.path.clone(),
        ..FileFacts::default()
    };
    for site in file.sql_sites() {
        let before = out.facts.len();
        match &site.stmt.ast {
            Ok(ast) => from_statement(&file.path, &site, ast, &mut out.facts),
            Err(_) => match fallback::facts(site.sql()) {
                Some(events) => {
                    for (event, r) in events {
                        out.facts.push(Fact {
                            event,
                            site: Site {
                                path: file.path.clone(),
                                range: site.host_range(r),
                            },
                            reverting: site.reverting,
                        });
                    }
                }
                None => out.unread += 1,
            },
        }
        for f in &mut out.facts[before..] {
            f.reverting = site.reverting;
        }
    }
    match &file.syntax {
        Syntax::Python(tree) => python_facts(file, tree.root_node(), &mut out),
        Syntax::Rust(f) => rust_facts(file, f, &mut out),
        Syntax::Sql(_) => {}
    }
    out
}

fn name_of(n: &ObjectName) -> String {
    n.0.last()
        .map(|p| p.to_string().trim_matches('"').to_string())
        .map(|s| {
            if s.chars().any(|c| c.is_ascii_uppercase()) && !n.to_string().contains('"') {
                s.to_ascii_lowercase()
            } else {
                s
            }
        })
        .unwrap_or_default()
}

fn from_statement(path: &str, site: &SqlSite, ast: &Statement, out: &mut Vec<Fact>) {
    let here = Site {
        path: path.to_string(),
        range: site.host(),
    };
    let mut push = |event| {
        out.push(Fact {
            event,
            site: here.clone(),
            reverting: site.reverting,
        })
    };
    match ast {
        Statement::CreateTable(ct) => push(Event::CreateTable {
            table: name_of(&ct.name),
            columns: ct
                .columns
                .iter()
                .map(|c| c.name.value.to_ascii_lowercase())
                .collect(),
            types: ct
                .columns
                .iter()
                .map(|c| c.data_type.to_string().to_ascii_lowercase())
                .collect(),
            origin: Origin::Sql,
            class: None,
        }),
        Statement::AlterTable(at) => {
            let table = name_of(&at.name);
            for op in &at.operations {
                let change = match op {
                    AlterTableOperation::EnableRowLevelSecurity => Some(RlsChange::Enable),
                    AlterTableOperation::DisableRowLevelSecurity => Some(RlsChange::Disable),
                    AlterTableOperation::ForceRowLevelSecurity => Some(RlsChange::Force),
                    AlterTableOperation::NoForceRowLevelSecurity => Some(RlsChange::NoForce),
                    AlterTableOperation::AddColumn { column_def, .. } => {
                        push(Event::AddColumn {
                            table: table.clone(),
                            column: column_def.name.value.to_ascii_lowercase(),
                        });
                        None
                    }
                    _ => None,
                };
                if let Some(change) = change {
                    push(Event::Rls {
                        table: table.clone(),
                        change,
                    });
                }
            }
        }
        Statement::CreatePolicy(p) => push(Event::CreatePolicy {
            table: name_of(&p.table_name),
            policy: Policy {
                name: p.name.value.clone(),
                command: p
                    .command
                    .as_ref()
                    .map_or("ALL".into(), |c| c.to_string().to_ascii_uppercase()),
                permissive: !p
                    .policy_type
                    .as_ref()
                    .is_some_and(|t| t.to_string().eq_ignore_ascii_case("restrictive")),
                roles: p
                    .to
                    .iter()
                    .flatten()
                    .map(|o| o.to_string().to_ascii_lowercase())
                    .collect(),
                using: p.using.as_ref().map(|e| e.to_string()),
                with_check: p.with_check.as_ref().map(|e| e.to_string()),
            },
        }),
        Statement::DropPolicy(d) => push(Event::DropPolicy {
            table: name_of(&d.table_name),
            name: d.name.value.clone(),
        }),
        Statement::Drop {
            object_type: ObjectType::Table,
            names,
            ..
        } => {
            for n in names {
                push(Event::DropTable { table: name_of(n) });
            }
        }
        _ => {
            for event in token_facts(site.sql()) {
                push(event);
            }
        }
    }
}

/// Facts read from tokens: views, functions, roles and grants (their AST
/// shapes vary across sqlparser versions; the tokens do not).
pub fn token_facts(sql: &str) -> Vec<Event> {
    let toks = sql_tokens::tokenize(sql);
    let mut out = Vec::new();
    let word = |i: usize| {
        toks.get(i).and_then(|t| {
            if let Tok::Word(w) = &t.tok {
                Some(w.to_ascii_lowercase())
            } else {
                None
            }
        })
    };
    let w0 = word(0).unwrap_or_default();
    let mut i = 1;
    if w0 == "create" {
        while matches!(
            word(i).as_deref(),
            Some("or" | "replace" | "temp" | "temporary" | "recursive" | "materialized")
        ) {
            i += 1;
        }
        match word(i).as_deref() {
            Some("view") => {
                let Some((name, after)) = sql_tokens::qualified_name(&toks, i + 1) else {
                    return out;
                };
                let head_end = toks.iter().position(|t| t.is("as")).unwrap_or(toks.len());
                let head = &toks[after.min(head_end)..head_end];
                let invoker = security_invoker(head);
                let reads = toks
                    .get(head_end..)
                    .map(|_| {
                        sql_tokens::relations_read(
                            &sql[toks.get(head_end).map_or(sql.len(), |t| t.range.start)..],
                        )
                    })
                    .unwrap_or_default();
                out.push(Event::CreateView {
                    name,
                    reads,
                    security_invoker: invoker,
                });
            }
            Some("function" | "procedure") => {
                let Some((name, _)) = sql_tokens::qualified_name(&toks, i + 1) else {
                    return out;
                };
                let definer = toks
                    .windows(2)
                    .any(|w| w[0].is("security") && w[1].is("definer"));
                let search_path = toks
                    .windows(2)
                    .any(|w| w[0].is("set") && w[1].is("search_path"));
                out.push(Event::CreateFunction {
                    name,
                    security_definer: definer,
                    search_path,
                    reads: sql_tokens::relations_read(sql),
                });
            }
            Some("role" | "user") => role_bypass(&toks, i + 1, &mut out),
            _ => {}
        }
    } else if w0 == "alter" && word(1).as_deref() == Some("policy") {
        out.extend(fallback::alter_policy(sql, &toks));
    } else if w0 == "alter" && matches!(word(1).as_deref(), Some("role" | "user")) {
        role_bypass(&toks, 2, &mut out);
    } else if w0 == "grant" {
        let on = toks.iter().position(|t| t.is("on"));
        let to = toks.iter().position(|t| t.is("to"));
        if let (Some(on), Some(to)) = (on, to) {
            let mut tables = Vec::new();
            let mut j = on + 1;
            if toks.get(j).is_some_and(|t| t.is("table")) {
                j += 1;
            }
            if toks.get(j).is_some_and(|t| t.is("all")) {
                return out;
            }
            while j < to {
                if let Some((n, next)) = sql_tokens::qualified_name(&toks, j) {
                    tables.push(n);
                    j = next;
                } else {
                    j += 1;
                }
            }
            let grantees = toks[to + 1..]
                .iter()
                .filter_map(|t| t.ident())
                .take_while(|g| g != "with")
                .filter(|g| g != "group" && g != "role")
                .collect();
            out.push(Event::Grant { tables, grantees });
        }
    }
    out
}

/// `WITH (security_invoker = true)` (or `on`, `1`, or the bare option).
fn security_invoker(head: &[sql_tokens::Token]) -> bool {
    let Some(i) = head.iter().position(|t| t.is("security_invoker")) else {
        return false;
    };
    if !head.get(i + 1).is_some_and(|t| t.is_punct('=')) {
        return true;
    }
    match head.get(i + 2).map(|t| &t.tok) {
        Some(Tok::Word(w)) => matches!(w.to_ascii_lowercase().as_str(), "true" | "on" | "yes"),
        Some(Tok::Str(s)) => matches!(s.to_ascii_lowercase().as_str(), "true" | "on" | "yes" | "1"),
        Some(Tok::Num) => {
            head.get(i + 2).is_some_and(|t| t.range.len() == 1) && !head[i + 2].is("0")
        }
        _ => false,
    }
}

fn role_bypass(toks: &[sql_tokens::Token], at: usize, out: &mut Vec<Event>) {
    let Some(role) = toks.get(at).and_then(|t| t.ident()) else {
        return;
    };
    for t in &toks[at + 1..] {
        for attr in ["bypassrls", "superuser"] {
            if t.is(attr) {
                out.push(Event::RoleBypass {
                    role: role.clone(),
                    attribute: attr.to_ascii_uppercase(),
                });
            }
        }
    }
}

// ------------------------------------------------------------ Rust

/// One table of a diesel `table!` macro.
#[derive(Debug)]
struct DieselTable {
    /// The SQL name (`#[sql_name = "…"]`, else the Rust name).
    table: String,
    /// The Rust name (`notes` in `notes::table`).
    rust_name: String,
    columns: Vec<(String, String)>,
    /// From the table's name to its column block.
    span: (proc_macro2::Span, proc_macro2::Span),
}

/// diesel's `table!` / `diesel::table!` declarations (the `schema.rs`
/// that `diesel print-schema` writes): each table with its columns, so
/// that a project whose SQL migrations are not in the tree still knows its
/// tenant columns.
fn rust_facts(file: &ParsedFile, f: &syn::File, out: &mut FileFacts) {
    use syn::visit::Visit;
    struct V<'a> {
        file: &'a ParsedFile,
        out: &'a mut Vec<Fact>,
    }
    impl<'ast> Visit<'ast> for V<'_> {
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            if m.path.segments.last().is_some_and(|s| s.ident == "table") {
                for t in diesel_tables(m.tokens.clone()) {
                    let start = crate::lang::rust::span_range(t.span.0, &self.file.src).start;
                    let end = crate::lang::rust::span_range(t.span.1, &self.file.src).end;
                    let (columns, types) = t.columns.into_iter().unzip();
                    self.out.push(Fact {
                        event: Event::CreateTable {
                            class: (t.rust_name != t.table).then_some(t.rust_name),
                            table: t.table,
                            columns,
                            types,
                            origin: Origin::Schema,
                        },
                        site: Site {
                            path: self.file.path.clone(),
                            range: start..end.max(start),
                        },
                        reverting: false,
                    });
                }
            }
            syn::visit::visit_macro(self, m);
        }
    }
    V {
        file,
        out: &mut out.facts,
    }
    .visit_file(f);
}

/// `sql_name = "…"` inside an attribute's brackets.
fn sql_name_attr(g: &proc_macro2::Group) -> Option<String> {
    use proc_macro2::TokenTree as T;
    let toks: Vec<T> = g.stream().into_iter().collect();
    match toks.as_slice() {
        [T::Ident(i), T::Punct(p), T::Literal(l)] if i == "sql_name" && p.as_char() == '=' => {
            Some(l.to_string().trim_matches('"').to_string())
        }
        _ => None,
    }
}

/// Tables of one `table!` body: `use …;` lines, `#[…]` attributes, then
/// `[schema.]name [(pk, …)] { column -> Type, … }`, any number of times.
fn diesel_tables(tokens: proc_macro2::TokenStream) -> Vec<DieselTable> {
    use proc_macro2::{Delimiter, TokenTree as T};
    let toks: Vec<T> = tokens.into_iter().collect();
    let mut out = Vec::new();
    let mut sql_name: Option<String> = None;
    let mut name: Option<(String, proc_macro2::Span)> = None;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            T::Ident(id) if id == "use" => {
                while i < toks.len() && !matches!(&toks[i], T::Punct(p) if p.as_char() == ';') {
                    i += 1;
                }
            }
            T::Punct(p) if p.as_char() == '#' => {
                if let Some(T::Group(g)) = toks.get(i + 1) {
                    if g.delimiter() == Delimiter::Bracket {
                        sql_name = sql_name_attr(g).or(sql_name);
                        i += 1;
                    }
                }
            }
            // `schema.notes`: the table is the last name.
            T::Ident(id) => {
                let start = match (&name, i.checked_sub(1).map(|j| &toks[j])) {
                    (Some((_, s)), Some(T::Punct(p))) if p.as_char() == '.' => *s,
                    _ => id.span(),
                };
                name = Some((id.to_string().trim_start_matches("r#").to_string(), start));
            }
            T::Punct(p) if p.as_char() == '.' => {}
            T::Group(g) if g.delimiter() == Delimiter::Parenthesis => {}
            T::Group(g) if g.delimiter() == Delimiter::Brace => {
                if let Some((rust_name, start)) = name.take() {
                    let columns = diesel_columns(g.stream());
                    if !columns.is_empty() {
                        out.push(DieselTable {
                            table: sql_name.take().unwrap_or_else(|| rust_name.clone()),
                            rust_name,
                            columns,
                            span: (start, g.span()),
                        });
                    }
                }
                sql_name = None;
            }
            _ => {
                name = None;
                sql_name = None;
            }
        }
        i += 1;
    }
    out
}

/// `id -> Uuid, #[sql_name = "type"] kind -> Nullable<Text>, …`: column
/// names (lower case) with their SQL types where obvious.
fn diesel_columns(tokens: proc_macro2::TokenStream) -> Vec<(String, String)> {
    use proc_macro2::{Delimiter, TokenTree as T};
    let toks: Vec<T> = tokens.into_iter().collect();
    let mut out = Vec::new();
    for entry in toks.split(|t| matches!(t, T::Punct(p) if p.as_char() == ',')) {
        let Some(arrow) = entry.windows(2).position(|w| {
            matches!((&w[0], &w[1]), (T::Punct(a), T::Punct(b)) if a.as_char() == '-' && b.as_char() == '>')
        }) else {
            continue;
        };
        let mut renamed = None;
        let mut col = None;
        for (j, t) in entry[..arrow].iter().enumerate() {
            match t {
                T::Group(g) if g.delimiter() == Delimiter::Bracket && j > 0 => {
                    renamed = sql_name_attr(g).or(renamed);
                }
                T::Ident(id) => col = Some(id.to_string().trim_start_matches("r#").to_string()),
                _ => {}
            }
        }
        let Some(col) = renamed.or(col) else { continue };
        let idents: Vec<String> = entry[arrow + 2..]
            .iter()
            .filter_map(|t| match t {
                T::Ident(i) => Some(i.to_string()),
                _ => None,
            })
            .filter(|i| i != "Nullable")
            .collect();
        let ty = if idents.iter().any(|i| i == "Array") {
            String::new()
        } else {
            diesel_sql_type(idents.last().map_or("", String::as_str)).to_string()
        };
        out.push((col.to_ascii_lowercase(), ty));
    }
    out
}

/// The Postgres type of a diesel SQL type, when obvious.
fn diesel_sql_type(t: &str) -> &'static str {
    match t {
        "Uuid" => "uuid",
        "Int4" | "Integer" => "integer",
        "Int8" | "BigInt" => "bigint",
        "Int2" | "SmallInt" => "smallint",
        "Text" | "Varchar" | "VarChar" => "text",
        "Bool" => "boolean",
        _ => "",
    }
}

// ------------------------------------------------------------ Python

/// Routers of other modules mounted by this file, resolved through its
/// imports (`from app.api import admin` + `admin.router`; `from
/// app.api.admin import router as admin_router`; relative imports).
fn mounts(path: &str, root: Node, src: &str) -> Vec<Mount> {
    let found = python::router_mounts(root, src);
    if found.is_empty() {
        return Vec::new();
    }
    let package: Vec<&str> = {
        let mut parts: Vec<&str> = path.trim_end_matches(".py").split('/').collect();
        parts.pop();
        parts
    };
    let absolute = |m: &str| -> String {
        let dots = m.chars().take_while(|c| *c == '.').count();
        if dots == 0 {
            return m.to_string();
        }
        let keep = package.len().saturating_sub(dots - 1);
        let mut parts: Vec<&str> = package[..keep].to_vec();
        let rest = &m[dots..];
        if !rest.is_empty() {
            parts.push(rest);
        }
        parts.join(".")
    };
    let imports = python::imports(root, src);
    let mut out = Vec::new();
    for (expr, prefix) in found {
        let (head, rest) = match expr.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (expr.as_str(), None),
        };
        let Some((m, name, _)) = imports.iter().find(|(_, _, bound)| bound == head) else {
            continue;
        };
        let is_from = m != name;
        let (module, router) = match (is_from, rest) {
            // `from app.api import admin` … `admin.router`
            (true, Some(r)) => (format!("{}.{name}", absolute(m)), r.to_string()),
            // `from app.api.admin import router as admin_router`
            (true, None) => (absolute(m), name.clone()),
            // `import app.api.admin as admin` … `admin.router`
            (false, Some(r)) => (m.clone(), r.to_string()),
            (false, None) => continue,
        };
        out.push(Mount {
            module,
            router,
            prefix,
        });
    }
    out
}

fn python_facts(file: &ParsedFile, root: Node, out: &mut FileFacts) {
    let src = file.text();
    out.mounts = mounts(&file.path, root, src);
    let down = python::function_ranges(root, src, "downgrade");
    let mut c = root.walk();
    for stmt in root.named_children(&mut c) {
        // module-level `revision = "…"`, `down_revision = "…"`
        if let Some((name, value)) = module_string_assignment(stmt, src) {
            match name.as_str() {
                "revision" => out.revision = Some(value),
                "down_revision" => out.down_revision = Some(value),
                _ => {}
            }
        }
    }
    let mut mixins: Vec<(String, Columns)> = Vec::new();
    python::walk(root, &mut |n| match n.kind() {
        "call" => {
            let Some(name) = python::call_name(n, src) else {
                return;
            };
            let reverting = down.iter().any(|r| r.contains(&n.start_byte()));
            let site = Site {
                path: file.path.clone(),
                range: n.byte_range(),
            };
            let args = python::positional_args(n);
            let table = args.first().and_then(|a| python::string_value(*a, src));
            let event = match (name.as_str(), table) {
                ("op.create_table", Some(table)) => {
                    let cols: Columns = args[1..]
                        .iter()
                        .filter_map(|a| column_name(*a, src))
                        .collect();
                    let (columns, types) = cols.into_iter().unzip();
                    Some(Event::CreateTable {
                        table,
                        columns,
                        types,
                        origin: Origin::Alembic,
                        class: None,
                    })
                }
                ("op.add_column", Some(table)) => args
                    .get(1)
                    .and_then(|a| column_name(*a, src))
                    .map(|(column, _)| Event::AddColumn { table, column }),
                ("op.drop_table", Some(table)) => Some(Event::DropTable { table }),
                _ => None,
            };
            if let Some(event) = event {
                out.facts.push(Fact {
                    event,
                    site,
                    reverting,
                });
            }
        }
        "class_definition" => {
            if let Some((table, cols, class)) = model(n, src, &mixins) {
                let (columns, types) = cols.into_iter().unzip();
                out.facts.push(Fact {
                    event: Event::CreateTable {
                        table,
                        columns,
                        types,
                        origin: Origin::Model,
                        class: Some(class),
                    },
                    site: Site {
                        path: file.path.clone(),
                        range: n.byte_range(),
                    },
                    reverting: false,
                });
            } else if let Some(name) = n.child_by_field_name("name") {
                let cols = class_columns(n, src);
                if !cols.is_empty() {
                    mixins.push((python::text(name, src).to_string(), cols));
                }
            }
        }
        _ => {}
    });
}

fn module_string_assignment(stmt: Node, src: &str) -> Option<(String, String)> {
    let a = (stmt.kind() == "expression_statement")
        .then(|| stmt.named_child(0))
        .flatten()?;
    if a.kind() != "assignment" {
        return None;
    }
    let left = a.child_by_field_name("left")?;
    let right = a.child_by_field_name("right")?;
    Some((
        python::text(left, src).to_string(),
        python::string_value(right, src)?,
    ))
}

/// `sa.Column("org_id", UUID(as_uuid=True), …)` → (`org_id`, `uuid`).
fn column_name(n: Node, src: &str) -> Option<(String, String)> {
    if n.kind() != "call" {
        return None;
    }
    let name = python::call_name(n, src)?;
    if !name.ends_with("Column") {
        return None;
    }
    let args = python::positional_args(n);
    let col = args
        .first()
        .and_then(|a| python::string_value(*a, src))?
        .to_ascii_lowercase();
    let ty = args
        .get(1)
        .map(|t| sql_type_of(python::text(*t, src)))
        .unwrap_or_default();
    Some((col, ty))
}

/// The Postgres type an SQLAlchemy type expression maps to, when obvious.
fn sql_type_of(expr: &str) -> String {
    let head = expr.split('(').next().unwrap_or(expr);
    let last = head
        .rsplit('.')
        .next()
        .unwrap_or(head)
        .trim()
        .to_ascii_lowercase();
    match last.as_str() {
        "uuid" => "uuid",
        "integer" | "int" => "integer",
        "biginteger" => "bigint",
        "string" | "text" | "unicode" | "str" => "text",
        _ => "",
    }
    .to_string()
}

/// Column attributes of a class body: `x = Column(…)`, `x: Mapped[…] = mapped_column(…)`.
fn class_columns(class: Node, src: &str) -> Vec<(String, String)> {
    let Some(body) = class.child_by_field_name("body") else {
        return Vec::new();
    };
    let mut cols = Vec::new();
    let mut c = body.walk();
    for stmt in body.named_children(&mut c) {
        let Some(a) = (stmt.kind() == "expression_statement")
            .then(|| stmt.named_child(0))
            .flatten()
        else {
            continue;
        };
        if a.kind() != "assignment" {
            continue;
        }
        let (Some(left), Some(right)) = (
            a.child_by_field_name("left"),
            a.child_by_field_name("right"),
        ) else {
            continue;
        };
        if left.kind() != "identifier" || right.kind() != "call" {
            continue;
        }
        let Some(callee) = python::call_name(right, src) else {
            continue;
        };
        let last = callee.rsplit('.').next().unwrap_or(&callee);
        if matches!(last, "Column" | "mapped_column") {
            let args = python::positional_args(right);
            let explicit = args.first().and_then(|x| python::string_value(*x, src));
            let type_arg = args
                .iter()
                .find(|x| x.kind() != "string")
                .map(|t| sql_type_of(python::text(*t, src)));
            let annotated = a.child_by_field_name("type").map(|t| {
                let t = python::text(t, src);
                sql_type_of(
                    t.trim_start_matches("Mapped[")
                        .trim_end_matches(']')
                        .trim_start_matches("Optional["),
                )
            });
            let ty = type_arg
                .filter(|t| !t.is_empty())
                .or(annotated)
                .unwrap_or_default();
            let name = explicit.unwrap_or_else(|| python::text(left, src).to_string());
            cols.push((name.to_ascii_lowercase(), ty));
        }
    }
    cols
}

/// A declarative model: `__tablename__` plus columns (own and from mixins
/// defined in the same file).
type Columns = Vec<(String, String)>;

fn model(
    class: Node,
    src: &str,
    mixins: &[(String, Columns)],
) -> Option<(String, Columns, String)> {
    let body = class.child_by_field_name("body")?;
    let mut table = None;
    let mut c = body.walk();
    for stmt in body.named_children(&mut c) {
        if let Some((name, value)) = module_string_assignment(stmt, src) {
            if name == "__tablename__" {
                table = Some(value);
            }
        }
    }
    let table = table?;
    let mut columns = class_columns(class, src);
    if let Some(bases) = class.child_by_field_name("superclasses") {
        let mut c = bases.walk();
        for b in bases.named_children(&mut c) {
            let name = python::text(b, src);
            if let Some((_, cols)) = mixins.iter().find(|(m, _)| m == name) {
                columns.extend(cols.iter().cloned());
            }
        }
    }
    let class_name = class
        .child_by_field_name("name")
        .map(|n| python::text(n, src).to_string())
        .unwrap_or_default();
    Some((table.to_ascii_lowercase(), columns, class_name))
}
