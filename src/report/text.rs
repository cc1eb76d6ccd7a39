//! `--format text`: source snippets with the offending span underlined.

use super::Report;
use crate::rules::Severity;
use annotate_snippets::{Level, Renderer, Snippet};
use std::fmt::Write;

pub fn render(r: &Report, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for f in &r.findings {
        let level = match f.severity {
            Severity::Hard => Level::Error,
            Severity::Soft => Level::Warning,
        };
        let title = format!(
            "[{}] {} {}: {}{}",
            f.severity.label(),
            f.rule.id,
            f.rule.name,
            f.title,
            if f.suppressed { " (suppressed)" } else { "" }
        );
        let span = clamp_span(&f.snippet.text, f.snippet.span.clone());
        let standard = format!("standard: {}", f.standard);
        let suggestion = format!("suggestion: {}", f.suggestion);
        let message = level
            .title(&title)
            .snippet(
                Snippet::source(&f.snippet.text)
                    .line_start(f.snippet.first_line as usize)
                    .origin(&f.path)
                    .fold(true)
                    .annotation(level.span(span).label(f.rule.name)),
            )
            .footer(Level::Help.title(&suggestion))
            .footer(Level::Note.title(&standard));
        let _ = writeln!(out, "{}\n", renderer.render(message));
    }
    let hard = r.count(Severity::Hard);
    let soft = r.count(Severity::Soft);
    let mut tail = vec![format!("{} HARD, {} SOFT", hard, soft)];
    if r.suppressed > 0 {
        tail.push(format!("{} suppressed", r.suppressed));
    }
    if r.baselined > 0 {
        tail.push(format!("{} in baseline", r.baselined));
    }
    let _ = writeln!(
        out,
        "tenant-lint: {} in {} ({} files). Confidence {}",
        tail.join(", "),
        r.description,
        r.files,
        r.confidence.sentence(r.mode)
    );
    out
}

/// annotate-snippets needs a non-empty span on char boundaries.
fn clamp_span(text: &str, mut s: std::ops::Range<usize>) -> std::ops::Range<usize> {
    s.start = s.start.min(text.len());
    s.end = s.end.min(text.len()).max(s.start);
    while !text.is_char_boundary(s.start) {
        s.start -= 1;
    }
    while !text.is_char_boundary(s.end) {
        s.end += 1;
    }
    if s.end == s.start {
        if let Some(c) = text[s.start..].chars().next() {
            s.end = s.start + c.len_utf8();
        }
    }
    s
}
