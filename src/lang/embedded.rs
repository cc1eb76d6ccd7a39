//! SQL embedded in Python and Rust string literals.
//!
//! A literal is decoded (escapes, raw strings, f-string interpolations,
//! implicit concatenation) into the SQL text the database would receive,
//! with a byte-for-byte map back to the host file, so that a finding inside
//! the SQL lands on the exact host line and column.

use super::python;
use super::source::SourceText;
use super::sql::SqlFile;
use std::ops::Range;
use tree_sitter::{Node, Tree};

/// Placeholder written where an f-string interpolates a value.
pub const INTERPOLATION: &str = "tl_arg";

/// A decoded string literal: its value and, for each byte of the value, the
/// host offset it came from (`map.len() == text.len() + 1`).
#[derive(Debug, Clone, Default)]
pub struct Decoded {
    pub text: String,
    pub map: Vec<usize>,
    /// True when the value has interpolated parts (f-strings).
    pub interpolated: bool,
}

impl Decoded {
    fn push(&mut self, c: char, host: usize) {
        let mut buf = [0u8; 4];
        for _ in c.encode_utf8(&mut buf).bytes() {
            self.map.push(host);
        }
        self.text.push(c);
    }

    fn push_str(&mut self, s: &str, host: usize) {
        for c in s.chars() {
            self.push(c, host);
        }
    }

    fn finish(mut self, end: usize) -> Decoded {
        self.map.push(end);
        self
    }

    fn append(&mut self, other: Decoded) {
        self.map.pop();
        self.text.push_str(&other.text);
        self.map.extend(other.map);
        self.interpolated |= other.interpolated;
    }
}

/// SQL passed to a SQL-executing call.
#[derive(Debug)]
pub struct EmbeddedSql {
    /// The call that receives the SQL (`op.execute`, `sqlx::query!`, …).
    pub call: String,
    pub text: String,
    map: Vec<usize>,
    pub sql: SqlFile,
}

impl EmbeddedSql {
    fn new(call: String, lit: Decoded) -> EmbeddedSql {
        let sql = SqlFile::parse(&lit.text);
        EmbeddedSql {
            call,
            text: lit.text,
            map: lit.map,
            sql,
        }
    }

    /// Host byte offset of a byte of the SQL text.
    pub fn host_offset(&self, sql_offset: usize) -> usize {
        self.map[sql_offset.min(self.map.len() - 1)]
    }

    /// Host byte range of a range of the SQL text.
    pub fn host_range(&self, r: Range<usize>) -> Range<usize> {
        let start = self.host_offset(r.start);
        let end = if r.end > r.start {
            self.host_offset(r.end - 1) + 1
        } else {
            start
        };
        start..end.max(start)
    }
}

/// Does a string start like a SQL statement? Keeps log messages and
/// shell commands out of the SQL parser.
pub fn looks_like_sql(text: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "select", "insert", "update", "delete", "create", "alter", "drop", "with", "set", "grant",
        "revoke", "do", "truncate", "comment", "refresh", "reset", "begin", "copy", "lock",
        "merge", "values", "explain",
    ];
    let t = strip_leading_comments(text);
    let word: String = t
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase();
    KEYWORDS.contains(&word.as_str())
}

fn strip_leading_comments(mut t: &str) -> &str {
    loop {
        t = t.trim_start();
        if let Some(rest) = t.strip_prefix("--") {
            t = rest.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(rest) = t.strip_prefix("/*") {
            t = rest.split_once("*/").map_or("", |(_, r)| r);
        } else {
            return t;
        }
    }
}

// ---------------------------------------------------------------- Python

/// Decode one Python string literal (prefix and quotes included) that
/// starts at host offset `base`.
pub fn decode_python_string(lit: &str, base: usize) -> Option<Decoded> {
    decode_python_string_with(lit, base, None)
}

/// A loop variable and the literal value it holds in one iteration.
type Binding<'a> = Option<(&'a str, &'a str)>;

/// [`decode_python_string`], writing `value` where an f-string
/// interpolates exactly `{name}`.
fn decode_python_string_with(lit: &str, base: usize, bind: Binding) -> Option<Decoded> {
    let prefix_len = lit.find(['\'', '"'])?;
    let prefix = lit[..prefix_len].to_ascii_lowercase();
    if !prefix.chars().all(|c| "rbuf".contains(c)) {
        return None;
    }
    let raw = prefix.contains('r');
    let fstring = prefix.contains('f');
    let body = &lit[prefix_len..];
    let q = body.chars().next()?;
    let triple: String = std::iter::repeat_n(q, 3).collect();
    let qlen = if body.starts_with(&triple) && body.len() >= 6 {
        3
    } else {
        1
    };
    let quote: String = std::iter::repeat_n(q, qlen).collect();
    if body.len() < 2 * qlen || !body.ends_with(&quote) {
        return None;
    }
    let content_start = prefix_len + qlen;
    let content = lit.get(content_start..lit.len() - qlen)?;
    let base = base + content_start;
    let mut out = Decoded::default();
    let mut it = content.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let host = base + i;
        if c == '\\' && !raw {
            let Some(&(_, e)) = it.peek() else {
                out.push('\\', host);
                break;
            };
            it.next();
            match e {
                '\n' => {}
                '\r' => {
                    if it.peek().is_some_and(|&(_, n)| n == '\n') {
                        it.next();
                    }
                }
                'n' => out.push('\n', host),
                't' => out.push('\t', host),
                'r' => out.push('\r', host),
                '\\' | '\'' | '"' => out.push(e, host),
                'a' | 'b' | 'f' | 'v' | '0' => out.push(' ', host),
                'x' | 'u' | 'U' | 'N' => {
                    let n = match e {
                        'x' => 2,
                        'u' => 4,
                        'U' => 8,
                        _ => 0,
                    };
                    if e == 'N' {
                        for (_, c) in it.by_ref() {
                            if c == '}' {
                                break;
                            }
                        }
                        out.push('?', host);
                    } else {
                        let hex: String =
                            (0..n).filter_map(|_| it.next().map(|(_, c)| c)).collect();
                        let ch = u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .unwrap_or('?');
                        out.push(ch, host);
                    }
                }
                other => {
                    out.push('\\', host);
                    out.push(other, host + 1);
                }
            }
        } else if fstring && c == '{' {
            if it.peek().is_some_and(|&(_, n)| n == '{') {
                it.next();
                out.push('{', host);
            } else {
                let mut depth = 1;
                let mut expr = String::new();
                for (_, c) in it.by_ref() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    expr.push(c);
                }
                match bind {
                    Some((name, value)) if expr.trim() == name => out.push_str(value, host),
                    _ => {
                        out.push_str(INTERPOLATION, host);
                        out.interpolated = true;
                    }
                }
            }
        } else if fstring && c == '}' && it.peek().is_some_and(|&(_, n)| n == '}') {
            it.next();
            out.push('}', host);
        } else {
            out.push(c, host);
        }
    }
    Some(out.finish(base + content.len()))
}

/// Decode a string-valued expression: a literal, implicit concatenation,
/// `+` of literals, parentheses.
pub fn python_string_expr(node: Node, src: &str) -> Option<Decoded> {
    python_string_expr_with(node, src, None)
}

fn python_string_expr_with(node: Node, src: &str, bind: Binding) -> Option<Decoded> {
    let node = python::unparen(node);
    match node.kind() {
        "string" => decode_python_string_with(python::text(node, src), node.start_byte(), bind),
        "concatenated_string" => {
            let mut cursor = node.walk();
            let mut acc: Option<Decoded> = None;
            for part in node.named_children(&mut cursor) {
                if part.kind() != "string" {
                    continue;
                }
                let d =
                    decode_python_string_with(python::text(part, src), part.start_byte(), bind)?;
                match acc.as_mut() {
                    Some(a) => a.append(d),
                    None => acc = Some(d),
                }
            }
            acc
        }
        "binary_operator" => {
            let op = node.child_by_field_name("operator")?;
            if python::text(op, src) != "+" {
                return None;
            }
            let mut left = python_string_expr_with(node.child_by_field_name("left")?, src, bind)?;
            let right = python_string_expr_with(node.child_by_field_name("right")?, src, bind)?;
            left.append(right);
            Some(left)
        }
        _ => None,
    }
}

/// Does `bytes` contain an SQL-executing call of its language (always true
/// for SQL itself)? A host file without one embeds no SQL this module
/// would extract.
pub fn may_execute_sql(lang: super::Language, bytes: &[u8]) -> bool {
    use aho_corasick::AhoCorasick;
    use std::sync::LazyLock;
    fn matcher(lang: super::Language) -> AhoCorasick {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(host_words(lang))
            .unwrap_or_else(|_| AhoCorasick::new(Vec::<String>::new()).expect("empty matcher"))
    }
    static PY: LazyLock<AhoCorasick> = LazyLock::new(|| matcher(super::Language::Python));
    static RS: LazyLock<AhoCorasick> = LazyLock::new(|| matcher(super::Language::Rust));
    match lang {
        super::Language::Sql => true,
        super::Language::Python => PY.is_match(bytes),
        super::Language::Rust => RS.is_match(bytes),
    }
}

/// Words one of which appears in every host file with embedded SQL: the
/// names of the SQL-executing calls the extractors recognise.
fn host_words(lang: super::Language) -> &'static [&'static str] {
    match lang {
        super::Language::Python => &[
            "execute(",
            "executemany(",
            "executescript(",
            "exec_driver_sql(",
            "fetch(",
            "fetchrow(",
            "fetchval(",
            "text(",
        ],
        super::Language::Rust => &[
            "query!",
            "query(",
            "query::<",
            "query_as",
            "query_scalar",
            "query_unchecked",
            "query_with",
            "raw_sql",
            "sql_query",
        ],
        super::Language::Sql => &[],
    }
}

/// Is this dotted call name one that sends its first argument to the
/// database as SQL?
pub fn is_python_sql_call(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    match last {
        "text" => matches!(name, "text" | "sa.text" | "sqlalchemy.text" | "sql.text"),
        "execute" | "executemany" | "exec_driver_sql" | "executescript" | "fetch" | "fetchrow"
        | "fetchval" => name.contains('.'),
        _ => false,
    }
}

pub fn from_python(tree: &Tree, src: &str) -> Vec<EmbeddedSql> {
    let mut out = Vec::new();
    if !may_execute_sql(super::Language::Python, src.as_bytes()) {
        return out;
    }
    python::walk(tree.root_node(), &mut |n| {
        if n.kind() != "call" {
            return;
        }
        let Some(name) = python::call_name(n, src) else {
            return;
        };
        // `name(` written together: the pre-filter's host words rely on it.
        let adjacent = n
            .child_by_field_name("function")
            .is_some_and(|f| src.as_bytes().get(f.end_byte()) == Some(&b'('));
        if !is_python_sql_call(&name) || !adjacent {
            return;
        }
        let Some(&arg) = python::positional_args(n).first() else {
            return;
        };
        let decoded = python_string_expr(arg, src).or_else(|| {
            let arg = python::unparen(arg);
            (arg.kind() == "identifier")
                .then(|| resolve_python_string_var(arg, src))
                .flatten()
        });
        if let Some(d) = decoded.filter(|d| looks_like_sql(&d.text)) {
            // `for table in ("notes", "tags"): op.execute(f"… {table} …")`:
            // one statement per table.
            let unrolled: Vec<Decoded> = match (d.interpolated, loop_over_literals(n, src)) {
                (true, Some((var, values))) => values
                    .iter()
                    .filter_map(|v| python_string_expr_with(arg, src, Some((var, v))))
                    .filter(|u| !u.interpolated)
                    .collect(),
                _ => Vec::new(),
            };
            if unrolled.is_empty() {
                out.push(EmbeddedSql::new(name, d));
            } else {
                for u in unrolled {
                    out.push(EmbeddedSql::new(name.clone(), u));
                }
            }
        }
    });
    out
}

/// The innermost `for <name> in (<string literals>)` around `n`, with its
/// values.
fn loop_over_literals<'s>(n: Node, src: &'s str) -> Option<(&'s str, Vec<String>)> {
    let mut cur = n.parent();
    while let Some(p) = cur {
        match p.kind() {
            "function_definition" | "class_definition" | "module" => return None,
            "for_statement" => {
                let left = p.child_by_field_name("left")?;
                let mut right = python::unparen(p.child_by_field_name("right")?);
                // `for table in TENANT_TABLES:` with the constant in this file.
                if right.kind() == "identifier" {
                    right = python::assignment_before(right, python::text(right, src), src)
                        .map(python::unparen)?;
                }
                if left.kind() != "identifier" || !matches!(right.kind(), "tuple" | "list" | "set")
                {
                    return None;
                }
                let mut c = right.walk();
                let values: Option<Vec<String>> = right
                    .named_children(&mut c)
                    .map(|v| python::string_value(v, src))
                    .collect();
                return Some((python::text(left, src), values?));
            }
            _ => cur = p.parent(),
        }
    }
    None
}

/// `sql = """…"""` earlier in the same function (or module) than `ident`.
fn resolve_python_string_var(ident: Node, src: &str) -> Option<Decoded> {
    let name = python::text(ident, src);
    let scope = python::enclosing_function(ident)
        .and_then(|f| f.child_by_field_name("body"))
        .or_else(|| {
            let mut n = ident;
            while let Some(p) = n.parent() {
                n = p;
            }
            Some(n)
        })?;
    let mut best: Option<Node> = None;
    let mut cursor = scope.walk();
    for stmt in scope.named_children(&mut cursor) {
        if stmt.start_byte() >= ident.start_byte() {
            break;
        }
        if stmt.kind() != "expression_statement" {
            continue;
        }
        let Some(assign) = stmt.named_child(0).filter(|a| a.kind() == "assignment") else {
            continue;
        };
        let is_target = assign
            .child_by_field_name("left")
            .is_some_and(|l| l.kind() == "identifier" && python::text(l, src) == name);
        if is_target {
            best = assign.child_by_field_name("right");
        }
    }
    python_string_expr(best?, src)
}

// ---------------------------------------------------------------- Rust

/// Decode one Rust string literal (`"…"`, `r#"…"#`, `b"…"`) whose source
/// text starts at host offset `base`.
pub fn decode_rust_string(lit: &str, base: usize) -> Option<Decoded> {
    let mut prefix_len = 0;
    let bytes = lit.as_bytes();
    while prefix_len < bytes.len() && matches!(bytes[prefix_len], b'b' | b'c' | b'r') {
        prefix_len += 1;
    }
    let raw = lit[..prefix_len].contains('r');
    let rest = &lit[prefix_len..];
    let hashes = rest.bytes().take_while(|&b| b == b'#').count();
    let open = prefix_len + hashes;
    if lit.as_bytes().get(open) != Some(&b'"') {
        return None;
    }
    let close_len = 1 + hashes;
    if lit.len() < open + 1 + close_len {
        return None;
    }
    let content_start = open + 1;
    if !lit.ends_with('"') && !lit.ends_with('#') {
        return None;
    }
    let content = lit.get(content_start..lit.len() - close_len)?;
    let base = base + content_start;
    let mut out = Decoded::default();
    let mut it = content.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let host = base + i;
        if c != '\\' || raw {
            out.push(c, host);
            continue;
        }
        let Some((_, e)) = it.next() else { break };
        match e {
            'n' => out.push('\n', host),
            't' => out.push('\t', host),
            'r' => out.push('\r', host),
            '0' => out.push(' ', host),
            '\\' | '"' | '\'' => out.push(e, host),
            '\n' | '\r' => {
                while it.peek().is_some_and(|&(_, c)| c.is_whitespace()) {
                    it.next();
                }
            }
            'x' => {
                let hex: String = (0..2).filter_map(|_| it.next().map(|(_, c)| c)).collect();
                let ch = u8::from_str_radix(&hex, 16).map(char::from).unwrap_or('?');
                out.push(ch, host);
            }
            'u' => {
                let mut hex = String::new();
                for (_, c) in it.by_ref() {
                    match c {
                        '{' => {}
                        '}' => break,
                        _ => hex.push(c),
                    }
                }
                let ch = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('?');
                out.push(ch, host);
            }
            other => {
                out.push('\\', host);
                out.push(other, host + 1);
            }
        }
    }
    Some(out.finish(base + content.len()))
}

/// Host byte range of a proc-macro2 span.
pub fn span_range(span: proc_macro2::Span, src: &SourceText) -> Range<usize> {
    let (s, e) = (span.start(), span.end());
    let start = src.offset_of_line_char(s.line, s.column);
    let end = src.offset_of_line_char(e.line, e.column);
    start..end.max(start)
}

const RUST_SQL_MACROS: &[&str] = &[
    "query",
    "query_as",
    "query_scalar",
    "query_unchecked",
    "query_as_unchecked",
    "query_scalar_unchecked",
];
const RUST_SQL_FNS: &[&str] = &[
    "query",
    "query_as",
    "query_scalar",
    "query_as_with",
    "query_with",
    "raw_sql",
    "sql_query",
];

pub fn from_rust(file: &syn::File, src: &SourceText) -> Vec<EmbeddedSql> {
    use syn::visit::Visit;
    if !may_execute_sql(super::Language::Rust, src.text.as_bytes()) {
        return Vec::new();
    }
    struct V<'a> {
        src: &'a SourceText,
        out: Vec<EmbeddedSql>,
    }
    impl V<'_> {
        fn take_literal(&mut self, call: String, span: proc_macro2::Span) {
            let r = span_range(span, self.src);
            let Some(text) = self.src.text.get(r.clone()) else {
                return;
            };
            if let Some(d) = decode_rust_string(text, r.start).filter(|d| looks_like_sql(&d.text)) {
                self.out.push(EmbeddedSql::new(call, d));
            }
        }
    }
    impl<'ast> Visit<'ast> for V<'_> {
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            let name = path_string(&m.path);
            let last = m.path.segments.last().map(|s| s.ident.to_string());
            let bang = span_range(m.bang_token.span, self.src);
            let adjacent = bang.start
                == span_range(
                    m.path
                        .segments
                        .last()
                        .map_or(m.bang_token.span, |s| s.ident.span()),
                    self.src,
                )
                .end;
            if adjacent && last.is_some_and(|l| RUST_SQL_MACROS.contains(&l.as_str())) {
                let lit = m.tokens.clone().into_iter().find_map(|t| match t {
                    proc_macro2::TokenTree::Literal(l) if l.to_string().ends_with('"') => Some(l),
                    _ => None,
                });
                if let Some(l) = lit {
                    self.take_literal(format!("{name}!"), l.span());
                }
            }
            syn::visit::visit_macro(self, m);
        }
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            if let syn::Expr::Path(p) = &*c.func {
                let last = p.path.segments.last().map(|s| s.ident.to_string());
                let paren = span_range(c.paren_token.span.open(), self.src).start;
                let adjacent = paren
                    == span_range(
                        p.path
                            .segments
                            .last()
                            .map_or(c.paren_token.span.open(), |s| {
                                // `query_as::<_, T>(` ends at its generics.
                                match &s.arguments {
                                    syn::PathArguments::AngleBracketed(a) => a.gt_token.span,
                                    _ => s.ident.span(),
                                }
                            }),
                        self.src,
                    )
                    .end;
                if adjacent && last.is_some_and(|l| RUST_SQL_FNS.contains(&l.as_str())) {
                    if let Some(syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    })) = c.args.first()
                    {
                        self.take_literal(path_string(&p.path), s.span());
                    }
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
    }
    let mut v = V {
        src,
        out: Vec::new(),
    };
    v.visit_file(file);
    v.out
}

pub fn path_string(p: &syn::Path) -> String {
    p.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every call the extractors take SQL from passes the host-word check
    /// they now start with.
    #[test]
    fn every_sql_call_is_a_host_word() {
        use super::super::Language;
        for m in RUST_SQL_MACROS {
            let src = format!("sqlx::{m}!(\"SELECT 1\")");
            assert!(may_execute_sql(Language::Rust, src.as_bytes()), "{src}");
        }
        for f in RUST_SQL_FNS {
            for src in [
                format!("sqlx::{f}(\"SELECT 1\")"),
                format!("{f}::<_, i64>(\"SELECT 1\")"),
            ] {
                assert!(may_execute_sql(Language::Rust, src.as_bytes()), "{src}");
            }
        }
        for name in [
            "text",
            "sa.text",
            "db.execute",
            "db.executemany",
            "conn.exec_driver_sql",
            "c.executescript",
            "conn.fetch",
            "conn.fetchrow",
            "conn.fetchval",
        ] {
            assert!(is_python_sql_call(name), "{name}");
            let src = format!("{name}(\"SELECT 1\")");
            assert!(may_execute_sql(Language::Python, src.as_bytes()), "{src}");
        }
    }
    use crate::lang::{Language, ParsedFile};

    fn host_line_col(f: &ParsedFile, e: &EmbeddedSql, needle: &str) -> (u32, u32) {
        let at = e.text.find(needle).expect("needle in SQL");
        let p = f.src.pos(e.host_offset(at));
        (p.line, p.col)
    }

    #[test]
    fn python_triple_quoted_and_concatenated_strings_map_exactly() {
        let src = "from alembic import op\n\ndef upgrade():\n    op.execute(\"\"\"\n        CREATE TABLE notes (org_id uuid);\n        ALTER TABLE notes ENABLE ROW LEVEL SECURITY;\n    \"\"\")\n    op.execute(\"ALTER TABLE notes \"\n               \"FORCE ROW LEVEL SECURITY\")\n";
        let f = ParsedFile::parse("m.py", Language::Python, src).unwrap();
        let e = f.embedded_sql();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].sql.statements.len(), 2);
        assert_eq!(host_line_col(&f, &e[0], "ALTER"), (6, 9));
        assert_eq!(e[1].text, "ALTER TABLE notes FORCE ROW LEVEL SECURITY");
        assert_eq!(host_line_col(&f, &e[1], "FORCE"), (9, 17));
        assert!(e[1].sql.statements[0].ast.is_ok());
    }

    #[test]
    fn python_escapes_fstrings_and_variables() {
        let src = "def f(db, org):\n    q = \"SELECT 1 FROM t\\nWHERE x = 'a'\"\n    db.execute(q)\n    db.execute(f\"SET search_path TO {org}\")\n    log.info(\"select everything\")\n";
        let f = ParsedFile::parse("a.py", Language::Python, src).unwrap();
        let e = f.embedded_sql();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].text, "SELECT 1 FROM t\nWHERE x = 'a'");
        assert_eq!(host_line_col(&f, &e[0], "WHERE"), (2, 27));
        assert_eq!(e[1].text, "SET search_path TO tl_arg");
        assert_eq!(host_line_col(&f, &e[1], "tl_arg"), (4, 37));
    }

    #[test]
    fn python_loops_over_literal_tables_are_unrolled() {
        let src = "def upgrade():\n    for table in (\"notes\", \"tags\"):\n        op.execute(f\"ALTER TABLE {table} FORCE ROW LEVEL SECURITY\")\n    for t in tables:\n        op.execute(f\"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY\")\n";
        let f = ParsedFile::parse("m.py", Language::Python, src).unwrap();
        let e = f.embedded_sql();
        let texts: Vec<&str> = e.iter().map(|x| x.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "ALTER TABLE notes FORCE ROW LEVEL SECURITY",
                "ALTER TABLE tags FORCE ROW LEVEL SECURITY",
                // not a literal list: the value stays unknown
                "ALTER TABLE tl_arg ENABLE ROW LEVEL SECURITY",
            ]
        );
        // Both unrolled statements point at the one literal in the file.
        assert_eq!(host_line_col(&f, &e[0], "FORCE"), (3, 42));
        assert_eq!(host_line_col(&f, &e[1], "FORCE"), (3, 42));
    }

    #[test]
    fn rust_macros_functions_and_raw_strings() {
        let src = "async fn f(pool: &PgPool) {\n    let r = sqlx::query!(\"SELECT body FROM notes WHERE id = $1\", id).fetch_one(pool).await;\n    let q = sqlx::query_as::<_, Note>(r#\"SELECT *\n    FROM \"notes\" WHERE org_id = $1\"#);\n    let s = diesel::sql_query(\"DELETE FROM t\\n WHERE a = 1\");\n}\n";
        let f = ParsedFile::parse("a.rs", Language::Rust, src).unwrap();
        let e = f.embedded_sql();
        assert_eq!(e.len(), 3, "{e:?}");
        assert_eq!(host_line_col(&f, &e[0], "WHERE"), (2, 50));
        assert_eq!(host_line_col(&f, &e[1], "org_id"), (4, 24));
        assert_eq!(e[2].text, "DELETE FROM t\n WHERE a = 1");
        assert_eq!(host_line_col(&f, &e[2], "WHERE"), (5, 48));
    }

    #[test]
    fn non_sql_strings_are_left_alone() {
        assert!(!looks_like_sql("hello world"));
        assert!(looks_like_sql("  -- c\n  select 1"));
        assert!(!is_python_sql_call("execute"));
        assert!(is_python_sql_call("op.get_bind().execute"));
        assert!(is_python_sql_call("sa.text"));
    }
}
