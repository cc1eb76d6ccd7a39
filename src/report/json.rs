//! `--format json`: the stable machine-readable report (version 1).

use super::Report;
use serde_json::{json, Value};

pub fn render(r: &Report) -> String {
    let findings: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            json!({
                "rule": f.rule.id,
                "name": f.rule.name,
                "severity": f.severity.label(),
                "path": f.path,
                "line": f.start.line,
                "column": f.start.col,
                "end_line": f.end.line,
                "end_column": f.end.col,
                "language": f.language.name(),
                "title": f.title,
                "current": f.current,
                "standard": f.standard,
                "suggestion": f.suggestion,
                "in_change": f.in_change,
                "suppressed": f.suppressed,
                "fingerprint": f.fingerprint,
            })
        })
        .collect();
    let c = &r.confidence;
    let doc = json!({
        "version": 1,
        "tool": {"name": "tenant-lint", "version": env!("CARGO_PKG_VERSION")},
        "scope": {"mode": r.mode, "description": r.description, "files": r.files, "changed_lines": r.changed_lines},
        "findings": findings,
        "confidence": {
            "score": c.score,
            "analysed_files": c.analysed_files,
            "skipped": c.skipped.iter().map(|s| json!({"path": s.path, "reason": s.reason})).collect::<Vec<_>>(),
            "rules_not_evaluated": c.rules_not_evaluated.iter().map(|(id, why)| json!({"rule": id, "reason": why})).collect::<Vec<_>>(),
        },
        "summary": {"hard": r.count(crate::rules::Severity::Hard), "soft": r.count(crate::rules::Severity::Soft), "suppressed": r.suppressed},
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
