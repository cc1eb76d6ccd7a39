//! One harness for every rule's fixtures.
//!
//! A fixture is ordinary code with expectations in comments:
//! `expect: TL013` on a line that must be reported, `ok: TL013` on a near
//! miss that must stay silent (a comment alone on its line applies to the
//! next code line). Every finding of the directory's rule on a line without
//! `expect:` is Noisy; every `expect:` without a finding is Missing.
//! The whole set runs twice, with and without the byte pre-filter, and the
//! two runs must agree finding for finding.

use std::collections::BTreeSet;
use std::path::Path;
use tenant_lint::config::Config;
use tenant_lint::engine::{self, Content, Input, Plan};
use tenant_lint::lang::Language;

struct Expectations {
    expect: BTreeSet<u32>,
    ok: BTreeSet<u32>,
}

fn expectations(text: &str, rule: &str, lang: Language) -> Expectations {
    let marker = lang.comment_marker();
    let lines: Vec<&str> = text.lines().collect();
    let mut e = Expectations {
        expect: BTreeSet::new(),
        ok: BTreeSet::new(),
    };
    for (i, line) in lines.iter().enumerate() {
        for (kind, set) in [("expect:", &mut e.expect), ("ok:", &mut e.ok)] {
            let Some(c) = line.find(marker) else { continue };
            let comment = &line[c..];
            let Some(at) = comment.find(kind) else {
                continue;
            };
            let ids = &comment[at + kind.len()..];
            if !ids.split([',', ' ']).any(|id| id.trim() == rule) {
                continue;
            }
            let own_line = line[..c].trim().is_empty();
            let target = if own_line {
                // the next non-blank, non-comment line
                (i + 1..lines.len()).find(|&j| {
                    let t = lines[j].trim();
                    !t.is_empty() && !t.starts_with(marker)
                })
            } else {
                Some(i)
            };
            if let Some(t) = target {
                set.insert(t as u32 + 1);
            }
        }
    }
    e
}

fn lint(path: &str, text: &str, prefilter: bool) -> Vec<(String, u32, String)> {
    let config = Config::default();
    let (rules, complete) = engine::select_rules(&[], &[]);
    let mut plan = Plan::new(&config, rules, complete);
    plan.prefilter = prefilter;
    let input = Input {
        path: path.to_string(),
        content: Content::Bytes(text.as_bytes().to_vec()),
        changed: None,
    };
    let (out, _) = engine::run(&plan, vec![input]);
    out.into_iter()
        .flat_map(|o| o.findings)
        .filter(|f| !f.suppressed)
        .map(|f| (f.rule.id.to_string(), f.start.line, f.title))
        .collect()
}

#[test]
fn every_fixture_meets_its_expectations() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut problems = Vec::new();
    let mut checked = 0;
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|d| d.path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let Some(rule) = dir.file_name().and_then(|n| n.to_str()).map(String::from) else {
            continue;
        };
        if !rule.starts_with("TL") {
            continue;
        }
        assert!(
            tenant_lint::rules::find(&rule).is_some(),
            "fixtures/{rule} names no registered rule"
        );
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|d| d.path())
            .collect();
        files.sort();
        for file in files {
            let rel = file
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let Some(lang) = Language::from_path(&rel) else {
                continue;
            };
            let text = std::fs::read_to_string(&file).unwrap();
            let exp = expectations(&text, &rule, lang);
            assert!(
                !exp.expect.is_empty() || !exp.ok.is_empty(),
                "fixtures/{rel} has no `expect:` or `ok:` annotation for {rule}"
            );
            let with = lint(&rel, &text, true);
            let without = lint(&rel, &text, false);
            if with != without {
                problems.push(format!("fixtures/{rel}: the pre-filter changed the verdict:\n  with:    {with:?}\n  without: {without:?}"));
            }
            let found: Vec<&(String, u32, String)> =
                with.iter().filter(|(id, _, _)| *id == rule).collect();
            let found_lines: BTreeSet<u32> = found.iter().map(|(_, l, _)| *l).collect();
            for l in &exp.expect {
                if !found_lines.contains(l) {
                    problems.push(format!(
                        "Missing fixtures/{rel}:{l}: {}",
                        text.lines().nth(*l as usize - 1).unwrap_or("").trim()
                    ));
                }
            }
            for (_, l, title) in &found {
                if !exp.expect.contains(l) {
                    problems.push(format!(
                        "Noisy   fixtures/{rel}:{l}: {title}  | {}",
                        text.lines().nth(*l as usize - 1).unwrap_or("").trim()
                    ));
                }
            }
            checked += exp.expect.len() + exp.ok.len();
        }
    }
    assert!(checked > 100, "only {checked} annotated lines found");
    assert!(
        problems.is_empty(),
        "{} fixture problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
