//! `--format review`: the review document (Markdown).

use super::Report;
use crate::engine::Finding;
use crate::rules::Severity;
use std::fmt::Write;

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Tenant-Isolation Review — {}\n", r.branch);
    let _ = writeln!(
        out,
        "**Diff scope:** `{}` ({} files, {} lines)\n",
        r.description, r.files, r.changed_lines
    );
    section(
        &mut out,
        r,
        Severity::Hard,
        "## HARD findings (block merge)",
    );
    section(&mut out, r, Severity::Soft, "## SOFT findings (review)");
    let _ = writeln!(out, "## Confidence\n\n{}", r.confidence.sentence(r.mode));
    if r.suppressed > 0 || r.baselined > 0 {
        let _ = writeln!(
            out,
            "\n{} suppressed, {} accounted for by the baseline.",
            r.suppressed, r.baselined
        );
    }
    out
}

fn section(out: &mut String, r: &Report, sev: Severity, heading: &str) {
    let _ = writeln!(out, "{heading}\n");
    let list: Vec<&Finding> = r.findings.iter().filter(|f| f.severity == sev).collect();
    if list.is_empty() {
        let _ = writeln!(out, "[None]\n");
        return;
    }
    for (i, f) in list.iter().enumerate() {
        let sup = if f.suppressed { " (suppressed)" } else { "" };
        let _ = writeln!(
            out,
            "{}. **Check {} — {}:{} — {}**{sup}\n   - Current: `{}`\n   - Standard: {}\n   - Suggestion: {}",
            i + 1,
            f.rule.number(),
            f.path,
            f.start.line,
            f.title,
            f.current.replace('`', "'"),
            f.standard,
            f.suggestion
        );
    }
    out.push('\n');
}
