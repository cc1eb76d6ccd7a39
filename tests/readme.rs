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
