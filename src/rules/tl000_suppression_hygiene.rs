//! TL000 suppression-hygiene: suppression comments that name no known rule.
//! The engine reports, under this rule, the comments that suppressed
//! nothing and HARD suppressions without a reason (it alone knows which
//! findings a comment met).

use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::engine::suppress;
use crate::lang::{Language, ParsedFile};

pub static RULE: RuleMeta = RuleMeta {
    id: "TL000",
    name: "suppression-hygiene",
    severity: Severity::Soft,
    languages: &[Language::Python, Language::Rust, Language::Sql],
    summary: "Suppression comments name known rules, are used, and give reasons",
    doc: include_str!("../../rules/TL000-suppression-hygiene.md"),
    triggers: |_| super::words(&["tenant-lint:"]),
    gate: None,
    needs_index: false,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

fn check(_ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    for s in suppress::parse(&file.src, file.lang) {
        for id in &s.rules {
            if !id.eq_ignore_ascii_case("all") && super::find(id).is_none() {
                let names: Vec<&str> = super::all().iter().map(|r| r.id).collect();
                let hint = crate::config::did_you_mean(id, &names)
                    .map(|m| format!("did you mean `{m}`? "))
                    .unwrap_or_default();
                out.push(Diagnostic::new(
                    s.range.clone(),
                    format!("Suppression names unknown rule `{id}`"),
                    format!("{hint}use an id from `tenant-lint rules`, or delete the comment"),
                ));
            }
        }
    }
}
