//! Presets: named sets of defaults, and the starter file `init` writes.

use super::Config;

pub fn preset_names() -> &'static [&'static str] {
    &["generic", "klai"]
}

pub fn preset(name: &str) -> Option<Config> {
    match name {
        "generic" => Some(Config::default()),
        "klai" => Some(klai()),
        _ => None,
    }
}

/// The Klai tenant-isolation standard: its checks cite `standards.md`
/// sections, and its services use Zitadel org ids.
fn klai() -> Config {
    let mut c = Config {
        preset: "klai".into(),
        ..Config::default()
    };
    c.standard.document = "standards.md".into();
    let sections = [
        ("TL001", "1, 2"),
        ("TL002", "3, 4"),
        ("TL003", "2"),
        ("TL004", "5"),
        ("TL005", "6, 15"),
        ("TL006", "7"),
        ("TL007", "11"),
        ("TL008", "12"),
        ("TL009", "13"),
        ("TL010", "14"),
        ("TL011", "10"),
        ("TL012", "16"),
        ("TL013", "15"),
        ("TL014", "8"),
        ("TL015", "9"),
    ];
    c.standard.sections = sections
        .iter()
        .filter(|(id, _)| crate::rules::find(id).is_some())
        .map(|(id, s)| (id.to_string(), s.to_string()))
        .collect();
    c.tenant.columns.extend(["zitadel_org_id".to_string()]);
    c.secrets.names.extend(["kek".to_string()]);
    c
}

/// A commented starter `tenant-lint.toml` for `tenant-lint init`.
pub fn starter_toml(preset_name: &str) -> Option<String> {
    let c = preset(preset_name)?;
    let list = |v: &[String]| {
        v.iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some(format!(
        r#"# tenant-lint configuration. Every key is optional; the values shown are
# the defaults of the "{preset_name}" preset. `tenant-lint rules` lists the rules.

# Defaults come from this preset ("generic" or "klai"); keys below override it.
preset = "{preset_name}"

# Run only these rules (ids or names; empty runs all), or skip some.
select = []
ignore = []

# Paths (globs from the repository root) never analysed.
exclude = [{exclude}]

# Change a rule's severity: "hard" blocks the merge, "soft" asks for review.
[severity]
# TL013 = "soft"

# Ignore rules under some paths.
[per-path-ignores]
# "tests/**" = ["TL013"]

[tenant]
# Columns that make a table a tenant table.
columns = [{columns}]
# Postgres settings read by your RLS policies start with this prefix.
setting-prefix = "{prefix}"
# Tables that are global by design.
global-tables = []

[secrets]
# Extra words that make an identifier secret-like (TL013).
names = [{names}]
# Identifiers never treated as secrets.
not-secret = []

[jwt]
# Unverified JWT header fields that may be read to pick a key (TL017).
allow-unverified-header-keys = [{jwt}]

[standard]
# Cite your own standard on each finding's "Standard:" line instead of the
# rule's page, with a section per rule id.
document = "{document}"
[standard.sections]
{sections}"#,
        exclude = list(&c.exclude),
        columns = list(&c.tenant.columns),
        prefix = c.tenant.setting_prefix,
        names = list(&c.secrets.names),
        jwt = list(&c.jwt.allow_unverified_header_keys),
        document = c.standard.document,
        sections = c
            .standard
            .sections
            .iter()
            .map(|(k, v)| format!("{k} = \"{v}\"\n"))
            .collect::<String>(),
    ))
}
