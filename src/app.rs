//! Wires the pipeline for one invocation: config → inputs → engine (base
//! and head) → new findings → baseline → report → exit code.

use crate::cli::{Cli, Command, FailOn};
use crate::config::{self, Config};
use crate::engine::cache::FactsCache;
use crate::engine::{
    self, baseline::Baseline, Content, FileOutcome, Finding, Input, Plan, Skipped,
};
use crate::index::{self, ProjectIndex};
use crate::input::{git::Repo, patch, walk, Change, ChangedFile};
use crate::lang::{self, Language};
use crate::report::{self, Confidence, Format, Report};
use crate::rules::{self, Severity};
use std::collections::HashMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A failure that ends the run with exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(String),
}

pub fn run(cli: Cli) -> Result<i32, AppError> {
    match &cli.command {
        Some(Command::Rules) => return Ok(list_rules()),
        Some(Command::Rule { id }) => return show_rule(id),
        Some(Command::Init {
            preset,
            path,
            force,
        }) => return init(preset, path, *force),
        None => {}
    }
    if let Some(n) = cli.jobs {
        if n == 0 {
            return Err(AppError::Usage("-j needs at least 1 thread".into()));
        }
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    let started = Instant::now();
    let cwd = std::env::current_dir()
        .map_err(|e| AppError::Io(format!("cannot read the current directory: {e}")))?;
    let loaded = Config::load(cli.config.as_deref(), &cwd)?;
    let config = loaded.config;
    let select: Vec<String> = if cli.select.is_empty() {
        config.select.clone()
    } else {
        cli.select.clone()
    };
    let ignore: Vec<String> = config.ignore.iter().chain(&cli.ignore).cloned().collect();
    for id in select.iter().chain(&ignore) {
        if !id.eq_ignore_ascii_case("all") && rules::find(id).is_none() {
            let names: Vec<&str> = rules::all().iter().map(|r| r.id).collect();
            let hint = config::did_you_mean(id, &names)
                .map(|m| format!(" (did you mean {m}?)"))
                .unwrap_or_default();
            return Err(AppError::Usage(format!(
                "unknown rule `{id}`{hint}; `tenant-lint rules` lists them"
            )));
        }
    }
    let (chosen, complete) = engine::select_rules(&select, &ignore);
    let mut plan = Plan::new(&config, chosen, complete);
    plan.prefilter = !cli.no_prefilter;
    plan.pr_body = read_pr_body(cli.pr_body.as_deref())?;

    let mut report = if let Some(paths) = &cli.all {
        full_scan(&cli, &plan, &cwd, paths)?
    } else {
        let (change, tree) = load_change(&cli, &cwd)?;
        let context = if plan.needs_index {
            tree.inputs(&plan, &change)?
        } else {
            Vec::new()
        };
        let cache =
            (!cli.no_cache && plan.needs_index).then(|| FactsCache::open(&tree.cache_dir()));
        let report = review_change(&plan, change, context, cache.as_ref());
        if let Some(c) = cache {
            c.save();
        }
        report
    };

    if let Some(path) = &cli.write_baseline {
        let b = Baseline::from_findings(report.findings.iter().filter(|f| !f.suppressed));
        let text = serde_json::to_string_pretty(&b).map_err(|e| AppError::Io(e.to_string()))?;
        std::fs::write(path, text + "\n")
            .map_err(|e| AppError::Io(format!("cannot write baseline {}: {e}", path.display())))?;
        if !cli.quiet {
            eprintln!(
                "tenant-lint: wrote {} findings to baseline {}",
                b.findings.iter().map(|e| e.count).sum::<u32>(),
                path.display()
            );
        }
    }
    if let Some(path) = &cli.baseline {
        let text = std::fs::read_to_string(path).map_err(|e| {
            AppError::Io(format!(
                "cannot read baseline {}: {}",
                path.display(),
                e.kind()
            ))
        })?;
        let b = Baseline::parse(&text).map_err(|e| {
            AppError::Usage(format!(
                "{}: {e}; write one with --write-baseline",
                path.display()
            ))
        })?;
        report.baselined = b.filter(&mut report.findings);
    }
    report.suppressed = report.findings.iter().filter(|f| f.suppressed).count();
    if !cli.show_suppressed {
        report.findings.retain(|f| !f.suppressed);
    }
    report.findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.path.cmp(&b.path))
            .then_with(|| a.start.cmp(&b.start))
            .then_with(|| a.rule.id.cmp(b.rule.id))
    });

    let in_actions = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
    let format = cli.format.unwrap_or(Format::Text);
    let to_terminal = cli.output.is_none() && std::io::stdout().is_terminal();
    let color = format == Format::Text && to_terminal && std::env::var_os("NO_COLOR").is_none();
    let mut rendered = report::render(&report, format, color);
    if format == Format::Text && cli.quiet {
        if let Some(i) = rendered.rfind("tenant-lint: ") {
            rendered.truncate(i);
        }
    }
    if cli.format.is_none() && in_actions {
        rendered.push_str(&report::render(&report, Format::Github, false));
    }
    match &cli.output {
        Some(p) => std::fs::write(p, &rendered)
            .map_err(|e| AppError::Io(format!("cannot write {}: {}", p.display(), e.kind())))?,
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(rendered.as_bytes());
        }
    }
    if cli.verbose {
        eprintln!(
            "tenant-lint: {} files, {} analysed, {} rules, {:.1} ms",
            report.files,
            report.confidence.analysed_files,
            plan.rules.len(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        let w = &report.work;
        let per_rule: Vec<String> = w.per_rule.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let scope = if report.mode == "full" {
            format!(
                "the pre-filter let {} of {} files ({} lines) through to the rules",
                w.parsed_files, report.files, w.parsed_lines
            )
        } else {
            format!(
                "the rules ran on {} file versions ({} lines) across both revisions",
                w.parsed_files, w.parsed_lines
            )
        };
        let per_rule = if per_rule.is_empty() {
            "none".to_string()
        } else {
            per_rule.join(", ")
        };
        eprintln!("tenant-lint: {scope}; files per rule: {per_rule}");
    }
    let fails = match cli.fail_on {
        FailOn::Never => false,
        FailOn::Soft => report.active().next().is_some(),
        FailOn::Hard => report.active().any(|f| f.severity == Severity::Hard),
    };
    Ok(i32::from(fails))
}

fn list_rules() -> i32 {
    let mut out = String::new();
    for r in rules::all() {
        let langs: Vec<&str> = r.languages.iter().map(|l| l.display()).collect();
        out.push_str(&format!(
            "{}  {:<28} {}  {:<18} {}\n",
            r.id,
            r.name,
            r.severity.label(),
            langs.join(", "),
            r.summary
        ));
    }
    print!("{out}");
    0
}

fn show_rule(id: &str) -> Result<i32, AppError> {
    match rules::find(id) {
        Some(r) => {
            print!("{}", r.doc);
            Ok(0)
        }
        None => {
            let names: Vec<&str> = rules::all().iter().flat_map(|r| [r.id, r.name]).collect();
            let hint = config::did_you_mean(id, &names)
                .map(|m| format!("did you mean `{m}`? "))
                .unwrap_or_default();
            Err(AppError::Usage(format!(
                "no rule `{id}`; {hint}`tenant-lint rules` lists them"
            )))
        }
    }
}

fn init(preset: &str, path: &Path, force: bool) -> Result<i32, AppError> {
    let text = config::starter_toml(preset).ok_or_else(|| {
        AppError::Usage(format!(
            "unknown preset `{preset}`; known presets: {}",
            config::preset_names().join(", ")
        ))
    })?;
    if path.exists() && !force {
        return Err(AppError::Usage(format!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        )));
    }
    std::fs::write(path, text)
        .map_err(|e| AppError::Io(format!("cannot write {}: {}", path.display(), e.kind())))?;
    println!("wrote {} (preset {preset})", path.display());
    Ok(0)
}

/// The pull-request description: `--pr-body`, else the GitHub event payload.
fn read_pr_body(path: Option<&Path>) -> Result<Option<String>, AppError> {
    if let Some(p) = path {
        return std::fs::read_to_string(p).map(Some).map_err(|e| {
            AppError::Io(format!(
                "cannot read --pr-body {}: {}",
                p.display(),
                e.kind()
            ))
        });
    }
    let Some(event) = std::env::var_os("GITHUB_EVENT_PATH") else {
        return Ok(None);
    };
    let Ok(text) = std::fs::read_to_string(event) else {
        return Ok(None);
    };
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    Ok(v.pointer("/pull_request/body")
        .and_then(|b| b.as_str())
        .map(String::from))
}

// ------------------------------------------------------------ full scan

fn full_scan(cli: &Cli, plan: &Plan, cwd: &Path, paths: &[PathBuf]) -> Result<Report, AppError> {
    let paths: Vec<PathBuf> = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let described = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let repo = Repo::discover(cwd).ok();
    let (inputs, branch): (Vec<Input>, String) = if let Some(rev) = &cli.head {
        let repo = repo.ok_or_else(|| AppError::Usage("--head needs a git repository".into()))?;
        let prefixes: Vec<String> = paths
            .iter()
            .map(|p| {
                p.to_string_lossy()
                    .trim_start_matches("./")
                    .trim_end_matches('/')
                    .to_string()
            })
            .filter(|p| p != "." && !p.is_empty())
            .collect();
        let mut inputs = Vec::new();
        for path in repo.list_tree(rev)? {
            let wanted =
                Language::from_path(&path).is_some() || index::deploy::is_deploy_file(&path);
            if !wanted || plan.is_excluded(&path) {
                continue;
            }
            if !prefixes.is_empty()
                && !prefixes
                    .iter()
                    .any(|p| path == *p || path.starts_with(&format!("{p}/")))
            {
                continue;
            }
            if let Some(bytes) = repo.read_at(rev, &path)? {
                inputs.push(Input {
                    path,
                    content: Content::Bytes(bytes),
                    changed: None,
                });
            }
        }
        (inputs, rev.clone())
    } else {
        let root = repo
            .as_ref()
            .map(|r| r.root())
            .unwrap_or_else(|| cwd.to_path_buf());
        let files = walk::supported_files(&root, &paths, rayon::current_num_threads())?;
        let inputs = files
            .into_iter()
            .filter(|(rel, _)| !plan.is_excluded(rel))
            .map(|(path, disk)| Input {
                path,
                content: Content::Disk(disk),
                changed: None,
            })
            .collect();
        let branch = repo.as_ref().map(|r| r.branch_name()).unwrap_or_else(|| {
            cwd.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| ".".into())
        });
        (inputs, branch)
    };
    let (outcomes, index) = engine::run(plan, inputs);
    let mut work = engine::Work::default();
    work.add(&outcomes);
    let files = outcomes.len();
    let total_lines: usize = outcomes.iter().map(|o| o.lines).sum();
    let weights: HashMap<String, usize> =
        outcomes.iter().map(|o| (o.path.clone(), o.lines)).collect();
    let mut confidence = confidence(&outcomes, &weights);
    // A full scan has no pull request: rules about one do not apply.
    if plan.pr_body.is_none() {
        let pr_rules: Vec<&str> = plan
            .rules
            .iter()
            .filter(|r| r.needs_pr_body)
            .map(|r| r.id)
            .collect();
        let before = confidence.rules_not_evaluated.len();
        confidence
            .rules_not_evaluated
            .retain(|(id, _)| !pr_rules.contains(&id.as_str()));
        let restored = 5 * (before - confidence.rules_not_evaluated.len()) as u32;
        confidence.score = (confidence.score + restored).min(100);
    }
    add_unread(&mut confidence, &index, None);
    let findings = outcomes.into_iter().flat_map(|o| o.findings).collect();
    Ok(Report {
        mode: "full",
        description: format!("full scan of {described}"),
        branch,
        files,
        changed_lines: total_lines,
        findings,
        suppressed: 0,
        baselined: 0,
        confidence,
        work,
    })
}

// ------------------------------------------------------------ diff review

/// Where the unchanged files of the head revision are read from, for the
/// project index.
enum Tree {
    Disk(PathBuf),
    Rev(Repo, String),
}

impl Tree {
    /// `.tenant-lint-cache` at the work-tree root (inside `.git` for a
    /// bare repository); `TENANT_LINT_CACHE_DIR` overrides.
    fn cache_dir(&self) -> PathBuf {
        if let Some(d) = std::env::var_os("TENANT_LINT_CACHE_DIR") {
            return PathBuf::from(d);
        }
        match self {
            Tree::Disk(root) => root.join(".tenant-lint-cache"),
            Tree::Rev(repo, _) => repo.repo.path().join("tenant-lint-cache"),
        }
    }

    /// Unchanged supported files that may hold schema facts.
    fn inputs(&self, plan: &Plan, change: &Change) -> Result<Vec<Input>, AppError> {
        let changed: std::collections::HashSet<&str> = change
            .files
            .iter()
            .flat_map(|f| [f.old_path.as_deref(), f.new_path.as_deref()])
            .flatten()
            .collect();
        let keep = |p: &str| !changed.contains(p) && !plan.is_excluded(p);
        Ok(match self {
            Tree::Disk(root) => walk::supported_files(
                root,
                std::slice::from_ref(root),
                rayon::current_num_threads(),
            )?
            .into_iter()
            .filter(|(rel, _)| keep(rel))
            .map(|(path, disk)| Input {
                path,
                content: Content::Disk(disk),
                changed: Some(Vec::new()),
            })
            .collect(),
            Tree::Rev(repo, rev) => {
                let mut v = Vec::new();
                for path in repo.list_tree(rev)? {
                    let wanted = Language::from_path(&path).is_some()
                        || index::deploy::is_deploy_file(&path);
                    if wanted && keep(&path) {
                        if let Some(bytes) = repo.read_at(rev, &path)? {
                            v.push(Input {
                                path,
                                content: Content::Bytes(bytes),
                                changed: Some(Vec::new()),
                            });
                        }
                    }
                }
                v
            }
        })
    }
}

fn load_change(cli: &Cli, cwd: &Path) -> Result<(Change, Tree), AppError> {
    if let Some(src) = &cli.diff {
        let change = patch_change(src, cli.head.as_deref(), cwd)?;
        let tree = match (Repo::discover(cwd), &cli.head) {
            (Ok(repo), Some(h)) => Tree::Rev(repo, h.clone()),
            (Ok(repo), None) => Tree::Disk(repo.root()),
            (Err(_), _) => Tree::Disk(cwd.to_path_buf()),
        };
        return Ok((change, tree));
    }
    let repo = Repo::discover(cwd)?;
    if cli.staged {
        // `pre-commit run --from-ref A --to-ref B` (pre-push, CI) names a range.
        let range = (
            std::env::var("PRE_COMMIT_FROM_REF"),
            std::env::var("PRE_COMMIT_TO_REF"),
        );
        if let (Ok(from), Ok(to)) = range {
            if !from.is_empty() && !to.is_empty() {
                let change = repo.commit_change(&from, &to)?;
                return Ok((change, Tree::Rev(repo, to)));
            }
        }
        let change = repo.staged_change()?;
        return Ok((change, Tree::Rev(repo, "HEAD".into())));
    }
    let base = match &cli.base {
        Some(b) => b.clone(),
        None => repo.default_base()?,
    };
    match &cli.head {
        Some(h) => {
            let change = repo.commit_change(&base, h)?;
            Ok((change, Tree::Rev(repo, h.clone())))
        }
        None => {
            let change = repo.worktree_change(&base)?;
            let root = repo.root();
            Ok((change, Tree::Disk(root)))
        }
    }
}

fn patch_change(src: &str, head: Option<&str>, cwd: &Path) -> Result<Change, AppError> {
    let (text, description) = if src == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| AppError::Io(format!("cannot read the patch from stdin: {e}")))?;
        (buf, "patch from stdin".to_string())
    } else {
        let buf = std::fs::read(src)
            .map_err(|e| AppError::Io(format!("cannot read patch {src}: {}", e.kind())))?;
        (buf, format!("patch {src}"))
    };
    let text = String::from_utf8_lossy(&text);
    let patches =
        patch::parse(&text).map_err(|e| AppError::Usage(format!("{description}: {e}")))?;
    let repo = Repo::discover(cwd).ok();
    let root = repo
        .as_ref()
        .map(|r| r.root())
        .unwrap_or_else(|| cwd.to_path_buf());
    let mut files = Vec::new();
    for p in patches {
        let head_bytes = match (&p.new_path, head, &repo) {
            (None, _, _) => None,
            (Some(path), Some(rev), Some(r)) => r.read_at(rev, path)?,
            (Some(_), Some(_), None) => {
                return Err(AppError::Usage("--head needs a git repository".into()))
            }
            (Some(path), None, _) => std::fs::read(root.join(path)).ok(),
        };
        let mut file = ChangedFile {
            old_path: p.old_path.clone(),
            new_path: p.new_path.clone(),
            changed: p.changed_lines(),
            lines_changed: p.lines_changed(),
            binary: p.binary,
            ..ChangedFile::default()
        };
        if p.new_path.is_some() && head_bytes.is_none() && !p.binary {
            file.base_unknown = Some(format!(
                "{} is in the patch but not in the work tree",
                p.path()
            ));
        }
        if p.old_path.is_some() && !p.binary {
            let post = head_bytes.as_deref().map(String::from_utf8_lossy);
            match p.reverse_apply(post.as_deref()) {
                Ok(pre) => file.base = Some(pre.into_bytes()),
                Err(e) => {
                    file.base_unknown = Some(format!("pre-image of {} not rebuilt: {e}", p.path()))
                }
            }
        }
        file.head = head_bytes;
        files.push(file);
    }
    let branch = repo
        .as_ref()
        .map(|r| r.branch_name())
        .unwrap_or_else(|| "patch".into());
    Ok(Change {
        description,
        branch,
        files,
    })
}

fn review_change(
    plan: &Plan,
    change: Change,
    context: Vec<Input>,
    cache: Option<&FactsCache>,
) -> Report {
    let files: Vec<ChangedFile> = change
        .files
        .into_iter()
        .filter(|f| !plan.is_excluded(f.display_path()))
        .collect();
    let mut head_inputs = Vec::new();
    let mut base_inputs = Vec::new();
    let mut notes = Vec::new();
    let mut skipped_early = Vec::new();
    for f in &files {
        if f.binary {
            if Language::from_path(f.display_path()).is_some() {
                skipped_early.push(Skipped {
                    path: f.display_path().into(),
                    reason: "binary file".into(),
                });
            }
            continue;
        }
        if let Some(why) = &f.base_unknown {
            notes.push(why.clone());
        }
        let Some(path) = &f.new_path else {
            // A deleted file still feeds the base index.
            if let (Some(old), Some(bytes)) = (&f.old_path, &f.base) {
                base_inputs.push(Input {
                    path: old.clone(),
                    content: Content::Bytes(bytes.clone()),
                    changed: None,
                });
            }
            continue;
        };
        if let Some(bytes) = &f.head {
            let changed = if f.old_path.is_none() {
                None
            } else {
                Some(f.changed.clone())
            };
            head_inputs.push(Input {
                path: path.clone(),
                content: Content::Bytes(bytes.clone()),
                changed,
            });
        }
        if let (Some(_), Some(bytes), None) = (&f.old_path, &f.base, &f.base_unknown) {
            // Analysed under the head path so a rename keeps fingerprints.
            base_inputs.push(Input {
                path: path.clone(),
                content: Content::Bytes(bytes.clone()),
                changed: None,
            });
        }
    }
    let schema = plan.needs_index;
    let engine::Context {
        facts: context_facts,
        stating: context_inputs,
        rest: context_rest,
    } = engine::context_facts(plan, context, cache);
    let head_loaded = engine::load(plan, head_inputs, schema);
    let base_loaded = engine::load(plan, base_inputs, schema);
    let index_of = |loaded: &[engine::Loaded]| {
        let mut f = context_facts.clone();
        f.extend(engine::schema_facts(loaded));
        ProjectIndex::build(f)
    };
    let (head_index, base_index) = if schema {
        (index_of(&head_loaded), index_of(&base_loaded))
    } else {
        (ProjectIndex::default(), ProjectIndex::default())
    };
    // Unchanged files whose verdict depends on a table the change altered,
    // or whose router the change mounts under another prefix, are checked
    // in both revisions (parsed only now).
    let altered = head_index.changed_tables(&base_index);
    let remounted = head_index.changed_mounts(&base_index);
    let remounted_file = |path: &str| remounted.iter().any(|m| index::is_module(path, &m.module));
    let mut dependent_inputs: Vec<Input> = context_facts
        .iter()
        .zip(context_inputs)
        .filter(|(f, i)| {
            remounted_file(&i.path)
                || f.facts.iter().any(|x| {
                    index::event_table(&x.event).is_some_and(|t| altered.iter().any(|a| a == t))
                })
        })
        .map(|(_, i)| i)
        .collect();
    if !remounted.is_empty() {
        dependent_inputs.extend(context_rest.into_iter().filter(|i| remounted_file(&i.path)));
    }
    let dependents = engine::load(plan, dependent_inputs, false);
    let mut head_refs: Vec<&engine::Loaded> = head_loaded.iter().collect();
    head_refs.extend(dependents.iter());
    let mut base_refs: Vec<&engine::Loaded> = base_loaded
        .iter()
        .filter(|l| head_loaded.iter().any(|h| h.path == l.path))
        .collect();
    base_refs.extend(dependents.iter());
    let head = engine::check(plan, &head_index, &head_refs);
    let base = engine::check(plan, &base_index, &base_refs);
    let mut work = engine::Work::default();
    work.add(&head);
    work.add(&base);

    let mut base_counts: HashMap<String, usize> = HashMap::new();
    for f in base.iter().flat_map(|o| &o.findings) {
        *base_counts.entry(f.fingerprint.clone()).or_default() += 1;
    }
    let mut findings: Vec<Finding> = Vec::new();
    for f in head.iter().flat_map(|o| o.findings.iter()) {
        match base_counts.get_mut(&f.fingerprint) {
            Some(n) if *n > 0 => *n -= 1,
            _ => findings.push(f.clone()),
        }
    }
    let changed_paths: std::collections::HashSet<&str> =
        files.iter().map(|f| f.display_path()).collect();
    let head: Vec<FileOutcome> = head
        .into_iter()
        .filter(|o| changed_paths.contains(o.path.as_str()))
        .collect();

    let weights: HashMap<String, usize> = files
        .iter()
        .map(|f| (f.display_path().to_string(), f.lines_changed.max(1)))
        .collect();
    let mut outcomes = head;
    // Deleted files and unsupported code files still count in Confidence.
    for f in &files {
        let p = f.display_path();
        if outcomes.iter().any(|o| o.path == p) || f.binary {
            continue;
        }
        let code = Language::from_path(p).is_some() || lang::unsupported_language_name(p).is_some();
        if !code {
            continue;
        }
        let mut o = FileOutcome {
            path: p.to_string(),
            ..FileOutcome::default()
        };
        if f.new_path.is_none() {
            o.analysed = Language::from_path(p).is_some();
            if !o.analysed {
                o.skip_reason = Some(lang::unsupported_reason(p));
            }
        } else if Language::from_path(p).is_none() {
            o.skip_reason = Some(lang::unsupported_reason(p));
        } else {
            o.skip_reason = Some("could not be read".into());
        }
        outcomes.push(o);
    }
    let mut confidence = confidence(&outcomes, &weights);
    add_unread(&mut confidence, &head_index, Some(&changed_paths));
    confidence.skipped.extend(skipped_early);
    confidence.notes.extend(notes);
    Report {
        mode: if change.description == "staged changes" {
            "staged"
        } else if change.description.starts_with("patch") {
            "patch"
        } else {
            "diff"
        },
        description: change.description,
        branch: change.branch,
        files: files.len(),
        changed_lines: files.iter().map(|f| f.lines_changed).sum(),
        findings,
        suppressed: 0,
        baselined: 0,
        confidence,
        work,
    }
}

/// The share of the (changed) lines that sit in analysed files, lowered
/// for files parsed with errors; the gaps in words.
fn confidence(outcomes: &[FileOutcome], weights: &HashMap<String, usize>) -> Confidence {
    let weight = |o: &FileOutcome| weights.get(&o.path).copied().unwrap_or(o.lines).max(1) as f64;
    let mut total = 0.0;
    let mut covered = 0.0;
    let mut skipped = Vec::new();
    let mut notes = Vec::new();
    let mut analysed_files = 0;
    for o in outcomes {
        let w = weight(o);
        total += w;
        if o.analysed {
            analysed_files += 1;
            covered += if o.notes.is_empty() { w } else { w / 2.0 };
            notes.extend(o.notes.iter().cloned());
        } else {
            skipped.push(Skipped {
                path: o.path.clone(),
                reason: o
                    .skip_reason
                    .clone()
                    .unwrap_or_else(|| "not analysed".into()),
            });
        }
    }
    let mut rules_not_evaluated: Vec<(String, String)> = outcomes
        .iter()
        .flat_map(|o| o.not_evaluated.iter().cloned())
        .collect();
    rules_not_evaluated.sort();
    rules_not_evaluated.dedup();
    let mut score = if total == 0.0 {
        100.0
    } else {
        (covered / total) * 100.0
    };
    score -= 5.0 * rules_not_evaluated.len() as f64;
    let score = score.max(0.0).floor() as u32;
    Confidence {
        score,
        analysed_files,
        skipped,
        rules_not_evaluated,
        notes,
    }
}

/// SQL statements nobody could read lower the score and are named.
fn add_unread(
    c: &mut Confidence,
    index: &ProjectIndex,
    only: Option<&std::collections::HashSet<&str>>,
) {
    let mut total = 0;
    for (path, n) in index.unread() {
        if only.is_some_and(|o| !o.contains(path)) {
            continue;
        }
        total += n;
        if c.notes.len() < 10 {
            c.notes.push(format!(
                "{n} SQL statement{} in {path} not read",
                if n == 1 { "" } else { "s" }
            ));
        }
    }
    c.score = c.score.saturating_sub(total.min(10) as u32);
}
