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
        let mut statements = Vec::new();
        for range in split_statements(text) {
            let stmt = &text[range.clone()];
            let ast = parse_one(stmt);
            if ast.is_err() && starts_with_word(stmt, "do") {
                if let Some(inner) = do_block(text, range.clone()) {
                    statements.extend(inner);
                    continue;
                }
            }
            statements.push(SqlStatement { range, ast });
        }
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

fn starts_with_word(stmt: &str, word: &str) -> bool {
    let w: String = stmt
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    w.eq_ignore_ascii_case(word)
}

/// Statements inside `DO $$ … $$`: plain SQL between the PL/pgSQL control
/// words, and `EXECUTE '…'` strings. Dynamic SQL (`EXECUTE format(…)`,
/// concatenation) stays unread.
fn do_block(text: &str, range: Range<usize>) -> Option<Vec<SqlStatement>> {
    let stmt = &text[range.clone()];
    let toks = super::sql_tokens::tokenize(stmt);
    let body_tok = toks
        .iter()
        .find(|t| matches!(t.tok, super::sql_tokens::Tok::Str(_)))?;
    let raw = &stmt[body_tok.range.clone()];
    let tag_len = raw
        .find('$')
        .and_then(|f| raw[f + 1..].find('$').map(|e| e + 2))?;
    let body_start = range.start + body_tok.range.start + tag_len;
    let body_end = range.start + body_tok.range.end - tag_len.min(body_tok.range.len());
    let body = text.get(body_start..body_end.max(body_start))?;
    let mut out = Vec::new();
    for r in split_statements(body) {
        let mut piece = r.clone();
        // Skip PL/pgSQL block words in front of a statement.
        loop {
            let p = &body[piece.clone()];
            let word: String = p.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
            let lw = word.to_ascii_lowercase();
            if matches!(lw.as_str(), "begin" | "declare" | "loop" | "then" | "else")
                && p.len() > word.len()
            {
                let rest = p[word.len()..].len() - p[word.len()..].trim_start().len();
                piece.start += word.len() + rest;
            } else {
                break;
            }
        }
        let p = &body[piece.clone()];
        let abs = body_start + piece.start..body_start + piece.end;
        let inner = super::sql_tokens::tokenize(p);
        if let Some(k) = inner.iter().position(|t| t.is("execute")) {
            // `[IF … THEN] EXECUTE '<sql>'`: a literal is read; anything
            // built at run time is dynamic SQL.
            match &inner[k + 1..] {
                [lit] if matches!(lit.tok, super::sql_tokens::Tok::Str(_)) => {
                    if let super::sql_tokens::Tok::Str(sql) = &lit.tok {
                        out.push(SqlStatement {
                            range: abs.start + lit.range.start..abs.start + lit.range.end,
                            ast: parse_one(sql),
                        });
                    }
                }
                _ => out.push(SqlStatement {
                    range: abs,
                    ast: Err("dynamic SQL in a DO block".into()),
                }),
            }
            continue;
        }
        const SQL_WORDS: &[&str] = &[
            "alter", "create", "drop", "grant", "revoke", "insert", "update", "delete", "set",
            "comment",
        ];
        if SQL_WORDS.iter().any(|w| starts_with_word(p, w)) {
            out.push(SqlStatement {
                range: abs,
                ast: parse_one(p),
            });
        }
    }
    Some(out)
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
    fn do_blocks_yield_their_statements() {
        let t = "DO $$\nBEGIN\n  ALTER TABLE notes ENABLE ROW LEVEL SECURITY;\n  EXECUTE 'ALTER TABLE notes FORCE ROW LEVEL SECURITY';\n  EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);\n  IF x THEN RAISE NOTICE 'hi'; END IF;\nEND\n$$;";
        let f = SqlFile::parse(t);
        let ok: Vec<&str> = f
            .statements
            .iter()
            .filter(|s| s.ast.is_ok())
            .map(|s| &t[s.range.clone()])
            .collect();
        assert_eq!(
            ok,
            vec![
                "ALTER TABLE notes ENABLE ROW LEVEL SECURITY",
                "'ALTER TABLE notes FORCE ROW LEVEL SECURITY'"
            ]
        );
        assert_eq!(f.unread(), 1);
    }

    #[test]
    fn escape_strings_and_unterminated_input_do_not_panic() {
        assert_eq!(pieces("SELECT E'a\\'b;c'; SELECT 2").len(), 2);
        assert_eq!(pieces("SELECT 'open").len(), 1);
        assert_eq!(pieces("/* open").len(), 0);
        assert_eq!(pieces("$$ open").len(), 1);
    }
}
