//! Inline suppressions: `# tenant-lint: allow(TL010, TL016) <reason>`
//! (`//` in Rust, `--` in SQL) on the offending line or on a comment line
//! directly above it.

use crate::lang::{Language, SourceText};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// 1-based line of the comment.
    pub line: u32,
    /// Byte range of the comment in the file.
    pub range: std::ops::Range<usize>,
    /// Rule ids or names as written.
    pub rules: Vec<String>,
    pub reason: String,
    /// True when the comment is alone on its line (applies to the next line).
    pub own_line: bool,
}

const MARKER: &str = "tenant-lint:";

/// Every suppression comment in a file.
pub fn parse(src: &SourceText, lang: Language) -> Vec<Suppression> {
    let comment = lang.comment_marker();
    let mut out = Vec::new();
    if !src.text.contains(MARKER) {
        return out;
    }
    for line_no in 1..=src.line_count() as u32 {
        let line = src.line(line_no);
        let Some(m) = line.find(MARKER) else { continue };
        let Some(c) = line[..m].rfind(comment) else {
            continue;
        };
        if !line[c + comment.len()..m].trim().is_empty() || inside_string(&line[..c]) {
            continue;
        }
        let rest = line[m + MARKER.len()..].trim_start();
        let Some(args) = rest.strip_prefix("allow(") else {
            continue;
        };
        let Some(close) = args.find(')') else {
            continue;
        };
        let rules = args[..close]
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let reason = args[close + 1..]
            .trim()
            .trim_start_matches([':', '-', '—'])
            .trim()
            .to_string();
        let line_start = src.lines_range(line_no, line_no).start;
        out.push(Suppression {
            line: line_no,
            range: line_start + c..line_start + line.len(),
            rules,
            reason,
            own_line: line[..c].trim().is_empty(),
        });
    }
    out
}

/// An odd number of quotes before the marker: it sits in a string literal.
fn inside_string(before: &str) -> bool {
    before.matches('"').count() % 2 == 1 || before.matches('\'').count() % 2 == 1
}

impl Suppression {
    /// Does this comment cover a finding starting on `line`?
    pub fn covers_line(&self, line: u32) -> bool {
        self.line == line || (self.own_line && self.line + 1 == line)
    }

    pub fn names(&self, id: &str, name: &str) -> bool {
        self.rules
            .iter()
            .any(|r| r.eq_ignore_ascii_case(id) || r == name || r.eq_ignore_ascii_case("all"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_three_comment_styles() {
        let py = SourceText::new("x = 1  # tenant-lint: allow(TL013, TL010) legacy client, removed in Q3\n# tenant-lint: allow(TL017)\ny = 2\ns = \"# tenant-lint: allow(TL001) in a string\"\n".into());
        let s = parse(&py, Language::Python);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].rules, vec!["TL013", "TL010"]);
        assert_eq!(s[0].reason, "legacy client, removed in Q3");
        assert!(!s[0].own_line && s[1].own_line && s[1].reason.is_empty());
        assert!(s[1].covers_line(3) && !s[0].covers_line(2));
        let rs = SourceText::new("let a = b; // tenant-lint: allow(TL013) test vector\n".into());
        assert_eq!(parse(&rs, Language::Rust)[0].reason, "test vector");
        let sql = SourceText::new(
            "-- tenant-lint: allow(TL003): auth path table\nCREATE POLICY p ON t USING (true);\n"
                .into(),
        );
        let s = parse(&sql, Language::Sql);
        assert_eq!(s[0].reason, "auth path table");
        assert!(s[0].covers_line(2));
    }
}
