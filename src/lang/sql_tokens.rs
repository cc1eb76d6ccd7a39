//! A small, total SQL tokenizer: words, quoted identifiers, strings,
//! numbers and punctuation with byte ranges. It never fails, so the checks
//! that must still work where sqlparser gives up (the RLS fallback, views
//! and function bodies) can rely on it.

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A keyword or bare identifier, as written.
    Word(String),
    /// `"Quoted"` identifier, unquoted.
    Ident(String),
    /// A string literal's value (`'…'`, `E'…'`, `$tag$…$tag$`).
    Str(String),
    Num,
    Punct(char),
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub range: Range<usize>,
}

impl Token {
    /// Case-insensitive keyword test.
    pub fn is(&self, kw: &str) -> bool {
        matches!(&self.tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    pub fn is_punct(&self, c: char) -> bool {
        self.tok == Tok::Punct(c)
    }

    /// The identifier a word or quoted identifier names, lower-cased for
    /// bare words as Postgres folds them.
    pub fn ident(&self) -> Option<String> {
        match &self.tok {
            Tok::Word(w) => Some(w.to_ascii_lowercase()),
            Tok::Ident(i) => Some(i.clone()),
            _ => None,
        }
    }
}

pub fn tokenize(text: &str) -> Vec<Token> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i = text[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
        } else if c == b'\'' || ((c == b'E' || c == b'e') && b.get(i + 1) == Some(&b'\'')) {
            let escapes = c != b'\'';
            i += if escapes { 2 } else { 1 };
            let mut val = String::new();
            while i < b.len() {
                if escapes && b[i] == b'\\' && i + 1 < b.len() {
                    val.push(b[i + 1] as char);
                    i += 2;
                    continue;
                }
                if b[i] == b'\'' {
                    if b.get(i + 1) == Some(&b'\'') {
                        val.push('\'');
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                let ch = text[i..].chars().next().unwrap_or(' ');
                val.push(ch);
                i += ch.len_utf8();
            }
            out.push(Token {
                tok: Tok::Str(val),
                range: start..i.min(b.len()),
            });
        } else if c == b'"' {
            i += 1;
            let s = i;
            while i < b.len() && b[i] != b'"' {
                i += 1;
            }
            let val = text.get(s..i).unwrap_or("").to_string();
            i = (i + 1).min(b.len());
            out.push(Token {
                tok: Tok::Ident(val),
                range: start..i,
            });
        } else if c == b'$' {
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j < b.len() && b[j] == b'$' && !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                let tag = &text[i..=j];
                let body_start = j + 1;
                let end = text[body_start..]
                    .find(tag)
                    .map_or(b.len(), |p| body_start + p);
                let val = text[body_start..end].to_string();
                i = (end + tag.len()).min(b.len());
                out.push(Token {
                    tok: Tok::Str(val),
                    range: start..i,
                });
            } else {
                i = j.max(i + 1);
                out.push(Token {
                    tok: Tok::Punct('$'),
                    range: start..i,
                });
            }
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80)
            {
                i += 1;
            }
            while !text.is_char_boundary(i) {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Word(text[start..i].to_string()),
                range: start..i,
            });
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Num,
                range: start..i,
            });
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            i += ch.len_utf8();
            out.push(Token {
                tok: Tok::Punct(ch),
                range: start..i,
            });
        }
    }
    out
}

/// A possibly schema-qualified name starting at `toks[at]`: returns the
/// last part (the relation's own name) and the index after the name.
pub fn qualified_name(toks: &[Token], at: usize) -> Option<(String, usize)> {
    let mut name = toks.get(at)?.ident()?;
    let mut i = at + 1;
    while toks.get(i).is_some_and(|t| t.is_punct('.')) {
        name = toks.get(i + 1)?.ident()?;
        i += 2;
    }
    Some((name, i))
}

/// Index of the token that closes the parenthesis opened at `open`.
pub fn matching_paren(toks: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, t) in toks.iter().enumerate().skip(open) {
        if t.is_punct('(') {
            depth += 1;
        } else if t.is_punct(')') {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// Relations read by a query or function body: the names after FROM and
/// JOIN (and after commas in a FROM list).
pub fn relations_read(text: &str) -> Vec<String> {
    let toks = tokenize(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let mut body_names = Vec::new();
        if let Tok::Str(body) = &t.tok {
            // function bodies are strings
            if body.len() > 6 {
                body_names = relations_read(body);
            }
        }
        out.extend(body_names);
        if t.is("from")
            || t.is("join")
            || (t.is("update") && i + 1 < toks.len())
            || (t.is("into") && i > 0 && toks[i - 1].is("insert"))
        {
            let mut j = i + 1;
            loop {
                if toks.get(j).is_some_and(|t| t.is("only") || t.is("lateral")) {
                    j += 1;
                }
                match qualified_name(&toks, j) {
                    Some((name, next)) if !is_keyword(&name) => {
                        out.push(name);
                        j = next;
                        // skip alias
                        if toks.get(j).is_some_and(|t| t.is("as")) {
                            j += 1;
                        }
                        if toks
                            .get(j)
                            .is_some_and(|t| matches!(t.tok, Tok::Word(_)) && !is_clause(t))
                        {
                            j += 1;
                        }
                        if toks.get(j).is_some_and(|t| t.is_punct(',')) && t.is("from") {
                            j += 1;
                            continue;
                        }
                    }
                    _ => {}
                }
                break;
            }
        }
        i += 1;
    }
    out.sort();
    out.dedup();
    out
}

fn is_keyword(w: &str) -> bool {
    matches!(
        w,
        "select"
            | "lateral"
            | "unnest"
            | "generate_series"
            | "jsonb_to_recordset"
            | "json_to_recordset"
    )
}

/// A keyword that starts a clause after a relation list (never an alias).
pub fn is_clause(t: &Token) -> bool {
    [
        "where",
        "join",
        "left",
        "right",
        "inner",
        "outer",
        "full",
        "cross",
        "on",
        "group",
        "order",
        "limit",
        "using",
        "natural",
        "union",
        "returning",
        "set",
        "having",
        "window",
        "offset",
        "for",
    ]
    .iter()
    .any(|k| t.is(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_cover_strings_identifiers_and_dollar_bodies() {
        let t = tokenize("CREATE POLICY \"P 1\" ON app.notes USING (org_id = current_setting('app.org', true)::uuid) -- c\n$$x;y$$ E'a\\'b'");
        assert!(t[0].is("create"));
        assert_eq!(t[2].tok, Tok::Ident("P 1".into()));
        assert_eq!(qualified_name(&t, 4), Some(("notes".into(), 7)));
        assert!(t.iter().any(|x| x.tok == Tok::Str("app.org".into())));
        assert!(t.iter().any(|x| x.tok == Tok::Str("x;y".into())));
        assert!(t.iter().any(|x| x.tok == Tok::Str("a'b".into())));
        let open = t.iter().position(|x| x.is_punct('(')).unwrap();
        assert!(t[matching_paren(&t, open).unwrap()].is_punct(')'));
    }

    #[test]
    fn relations_read_by_queries_and_bodies() {
        assert_eq!(
            relations_read(
                "SELECT n.* FROM public.notes n, tags JOIN orgs o ON o.id = n.org_id WHERE true"
            ),
            vec!["notes", "orgs", "tags"]
        );
        assert_eq!(
            relations_read("CREATE FUNCTION f() RETURNS SETOF notes AS $$ SELECT * FROM notes WHERE org_id = $1 $$ LANGUAGE sql"),
            vec!["notes"]
        );
    }
}
