//! `--format findings`: the plain review blocks.

use super::Report;
use std::fmt::Write;

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    for f in &r.findings {
        let sup = if f.suppressed { " (suppressed)" } else { "" };
        let _ = writeln!(
            out,
            "[{}] {}:{} — Check {}: {}{sup}\n  Current:    {}\n  Standard:   {}\n  Suggestion: {}\n",
            f.severity.label(),
            f.path,
            f.start.line,
            f.rule.number(),
            f.rule.name,
            f.current,
            f.standard,
            f.suggestion
        );
    }
    out
}
