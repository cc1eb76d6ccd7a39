//! The engine: pre-filter, parse once, run the candidate rules, apply
//! suppressions and per-path ignores, and turn diagnostics into findings.
//! Files are processed in parallel. Knows nothing about git or formats.

pub mod baseline;
pub mod cache;
pub mod fingerprint;
pub mod suppress;

use crate::config::Config;
use crate::index::facts::{self, FileFacts};
use crate::index::ProjectIndex;
use crate::lang::{self, Language, ParsedFile, Pos};
use crate::rules::{self, Ctx, Diagnostic, RuleMeta, Severity};
use aho_corasick::AhoCorasick;
use globset::{Glob, GlobSet, GlobSetBuilder};
use rayon::prelude::*;
use std::ops::Range;
use std::path::PathBuf;

/// A finding ready for reporting.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static RuleMeta,
    pub severity: Severity,
    pub path: String,
    pub language: Language,
    pub start: Pos,
    pub end: Pos,
    pub title: String,
    pub current: String,
    pub standard: String,
    pub suggestion: String,
    pub in_change: bool,
    pub suppressed: bool,
    pub fingerprint: String,
    pub snippet: Snippet,
}

/// The source lines around a finding, captured once so renderers never
/// go back to the file.
#[derive(Debug, Clone, Default)]
pub struct Snippet {
    pub first_line: u32,
    pub text: String,
    /// The finding's byte range inside `text`.
    pub span: Range<usize>,
}

/// Where a file's bytes come from.
pub enum Content {
    Bytes(Vec<u8>),
    Disk(PathBuf),
}

/// One file of one revision to analyse.
pub struct Input {
    /// Repository-relative path with `/`.
    pub path: String,
    pub content: Content,
    /// Lines (1-based, inclusive ranges) the change touched; `None` when the
    /// whole file counts as changed (a full scan, an added file).
    pub changed: Option<Vec<(u32, u32)>>,
}

/// Why a file was not analysed.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// What the rules cost: the files parsed for them and, per rule, the
/// files it ran on (`--verbose`).
#[derive(Debug, Default, Clone)]
pub struct Work {
    pub parsed_files: usize,
    pub parsed_lines: usize,
    pub per_rule: std::collections::BTreeMap<&'static str, usize>,
}

impl Work {
    pub fn add(&mut self, outcomes: &[FileOutcome]) {
        for o in outcomes.iter().filter(|o| !o.ran.is_empty()) {
            self.parsed_files += 1;
            self.parsed_lines += o.lines;
            for r in &o.ran {
                *self.per_rule.entry(r).or_default() += 1;
            }
        }
    }
}

/// What happened to one file.
#[derive(Debug, Default)]
pub struct FileOutcome {
    pub path: String,
    pub lines: usize,
    pub analysed: bool,
    pub skip_reason: Option<String>,
    pub notes: Vec<String>,
    /// Rules that could not run on this file, with the reason.
    pub not_evaluated: Vec<(String, String)>,
    /// Rules that ran on this file (none: the pre-filter spared its parse).
    pub ran: Vec<&'static str>,
    pub findings: Vec<Finding>,
}

/// The rules to run and everything they need, prepared once per run.
pub struct Plan<'a> {
    pub config: &'a Config,
    pub rules: Vec<&'static RuleMeta>,
    /// All rules ran, so a suppression that matched nothing is unused.
    pub complete: bool,
    pub prefilter: bool,
    /// Some selected rule reads the project index.
    pub needs_index: bool,
    /// The pull-request description, for rules that check it.
    pub pr_body: Option<String>,
    matcher: AhoCorasick,
    /// Schema-fact words in SQL and in Python-only constructs.
    sql_schema: AhoCorasick,
    py_schema: AhoCorasick,
    rs_schema: AhoCorasick,
    /// For each matcher pattern, the indexes of the rules it triggers.
    pattern_rules: Vec<Vec<usize>>,
    excludes: GlobSet,
    path_ignores: Vec<(GlobSet, Vec<&'static RuleMeta>)>,
}

impl<'a> Plan<'a> {
    pub fn new(config: &'a Config, rules: Vec<&'static RuleMeta>, complete: bool) -> Plan<'a> {
        let mut patterns: Vec<String> = Vec::new();
        let mut pattern_rules: Vec<Vec<usize>> = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            for t in (r.triggers)(config) {
                let t = t.to_ascii_lowercase();
                match patterns.iter().position(|p| *p == t) {
                    Some(j) => pattern_rules[j].push(i),
                    None => {
                        patterns.push(t);
                        pattern_rules.push(vec![i]);
                    }
                }
            }
        }
        let matcher = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&patterns)
            .unwrap_or_else(|_| AhoCorasick::new(Vec::<String>::new()).expect("empty matcher"));
        let words = |w: &[&str]| {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(w)
                .unwrap_or_else(|_| AhoCorasick::new(Vec::<String>::new()).expect("empty matcher"))
        };
        let sql_schema = words(facts::SQL_TRIGGERS);
        let py_schema = words(facts::PYTHON_TRIGGERS);
        let rs_schema = words(facts::RUST_TRIGGERS);
        let excludes = globs(&config.exclude);
        let path_ignores = config
            .per_path_ignores
            .iter()
            .map(|(g, ids)| {
                let rules = ids
                    .iter()
                    .flat_map(|id| {
                        if id.eq_ignore_ascii_case("all") {
                            rules::all().to_vec()
                        } else {
                            rules::find(id).into_iter().collect()
                        }
                    })
                    .collect();
                (globs(std::slice::from_ref(g)), rules)
            })
            .collect();
        let needs_index = rules.iter().any(|r| r.needs_index);
        Plan {
            config,
            rules,
            complete,
            prefilter: true,
            needs_index,
            pr_body: None,
            matcher,
            sql_schema,
            py_schema,
            rs_schema,
            pattern_rules,
            excludes,
            path_ignores,
        }
    }

    pub fn is_excluded(&self, path: &str) -> bool {
        self.excludes.is_match(path)
    }

    /// May the file state schema facts?
    fn may_hold_schema(&self, lang: Language, bytes: &[u8]) -> bool {
        if !self.prefilter {
            return true;
        }
        let sql =
            || self.sql_schema.is_match(bytes) && lang::embedded::may_execute_sql(lang, bytes);
        match lang {
            Language::Python => self.py_schema.is_match(bytes) || sql(),
            Language::Rust => self.rs_schema.is_match(bytes) || sql(),
            Language::Sql => sql(),
        }
    }

    /// Rules that could fire on this file: language, path ignores, and the
    /// trigger words found in its bytes.
    fn candidates(&self, path: &str, lang: Language, bytes: &[u8]) -> Vec<&'static RuleMeta> {
        let mut wanted: Vec<bool> = self
            .rules
            .iter()
            .map(|r| r.covers(lang) && (r.applies_to)(path) && !self.ignored_here(r, path))
            .collect();
        if self.prefilter {
            let host = lang::embedded::may_execute_sql(lang, bytes);
            for (w, r) in wanted.iter_mut().zip(&self.rules) {
                *w &= host || !r.embedded_sql_only;
            }
            let mut hit = vec![false; self.rules.len()];
            let mut remaining = wanted.iter().filter(|w| **w).count();
            if remaining > 0 {
                for m in self.matcher.find_overlapping_iter(bytes) {
                    for &ri in &self.pattern_rules[m.pattern().as_usize()] {
                        if wanted[ri] && !hit[ri] {
                            hit[ri] = true;
                            remaining -= 1;
                        }
                    }
                    if remaining == 0 {
                        break;
                    }
                }
            }
            for (w, h) in wanted.iter_mut().zip(hit) {
                *w &= h;
            }
        }
        self.rules
            .iter()
            .zip(wanted)
            .filter_map(|(r, w)| w.then_some(*r))
            .collect()
    }

    fn ignored_here(&self, rule: &RuleMeta, path: &str) -> bool {
        self.path_ignores
            .iter()
            .any(|(g, rs)| g.is_match(path) && rs.iter().any(|r| r.id == rule.id))
    }

    pub fn severity_of(&self, rule: &RuleMeta, d: &Diagnostic) -> Severity {
        if let Some(s) = self
            .config
            .severity
            .get(rule.id)
            .or_else(|| self.config.severity.get(rule.name))
        {
            return *s;
        }
        d.severity.unwrap_or(rule.severity)
    }
}

fn globs(patterns: &[String]) -> GlobSet {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        if let Ok(g) = Glob::new(p) {
            b.add(g);
        }
    }
    b.build().unwrap_or_else(|_| GlobSet::empty())
}

/// One input, read and (when any rule or the index needs it) parsed.
pub struct Loaded {
    pub path: String,
    pub changed: Option<Vec<(u32, u32)>>,
    pub lines: usize,
    pub skip_reason: Option<String>,
    /// Rules whose triggers matched.
    pub candidates: Vec<&'static RuleMeta>,
    /// The text the rules parse, when some rule is a candidate.
    source: Option<(Language, String)>,
    /// The file may state schema facts.
    pub schema: bool,
    /// Its schema facts, extracted while it was loaded.
    facts: Option<FileFacts>,
}

impl Loaded {
    /// Parse the file here, on the thread that checks it, and run `f` on
    /// it; `Err` carries why it cannot be parsed. Syntax trees live only
    /// while one file is checked, so a whole tree's syntax is never in
    /// memory at once (and syn trees, tied to the thread that parsed them,
    /// never cross threads).
    fn with_file<R>(&self, f: impl FnOnce(&ParsedFile) -> R) -> Option<Result<R, String>> {
        let (lang, text) = self.source.as_ref()?;
        Some(
            ParsedFile::parse(&self.path, *lang, text)
                .map(|p| f(&p))
                .map_err(|e| e.reason),
        )
    }
}

/// Read and parse inputs in parallel. With `schema`, files that may state
/// schema facts are parsed too, so the index and the rules share one parse.
pub fn load(plan: &Plan, inputs: Vec<Input>, schema: bool) -> Vec<Loaded> {
    let mut out: Vec<Loaded> = inputs
        .into_par_iter()
        .map(|i| load_one(plan, i, schema))
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn load_one(plan: &Plan, input: Input, schema: bool) -> Loaded {
    let mut l = Loaded {
        path: input.path,
        changed: input.changed,
        lines: 0,
        skip_reason: None,
        candidates: Vec::new(),
        source: None,
        schema: false,
        facts: None,
    };
    if crate::index::deploy::is_deploy_file(&l.path) {
        let deploy = match &input.content {
            Content::Disk(p) => std::fs::read_to_string(p).ok(),
            Content::Bytes(b) => std::str::from_utf8(b).ok().map(String::from),
        }
        .map(|t| t.to_ascii_lowercase());
        l.schema = schema && deploy.is_some();
        if l.schema {
            l.facts = Some(FileFacts {
                path: l.path.clone(),
                deploy,
                ..FileFacts::default()
            });
        }
        return l;
    }
    let Some(lang) = Language::from_path(&l.path) else {
        l.skip_reason = Some(lang::unsupported_reason(&l.path));
        return l;
    };
    let bytes = match input.content {
        Content::Bytes(b) => b,
        Content::Disk(p) => match std::fs::read(&p) {
            Ok(b) => b,
            Err(e) => {
                l.skip_reason = Some(format!("cannot read: {}", e.kind()));
                return l;
            }
        },
    };
    l.lines = bytecount_lines(&bytes);
    let text = match lang::check_readable(&bytes) {
        Ok(t) => t,
        Err(f) => {
            l.skip_reason = Some(f.reason);
            return l;
        }
    };
    l.candidates = plan.candidates(&l.path, lang, &bytes);
    l.schema = schema && plan.may_hold_schema(lang, &bytes);
    if l.schema {
        match ParsedFile::parse(&l.path, lang, text) {
            Ok(f) => l.facts = Some(facts::extract(&f)),
            Err(f) => {
                l.skip_reason = Some(f.reason);
                return l;
            }
        }
    }
    if !l.candidates.is_empty() {
        l.source = Some((lang, text.to_string()));
    }
    l
}

/// Schema facts of every loaded file that may hold some.
pub fn schema_facts(loaded: &[Loaded]) -> Vec<FileFacts> {
    loaded.iter().filter_map(|l| l.facts.clone()).collect()
}

/// The unchanged files of a revision, as the schema index sees them.
#[derive(Default)]
pub struct Context {
    /// Facts of the files that state any (from the cache where their
    /// content is known) …
    pub facts: Vec<FileFacts>,
    /// … and those files, in the same order, read.
    pub stating: Vec<Input>,
    /// The other supported files, not read again until a rule needs them
    /// (a module whose router the change mounts elsewhere).
    pub rest: Vec<Input>,
}

/// Read the unchanged files of a revision for the schema index.
pub fn context_facts(
    plan: &Plan,
    inputs: Vec<Input>,
    cache: Option<&cache::FactsCache>,
) -> Context {
    enum Read {
        Stating(FileFacts, Input),
        Plain(Input),
    }
    let results: Vec<Option<Read>> = inputs
        .into_par_iter()
        .map(|input| {
            let bytes = match &input.content {
                Content::Bytes(b) => b.clone(),
                Content::Disk(p) => std::fs::read(p).ok()?,
            };
            let read = |facts: FileFacts, bytes: Vec<u8>, input: Input| {
                Some(Read::Stating(
                    facts,
                    Input {
                        content: Content::Bytes(bytes),
                        ..input
                    },
                ))
            };
            if crate::index::deploy::is_deploy_file(&input.path) {
                let text = std::str::from_utf8(&bytes).ok()?.to_ascii_lowercase();
                let f = FileFacts {
                    path: input.path.clone(),
                    deploy: Some(text),
                    ..FileFacts::default()
                };
                return read(f, bytes, input);
            }
            let lang = Language::from_path(&input.path)?;
            // The cache also remembers files that state nothing, so an
            // unchanged file costs one read and one hash.
            let facts = match cache.and_then(|c| c.get(&input.path, &bytes)) {
                Some(f) => f,
                None => {
                    let f = if plan.may_hold_schema(lang, &bytes) {
                        let text = lang::check_readable(&bytes).ok()?;
                        facts::extract(&ParsedFile::parse(&input.path, lang, text).ok()?)
                    } else {
                        FileFacts {
                            path: input.path.clone(),
                            ..FileFacts::default()
                        }
                    };
                    if let Some(c) = cache {
                        c.put(&input.path, &bytes, &f);
                    }
                    f
                }
            };
            let useful = facts.deploy.is_some()
                || !facts.facts.is_empty()
                || facts.revision.is_some()
                || facts.unread > 0
                || !facts.mounts.is_empty();
            if useful {
                read(facts, bytes, input)
            } else {
                Some(Read::Plain(input))
            }
        })
        .collect();
    let mut out = Context::default();
    for r in results.into_iter().flatten() {
        match r {
            Read::Stating(f, i) => {
                out.facts.push(f);
                out.stating.push(i);
            }
            Read::Plain(i) => out.rest.push(i),
        }
    }
    out
}

/// Run the candidate rules on loaded files, in parallel.
pub fn check(plan: &Plan, index: &ProjectIndex, loaded: &[&Loaded]) -> Vec<FileOutcome> {
    let ctx = Ctx::new(plan.config, index, plan.pr_body.as_deref());
    let mut out: Vec<FileOutcome> = loaded
        .par_iter()
        .filter(|l| !crate::index::deploy::is_deploy_file(&l.path))
        .map(|l| check_one(plan, &ctx, l))
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Load, index and check: one revision whose inputs are the whole project.
pub fn run(plan: &Plan, inputs: Vec<Input>) -> (Vec<FileOutcome>, ProjectIndex) {
    let loaded = load(plan, inputs, plan.needs_index);
    let index = ProjectIndex::build(schema_facts(&loaded));
    let refs: Vec<&Loaded> = loaded.iter().collect();
    (check(plan, &index, &refs), index)
}

fn check_one(plan: &Plan, ctx: &Ctx, l: &Loaded) -> FileOutcome {
    let mut outcome = FileOutcome {
        path: l.path.clone(),
        lines: l.lines,
        analysed: l.skip_reason.is_none(),
        skip_reason: l.skip_reason.clone(),
        ..FileOutcome::default()
    };
    // The pre-filter's second stage, which needs the index.
    let candidates: Vec<&'static RuleMeta> = match &l.source {
        Some((lang, text)) => l
            .candidates
            .iter()
            .copied()
            .filter(|r| !plan.prefilter || r.gate.is_none_or(|g| g(ctx, &l.path, *lang, text)))
            .collect(),
        None => Vec::new(),
    };
    if candidates.is_empty() {
        return outcome;
    }
    outcome.ran = candidates.iter().map(|r| r.id).collect();
    if let Some(Err(reason)) = l.with_file(|file| {
        check_file(
            plan,
            ctx,
            &candidates,
            file,
            l.changed.as_deref(),
            &mut outcome,
        )
    }) {
        outcome.analysed = false;
        outcome.skip_reason = Some(reason);
    }
    outcome
}

fn check_file(
    plan: &Plan,
    ctx: &Ctx,
    candidates: &[&'static RuleMeta],
    file: &ParsedFile,
    changed: Option<&[(u32, u32)]>,
    outcome: &mut FileOutcome,
) {
    if let Some(p) = file.syntax_error {
        outcome.notes.push(format!(
            "{} has a syntax error at line {}; the rest was analysed",
            file.path, p.line
        ));
    }
    let mut findings = Vec::new();
    for rule in candidates {
        if rule.needs_pr_body && ctx.pr_body.is_none() {
            outcome
                .not_evaluated
                .push((rule.id.to_string(), "no PR body".to_string()));
            continue;
        }
        let mut diags = Vec::new();
        (rule.check)(ctx, file, &mut diags);
        for d in diags {
            findings.push(to_finding(plan, rule, file, d, changed));
        }
    }
    findings.sort_by_key(|f| (f.start, f.rule.id));
    findings.dedup_by(|a, b| a.rule.id == b.rule.id && a.start == b.start && a.end == b.end);
    apply_suppressions(plan, file, &mut findings, changed);
    outcome.findings = findings;
}

fn bytecount_lines(b: &[u8]) -> usize {
    let n = b.iter().filter(|&&c| c == b'\n').count();
    if b.last().is_some_and(|&c| c != b'\n') {
        n + 1
    } else {
        n
    }
}

fn in_change(changed: Option<&[(u32, u32)]>, start: u32, end: u32) -> bool {
    match changed {
        None => true,
        Some(ranges) => ranges.iter().any(|&(a, b)| a <= end && start <= b),
    }
}

pub(crate) fn to_finding(
    plan: &Plan,
    rule: &'static RuleMeta,
    file: &ParsedFile,
    d: Diagnostic,
    changed: Option<&[(u32, u32)]>,
) -> Finding {
    let src = &file.src;
    let range = d.range.start.min(src.text.len())
        ..d.range
            .end
            .min(src.text.len())
            .max(d.range.start.min(src.text.len()));
    let start = src.pos(range.start);
    let end = src.pos(range.end);
    let current: String = src.line(start.line).trim().chars().take(200).collect();
    let last_line = end.line.min(start.line + 5);
    let lines = src.lines_range(start.line, last_line);
    let snippet = Snippet {
        first_line: start.line,
        text: src.text[lines.clone()].to_string(),
        span: (range.start - lines.start)..(range.end.min(lines.end) - lines.start),
    };
    Finding {
        rule,
        severity: plan.severity_of(rule, &d),
        path: file.path.clone(),
        language: file.lang,
        start,
        end,
        fingerprint: fingerprint::of(rule.id, &file.path, &src.text[range]),
        title: d.title,
        current,
        standard: plan.config.standard_for(rule),
        suggestion: d.suggestion,
        in_change: in_change(changed, start.line, end.line),
        suppressed: false,
        snippet,
    }
}

/// Mark suppressed findings, and report suppression comments that are
/// unknown, unused, or lack the reason a HARD rule requires.
fn apply_suppressions(
    plan: &Plan,
    file: &ParsedFile,
    findings: &mut Vec<Finding>,
    changed: Option<&[(u32, u32)]>,
) {
    let sups = suppress::parse(&file.src, file.lang);
    if sups.is_empty() {
        return;
    }
    let hygiene = &rules::tl000_suppression_hygiene::RULE;
    let hygiene_on = plan.rules.iter().any(|r| r.id == hygiene.id);
    let mut extra = Vec::new();
    for s in &sups {
        let mut used = false;
        for f in findings
            .iter_mut()
            .filter(|f| s.covers_line(f.start.line) && s.names(f.rule.id, f.rule.name))
        {
            if f.severity == Severity::Hard && s.reason.is_empty() {
                if hygiene_on {
                    extra.push(Diagnostic::new(
                        s.range.clone(),
                        format!(
                            "Suppression of HARD rule {} without a reason is ignored",
                            f.rule.id
                        ),
                        format!(
                            "{} tenant-lint: allow({}) <why this is safe>",
                            file.lang.comment_marker(),
                            f.rule.id
                        ),
                    ));
                }
                used = true;
                continue;
            }
            f.suppressed = true;
            used = true;
        }
        if !hygiene_on {
            continue;
        }
        if !used && plan.complete && s.rules.iter().all(|id| rules::find(id).is_some()) {
            extra.push(Diagnostic::new(
                s.range.clone(),
                format!("Unused suppression of {}", s.rules.join(", ")),
                "delete the comment: nothing on this line needs it any more",
            ));
        }
    }
    for d in extra {
        findings.push(to_finding(plan, hygiene, file, d, changed));
    }
}

/// Select the rules for a run from config and command line.
pub fn select_rules(select: &[String], ignore: &[String]) -> (Vec<&'static RuleMeta>, bool) {
    let selected: Vec<&'static RuleMeta> =
        if select.is_empty() || select.iter().any(|s| s.eq_ignore_ascii_case("all")) {
            rules::all().to_vec()
        } else {
            rules::all()
                .iter()
                .copied()
                .filter(|r| {
                    select
                        .iter()
                        .any(|s| r.id.eq_ignore_ascii_case(s) || r.name == s)
                })
                .collect()
        };
    let chosen: Vec<&'static RuleMeta> = selected
        .into_iter()
        .filter(|r| {
            !ignore
                .iter()
                .any(|s| r.id.eq_ignore_ascii_case(s) || r.name == s)
        })
        .collect();
    let complete = chosen.len() == rules::all().len();
    (chosen, complete)
}
