//! SQL through sqlparser (PostgreSQL dialect), with statement-level recovery.
//!
//! The text is split at top-level semicolons (quotes, dollar quotes and
//! comments respected) and each statement is parsed on its own, so that one
//! unreadable statement never hides the others.

use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use std::ops::Range;

/// One statement: where it sits in the SQL text, and its tree or the
/// parser's complaint.
#[derive(Debug)]
pub struct SqlStatement {
    pub range: Range<usize>,
    pub ast: Result<Statement, String>,
}

/// Every statement of a piece of SQL.
#[derive(Debug, Default)]
pub struct SqlFile {
    pub statements: Vec<SqlStatement>,
}

impl SqlFile {
    pub fn parse(text: &str) -> SqlFile {
        let statements = split_statements(text)
            .into_iter()
            .map(|range| {
                let ast = parse_one(&text[range.clone()]);
                SqlStatement { range, ast }
            })
            .collect();
        SqlFile { statements }
    }

    /// Statements the parser could not read.
    pub fn unread(&self) -> usize {
        self.statements.iter().filter(|s| s.ast.is_err()).count()
    }
}

fn parse_one(stmt: &str) -> Result<Statement, String> {
    let mut parsed = Parser::parse_sql(&PostgreSqlDialect {}, stmt).map_err(|e| e.to_string())?;
    match parsed.len() {
        1 => Ok(parsed.remove(0)),
        0 => Err("empty statement".into()),
        _ => Err("several statements where one was expected".into()),
    }
}

/// Byte ranges of the statements in `text`: leading whitespace and comments
/// excluded, the terminating semicolon excluded, empty statements dropped.
pub fn split_statements(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        // Comments and whitespace before a statement do not start it.
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            i = memchr_or_end(b, b'\n', i);
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i = skip_block_comment(b, i);
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b';' {
            if let Some(s) = start.take() {
                out.push(s..trim_end(b, s, i));
            }
            i += 1;
            continue;
        }
        if start.is_none() {
            start = Some(i);
        }
        i = match c {
            b'\'' => skip_quoted(b, i, b'\'', prev_is_e(b, i)),
            b'"' => skip_quoted(b, i, b'"', false),
            b'$' => skip_dollar(b, i),
            _ => i + 1,
        };
    }
    if let Some(s) = start {
        out.push(s..trim_end(b, s, b.len()));
    }
    out
}

fn trim_end(b: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && b[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    end
}

fn memchr_or_end(b: &[u8], needle: u8, from: usize) -> usize {
    b[from..]
        .iter()
        .position(|&c| c == needle)
        .map_or(b.len(), |p| from + p + 1)
}

fn skip_block_comment(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

fn prev_is_e(b: &[u8], i: usize) -> bool {
    i > 0
        && (b[i - 1] == b'E' || b[i - 1] == b'e')
        && (i < 2 || !(b[i - 2].is_ascii_alphanumeric() || b[i - 2] == b'_'))
}

fn skip_quoted(b: &[u8], mut i: usize, q: u8, backslash: bool) -> usize {
    i += 1;
    while i < b.len() {
        if backslash && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// `$tag$ … $tag$`; a lone `$1` parameter is just skipped.
fn skip_dollar(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
        j += 1;
    }
    if j >= b.len() || b[j] != b'$' || b[i + 1..j].first().is_some_and(u8::is_ascii_digit) {
        return i + 1;
    }
    let tag = &b[i..=j];
    let body = j + 1;
    match b[body..].windows(tag.len()).position(|w| w == tag) {
        Some(p) => body + p + tag.len(),
        None => b.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(t: &str) -> Vec<&str> {
        split_statements(t).into_iter().map(|r| &t[r]).collect()
    }

    #[test]
    fn splits_respecting_quotes_comments_and_dollar_bodies() {
        let t = "-- header; not a statement\nCREATE TABLE a (x text default ';');\n\n/* c; */ SELECT 1;\nCREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\nSELECT $1";
        assert_eq!(
            pieces(t),
            vec![
                "CREATE TABLE a (x text default ';')",
                "SELECT 1",
                "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql",
                "SELECT $1"
            ]
        );
    }

    #[test]
    fn one_bad_statement_does_not_hide_the_others() {
        let f = SqlFile::parse(
            "CREATE TABLE notes (id int, org_id uuid);\nFROBNICATE notes;\nALTER TABLE notes ENABLE ROW LEVEL SECURITY;",
        );
        assert_eq!(f.statements.len(), 3);
        assert_eq!(f.unread(), 1);
        assert!(f.statements[0].ast.is_ok());
        assert!(f.statements[2].ast.is_ok());
    }

    #[test]
    fn escape_strings_and_unterminated_input_do_not_panic() {
        assert_eq!(pieces("SELECT E'a\\'b;c'; SELECT 2").len(), 2);
        assert_eq!(pieces("SELECT 'open").len(), 1);
        assert_eq!(pieces("/* open").len(), 0);
        assert_eq!(pieces("$$ open").len(), 1);
    }
}
