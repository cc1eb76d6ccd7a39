//! Every rule has a page under `rules/` with the fixed sections, and the
//! page's examples behave: each Bad block fires the rule, each Good block
//! does not, and Bad blocks cover every language the rule claims.

use std::path::Path;
use tenant_lint::config::Config;
use tenant_lint::engine::{self, Content, Input, Plan};
use tenant_lint::lang::Language;
use tenant_lint::rules::{self, RuleMeta};

const SECTIONS: &[&str] = &[
    "## What it catches",
    "## Why it breaks isolation",
    "## Bad",
    "## Good",
    "## Suppressing",
    "## Options",
];

/// A fenced code block: its language tag, optional `path=`, and code.
struct Block {
    lang: String,
    path: Option<String>,
    code: String,
}

/// Fenced code blocks of a section.
fn blocks(doc: &str, section: &str) -> Vec<Block> {
    let Some(start) = doc.find(section) else {
        return Vec::new();
    };
    let body = &doc[start + section.len()..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let Some(nl) = after.find('\n') else { break };
        let info = after[..nl].trim();
        let Some(close) = after[nl + 1..].find("```") else {
            break;
        };
        let mut words = info.split_whitespace();
        let lang = words.next().unwrap_or("").to_string();
        let path = words
            .find_map(|w| w.strip_prefix("path="))
            .map(String::from);
        out.push(Block {
            lang,
            path,
            code: after[nl + 1..nl + 1 + close].to_string(),
        });
        rest = &after[nl + 1 + close + 3..];
    }
    out
}

fn ext_of(rule: &RuleMeta, lang: &str) -> &'static str {
    match lang {
        "python" => "py",
        "rust" => "rs",
        "sql" => "sql",
        other => panic!("{}: code block tagged `{other}` needs a path=", rule.id),
    }
}

/// Findings of `rule` when `files` are linted as one project.
fn findings_of(rule: &RuleMeta, files: Vec<(String, String)>, pr_body: Option<String>) -> usize {
    let config = Config::default();
    let (all, complete) = engine::select_rules(&[], &[]);
    let mut plan = Plan::new(&config, all, complete);
    plan.pr_body = pr_body;
    let inputs = files
        .iter()
        .map(|(path, code)| Input {
            path: path.clone(),
            content: Content::Bytes(code.as_bytes().to_vec()),
            changed: None,
        })
        .collect();
    engine::run(&plan, inputs)
        .0
        .into_iter()
        .flat_map(|o| {
            assert!(
                o.skip_reason.is_none(),
                "{}: example {} does not parse: {:?}",
                rule.id,
                o.path,
                o.skip_reason
            );
            o.findings
        })
        .filter(|f| f.rule.id == rule.id && !f.suppressed)
        .count()
}

/// Each section's examples as the projects they form: one per block, or
/// one for the whole section when any block names a path.
/// Files (path, code) and the PR body of one example project.
type Project = (Vec<(String, String)>, Option<String>);

fn projects(rule: &RuleMeta, section: &[Block]) -> Vec<Project> {
    let pr_body = section
        .iter()
        .find(|b| b.lang == "pr-body")
        .map(|b| b.code.clone());
    let code: Vec<&Block> = section.iter().filter(|b| b.lang != "pr-body").collect();
    let file = |i: usize, b: &Block| {
        (
            b.path
                .clone()
                .unwrap_or_else(|| format!("example{i}.{}", ext_of(rule, &b.lang))),
            b.code.clone(),
        )
    };
    if code.iter().any(|b| b.path.is_some()) {
        vec![(
            code.iter().enumerate().map(|(i, b)| file(i, b)).collect(),
            pr_body,
        )]
    } else {
        code.iter()
            .enumerate()
            .map(|(i, b)| (vec![file(i, b)], pr_body.clone()))
            .collect()
    }
}

#[test]
fn every_rule_has_a_complete_page() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    for rule in rules::all() {
        let path = dir.join(rule.doc_file());
        let on_disk = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{} has no page {}", rule.id, path.display()));
        assert_eq!(
            on_disk, rule.doc,
            "{}: embedded doc differs from the file",
            rule.id
        );
        assert!(
            rule.doc
                .starts_with(&format!("# {} {}\n", rule.id, rule.name)),
            "{}: page must start with `# {} {}`",
            rule.id,
            rule.id,
            rule.name
        );
        let langs: Vec<&str> = rule.languages.iter().map(|l| l.display()).collect();
        let header = format!(
            "**Severity:** {} · **Languages:** {}",
            rule.severity.label(),
            langs.join(", ")
        );
        assert!(
            rule.doc.contains(&header),
            "{}: page must declare `{header}`",
            rule.id
        );
        let mut at = 0;
        for s in SECTIONS {
            let pos = rule
                .doc
                .find(s)
                .unwrap_or_else(|| panic!("{}: missing section `{s}`", rule.id));
            assert!(pos >= at, "{}: section `{s}` out of order", rule.id);
            at = pos;
        }
    }
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            rules::all().iter().any(|r| r.doc_file() == name),
            "rules/{name} belongs to no registered rule"
        );
    }
}

#[test]
fn bad_examples_fire_and_good_examples_do_not() {
    for rule in rules::all() {
        let bad = blocks(rule.doc, "## Bad");
        let good = blocks(rule.doc, "## Good");
        assert!(
            !bad.is_empty() && !good.is_empty(),
            "{}: Bad and Good need code blocks",
            rule.id
        );
        for (files, body) in projects(rule, &bad) {
            let names: Vec<&String> = files.iter().map(|(p, _)| p).collect();
            assert!(
                findings_of(rule, files.clone(), body) > 0,
                "{}: Bad example {names:?} does not fire",
                rule.id
            );
        }
        for (files, body) in projects(rule, &good) {
            let names: Vec<&String> = files.iter().map(|(p, _)| p).collect();
            assert_eq!(
                findings_of(rule, files.clone(), body),
                0,
                "{}: Good example {names:?} fires",
                rule.id
            );
        }
        for l in rule.languages {
            let tag = match l {
                Language::Python => "python",
                Language::Rust => "rust",
                Language::Sql => "sql",
            };
            if rule.id != "TL000" {
                assert!(
                    bad.iter().any(|b| b.lang == tag),
                    "{}: no Bad example in {tag}",
                    rule.id
                );
            }
        }
    }
}
