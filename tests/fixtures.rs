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

/// A fixture unit: one file, or a directory linted as one project (its
/// files share a project index). A directory may hold `tenant-lint.toml`
/// (config) and `pr-body.md` (the pull-request description).
struct Unit {
    files: Vec<(String, String)>,
    config: Config,
    pr_body: Option<String>,
}

fn unit(root: &Path, path: &Path) -> Unit {
    let rel = |p: &Path| {
        p.strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/")
    };
    if path.is_file() {
        let text = std::fs::read_to_string(path).unwrap();
        return Unit {
            files: vec![(rel(path), text)],
            config: Config::default(),
            pr_body: None,
        };
    }
    let mut files = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if Language::from_path(&p.to_string_lossy()).is_some()
                || tenant_lint::index::deploy::is_deploy_file(&rel(&p))
            {
                files.push((rel(&p), std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    files.sort();
    let config = match std::fs::read_to_string(path.join("tenant-lint.toml")) {
        Ok(t) => Config::from_toml_str(&t, "fixture config").unwrap(),
        Err(_) => Config::default(),
    };
    let pr_body = std::fs::read_to_string(path.join("pr-body.md")).ok();
    Unit {
        files,
        config,
        pr_body,
    }
}

/// (rule, path, line, title) of every unsuppressed finding.
fn lint(u: &Unit, prefilter: bool) -> Vec<(String, String, u32, String)> {
    let (rules, complete) = engine::select_rules(&[], &[]);
    let mut plan = Plan::new(&u.config, rules, complete);
    plan.prefilter = prefilter;
    plan.pr_body = u.pr_body.clone();
    let inputs = u
        .files
        .iter()
        .map(|(path, text)| Input {
            path: path.clone(),
            content: Content::Bytes(text.as_bytes().to_vec()),
            changed: None,
        })
        .collect();
    let (out, _) = engine::run(&plan, inputs);
    out.into_iter()
        .flat_map(|o| o.findings)
        .filter(|f| !f.suppressed)
        .map(|f| (f.rule.id.to_string(), f.path, f.start.line, f.title))
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
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|d| d.path())
            .collect();
        entries.sort();
        for entry in entries {
            let u = unit(&root, &entry);
            let with = lint(&u, true);
            let without = lint(&u, false);
            if with != without {
                problems.push(format!(
                    "{}: the pre-filter changed the verdict:\n  with:    {with:?}\n  without: {without:?}",
                    entry.display()
                ));
            }
            for (rel, text) in &u.files {
                let Some(lang) = Language::from_path(rel) else {
                    continue;
                };
                let exp = expectations(text, &rule, lang);
                let found: Vec<&(String, String, u32, String)> = with
                    .iter()
                    .filter(|(id, p, _, _)| *id == rule && p == rel)
                    .collect();
                if exp.expect.is_empty() && exp.ok.is_empty() && found.is_empty() {
                    continue;
                }
                let found_lines: BTreeSet<u32> = found.iter().map(|(_, _, l, _)| *l).collect();
                let line = |l: u32| {
                    text.lines()
                        .nth(l as usize - 1)
                        .unwrap_or("")
                        .trim()
                        .to_string()
                };
                for l in &exp.expect {
                    if !found_lines.contains(l) {
                        problems.push(format!("Missing fixtures/{rel}:{l}: {}", line(*l)));
                    }
                }
                for (_, _, l, title) in &found {
                    if !exp.expect.contains(l) {
                        problems.push(format!(
                            "Noisy   fixtures/{rel}:{l}: {title}  | {}",
                            line(*l)
                        ));
                    }
                }
                checked += exp.expect.len() + exp.ok.len();
            }
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
