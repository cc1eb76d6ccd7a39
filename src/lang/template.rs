//! `{}` format templates, as Python's `str.format` and Rust's `format!`
//! write them: literal text, `{{`/`}}` escapes, and holes.

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text, escapes resolved.
    Lit(String),
    /// The text between a hole's braces: `""`, `"0"`, `"name"`, `"x:?"`.
    Hole(String),
}

/// The pieces of `template` in order; literal runs are merged, and an
/// unterminated hole runs to the end.
pub fn pieces(template: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                lit.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                lit.push('}');
            }
            '{' => {
                if !lit.is_empty() {
                    out.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                let hole: String = chars.by_ref().take_while(|&x| x != '}').collect();
                out.push(Piece::Hole(hole));
            }
            _ => lit.push(c),
        }
    }
    if !lit.is_empty() {
        out.push(Piece::Lit(lit));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_holes_and_specs() {
        assert_eq!(
            pieces("SELECT {} FROM {{t}} WHERE a = {name:?} AND b = {0}{unterminated"),
            [
                Piece::Lit("SELECT ".into()),
                Piece::Hole("".into()),
                Piece::Lit(" FROM {t} WHERE a = ".into()),
                Piece::Hole("name:?".into()),
                Piece::Lit(" AND b = ".into()),
                Piece::Hole("0".into()),
                Piece::Hole("unterminated".into()),
            ]
        );
        assert!(pieces("").is_empty());
    }
}
