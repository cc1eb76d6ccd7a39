//! `--format github`: workflow commands, HARD first (GitHub shows only
//! the first ten annotations per level and step).

use super::Report;
use crate::rules::Severity;
use std::fmt::Write;

/// Escape a message (`%`, CR, LF).
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property value (also `:` and `,`).
fn prop(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let mut list: Vec<_> = r.active().collect();
    list.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for f in list {
        let level = if f.severity == Severity::Hard {
            "error"
        } else {
            "warning"
        };
        let _ = writeln!(
            out,
            "::{level} file={},line={},endLine={},col={},endColumn={},title={}::{}",
            prop(&f.path),
            f.start.line,
            f.end.line,
            f.start.col,
            f.end.col,
            prop(&format!("{} {}", f.rule.id, f.rule.name)),
            data(&format!(
                "{}\nSuggestion: {}\nStandard: {}",
                f.title, f.suggestion, f.standard
            ))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes() {
        assert_eq!(super::data("50%\r\nx"), "50%25%0D%0Ax");
        assert_eq!(super::prop("a:b,c"), "a%3Ab%2Cc");
    }
}
