//! The GitHub Action, end to end without GitHub: `scripts/action.sh` (the
//! logic that action.yml's review step runs) in a temporary repository laid
//! out the way actions/checkout leaves a `pull_request` run — HEAD detached
//! on the merge of the PR branch into the base branch — with the runner's
//! files simulated: the event payload in GITHUB_EVENT_PATH, and temporary
//! GITHUB_STEP_SUMMARY and GITHUB_OUTPUT files. `gh` is a stub script on
//! PATH that records its calls. action.yml itself is checked as text (no
//! `${{ }}` inside `run:`), and its shell steps that can run here are run.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tenant-lint");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const HEADER: &str = "<!-- tenant-lint-review -->";

const WEBHOOK: &str = r#"import hmac
import hashlib

from fastapi import APIRouter, HTTPException, Request

router = APIRouter()


# Called by the billing webhook route before it touches anything.
async def verify_billing_signature(request: Request):
    body = await request.body()
    signature = request.headers.get("X-Signature", "")
    expected = hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    if signature == expected:
        return {"ok": True}
    raise HTTPException(401)
"#;
/// 1-based line of `signature == expected` in WEBHOOK.
const WEBHOOK_LINE: usize = 14;

const CLEAN: &str = r#"def add_seats(plan: dict, seats: int) -> dict:
    return {**plan, "seats": plan.get("seats", 0) + seats}
"#;

const SUPPRESSED: &str = r#"import hmac


def check(request, expected):
    signature = request.headers.get("X-Signature", "")
    if signature == expected:  # tenant-lint: allow(TL013) replaced by hmac in #512, kept for the test
        return True
    return hmac.compare_digest(signature, expected)
"#;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A repository whose `feature` branch adds `files`, checked out as the
/// PR's merge commit (detached HEAD), after `main` moved on by one commit.
struct Pr {
    dir: tempfile::TempDir,
    base: String,
    head: String,
}

impl Pr {
    fn new(files: &[(&str, &str)]) -> Pr {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git(d, &["init", "-q", "-b", "main"]);
        git(d, &["config", "user.email", "dev@example.com"]);
        git(d, &["config", "user.name", "Dev"]);
        git(d, &["config", "commit.gpgsign", "false"]);
        write(d, "app/__init__.py", "");
        write(d, "app/plans.py", CLEAN);
        git(d, &["add", "-A"]);
        git(d, &["commit", "-q", "-m", "initial"]);
        git(d, &["checkout", "-q", "-b", "feature"]);
        for (path, text) in files {
            write(d, path, text);
        }
        git(d, &["add", "-A"]);
        git(d, &["commit", "-q", "-m", "the pull request"]);
        git(d, &["checkout", "-q", "main"]);
        write(d, "README.md", "# app\n");
        git(d, &["add", "-A"]);
        git(d, &["commit", "-q", "-m", "main moves on"]);
        let base = git(d, &["rev-parse", "HEAD"]);
        git(d, &["checkout", "-q", "--detach"]);
        git(
            d,
            &[
                "merge",
                "-q",
                "--no-ff",
                "feature",
                "-m",
                "Merge feature into main",
            ],
        );
        let head = git(d, &["rev-parse", "HEAD"]);
        Pr { dir, base, head }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The runner's side: event payload, summary and output files, a bin dir
/// for stubs.
struct Runner {
    dir: tempfile::TempDir,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    summary: String,
    output: String,
}

impl Run {
    fn log(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}\n--- stderr\n{}\n--- summary\n{}\n--- output\n{}",
            self.code, self.stdout, self.stderr, self.summary, self.output
        )
    }

    fn annotations(&self, level: &str) -> Vec<&str> {
        let prefix = format!("::{level} file=");
        self.stdout
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .collect()
    }
}

impl Runner {
    fn new(pr: &Pr) -> Runner {
        let dir = tempfile::tempdir().unwrap();
        let event = serde_json::json!({
            "action": "synchronize",
            "number": 7,
            "pull_request": {
                "number": 7,
                "title": "Billing webhook",
                "body": "Adds the billing webhook.\n\nTenant isolation: the org comes from the integration row.",
                "base": {"ref": "main", "sha": pr.base},
                "head": {"ref": "feature", "sha": pr.head},
            },
            "repository": {"full_name": "acme/widgets"},
        });
        std::fs::write(dir.path().join("event.json"), event.to_string()).unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        Runner { dir }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Run the action's script in `cwd`, with a clean environment plus `env`.
    fn run(&self, cwd: &Path, env: &[(&str, &str)]) -> Run {
        let _ = std::fs::remove_file(self.file("summary.md"));
        let _ = std::fs::remove_file(self.file("output.txt"));
        let path = format!(
            "{}:{}",
            self.file("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("bash");
        cmd.arg(Path::new(ROOT).join("scripts/action.sh"))
            .current_dir(cwd)
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_EVENT_PATH", self.file("event.json"))
            .env("GITHUB_STEP_SUMMARY", self.file("summary.md"))
            .env("GITHUB_OUTPUT", self.file("output.txt"))
            .env("GITHUB_REPOSITORY", "acme/widgets")
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_BASE_REF", "main")
            .env("GITHUB_HEAD_REF", "feature")
            .env("GITHUB_TOKEN", "test-token")
            .env("TL_BIN", BIN);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("bash runs");
        let read = |name: &str| std::fs::read_to_string(self.file(name)).unwrap_or_default();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            summary: read("summary.md"),
            output: read("output.txt"),
        }
    }

    /// A `gh` on PATH that records each call (arguments, the `--input`
    /// payload, the token it saw) and answers a comment listing with
    /// `comments` (a JSON page or several, as `gh api --paginate` prints).
    fn stub_gh(&self, comments: &str, fail: bool) {
        let state = self.file("gh");
        let _ = std::fs::remove_dir_all(&state);
        std::fs::create_dir_all(state.join("calls")).unwrap();
        std::fs::write(state.join("comments.json"), comments).unwrap();
        let script = format!(
            r#"#!/usr/bin/env bash
set -eu
state='{state}'
n=$(ls "$state/calls" | wc -l)
call="$state/calls/$(printf %03d "$n")"
mkdir "$call"
printf '%s\n' "$@" > "$call/args"
printf '%s' "${{GH_TOKEN:-}}" > "$call/token"
prev=
for a in "$@"; do
  if [ "$prev" = --input ]; then cp "$a" "$call/input"; fi
  prev=$a
done
{fail}
case " $* " in
  *" --method POST "*|*" --method PATCH "*) echo '{{"id": 99}}' ;;
  *) cat "$state/comments.json" ;;
esac
"#,
            state = state.display(),
            fail = if fail {
                "echo 'HTTP 403: Resource not accessible by integration' >&2; exit 1"
            } else {
                ""
            }
        );
        let gh = self.file("bin/gh");
        std::fs::write(&gh, script).unwrap();
        make_executable(&gh);
    }

    /// The recorded `gh` calls: (arguments, `--input` payload if any, token).
    fn gh_calls(&self) -> Vec<(Vec<String>, Option<Value>, String)> {
        let calls = self.file("gh/calls");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&calls)
            .map(|rd| rd.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        dirs.sort();
        dirs.iter()
            .map(|d| {
                let args = std::fs::read_to_string(d.join("args")).unwrap();
                let input = std::fs::read_to_string(d.join("input"))
                    .ok()
                    .map(|t| serde_json::from_str(&t).expect("gh --input is JSON"));
                let token = std::fs::read_to_string(d.join("token")).unwrap();
                (args.lines().map(String::from).collect(), input, token)
            })
            .collect()
    }
}

fn make_executable(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perm = std::fs::metadata(p).unwrap().permissions();
    perm.set_mode(0o755);
    std::fs::set_permissions(p, perm).unwrap();
}

fn output_value<'a>(run: &'a Run, key: &str) -> Option<&'a str> {
    run.output
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

fn violating_pr() -> Pr {
    Pr::new(&[("app/api/webhooks.py", WEBHOOK), ("app/billing.py", CLEAN)])
}

// ------------------------------------------------------------ the review

#[test]
fn hard_finding_fails_the_step_with_summary_annotations_sarif_and_outputs() {
    let pr = violating_pr();
    let runner = Runner::new(&pr);
    let run = runner.run(pr.path(), &[("TL_SARIF_FILE", "reports/tenant-lint.sarif")]);
    let log = run.log();
    assert_eq!(run.code, 1, "HARD finding with fail-on hard exits 1\n{log}");

    // Job summary: the review document with the finding.
    assert!(run.summary.contains("# Tenant-Isolation Review"), "{log}");
    assert!(
        run.summary.contains("## HARD findings (block merge)"),
        "{log}"
    );
    assert!(
        run.summary.contains(&format!(
            "**Check 13 — app/api/webhooks.py:{WEBHOOK_LINE} — "
        )),
        "{log}"
    );
    assert!(
        run.summary.contains("Current: `if signature == expected:`"),
        "{log}"
    );
    assert!(
        run.summary.contains(&pr.base[..12]),
        "the summary names the base compared against (short id)\n{log}"
    );
    assert!(!run.summary.contains("app/billing.py:"), "{log}");

    // Annotations: one error on the offending line, nothing else.
    let errors = run.annotations("error");
    assert_eq!(errors.len(), 1, "{log}");
    assert!(
        errors[0].starts_with(&format!(
            "::error file=app/api/webhooks.py,line={WEBHOOK_LINE},"
        )),
        "{log}"
    );
    assert!(
        errors[0].contains("title=TL013 constant-time-compare::"),
        "{log}"
    );
    assert!(run.annotations("warning").is_empty(), "{log}");

    // The review is also in the log, fenced by stop-commands so that the
    // quoted code cannot issue workflow commands.
    let stop = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("::stop-commands::"))
        .unwrap_or_else(|| panic!("no ::stop-commands:: around the review\n{log}"));
    let resume = format!("::{stop}::");
    let (inside, after) = run
        .stdout
        .split_once(&resume)
        .unwrap_or_else(|| panic!("commands never resumed\n{log}"));
    assert!(inside.contains("# Tenant-Isolation Review"), "{log}");
    assert!(
        after.contains("::error file="),
        "annotations come after commands resume\n{log}"
    );

    // SARIF, where asked (relative to the starting directory).
    let sarif_path = pr.path().join("reports/tenant-lint.sarif");
    let text = std::fs::read_to_string(&sarif_path)
        .unwrap_or_else(|e| panic!("no SARIF at {}: {e}\n{log}", sarif_path.display()));
    let sarif: Value = serde_json::from_str(&text).expect("SARIF parses as JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{text}");
    assert_eq!(results[0]["ruleId"], "TL013");
    assert_eq!(results[0]["level"], "error");

    // Step outputs.
    assert_eq!(output_value(&run, "hard"), Some("1"), "{log}");
    assert_eq!(output_value(&run, "soft"), Some("0"), "{log}");
    assert_eq!(output_value(&run, "findings"), Some("1"), "{log}");
    assert_eq!(
        output_value(&run, "sarif-file"),
        Some(sarif_path.to_str().unwrap()),
        "{log}"
    );
    assert!(
        run.stdout.contains("failing because fail-on is hard"),
        "{log}"
    );
}

#[test]
fn fail_on_never_reports_but_passes() {
    let pr = violating_pr();
    let runner = Runner::new(&pr);
    let run = runner.run(pr.path(), &[("TL_FAIL_ON", "never")]);
    let log = run.log();
    assert_eq!(run.code, 0, "{log}");
    assert_eq!(run.annotations("error").len(), 1, "{log}");
    assert!(run.summary.contains("Check 13"), "{log}");
    assert_eq!(output_value(&run, "hard"), Some("1"), "{log}");
    assert_eq!(
        output_value(&run, "sarif-file"),
        None,
        "no SARIF asked\n{log}"
    );
}

#[test]
fn fail_on_soft_still_fails_on_hard() {
    let pr = violating_pr();
    let runner = Runner::new(&pr);
    let run = runner.run(pr.path(), &[("TL_FAIL_ON", "soft")]);
    assert_eq!(run.code, 1, "{}", run.log());
}

#[test]
fn clean_pull_request_passes() {
    let pr = Pr::new(&[("app/billing.py", CLEAN), ("app/debug.py", SUPPRESSED)]);
    let runner = Runner::new(&pr);
    let run = runner.run(pr.path(), &[("TL_SARIF_FILE", "tenant-lint.sarif")]);
    let log = run.log();
    assert_eq!(run.code, 0, "{log}");
    assert!(run.summary.contains("# Tenant-Isolation Review"), "{log}");
    assert!(
        run.summary
            .contains("## HARD findings (block merge)\n\n[None]"),
        "{log}"
    );
    assert!(
        run.summary.contains("## SOFT findings (review)\n\n[None]"),
        "{log}"
    );
    assert!(run.annotations("error").is_empty(), "{log}");
    assert!(run.annotations("warning").is_empty(), "{log}");
    assert_eq!(output_value(&run, "hard"), Some("0"), "{log}");
    assert_eq!(output_value(&run, "findings"), Some("0"), "{log}");
    let sarif: Value = serde_json::from_str(
        &std::fs::read_to_string(pr.path().join("tenant-lint.sarif")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        sarif["runs"][0]["results"].as_array().map(Vec::len),
        Some(0)
    );
}

#[test]
fn explicit_base_input_wins_over_the_event() {
    let pr = violating_pr();
    let runner = Runner::new(&pr);
    // Comparing against the PR branch itself leaves nothing to report.
    let run = runner.run(pr.path(), &[("TL_BASE", "feature")]);
    assert_eq!(run.code, 0, "{}", run.log());
    assert!(run.summary.contains("[None]"), "{}", run.log());
}

#[test]
fn base_falls_back_to_origin_base_ref_without_an_event() {
    let pr = violating_pr();
    let runner = Runner::new(&pr);
    git(
        pr.path(),
        &["update-ref", "refs/remotes/origin/main", &pr.base],
    );
    let run = runner.run(pr.path(), &[("GITHUB_EVENT_PATH", "")]);
    assert_eq!(run.code, 1, "{}", run.log());
    assert!(run.summary.contains("origin/main"), "{}", run.log());
}

#[test]
fn no_base_at_all_is_a_clear_error() {
    let pr = violating_pr();
    let runner = Runner::new(&pr);
    let run = runner.run(
        pr.path(),
        &[("GITHUB_EVENT_PATH", ""), ("GITHUB_BASE_REF", "")],
    );
    let log = run.log();
    assert_eq!(run.code, 2, "{log}");
    assert!(run.stdout.contains("::error title=tenant-lint::"), "{log}");
    assert!(run.stdout.contains("`base` input"), "{log}");
    assert!(run.summary.is_empty(), "{log}");
}

#[test]
fn shallow_clone_without_the_base_asks_for_full_history() {
    let pr = violating_pr();
    let runner = Runner::new(&pr);
    let clones = tempfile::tempdir().unwrap();
    let url = format!("file://{}", pr.path().display());
    git(
        clones.path(),
        &[
            "clone", "-q", "--depth", "1", "--branch", "feature", &url, "shallow",
        ],
    );
    let shallow = clones.path().join("shallow");
    let run = runner.run(&shallow, &[]);
    let log = run.log();
    assert_eq!(run.code, 2, "{log}");
    let error = run
        .stdout
        .lines()
        .find(|l| l.starts_with("::error"))
        .unwrap_or_else(|| panic!("no ::error line\n{log}"));
    assert!(error.contains("shallow"), "{log}");
    assert!(error.contains("fetch-depth: 0"), "{log}");
    assert!(error.contains(&pr.base), "{log}");
    assert!(run.summary.is_empty(), "nothing reviewed\n{log}");
    assert!(run.output.is_empty(), "{log}");
}

#[test]
fn config_errors_propagate_as_exit_2_with_the_message() {
    let pr = violating_pr();
    let runner = Runner::new(&pr);
    write(
        pr.path(),
        "ci/tenant-lint.toml",
        "tenant_colums = [\"org_id\"]\n",
    );
    let run = runner.run(pr.path(), &[("TL_CONFIG", "ci/tenant-lint.toml")]);
    let log = run.log();
    assert_eq!(run.code, 2, "{log}");
    let error = run
        .stdout
        .lines()
        .find(|l| l.starts_with("::error"))
        .unwrap_or_else(|| panic!("no ::error line\n{log}"));
    assert!(
        error.contains("tenant_colums"),
        "the binary's own message\n{log}"
    );
    assert!(!error.contains("error: "), "{log}");
}

#[test]
fn bad_inputs_are_usage_errors() {
    let pr = violating_pr();
    let runner = Runner::new(&pr);
    let run = runner.run(pr.path(), &[("TL_FAIL_ON", "sometimes")]);
    assert_eq!(run.code, 2, "{}", run.log());
    assert!(run.stdout.contains("fail-on must be hard, soft or never"));

    let run = runner.run(pr.path(), &[("TL_WORKING_DIRECTORY", "no/such/dir")]);
    assert_eq!(run.code, 2, "{}", run.log());
    assert!(run.stdout.contains("working-directory"), "{}", run.log());

    let run = runner.run(pr.path(), &[("TL_BIN", "/nonexistent/tenant-lint")]);
    assert_eq!(run.code, 2, "{}", run.log());
    assert!(run.stdout.contains("not found"), "{}", run.log());
}

#[test]
fn working_directory_discovers_its_own_config() {
    // A monorepo service whose config turns TL013 off: run from there, it
    // is honoured; from the root, it is not.
    let pr = Pr::new(&[
        ("services/api/webhooks.py", WEBHOOK),
        ("services/api/tenant-lint.toml", "ignore = [\"TL013\"]\n"),
    ]);
    let runner = Runner::new(&pr);
    let run = runner.run(pr.path(), &[("TL_WORKING_DIRECTORY", "services/api")]);
    assert_eq!(run.code, 0, "{}", run.log());
    let run = runner.run(pr.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.log());
}

// ------------------------------------------------------------ the PR comment

#[test]
fn comment_is_created_once_then_updated_in_place() {
    let pr = violating_pr();
    let runner = Runner::new(&pr);

    // First push: no comment yet → POST.
    runner.stub_gh(r#"[{"id": 11, "body": "Looks good to me"}]"#, false);
    let run = runner.run(pr.path(), &[("TL_COMMENT", "true")]);
    let log = run.log();
    assert_eq!(
        run.code, 1,
        "the comment does not change the verdict\n{log}"
    );
    let calls = runner.gh_calls();
    assert_eq!(calls.len(), 2, "list, then create: {calls:?}\n{log}");
    let (list, _, token) = &calls[0];
    assert_eq!(list[0], "api");
    assert!(list.contains(&"--paginate".to_string()), "{list:?}");
    assert!(
        list.iter()
            .any(|a| a.starts_with("repos/acme/widgets/issues/7/comments")),
        "{list:?}"
    );
    assert_eq!(token, "test-token", "GITHUB_TOKEN reaches gh as GH_TOKEN");
    let (create, payload, _) = &calls[1];
    assert_eq!(
        create,
        &[
            "api",
            "--method",
            "POST",
            "repos/acme/widgets/issues/7/comments",
            "--input",
            create[5].as_str()
        ]
    );
    let body = payload.as_ref().expect("POST has a payload")["body"]
        .as_str()
        .expect("body is a string")
        .to_string();
    assert!(body.starts_with(HEADER), "{body}");
    assert!(body.chars().count() < 65_000);
    assert!(body.contains("# Tenant-Isolation Review"), "{body}");
    assert!(body.contains("Check 13"), "{body}");
    assert!(
        run.stdout.contains("posted the review comment on #7"),
        "{log}"
    );

    // Second push: the listing (two pages) has our comment → PATCH it.
    runner.stub_gh(
        &format!(
            "[{{\"id\": 11, \"body\": \"Looks good to me\"}}]\n[{{\"id\": 4242, \"body\": \"{HEADER}\\n# Tenant-Isolation Review — old\"}}]\n"
        ),
        false,
    );
    let run = runner.run(pr.path(), &[("TL_COMMENT", "true")]);
    let log = run.log();
    assert_eq!(run.code, 1, "{log}");
    let calls = runner.gh_calls();
    assert_eq!(calls.len(), 2, "list, then update: {calls:?}\n{log}");
    let (update, payload, _) = &calls[1];
    assert_eq!(
        &update[..4],
        &[
            "api",
            "--method",
            "PATCH",
            "repos/acme/widgets/issues/comments/4242"
        ],
        "{update:?}"
    );
    assert!(
        !calls
            .iter()
            .any(|(a, _, _)| a.contains(&"POST".to_string())),
        "no second comment: {calls:?}"
    );
    let body = payload.as_ref().unwrap()["body"].as_str().unwrap();
    assert!(body.starts_with(HEADER), "{body}");
    assert!(body.chars().count() < 65_000);
    assert!(body.contains("Check 13"), "{body}");
}

#[test]
fn clean_review_creates_no_comment_but_updates_an_earlier_one() {
    let pr = Pr::new(&[("app/billing.py", CLEAN)]);
    let runner = Runner::new(&pr);
    runner.stub_gh("[]", false);
    let run = runner.run(pr.path(), &[("TL_COMMENT", "true")]);
    assert_eq!(run.code, 0, "{}", run.log());
    let calls = runner.gh_calls();
    assert_eq!(calls.len(), 1, "only the listing: {calls:?}");

    runner.stub_gh(
        &format!("[{{\"id\": 5, \"body\": \"{HEADER}\\nold findings\"}}]"),
        false,
    );
    let run = runner.run(pr.path(), &[("TL_COMMENT", "true")]);
    assert_eq!(run.code, 0, "{}", run.log());
    let calls = runner.gh_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[1].0[2], "PATCH");
    let body = calls[1].1.as_ref().unwrap()["body"].as_str().unwrap();
    assert!(
        body.contains("[None]"),
        "the fixed state replaces the old one"
    );
}

#[test]
fn long_review_is_truncated_for_the_comment_and_the_summary() {
    let mut many = String::from("def verify(request, expected):\n");
    for i in 0..4200 {
        many.push_str(&format!(
            "    signature_{i} = request.headers.get(\"X-Signature-{i}\")\n    if signature_{i} == expected:\n        return {i}\n"
        ));
    }
    let pr = Pr::new(&[("app/verify.py", &many)]);
    let runner = Runner::new(&pr);
    runner.stub_gh("[]", false);
    let run = runner.run(pr.path(), &[("TL_COMMENT", "true")]);
    let log_head: String = run.log().chars().take(3000).collect();
    assert_eq!(run.code, 1, "{log_head}");
    assert_eq!(output_value(&run, "hard"), Some("4200"), "{log_head}");
    // The job summary takes 1 MiB per step: the review is cut under it.
    let size = run.summary.len();
    assert!((900_000..=1_000_000).contains(&size), "{size} bytes");
    assert!(
        run.summary
            .contains("_Review truncated to fit the job summary; `tenant-lint --format findings` lists every finding._"),
        "{}",
        tail(&run.summary, 300)
    );
    let calls = runner.gh_calls();
    let body = calls[1].1.as_ref().expect("POST payload")["body"]
        .as_str()
        .unwrap()
        .to_string();
    let n = body.chars().count();
    assert!(n < 65_000, "{n} characters");
    assert!(n > 60_000, "truncated near the limit, not emptied: {n}");
    assert!(body.starts_with(HEADER));
    assert!(body.contains("Review truncated"), "{}", tail(&body, 300));
    assert!(
        body.contains("https://github.com/acme/widgets/actions/runs/4242"),
        "the note links the run whose summary has everything"
    );
    // What precedes the note is the start of the review, cut after a line.
    let kept = body
        .split("\n\n---\n_Review truncated")
        .next()
        .unwrap()
        .strip_prefix(&format!("{HEADER}\n"))
        .unwrap();
    assert!(
        run.summary.starts_with(&format!("{kept}\n")),
        "cut at a line boundary: {}",
        tail(kept, 200)
    );
}

fn tail(s: &str, n: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars[chars.len().saturating_sub(n)..].iter().collect()
}

#[test]
fn comment_failure_warns_without_changing_the_verdict() {
    for (pr, code) in [(violating_pr(), 1), (Pr::new(&[("app/b.py", CLEAN)]), 0)] {
        let runner = Runner::new(&pr);
        runner.stub_gh("[]", true);
        let run = runner.run(pr.path(), &[("TL_COMMENT", "true")]);
        let log = run.log();
        assert_eq!(run.code, code, "{log}");
        assert!(
            run.stdout.lines().any(
                |l| l.starts_with("::warning title=tenant-lint::comment:") && l.contains("403")
            ),
            "{log}"
        );
    }
}

#[test]
fn comment_off_by_default_never_calls_gh() {
    let pr = violating_pr();
    let runner = Runner::new(&pr);
    runner.stub_gh("[]", false);
    let run = runner.run(pr.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.log());
    assert!(runner.gh_calls().is_empty());
}

// ------------------------------------------------------------ action.yml

fn action_yml() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("action.yml")).expect("action.yml at the root")
}

/// Every `run:` script in a YAML text, de-indented: (line number, script).
fn run_blocks(yaml: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        let key = trimmed.strip_prefix("- ").unwrap_or(trimmed);
        let Some(rest) = key.strip_prefix("run:") else {
            i += 1;
            continue;
        };
        let indent = line.len() - key.len();
        let rest = rest.trim();
        if rest.starts_with('|') || rest.starts_with('>') {
            let mut body = Vec::new();
            let mut j = i + 1;
            while j < lines.len() {
                let l = lines[j];
                let ind = l.len() - l.trim_start().len();
                if !l.trim().is_empty() && ind <= indent {
                    break;
                }
                body.push(l);
                j += 1;
            }
            let strip = body
                .iter()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.len() - l.trim_start().len())
                .min()
                .unwrap_or(0);
            let text: Vec<&str> = body
                .iter()
                .map(|l| if l.len() >= strip { &l[strip..] } else { "" })
                .collect();
            blocks.push((i + 1, text.join("\n")));
            i = j;
        } else {
            blocks.push((i + 1, rest.to_string()));
            i += 1;
        }
    }
    blocks
}

#[test]
fn action_yml_never_interpolates_expressions_into_run_scripts() {
    let yaml = action_yml();
    let blocks = run_blocks(&yaml);
    assert!(blocks.len() >= 3, "found the run scripts: {blocks:?}");
    for (line, script) in &blocks {
        assert!(
            !script.contains("${{ inputs.") && !script.contains("${{inputs."),
            "action.yml:{line}: `${{{{ inputs.* }}}}` inside a run: script is a script-injection hole; pass it through env:\n{script}"
        );
        // Stricter than inputs alone: the event payload, step outputs and
        // paths are all data, so no expression belongs in shell text.
        assert!(
            !script.contains("${{"),
            "action.yml:{line}: pass expressions through env:, not into the script\n{script}"
        );
    }
    // The check above sees the scripts: a planted expression is caught.
    let planted = yaml.replacen(
        "set -euo pipefail",
        "set -euo pipefail\n        echo \"${{ inputs.base }}\"",
        1,
    );
    assert!(run_blocks(&planted)
        .iter()
        .any(|(_, s)| s.contains("${{ inputs.base }}")));
}

#[test]
fn action_yml_declares_the_inputs_and_passes_each_through_env() {
    let yaml = action_yml();
    assert!(
        yaml.contains("\n  using: composite\n"),
        "a composite action"
    );
    for (input, var) in [
        ("base", "TL_BASE"),
        ("fail-on", "TL_FAIL_ON"),
        ("config", "TL_CONFIG"),
        ("sarif-file", "TL_SARIF_FILE"),
        ("comment", "TL_COMMENT"),
        ("version", "TL_VERSION"),
        ("working-directory", "TL_WORKING_DIRECTORY"),
    ] {
        assert!(
            yaml.contains(&format!("\n  {input}:\n")),
            "input `{input}` is declared"
        );
        assert!(
            yaml.contains(&format!("        {var}: ${{{{ inputs.{input} }}}}\n")),
            "input `{input}` reaches the shell as env {var}"
        );
    }
    for default in ["default: hard", "default: 'false'", "default: '.'"] {
        assert!(yaml.contains(default), "{default}");
    }
    let script = std::fs::read_to_string(Path::new(ROOT).join("scripts/action.sh")).unwrap();
    for var in [
        "TL_BIN",
        "TL_BASE",
        "TL_FAIL_ON",
        "TL_CONFIG",
        "TL_SARIF_FILE",
        "TL_COMMENT",
        "TL_WORKING_DIRECTORY",
    ] {
        assert!(script.contains(var), "scripts/action.sh reads {var}");
    }
    assert!(yaml.contains("uses: actions/cache@v4"));
    assert!(yaml.contains("cargo install --path \"$TL_SRC\" --locked --root \"$TL_ROOT\""));
    assert!(yaml.contains("run: bash \"$GITHUB_ACTION_PATH/scripts/action.sh\""));
}

/// action.yml parses as YAML (PyYAML, which pre-commit brings along).
#[test]
fn action_yml_is_valid_yaml() {
    let check = r#"
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
assert d["runs"]["using"] == "composite", d["runs"]
steps = d["runs"]["steps"]
assert all("shell" in s for s in steps if "run" in s), "every run step names its shell"
review = [s for s in steps if s.get("id") == "review"][0]
assert review["env"]["TL_BASE"] == "${{ inputs.base }}", review["env"]
print(len(steps))
"#;
    let out = Command::new("python3").args(["-c", "import yaml"]).output();
    if !matches!(&out, Ok(o) if o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "PyYAML is missing: `pip install pre-commit` (it brings PyYAML) on the CI machine"
        );
        eprintln!("skipping the YAML check: PyYAML not installed (`pip install pre-commit`)");
        return;
    }
    let out = Command::new("python3")
        .args(["-c", check])
        .arg(Path::new(ROOT).join("action.yml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run one of action.yml's shell steps here, the way the runner would.
fn run_step(name: &str, env: &[(&str, &Path)]) -> (i32, String, String) {
    let yaml = action_yml();
    let start = yaml
        .find(&format!("- name: {name}\n"))
        .unwrap_or_else(|| panic!("step `{name}`"));
    let step = &yaml[start..];
    let end = step[2..]
        .find("\n    - ")
        .map(|e| e + 2)
        .unwrap_or(step.len());
    let (_, script) = run_blocks(&step[..end])
        .into_iter()
        .next()
        .expect("a run script");
    let mut cmd = Command::new("bash");
    cmd.args(["-e", "-c", &script]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn source_step_keys_the_cache_on_the_sources() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let mut key = Vec::new();
    for _ in 0..2 {
        let output = tmp.path().join("output");
        let _ = std::fs::remove_file(&output);
        let (code, stdout, stderr) = run_step(
            "Locate tenant-lint sources",
            &[
                ("GITHUB_ACTION_PATH", Path::new(ROOT)),
                ("GITHUB_OUTPUT", &output),
                ("RUNNER_TEMP", tmp.path()),
                ("HOME", &home),
                ("TL_VERSION", Path::new("")),
            ],
        );
        assert_eq!(code, 0, "{stdout}{stderr}");
        let out = std::fs::read_to_string(&output).unwrap();
        let get = |k: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
                .unwrap_or_else(|| panic!("{k} in {out}"))
                .to_string()
        };
        assert_eq!(get("dir"), ROOT);
        assert_eq!(get("lock").len(), 40, "{out}");
        let tree = get("tree");
        assert_eq!(tree.len(), 40, "{out}");
        assert_eq!(
            get("root"),
            format!("{}/.cache/tenant-lint-action/{tree}", home.display())
        );
        key.push(tree);
    }
    assert_eq!(key[0], key[1], "the key is a function of the sources");
}

#[test]
fn build_step_reuses_a_cached_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy(BIN, root.join("bin/tenant-lint")).unwrap();
    let (code, stdout, stderr) = run_step(
        "Build tenant-lint",
        &[
            ("TL_SRC", Path::new(ROOT)),
            ("TL_ROOT", &root),
            ("CARGO_TARGET_DIR", &tmp.path().join("target")),
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("using the cached build"), "{stdout}");
    assert!(stdout.contains("tenant-lint 0."), "{stdout}");
    assert!(!tmp.path().join("target").exists(), "nothing was built");
}
