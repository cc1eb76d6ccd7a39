//! Bad input gets one clear line (or a Confidence entry) and never a panic.

mod common;
use common::*;

fn skipped(run: &Run) -> Vec<(String, String)> {
    run.json()["confidence"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn unreadable_files_are_skipped_and_named() {
    let r = Repo::new();
    r.write_bytes("app/latin1.py", b"# caf\xe9\nsecret = 1\n");
    r.write("app/huge.py", &"token = 'x'\n".repeat(400_000));
    r.write(
        "app/minified.py",
        &format!("x = [{}]\n", "1,".repeat(30_000)),
    );
    r.write_bytes("app/blob.py", b"\x00\x01\x02token");
    r.write("app/broken.rs", "fn main( { let token = 1; }\n");
    r.write(
        "app/partial.py",
        "def f(:\n    pass\n\nif token == expected:\n    pass\n",
    );
    let run = r.run(&["--all", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let s = skipped(&run);
    let reason = |p: &str| {
        s.iter()
            .find(|(x, _)| x == p)
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    };
    assert!(
        reason("app/latin1.py").starts_with("not valid UTF-8"),
        "{s:?}"
    );
    assert!(reason("app/huge.py").starts_with("file too large"), "{s:?}");
    assert!(reason("app/minified.py").starts_with("minified"), "{s:?}");
    assert_eq!(reason("app/blob.py"), "binary file");
    assert!(
        reason("app/broken.rs").starts_with("Rust syntax error at 1:"),
        "{s:?}"
    );
    // A Python syntax error does not stop the rest of the file being analysed.
    let j = run.json();
    assert_eq!(j["findings"][0]["path"], "app/partial.py");
    assert_eq!(j["findings"][0]["line"], 4);
    let review = r.run(&["--all", "--format", "review"]);
    assert!(
        review
            .stdout
            .contains("app/partial.py has a syntax error at line 1"),
        "{}",
        review.stdout
    );
    assert!(j["confidence"]["score"].as_u64().unwrap() < 100);
}

#[test]
fn malformed_and_binary_patches() {
    let r = Repo::new();
    r.write("a.py", "x = 1\n");
    r.commit_all("init");
    let run = r.run_stdin(
        &["--diff", "-"],
        "--- a/a.py\n+++ b/a.py\n@@ -1,3 +1,3 @@\n x = 1\n",
    );
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("malformed patch"), "{}", run.stderr);
    let run = r.run_stdin(&["--diff", "-"], "this is not a diff\n");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("not a unified diff"), "{}", run.stderr);
    let run = r.run_stdin(&["--diff", "-"], "");
    assert_eq!(run.code, 2);
    let binary = "diff --git a/logo.png b/logo.png\nindex 1..2 100644\nGIT binary patch\nliteral 5\nMcmZQzWMXCj0000\n\ndiff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 0\n+x = 1\n";
    let run = r.run_stdin(&["--diff", "-", "--format", "json"], binary);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["scope"]["files"], 2);
    // A patch that does not match the work tree is named in Confidence.
    let stale = "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-y = 0\n+y = 2\n";
    let run = r.run_stdin(&["--diff", "-", "--format", "review"], stale);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("pre-image of a.py not rebuilt"),
        "{}",
        run.stdout
    );
    let run = r.run(&["--diff", "missing.diff"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cannot read patch missing.diff"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_shallow_clone_without_the_base_says_how_to_fix_it() {
    let r = Repo::new();
    r.write("a.py", "x = 1\n");
    r.commit_all("c1");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("b.py", "y = 1\n");
    r.commit_all("c3");
    r.git(&["checkout", "-q", "main"]);
    r.write("c.py", "z = 1\n");
    r.commit_all("c2");
    let dir = tempfile::tempdir().unwrap();
    let clone = dir.path().join("clone");
    let url = format!("file://{}", r.path().display());
    let out = std::process::Command::new("git")
        .args([
            "clone",
            "-q",
            "--depth",
            "1",
            "--no-single-branch",
            "-b",
            "feature",
            &url,
            clone.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = run_in(&clone, &["--base", "origin/main"], None);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("shallow") && run.stderr.contains("fetch-depth: 0"),
        "{}",
        run.stderr
    );
}

#[test]
fn usage_errors_are_one_line() {
    let r = Repo::new();
    for args in [
        vec!["--all", "does/not/exist"],
        vec!["-j", "0", "--all"],
        vec!["--format", "yaml"],
        vec!["--staged", "--all"],
    ] {
        let run = r.run(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.starts_with("error:"), "{args:?}: {}", run.stderr);
    }
    let outside = tempfile::tempdir().unwrap();
    let run = run_in(outside.path(), &[], None);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("not inside a git repository"),
        "{}",
        run.stderr
    );
    // --all works outside git.
    std::fs::write(
        outside.path().join("a.py"),
        "if token == other:\n    pass\n",
    )
    .unwrap();
    assert_eq!(run_in(outside.path(), &["--all"], None).code, 1);
}
