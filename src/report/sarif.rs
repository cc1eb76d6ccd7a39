//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning.

use super::Report;
use crate::rules::{self, Severity};
use serde_json::{json, Value};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Hard => "error",
        Severity::Soft => "warning",
    }
}

pub fn help_uri(doc_file: &str) -> String {
    format!(
        "{}/blob/main/rules/{doc_file}",
        env!("CARGO_PKG_REPOSITORY")
    )
}

pub fn render(r: &Report) -> String {
    let all = rules::all();
    let descriptors: Vec<Value> = all
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id,
                "name": rule.name,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule.summary},
                "helpUri": help_uri(&rule.doc_file()),
                "help": {"text": rule.summary, "markdown": rule.doc},
                "defaultConfiguration": {"level": level(rule.severity)},
                "properties": {
                    "tags": ["security", "tenant-isolation"],
                    "security-severity": if rule.severity == Severity::Hard { "8.0" } else { "5.0" },
                },
            })
        })
        .collect();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let index = all.iter().position(|x| x.id == f.rule.id).unwrap_or(0);
            let mut res = json!({
                "ruleId": f.rule.id,
                "ruleIndex": index,
                "level": level(f.severity),
                "message": {"text": format!("{} Suggestion: {}", f.title, f.suggestion)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri_escape(&f.path), "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": f.start.line,
                            "startColumn": f.start.col,
                            "endLine": f.end.line,
                            "endColumn": f.end.col.max(1),
                            "snippet": {"text": f.current},
                        },
                    },
                }],
                "partialFingerprints": {"tenantLint/v1": f.fingerprint},
            });
            if f.suppressed {
                res["suppressions"] = json!([{"kind": "inSource"}]);
            }
            res
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "tenant-lint",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": descriptors,
            }},
            "automationDetails": {"id": format!("tenant-lint/{}/", r.mode)},
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// Percent-encode what may not appear raw in a relative URI reference.
fn uri_escape(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
