//! TL016 query-tenant-filter: a query on a tenant table constrains the
//! table's tenant column.
//!
//! Python: SQLAlchemy 2.0 (`select`/`update`/`delete` chains, also built
//! over several statements of one function) and 1.x (`session.query`,
//! `filter_by`, `Model.query`), `session.get(Model, id)`; raw SQL in
//! `text()`/`execute`. Rust: sqlx and diesel SQL strings, `QueryBuilder`,
//! `format!`-built SQL, diesel DSL chains on `table::table`. SQL: query
//! files (`queries/*.sql`, `-- name:` blocks). Tables, tenant columns, RLS
//! state and the model → table mapping come from the project index.
//!
//! A table is constrained when a predicate reaches its own tenant column,
//! or when it is tied by a join key to a table that is; a same-file helper
//! that filters and takes a tenant, a configured scope helper, and an
//! ownership check after the read (`obj.org_id != org_id`) also count.

use super::{keys, names, Ctx, Diagnostic, RuleMeta, Severity};
use crate::lang::sql_tokens::{self, Tok, Token};
use crate::lang::{embedded, python, Language, ParsedFile, Syntax};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use tree_sitter::Node;

pub static RULE: RuleMeta = RuleMeta {
    id: "TL016",
    name: "query-tenant-filter",
    severity: Severity::Hard,
    languages: &[Language::Python, Language::Rust, Language::Sql],
    summary: "Queries on tenant tables constrain the tenant column",
    doc: include_str!("../../rules/TL016-query-tenant-filter.md"),
    // Every query form names one of these: SQL keywords, `select(`,
    // `update(`, `delete(`, `.query(`, `.get(`, diesel's `::table`.
    triggers: |_| super::words(&["select", "update", "delete", "query", ".get(", "::table"]),
    gate: Some(gate),
    needs_index: true,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to,
    check,
};

/// A query the rule judges names a tenant table (SQL, diesel's
/// `notes::table`) or the model mapped to one (`select(Note)`, diesel's
/// Rust name of a table `#[sql_name]` renames); SQL in a Python string runs
/// through an SQL-executing call.
fn gate(ctx: &Ctx, _: &str, lang: Language, text: &str) -> bool {
    let names = ctx.derived(super::names::TenantNames::new);
    match lang {
        Language::Python => {
            names.mentions_model(text)
                || (crate::lang::embedded::may_execute_sql(lang, text.as_bytes())
                    && names.mentions_table(text))
        }
        Language::Rust => names.mentions_table(text) || names.mentions_model(text),
        Language::Sql => names.mentions_table(text),
    }
}

/// Migrations change data across every tenant by design; only `.sql`
/// files that hold queries are read.
fn applies_to(path: &str) -> bool {
    let p = format!("/{path}");
    !(p.contains("/migrations/")
        || p.contains("/migration/")
        || p.contains("/versions/")
        || p.contains("/alembic/")
        || p.contains("/migrate/"))
}

/// A `.sql` file of queries (sqlc, yesql, aiosql, HugSQL): under a
/// `queries`/`query` directory, named `*queries.sql`, or with `-- name:`
/// blocks. Schema dumps, seeds and scripts are not queries.
fn is_query_file(path: &str, text: &str) -> bool {
    let p = format!("/{}", path.to_ascii_lowercase());
    let stem = p.rsplit('/').next().unwrap_or("").trim_end_matches(".sql");
    p.contains("/queries/")
        || p.contains("/query/")
        || stem.ends_with("queries")
        || text.contains("-- name:")
}

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    if ctx.index.tables.is_empty() || !applies_to(&file.path) {
        return;
    }
    let mut found = Vec::new();
    match &file.syntax {
        Syntax::Sql(_) => {
            if is_query_file(&file.path, file.text()) {
                sql_sites(ctx, file, &mut found);
            }
        }
        Syntax::Python(tree) => {
            sql_sites(ctx, file, &mut found);
            py::check(ctx, tree.root_node(), file.text(), &mut found);
        }
        Syntax::Rust(f) => {
            let fns = rs::functions(ctx, f, file);
            sql_sites_rust(ctx, file, &fns, &mut found);
            rs::check(ctx, f, file, &fns, &mut found);
        }
    }
    for d in found {
        if !out.iter().any(|o| o.range.start == d.range.start) {
            out.push(d);
        }
    }
}

// ---------------------------------------------------------------- shared

/// SOFT when RLS is enabled and forced on the table: the policy is the
/// safety net, the filter defence in depth.
fn protected(ctx: &Ctx, table: &str) -> bool {
    ctx.index
        .table(table)
        .is_some_and(|t| t.rls_enabled && t.rls_forced)
}

fn diagnostic(
    ctx: &Ctx,
    range: Range<usize>,
    tables: &[String],
    title: String,
    fix: String,
) -> Diagnostic {
    let d = Diagnostic::new(range, title, fix);
    if tables.iter().all(|t| protected(ctx, t)) {
        d.soft()
    } else {
        d
    }
}

fn rls_note(ctx: &Ctx, table: &str) -> &'static str {
    if protected(ctx, table) {
        " (RLS enabled and forced: defence in depth)"
    } else {
        "; the table has no forced RLS"
    }
}

/// A name that holds a tenant: a tenant column, or a name with a tenant
/// word among its pieces (`org`, `tenant`, `workspace`, …).
fn tenant_like(ctx: &Ctx, name: &str) -> bool {
    let leaf = name.rsplit('.').next().unwrap_or(name);
    ctx.config.tenant.columns.iter().any(|c| c == leaf)
        || names::split_pieces(leaf).iter().any(|p| {
            matches!(
                p.as_str(),
                "tenant" | "org" | "organization" | "organisation" | "workspace"
            )
        })
}

/// The variable to suggest for `column` among the names in scope: the
/// column's own name first, then any tenant-like name.
fn pick_var(ctx: &Ctx, names_in_scope: &[String], column: &str) -> Option<String> {
    names_in_scope
        .iter()
        .find(|n| n.rsplit('.').next() == Some(column))
        .or_else(|| names_in_scope.iter().find(|n| tenant_like(ctx, n)))
        .cloned()
}

// ---------------------------------------------------------------- SQL

/// A tenant table a statement reads or writes without constraining it.
#[derive(Debug)]
struct Unscoped {
    table: String,
    /// How the statement names it (alias or table).
    name: String,
    columns: Vec<String>,
}

/// Words that end a relation list and cannot be an alias.
fn not_alias(t: &Token) -> bool {
    sql_tokens::is_clause(t)
        || [
            "intersect",
            "except",
            "fetch",
            "lateral",
            "tablesample",
            "values",
            "as",
        ]
        .iter()
        .any(|k| t.is(k))
}

/// The unconstrained tenant tables of one SELECT / UPDATE / DELETE
/// statement (token-based: works on SQL sqlparser rejects and on
/// templates with `{}` holes). INSERTs and DDL are never queries here.
fn unscoped_tables(sql: &str, ctx: &Ctx) -> Vec<Unscoped> {
    let toks = sql_tokens::tokenize(sql);
    let Some(first) = toks.iter().find(|t| !t.is_punct('(')) else {
        return Vec::new();
    };
    if !["select", "update", "delete", "with"]
        .iter()
        .any(|k| first.is(k))
    {
        return Vec::new();
    }
    if toks
        .iter()
        .any(|t| t.is("insert") || t.is("merge") || t.is("copy") || t.is("create"))
    {
        return Vec::new();
    }
    #[derive(Clone, Copy, PartialEq)]
    enum St {
        Other,
        Rel,
        Pred,
    }
    let tenant_cols = &ctx.config.tenant.columns;
    let mut rels: Vec<(String, String)> = Vec::new();
    let mut direct: Vec<(Option<String>, String)> = Vec::new();
    let mut ties: Vec<(String, String)> = Vec::new();
    let mut using_tie = false;
    let mut ctes: BTreeSet<String> = BTreeSet::new();
    let mut stack: Vec<St> = Vec::new();
    let mut st = St::Other;
    let mut expect_rel = false;
    let is_word =
        |t: Option<&Token>| t.is_some_and(|t| matches!(t.tok, Tok::Word(_) | Tok::Ident(_)));
    let colref = |i: usize| -> Option<(Option<String>, String, usize)> {
        let t = toks.get(i)?;
        let name = t.ident()?;
        if toks.get(i + 1).is_some_and(|n| n.is_punct('.')) && is_word(toks.get(i + 2)) {
            return Some((Some(name), toks.get(i + 2)?.ident()?, i + 3));
        }
        Some((None, name, i + 1))
    };
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let prev = i.checked_sub(1).and_then(|p| toks.get(p));
        if t.is_punct('(') {
            stack.push(st);
            expect_rel = false;
            i += 1;
            continue;
        }
        if t.is_punct(')') {
            st = stack.pop().unwrap_or(St::Other);
            i += 1;
            continue;
        }
        if let Tok::Word(w) = &t.tok {
            let lw = w.to_ascii_lowercase();
            let after_for = prev.is_some_and(|p| p.is("for") || p.is("key") || p.is("do"));
            match lw.as_str() {
                "from" | "join" => {
                    st = St::Rel;
                    expect_rel = true;
                    i += 1;
                    continue;
                }
                "update" if !after_for => {
                    st = St::Rel;
                    expect_rel = true;
                    i += 1;
                    continue;
                }
                "using" => {
                    if toks.get(i + 1).is_some_and(|n| n.is_punct('(')) {
                        let close = sql_tokens::matching_paren(&toks, i + 1).unwrap_or(toks.len());
                        if toks[i + 1..close.min(toks.len())]
                            .iter()
                            .any(|x| x.ident().is_some_and(|c| tenant_cols.contains(&c)))
                        {
                            using_tie = true;
                        }
                        st = St::Other;
                        i = close + 1;
                    } else {
                        st = St::Rel;
                        expect_rel = true;
                        i += 1;
                    }
                    continue;
                }
                "where" | "on" | "having" => {
                    st = St::Pred;
                    i += 1;
                    continue;
                }
                "select" | "set" | "returning" | "order" | "group" | "limit" | "offset"
                | "values" | "union" | "intersect" | "except" | "window" => {
                    st = St::Other;
                    expect_rel = false;
                    i += 1;
                    continue;
                }
                "as" => {
                    let next_paren = toks.get(i + 1).is_some_and(|n| n.is_punct('('))
                        || (toks
                            .get(i + 1)
                            .is_some_and(|n| n.is("materialized") || n.is("not"))
                            && toks.iter().skip(i + 1).take(3).any(|n| n.is_punct('(')));
                    if next_paren && is_word(prev) {
                        if let Some(name) = prev.and_then(|p| p.ident()) {
                            ctes.insert(name);
                        }
                    }
                }
                _ => {}
            }
        }
        match st {
            St::Rel => {
                if t.is_punct(',') {
                    expect_rel = true;
                } else if expect_rel && !(t.is("only") || t.is("lateral")) {
                    if let Some((name, next)) = sql_tokens::qualified_name(&toks, i) {
                        let mut j = next;
                        if toks.get(j).is_some_and(|x| x.is("as")) {
                            j += 1;
                        }
                        let alias = toks
                            .get(j)
                            .filter(|x| !not_alias(x))
                            .and_then(|x| x.ident());
                        let end = if alias.is_some() { j + 1 } else { next };
                        rels.push((name.clone(), alias.unwrap_or(name)));
                        expect_rel = false;
                        i = end;
                        continue;
                    }
                    expect_rel = false;
                }
            }
            St::Pred => {
                let bound_param = prev.is_some_and(|p| p.is_punct(':') || p.is_punct('@'))
                    || (prev.is_some_and(|p| p.is_punct('('))
                        && i >= 2
                        && toks.get(i - 2).is_some_and(|p| p.is_punct('%')));
                if !bound_param && !prev.is_some_and(|p| p.is_punct('.')) {
                    if let Some((qual, col, next)) = colref(i) {
                        if tenant_cols.contains(&col) {
                            // `a.org_id = b.org_id` ties a to b; anything
                            // else (a value, a parameter, ANY, IN, a
                            // subquery, current_setting) constrains.
                            let other_after = toks.get(next).is_some_and(|x| x.is_punct('='))
                                && colref(next + 1).is_some_and(|(q, _, _)| q.is_some())
                                && toks.get(next + 2).is_some_and(|x| x.is_punct('.'));
                            let other_before = i >= 4
                                && toks.get(i - 1).is_some_and(|x| x.is_punct('='))
                                && toks.get(i - 3).is_some_and(|x| x.is_punct('.'))
                                && is_word(toks.get(i - 4));
                            match (&qual, other_after, other_before) {
                                (Some(q), true, _) => {
                                    if let Some(o) = toks.get(next + 1).and_then(|x| x.ident()) {
                                        ties.push((q.clone(), o));
                                    }
                                }
                                (Some(q), _, true) => {
                                    if let Some(o) = toks.get(i - 4).and_then(|x| x.ident()) {
                                        ties.push((q.clone(), o));
                                    }
                                }
                                _ => direct.push((qual.clone(), col)),
                            }
                        } else if let Some(q) = &qual {
                            // `s.name = m.session_name`: a join key.
                            if toks.get(next).is_some_and(|x| x.is_punct('='))
                                && toks.get(next + 2).is_some_and(|x| x.is_punct('.'))
                            {
                                if let Some(o) = toks.get(next + 1).and_then(|x| x.ident()) {
                                    ties.push((q.clone(), o));
                                }
                            }
                        }
                        i = next;
                        continue;
                    }
                }
            }
            St::Other => {}
        }
        i += 1;
    }
    // Resolve: which relations are constrained, directly or through ties.
    let rels: Vec<(String, String, Vec<String>)> = rels
        .into_iter()
        .filter(|(t, _)| !ctes.contains(t))
        .map(|(t, a)| {
            let cols = ctx.index.tenant_columns(&t, ctx.config);
            (t, a, cols)
        })
        .collect();
    let mut ok: Vec<bool> = rels
        .iter()
        .map(|(t, a, cols)| {
            cols.is_empty()
                || direct
                    .iter()
                    .any(|(q, c)| cols.contains(c) && q.as_ref().is_none_or(|q| q == a || q == t))
        })
        .collect();
    let names_of = |k: usize| (rels[k].0.clone(), rels[k].1.clone());
    loop {
        let mut changed = false;
        for k in 0..rels.len() {
            if ok[k] || rels[k].2.is_empty() {
                continue;
            }
            let (t, a) = names_of(k);
            let tied = ties.iter().any(|(x, y)| {
                let other = if *x == a || *x == t {
                    Some(y)
                } else if *y == a || *y == t {
                    Some(x)
                } else {
                    None
                };
                other.is_some_and(|o| {
                    rels.iter().enumerate().any(|(m, (t2, a2, c2))| {
                        m != k && !c2.is_empty() && ok[m] && (o == a2 || o == t2)
                    })
                })
            }) || (using_tie
                && rels
                    .iter()
                    .enumerate()
                    .any(|(m, (_, _, c2))| m != k && !c2.is_empty() && ok[m]));
            if tied {
                ok[k] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut out: Vec<Unscoped> = Vec::new();
    for (k, (t, a, cols)) in rels.into_iter().enumerate() {
        if !ok[k] && !out.iter().any(|u| u.table == t) {
            out.push(Unscoped {
                table: t,
                name: a,
                columns: cols,
            });
        }
    }
    out
}

/// The placeholder the statement's own style suggests for a new bound value.
fn placeholder(sql: &str, var: &str, lang: Language) -> String {
    let toks = sql_tokens::tokenize(sql);
    let dollar = sql.matches('$').count();
    if dollar > 0 && sql.contains("$1") {
        return format!("${}", dollar + 1);
    }
    if sql.contains("%(") {
        return format!("%({var})s");
    }
    if sql.contains("%s") {
        return "%s".into();
    }
    let colon_param = toks.windows(2).enumerate().any(|(k, w)| {
        w[0].is_punct(':')
            && matches!(w[1].tok, Tok::Word(_))
            && w[0].range.end == w[1].range.start
            && (k == 0 || !toks[k - 1].is_punct(':'))
    });
    if colon_param {
        return format!(":{var}");
    }
    if sql.contains('?') {
        return "?".into();
    }
    match lang {
        Language::Python => format!(":{var}"),
        _ => "$1".into(),
    }
}

/// Report the unconstrained tables of one statement.
fn report_sql(
    ctx: &Ctx,
    lang: Language,
    sql: &str,
    range: Range<usize>,
    scope_names: &[String],
    found: &mut Vec<Diagnostic>,
) {
    let bad = unscoped_tables(sql, ctx);
    let Some(first) = bad.first() else { return };
    let col = first
        .columns
        .iter()
        .find(|c| {
            scope_names
                .iter()
                .any(|n| n.rsplit('.').next() == Some(c.as_str()))
        })
        .or(first.columns.first())
        .cloned()
        .unwrap_or_default();
    let var = pick_var(ctx, scope_names, &col);
    let ph = placeholder(sql, var.as_deref().unwrap_or(&col), lang);
    let tables: Vec<String> = bad.iter().map(|u| u.table.clone()).collect();
    let listed = tables
        .iter()
        .map(|t| format!("`{t}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let title = format!(
        "Query on tenant table {listed} does not constrain `{}.{col}`{}",
        first.table,
        rls_note(ctx, &first.table)
    );
    let bound = var
        .as_ref()
        .map(|v| format!(", bound to `{v}`"))
        .unwrap_or_default();
    let fix = format!(
        "add `{}.{col} = {ph}` to the WHERE clause{bound} (or mark a deliberate cross-tenant query with `{} cross-org-by-design: <reason>`)",
        first.name,
        lang.comment_marker()
    );
    found.push(diagnostic(ctx, range, &tables, title, fix));
}

/// Every SQL statement of a `.sql` query file or embedded in Python.
fn sql_sites(ctx: &Ctx, file: &ParsedFile, found: &mut Vec<Diagnostic>) {
    let text = file.text();
    let tree = match &file.syntax {
        Syntax::Python(t) => Some(t),
        _ => None,
    };
    for site in file.sql_sites() {
        if site.reverting {
            continue;
        }
        let host = site.host();
        let (stmt, header, scope) = match tree {
            Some(t) => {
                let Some(node) = t
                    .root_node()
                    .descendant_for_byte_range(host.start, host.start)
                else {
                    continue;
                };
                if python::in_test_function(node, text) {
                    continue;
                }
                (
                    keys::py_statement(node).byte_range(),
                    keys::py_function_header(node),
                    py::scope_names(node, text),
                )
            }
            None => (host.clone(), None, Vec::new()),
        };
        if keys::cross_org_marked(text, stmt.clone(), header.clone())
            || keys::cross_org_marked(text, host.clone(), None)
        {
            continue;
        }
        report_sql(ctx, file.lang, site.sql(), host, &scope, found);
    }
}

/// SQL embedded in Rust strings, judged with the enclosing function.
fn sql_sites_rust(ctx: &Ctx, file: &ParsedFile, fns: &[rs::RsFn], found: &mut Vec<Diagnostic>) {
    for site in file.sql_sites() {
        if site.reverting {
            continue;
        }
        let host = site.host();
        let f = rs::enclosing(fns, host.start);
        if f.is_some_and(|f| f.test) || rs::marked(file.text(), f, host.clone()) {
            continue;
        }
        let scope = f.map(|f| f.params.clone()).unwrap_or_default();
        report_sql(ctx, Language::Rust, site.sql(), host, &scope, found);
    }
}

// ---------------------------------------------------------------- Python

mod py {
    use super::*;

    /// Parameters of the enclosing function, then the `self.<tenant>`
    /// attributes and tenant-named locals it reads.
    pub fn scope_names(at: Node, src: &str) -> Vec<String> {
        let Some(f) = python::enclosing_function(at) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(params) = f.child_by_field_name("parameters") {
            let mut c = params.walk();
            for p in params.named_children(&mut c) {
                let ident = match p.kind() {
                    "identifier" => Some(p),
                    _ => p
                        .child_by_field_name("name")
                        .or_else(|| p.named_child(0))
                        .filter(|n| n.kind() == "identifier"),
                };
                if let Some(i) = ident {
                    let name = python::text(i, src);
                    if name != "self" && name != "cls" {
                        out.push(name.to_string());
                    }
                }
            }
        }
        python::walk(f, &mut |n| {
            let t = python::text(n, src);
            let self_attr =
                n.kind() == "attribute" && t.starts_with("self.") && !t[5..].contains('.');
            let local = n.kind() == "assignment"
                && n.child_by_field_name("left")
                    .is_some_and(|l| l.kind() == "identifier");
            if self_attr && !out.iter().any(|o| o == t) {
                out.push(t.to_string());
            } else if local {
                if let Some(l) = n.child_by_field_name("left") {
                    let name = python::text(l, src).to_string();
                    if !out.contains(&name) {
                        out.push(name);
                    }
                }
            }
        });
        out
    }

    /// The query forms of SQLAlchemy.
    #[derive(Clone, Copy, PartialEq)]
    enum Form {
        Select,
        Update,
        Delete,
        Query,
        Get,
    }

    struct Py<'a, 't> {
        ctx: &'a Ctx<'a>,
        src: &'a str,
        /// Functions defined in the file, by name.
        defs: BTreeMap<&'a str, Vec<Node<'t>>>,
        /// Assignments of the file, indexed on first use.
        assignments: std::cell::OnceCell<python::Assignments<'t>>,
        root: Node<'t>,
    }

    pub fn check(ctx: &Ctx, root: Node, src: &str, found: &mut Vec<Diagnostic>) {
        let models = &ctx.index.models;
        let tenant_models: Vec<&String> = models
            .iter()
            .filter(|(_, t)| ctx.index.is_tenant_table(t, ctx.config))
            .map(|(c, _)| c)
            .collect();
        // A model query names the model class.
        if !tenant_models.iter().any(|m| src.contains(m.as_str())) {
            return;
        }
        let mut defs: BTreeMap<&str, Vec<Node>> = BTreeMap::new();
        for (name, n) in python::function_definitions(root, src) {
            defs.entry(name).or_default().push(n);
        }
        let p = Py {
            ctx,
            src,
            defs,
            assignments: std::cell::OnceCell::new(),
            root,
        };
        python::walk(root, &mut |n| {
            if let Some((form, entities)) = p.root(n) {
                p.judge(n, form, entities, found);
            }
        });
    }

    const SA_MODULES: &[&str] = &[
        "sa",
        "sqlalchemy",
        "sql",
        "sqlmodel",
        "future",
        "expression",
    ];

    impl<'a, 't> Py<'a, 't> {
        fn text(&self, n: Node) -> &'a str {
            python::text(n, self.src)
        }

        fn assignment_before(&self, at: Node<'t>, name: &str) -> Option<Node<'t>> {
            self.assignments
                .get_or_init(|| python::Assignments::new(self.root, self.src))
                .before(at, name, self.src)
        }

        /// The model a name refers to: a mapped class, `models.Note`, or
        /// a local `aliased(Note)`.
        fn model_of(&self, n: Node<'t>) -> Option<String> {
            let n = python::unparen(n);
            let name = match n.kind() {
                "identifier" => self.text(n),
                "attribute" => self.text(n.child_by_field_name("attribute")?),
                _ => return None,
            };
            if self.ctx.index.models.contains_key(name) {
                return Some(name.to_string());
            }
            if n.kind() != "identifier" || !self.src.contains("aliased(") {
                return None;
            }
            let rhs = self.assignment_before(n, name)?;
            if rhs.kind() != "call" {
                return None;
            }
            let f = python::call_name(rhs, self.src)?;
            if f.rsplit('.').next() != Some("aliased") {
                return None;
            }
            let first = *python::positional_args(rhs).first()?;
            let m = self.text(first);
            self.ctx.index.models.contains_key(m).then(|| m.to_string())
        }

        /// Models named anywhere under `n` (`Message`, `Message.id`,
        /// `func.count(Message.id)`).
        fn models_in(&self, n: Node<'t>) -> Vec<String> {
            let mut out = Vec::new();
            python::walk(n, &mut |x| {
                let is_attr_field = x.parent().is_some_and(|p| {
                    p.kind() == "attribute" && p.child_by_field_name("attribute") == Some(x)
                });
                if x.kind() == "identifier" && !is_attr_field {
                    if let Some(m) = self.model_of(x) {
                        if !out.contains(&m) {
                            out.push(m);
                        }
                    }
                }
            });
            out
        }

        fn table_of(&self, model: &str) -> Option<&'a String> {
            self.ctx.index.models.get(model)
        }

        fn tenant_cols(&self, model: &str) -> Vec<String> {
            self.table_of(model)
                .map(|t| self.ctx.index.tenant_columns(t, self.ctx.config))
                .unwrap_or_default()
        }

        /// Is `n` the start of a query: `select(M)`, `update(M)`,
        /// `delete(M)`, `session.query(M)`, `session.get(M, id)`,
        /// `M.query`? Returns the form and the entities.
        fn root(&self, n: Node<'t>) -> Option<(Form, Vec<String>)> {
            if n.kind() == "attribute" {
                let obj = n.child_by_field_name("object")?;
                let attr = n.child_by_field_name("attribute")?;
                if self.text(attr) == "query" && n.parent().is_some_and(|p| p.kind() == "attribute")
                {
                    let m = self.model_of(obj)?;
                    return Some((Form::Query, vec![m]));
                }
                return None;
            }
            if n.kind() != "call" {
                return None;
            }
            // The called name's last part decides; most calls stop here.
            let callee = n.child_by_field_name("function")?;
            let tail = match callee.kind() {
                "attribute" => callee.child_by_field_name("attribute")?,
                "identifier" => callee,
                _ => return None,
            };
            if !matches!(
                self.text(tail),
                "select" | "update" | "delete" | "query" | "get"
            ) {
                return None;
            }
            let name = python::call_name(n, self.src)?;
            let (module, last) = match name.rsplit_once('.') {
                Some((m, l)) => (Some(m), l),
                None => (None, name.as_str()),
            };
            let sa = module.is_none_or(|m| SA_MODULES.contains(&m));
            let args = python::positional_args(n);
            match last {
                "select" if sa => {
                    let mut ents = Vec::new();
                    for a in &args {
                        for m in self.models_in(*a) {
                            if !ents.contains(&m) {
                                ents.push(m);
                            }
                        }
                    }
                    (!ents.is_empty() || self.chain_has_select_from(n))
                        .then_some((Form::Select, ents))
                }
                "update" | "delete" if sa => {
                    let m = self.model_of(*args.first()?)?;
                    Some((
                        if last == "update" {
                            Form::Update
                        } else {
                            Form::Delete
                        },
                        vec![m],
                    ))
                }
                "query" if module.is_some() => {
                    let mut ents = Vec::new();
                    for a in &args {
                        for m in self.models_in(*a) {
                            if !ents.contains(&m) {
                                ents.push(m);
                            }
                        }
                    }
                    (!ents.is_empty()).then_some((Form::Query, ents))
                }
                "get" if module.is_some() && args.len() >= 2 => {
                    let m = self.model_of(args[0])?;
                    Some((Form::Get, vec![m]))
                }
                _ => None,
            }
        }

        fn chain_has_select_from(&self, n: Node) -> bool {
            chain_up(n, self.src)
                .1
                .iter()
                .any(|(m, _)| m == "select_from")
        }

        /// A function that scopes a query to the tenant: listed in
        /// `[tenant] scope-helpers`, or defined in this file with a
        /// filter in its body and a tenant parameter or column.
        fn is_helper(&self, call: Node) -> bool {
            let Some(name) = python::call_name(call, self.src) else {
                return false;
            };
            let last = name.rsplit('.').next().unwrap_or(&name);
            if self
                .ctx
                .config
                .tenant
                .scope_helpers
                .iter()
                .any(|h| h == &name || h == last)
            {
                return true;
            }
            let Some(defs) = self.defs.get(last) else {
                return false;
            };
            defs.iter().any(|d| {
                let body = d
                    .child_by_field_name("body")
                    .map(|b| self.text(b))
                    .unwrap_or("");
                let filters = body.contains(".where(")
                    || body.contains(".filter(")
                    || body.contains(".filter_by(");
                let mut tenant_param = false;
                if let Some(params) = d.child_by_field_name("parameters") {
                    let mut c = params.walk();
                    tenant_param = params.named_children(&mut c).any(|p| {
                        tenant_like(
                            self.ctx,
                            self.text(p).split([':', '=']).next().unwrap_or("").trim(),
                        )
                    });
                }
                let tenant_col = self
                    .ctx
                    .config
                    .tenant
                    .columns
                    .iter()
                    .any(|c| body.contains(&format!(".{c}")));
                filters && (tenant_param || tenant_col)
            })
        }

        /// Evidence from one chain method call.
        fn evidence(&self, method: &str, call: Node<'t>, ev: &mut Evidence, entities: &[String]) {
            let Some(args) = call.child_by_field_name("arguments") else {
                return;
            };
            match method {
                "where" | "filter" | "having" | "and_where" => self.predicates(args, ev),
                "filter_by" => {
                    let mut c = args.walk();
                    for kw in args.named_children(&mut c) {
                        if kw.kind() == "keyword_argument" {
                            if let Some(k) = kw.child_by_field_name("name") {
                                ev.direct_cols.insert(self.text(k).to_string());
                            }
                        }
                    }
                }
                "join" | "outerjoin" | "join_from" => {
                    let mut ms = self.models_in(args);
                    let pos = python::positional_args(call);
                    // `join(Note.folder)`: a relationship ties Note to the
                    // other side, whichever it is.
                    if let [only] = pos.as_slice() {
                        if only.kind() == "attribute" {
                            if let Some(m) = only
                                .child_by_field_name("object")
                                .and_then(|o| self.model_of(o))
                            {
                                ev.ties.push((m, "*".into()));
                            }
                        } else {
                            ms.extend(entities.iter().cloned());
                        }
                    }
                    self.predicates(args, ev);
                    for a in &ms {
                        for b in &ms {
                            if a != b {
                                ev.ties.push((a.clone(), b.clone()));
                            }
                        }
                    }
                }
                _ => {}
            }
        }

        /// Tenant-column predicates under a filter's arguments.
        fn predicates(&self, args: Node<'t>, ev: &mut Evidence) {
            python::walk(args, &mut |x| match x.kind() {
                "attribute" => {
                    let (Some(obj), Some(attr)) = (
                        x.child_by_field_name("object"),
                        x.child_by_field_name("attribute"),
                    ) else {
                        return;
                    };
                    let Some(m) = self.model_of(obj) else { return };
                    let col = self.text(attr);
                    if !self.tenant_cols(&m).iter().any(|c| c == col) {
                        return;
                    }
                    // Inside a subquery (`Tag.note_id.in_(select(Note.id)
                    // .where(Note.org_id == org_id))`): the keys it yields
                    // are the tenant's.
                    if in_subquery(x, args, self.src) {
                        ev.all = true;
                        return;
                    }
                    // `A.org_id == B.org_id` ties A to B.
                    let other = x
                        .parent()
                        .filter(|p| p.kind() == "comparison_operator")
                        .and_then(|p| {
                            let mut c = p.walk();
                            let other = p
                                .named_children(&mut c)
                                .find(|o| *o != x && o.kind() == "attribute");
                            other
                        })
                        .and_then(|o| o.child_by_field_name("object"))
                        .and_then(|o| self.model_of(o));
                    match other {
                        Some(o) => ev.ties.push((m, o)),
                        None => {
                            ev.direct.insert(m);
                        }
                    }
                }
                "call" if self.is_helper(x) => ev.all = true,
                // A subquery held in a local: `owned = select(Note.id).where(Note.org_id == o)`.
                "identifier" => {
                    let name = self.text(x);
                    if let Some(rhs) = self.assignment_before(x, name) {
                        let t = self.text(rhs);
                        if t.contains("select(")
                            && self
                                .ctx
                                .config
                                .tenant
                                .columns
                                .iter()
                                .any(|c| t.contains(&format!(".{c}")))
                        {
                            ev.all = true;
                        }
                    }
                }
                "string" => {
                    let t = self.text(x);
                    if self
                        .ctx
                        .config
                        .tenant
                        .columns
                        .iter()
                        .any(|c| t.contains(c.as_str()))
                    {
                        ev.all = true;
                    }
                }
                _ => {}
            });
        }

        fn judge(
            &self,
            root: Node<'t>,
            form: Form,
            entities: Vec<String>,
            found: &mut Vec<Diagnostic>,
        ) {
            let src = self.src;
            let ents: Vec<String> = entities
                .into_iter()
                .filter(|m| !self.tenant_cols(m).is_empty())
                .collect();
            let (top, calls) = chain_up(root, src);
            let mut entities = ents.clone();
            for (m, c) in &calls {
                if m == "select_from" {
                    if let Some(args) = c.child_by_field_name("arguments") {
                        for x in self.models_in(args) {
                            if !self.tenant_cols(&x).is_empty() && !entities.contains(&x) {
                                entities.push(x);
                            }
                        }
                    }
                }
            }
            if entities.is_empty() || python::in_test_function(root, src) {
                return;
            }
            let mut ev = Evidence::default();
            for (m, c) in &calls {
                self.evidence(m, *c, &mut ev, &entities);
            }
            // Passed to a helper: `_for_org(select(Note), org_id)`.
            let mut outer = top;
            if let Some(call) = outer
                .parent()
                .filter(|p| p.kind() == "argument_list")
                .and_then(|p| p.parent())
                .filter(|c| c.kind() == "call")
            {
                if self.is_helper(call) {
                    ev.all = true;
                }
                outer = call;
            }
            // Built over several statements: `stmt = select(M)` followed by
            // `stmt = stmt.where(...)`, `stmt = scoped(stmt, org_id)`.
            let func = python::enclosing_function(root);
            if let Some((var, after)) = assigned_var(top, src) {
                self.follow(var, after, func, root, &mut ev, &entities);
            }
            // Ownership check on the object read: `if obj.org_id != org_id`.
            if let Some((var, after)) = bound_var(outer, src) {
                if self.ownership_checked(var, after, func, &entities) {
                    ev.all = true;
                }
            }
            // A statement built and returned, not run: the caller filters
            // it (repository base queries) unless this function had the
            // tenant at hand.
            let runs = calls.last().is_some_and(|(m, _)| {
                matches!(
                    m.as_str(),
                    "all"
                        | "first"
                        | "one"
                        | "one_or_none"
                        | "scalar"
                        | "scalars"
                        | "count"
                        | "get"
                        | "delete"
                        | "update"
                        | "exists"
                        | "paginate"
                        | "first_or_404"
                        | "get_or_404"
                        | "execute"
                )
            });
            if ev.all || (form != Form::Get && !runs && self.returned_unrun(top, func)) {
                return;
            }
            let bad: Vec<&String> = entities
                .iter()
                .filter(|m| !ev.constrains(m, &self.tenant_cols(m), &|x: &str| self.tenant_cols(x)))
                .collect();
            let Some(first) = bad.first() else { return };
            let stmt = keys::py_statement(root).byte_range();
            if keys::cross_org_marked(src, stmt, keys::py_function_header(root)) {
                return;
            }
            self.report(root, form, first, &bad, found);
        }

        fn follow(
            &self,
            var: &'a str,
            after: usize,
            func: Option<Node<'t>>,
            root: Node<'t>,
            ev: &mut Evidence,
            entities: &[String],
        ) {
            let scope = func.or_else(|| {
                let mut n = root;
                while let Some(p) = n.parent() {
                    n = p;
                }
                Some(n)
            });
            let Some(scope) = scope else { return };
            let src = self.src;
            let mut stack = vec![scope];
            while let Some(n) = stack.pop() {
                if n != scope && matches!(n.kind(), "function_definition" | "class_definition") {
                    continue;
                }
                if n.end_byte() <= after {
                    continue;
                }
                if n.kind() == "identifier"
                    && n.start_byte() >= after
                    && python::text(n, src) == var
                {
                    let p = n.parent();
                    if p.is_some_and(|p| {
                        p.kind() == "attribute" && p.child_by_field_name("object") == Some(n)
                    }) {
                        for (m, c) in chain_up(n, src).1 {
                            self.evidence(&m, c, ev, entities);
                        }
                    } else if let Some(call) = p
                        .filter(|p| p.kind() == "argument_list")
                        .and_then(|p| p.parent())
                        .filter(|c| c.kind() == "call")
                    {
                        if self.is_helper(call) {
                            ev.all = true;
                        }
                    }
                }
                let mut c = n.walk();
                stack.extend(n.named_children(&mut c));
            }
        }

        fn returned_unrun(&self, top: Node, func: Option<Node>) -> bool {
            let Some(f) = func else { return false };
            let returned = match top.parent() {
                Some(p) if p.kind() == "return_statement" => true,
                Some(p) if p.kind() == "assignment" => {
                    assigned_var(top, self.src).is_some_and(|(v, after)| {
                        let body = f
                            .child_by_field_name("body")
                            .map(|b| self.text(b))
                            .unwrap_or("");
                        let rest = body
                            .get(
                                after.saturating_sub(
                                    f.child_by_field_name("body").map_or(0, |b| b.start_byte()),
                                )..,
                            )
                            .unwrap_or("");
                        rest.contains(&format!("return {v}\n"))
                            || rest.trim_end().ends_with(&format!("return {v}"))
                    })
                }
                _ => false,
            };
            returned
                && !scope_names(top, self.src)
                    .iter()
                    .any(|n| !n.starts_with("self.") && tenant_like(self.ctx, n))
        }

        fn ownership_checked(
            &self,
            var: &str,
            after: usize,
            func: Option<Node>,
            entities: &[String],
        ) -> bool {
            let Some(f) = func else { return false };
            let cols: Vec<String> = entities.iter().flat_map(|m| self.tenant_cols(m)).collect();
            let mut hit = false;
            python::walk(f, &mut |n| {
                if hit || n.start_byte() < after || n.kind() != "attribute" {
                    return;
                }
                let (Some(o), Some(a)) = (
                    n.child_by_field_name("object"),
                    n.child_by_field_name("attribute"),
                ) else {
                    return;
                };
                if self.text(o) != var || !cols.iter().any(|c| c == self.text(a)) {
                    return;
                }
                let mut cur = n.parent();
                for _ in 0..3 {
                    match cur {
                        Some(p) if p.kind() == "comparison_operator" => {
                            hit = true;
                            return;
                        }
                        Some(p) => cur = p.parent(),
                        None => return,
                    }
                }
            });
            hit
        }

        fn report(
            &self,
            root: Node<'t>,
            form: Form,
            model: &str,
            bad: &[&String],
            found: &mut Vec<Diagnostic>,
        ) {
            let src = self.src;
            let cols = self.tenant_cols(model);
            let scope = scope_names(root, src);
            let col = cols
                .iter()
                .find(|c| {
                    scope
                        .iter()
                        .any(|n| n.rsplit('.').next() == Some(c.as_str()))
                })
                .or(cols.first())
                .cloned()
                .unwrap_or_default();
            // For the suggestion, the caller's tenant read off an object
            // (`user.org_id`) counts as well.
            let mut known = scope.clone();
            if let Some(f) = python::enclosing_function(root) {
                python::walk(f, &mut |n| {
                    let (Some(o), Some(a)) = (
                        n.child_by_field_name("object"),
                        n.child_by_field_name("attribute"),
                    ) else {
                        return;
                    };
                    let t = python::text(n, src);
                    let base = python::text(o, src);
                    if n.kind() == "attribute"
                        && matches!(o.kind(), "identifier" | "attribute")
                        && !matches!(base.split('.').next(), Some("self" | "cls"))
                        && self.model_of(o).is_none()
                        && cols.iter().any(|c| c == python::text(a, src))
                        && !known.iter().any(|k| k == t)
                    {
                        known.push(t.to_string());
                    }
                });
            }
            let var = pick_var(self.ctx, &known, &col)
                .or_else(|| {
                    let f = python::enclosing_function(root)?;
                    Some(format!("{}.{col}", python::caller_param(f, src)?))
                })
                .unwrap_or_else(|| col.clone());
            let table = self.table_of(model).cloned().unwrap_or_default();
            let tables: Vec<String> = bad
                .iter()
                .filter_map(|m| self.table_of(m).cloned())
                .collect();
            let what = match form {
                Form::Get => format!(
                    "`{}` reads `{model}` by primary key",
                    python::text(root, src).split('(').next().unwrap_or("get")
                ),
                _ => format!("Query on `{model}`"),
            };
            let title = format!(
                "{what} without constraining its tenant column `{table}.{col}`{}",
                rls_note(self.ctx, &table)
            );
            let pred = format!("{model}.{col} == {var}");
            let obj = bound_var(root, src).map_or("obj", |(v, _)| v);
            let fix = match form {
                Form::Get => format!(
                    "check ownership after the read (`if {obj} is None or {obj}.{col} != {var}: raise ...`) or query `select({model}).where({model}.id == ..., {pred})`"
                ),
                Form::Query => format!("add `.filter({pred})`"),
                _ => format!("add `.where({pred})`"),
            };
            let fix = format!("{fix} (or mark a deliberate cross-tenant query with `# cross-org-by-design: <reason>`)");
            found.push(diagnostic(self.ctx, root.byte_range(), &tables, title, fix));
        }
    }

    #[derive(Default)]
    struct Evidence {
        direct: BTreeSet<String>,
        direct_cols: BTreeSet<String>,
        ties: Vec<(String, String)>,
        all: bool,
    }

    impl Evidence {
        fn constrains(
            &self,
            model: &str,
            cols: &[String],
            cols_of: &dyn Fn(&str) -> Vec<String>,
        ) -> bool {
            let direct = |m: &str| {
                self.direct.contains(m) || cols_of(m).iter().any(|c| self.direct_cols.contains(c))
            };
            if direct(model) || cols.iter().any(|c| self.direct_cols.contains(c)) {
                return true;
            }
            let mut done: BTreeSet<String> = BTreeSet::new();
            let mut todo = vec![model.to_string()];
            while let Some(m) = todo.pop() {
                if !done.insert(m.clone()) {
                    continue;
                }
                for (a, b) in &self.ties {
                    let other = if *a == m {
                        b
                    } else if *b == m {
                        a
                    } else {
                        continue;
                    };
                    if other == "*" {
                        if !self.direct.is_empty() || !self.direct_cols.is_empty() {
                            return true;
                        }
                        continue;
                    }
                    if direct(other) {
                        return true;
                    }
                    todo.push(other.clone());
                }
            }
            false
        }
    }

    /// Climb method calls on `n`: `n.where(..).order_by(..)`; the outermost
    /// expression and each (method, call).
    pub fn chain_up<'t>(n: Node<'t>, src: &str) -> (Node<'t>, Vec<(String, Node<'t>)>) {
        let mut cur = n;
        let mut calls = Vec::new();
        while let Some(p) = cur.parent() {
            if p.kind() == "parenthesized_expression" {
                cur = p;
                continue;
            }
            if p.kind() == "attribute" && p.child_by_field_name("object") == Some(cur) {
                let name = p
                    .child_by_field_name("attribute")
                    .map(|a| python::text(a, src).to_string())
                    .unwrap_or_default();
                match p.parent() {
                    Some(g)
                        if g.kind() == "call" && g.child_by_field_name("function") == Some(p) =>
                    {
                        calls.push((name, g));
                        cur = g;
                        continue;
                    }
                    // `M.query.filter(...)`: the attribute step itself.
                    _ if p.parent().is_some_and(|g| g.kind() == "attribute") => {
                        cur = p;
                        continue;
                    }
                    _ => {}
                }
            }
            break;
        }
        (cur, calls)
    }

    /// Is `n` inside a `select(...)` nested in the filter arguments `args`?
    fn in_subquery(n: Node, args: Node, src: &str) -> bool {
        let mut cur = n.parent();
        while let Some(p) = cur {
            if p == args {
                return false;
            }
            if p.kind() == "call"
                && python::call_name(p, src).is_some_and(|c| {
                    c.rsplit('.').next() == Some("select")
                        || c.starts_with("select().")
                        || c.contains(".select().")
                })
            {
                return true;
            }
            cur = p.parent();
        }
        false
    }

    /// `v = <n>`: the variable and where the assignment ends.
    fn assigned_var<'s>(n: Node, src: &'s str) -> Option<(&'s str, usize)> {
        let p = n.parent()?;
        if p.kind() != "assignment" || p.child_by_field_name("right") != Some(n) {
            return None;
        }
        let l = p.child_by_field_name("left")?;
        (l.kind() == "identifier").then(|| (python::text(l, src), p.end_byte()))
    }

    /// The variable the statement holding `n` binds (`obj = await
    /// db.get(M, id)`, `msg = (await db.execute(...)).scalar_one()`).
    fn bound_var<'s>(n: Node, src: &'s str) -> Option<(&'s str, usize)> {
        let mut cur = n;
        while let Some(p) = cur.parent() {
            match p.kind() {
                "assignment" => {
                    let l = p.child_by_field_name("left")?;
                    return (l.kind() == "identifier")
                        .then(|| (python::text(l, src), p.end_byte()));
                }
                "block" | "module" | "function_definition" | "lambda" => return None,
                _ => cur = p,
            }
        }
        None
    }
}

// ---------------------------------------------------------------- Rust

mod rs {
    use super::*;
    use crate::lang::embedded::span_range;
    use syn::spanned::Spanned;
    use syn::visit::Visit;

    /// A Rust function: its byte range, header, parameter names, test-ness,
    /// the statements of its body and the tenant-column filters it applies.
    pub struct RsFn {
        pub range: Range<usize>,
        pub header: Range<usize>,
        /// Parameter names, then the tenant in scope when it is an
        /// expression (`user.org_id`, `claims.tenant_id`).
        pub params: Vec<String>,
        pub test: bool,
        stmts: Vec<Range<usize>>,
    }

    pub fn functions(ctx: &Ctx, file: &syn::File, pf: &ParsedFile) -> Vec<RsFn> {
        struct V<'a> {
            src: &'a crate::lang::SourceText,
            keys: keys::RsKeys<'a>,
            out: Vec<RsFn>,
        }
        impl<'a> V<'a> {
            fn add(
                &mut self,
                attrs: &[syn::Attribute],
                sig: &'a syn::Signature,
                block: &'a syn::Block,
                whole: proc_macro2::Span,
                test: bool,
            ) {
                let range = span_range(whole, self.src);
                let start = attrs
                    .first()
                    .map(|a| span_range(a.span(), self.src).start)
                    .unwrap_or(range.start)
                    .min(span_range(sig.span(), self.src).start);
                let body = span_range(block.brace_token.span.open(), self.src).start;
                let kf = keys::RsFn::new(sig, block, range.clone(), self.keys.file);
                let mut params: Vec<String> = kf.params.iter().map(|(p, _)| p.clone()).collect();
                if let Some(t) = self.keys.tenant_in_scope(Some(&kf)) {
                    if !params.contains(&t) {
                        params.push(t);
                    }
                }
                let mut stmts = Vec::new();
                struct S<'b> {
                    src: &'b crate::lang::SourceText,
                    out: &'b mut Vec<Range<usize>>,
                }
                impl<'ast> Visit<'ast> for S<'_> {
                    fn visit_stmt(&mut self, s: &'ast syn::Stmt) {
                        self.out.push(span_range(s.span(), self.src));
                        syn::visit::visit_stmt(self, s);
                    }
                }
                S {
                    src: self.src,
                    out: &mut stmts,
                }
                .visit_block(block);
                self.out.push(RsFn {
                    range: start.min(range.start)..range.end,
                    header: start..body.max(start),
                    params,
                    test,
                    stmts,
                });
            }
        }
        let rf = keys::RsFile::new(file, &pf.src);
        let markers = keys::Markers::new(&ctx.config.tenant.columns, &[]);
        let mut v = V {
            src: &pf.src,
            keys: keys::RsKeys {
                file: &rf,
                markers: &markers,
                helpers: &[],
            },
            out: Vec::new(),
        };
        for f in crate::lang::rust::functions(file) {
            v.add(f.attrs, f.sig, f.block, f.span, f.in_test);
        }
        v.out
    }

    /// The innermost function containing a byte offset.
    pub fn enclosing(fns: &[RsFn], at: usize) -> Option<&RsFn> {
        fns.iter()
            .filter(|f| f.range.contains(&at))
            .min_by_key(|f| f.range.len())
    }

    /// `// cross-org-by-design:` on a statement holding `at`, above it,
    /// or on the enclosing function.
    pub fn marked(text: &str, f: Option<&RsFn>, at: Range<usize>) -> bool {
        if keys::cross_org_marked(text, at.clone(), f.map(|f| f.header.clone())) {
            return true;
        }
        f.is_some_and(|f| {
            f.stmts
                .iter()
                .filter(|s| s.contains(&at.start))
                .any(|s| keys::cross_org_marked(text, s.clone(), None))
        })
    }

    pub fn check(
        ctx: &Ctx,
        file: &syn::File,
        pf: &ParsedFile,
        fns: &[RsFn],
        found: &mut Vec<Diagnostic>,
    ) {
        let mut v = V {
            ctx,
            pf,
            fns,
            found,
            builders: Vec::new(),
            pushes: Vec::new(),
            roots: BTreeSet::new(),
            filters: Vec::new(),
            dsl: Vec::new(),
        };
        v.visit_file(file);
        v.finish();
    }

    struct V<'a, 'c> {
        ctx: &'a Ctx<'c>,
        pf: &'a ParsedFile,
        fns: &'a [RsFn],
        found: &'a mut Vec<Diagnostic>,
        /// `QueryBuilder::new("...")`: literal, its range.
        builders: Vec<(String, Range<usize>)>,
        /// `.push("...")` / `.push_bind(..)` calls: offset, text added.
        pushes: Vec<(usize, String)>,
        /// diesel roots already judged (their span start).
        roots: BTreeSet<usize>,
        /// Columns named in `.filter(..)` calls: offset, (table, column).
        filters: Vec<(usize, Option<String>, String)>,
        /// diesel chains: root range, table, joined tables.
        dsl: Vec<(Range<usize>, String, Vec<String>)>,
    }

    fn lit_text(e: &syn::Expr) -> Option<(String, proc_macro2::Span)> {
        match keys::rs_peel(e) {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some((s.value(), s.span())),
            _ => None,
        }
    }

    /// `notes::table`, `schema::notes::table`, `notes::dsl::notes`.
    fn table_path(e: &syn::Expr) -> Option<String> {
        let syn::Expr::Path(p) = keys::rs_peel(e) else {
            return None;
        };
        let path = embedded::path_string(&p.path);
        let segs: Vec<&str> = path.split("::").collect();
        match segs.as_slice() {
            [.., t, "table"] => Some(t.to_string()),
            [.., t, "dsl", last] if t == last => Some(t.to_string()),
            _ => None,
        }
    }

    impl V<'_, '_> {
        fn range(&self, span: proc_macro2::Span) -> Range<usize> {
            span_range(span, &self.pf.src)
        }

        fn sql(&mut self, sql: &str, range: Range<usize>) {
            let f = enclosing(self.fns, range.start);
            if f.is_some_and(|f| f.test) || marked(self.pf.text(), f, range.clone()) {
                return;
            }
            let scope = f.map(|f| f.params.clone()).unwrap_or_default();
            for stmt in crate::lang::sql::split_statements(sql) {
                let Some(text) = sql.get(stmt) else { continue };
                report_sql(
                    self.ctx,
                    Language::Rust,
                    text,
                    range.clone(),
                    &scope,
                    self.found,
                );
            }
        }

        fn finish(&mut self) {
            // QueryBuilder: the initial SQL plus every push of the function.
            let builders = std::mem::take(&mut self.builders);
            for (lit, range) in builders {
                let f = enclosing(self.fns, range.start).map(|f| f.range.clone());
                let mut sql = lit;
                let mut pushes: Vec<&(usize, String)> = self
                    .pushes
                    .iter()
                    .filter(|(at, _)| {
                        *at > range.start && f.as_ref().is_none_or(|f| f.contains(at))
                    })
                    .collect();
                pushes.sort_by_key(|(at, _)| *at);
                for (_, p) in pushes {
                    sql.push_str(p);
                }
                self.sql(&sql, range);
            }
            // diesel DSL: a filter on the table's tenant column anywhere in
            // the function (boxed queries are filtered over statements).
            let dsl = std::mem::take(&mut self.dsl);
            // `notes::table` names the table `#[sql_name = "…"]` renames.
            let index = self.ctx.index;
            let sql_name = |t: &str| {
                index
                    .models
                    .get(t)
                    .cloned()
                    .unwrap_or_else(|| t.to_string())
            };
            let tenant_columns = |t: &str| index.tenant_columns(&sql_name(t), self.ctx.config);
            for (range, table, joined) in dsl {
                let cols = tenant_columns(&table);
                if cols.is_empty() {
                    continue;
                }
                let f = enclosing(self.fns, range.start);
                if f.is_some_and(|f| f.test) || marked(self.pf.text(), f, range.clone()) {
                    continue;
                }
                let within = f.map(|f| f.range.clone()).unwrap_or(0..usize::MAX);
                let tables: Vec<&String> = std::iter::once(&table).chain(joined.iter()).collect();
                let filtered = self.filters.iter().any(|(at, t, c)| {
                    within.contains(at)
                        && match t {
                            Some(t) => tables.contains(&t) && tenant_columns(t).contains(c),
                            None => cols.contains(c),
                        }
                });
                if filtered {
                    continue;
                }
                let scope = f.map(|f| f.params.clone()).unwrap_or_default();
                let col = cols
                    .iter()
                    .find(|c| scope.contains(c))
                    .or(cols.first())
                    .cloned()
                    .unwrap_or_default();
                let var = pick_var(self.ctx, &scope, &col).unwrap_or_else(|| col.clone());
                let title = format!(
                    "diesel query on `{table}` without constraining its tenant column `{table}.{col}`{}",
                    rls_note(self.ctx, &sql_name(&table))
                );
                let fix = format!(
                    "add `.filter({table}::{col}.eq({var}))` (or mark a deliberate cross-tenant query with `// cross-org-by-design: <reason>`)"
                );
                self.found
                    .push(diagnostic(self.ctx, range, &[sql_name(&table)], title, fix));
            }
        }
    }

    impl<'ast> Visit<'ast> for V<'_, '_> {
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            let last = m.path.segments.last().map(|s| s.ident.to_string());
            if last.as_deref() == Some("format") {
                if let Some(args) = keys::macro_args(m) {
                    if let Some((value, span)) = args.first().and_then(lit_text) {
                        if embedded::looks_like_sql(&value) {
                            let sql = fill_holes(&value);
                            let r = self.range(span);
                            self.sql(&sql, r);
                        }
                    }
                }
            }
            syn::visit::visit_macro(self, m);
        }

        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            if let syn::Expr::Path(p) = &*c.func {
                let path = embedded::path_string(&p.path);
                if path == "QueryBuilder::new" || path.ends_with("::QueryBuilder::new") {
                    if let Some((value, span)) = c.args.first().and_then(lit_text) {
                        let r = self.range(span);
                        self.builders.push((fill_holes(&value), r));
                    }
                }
            }
            syn::visit::visit_expr_call(self, c);
        }

        fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
            let method = m.method.to_string();
            let at = self.range(m.method.span()).start;
            match method.as_str() {
                "push" => {
                    let text = m
                        .args
                        .first()
                        .and_then(lit_text)
                        .map(|(v, _)| fill_holes(&v))
                        .unwrap_or_else(|| " tl_arg ".into());
                    self.pushes.push((at, text));
                }
                "push_bind" | "push_bind_unseparated" => self.pushes.push((at, " $0 ".into())),
                "filter" | "or_filter" => {
                    struct P<'b>(&'b mut Vec<(usize, Option<String>, String)>, usize);
                    impl<'ast> Visit<'ast> for P<'_> {
                        fn visit_path(&mut self, p: &'ast syn::Path) {
                            let segs: Vec<String> =
                                p.segments.iter().map(|s| s.ident.to_string()).collect();
                            if let Some(col) = segs.last() {
                                let table = (segs.len() >= 2).then(|| segs[segs.len() - 2].clone());
                                self.0.push((self.1, table, col.clone()));
                            }
                            syn::visit::visit_path(self, p);
                        }
                    }
                    let mut p = P(&mut self.filters, at);
                    for a in &m.args {
                        p.visit_expr(a);
                    }
                }
                _ => {}
            }
            // diesel: the outermost method call of a chain rooted at a table.
            let mut cur: &syn::Expr = &m.receiver;
            let mut joined = Vec::new();
            let mut methods = vec![method.clone()];
            loop {
                match keys::rs_peel(cur) {
                    syn::Expr::MethodCall(inner) => {
                        methods.push(inner.method.to_string());
                        if inner.method.to_string().ends_with("join") {
                            if let Some(t) = inner.args.first().and_then(table_path) {
                                joined.push(t);
                            }
                        }
                        cur = &inner.receiver;
                    }
                    other => {
                        cur = other;
                        break;
                    }
                }
            }
            if method.ends_with("join") {
                if let Some(t) = m.args.first().and_then(table_path) {
                    joined.push(t);
                }
            }
            if let Some(table) = table_path(cur) {
                let r = self.range(cur.span());
                if self.roots.insert(r.start) {
                    self.dsl.push((r, table, joined));
                }
            }
            syn::visit::visit_expr_method_call(self, m);
        }
    }

    /// `{}` / `{name}` holes of a format string as placeholders.
    pub fn fill_holes(s: &str) -> String {
        use crate::lang::template::{pieces, Piece};
        pieces(s)
            .into_iter()
            .map(|p| match p {
                Piece::Lit(l) => l,
                Piece::Hole(_) => embedded::INTERPOLATION.to_string(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::index::{facts, ProjectIndex};

    fn index(files: &[(&str, &str)]) -> ProjectIndex {
        ProjectIndex::build(
            files
                .iter()
                .map(|(p, t)| {
                    let lang = Language::from_path(p).unwrap();
                    facts::extract(&ParsedFile::parse(p, lang, t).unwrap())
                })
                .collect(),
        )
    }

    const SCHEMA: &str =
        "CREATE TABLE notes (id uuid primary key, org_id uuid not null, body text);
        CREATE TABLE tags (id uuid, org_id uuid, note_id uuid, label text);
        ALTER TABLE tags ENABLE ROW LEVEL SECURITY;
        ALTER TABLE tags FORCE ROW LEVEL SECURITY;
        CREATE TABLE orgs (id uuid, name text);";

    fn run(path: &str, code: &str) -> Vec<Diagnostic> {
        let cfg = Config::default();
        let idx = index(&[("migrations/001.sql", SCHEMA), (path, code)]);
        let ctx = Ctx::new(&cfg, &idx, None);
        let f = ParsedFile::parse(path, Language::from_path(path).unwrap(), code).unwrap();
        let mut out = Vec::new();
        check(&ctx, &f, &mut out);
        out
    }

    fn unscoped(sql: &str) -> Vec<String> {
        let cfg = Config::default();
        let idx = index(&[("migrations/001.sql", SCHEMA)]);
        let ctx = Ctx::new(&cfg, &idx, None);
        unscoped_tables(sql, &ctx)
            .into_iter()
            .map(|u| u.table)
            .collect()
    }

    #[test]
    fn sql_predicates_joins_and_parameters() {
        assert_eq!(unscoped("SELECT body FROM notes WHERE id = $1"), ["notes"]);
        assert!(unscoped("SELECT body FROM notes WHERE id = $1 AND org_id = $2").is_empty());
        assert!(unscoped("SELECT * FROM notes n WHERE n.org_id = ANY($1)").is_empty());
        assert!(unscoped("DELETE FROM notes WHERE org_id IN (SELECT id FROM orgs)").is_empty());
        // A bound parameter named like the column is not the column.
        assert_eq!(
            unscoped("SELECT * FROM notes WHERE id = :org_id"),
            ["notes"]
        );
        assert_eq!(
            unscoped("SELECT * FROM notes n JOIN tags t ON t.note_id = n.id WHERE n.id = $1"),
            ["notes", "tags"]
        );
        assert!(unscoped(
            "SELECT t.label FROM tags t JOIN notes n ON n.id = t.note_id WHERE n.org_id = $1"
        )
        .is_empty());
        // Tenant columns compared with each other tie, they do not constrain.
        assert_eq!(
            unscoped("SELECT * FROM notes n JOIN tags t ON t.org_id = n.org_id WHERE t.id = $1"),
            ["notes", "tags"]
        );
        assert!(unscoped(
            "WITH mine AS (SELECT id FROM notes WHERE org_id = $1) SELECT * FROM mine"
        )
        .is_empty());
        assert!(unscoped("UPDATE notes SET body = $2 WHERE id = $1 AND org_id = $3").is_empty());
        assert_eq!(
            unscoped("UPDATE notes SET org_id = $2 WHERE id = $1"),
            ["notes"]
        );
        assert_eq!(
            unscoped("DELETE FROM notes WHERE id = $1 RETURNING org_id"),
            ["notes"]
        );
        assert!(unscoped("INSERT INTO notes (id, org_id) VALUES ($1, $2)").is_empty());
        assert!(unscoped("SELECT * FROM orgs").is_empty());
        assert!(unscoped("SELECT * FROM notes WHERE id = $1 FOR UPDATE SKIP LOCKED").len() == 1);
    }

    #[test]
    fn severity_is_soft_only_under_forced_rls() {
        let hard = run("app/q.py", "from sqlalchemy import text\n\ndef f(db, org_id):\n    return db.execute(text(\"SELECT body FROM notes WHERE id = :id\"))\n");
        assert_eq!(hard.len(), 1);
        assert_eq!(hard[0].severity, None);
        assert!(
            hard[0].suggestion.contains("notes.org_id = :org_id"),
            "{}",
            hard[0].suggestion
        );
        let soft = run("app/q.py", "from sqlalchemy import text\n\ndef f(db, org_id):\n    return db.execute(text(\"SELECT label FROM tags WHERE id = :id\"))\n");
        assert_eq!(soft.len(), 1);
        assert_eq!(soft[0].severity, Some(Severity::Soft));
        let rust = run("src/q.rs", "async fn f(pool: &PgPool, org_id: Uuid, id: Uuid) {\n    sqlx::query!(\"SELECT body FROM notes WHERE id = $1\", id).fetch_one(pool).await;\n}\n");
        assert_eq!(rust.len(), 1);
        assert!(
            rust[0].suggestion.contains("notes.org_id = $2"),
            "{}",
            rust[0].suggestion
        );
    }

    /// The one suggestion for `code` in app/api.py, with `model` mapped to
    /// the tenant table `notes`.
    fn python_suggestion(model: &str, code: &str) -> String {
        let models = format!("from sqlalchemy import Column, String\n\nclass {model}(Base):\n    __tablename__ = \"notes\"\n    id = Column(String, primary_key=True)\n    org_id = Column(String)\n");
        let cfg = Config::default();
        let idx = index(&[("app/models.py", &models), ("app/api.py", code)]);
        let ctx = Ctx::new(&cfg, &idx, None);
        let f = ParsedFile::parse("app/api.py", Language::Python, code).unwrap();
        let mut out = Vec::new();
        check(&ctx, &f, &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        out.remove(0).suggestion
    }

    #[test]
    fn suggestion_names_the_authenticated_caller_parameter() {
        let code = "async def get_invoice(invoice_id: int, user: CurrentUser = Depends(current_user), db: AsyncSession = Depends(get_session)):\n    invoice = await db.get(Invoice, invoice_id)\n    return invoice\n";
        let s = python_suggestion("Invoice", code);
        assert!(s.contains("invoice.org_id != user.org_id"), "{s}");
    }

    #[test]
    fn suggestion_names_the_callers_tenant_attribute() {
        let code = "from sqlalchemy import select\n\nasync def get_note(note_id, user, db):\n    audit(user.org_id)\n    return await db.execute(select(Note).where(Note.id == note_id))\n";
        let s = python_suggestion("Note", code);
        assert!(s.contains("Note.org_id == user.org_id"), "{s}");
    }

    #[test]
    fn rust_suggestions_name_the_handlers_tenant_expression() {
        let schema = "diesel::table! {\n    notes (id) {\n        id -> Uuid,\n        org_id -> Uuid,\n        body -> Text,\n    }\n}\n";
        let code = r#"
use crate::schema::notes;

pub struct AuthUser { pub id: Uuid, pub org_id: Uuid }

pub async fn get_note(user: AuthUser, Path(id): Path<Uuid>, State(pool): State<PgPool>) -> Json<Note> {
    let row = sqlx::query_as::<_, Note>("SELECT * FROM notes WHERE id = $1").bind(id).fetch_one(&pool).await.unwrap();
    Json(row)
}

pub fn load(conn: &mut PgConnection, claims: &Claims, id: Uuid) -> QueryResult<Note> {
    tracing::debug!(org = %claims.org_id, "load");
    notes::table.find(id).first(conn)
}
"#;
        let cfg = Config::default();
        let idx = index(&[("src/schema.rs", schema), ("src/api.rs", code)]);
        let ctx = Ctx::new(&cfg, &idx, None);
        let f = ParsedFile::parse("src/api.rs", Language::Rust, code).unwrap();
        let mut out = Vec::new();
        check(&ctx, &f, &mut out);
        out.sort_by_key(|d| d.range.start);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(
            out[0]
                .suggestion
                .contains("`notes.org_id = $2` to the WHERE clause, bound to `user.org_id`"),
            "{}",
            out[0].suggestion
        );
        assert!(
            out[1]
                .suggestion
                .contains(".filter(notes::org_id.eq(claims.org_id))"),
            "{}",
            out[1].suggestion
        );
    }

    #[test]
    fn migrations_and_marked_statements_are_silent() {
        assert!(run("migrations/002_fix.sql", "UPDATE notes SET body = '';").is_empty());
        assert!(run("db/queries/notes.sql", "-- cross-org-by-design: usage report\nSELECT org_id, count(*) FROM notes GROUP BY org_id;").is_empty());
        assert_eq!(
            run("db/queries/notes.sql", "SELECT * FROM notes WHERE id = $1;").len(),
            1
        );
        assert!(run("db/seed.sql", "SELECT * FROM notes;").is_empty());
    }

    #[test]
    fn format_holes_become_placeholders() {
        assert_eq!(
            rs::fill_holes("SELECT {} FROM t WHERE a = {{x}} AND b = {b:?}"),
            "SELECT tl_arg FROM t WHERE a = {x} AND b = tl_arg"
        );
    }
}
