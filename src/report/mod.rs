//! Reports: one renderer per format, all reading the same `Report`.
//! Renderers never go back to source files or syntax trees.

mod findings;
mod github;
mod json;
mod review;
mod sarif;
mod text;

use crate::engine::{Finding, Skipped};
use crate::rules::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Review,
    Findings,
    Json,
    Sarif,
    Github,
}

/// Everything a renderer may say.
pub struct Report {
    /// `diff`, `staged`, `patch` or `full`.
    pub mode: &'static str,
    pub description: String,
    pub branch: String,
    pub files: usize,
    pub changed_lines: usize,
    /// Findings to show, HARD first, then by path and line; suppressed
    /// ones only when asked for.
    pub findings: Vec<Finding>,
    pub suppressed: usize,
    pub baselined: usize,
    pub confidence: Confidence,
    /// Files parsed for the rules, in every revision the run checked.
    pub work: crate::engine::Work,
}

pub struct Confidence {
    pub score: u32,
    pub analysed_files: usize,
    pub skipped: Vec<Skipped>,
    pub rules_not_evaluated: Vec<(String, String)>,
    /// Other gaps, in words (syntax errors, unread SQL).
    pub notes: Vec<String>,
}

impl Report {
    pub fn count(&self, sev: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| !f.suppressed && f.severity == sev)
            .count()
    }

    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.suppressed)
    }
}

impl Confidence {
    /// "92 — 11 of 12 changed files analysed; web/app.ts (TypeScript) not covered"
    pub fn sentence(&self, mode: &str) -> String {
        let total = self.analysed_files + self.skipped.len();
        let noun = if mode == "full" {
            "files"
        } else {
            "changed files"
        };
        let mut parts = vec![format!(
            "{} of {total} {noun} analysed",
            self.analysed_files
        )];
        for s in self.skipped.iter().take(10) {
            match s.reason.strip_prefix("unsupported language (") {
                Some(l) => parts.push(format!("{} ({} not covered", s.path, l)),
                None => parts.push(format!("{} not covered ({})", s.path, s.reason)),
            }
        }
        if self.skipped.len() > 10 {
            parts.push(format!(
                "{} more files not covered",
                self.skipped.len() - 10
            ));
        }
        for (id, why) in &self.rules_not_evaluated {
            parts.push(format!("{id} not evaluated ({why})"));
        }
        parts.extend(self.notes.iter().take(10).cloned());
        format!("{} — {}", self.score, parts.join("; "))
    }
}

pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Text => text::render(report, color),
        Format::Findings => findings::render(report),
        Format::Review => review::render(report),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Github => github::render(report),
    }
}

/// The review Markdown, for the GitHub job summary and PR comments.
pub fn review_markdown(report: &Report) -> String {
    review::render(report)
}
