//! The README stays true: its rule table is the registry, its config
//! reference is the accepted schema, and its test command is what CI runs.

use std::path::Path;
use tenant_lint::config::Config;
use tenant_lint::rules;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

fn between<'a>(text: &'a str, begin: &str, end: &str) -> &'a str {
    let s = text
        .find(begin)
        .unwrap_or_else(|| panic!("README lacks {begin}"))
        + begin.len();
    let e = text[s..]
        .find(end)
        .unwrap_or_else(|| panic!("README lacks {end}"))
        + s;
    text[s..e].trim()
}

#[test]
fn rule_table_is_generated_from_the_registry() {
    let mut table =
        String::from("| id | name | severity | languages | checks |\n|---|---|---|---|---|\n");
    for r in rules::all() {
        let langs: Vec<&str> = r.languages.iter().map(|l| l.display()).collect();
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.id,
            r.name,
            r.severity.label(),
            langs.join(", "),
            r.summary
        ));
    }
    let readme = read("README.md");
    assert_eq!(
        between(&readme, "<!-- rules:begin -->", "<!-- rules:end -->"),
        table.trim(),
        "regenerate the README rule table"
    );
}

/// Dotted paths of every leaf key in a TOML table.
fn keys(t: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (k, v) in t {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(inner) if !inner.is_empty() => keys(inner, &path, out),
            _ => out.push(path),
        }
    }
}

#[test]
fn config_reference_matches_the_schema() {
    let readme = read("README.md");
    let block = between(&readme, "<!-- config:begin -->", "<!-- config:end -->");
    let toml_text = block.trim_start_matches("```toml").trim_end_matches("```");
    let parsed = Config::from_toml_str(toml_text, "README").expect("the README's config parses");
    assert_eq!(
        parsed,
        Config::default(),
        "the README documents the generic defaults"
    );
    let documented: toml::Table = toml_text.parse().unwrap();
    let mut doc_keys = Vec::new();
    keys(&documented, "", &mut doc_keys);
    let schema = toml::Table::try_from(Config::default()).unwrap();
    let mut schema_keys = Vec::new();
    keys(&schema, "", &mut schema_keys);
    for k in &schema_keys {
        let documented_here = doc_keys.contains(k) || block.contains(&format!("[{k}]"));
        assert!(
            documented_here,
            "config key `{k}` is missing from the README reference"
        );
    }
}

#[test]
fn the_test_command_is_what_ci_runs() {
    let readme = read("README.md");
    let ci = read(".ci/run");
    assert!(readme.contains("bash .ci/run"));
    for cmd in ["cargo fmt --check", "cargo test --locked"] {
        assert!(readme.contains(cmd), "README does not mention `{cmd}`");
        assert!(ci.contains(cmd), ".ci/run does not run `{cmd}`");
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The quick start's output is what the sample service really produces.
#[test]
fn quick_start_output_is_current() {
    let readme = read("README.md");
    let expected = between(
        &readme,
        "tenant-lint --all --format findings\n```\n\n```\n",
        "\n```",
    );
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample-service"),
        dir.path(),
    );
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args(["-c", "user.email=a@b", "-c", "user.name=a"])
            .args(args)
            .current_dir(dir.path())
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "init"]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tenant-lint"))
        .args(["--all", "--format", "findings", "--no-cache"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let actual = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        actual.trim(),
        expected,
        "update the README quick-start output"
    );
}
