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
    c.rls.auth_path_tables = ["portal_users", "portal_connectors", "portal_join_requests"]
        .map(String::from)
        .to_vec();
    c.rls.operator_step = vec!["post_deploy_".into(), "docker restart".into()];
    c.rls.operator_step_hint =
        "ssh core-01 \"docker exec -i klai-core-postgres-1 psql -U klai -d klai\" < {file}; docker restart klai-core-<service>-1".into();
    c.migrations.auto_migrating_services = [
        "portal-api",
        "klai-connector",
        "scribe-api",
        "klai-knowledge-ingest",
    ]
    .map(String::from)
    .to_vec();
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

[rls]
# The setting your policies compare the tenant column with (used in
# suggestions); empty learns it from the repository's policies.
setting = "{setting}"
# Policy names expected on tenant tables; `*` matches any suffix.
policy-names = [{policy_names}]
# Login-path tables whose policies may read before a tenant is known.
auth-path-tables = [{auth}]
# Roles allowed BYPASSRLS or SUPERUSER (for example a migration role).
bypass-roles = []
# Grantees that mean "everyone".
public-roles = [{public}]
# Text the PR description must contain when a migration changes RLS (TL014).
operator-step = [{operator}]
operator-step-hint = '{hint}'

[migrations]
# Proof, in a service's Dockerfile/entrypoint/compose file, that it applies
# migrations at start-up (TL015).
auto-apply-markers = [{markers}]
# Services known to apply their migrations at start-up.
auto-migrating-services = [{services}]
# PR-description text that states the manual migration step.
manual-step-markers = [{manual}]

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
        setting = c.rls.setting,
        policy_names = list(&c.rls.policy_names),
        auth = list(&c.rls.auth_path_tables),
        public = list(&c.rls.public_roles),
        operator = list(&c.rls.operator_step),
        hint = c.rls.operator_step_hint,
        markers = list(&c.migrations.auto_apply_markers),
        services = list(&c.migrations.auto_migrating_services),
        manual = list(&c.migrations.manual_step_markers),
        document = c.standard.document,
        sections = c
            .standard
            .sections
            .iter()
            .map(|(k, v)| format!("{k} = \"{v}\"\n"))
            .collect::<String>(),
    ))
}
