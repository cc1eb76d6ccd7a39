//! The binary end to end, in temporary git repositories: every input mode,
//! every output format, exit codes, config, suppressions and baselines.

mod common;
use common::*;

fn repo_with_feature(bad: &str) -> Repo {
    let r = Repo::new();
    r.write("app/webhooks.py", CLEAN_WEBHOOK);
    r.write("README.md", "# svc\n");
    r.commit_all("init");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("app/webhooks.py", bad);
    r
}

fn rules_and_lines(run: &Run) -> Vec<(String, u64)> {
    run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn default_run_reviews_the_branch_against_main() {
    let r = repo_with_feature(BAD_WEBHOOK);
    let run = r.run(&["--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(rules_and_lines(&run), vec![("TL013".into(), 14)]);
    let j = run.json();
    assert_eq!(j["scope"]["mode"], "diff");
    assert_eq!(j["scope"]["description"], "git diff main");
    assert_eq!(j["findings"][0]["in_change"], true);
    assert_eq!(j["summary"]["hard"], 1);
    // Uncommitted, staged and committed work all count: commit it and run again.
    r.commit_all("feature");
    assert_eq!(
        rules_and_lines(&r.run(&["--format", "json"])),
        vec![("TL013".into(), 14)]
    );
}

#[test]
fn pre_existing_findings_are_not_reported_in_diff_mode() {
    let r = Repo::new();
    r.write("app/webhooks.py", BAD_WEBHOOK);
    r.commit_all("init");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        "app/webhooks.py",
        &format!(
            "\"\"\"Billing webhooks.\"\"\"\n\n{BAD_WEBHOOK}\n\ndef unrelated():\n    return 1\n"
        ),
    );
    let run = r.run(&["--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(rules_and_lines(&run), vec![]);
    // … but --all still sees it.
    let all = r.run(&["--all", "--format", "json"]);
    // The handler (TL005: no replay check, a plain compare) and the compare
    // itself (TL013).
    assert_eq!(
        rules_and_lines(&all),
        vec![("TL005".into(), 12), ("TL013".into(), 16)]
    );
    assert_eq!(all.json()["scope"]["mode"], "full");
}

#[test]
fn a_finding_caused_on_an_untouched_line_is_reported() {
    let r = Repo::new();
    let with_validate = "from authlib.jose import jwt\n\n\ndef read_claims(token, key):\n    claims = jwt.decode(token, key)\n    claims.validate()\n    return claims\n";
    r.write("app/auth.py", with_validate);
    r.commit_all("init");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        "app/auth.py",
        &with_validate.replace("    claims.validate()\n", ""),
    );
    let run = r.run(&["--format", "json"]);
    assert_eq!(rules_and_lines(&run), vec![("TL017".into(), 5)]);
    assert_eq!(run.json()["findings"][0]["in_change"], false);
}

#[test]
fn base_falls_back_to_master_and_explains_a_missing_base() {
    let r = Repo::new_on("master");
    r.write("app/webhooks.py", CLEAN_WEBHOOK);
    r.commit_all("init");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("app/webhooks.py", BAD_WEBHOOK);
    assert_eq!(r.run(&["--format", "json"]).code, 1);

    let lonely = Repo::new_on("trunk");
    lonely.write("a.py", "x = 1\n");
    lonely.commit_all("init");
    let run = lonely.run(&[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("tried main, master"), "{}", run.stderr);
    assert!(run.stderr.contains("--base"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    let run = lonely.run(&["--base", "trunk", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = lonely.run(&["--base", "nope"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("`nope` does not name a commit"),
        "{}",
        run.stderr
    );
}

#[test]
fn head_reads_a_commit_range_from_a_bare_repository() {
    let r = repo_with_feature(BAD_WEBHOOK);
    r.commit_all("feature");
    let bare = tempfile::tempdir().unwrap();
    let bare_path = bare.path().join("svc.git");
    let out = std::process::Command::new("git")
        .args([
            "clone",
            "-q",
            "--bare",
            r.path().to_str().unwrap(),
            bare_path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let run = run_in(
        &bare_path,
        &["--base", "main", "--head", "feature", "--format", "json"],
        None,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(rules_and_lines(&run), vec![("TL013".into(), 14)]);
    assert_eq!(
        run.json()["scope"]["description"],
        "git diff main...feature"
    );
    // Without --head a bare repository has no work tree to compare.
    let run = run_in(&bare_path, &["--base", "main"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("bare repository"), "{}", run.stderr);
}

#[test]
fn staged_reviews_only_the_index() {
    let r = repo_with_feature(CLEAN_WEBHOOK);
    r.write(
        "app/auth.py",
        "import jwt\n\n\ndef claims(token, key):\n    return jwt.decode(token, key)\n",
    );
    r.git(&["add", "app/auth.py"]);
    r.write("app/webhooks.py", BAD_WEBHOOK); // unstaged
    let run = r.run(&["--staged", "--format", "json"]);
    assert_eq!(rules_and_lines(&run), vec![("TL017".into(), 5)]);
    assert_eq!(run.json()["scope"]["description"], "staged changes");
}

#[test]
fn piped_and_file_diffs_rebuild_the_pre_image() {
    let r = Repo::new();
    r.write("app/webhooks.py", BAD_WEBHOOK);
    r.commit_all("init");
    r.git(&["checkout", "-q", "-b", "feature"]);
    let edited = BAD_WEBHOOK.replace("router = APIRouter()", "router = APIRouter(prefix=\"/v1\")")
        + "\n\ndef check(token, key):\n    return jwt.decode(token, key, algorithms=[\"HS256\", \"RS256\"])\n";
    r.write("app/webhooks.py", &edited);
    let diff = r.git(&["diff", "main"]);
    let run = r.run_stdin(&["--diff", "-", "--format", "json"], &diff);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // The old TL013 finding is in the rebuilt pre-image, so only TL017 is new.
    assert_eq!(rules_and_lines(&run), vec![("TL017".into(), 20)]);
    assert_eq!(run.json()["scope"]["description"], "patch from stdin");
    r.write("change.diff", &diff);
    let run = r.run(&["--diff", "change.diff", "--format", "json"]);
    assert_eq!(rules_and_lines(&run), vec![("TL017".into(), 20)]);
}

#[test]
fn renames_and_deletions_report_nothing_new() {
    let r = Repo::new();
    r.write("app/webhooks.py", BAD_WEBHOOK);
    r.write(
        "app/old_auth.py",
        "import jwt\n\ndef c(t, k):\n    return jwt.decode(t, k)\n",
    );
    r.commit_all("init");
    r.git(&["checkout", "-q", "-b", "feature"]);
    std::fs::create_dir_all(r.path().join("app/hooks")).unwrap();
    r.git(&["mv", "app/webhooks.py", "app/hooks/billing.py"]);
    r.git(&["rm", "-q", "app/old_auth.py"]);
    r.commit_all("move");
    let run = r.run(&["--format", "json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(rules_and_lines(&run), vec![]);
    let diff = r.git(&["diff", "-M", "main", "HEAD"]);
    let run = r.run_stdin(&["--diff", "-", "--format", "json"], &diff);
    assert_eq!(rules_and_lines(&run), vec![]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn findings_format_is_the_review_block() {
    let r = repo_with_feature(BAD_WEBHOOK);
    let run = r.run(&["--format", "findings"]);
    assert_eq!(
        run.stdout,
        "[HARD] app/webhooks.py:14 — Check 13: constant-time-compare\n  Current:    if signature != expected:\n  Standard:   rules/TL013-constant-time-compare.md\n  Suggestion: not hmac.compare_digest(signature.encode(\"utf-8\"), expected.encode(\"utf-8\"))\n\n"
    );
}

#[test]
fn review_format_follows_the_template() {
    let r = repo_with_feature(BAD_WEBHOOK);
    r.write("web/app.ts", "export const x = 1;\n");
    let run = r.run(&["--format", "review"]);
    let expected_head = "# Tenant-Isolation Review — feature\n\n**Diff scope:** `git diff main` (2 files, 3 lines)\n\n## HARD findings (block merge)\n\n1. **Check 13 — app/webhooks.py:14 — Non-constant-time comparison of secret `signature`**\n   - Current: `if signature != expected:`\n   - Standard: rules/TL013-constant-time-compare.md\n   - Suggestion: not hmac.compare_digest(signature.encode(\"utf-8\"), expected.encode(\"utf-8\"))\n\n## SOFT findings (review)\n\n[None]\n\n## Confidence\n\n";
    assert!(run.stdout.starts_with(expected_head), "{}", run.stdout);
    let confidence = run.stdout.lines().last().unwrap();
    assert_eq!(
        confidence,
        "66 — 1 of 2 changed files analysed; web/app.ts (TypeScript) not covered"
    );
}

#[test]
fn text_format_underlines_and_summarises() {
    let r = repo_with_feature(BAD_WEBHOOK);
    let run = r.run(&[]);
    assert!(
        run.stdout.contains("--> app/webhooks.py:14:8"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("^^^^^^^^^^^^^^^^^^^^^"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("help: suggestion: not hmac.compare_digest("),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .trim_end()
        .lines()
        .last()
        .unwrap()
        .starts_with("tenant-lint: 1 HARD, 0 SOFT in git diff main"));
    assert!(
        !run.stdout.contains('\u{1b}'),
        "NO_COLOR and a pipe mean no colour"
    );
}

#[test]
fn github_format_escapes_and_puts_hard_first() {
    let r = repo_with_feature(
        BAD_WEBHOOK
            .replace(
                "    return {\"ok\": True}\n",
                "    return {\"ok\": hmac.compare_digest(f\"v0={expected}\", signature)}\n",
            )
            .as_str(),
    );
    let run = r.run(&["--format", "github", "--fail-on", "soft"]);
    assert_eq!(run.code, 1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    assert!(lines[0].starts_with("::error file=app/webhooks.py,line=14,endLine=14,col=8,endColumn=29,title=TL013 constant-time-compare::Non-constant-time"), "{}", lines[0]);
    assert!(
        lines[0].contains("%0ASuggestion: not hmac.compare_digest"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("::warning file=app/webhooks.py,line=16"),
        "{}",
        lines[1]
    );
}

#[test]
fn sarif_validates_against_the_schema() {
    let r = repo_with_feature(BAD_WEBHOOK);
    r.write("app/auth.rs", "fn v() { let mut validation = Validation::new(Algorithm::RS256); validation.validate_exp = false; }\n");
    let run = r.run(&["--format", "sarif"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(manifest_dir().join("tests/data/sarif-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "SARIF invalid:\n{}", errors.join("\n"));
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let rust = results.iter().find(|x| x["ruleId"] == "TL017").unwrap();
    assert_eq!(rust["level"], "error");
    assert_eq!(
        rust["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "app/auth.rs"
    );
    assert!(rust["partialFingerprints"]["tenantLint/v1"].is_string());
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), tenant_lint::rules::all().len());
    assert!(rules
        .iter()
        .all(|d| d["help"]["markdown"].as_str().unwrap().contains("## Bad")));
}

#[test]
fn fail_on_controls_the_exit_code() {
    let r = repo_with_feature(BAD_WEBHOOK);
    assert_eq!(r.run(&["--fail-on", "never"]).code, 0);
    assert_eq!(r.run(&["--fail-on", "hard"]).code, 1);
    let soft_only = repo_with_feature(&CLEAN_WEBHOOK.replace(
        "    return {\"ok\": True}\n",
        "    return {\"ok\": hmac.compare_digest(f\"v0={expected}\", signature)}\n",
    ));
    assert_eq!(soft_only.run(&[]).code, 0);
    assert_eq!(soft_only.run(&["--fail-on", "soft"]).code, 1);
}

#[test]
fn suppressions_need_reasons_for_hard_rules() {
    let with_reason = BAD_WEBHOOK.replace(
        "    if signature != expected:\n",
        "    if signature != expected:  # tenant-lint: allow(TL013) test double, never deployed\n",
    );
    let r = repo_with_feature(&with_reason);
    let run = r.run(&["--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.json()["summary"]["suppressed"], 1);
    assert_eq!(rules_and_lines(&run), vec![]);
    let shown = r.run(&["--format", "json", "--show-suppressed"]);
    assert_eq!(shown.json()["findings"][0]["suppressed"], true);

    let reasonless = BAD_WEBHOOK.replace(
        "    if signature != expected:\n",
        "    # tenant-lint: allow(TL013)\n    if signature != expected:\n",
    );
    let r = repo_with_feature(&reasonless);
    let run = r.run(&["--format", "json"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        rules_and_lines(&run),
        vec![("TL013".into(), 15), ("TL000".into(), 14)]
    );

    let unknown_and_unused = CLEAN_WEBHOOK.replace(
        "router = APIRouter()\n",
        "router = APIRouter()  # tenant-lint: allow(TL0133) typo\nx = 1  # tenant-lint: allow(TL017) stale\n",
    );
    let r = repo_with_feature(&unknown_and_unused);
    let run = r.run(&["--format", "json"]);
    assert_eq!(run.code, 0);
    let titles: Vec<String> = run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        titles,
        vec![
            "Suppression names unknown rule `TL0133`",
            "Unused suppression of TL017"
        ]
    );
    // A partial run cannot know whether a suppression is unused.
    let run = r.run(&["--format", "json", "--select", "TL000,TL013"]);
    assert_eq!(run.json()["findings"].as_array().unwrap().len(), 1);
}

#[test]
fn baselines_survive_unrelated_edits() {
    let r = Repo::new();
    r.write("app/webhooks.py", BAD_WEBHOOK);
    r.commit_all("init");
    let run = r.run(&[
        "--all",
        "--write-baseline",
        ".tenant-lint-baseline.json",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1);
    assert!(r
        .read(".tenant-lint-baseline.json")
        .contains("\"rule\": \"TL013\""));
    let moved = format!(
        "import os\n\n\n{}",
        BAD_WEBHOOK.replace(
            "    if signature != expected:",
            "    if   signature !=  expected:"
        )
    );
    r.write("app/webhooks.py", &moved);
    let run = r.run(&[
        "--all",
        "--baseline",
        ".tenant-lint-baseline.json",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(rules_and_lines(&run), vec![]);
    // A second, new finding is still reported.
    r.write(
        "app/auth.py",
        "import jwt\n\ndef c(t, k):\n    return jwt.decode(t, k)\n",
    );
    let run = r.run(&[
        "--all",
        "--baseline",
        ".tenant-lint-baseline.json",
        "--format",
        "json",
    ]);
    assert_eq!(rules_and_lines(&run), vec![("TL017".into(), 4)]);
    r.write("bad.json", "{\"nope\": 1}");
    let run = r.run(&["--all", "--baseline", "bad.json"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("not a tenant-lint baseline"),
        "{}",
        run.stderr
    );
}

#[test]
fn config_is_discovered_validated_and_applied() {
    let r = repo_with_feature(BAD_WEBHOOK);
    r.write("pyproject.toml", "[project]\nname = \"svc\"\n\n[tool.tenant-lint]\npreset = \"klai\"\n[tool.tenant-lint.severity]\nTL013 = \"soft\"\n");
    let run = r.run(&["--format", "findings"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("[SOFT] app/webhooks.py:14 — Check 13"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Standard:   standards.md §15"),
        "{}",
        run.stdout
    );

    r.write("tenant-lint.toml", "[tenant]\ncolums = [\"org_id\"]\n");
    let run = r.run(&[]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("unknown key `tenant.colums`; did you mean `tenant.columns`?"),
        "{}",
        run.stderr
    );

    r.write(
        "tenant-lint.toml",
        "[per-path-ignores]\n\"app/**\" = [\"TL013\"]\n",
    );
    assert_eq!(r.run(&[]).code, 0);
    r.write("tenant-lint.toml", "exclude = [\"app/**\"]\n");
    assert_eq!(r.run(&[]).code, 0);
    r.write("tenant-lint.toml", "ignore = [\"constant-time-compare\"]\n");
    assert_eq!(r.run(&[]).code, 0);
    r.write(
        "tenant-lint.toml",
        "[secrets]\nnot-secret = [\"signature\"]\n",
    );
    assert_eq!(r.run(&[]).code, 0);
    r.write("tenant-lint.toml", "this is not toml");
    let run = r.run(&[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("invalid TOML"), "{}", run.stderr);
    std::fs::remove_file(r.path().join("tenant-lint.toml")).unwrap();
    let run = r.run(&["--select", "TL999"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unknown rule `TL999`"),
        "{}",
        run.stderr
    );
    let run = r.run(&["--config", "missing.toml"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cannot read config missing.toml"),
        "{}",
        run.stderr
    );
}

#[test]
fn subcommands_list_rules_show_docs_and_write_a_starter_config() {
    let r = Repo::new();
    let run = r.run(&["rules"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("TL013  constant-time-compare"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout.lines().count(), tenant_lint::rules::all().len());
    let run = r.run(&["rule", "TL013"]);
    assert!(run.stdout.starts_with("# TL013 constant-time-compare"));
    let run = r.run(&["rule", "jwt-verification"]);
    assert!(run.stdout.starts_with("# TL017 jwt-verification"));
    let run = r.run(&["rule", "TL0133"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("did you mean `TL013`"),
        "{}",
        run.stderr
    );

    let run = r.run(&["init", "--preset", "klai"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = r.read("tenant-lint.toml");
    assert!(text.contains("preset = \"klai\""));
    assert!(text.contains("TL013 = \"15\""));
    assert_eq!(r.run(&["init"]).code, 2, "refuses to overwrite");
    assert_eq!(r.run(&["init", "--force"]).code, 0);
    assert_eq!(
        r.run(&["init", "--preset", "acme", "--path", "x.toml"])
            .code,
        2
    );
}

#[test]
fn deleting_an_rls_migration_reports_the_table_it_leaves_open() {
    let r = Repo::new();
    r.write(
        "migrations/001_notes.sql",
        "CREATE TABLE notes (id uuid PRIMARY KEY, org_id uuid NOT NULL, body text);\n",
    );
    r.write(
        "migrations/002_notes_rls.sql",
        "ALTER TABLE notes ENABLE ROW LEVEL SECURITY;\nALTER TABLE notes FORCE ROW LEVEL SECURITY;\nCREATE POLICY tenant_isolation ON notes\n  USING (org_id = current_setting('app.current_org_id')::uuid)\n  WITH CHECK (org_id = current_setting('app.current_org_id')::uuid);\n",
    );
    r.write(
        "app/models.py",
        "class Note(Base):\n    __tablename__ = \"notes\"\n    org_id = mapped_column(UUID)\n",
    );
    r.commit_all("init");
    assert_eq!(
        rules_and_lines(&r.run(&["--all", "--format", "json"])),
        vec![]
    );
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.git(&["rm", "-q", "migrations/002_notes_rls.sql"]);
    for args in [
        vec!["--format", "json"],
        vec!["--staged", "--format", "json"],
    ] {
        let run = r.run(&args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stdout);
        assert_eq!(rules_and_lines(&run), vec![("TL001".into(), 1)], "{args:?}");
        let j = run.json();
        assert_eq!(j["findings"][0]["path"], "migrations/001_notes.sql");
        assert_eq!(j["findings"][0]["in_change"], false);
    }
    r.commit_all("drop rls");
    let run = r.run(&["--base", "main", "--head", "feature", "--format", "json"]);
    assert_eq!(rules_and_lines(&run), vec![("TL001".into(), 1)]);
    // A new table whose RLS lives in another, unchanged migration passes.
    r.git(&["checkout", "-q", "main"]);
    r.git(&["checkout", "-q", "-b", "other"]);
    r.write(
        "migrations/003_tags.sql",
        "ALTER TABLE notes ADD COLUMN tag text;\n",
    );
    assert_eq!(rules_and_lines(&r.run(&["--format", "json"])), vec![]);
}

#[test]
fn the_facts_cache_follows_unchanged_files_that_change_later() {
    let forced = "CREATE TABLE notes (id bigint PRIMARY KEY, org_id uuid NOT NULL, body text);\nALTER TABLE notes ENABLE ROW LEVEL SECURITY;\nALTER TABLE notes FORCE ROW LEVEL SECURITY;\nCREATE POLICY notes_org ON notes USING (org_id = current_setting('app.current_org')::uuid) WITH CHECK (org_id = current_setting('app.current_org')::uuid);\n";
    let r = Repo::new();
    r.write("migrations/001_notes.sql", forced);
    r.write("app/__init__.py", "");
    r.commit_all("init");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        "app/repo.py",
        "from sqlalchemy import text\n\n\nasync def note(db, note_id):\n    return await db.execute(text(\"SELECT body FROM notes WHERE id = :id\"), {\"id\": note_id})\n",
    );
    r.commit_all("feature");
    // A cache an older version left behind is removed on the next save.
    r.write(".tenant-lint-cache/facts-v0.0.1-f1.json", "{}");
    let severities = |run: &Run| -> Vec<String> {
        run.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{} {}",
                    f["rule"].as_str().unwrap(),
                    f["severity"].as_str().unwrap()
                )
            })
            .collect()
    };
    // Cold and warm cache agree with no cache: RLS is forced, so SOFT.
    for args in [
        &["--format", "json"][..],
        &["--format", "json"],
        &["--format", "json", "--no-cache"],
    ] {
        assert_eq!(severities(&r.run(args)), vec!["TL016 SOFT"]);
    }
    // The migration changes on main and the feature merges it: unchanged
    // by the review, new to the cache.
    r.git(&["checkout", "-q", "main"]);
    r.write(
        "migrations/001_notes.sql",
        &forced.replace("ALTER TABLE notes FORCE ROW LEVEL SECURITY;\n", ""),
    );
    r.commit_all("no force");
    r.git(&["checkout", "-q", "feature"]);
    r.git(&["merge", "-q", "--no-edit", "main"]);
    for args in [
        &["--format", "json"][..],
        &["--format", "json", "--no-cache"],
    ] {
        assert_eq!(severities(&r.run(args)), vec!["TL016 HARD"]);
    }
    let caches: Vec<String> = std::fs::read_dir(r.path().join(".tenant-lint-cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(caches.len(), 1, "{caches:?}");
}

#[test]
fn mounting_a_router_elsewhere_rechecks_its_unchanged_routes() {
    let r = Repo::new();
    r.write(
        "app/api/admin.py",
        &std::fs::read_to_string(
            manifest_dir().join("fixtures/TL012/mounted_admin/app/api/admin.py"),
        )
        .unwrap(),
    );
    r.write(
        "app/main.py",
        "from fastapi import FastAPI\n\nfrom app.api import admin\n\napp = FastAPI()\napp.include_router(admin.router, prefix=\"/ops\")\n",
    );
    r.commit_all("init");
    r.git(&["checkout", "-q", "-b", "feature"]);
    // Only the mounting file changes: the admin router moves under /admin.
    r.write(
        "app/main.py",
        "from fastapi import FastAPI\n\nfrom app.api import admin\n\napp = FastAPI()\napp.include_router(admin.router, prefix=\"/admin\")\n",
    );
    let run = r.run(&["--format", "json"]);
    let found: Vec<(String, String, bool)> = run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["in_change"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![("TL012".to_string(), "app/api/admin.py".to_string(), false)],
        "{}",
        run.stdout
    );
    // Mounted where it was, nothing is new.
    r.write(
        "app/main.py",
        "from fastapi import FastAPI\n\nfrom app.api import admin\n\napp = FastAPI()\n\napp.include_router(admin.router, prefix=\"/ops\")\n",
    );
    assert_eq!(
        r.run(&["--format", "json"]).json()["findings"],
        serde_json::json!([])
    );
}

#[test]
fn verbose_says_what_the_pre_filter_let_through() {
    let r = Repo::new();
    r.write("app/webhooks.py", BAD_WEBHOOK);
    r.write("app/util.py", "def add(a, b):\n    return a + b\n");
    r.commit_all("init");
    let run = r.run(&["--all", "--format", "json", "-v"]);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("pre-filter"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(line.contains("let 1 of 2 files"), "{line}");
    assert!(line.contains("TL013 1"), "{line}");
}
