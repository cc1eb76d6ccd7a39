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
    // Check 7: the knowledge collection is keyed by the Zitadel org id, the
    // (decommissioned) focus collection by tenant_id; both are strings.
    for (collection, key) in [("klai_knowledge", "org_id"), ("klai_focus", "tenant_id")] {
        c.qdrant.collections.insert(
            collection.into(),
            super::QdrantCollection {
                key: key.into(),
                key_type: super::QdrantKeyType::String,
            },
        );
    }
    // Checks 9 and 10: deprovisioning flushes every tenant namespace in
    // `_flush_redis_tenant_keys`; Garage presigned URLs live at most 5 min.
    c.redis.flush_function = "_flush_redis_tenant_keys".into();
    c.storage.max_presign_seconds = 300;
    // Check 4: webhook secrets, service tokens and encryption keys.
    c.settings.secret_fields = [
        "*_webhook_secret",
        "*_webhook_token",
        "*_internal_secret",
        "*_api_key",
        "*_encryption_key",
        "*_kek",
    ]
    .map(String::from)
    .to_vec();
    // Checks 6 and 12: identity assertion and the platform-admin guard
    // must deny when they fail.
    c.guards.auth_calls = ["klai_identity_assert", "_require_platform_admin"]
        .map(String::from)
        .to_vec();
    // Check 5: `/webhook` and `/callback` endpoints; replays are caught by
    // the `WebhookNonceStore`.
    c.webhooks.path_words = vec!["webhook".into(), "callback".into()];
    c.webhooks.replay_checks.push("WebhookNonceStore*".into());
    // Check 2: `set_tenant(db, org_id)` scopes a session to one org.
    c.ownership.scoped_sessions.push("set_tenant".into());
    // Check 12: `_require_platform_admin(_caller_org)` after
    // `_require_admin(caller_user)`, and `log_event` to portal_audit_log.
    c.admin.admin_guards.push("_require_admin".into());
    c.admin
        .platform_guards
        .push("_require_platform_admin".into());
    c.admin.audit_calls = vec!["log_event".into(), "*audit*".into()];
    // Check 6: INTERNAL_SECRET-gated endpoints assert identity with
    // `klai_identity_assert.IdentityAsserter.verify(...)`; users come
    // through Zitadel.
    c.internal.secret_markers.push("INTERNAL_SECRET".into());
    c.internal
        .identity_assertions
        .push("IdentityAsserter.verify".into());
    c.internal.user_auth.push("*zitadel*".into());
    // Check 6, caller side: every consumer names itself.
    c.internal.caller_header = "X-Caller-Service".into();
    // Check 2: portal sessions come from `AsyncSessionLocal`; background
    // tasks use `tenant_scoped_session(org_id)` or `cross_org_session()`.
    c.session.tenant_setters = vec!["set_tenant".into()];
    c.session.scoped_helpers = vec!["tenant_scoped_session".into(), "cross_org_session".into()];
    // Check 8: one FalkorDB graph per org through `select_graph(org_id)`;
    // Graphiti groups are keyed by the org id in `group_id`.
    c.graph.tenant_properties = vec!["group_id".into(), "org_id".into()];
    c.graph.scoping_calls = vec!["select_graph".into()];
    // Check 11: portal users are found by their Zitadel subject and must
    // be narrowed by the org of the token's resourceowner claim.
    c.users.identity_columns.insert(0, "zitadel_user_id".into());
    c.users.org_columns = vec!["zitadel_org_id".into(), "org_id".into()];
    c.users.org_claim = "urn:zitadel:iam:user:resourceowner:id".into();
    c.users
        .no_filter_markers
        .push("no rid filter because:".into());
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
# Functions that scope a query to the tenant wherever they are defined (TL016).
scope-helpers = []

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

[qdrant]
# Each tenant collection's payload key and its type, "string" or "integer"
# (TL007). Collections not listed accept any tenant column as the key.
collections = {{ {collections} }}
# e.g. collections = {{ knowledge = {{ key = "org_id", type = "string" }} }}
# Functions that return a tenant-scoped filter.
filter-helpers = [{filter_helpers}]
# Collections that hold no tenant data.
global-collections = []

[sql]
# Your own functions that quote identifiers or values in SQL text (TL021),
# besides sql.Identifier, quote_ident and the dialect's identifier preparer.
quote-helpers = []

[redis]
# Names that make an interpolated value a tenant component in a Redis key or
# channel (TL010), besides the [tenant] columns.
tenant-markers = [{redis_markers}]
# Functions that return a tenant-scoped key, wherever they are defined.
key-helpers = [{redis_helpers}]
# Key prefixes that are global by design.
global-prefixes = [{redis_global}]
# The deprovisioning function that must flush every tenant-scoped namespace
# (empty: not checked).
flush-function = "{redis_flush}"

[storage]
# Object keys must start with a tenant component (TL009); these names count,
# besides the [tenant] columns.
tenant-markers = [{storage_markers}]
# Functions that return a tenant-prefixed object key.
key-helpers = [{storage_helpers}]
# Key prefixes that hold no tenant data.
global-prefixes = [{storage_global}]
# Longest presigned-URL lifetime allowed, in seconds.
max-presign-seconds = {max_presign}

[settings]
# Settings fields that must be rejected when empty (TL004); `*_x` also
# matches `x` itself.
secret-fields = [{secret_fields}]
# Encryption keys, whose validator must also decode them and check the length.
encryption-key-fields = [{encryption_fields}]
# Base classes that make a Python class a settings class.
base-classes = [{base_classes}]

[guards]
# Word beginnings that make a function an auth guard (TL018).
guard-words = [{guard_words}]
# Word beginnings that make a name a tenant, for resolver fallbacks.
tenant-words = [{tenant_words}]
# Your own authorisation calls whose failure must deny.
auth-calls = [{auth_calls}]

[webhooks]
# Path words that make a POST route a webhook or callback (TL005).
path-words = [{webhook_words}]
# Calls that verify a signature in constant time (`*` wildcards).
verifiers = [{webhook_verifiers}]
# Calls that reject a replayed delivery (nonce stores, timestamp windows).
replay-checks = [{webhook_replay}]
# Your own calls that count as side effects, besides DB writes, queue
# publishes, outbound HTTP and Redis writes.
side-effects = [{webhook_effects}]

[ownership]
# Calls and dependencies that check the caller may act on a resource (TL023).
helpers = [{ownership_helpers}]
# Session dependencies that scope every query to the caller's tenant.
scoped-sessions = [{ownership_sessions}]

[admin]
# Path words that make a route an admin route (TL012).
path-words = [{admin_words}]
# Parameters that name a tenant, besides [tenant] columns and org/tenant names.
tenant-params = [{admin_params}]
# Guards that check the caller is an admin of their own org…
admin-guards = [{admin_guards}]
# …and guards that check the caller is a platform (cross-tenant) admin.
platform-guards = [{platform_guards}]
# Calls that write an audit event naming the target tenant.
audit-calls = [{audit_calls}]

[internal]
# What marks an endpoint as behind an internal shared secret (TL006).
secret-markers = [{internal_markers}]
# Calls that assert the calling service's identity and the ids it acts for.
identity-assertions = [{internal_assertions}]
# Dependencies that authenticate an end user instead (not internal).
user-auth = [{internal_user_auth}]
# Body and query fields that must not be trusted before the assertion.
id-fields = [{internal_ids}]
# Header a service sends to name itself on internal calls; a call sending
# the internal secret without it is reported (SOFT). Empty: not checked.
caller-header = "{caller_header}"

[session]
# Raw session factories that open a session without a tenant (TL002);
# names assigned from sessionmaker(...) in a file are learned too.
factories = [{session_factories}]
# Functions that bind a session to the tenant before its first query.
tenant-setters = [{session_setters}]
# Helpers that open tenant-scoped (or declared cross-org) sessions.
scoped-helpers = [{session_helpers}]
# Directories where raw sessions are fine (migrations, tests).
excluded-dirs = [{session_excluded}]

[graph]
# Properties and parameters that hold the tenant in Cypher text (TL008),
# besides the [tenant] columns; Graphiti calls need group_id(s).
tenant-properties = [{graph_props}]
# Calls that select a per-tenant graph when given a tenant value.
scoping-calls = [{graph_calls}]
# Graph names that hold no tenant data.
global-graphs = []

[users]
# Columns holding the identity provider's user id (TL011): a lookup by one
# of them must also filter on an org column.
identity-columns = [{users_identity}]
# Org columns that narrow the lookup (empty: the [tenant] columns).
org-columns = [{users_org}]
# The token claim that carries the caller's org (used in suggestions).
org-claim = "{users_claim}"
# Comments that declare a lookup without an org filter intended.
no-filter-markers = [{users_markers}]

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
        collections = c
            .qdrant
            .collections
            .iter()
            .map(|(name, k)| {
                let ty = match k.key_type {
                    super::QdrantKeyType::String => "string",
                    super::QdrantKeyType::Integer => "integer",
                };
                format!("{name} = {{ key = \"{}\", type = \"{ty}\" }}", k.key)
            })
            .collect::<Vec<_>>()
            .join(", "),
        filter_helpers = list(&c.qdrant.filter_helpers),
        redis_markers = list(&c.redis.tenant_markers),
        redis_helpers = list(&c.redis.key_helpers),
        redis_global = list(&c.redis.global_prefixes),
        redis_flush = c.redis.flush_function,
        storage_markers = list(&c.storage.tenant_markers),
        storage_helpers = list(&c.storage.key_helpers),
        storage_global = list(&c.storage.global_prefixes),
        max_presign = c.storage.max_presign_seconds,
        secret_fields = list(&c.settings.secret_fields),
        encryption_fields = list(&c.settings.encryption_key_fields),
        base_classes = list(&c.settings.base_classes),
        guard_words = list(&c.guards.guard_words),
        tenant_words = list(&c.guards.tenant_words),
        auth_calls = list(&c.guards.auth_calls),
        webhook_words = list(&c.webhooks.path_words),
        webhook_verifiers = list(&c.webhooks.verifiers),
        webhook_replay = list(&c.webhooks.replay_checks),
        webhook_effects = list(&c.webhooks.side_effects),
        ownership_helpers = list(&c.ownership.helpers),
        ownership_sessions = list(&c.ownership.scoped_sessions),
        admin_words = list(&c.admin.path_words),
        admin_params = list(&c.admin.tenant_params),
        admin_guards = list(&c.admin.admin_guards),
        platform_guards = list(&c.admin.platform_guards),
        audit_calls = list(&c.admin.audit_calls),
        internal_markers = list(&c.internal.secret_markers),
        internal_assertions = list(&c.internal.identity_assertions),
        internal_user_auth = list(&c.internal.user_auth),
        internal_ids = list(&c.internal.id_fields),
        caller_header = c.internal.caller_header,
        session_factories = list(&c.session.factories),
        session_setters = list(&c.session.tenant_setters),
        session_helpers = list(&c.session.scoped_helpers),
        session_excluded = list(&c.session.excluded_dirs),
        graph_props = list(&c.graph.tenant_properties),
        graph_calls = list(&c.graph.scoping_calls),
        users_identity = list(&c.users.identity_columns),
        users_org = list(&c.users.org_columns),
        users_claim = c.users.org_claim,
        users_markers = list(&c.users.no_filter_markers),
        document = c.standard.document,
        sections = c
            .standard
            .sections
            .iter()
            .map(|(k, v)| format!("{k} = \"{v}\"\n"))
            .collect::<String>(),
    ))
}
