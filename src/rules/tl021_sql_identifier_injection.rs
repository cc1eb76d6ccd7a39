//! TL021 sql-identifier-injection: SQL text built by string interpolation
//! (f-strings, `%`, `.format`, `+`, Rust `format!`) that splices in a
//! tenant-derived value or any identifier (schema, table) instead of a bind
//! parameter or a quoted-identifier helper.
//!
//! Only strings that reach an SQL-executing call are judged: directly, or
//! through variables, `+=`, `push_str`, `" AND ".join(...)` and helpers of
//! the same file.

use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::lang::{python, rust, Language, ParsedFile, Syntax};
use std::ops::Range;

pub static RULE: RuleMeta = RuleMeta {
    id: "TL021",
    name: "sql-identifier-injection",
    severity: Severity::Hard,
    languages: &[Language::Python, Language::Rust],
    summary: "Tenant identifiers and values reach SQL through bind parameters or identifier quoting, never string formatting",
    doc: include_str!("../../rules/TL021-sql-identifier-injection.md"),
    triggers: |_| super::words(SINK_WORDS),
    gate: Some(|_, _, _, text| names_a_sink(text)),
    needs_index: false,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

/// How every SQL-executing call this rule recognises is written: its name
/// directly followed by `(` (or a turbofish); sinks are only recognised when
/// written so, which lets these words pre-filter files.
const SINK_WORDS: &[&str] = &[
    // Python
    "execute(",
    "executemany(",
    "executescript(",
    "exec_driver_sql(",
    "fetch(",
    "fetchrow(",
    "fetchval(",
    "fetch_all(",
    "fetch_one(",
    "fetch_val(",
    "text(",
    "sql(",
    "read_sql(",
    "read_sql_query(",
    // Rust
    "query(",
    "query::",
    "query_as(",
    "query_as::",
    "query_scalar(",
    "query_scalar::",
    "query_with(",
    "query_with::",
    "query_as_with(",
    "query_as_with::",
    "query_scalar_with(",
    "query_scalar_with::",
    "raw_sql(",
    "raw_sql::",
    "sql_query(",
    "sql_query::",
    "query_one(",
    "query_opt(",
    "query_raw(",
    "prepare(",
    "prepare_cached(",
    "fetch_optional(",
    "batch_execute(",
    "simple_query(",
];

/// Does `text` call a sink by its own name: a sink word not glued to a
/// longer identifier (`db.execute(`, `sqlx::query(`, but not
/// `chunk_text(`)? Sinks are recognised by the last segment of the called
/// name, so this is the pre-filter's second stage.
fn names_a_sink(text: &str) -> bool {
    use aho_corasick::AhoCorasick;
    use std::sync::LazyLock;
    static SINKS: LazyLock<AhoCorasick> = LazyLock::new(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(SINK_WORDS)
            .unwrap_or_else(|_| AhoCorasick::new(Vec::<String>::new()).expect("empty matcher"))
    });
    let b = text.as_bytes();
    SINKS.find_overlapping_iter(text).any(|m| {
        m.start() == 0 || !(b[m.start() - 1].is_ascii_alphanumeric() || b[m.start() - 1] == b'_')
    })
}

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    let mut found = Vec::new();
    match &file.syntax {
        Syntax::Python(tree) => {
            py::check(ctx, tree.root_node(), file.text(), &file.path, &mut found)
        }
        Syntax::Rust(f) => rs::check(ctx, f, file, &mut found),
        Syntax::Sql(_) => {}
    }
    for d in found {
        if !out.iter().any(|o| o.range == d.range) {
            out.push(d);
        }
    }
}

// ---------------------------------------------------------------- shared

/// A piece of SQL text being built: literal text, or an interpolated value.
enum Part<V> {
    Lit(String),
    Val(V),
}

/// How an interpolated value sits in the SQL text.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Position {
    /// Schema, table or role name: only quoting helps.
    Identifier,
    /// Inside `'…'`.
    Quoted,
    Value,
}

/// Where the interpolation sits, from the SQL text before and after it.
fn position(before: &str, after: &str) -> Position {
    if before.matches('\'').count() % 2 == 1 {
        return Position::Quoted;
    }
    let ident_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    // `public.{table}`, `{schema}.items`, `tenant_{id}`, `"{schema}".t`
    let b = before.trim_end_matches('"');
    let a = after.trim_start_matches('"');
    if b.ends_with('.') || b.ends_with(ident_char) {
        return Position::Identifier;
    }
    let mut ac = a.chars();
    match ac.next() {
        Some('.') if ac.next().is_some_and(|c| ident_char(c) || c == '"') => {
            return Position::Identifier
        }
        Some(c) if ident_char(c) => return Position::Identifier,
        _ => {}
    }
    let lower = b.trim_end().to_ascii_lowercase();
    let last: Vec<&str> = lower.split_whitespace().rev().take(2).collect();
    let word = last.first().copied().unwrap_or("");
    let prev = last.get(1).copied().unwrap_or("");
    let statement = lower.rsplit(';').next().unwrap_or(&lower);
    let keyword = matches!(
        word,
        "from"
            | "join"
            | "into"
            | "update"
            | "table"
            | "schema"
            | "exists"
            | "truncate"
            | "only"
            | "references"
            | "view"
            | "sequence"
            | "database"
            | "role"
            | "user"
            | "analyze"
            | "vacuum"
            | "cluster"
    );
    let search_path = (word == "to" || word == "=" || word.ends_with('='))
        && (statement.contains("search_path") || prev == "search_path");
    let grantee = word == "to"
        && ["grant", "rename", "owner"]
            .iter()
            .any(|k| statement.contains(k));
    if keyword || search_path || grantee {
        Position::Identifier
    } else {
        Position::Value
    }
}

/// Is a name tenant-derived (`org_id`, `tenant_schema`, `workspace`)?
fn tenantish(ctx: &Ctx, name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if ctx.config.tenant.columns.contains(&lower) {
        return true;
    }
    lower.split(['_', '.']).any(|p| {
        matches!(
            p,
            "org"
                | "orgs"
                | "tenant"
                | "tenants"
                | "organization"
                | "organisation"
                | "organizations"
                | "workspace"
                | "workspaces"
                | "schema"
                | "schemas"
        )
    })
}

/// Built-in functions that make an interpolated value safe: identifier and
/// literal quoting, and conversions to numbers.
const QUOTERS: &[&str] = &[
    "Identifier",
    "Literal",
    "quote_ident",
    "quote_identifier",
    "quote_literal",
    "quote_name",
    "escape_identifier",
    "escape_literal",
    "quote",
    "int",
    "float",
    "len",
    "bool",
];

fn is_quoter(ctx: &Ctx, name: &str) -> bool {
    let last = name.rsplit(['.', ':']).next().unwrap_or(name);
    QUOTERS.contains(&last.trim_start_matches('_'))
        || last.contains("quote_ident")
        || last.contains("escape_ident")
        || name.contains("identifier_preparer")
        || ctx
            .config
            .sql
            .quote_helpers
            .iter()
            .any(|h| h == last || h == name)
}

/// Migrations run code-defined names (`ALTER TABLE {table}` in a helper
/// every revision calls with literals); only tenant-derived values there
/// are reported.
fn is_migration_path(path: &str) -> bool {
    let p = format!("/{path}");
    p.contains("/versions/") || p.contains("/migrations/") || p.contains("/alembic/")
}

/// Roots of deployment configuration: not tenant input.
fn is_config_root(root: &str) -> bool {
    matches!(
        root,
        "settings" | "config" | "cfg" | "conf" | "app_settings" | "SETTINGS" | "CONFIG" | "env"
    )
}

fn is_upper_const(name: &str) -> bool {
    name.len() > 1
        && name.chars().any(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// One value that makes the SQL unsafe.
struct Offence {
    /// The value as written (`schema_name`, `org.slug`).
    shown: String,
    position: Position,
    tenant: bool,
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A bind-parameter name for a value: `ctx.org_id` → `org_id`,
/// `org.slug` → `org_slug`.
fn param_name(shown: &str) -> String {
    let clean: String = shown
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let parts: Vec<&str> = clean
        .split('_')
        .filter(|p| !p.is_empty() && *p != "self")
        .collect();
    let segs: Vec<&str> = shown
        .split(['.', ':'])
        .filter(|s| !s.is_empty() && *s != "self")
        .collect();
    match segs.as_slice() {
        [.., a, b] if matches!(*b, "id" | "slug" | "name" | "schema") => {
            let a = a
                .rsplit(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .next()
                .unwrap_or(a);
            format!("{a}_{b}")
        }
        [.., b] if b.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => b.to_string(),
        _ => parts.join("_"),
    }
}

/// The title for a set of offences.
fn title(offences: &[Offence], snippet: &str) -> String {
    let first = offences
        .iter()
        .find(|o| o.position == Position::Identifier)
        .unwrap_or(&offences[0]);
    match (first.position, first.tenant) {
        (Position::Identifier, true) => format!(
            "Tenant-derived `{}` interpolated into SQL as an identifier (`{snippet}`)",
            first.shown
        ),
        (Position::Identifier, false) => format!(
            "`{}` interpolated into SQL as an identifier without quoting (`{snippet}`)",
            first.shown
        ),
        _ => format!(
            "Tenant value `{}` interpolated into SQL text instead of a bind parameter (`{snippet}`)",
            first.shown
        ),
    }
}

/// Up to ~60 characters of SQL around the first offending placeholder.
fn snippet(template: &str, marker: &str) -> String {
    let t = collapse(template);
    let Some(at) = t.find(marker) else {
        return t.chars().take(60).collect();
    };
    let start = t[..at]
        .char_indices()
        .rev()
        .filter(|(_, c)| c.is_whitespace())
        .nth(3)
        .map_or(0, |(i, _)| i + 1);
    let end_rel = t[at + marker.len()..]
        .char_indices()
        .filter(|(_, c)| c.is_whitespace())
        .nth(1)
        .map_or(t.len(), |(i, _)| at + marker.len() + i);
    let mut s = t[start..end_rel].to_string();
    if start > 0 {
        s = format!("… {s}");
    }
    if end_rel < t.len() {
        s.push_str(" …");
    }
    s
}

/// The highest `$n` placeholder already in a template.
fn max_dollar(t: &str) -> usize {
    let mut max = 0;
    for (i, c) in t.char_indices() {
        if c == '$' {
            let digits: String = t[i + 1..]
                .chars()
                .take_while(|d| d.is_ascii_digit())
                .collect();
            if let Ok(n) = digits.parse::<usize>() {
                max = max.max(n);
            }
        }
    }
    max
}

/// Remove the quotes around a value placeholder from the text so far;
/// returns how many bytes of the next literal to skip.
fn unquote(text: &mut String, next: &str, pos: Position) -> usize {
    let q = if pos == Position::Quoted { '\'' } else { '"' };
    if text.ends_with(q) && next.starts_with(q) {
        text.pop();
        1
    } else {
        0
    }
}

/// An identifier placeholder with the identifier characters around it
/// (`cust_{id}_data`): the whole name is what must be quoted. Pops the
/// head from `text`, and returns the name expression (built by `wrap` from
/// head, value and tail, or the bare value) and how many bytes of the next
/// literal it took.
fn whole_name(
    text: &mut String,
    next: &str,
    shown: &str,
    wrap: impl Fn(&str, &str, &str) -> String,
) -> (String, usize) {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let head_len = text.chars().rev().take_while(|c| ident(*c)).count();
    let head: String = text.split_off(text.len() - head_len);
    let tail: String = next.chars().take_while(|c| ident(*c)).collect();
    let mut skip = tail.len();
    // `"{schema}"`: quoting is the helper's job.
    if text.ends_with('"') && next[skip..].starts_with('"') {
        text.pop();
        skip += 1;
    }
    let name = if head.is_empty() && tail.is_empty() {
        shown.to_string()
    } else {
        wrap(&head, shown, &tail)
    };
    (name, skip)
}

// ---------------------------------------------------------------- Python

mod py {
    use super::*;
    use crate::lang::python::LocalWrite;
    use tree_sitter::Node;

    /// A value spliced into the SQL, with the name it is known by.
    #[derive(Clone)]
    pub struct Val<'t> {
        node: Option<Node<'t>>,
        /// The `%(name)s` / `{name}` field name, when there is one.
        field: Option<String>,
    }

    /// Does a call send its first argument to the database as SQL (or
    /// compose SQL from it)?
    fn is_sink(call: Node, src: &str) -> bool {
        let Some(name) = python::call_name(call, src) else {
            return false;
        };
        let last = name.rsplit('.').next().unwrap_or(&name);
        let adjacent = call
            .child_by_field_name("function")
            .is_some_and(|f| src.as_bytes().get(f.end_byte()) == Some(&b'('));
        if !adjacent {
            return false;
        }
        match last {
            "text" => matches!(
                name.as_str(),
                "text" | "sa.text" | "sqlalchemy.text" | "sql.text"
            ),
            "SQL" => matches!(
                name.as_str(),
                "sql.SQL" | "psycopg.sql.SQL" | "psycopg2.sql.SQL"
            ),
            "execute" | "executemany" | "executescript" | "exec_driver_sql" | "fetch"
            | "fetchrow" | "fetchval" | "fetch_all" | "fetch_one" | "fetch_val" => {
                name.contains('.')
            }
            "read_sql" | "read_sql_query" => true,
            _ => false,
        }
    }

    fn sql_arg<'t>(call: Node<'t>, src: &str) -> Option<Node<'t>> {
        python::positional_args(call).first().copied().or_else(|| {
            ["statement", "sql", "query", "operation"]
                .iter()
                .find_map(|k| python::keyword_arg(call, k, src))
        })
    }

    /// What reaches a sink: the expressions that build SQL text, and
    /// whether any text on the way reads like SQL.
    struct Flow<'t> {
        builds: Vec<Node<'t>>,
        sqlish: bool,
    }

    fn template_of<V>(parts: &[Part<V>]) -> String {
        parts
            .iter()
            .map(|p| match p {
                Part::Lit(t) => t.as_str(),
                Part::Val(_) => "{}",
            })
            .collect()
    }

    struct Checker<'a, 't> {
        ctx: &'a Ctx<'a>,
        src: &'t str,
        root: Node<'t>,
        funcs: Vec<(&'t str, Node<'t>)>,
        /// Bind-parameter style of the file's driver.
        style: Style,
        /// An alembic / Django migration: its names are code, not input.
        migration: bool,
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Style {
        /// SQLAlchemy `text(":name")`.
        Named,
        /// psycopg / DB-API `%(name)s`.
        Pyformat,
        /// asyncpg `$1`.
        Numbered,
    }

    pub fn check(ctx: &Ctx, root: Node, src: &str, path: &str, out: &mut Vec<Diagnostic>) {
        let funcs = python::function_definitions(root, src);
        let style = if src.contains("asyncpg") {
            Style::Numbered
        } else if src.contains("psycopg") || src.contains("cursor") && !src.contains("sqlalchemy") {
            Style::Pyformat
        } else {
            Style::Named
        };
        let c = Checker {
            ctx,
            src,
            root,
            funcs,
            style,
            migration: is_migration_path(path),
        };
        let mut sinks = Vec::new();
        python::walk(root, &mut |n| {
            if n.kind() == "call" && is_sink(n, src) {
                sinks.push(n);
            }
        });
        let mut seen: Vec<Range<usize>> = Vec::new();
        for sink in sinks {
            let Some(arg) = sql_arg(sink, src) else {
                continue;
            };
            let mut flow = Flow {
                builds: Vec::new(),
                sqlish: false,
            };
            c.sources(arg, 0, &mut flow);
            // Fragments (`org_id = '{org}'` joined into a WHERE clause) are
            // SQL because the statement they end up in is.
            let sqlish_flow = flow.sqlish
                || flow
                    .builds
                    .iter()
                    .any(|b| sqlish(&template_of(&c.parts(*b))));
            if !sqlish_flow {
                continue;
            }
            for b in flow.builds {
                if seen.contains(&b.byte_range()) {
                    continue;
                }
                seen.push(b.byte_range());
                c.judge(b, sink, out);
            }
        }
    }

    fn is_fstring(n: Node, src: &str) -> bool {
        n.kind() == "string"
            && {
                let t = python::text(n, src);
                let prefix: String = t.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
                prefix.to_ascii_lowercase().contains('f')
            }
            && {
                let mut c = n.walk();
                let has = n
                    .named_children(&mut c)
                    .any(|x| x.kind() == "interpolation");
                has
            }
    }

    fn is_stringy(n: Node) -> bool {
        matches!(n.kind(), "string" | "concatenated_string")
    }

    impl<'a, 't> Checker<'a, 't> {
        /// The scope `name` is bound in at `at`: the enclosing function when
        /// it writes the name, else the module (`None`: a parameter).
        fn scope(&self, at: Node<'t>, name: &str) -> Option<Node<'t>> {
            if let Some(f) = python::enclosing_function(at) {
                if self.is_param(f, name) {
                    return None;
                }
                if !python::local_writes(f, name, self.src).is_empty() {
                    return Some(f);
                }
            }
            Some(self.root)
        }

        fn is_param(&self, f: Node<'t>, name: &str) -> bool {
            let Some(params) = f.child_by_field_name("parameters") else {
                return false;
            };
            let mut found = false;
            python::walk(params, &mut |p| {
                if p.kind() == "identifier" && python::text(p, self.src) == name {
                    // Type annotations name types, not parameters.
                    found |= p.parent().is_none_or(|x| x.kind() != "type");
                }
            });
            found
        }

        fn writes_before(&self, n: Node<'t>) -> Vec<LocalWrite<'t>> {
            let name = python::text(n, self.src);
            let Some(scope) = self.scope(n, name) else {
                return Vec::new();
            };
            python::local_writes(scope, name, self.src)
                .into_iter()
                .filter(|(at, _)| *at < n.start_byte())
                .map(|(_, w)| w)
                .collect()
        }

        /// The expressions that build SQL text reaching `n`.
        fn sources(&self, n: Node<'t>, depth: u8, out: &mut Flow<'t>) {
            if depth > 5 {
                return;
            }
            let mut n = python::unparen(n);
            if n.kind() == "await" {
                match n.named_child(0) {
                    Some(x) => n = python::unparen(x),
                    None => return,
                }
            }
            let before = out.builds.len();
            self.sources_here(n, depth, out);
            // The SQL pieces spliced into a build are SQL too.
            if out.builds[before..].contains(&n) {
                for p in self.parts(n) {
                    if let Part::Val(Val { node: Some(v), .. }) = p {
                        if matches!(v.kind(), "identifier" | "call") && !self.safe(v, 0) {
                            self.sources(v, depth + 1, out);
                        }
                    }
                }
            }
        }

        /// Does a value hold SQL text itself (a clause built elsewhere)?
        fn composes_sql(&self, v: Node<'t>) -> bool {
            let mut flow = Flow {
                builds: Vec::new(),
                sqlish: false,
            };
            self.sources(v, 3, &mut flow);
            !flow.builds.is_empty() || flow.sqlish
        }

        fn sources_here(&self, n: Node<'t>, depth: u8, out: &mut Flow<'t>) {
            let src = self.src;
            match n.kind() {
                "string" if is_fstring(n, src) => out.builds.push(n),
                "string" if python::string_value(n, src).is_some_and(|t| sqlish(&t)) => {
                    out.sqlish = true;
                }
                "concatenated_string" => {
                    let mut c = n.walk();
                    if n.named_children(&mut c).any(|s| is_fstring(s, src)) {
                        out.builds.push(n);
                    }
                }
                "binary_operator" => {
                    let op = n
                        .child_by_field_name("operator")
                        .map(|o| python::text(o, src));
                    let left = n.child_by_field_name("left");
                    match op {
                        Some("%") if left.is_some_and(|l| self.template(l).is_some()) => {
                            out.builds.push(n)
                        }
                        Some("+") => {
                            let operands = flatten_plus(n, src);
                            if operands.iter().any(|o| is_stringy(*o)) {
                                out.builds.push(n);
                            }
                            for o in operands {
                                if !is_stringy(o) {
                                    self.sources(o, depth + 1, out);
                                }
                            }
                        }
                        _ => {}
                    }
                }
                "call" => {
                    let func = n.child_by_field_name("function");
                    let attr = func
                        .filter(|f| f.kind() == "attribute")
                        .and_then(|f| f.child_by_field_name("attribute"))
                        .map(|a| python::text(a, src));
                    let obj = func.and_then(|f| f.child_by_field_name("object"));
                    match attr {
                        Some("format") if obj.is_some_and(|o| self.template(o).is_some()) => {
                            out.builds.push(n)
                        }
                        Some("join") if obj.is_some_and(is_stringy) => {
                            if let Some(a) = python::positional_args(n).first() {
                                self.list_sources(*a, depth + 1, out);
                            }
                        }
                        Some("strip" | "rstrip" | "lstrip" | "replace") => {
                            if let Some(o) = obj {
                                self.sources(o, depth + 1, out);
                            }
                        }
                        _ => {
                            if is_sink(n, src) {
                                if let Some(a) = sql_arg(n, src) {
                                    self.sources(a, depth + 1, out);
                                }
                            } else if let Some(f) = self.local_function(n) {
                                for r in returns(f) {
                                    self.sources(r, depth + 1, out);
                                }
                            }
                        }
                    }
                }
                "identifier" => {
                    for w in self.writes_before(n) {
                        if let LocalWrite::Assign(x) | LocalWrite::AugAdd(x) = w {
                            self.sources(x, depth + 1, out);
                        }
                    }
                }
                "conditional_expression" => {
                    for i in [0, 2] {
                        if let Some(x) = n.named_child(i) {
                            self.sources(x, depth + 1, out);
                        }
                    }
                }
                _ => {}
            }
        }

        /// Sources among the elements of a list joined into SQL.
        fn list_sources(&self, n: Node<'t>, depth: u8, out: &mut Flow<'t>) {
            let n = python::unparen(n);
            match n.kind() {
                "list" | "tuple" => {
                    let mut c = n.walk();
                    for e in n.named_children(&mut c) {
                        self.sources(e, depth, out);
                    }
                }
                "list_comprehension" | "generator_expression" => {
                    if let Some(b) = n.child_by_field_name("body") {
                        self.sources(b, depth, out);
                    }
                }
                "identifier" => {
                    for w in self.writes_before(n) {
                        match w {
                            LocalWrite::Assign(x)
                            | LocalWrite::Extend(x)
                            | LocalWrite::AugAdd(x) => self.list_sources(x, depth + 1, out),
                            LocalWrite::Push(x) => self.sources(x, depth + 1, out),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }

        fn local_function(&self, call: Node<'t>) -> Option<Node<'t>> {
            let f = call.child_by_field_name("function")?;
            let name = match f.kind() {
                "identifier" => python::text(f, self.src),
                "attribute" => {
                    let obj = python::text(f.child_by_field_name("object")?, self.src);
                    if !matches!(obj, "self" | "cls") {
                        return None;
                    }
                    python::text(f.child_by_field_name("attribute")?, self.src)
                }
                _ => return None,
            };
            self.funcs.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
        }

        /// The literal text of a `%` / `.format` template: a literal, or a
        /// name bound to one.
        fn template(&self, n: Node<'t>) -> Option<String> {
            let n = python::unparen(n);
            match n.kind() {
                "string" if !is_fstring(n, self.src) => python::string_value(n, self.src),
                "concatenated_string" => crate::lang::embedded::python_string_expr(n, self.src)
                    .filter(|d| !d.interpolated)
                    .map(|d| d.text),
                "identifier" => match self.writes_before(n).last() {
                    Some(LocalWrite::Assign(x)) => self.template(*x),
                    _ => None,
                },
                _ => None,
            }
        }

        /// The parts of one building expression.
        fn parts(&self, n: Node<'t>) -> Vec<Part<Val<'t>>> {
            let src = self.src;
            let n = python::unparen(n);
            let val = |node| {
                Part::Val(Val {
                    node: Some(node),
                    field: None,
                })
            };
            match n.kind() {
                "string" if is_fstring(n, src) => {
                    let mut out = Vec::new();
                    let mut c = n.walk();
                    for ch in n.named_children(&mut c) {
                        match ch.kind() {
                            "string_content" => out.push(Part::Lit(
                                python::text(ch, src).replace("{{", "{").replace("}}", "}"),
                            )),
                            "interpolation" => {
                                if let Some(e) = ch.child_by_field_name("expression") {
                                    out.push(val(e));
                                }
                            }
                            _ => {}
                        }
                    }
                    out
                }
                "string" => python::string_value(n, src)
                    .map(|t| vec![Part::Lit(t)])
                    .unwrap_or_default(),
                "concatenated_string" => {
                    let mut out = Vec::new();
                    let mut c = n.walk();
                    for s in n.named_children(&mut c) {
                        out.extend(self.parts(s));
                    }
                    out
                }
                "binary_operator" => {
                    let op = n
                        .child_by_field_name("operator")
                        .map(|o| python::text(o, src));
                    match op {
                        Some("%") => {
                            let (Some(l), Some(r)) = (
                                n.child_by_field_name("left"),
                                n.child_by_field_name("right"),
                            ) else {
                                return Vec::new();
                            };
                            let Some(t) = self.template(l) else {
                                return Vec::new();
                            };
                            percent_parts(&t, python::unparen(r), src)
                        }
                        Some("+") => {
                            let mut out = Vec::new();
                            for o in flatten_plus(n, src) {
                                if is_stringy(o) {
                                    out.extend(self.parts(o));
                                } else {
                                    out.push(val(o));
                                }
                            }
                            out
                        }
                        _ => Vec::new(),
                    }
                }
                "call" => {
                    let Some(obj) = n
                        .child_by_field_name("function")
                        .and_then(|f| f.child_by_field_name("object"))
                    else {
                        return Vec::new();
                    };
                    let Some(t) = self.template(obj) else {
                        return Vec::new();
                    };
                    format_parts(&t, n, src)
                }
                _ => Vec::new(),
            }
        }

        /// Is an interpolated value safe whatever it holds?
        fn safe(&self, n: Node<'t>, depth: u8) -> bool {
            let src = self.src;
            let n = python::unparen(n);
            if depth > 4 {
                return false;
            }
            match n.kind() {
                "string" => !is_fstring(n, src),
                "integer" | "float" | "true" | "false" | "none" | "concatenated_string" => true,
                "identifier" => {
                    let name = python::text(n, src);
                    if is_upper_const(name) || is_config_root(name) {
                        return true;
                    }
                    if self.loop_over_constants(n, name) {
                        return true;
                    }
                    let writes = self.writes_before(n);
                    if let Some(f) =
                        python::enclosing_function(n).filter(|f| self.is_param(*f, name))
                    {
                        return self.constant_at_every_call(f, name, depth);
                    }
                    !writes.is_empty()
                        && writes.iter().all(|w| match w {
                            LocalWrite::Assign(x) => self.safe(*x, depth + 1),
                            _ => false,
                        })
                }
                "attribute" => {
                    let t = python::text(n, src);
                    let root = t.split('.').next().unwrap_or("");
                    t.split('.')
                        .any(|s| s.starts_with("__") && s.ends_with("__"))
                        || is_config_root(root)
                        || t.starts_with("os.environ")
                        || t.rsplit('.').next().is_some_and(is_upper_const)
                }
                "subscript" => python::text(n, src).starts_with("os.environ"),
                "call" => {
                    let name = python::call_name(n, src).unwrap_or_default();
                    // Hand-rolled quoting: `name.replace('"', '""')`.
                    if name.ends_with(".replace") {
                        let args: Vec<String> = python::positional_args(n)
                            .iter()
                            .filter_map(|a| python::string_value(*a, src))
                            .collect();
                        if matches!(args.as_slice(), [a, b] if (a == "\"" && b == "\"\"") || (a == "'" && b == "''"))
                        {
                            return true;
                        }
                    }
                    is_quoter(self.ctx, &name)
                        || name.starts_with("os.getenv")
                        || name.starts_with("os.environ")
                        || name.ends_with(".join")
                            && python::positional_args(n).first().is_some_and(|a| {
                                // `", ".join(["%s"] * len(ids))`: placeholders.
                                python::text(*a, src).contains("%s")
                                    || python::text(*a, src).contains('?')
                            })
                }
                _ => false,
            }
        }

        /// Is parameter `name` of `func` given a constant at every call in
        /// this file (`enable_rls("notes")`, `_grant(schema=SCHEMA)`)?
        fn constant_at_every_call(&self, func: Node<'t>, name: &str, depth: u8) -> bool {
            let src = self.src;
            let Some(fname) = func
                .child_by_field_name("name")
                .map(|x| python::text(x, src))
            else {
                return false;
            };
            let Some(params) = func.child_by_field_name("parameters") else {
                return false;
            };
            let mut names = Vec::new();
            let mut c = params.walk();
            for p in params.named_children(&mut c) {
                let ident = match p.kind() {
                    "identifier" => Some(p),
                    "typed_parameter" => p.named_child(0),
                    _ => p.child_by_field_name("name"),
                };
                names.push(ident.map_or("", |i| python::text(i, src)));
            }
            let Some(mut index) = names.iter().position(|n| *n == name) else {
                return false;
            };
            let method = matches!(names.first(), Some(&"self") | Some(&"cls"));
            if method {
                index = index.saturating_sub(1);
            }
            let mut calls = 0;
            let mut all_constant = true;
            python::walk(self.root, &mut |n| {
                if n.kind() != "call" || !all_constant {
                    return;
                }
                let Some(f) = n.child_by_field_name("function") else {
                    return;
                };
                let callee = match f.kind() {
                    "identifier" => python::text(f, src),
                    "attribute" => f
                        .child_by_field_name("attribute")
                        .map_or("", |a| python::text(a, src)),
                    _ => "",
                };
                if callee != fname {
                    return;
                }
                calls += 1;
                let arg = python::keyword_arg(n, name, src)
                    .or_else(|| python::positional_args(n).get(index).copied());
                all_constant &= arg.is_some_and(|a| self.safe(a, depth + 1));
            });
            calls > 0 && all_constant
        }

        /// `for table in ("notes", "files"):` / `for t in TABLES:` around `n`.
        fn loop_over_constants(&self, n: Node<'t>, name: &str) -> bool {
            let mut cur = n.parent();
            while let Some(p) = cur {
                if matches!(p.kind(), "for_statement" | "for_in_clause") {
                    let binds = p
                        .child_by_field_name("left")
                        .is_some_and(|l| python::text(l, self.src) == name);
                    if binds {
                        return p
                            .child_by_field_name("right")
                            .is_some_and(|r| self.constant_collection(r));
                    }
                }
                if let Some(c) = p
                    .child_by_field_name("body")
                    .filter(|_| p.kind() == "list_comprehension")
                {
                    let _ = c;
                    let mut w = p.walk();
                    for clause in p
                        .named_children(&mut w)
                        .filter(|x| x.kind() == "for_in_clause")
                    {
                        let binds = clause
                            .child_by_field_name("left")
                            .is_some_and(|l| python::text(l, self.src) == name);
                        if binds {
                            return clause
                                .child_by_field_name("right")
                                .is_some_and(|r| self.constant_collection(r));
                        }
                    }
                }
                if p.kind() == "function_definition" {
                    break;
                }
                cur = p.parent();
            }
            false
        }

        fn constant_collection(&self, r: Node<'t>) -> bool {
            let r = python::unparen(r);
            match r.kind() {
                "list" | "tuple" | "set" => {
                    let mut c = r.walk();
                    let all = r.named_children(&mut c).all(|e| self.safe(e, 3));
                    all
                }
                "identifier" => is_upper_const(python::text(r, self.src)),
                "attribute" => python::text(r, self.src)
                    .rsplit('.')
                    .next()
                    .is_some_and(is_upper_const),
                _ => false,
            }
        }

        fn tenant(&self, v: &Val<'t>) -> bool {
            if v.field.as_deref().is_some_and(|f| tenantish(self.ctx, f)) {
                return true;
            }
            let Some(n) = v.node else { return false };
            self.tenant_node(n, 0)
        }

        /// Does a value mention a tenant name, itself or through the
        /// local it was assigned from (`target = f"archive_{org_id}"`)?
        fn tenant_node(&self, n: Node<'t>, depth: u8) -> bool {
            let mut found = false;
            let mut locals = Vec::new();
            python::walk(n, &mut |x| {
                if x.kind() == "identifier" {
                    let t = python::text(x, self.src);
                    if t != "self" && t != "cls" && tenantish(self.ctx, t) {
                        found = true;
                    }
                    let is_attr_name = x.parent().is_some_and(|p| {
                        p.kind() == "attribute" && p.child_by_field_name("attribute") == Some(x)
                    });
                    if !is_attr_name {
                        locals.push(x);
                    }
                }
            });
            if found || depth > 1 {
                return found;
            }
            locals.into_iter().any(|x| {
                self.writes_before(x).into_iter().any(|w| match w {
                    LocalWrite::Assign(r) | LocalWrite::AugAdd(r) => self.tenant_node(r, depth + 1),
                    _ => false,
                })
            })
        }

        /// Judge one building expression that reaches `sink`.
        fn judge(&self, build: Node<'t>, sink: Node<'t>, out: &mut Vec<Diagnostic>) {
            let parts = self.parts(build);
            let mut offences = Vec::new();
            let mut positions = Vec::new();
            let mut before = String::new();
            for (i, p) in parts.iter().enumerate() {
                match p {
                    Part::Lit(t) => before.push_str(t),
                    Part::Val(v) => {
                        let after: String = parts[i + 1..]
                            .iter()
                            .map(|p| match p {
                                Part::Lit(t) => t.as_str(),
                                Part::Val(_) => "{}",
                            })
                            .collect();
                        let pos = position(&before, &after);
                        positions.push(pos);
                        before.push_str("{}");
                        if v.node
                            .is_some_and(|n| self.safe(n, 0) || self.composes_sql(n))
                        {
                            continue;
                        }
                        let tenant = self.tenant(v);
                        let unknown = v.node.is_none();
                        let name_is_code = unknown || self.migration;
                        if (pos == Position::Identifier && !name_is_code) || tenant {
                            offences.push((
                                i,
                                Offence {
                                    shown: self.shown(v),
                                    position: pos,
                                    tenant,
                                },
                            ));
                        }
                    }
                }
            }
            if offences.is_empty() {
                return;
            }
            let marker_index = offences
                .iter()
                .find(|(_, o)| o.position == Position::Identifier)
                .unwrap_or(&offences[0])
                .0;
            let display = self.display_template(&parts, marker_index);
            let snip = snippet(&display, "\u{1}");
            let snip = snip.replace(
                '\u{1}',
                &format!(
                    "{{{}}}",
                    offences
                        .iter()
                        .find(|(i, _)| *i == marker_index)
                        .map_or(String::new(), |(_, o)| o.shown.clone())
                ),
            );
            let only: Vec<Offence> = offences.into_iter().map(|(_, o)| o).collect();
            let statement = crate::lang::embedded::looks_like_sql(&template_of(&parts));
            let suggestion =
                if !statement && only.iter().all(|o| o.position == Position::Identifier) {
                    // A name built piecewise (`archive_{org_id}`): quote all of it.
                    let whole = collapse(python::text(build, self.src));
                    match self.alchemy_receiver(sink) {
                        Some(d) => {
                            format!("{d}.identifier_preparer.quote({whole}) where the name is used")
                        }
                        None => format!("sql.Identifier({whole}) where the name is used"),
                    }
                } else {
                    self.suggest(&parts, &positions, sink, statement)
                };
            out.push(Diagnostic::new(
                build.byte_range(),
                title(&only, &snip),
                suggestion,
            ));
        }

        fn shown(&self, v: &Val<'t>) -> String {
            match (v.node, &v.field) {
                (Some(n), _) => collapse(python::text(n, self.src)),
                (None, Some(f)) => f.clone(),
                _ => "?".into(),
            }
        }

        /// The template with `\u{1}` at the marked value and `{…}` at the
        /// others, for the title.
        fn display_template(&self, parts: &[Part<Val<'t>>], marked: usize) -> String {
            parts
                .iter()
                .enumerate()
                .map(|(i, p)| match p {
                    Part::Lit(t) => t.clone(),
                    Part::Val(_) if i == marked => "\u{1}".into(),
                    Part::Val(v) => format!("{{{}}}", self.shown(v)),
                })
                .collect()
        }

        /// What to write instead: bind parameters for values, quoted
        /// identifiers for names.
        fn suggest(
            &self,
            parts: &[Part<Val<'t>>],
            positions: &[Position],
            sink: Node<'t>,
            statement: bool,
        ) -> String {
            let mut vi = 0;
            let mut infos = Vec::new();
            for p in parts {
                if let Part::Val(v) = p {
                    let safe = v.node.is_some_and(|n| self.safe(n, 0));
                    infos.push((positions[vi], safe, self.tenant(v), self.shown(v)));
                    vi += 1;
                }
            }
            let any_ident = infos
                .iter()
                .any(|(pos, safe, _, _)| *pos == Position::Identifier && !safe);
            let sink_name = python::call_name(sink, self.src).unwrap_or_default();
            let first = max_dollar(&template_of(parts));
            let alchemy = self.alchemy_receiver(sink);
            let mut text = String::new();
            let mut args: Vec<String> = Vec::new();
            let mut binds: Vec<(String, String)> = Vec::new();
            let mut interpolates = false;
            let mut skip = 0;
            let mut infos = infos.into_iter();
            for (i, p) in parts.iter().enumerate() {
                match p {
                    Part::Lit(t) => {
                        text.push_str(t.get(skip..).unwrap_or(""));
                        skip = 0;
                    }
                    Part::Val(_) => {
                        let Some((pos, safe, tenant, shown)) = infos.next() else {
                            break;
                        };
                        let next = match parts.get(i + 1) {
                            Some(Part::Lit(t)) => t.as_str(),
                            _ => "",
                        };
                        if any_ident && pos == Position::Identifier && !safe {
                            let (name, drop) = whole_name(&mut text, next, &shown, |h, s, t| {
                                format!("f'{h}{{{s}}}{t}'")
                            });
                            skip = drop;
                            match &alchemy {
                                Some(recv) => {
                                    interpolates = true;
                                    text.push_str(&format!(
                                        "{{{recv}.identifier_preparer.quote({name})}}"
                                    ));
                                }
                                None => {
                                    text.push_str("{}");
                                    args.push(format!("sql.Identifier({name})"));
                                }
                            }
                        } else if any_ident && alchemy.is_none() {
                            skip = unquote(&mut text, next, pos);
                            text.push_str("{}");
                            args.push(match (pos, safe) {
                                (Position::Identifier, _) => format!("sql.Identifier({shown})"),
                                (Position::Quoted, _) | (_, false) => {
                                    format!("sql.Literal({shown})")
                                }
                                _ => format!("sql.SQL({shown})"),
                            });
                        } else if tenant && !safe {
                            skip = unquote(&mut text, next, pos);
                            let name = param_name(&shown);
                            let n = if statement {
                                first + binds.len() + 1
                            } else {
                                0
                            };
                            text.push_str(&self.placeholder(&name, n));
                            binds.push((name, shown));
                        } else {
                            interpolates = true;
                            text.push_str(&format!("{{{shown}}}"));
                        }
                    }
                }
            }
            let text = collapse(&text).replace('"', "\\\"");
            if any_ident && alchemy.is_none() {
                return format!("sql.SQL(\"{text}\").format({})", args.join(", "));
            }
            let f = if interpolates { "f" } else { "" };
            let q = format!("{f}\"{text}\"");
            let dict = || {
                binds
                    .iter()
                    .map(|(n, v)| format!("\"{n}\": {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if !statement {
                // A clause joined into a statement: its parameters go with
                // the statement's.
                return match binds.is_empty() {
                    true => q,
                    false => format!("{q} with {{{}}} in the statement's parameters", dict()),
                };
            }
            if alchemy.is_some() {
                return match binds.is_empty() {
                    true => format!("text({q})"),
                    false => format!("text({q}), {{{}}}", dict()),
                };
            }
            match self.style {
                Style::Numbered => format!(
                    "{q}, {}",
                    binds
                        .iter()
                        .map(|(_, v)| v.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Style::Pyformat if !sink_name.ends_with("text") => format!("{q}, {{{}}}", dict()),
                _ => format!("text({q}), {{{}}}", dict()),
            }
        }

        /// For SQL run through SQLAlchemy, where its dialect lives
        /// (`conn.dialect`, `session.bind.dialect`).
        fn alchemy_receiver(&self, sink: Node<'t>) -> Option<String> {
            let src = self.src;
            let name = python::call_name(sink, src).unwrap_or_default();
            let wraps_text = sql_arg(sink, src).is_some_and(|a| {
                let a = python::unparen(a);
                a.kind() == "call"
                    && python::call_name(a, src)
                        .is_some_and(|n| n == "text" || n.ends_with(".text"))
            });
            let alchemy = name == "text"
                || name.ends_with(".text")
                || name.ends_with("exec_driver_sql")
                || wraps_text
                || (src.contains("sqlalchemy") && !src.contains("psycopg"));
            if !alchemy {
                return None;
            }
            let recv = sink
                .child_by_field_name("function")
                .filter(|f| f.kind() == "attribute")
                .and_then(|f| f.child_by_field_name("object"))
                .map(|r| python::text(r, src).to_string());
            // A connection knows its dialect; elsewhere (sessions, `text`
            // alone) name PostgreSQL's.
            Some(match recv {
                Some(r) if r.to_ascii_lowercase().contains("conn") => format!("{r}.dialect"),
                _ => "postgresql.dialect()".into(),
            })
        }

        /// A bind placeholder; `n == 0` when the position is not known
        /// (a clause joined into a statement elsewhere).
        fn placeholder(&self, name: &str, n: usize) -> String {
            match self.style {
                Style::Named => format!(":{name}"),
                Style::Pyformat => format!("%({name})s"),
                Style::Numbered if n == 0 => "$N".into(),
                Style::Numbered => format!("${n}"),
            }
        }
    }

    /// Operands of a `+` chain, left to right.
    fn flatten_plus<'t>(n: Node<'t>, src: &str) -> Vec<Node<'t>> {
        let n = python::unparen(n);
        if n.kind() == "binary_operator"
            && n.child_by_field_name("operator")
                .is_some_and(|o| python::text(o, src) == "+")
        {
            let mut out = Vec::new();
            if let Some(l) = n.child_by_field_name("left") {
                out.extend(flatten_plus(l, src));
            }
            if let Some(r) = n.child_by_field_name("right") {
                out.extend(flatten_plus(r, src));
            }
            out
        } else {
            vec![n]
        }
    }

    /// Parts of `template % args`.
    fn percent_parts<'t>(t: &str, args: Node<'t>, src: &'t str) -> Vec<Part<Val<'t>>> {
        let positional: Vec<Node<'t>> = match args.kind() {
            "tuple" => {
                let mut c = args.walk();
                args.named_children(&mut c).collect()
            }
            "dictionary" => Vec::new(),
            _ => vec![args],
        };
        let named = |key: &str| -> Option<Node<'t>> {
            if args.kind() != "dictionary" {
                return None;
            }
            let mut c = args.walk();
            let found = args.named_children(&mut c).find(|p| {
                p.kind() == "pair"
                    && p.child_by_field_name("key")
                        .and_then(|k| python::string_value(k, src))
                        .is_some_and(|k| k == key)
            });
            found.and_then(|p| p.child_by_field_name("value"))
        };
        let mut out = Vec::new();
        let mut lit = String::new();
        let mut next = 0;
        let chars: Vec<char> = t.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c != '%' {
                lit.push(c);
                i += 1;
                continue;
            }
            if chars.get(i + 1) == Some(&'%') {
                lit.push('%');
                i += 2;
                continue;
            }
            let mut j = i + 1;
            let mut key = None;
            if chars.get(j) == Some(&'(') {
                let end = chars[j..].iter().position(|&c| c == ')').map(|p| j + p);
                let Some(end) = end else { break };
                key = Some(chars[j + 1..end].iter().collect::<String>());
                j = end + 1;
            }
            while j < chars.len() && "#0- +.0123456789".contains(chars[j]) {
                j += 1;
            }
            if j < chars.len() && chars[j].is_ascii_alphabetic() {
                j += 1;
            }
            out.push(Part::Lit(std::mem::take(&mut lit)));
            let node = match &key {
                Some(k) => named(k),
                None => {
                    next += 1;
                    positional.get(next - 1).copied()
                }
            };
            out.push(Part::Val(Val { node, field: key }));
            i = j;
        }
        out.push(Part::Lit(lit));
        out
    }

    /// Parts of `template.format(args)`.
    fn format_parts<'t>(t: &str, call: Node<'t>, src: &'t str) -> Vec<Part<Val<'t>>> {
        use crate::lang::template::{pieces, Piece};
        let positional = python::positional_args(call);
        let mut out = Vec::new();
        let mut lit = String::new();
        let mut auto = 0;
        for piece in pieces(t) {
            let field = match piece {
                Piece::Lit(l) => {
                    lit.push_str(&l);
                    continue;
                }
                Piece::Hole(h) => h,
            };
            let name: String = field
                .split(['!', ':', '.', '['])
                .next()
                .unwrap_or("")
                .to_string();
            out.push(Part::Lit(std::mem::take(&mut lit)));
            let node = if name.is_empty() {
                auto += 1;
                positional.get(auto - 1).copied()
            } else if let Ok(i) = name.parse::<usize>() {
                positional.get(i).copied()
            } else {
                python::keyword_arg(call, &name, src)
            };
            let field = (!name.is_empty() && name.parse::<usize>().is_err()).then_some(name);
            out.push(Part::Val(Val { node, field }));
        }
        out.push(Part::Lit(lit));
        out
    }

    /// The expressions a function returns (not nested functions').
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
        out
    }
}

/// Does a template (placeholders as `{}`) read like SQL or an SQL clause?
fn sqlish(template: &str) -> bool {
    if crate::lang::embedded::looks_like_sql(template) {
        return true;
    }
    let first: String = template
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase();
    if matches!(
        first.as_str(),
        "analyze" | "vacuum" | "cluster" | "reindex" | "call" | "show" | "notify" | "listen"
    ) {
        return true;
    }
    let t = format!(" {} ", collapse(&template.to_ascii_lowercase()));
    [
        " where ",
        " and ",
        " or ",
        " from ",
        " join ",
        " in (",
        " order by ",
        " group by ",
        " limit ",
        " schema ",
        "search_path",
        " values ",
        " set ",
        " returning ",
        " into ",
    ]
    .iter()
    .any(|k| t.contains(k))
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

    /// Functions whose first argument is SQL text.
    const SQL_FNS: &[&str] = &[
        "query",
        "query_as",
        "query_scalar",
        "query_with",
        "query_as_with",
        "query_scalar_with",
        "raw_sql",
        "sql_query",
    ];

    /// Methods whose first argument is SQL text (sqlx `Executor`,
    /// tokio-postgres, diesel `batch_execute`).
    const SQL_METHODS: &[&str] = &[
        "execute",
        "batch_execute",
        "simple_query",
        "query",
        "query_one",
        "query_opt",
        "query_raw",
        "prepare",
        "prepare_cached",
        "fetch_all",
        "fetch_one",
        "fetch_optional",
    ];

    /// An expression that builds SQL text.
    #[derive(Clone, Copy)]
    enum Build<'a> {
        /// `format!(…)`
        Format(&'a syn::ExprMacro),
        /// `write!(sql, …)`: the macro, and the statement it sits in.
        Write(&'a syn::Macro),
        /// `"…".to_owned() + &schema + "…"`
        Concat(&'a syn::ExprBinary),
    }

    impl Build<'_> {
        fn span(&self) -> proc_macro2::Span {
            match self {
                Build::Format(m) => m.span(),
                Build::Write(m) => m.span(),
                Build::Concat(b) => b.span(),
            }
        }
    }

    /// A value spliced into the SQL: an expression, or a name captured by
    /// `format!("{schema}")`.
    struct Val {
        expr: Option<Expr>,
        name: Option<String>,
    }

    /// What a function binds.
    struct Fn<'a> {
        params: Vec<String>,
        lets: Vec<(String, usize, &'a Expr)>,
        /// `sql.push_str(x)` / `sql += x`.
        appends: Vec<(String, usize, &'a Expr)>,
        /// `write!(sql, …)`.
        writes: Vec<(String, usize, &'a syn::Macro)>,
        /// `for name in iter`.
        loops: Vec<(String, &'a Expr)>,
        /// SQL arguments of SQL-executing calls, with the call's name.
        sinks: Vec<(&'a Expr, String)>,
    }

    fn ident_of(e: &Expr) -> Option<String> {
        match e {
            Expr::Path(p) if p.path.segments.len() == 1 && p.qself.is_none() => {
                Some(p.path.segments[0].ident.to_string())
            }
            _ => None,
        }
    }

    fn last_segment(p: &syn::Path) -> String {
        p.segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default()
    }

    /// Look through `&`, `*`, `( )`, `.as_str()`, `.clone()`, `String::from`.
    fn peel(mut e: &Expr) -> &Expr {
        loop {
            e = match e {
                Expr::Reference(r) => &r.expr,
                Expr::Paren(p) => &p.expr,
                Expr::Group(g) => &g.expr,
                Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => &u.expr,
                Expr::MethodCall(m)
                    if m.args.is_empty()
                        && matches!(
                            m.method.to_string().as_str(),
                            "as_str" | "as_ref" | "clone" | "to_string" | "to_owned" | "into"
                        ) =>
                {
                    &m.receiver
                }
                Expr::Call(c)
                    if c.args.len() == 1
                        && matches!(&*c.func, Expr::Path(p) if {
                            let s = crate::lang::rust::path_string(&p.path);
                            s == "String::from" || s.ends_with("AssertSqlSafe")
                        }) =>
                {
                    &c.args[0]
                }
                _ => return e,
            };
        }
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
            fn visit_expr_for_loop(&mut self, f: &'a syn::ExprForLoop) {
                if let syn::Pat::Ident(i) = &*f.pat {
                    self.f.loops.push((i.ident.to_string(), &f.expr));
                }
                syn::visit::visit_expr_for_loop(self, f);
            }
            fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
                let method = m.method.to_string();
                if method == "push_str" {
                    if let (Some(name), Some(a)) = (ident_of(&m.receiver), m.args.first()) {
                        let at = rust::span_range(m.span(), self.src).start;
                        self.f.appends.push((name, at, a));
                    }
                }
                let adjacent = m.turbofish.is_none()
                    && rust::span_range(m.method.span(), self.src).end
                        == rust::span_range(m.paren_token.span.open(), self.src).start;
                if adjacent && SQL_METHODS.contains(&method.as_str()) {
                    if let Some(a) = m.args.first() {
                        self.f.sinks.push((a, method));
                    }
                }
                syn::visit::visit_expr_method_call(self, m);
            }
            fn visit_expr_call(&mut self, c: &'a syn::ExprCall) {
                if let Expr::Path(p) = &*c.func {
                    let last = last_segment(&p.path);
                    // `query(` or `query_as::<_, T>(`, as the pre-filter expects.
                    let adjacent = p.path.segments.last().is_some_and(|s| {
                        let end = match &s.arguments {
                            syn::PathArguments::AngleBracketed(a) => {
                                return a.colon2_token.is_some();
                            }
                            _ => rust::span_range(s.ident.span(), self.src).end,
                        };
                        end == rust::span_range(c.paren_token.span.open(), self.src).start
                    });
                    if adjacent && SQL_FNS.contains(&last.as_str()) {
                        if let Some(a) = c.args.first() {
                            self.f.sinks.push((a, last));
                        }
                    }
                }
                syn::visit::visit_expr_call(self, c);
            }
            fn visit_expr_binary(&mut self, b: &'a syn::ExprBinary) {
                if matches!(b.op, syn::BinOp::AddAssign(_)) {
                    if let Some(name) = ident_of(&b.left) {
                        let at = rust::span_range(b.span(), self.src).start;
                        self.f.appends.push((name, at, &b.right));
                    }
                }
                syn::visit::visit_expr_binary(self, b);
            }
            fn visit_macro(&mut self, m: &'a syn::Macro) {
                let last = last_segment(&m.path);
                if last == "write" || last == "writeln" {
                    let dest = m
                        .tokens
                        .clone()
                        .into_iter()
                        .take_while(|t| !matches!(t, TokenTree::Punct(p) if p.as_char() == ','))
                        .filter_map(|t| match t {
                            TokenTree::Ident(i) => Some(i.to_string()),
                            _ => None,
                        })
                        .last();
                    if let Some(dest) = dest {
                        let at = rust::span_range(m.span(), self.src).start;
                        self.f.writes.push((dest, at, m));
                    }
                }
                syn::visit::visit_macro(self, m);
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
                appends: Vec::new(),
                writes: Vec::new(),
                loops: Vec::new(),
                sinks: Vec::new(),
            },
            src,
        };
        v.visit_block(body);
        v.f
    }

    struct Checker<'a, 'c> {
        ctx: &'a Ctx<'c>,
        file: &'a ParsedFile,
        fns: Vec<(String, &'a syn::Signature, &'a syn::Block)>,
        /// Bind style of the file's driver.
        driver: Driver,
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Driver {
        Sqlx,
        Diesel,
        TokioPostgres,
    }

    /// What reaches a sink.
    struct Flow<'a> {
        builds: Vec<Build<'a>>,
        sqlish: bool,
    }

    pub fn check(ctx: &Ctx, f: &syn::File, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
        let fns: Vec<(String, &syn::Signature, &syn::Block)> = crate::lang::rust::functions(f)
            .into_iter()
            .map(|x| (x.name(), x.sig, x.block))
            .collect();
        let text = file.text();
        let driver = if text.contains("sqlx") {
            Driver::Sqlx
        } else if text.contains("diesel") {
            Driver::Diesel
        } else if text.contains("tokio_postgres") || text.contains("postgres::") {
            Driver::TokioPostgres
        } else {
            Driver::Sqlx
        };
        let c = Checker {
            ctx,
            file,
            fns,
            driver,
        };
        let mut seen: Vec<Range<usize>> = Vec::new();
        for (_, sig, block) in &c.fns {
            let func = function(sig, block, &file.src);
            for (arg, sink) in &func.sinks {
                let mut flow = Flow {
                    builds: Vec::new(),
                    sqlish: false,
                };
                c.sources(&func, arg, 0, &mut flow);
                let sqlish_flow = flow.sqlish
                    || flow
                        .builds
                        .iter()
                        .any(|b| sqlish(&template_of(&c.parts(*b))));
                if !sqlish_flow {
                    continue;
                }
                for b in flow.builds {
                    let r = rust::span_range(b.span(), &file.src);
                    if seen.contains(&r) {
                        continue;
                    }
                    seen.push(r.clone());
                    c.judge(&func, b, r, sink, out);
                }
            }
        }
    }

    fn template_of(parts: &[Part<Val>]) -> String {
        parts
            .iter()
            .map(|p| match p {
                Part::Lit(t) => t.as_str(),
                Part::Val(_) => "{}",
            })
            .collect()
    }

    fn is_format(m: &syn::Macro) -> bool {
        matches!(last_segment(&m.path).as_str(), "format" | "format_args")
    }

    fn is_str_lit(e: &Expr) -> bool {
        matches!(
            peel(e),
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(_),
                ..
            })
        )
    }

    fn flatten_add(e: &Expr) -> Vec<&Expr> {
        match e {
            Expr::Binary(b) if matches!(b.op, syn::BinOp::Add(_)) => {
                let mut out = flatten_add(&b.left);
                out.extend(flatten_add(&b.right));
                out
            }
            Expr::Paren(p) => flatten_add(&p.expr),
            _ => vec![e],
        }
    }

    impl<'a> Checker<'a, '_> {
        fn text(&self, e: &impl Spanned) -> String {
            let r = rust::span_range(e.span(), &self.file.src);
            collapse(self.file.text().get(r).unwrap_or(""))
        }

        fn at(&self, e: &impl Spanned) -> usize {
            rust::span_range(e.span(), &self.file.src).start
        }

        /// Expressions that build SQL text reaching `e`.
        fn sources(&self, func: &Fn<'a>, e: &'a Expr, depth: u8, out: &mut Flow<'a>) {
            if depth > 5 {
                return;
            }
            let e = peel(e);
            match e {
                Expr::Macro(m) if is_format(&m.mac) => {
                    out.builds.push(Build::Format(m));
                    self.nested(func, Build::Format(m), depth, out);
                }
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) if sqlish(&s.value()) => {
                    out.sqlish = true;
                }
                Expr::Binary(b) if matches!(b.op, syn::BinOp::Add(_)) => {
                    let operands = flatten_add(e);
                    if operands.iter().any(|o| {
                        is_str_lit(o) || matches!(peel(o), Expr::Macro(m) if is_format(&m.mac))
                    }) {
                        out.builds.push(Build::Concat(b));
                    }
                    for o in operands {
                        if !is_str_lit(o) {
                            self.sources(func, o, depth + 1, out);
                        }
                    }
                }
                Expr::Path(_) => {
                    let Some(name) = ident_of(e) else { return };
                    let at = self.at(e);
                    for (n, b, init) in &func.lets {
                        if *n == name && *b < at {
                            self.sources(func, init, depth + 1, out);
                        }
                    }
                    for (n, b, x) in &func.appends {
                        if *n == name && *b < at {
                            self.sources(func, x, depth + 1, out);
                        }
                    }
                    for (n, b, m) in &func.writes {
                        if *n == name && *b < at {
                            out.builds.push(Build::Write(m));
                            self.nested(func, Build::Write(m), depth, out);
                        }
                    }
                }
                Expr::Call(c) => {
                    if let Expr::Path(p) = &*c.func {
                        if p.path.segments.len() == 1 {
                            self.local(func, &last_segment(&p.path), depth, out);
                        }
                    }
                }
                Expr::MethodCall(m) if matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident("self")) =>
                {
                    self.local(func, &m.method.to_string(), depth, out);
                }
                Expr::Block(b) => {
                    if let Some(syn::Stmt::Expr(x, None)) = b.block.stmts.last() {
                        self.sources(func, x, depth + 1, out);
                    }
                }
                Expr::If(i) => {
                    if let Some(syn::Stmt::Expr(x, None)) = i.then_branch.stmts.last() {
                        self.sources(func, x, depth + 1, out);
                    }
                    if let Some((_, x)) = &i.else_branch {
                        self.sources(func, x, depth + 1, out);
                    }
                }
                _ => {}
            }
        }

        /// SQL pieces held in variables and spliced into a build.
        fn nested(&self, func: &Fn<'a>, b: Build<'a>, depth: u8, out: &mut Flow<'a>) {
            let names: Vec<String> = self
                .parts(b)
                .into_iter()
                .filter_map(|p| match p {
                    Part::Val(v) => v.expr.as_ref().and_then(|e| ident_of(peel(e))).or(v.name),
                    Part::Lit(_) => None,
                })
                .collect();
            let at = self.at(&b.span());
            for name in names {
                for (n, pos, init) in &func.lets {
                    if *n == name && *pos < at {
                        self.sources(func, init, depth + 1, out);
                    }
                }
            }
        }

        fn local(&self, _func: &Fn<'a>, name: &str, depth: u8, out: &mut Flow<'a>) {
            let Some((_, sig, block)) = self.fns.iter().find(|(n, _, _)| n == name) else {
                return;
            };
            let inner = function(sig, block, &self.file.src);
            for r in returns(block) {
                self.sources(&inner, r, depth + 1, out);
            }
        }

        /// The parts of a build.
        fn parts(&self, b: Build<'a>) -> Vec<Part<Val>> {
            match b {
                Build::Format(m) => format_parts(m.mac.tokens.clone(), false),
                Build::Write(m) => format_parts(m.tokens.clone(), true),
                Build::Concat(bin) => {
                    let mut out = Vec::new();
                    for o in flatten_add(&Expr::Binary(bin.clone())) {
                        match peel(o) {
                            Expr::Lit(syn::ExprLit {
                                lit: syn::Lit::Str(s),
                                ..
                            }) => out.push(Part::Lit(s.value())),
                            Expr::Macro(m) if is_format(&m.mac) => {
                                out.extend(format_parts(m.mac.tokens.clone(), false))
                            }
                            other => out.push(Part::Val(Val {
                                expr: Some(other.clone()),
                                name: None,
                            })),
                        }
                    }
                    out
                }
            }
        }

        /// Is a name bound only to constants at this point?
        fn constant_name(&self, func: &Fn<'a>, name: &str, at: usize) -> bool {
            if is_upper_const(name) || is_config_root(name) {
                return true;
            }
            if func.params.iter().any(|p| p == name) {
                return false;
            }
            if let Some((_, iter)) = func.loops.iter().find(|(n, _)| n == name) {
                return match peel(iter) {
                    Expr::Array(a) => a.elems.iter().all(|x| matches!(x, Expr::Lit(_))),
                    Expr::Path(p) => is_upper_const(&last_segment(&p.path)),
                    _ => false,
                };
            }
            let inits: Vec<&Expr> = func
                .lets
                .iter()
                .filter(|(n, b, _)| n == name && *b < at)
                .map(|(_, _, e)| *e)
                .collect();
            !inits.is_empty() && inits.iter().all(|e| matches!(peel(e), Expr::Lit(_)))
        }

        fn safe(&self, func: &Fn<'a>, v: &Val, at: usize) -> bool {
            match (&v.expr, &v.name) {
                (Some(e), _) => self.safe_expr(func, e, at),
                (None, Some(n)) => self.constant_name(func, n, at),
                _ => false,
            }
        }

        fn safe_expr(&self, func: &Fn<'a>, e: &Expr, at: usize) -> bool {
            match peel(e) {
                Expr::Lit(_) => true,
                Expr::Path(p) => {
                    let last = last_segment(&p.path);
                    if p.path.segments.len() > 1 {
                        return is_upper_const(&last);
                    }
                    self.constant_name(func, &last, at)
                }
                Expr::Call(c) => match &*c.func {
                    Expr::Path(p) => is_quoter(self.ctx, &crate::lang::rust::path_string(&p.path)),
                    _ => false,
                },
                Expr::MethodCall(m) => {
                    let method = m.method.to_string();
                    is_quoter(self.ctx, &method) || matches!(method.as_str(), "len" | "count")
                }
                Expr::Field(f) => {
                    let t = f.to_token_stream().to_string().replace(' ', "");
                    let root = t.split('.').next().unwrap_or("");
                    is_config_root(root)
                        || matches!(&f.member, syn::Member::Named(i) if is_upper_const(&i.to_string()))
                }
                _ => false,
            }
        }

        fn tenant(&self, func: &Fn<'a>, v: &Val, at: usize) -> bool {
            let mut names = Vec::new();
            if let Some(n) = &v.name {
                names.push(n.clone());
            }
            if let Some(e) = &v.expr {
                idents(e.to_token_stream(), &mut names);
            }
            if names.iter().any(|n| n != "self" && tenantish(self.ctx, n)) {
                return true;
            }
            // Through the local it was computed from.
            names.iter().any(|n| {
                func.lets.iter().any(|(l, b, init)| {
                    l == n && *b < at && {
                        let mut inner = Vec::new();
                        idents(init.to_token_stream(), &mut inner);
                        inner.iter().any(|i| tenantish(self.ctx, i))
                    }
                })
            })
        }

        /// Does a value hold SQL text itself?
        fn composes_sql(&self, func: &Fn<'a>, v: &Val, at: usize) -> bool {
            let name = v
                .expr
                .as_ref()
                .and_then(|e| ident_of(peel(e)))
                .or_else(|| v.name.clone());
            let Some(name) = name else { return false };
            func.lets
                .iter()
                .filter(|(n, b, _)| *n == name && *b < at)
                .any(|(_, _, init)| {
                    let mut flow = Flow {
                        builds: Vec::new(),
                        sqlish: false,
                    };
                    self.sources(func, init, 3, &mut flow);
                    !flow.builds.is_empty() || flow.sqlish
                })
                || func.appends.iter().any(|(n, _, _)| *n == name)
                || func.writes.iter().any(|(n, _, _)| *n == name)
        }

        fn shown(&self, v: &Val) -> String {
            match (&v.expr, &v.name) {
                (Some(e), _) => self.text(e),
                (None, Some(n)) => n.clone(),
                _ => "?".into(),
            }
        }

        fn judge(
            &self,
            func: &Fn<'a>,
            b: Build<'a>,
            range: Range<usize>,
            sink: &str,
            out: &mut Vec<Diagnostic>,
        ) {
            let parts = self.parts(b);
            let at = range.start;
            let mut before = String::new();
            let mut offences: Vec<(usize, Offence)> = Vec::new();
            let mut verdicts = Vec::new();
            for (i, p) in parts.iter().enumerate() {
                match p {
                    Part::Lit(t) => before.push_str(t),
                    Part::Val(v) => {
                        let after: String = template_of(&parts[i + 1..]);
                        let pos = position(&before, &after);
                        before.push_str("{}");
                        let skip = self.safe(func, v, at) || self.composes_sql(func, v, at);
                        let tenant = !skip && self.tenant(func, v, at);
                        verdicts.push((pos, skip, tenant));
                        if !skip && (pos == Position::Identifier || tenant) {
                            offences.push((
                                i,
                                Offence {
                                    shown: self.shown(v),
                                    position: pos,
                                    tenant,
                                },
                            ));
                        }
                    }
                }
            }
            if offences.is_empty() {
                return;
            }
            let marked = offences
                .iter()
                .find(|(_, o)| o.position == Position::Identifier)
                .unwrap_or(&offences[0])
                .0;
            let display: String = parts
                .iter()
                .enumerate()
                .map(|(i, p)| match p {
                    Part::Lit(t) => t.clone(),
                    Part::Val(_) if i == marked => "\u{1}".into(),
                    Part::Val(v) => format!("{{{}}}", self.shown(v)),
                })
                .collect();
            let marked_name = offences
                .iter()
                .find(|(i, _)| *i == marked)
                .map_or(String::new(), |(_, o)| o.shown.clone());
            let snip = snippet(&display, "\u{1}").replace('\u{1}', &format!("{{{marked_name}}}"));
            let only: Vec<Offence> = offences.into_iter().map(|(_, o)| o).collect();
            let statement = crate::lang::embedded::looks_like_sql(&template_of(&parts));
            out.push(Diagnostic::new(
                range,
                title(&only, &snip),
                self.suggest(&parts, &verdicts, sink, statement),
            ));
        }

        /// `sqlx::query("… $1").bind(org_id)` for values, `quote_ident` for
        /// names.
        fn suggest(
            &self,
            parts: &[Part<Val>],
            verdicts: &[(Position, bool, bool)],
            sink: &str,
            statement: bool,
        ) -> String {
            let any_ident = verdicts
                .iter()
                .any(|(pos, skip, _)| *pos == Position::Identifier && !skip);
            let first = max_dollar(&template_of(parts));
            let mut text = String::new();
            let mut args = Vec::new();
            let mut binds = Vec::new();
            let mut skip = 0;
            let mut vs = verdicts.iter();
            let esc = |t: &str| t.replace('{', "{{").replace('}', "}}");
            for (i, p) in parts.iter().enumerate() {
                match p {
                    Part::Lit(t) => {
                        text.push_str(&esc(t.get(skip..).unwrap_or("")));
                        skip = 0;
                    }
                    Part::Val(v) => {
                        let Some(&(pos, safe, tenant)) = vs.next() else {
                            break;
                        };
                        let shown = self.shown(v);
                        let next = match parts.get(i + 1) {
                            Some(Part::Lit(t)) => t.as_str(),
                            _ => "",
                        };
                        if pos == Position::Identifier && !safe {
                            let (name, drop) = whole_name(&mut text, next, &shown, |h, s, t| {
                                format!("format!(\"{h}{{}}{t}\", {s})")
                            });
                            skip = drop;
                            text.push_str("{}");
                            args.push(if name.starts_with("format!") {
                                format!("quote_ident(&{name})")
                            } else {
                                format!("quote_ident(&{shown})")
                            });
                        } else if tenant && !any_ident {
                            skip = unquote(&mut text, next, pos);
                            binds.push(shown);
                            if statement {
                                text.push_str(&format!("${}", first + binds.len()));
                            } else {
                                text.push_str("$N");
                            }
                        } else {
                            text.push_str("{}");
                            args.push(shown);
                        }
                    }
                }
            }
            let text = collapse(&text).replace('"', "\\\"");
            let sql = if args.is_empty() {
                format!("\"{}\"", text.replace("{{", "{").replace("}}", "}"))
            } else {
                format!("&format!(\"{text}\", {})", args.join(", "))
            };
            if any_ident || !statement {
                let sql = sql.trim_start_matches('&');
                return match binds.is_empty() {
                    true => sql.to_string(),
                    false if statement => {
                        format!("{sql} with .bind({}) on the query", binds.join(").bind("))
                    }
                    false => format!(
                        "{sql} with .bind({}) at bind position N of the statement",
                        binds.join(").bind(")
                    ),
                };
            }
            let bind =
                |f: &dyn std::ops::Fn(&String) -> String| binds.iter().map(f).collect::<String>();
            match (self.driver, sink) {
                (Driver::Diesel, _) | (_, "sql_query") => format!(
                    "diesel::sql_query({sql}){}",
                    bind(&|b| format!(".bind::<diesel::sql_types::Text, _>({b})"))
                ),
                (Driver::TokioPostgres, _) => format!(
                    "client.{}({sql}, &[{}])",
                    if sink == "execute" {
                        "execute"
                    } else {
                        "query"
                    },
                    binds
                        .iter()
                        .map(|b| format!("&{b}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => format!(
                    "sqlx::{}({sql}){}",
                    if sink.starts_with("query") || sink == "raw_sql" {
                        sink
                    } else {
                        "query"
                    },
                    bind(&|b| format!(".bind({b})"))
                ),
            }
        }
    }

    /// The expressions a function body returns.
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

    fn idents(tokens: TokenStream, out: &mut Vec<String>) {
        for t in tokens {
            match t {
                TokenTree::Ident(i) => out.push(i.to_string()),
                TokenTree::Group(g) => idents(g.stream(), out),
                _ => {}
            }
        }
    }

    /// Parts of `format!("…", args)` (or `write!(dest, "…", args)`).
    fn format_parts(tokens: TokenStream, skip_dest: bool) -> Vec<Part<Val>> {
        let Ok(args) = syn::parse::Parser::parse2(
            Punctuated::<Expr, syn::Token![,]>::parse_terminated,
            tokens,
        ) else {
            return Vec::new();
        };
        let mut it = args.into_iter();
        if skip_dest {
            it.next();
        }
        let Some(Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(fmt),
            ..
        })) = it.next()
        else {
            return Vec::new();
        };
        let mut positional = Vec::new();
        let mut named: Vec<(String, Expr)> = Vec::new();
        for a in it {
            match a {
                Expr::Assign(x) => {
                    if let Some(n) = ident_of(&x.left) {
                        named.push((n, *x.right));
                    }
                }
                other => positional.push(other),
            }
        }
        let template = fmt.value();
        let mut out = Vec::new();
        let mut lit = String::new();
        let mut auto = 0;
        for piece in crate::lang::template::pieces(&template) {
            let spec = match piece {
                crate::lang::template::Piece::Lit(l) => {
                    lit.push_str(&l);
                    continue;
                }
                crate::lang::template::Piece::Hole(h) => h,
            };
            let name = spec.split(':').next().unwrap_or("").trim().to_string();
            out.push(Part::Lit(std::mem::take(&mut lit)));
            let val = if name.is_empty() {
                auto += 1;
                Val {
                    expr: positional.get(auto - 1).cloned(),
                    name: None,
                }
            } else if let Ok(i) = name.parse::<usize>() {
                Val {
                    expr: positional.get(i).cloned(),
                    name: None,
                }
            } else {
                Val {
                    expr: named
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, e)| e.clone()),
                    name: Some(name),
                }
            };
            out.push(Part::Val(val));
        }
        out.push(Part::Lit(lit));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::names_a_sink;

    #[test]
    fn sinks_are_named_on_their_own() {
        for called in [
            "await db.execute(text(f\"SET search_path TO {schema}\"))",
            "sqlx::query(&sql).execute(&pool)",
            "client.batch_execute(&ddl).await?",
            "rows = cur.fetchrow(q)",
            "sql.SQL(\"SELECT 1\")",
            "execute(q)",
        ] {
            assert!(names_a_sink(called), "{called}");
        }
        for glued in [
            "chunk_text(body)",
            "prefetch(urls)",
            "my_query(x)",
            "reexecute(job)",
        ] {
            assert!(!names_a_sink(glued), "{glued}");
        }
    }
}
