//! Configuration: discovery, presets, validation with suggestions.
//!
//! The accepted keys are derived from `Config` itself (its serialised
//! default), so the schema, the defaults and the validation cannot drift.

mod presets;

use crate::rules::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use presets::{preset_names, starter_toml};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {cause}")]
    Read { path: String, cause: String },
    #[error("invalid TOML in {path}: {cause}")]
    Toml { path: String, cause: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Config {
    /// `generic` or `klai`; supplies the defaults the rest of the file overrides.
    pub preset: String,
    /// Rule ids or names to run (empty: all).
    pub select: Vec<String>,
    /// Rule ids or names never to run.
    pub ignore: Vec<String>,
    /// Globs (relative to the repository root) never analysed.
    pub exclude: Vec<String>,
    /// Per-rule severity overrides: `TL016 = "soft"`.
    pub severity: BTreeMap<String, Severity>,
    /// Globs → rule ids ignored under them.
    pub per_path_ignores: BTreeMap<String, Vec<String>>,
    pub standard: StandardConfig,
    pub tenant: TenantConfig,
    pub secrets: SecretsConfig,
    pub jwt: JwtConfig,
    pub rls: RlsConfig,
    pub migrations: MigrationsConfig,
    pub qdrant: QdrantConfig,
    pub sql: SqlConfig,
    pub redis: RedisConfig,
    pub storage: StorageConfig,
    pub settings: SettingsConfig,
    pub guards: GuardsConfig,
    pub webhooks: WebhooksConfig,
    pub ownership: OwnershipConfig,
    pub admin: AdminConfig,
    pub internal: InternalConfig,
    pub session: SessionConfig,
    pub graph: GraphConfig,
    pub users: UsersConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct RlsConfig {
    /// The setting policies compare the tenant column with, used in
    /// suggestions; empty: learned from the repository's policies.
    pub setting: String,
    /// Policy names on tenant tables (`*` matches any suffix).
    pub policy_names: Vec<String>,
    /// Tables on the login path, whose policies may read without a tenant.
    pub auth_path_tables: Vec<String>,
    /// Roles allowed BYPASSRLS or SUPERUSER (a dedicated migration role).
    pub bypass_roles: Vec<String>,
    /// Grantees that mean "everyone".
    pub public_roles: Vec<String>,
    /// Text the PR description must contain when a migration changes RLS.
    pub operator_step: Vec<String>,
    /// The operator step to suggest; `{file}` is the migration's path.
    pub operator_step_hint: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct MigrationsConfig {
    /// Text in a service's Dockerfile / entrypoint / compose file that
    /// proves it applies migrations when it starts.
    pub auto_apply_markers: Vec<String>,
    /// Service directories known to apply their migrations at start-up.
    pub auto_migrating_services: Vec<String>,
    /// Text in the PR description that states the manual migration step.
    pub manual_step_markers: Vec<String>,
}

impl Default for RlsConfig {
    fn default() -> Self {
        RlsConfig {
            setting: String::new(),
            policy_names: vec!["tenant_isolation".into(), "tenant_isolation_*".into()],
            auth_path_tables: Vec::new(),
            bypass_roles: Vec::new(),
            public_roles: vec!["public".into(), "anon".into()],
            operator_step: vec!["psql".into()],
            operator_step_hint: "psql \"$DATABASE_URL\" -f {file}".into(),
        }
    }
}

impl Default for MigrationsConfig {
    fn default() -> Self {
        let markers = [
            "alembic upgrade head",
            "sqlx migrate run",
            "diesel migration run",
        ];
        MigrationsConfig {
            auto_apply_markers: markers.map(String::from).to_vec(),
            auto_migrating_services: Vec::new(),
            manual_step_markers: [
                "alembic upgrade",
                "sqlx migrate run",
                "diesel migration run",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct StandardConfig {
    /// The standard document cited on the `Standard:` line; empty cites the
    /// rule's own page under `rules/`.
    pub document: String,
    /// Rule id → section numbers of `document` (`TL013 = "15"`).
    pub sections: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct TenantConfig {
    /// Column names that make a table a tenant table.
    pub columns: Vec<String>,
    /// Prefix of the Postgres settings policies read (`current_setting('app.…')`).
    pub setting_prefix: String,
    /// Tables that are global by design (never tenant tables).
    pub global_tables: Vec<String>,
    /// Functions that scope a query to the tenant wherever they are defined
    /// (TL016), matched against the whole or the last part of the called
    /// name: a query passed to one, or filtered with one, is constrained.
    pub scope_helpers: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// Extra words that make a name secret-like (added to the built-in list).
    pub names: Vec<String>,
    /// Names never treated as secrets, matched against the whole identifier.
    pub not_secret: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct JwtConfig {
    /// Header fields an unverified-header read may take (key selection).
    pub allow_unverified_header_keys: Vec<String>,
}

impl Default for TenantConfig {
    fn default() -> Self {
        TenantConfig {
            columns: [
                "org_id",
                "tenant_id",
                "organization_id",
                "workspace_id",
                "workspace_name",
                "account_id",
                "customer_id",
                "team_id",
            ]
            .map(String::from)
            .to_vec(),
            setting_prefix: "app.".into(),
            global_tables: Vec::new(),
            scope_helpers: Vec::new(),
        }
    }
}

/// Qdrant collections and how their points are scoped to a tenant (TL007).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct QdrantConfig {
    /// Collection name → the payload key that holds the tenant and its
    /// type. Collections not listed accept any tenant column as the key.
    pub collections: BTreeMap<String, QdrantCollection>,
    /// Functions that return a tenant-scoped filter, wherever they are
    /// defined (matched against the last part of the called name).
    pub filter_helpers: Vec<String>,
    /// Collections that hold no tenant data (shared, public embeddings).
    pub global_collections: Vec<String>,
}

/// One tenant collection: `{ key = "org_id", type = "string" }`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct QdrantCollection {
    pub key: String,
    #[serde(rename = "type", default)]
    pub key_type: QdrantKeyType,
}

/// The payload type of a collection's tenant key.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum QdrantKeyType {
    #[default]
    #[serde(alias = "keyword", alias = "uuid", alias = "str")]
    String,
    #[serde(alias = "int")]
    Integer,
}

impl Default for QdrantConfig {
    fn default() -> Self {
        QdrantConfig {
            collections: BTreeMap::new(),
            filter_helpers: vec!["tenant_filter".into()],
            global_collections: Vec::new(),
        }
    }
}

/// Redis keys and channels (TL010).
///
/// Defaults: `tenant-markers = ["org", "tenant", "workspace", "org.id",
/// "tenant.id"]` (added to `[tenant] columns`), `key-helpers = []`,
/// `global-prefixes = ["ratelimit:global", "health", "lock:migrations"]`,
/// `flush-function = ""` (the deprovisioning check is off).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct RedisConfig {
    /// Names that make an interpolated value a tenant component, in
    /// addition to the `[tenant] columns`; `org.id` stands for an `id`
    /// attribute read from `org`.
    pub tenant_markers: Vec<String>,
    /// Functions that return a tenant-scoped key, wherever they are
    /// defined (matched against the whole or the last part of the name).
    pub key_helpers: Vec<String>,
    /// Key prefixes that are global by design.
    pub global_prefixes: Vec<String>,
    /// The deprovisioning function that must flush every tenant-scoped
    /// namespace; empty turns the check off.
    pub flush_function: String,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            tenant_markers: ["org", "tenant", "workspace", "org.id", "tenant.id"]
                .map(String::from)
                .to_vec(),
            key_helpers: Vec::new(),
            global_prefixes: ["ratelimit:global", "health", "lock:migrations"]
                .map(String::from)
                .to_vec(),
            flush_function: String::new(),
        }
    }
}

/// Object-storage keys and presigned URLs (TL009).
///
/// Defaults: `tenant-markers` as for Redis (added to `[tenant] columns`),
/// `key-helpers = []`, `global-prefixes = ["public/", "static/"]`,
/// `max-presign-seconds = 300`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Names that make an interpolated value a tenant component, in
    /// addition to the `[tenant] columns`.
    pub tenant_markers: Vec<String>,
    /// Functions that return a tenant-prefixed object key, wherever they
    /// are defined.
    pub key_helpers: Vec<String>,
    /// Key prefixes that hold no tenant data (public assets).
    pub global_prefixes: Vec<String>,
    /// The longest presigned-URL lifetime allowed, in seconds.
    pub max_presign_seconds: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            tenant_markers: RedisConfig::default().tenant_markers,
            key_helpers: Vec::new(),
            global_prefixes: ["public/", "static/"].map(String::from).to_vec(),
            max_presign_seconds: 300,
        }
    }
}

/// Webhook and callback handlers (TL005).
///
/// Defaults: `path-words = ["webhook", "callback", "hook"]`, `verifiers` =
/// the constant-time compares and signature verifiers of the common
/// libraries (`hmac.compare_digest`, `construct_event`, `verify`,
/// `constant_time_eq`, `ct_eq`, `verify_slice`, `*verify*signature*`, …),
/// `replay-checks = ["*nonce*", "*replay*", "*idempot*",
/// "construct_event"]`, `side-effects = []`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Words that make a route a webhook or callback when a segment of its
    /// path contains one (GET routes, OAuth redirects, are never webhooks).
    pub path_words: Vec<String>,
    /// Calls that verify a signature in constant time (`*` wildcards;
    /// matched against the whole or the last part of the called name).
    /// A helper defined in the same file counts by what it calls.
    pub verifiers: Vec<String>,
    /// Calls that reject a replayed delivery (a nonce store, a verifier
    /// with a timestamp tolerance). A timestamp compared with the clock
    /// counts as well.
    pub replay_checks: Vec<String>,
    /// Your own calls that count as side effects, besides database writes,
    /// queue publishes, outbound HTTP calls and Redis writes.
    pub side_effects: Vec<String>,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            path_words: ["webhook", "callback", "hook"].map(String::from).to_vec(),
            verifiers: [
                "compare_digest",
                "construct_event",
                "verify",
                "verify_slice",
                "verify_truncated_left",
                "constant_time_eq",
                "ct_eq",
                "hmac::verify",
                "*verify*signature*",
                "*verify*webhook*",
            ]
            .map(String::from)
            .to_vec(),
            replay_checks: ["*nonce*", "*replay*", "*idempot*", "construct_event"]
                .map(String::from)
                .to_vec(),
            side_effects: Vec::new(),
        }
    }
}

/// Resource ownership in route handlers (TL023).
///
/// Defaults: `helpers = ["*owner*", "*authoriz*", "*authoris*",
/// "*can_access*", "*check_access*", "*permission*"]`, `scoped-sessions =
/// ["*tenant_db*", "*tenant_session*", "*tenant_scoped*"]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct OwnershipConfig {
    /// Calls and dependencies that check the caller may act on a resource
    /// (`*` wildcards; matched against the whole or the last part of the
    /// name). A helper that takes the caller's tenant (`_get_doc_or_404(db,
    /// user.org_id, doc_id)`) counts without being listed.
    pub helpers: Vec<String>,
    /// Session dependencies or context managers that scope every query to
    /// the caller's tenant (row-level security).
    pub scoped_sessions: Vec<String>,
}

impl Default for OwnershipConfig {
    fn default() -> Self {
        OwnershipConfig {
            helpers: [
                "*owner*",
                "*authoriz*",
                "*authoris*",
                "*can_access*",
                "*check_access*",
                "*permission*",
            ]
            .map(String::from)
            .to_vec(),
            scoped_sessions: ["*tenant_db*", "*tenant_session*", "*tenant_scoped*"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// Admin endpoints that act on another tenant (TL012).
///
/// Defaults: `path-words = ["admin"]`, `tenant-params = ["slug"]`,
/// `admin-guards = ["*require_admin*", "*admin_required*", "*admin_user*",
/// "*current_admin*", "AdminUser"]`, `platform-guards =
/// ["*platform_admin*", "*platformadmin*", "*superuser*"]`, `audit-calls =
/// ["*audit*", "log_event"]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Words that make a route an admin route when a literal path segment
    /// contains one.
    pub path_words: Vec<String>,
    /// Parameter names that identify a tenant, besides the `[tenant]
    /// columns` and names with an org/tenant word (`org_slug`).
    pub tenant_params: Vec<String>,
    /// Calls, dependencies or extractor types that check the caller is an
    /// admin of their own org.
    pub admin_guards: Vec<String>,
    /// Calls, dependencies or extractor types that check the caller is a
    /// platform (cross-tenant) admin.
    pub platform_guards: Vec<String>,
    /// Calls that write an audit event.
    pub audit_calls: Vec<String>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            path_words: vec!["admin".into()],
            tenant_params: vec!["slug".into()],
            admin_guards: [
                "*require_admin*",
                "*admin_required*",
                "*admin_user*",
                "*current_admin*",
                "AdminUser",
            ]
            .map(String::from)
            .to_vec(),
            platform_guards: ["*platform_admin*", "*platformadmin*", "*superuser*"]
                .map(String::from)
                .to_vec(),
            audit_calls: ["*audit*", "log_event"].map(String::from).to_vec(),
        }
    }
}

/// Service-to-service endpoints behind a shared secret (TL006).
///
/// Defaults: `secret-markers = ["*internal_secret*", "*internal_token*",
/// "*internal_api_key*"]`, `identity-assertions = ["*identity*assert*",
/// "*assert*identity*", "*asserter.verify*"]`, `user-auth =
/// ["*current_user*", "*jwt*", "*oauth*", "*bearer*", "*oidc*"]`,
/// `id-fields = ["org_id", "tenant_id", "user_id"]`, `caller-header = ""`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct InternalConfig {
    /// What marks an endpoint as protected by an internal shared secret:
    /// a dependency, call, parameter or header name (`verify_internal_secret`,
    /// `X-Internal-Secret`); `*` wildcards, `-` and `_` alike.
    pub secret_markers: Vec<String>,
    /// Calls that assert the calling service's identity and the ids it
    /// acts for (`IdentityAsserter.verify`).
    pub identity_assertions: Vec<String>,
    /// Dependencies that authenticate an end user (the ids then come from
    /// the user's token, not from the caller).
    pub user_auth: Vec<String>,
    /// Request fields that name a tenant or user, besides the `[tenant]
    /// columns`.
    pub id_fields: Vec<String>,
    /// The header a service sends to name itself on internal calls
    /// (`X-Caller-Service`); a call that sends the internal secret without
    /// it is reported (SOFT). Empty: not checked.
    pub caller_header: String,
}

impl Default for InternalConfig {
    fn default() -> Self {
        InternalConfig {
            secret_markers: [
                "*internal_secret*",
                "*internal_token*",
                "*internal_api_key*",
            ]
            .map(String::from)
            .to_vec(),
            identity_assertions: [
                "*identity*assert*",
                "*assert*identity*",
                "*asserter.verify*",
            ]
            .map(String::from)
            .to_vec(),
            user_auth: ["*current_user*", "*jwt*", "*oauth*", "*bearer*", "*oidc*"]
                .map(String::from)
                .to_vec(),
            id_fields: ["org_id", "tenant_id", "user_id"]
                .map(String::from)
                .to_vec(),
            caller_header: String::new(),
        }
    }
}

/// Database sessions and the tenant setter (TL002).
///
/// Defaults: `factories = ["AsyncSessionLocal", "SessionLocal",
/// "async_session", "async_session_maker", "async_session_factory",
/// "session_factory", "SessionFactory"]`, `tenant-setters = ["set_tenant",
/// "set_tenant_context", "set_current_tenant"]`, `scoped-helpers =
/// ["tenant_scoped_session", "tenant_session", "cross_org_session"]`,
/// `excluded-dirs = ["migrations", "alembic", "tests", "test"]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct SessionConfig {
    /// Raw session factories, called to open a session without a tenant;
    /// names assigned from `sessionmaker(...)` / `async_sessionmaker(...)`
    /// in a file are learned as well.
    pub factories: Vec<String>,
    /// Functions that bind a session to a tenant (`set_tenant(db, org_id)`).
    pub tenant_setters: Vec<String>,
    /// Functions that open a tenant-scoped (or declared cross-org)
    /// session; their own bodies may open raw sessions.
    pub scoped_helpers: Vec<String>,
    /// Directories (any path component) where raw sessions are fine.
    pub excluded_dirs: Vec<String>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            factories: [
                "AsyncSessionLocal",
                "SessionLocal",
                "async_session",
                "async_session_maker",
                "async_session_factory",
                "session_factory",
                "SessionFactory",
            ]
            .map(String::from)
            .to_vec(),
            tenant_setters: ["set_tenant", "set_tenant_context", "set_current_tenant"]
                .map(String::from)
                .to_vec(),
            scoped_helpers: [
                "tenant_scoped_session",
                "tenant_session",
                "cross_org_session",
            ]
            .map(String::from)
            .to_vec(),
            excluded_dirs: ["migrations", "alembic", "tests", "test"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// Graph stores: FalkorDB, Neo4j, Graphiti (TL008).
///
/// Defaults: `tenant-properties = ["group_id"]` (added to `[tenant]
/// columns`), `scoping-calls = ["select_graph"]`, `global-graphs = []`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct GraphConfig {
    /// Node and relationship properties (and query parameters) that hold
    /// the tenant, in addition to the `[tenant] columns`.
    pub tenant_properties: Vec<String>,
    /// Calls that pick a per-tenant graph when given a tenant value
    /// (`db.select_graph(f"org_{org_id}")`).
    pub scoping_calls: Vec<String>,
    /// Graph names that hold no tenant data.
    pub global_graphs: Vec<String>,
}

impl Default for GraphConfig {
    fn default() -> Self {
        GraphConfig {
            tenant_properties: vec!["group_id".into()],
            scoping_calls: vec!["select_graph".into()],
            global_graphs: Vec::new(),
        }
    }
}

/// Resolving a user from an identity-provider subject (TL011).
///
/// Defaults: `identity-columns = ["external_id", "external_user_id",
/// "idp_user_id", "idp_subject", "oidc_sub", "oidc_subject", "auth0_id",
/// "auth0_user_id", "sub"]`, `org-columns = []` (the `[tenant] columns`),
/// `org-claim = "org_id"`, `no-filter-markers = ["no org filter:"]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct UsersConfig {
    /// Columns that hold the identity provider's user id.
    pub identity_columns: Vec<String>,
    /// Columns a lookup must also filter on; empty: the `[tenant] columns`.
    pub org_columns: Vec<String>,
    /// The token claim that carries the caller's org, for suggestions.
    pub org_claim: String,
    /// Comment markers (followed by a reason) that declare a lookup
    /// without an org filter intended.
    pub no_filter_markers: Vec<String>,
}

impl Default for UsersConfig {
    fn default() -> Self {
        UsersConfig {
            identity_columns: [
                "external_id",
                "external_user_id",
                "idp_user_id",
                "idp_subject",
                "oidc_sub",
                "oidc_subject",
                "auth0_id",
                "auth0_user_id",
                "sub",
            ]
            .map(String::from)
            .to_vec(),
            org_columns: Vec::new(),
            org_claim: "org_id".into(),
            no_filter_markers: vec!["no org filter:".into()],
        }
    }
}

/// SQL built in host code (TL021).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct SqlConfig {
    /// Your own functions that quote an identifier or a value safely, in
    /// addition to the built-in ones (`sql.Identifier`, `quote_ident`, …).
    pub quote_helpers: Vec<String>,
}

/// Secret settings that must be rejected when empty (TL004).
///
/// Defaults: `secret-fields = ["*_webhook_secret", "*_webhook_token",
/// "*_internal_secret", "*_api_key", "*_encryption_key", "*_kek",
/// "*_secret", "*_token", "*_secret_key", "*_signing_key"]`,
/// `encryption-key-fields = ["*_encryption_key", "*_kek"]`,
/// `base-classes = ["BaseSettings"]`. A pattern `*_x` matches `x` itself
/// and any `<prefix>_x`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct SettingsConfig {
    /// Field-name patterns of webhook secrets, service tokens, API keys and
    /// encryption keys (`*` matches any text).
    pub secret_fields: Vec<String>,
    /// Field-name patterns of encryption keys, whose validator must also
    /// decode the value and check its length.
    pub encryption_key_fields: Vec<String>,
    /// Base classes that make a Python class a settings class (matched
    /// against the last part of the name), besides local subclasses.
    pub base_classes: Vec<String>,
}

impl Default for SettingsConfig {
    fn default() -> Self {
        SettingsConfig {
            secret_fields: [
                "*_webhook_secret",
                "*_webhook_token",
                "*_internal_secret",
                "*_api_key",
                "*_encryption_key",
                "*_kek",
                "*_secret",
                "*_token",
                "*_secret_key",
                "*_signing_key",
            ]
            .map(String::from)
            .to_vec(),
            encryption_key_fields: ["*_encryption_key", "*_kek"].map(String::from).to_vec(),
            base_classes: vec!["BaseSettings".into()],
        }
    }
}

/// Authentication, authorisation and tenant guards (TL018).
///
/// Defaults: `guard-words = ["auth", "guard", "verif", "permission",
/// "allow", "access", "require", "acl", "scope", "role"]`,
/// `tenant-words = ["tenant", "org", "workspace"]`, `auth-calls = []`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct GuardsConfig {
    /// Word beginnings that make a function an auth guard when one of its
    /// name's pieces starts with them (`verify_internal_token`,
    /// `can_access_kb`, `is_org_allowed`).
    pub guard_words: Vec<String>,
    /// Word beginnings that make a name a tenant (`org`, `tenant_id`,
    /// `resolve_workspace`), for tenant-resolver fallbacks.
    pub tenant_words: Vec<String>,
    /// Your own authorisation calls whose failure must deny (matched
    /// against the called name), besides names containing `verify`,
    /// `authenticate`, `authorize`/`authorise`, `permission` and `jwt.decode`.
    pub auth_calls: Vec<String>,
}

impl Default for GuardsConfig {
    fn default() -> Self {
        GuardsConfig {
            guard_words: [
                "auth",
                "guard",
                "verif",
                "permission",
                "allow",
                "access",
                "require",
                "acl",
                "scope",
                "role",
            ]
            .map(String::from)
            .to_vec(),
            tenant_words: ["tenant", "org", "workspace"].map(String::from).to_vec(),
            auth_calls: Vec::new(),
        }
    }
}

impl Default for JwtConfig {
    fn default() -> Self {
        JwtConfig {
            allow_unverified_header_keys: vec!["kid".into(), "alg".into()],
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            preset: "generic".into(),
            select: Vec::new(),
            ignore: Vec::new(),
            exclude: [
                "**/node_modules/**",
                "**/vendor/**",
                "**/third_party/**",
                "**/.venv/**",
                "**/venv/**",
                "**/site-packages/**",
                "**/target/**",
            ]
            .map(String::from)
            .to_vec(),
            severity: BTreeMap::new(),
            per_path_ignores: BTreeMap::new(),
            standard: StandardConfig::default(),
            tenant: TenantConfig::default(),
            secrets: SecretsConfig::default(),
            jwt: JwtConfig::default(),
            rls: RlsConfig::default(),
            migrations: MigrationsConfig::default(),
            qdrant: QdrantConfig::default(),
            sql: SqlConfig::default(),
            redis: RedisConfig::default(),
            storage: StorageConfig::default(),
            settings: SettingsConfig::default(),
            guards: GuardsConfig::default(),
            webhooks: WebhooksConfig::default(),
            ownership: OwnershipConfig::default(),
            admin: AdminConfig::default(),
            internal: InternalConfig::default(),
            session: SessionConfig::default(),
            graph: GraphConfig::default(),
            users: UsersConfig::default(),
        }
    }
}

/// Keys whose sub-keys are the user's own (rule ids, globs, collections).
const FREE_FORM: &[&str] = &[
    "severity",
    "per-path-ignores",
    "standard.sections",
    "qdrant.collections",
];

/// Where a configuration came from, for messages.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub path: Option<PathBuf>,
}

impl Config {
    /// The config in effect for `start_dir`: an explicit file, or the first
    /// `tenant-lint.toml` / `pyproject.toml [tool.tenant-lint]` walking up.
    pub fn load(explicit: Option<&Path>, start_dir: &Path) -> Result<Loaded, ConfigError> {
        if let Some(p) = explicit {
            let table = read_table(p)?;
            let table = if p.file_name().is_some_and(|n| n == "pyproject.toml") {
                tool_section(&table).unwrap_or_default()
            } else {
                table
            };
            return Ok(Loaded {
                config: Config::from_table(table, &p.display().to_string())?,
                path: Some(p.to_path_buf()),
            });
        }
        let mut dir = Some(start_dir);
        while let Some(d) = dir {
            let own = d.join("tenant-lint.toml");
            if own.is_file() {
                return Config::load(Some(&own), start_dir);
            }
            let py = d.join("pyproject.toml");
            if py.is_file() {
                if let Some(t) = tool_section(&read_table(&py)?) {
                    return Ok(Loaded {
                        config: Config::from_table(t, &py.display().to_string())?,
                        path: Some(py),
                    });
                }
            }
            dir = d.parent();
        }
        Ok(Loaded {
            config: Config::default(),
            path: None,
        })
    }

    pub fn from_toml_str(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Toml {
                path: origin.into(),
                cause: e.message().to_string(),
            })?;
        Config::from_table(table, origin)
    }

    fn from_table(table: toml::Table, origin: &str) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: origin.into(),
            message,
        };
        let preset_name = match table.get("preset") {
            None => "generic".to_string(),
            Some(toml::Value::String(s)) => s.clone(),
            Some(_) => return Err(invalid("`preset` must be a string".into())),
        };
        let base = presets::preset(&preset_name).ok_or_else(|| {
            invalid(format!(
                "unknown preset `{preset_name}`; known presets: {}",
                preset_names().join(", ")
            ))
        })?;
        let schema = toml::Table::try_from(Config::default())
            .map_err(|e| invalid(format!("internal schema error: {e}")))?;
        check_keys(&table, &schema, "").map_err(invalid)?;
        let mut merged = toml::Table::try_from(base)
            .map_err(|e| invalid(format!("internal schema error: {e}")))?;
        merge(&mut merged, table);
        let config: Config = toml::Value::Table(merged)
            .try_into()
            .map_err(|e: toml::de::Error| invalid(e.message().to_string()))?;
        config.validate().map_err(invalid)?;
        Ok(config)
    }

    /// Values that deserialise but make no sense.
    fn validate(&self) -> Result<(), String> {
        let known = |s: &str| crate::rules::find(s).is_some() || s.eq_ignore_ascii_case("ALL");
        for id in self.select.iter().chain(&self.ignore) {
            if !known(id) {
                return Err(unknown_rule_message(id, "select/ignore"));
            }
        }
        for id in self.severity.keys().chain(self.standard.sections.keys()) {
            if crate::rules::find(id).is_none() {
                return Err(unknown_rule_message(id, "a rule table"));
            }
        }
        for (glob, ids) in &self.per_path_ignores {
            globset::Glob::new(glob)
                .map_err(|e| format!("per-path-ignores: bad glob `{glob}`: {e}"))?;
            for id in ids {
                if !known(id) {
                    return Err(unknown_rule_message(id, "per-path-ignores"));
                }
            }
        }
        for glob in &self.exclude {
            globset::Glob::new(glob).map_err(|e| format!("exclude: bad glob `{glob}`: {e}"))?;
        }
        Ok(())
    }

    /// The text cited on a finding's `Standard:` line.
    pub fn standard_for(&self, rule: &crate::rules::RuleMeta) -> String {
        let own = format!("rules/{}", rule.doc_file());
        if self.standard.document.is_empty() {
            return own;
        }
        match self.standard.sections.get(rule.id) {
            Some(s) => {
                let parts: Vec<String> = s.split(',').map(|p| format!("§{}", p.trim())).collect();
                format!("{} {}", self.standard.document, parts.join(", "))
            }
            None => own,
        }
    }
}

fn unknown_rule_message(id: &str, place: &str) -> String {
    let names: Vec<&str> = crate::rules::all()
        .iter()
        .flat_map(|r| [r.id, r.name])
        .collect();
    let hint = did_you_mean(id, &names)
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_else(|| "; run `tenant-lint rules` for the list".into());
    format!("unknown rule `{id}` in {place}{hint}")
}

fn read_table(p: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(p).map_err(|e| ConfigError::Read {
        path: p.display().to_string(),
        cause: match e.kind() {
            std::io::ErrorKind::NotFound => {
                "no such file; check the path given to --config".to_string()
            }
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => e.to_string(),
        },
    })?;
    text.parse()
        .map_err(|e: toml::de::Error| ConfigError::Toml {
            path: p.display().to_string(),
            cause: e.message().to_string(),
        })
}

fn tool_section(t: &toml::Table) -> Option<toml::Table> {
    t.get("tool")?.get("tenant-lint")?.as_table().cloned()
}

fn check_keys(user: &toml::Table, schema: &toml::Table, prefix: &str) -> Result<(), String> {
    for (k, v) in user {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let Some(expected) = schema.get(k) else {
            let keys: Vec<&str> = schema.keys().map(String::as_str).collect();
            let hint = did_you_mean(k, &keys)
                .map(|s| format!("; did you mean `{}`?", qualify(prefix, s)))
                .unwrap_or_else(|| format!("; known keys here: {}", keys.join(", ")));
            return Err(format!("unknown key `{path}`{hint}"));
        };
        if FREE_FORM.contains(&path.as_str()) {
            if !v.is_table() {
                return Err(format!("`{path}` must be a table"));
            }
            continue;
        }
        if let (Some(ut), Some(st)) = (v.as_table(), expected.as_table()) {
            check_keys(ut, st, &path)?;
        } else if v.is_table() != expected.is_table() {
            return Err(format!(
                "`{path}` must be {}",
                if expected.is_table() {
                    "a table"
                } else {
                    "a value, not a table"
                }
            ));
        }
    }
    Ok(())
}

fn qualify(prefix: &str, k: &str) -> String {
    if prefix.is_empty() {
        k.to_string()
    } else {
        format!("{prefix}.{k}")
    }
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// The closest candidate by edit distance, when it is close enough.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let w = word.to_ascii_lowercase().replace('_', "-");
    candidates
        .iter()
        .map(|c| (edit_distance(&w, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= (c.len().max(3) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_get_a_suggestion() {
        let e = Config::from_toml_str("[tenant]\ncolumn = [\"org_id\"]\n", "t.toml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.toml: unknown key `tenant.column`; did you mean `tenant.columns`?"
        );
        let e = Config::from_toml_str("selct = []\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("did you mean `select`"), "{e}");
    }

    #[test]
    fn user_values_override_the_preset_and_keep_the_rest() {
        let c = Config::from_toml_str(
            "preset = \"klai\"\n[tenant]\nglobal-tables = [\"plans\"]\n[severity]\nTL013 = \"soft\"\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.preset, "klai");
        assert_eq!(c.tenant.global_tables, vec!["plans"]);
        assert!(c.tenant.columns.contains(&"org_id".to_string()));
        assert_eq!(c.severity.get("TL013"), Some(&Severity::Soft));
        assert_eq!(c.standard.document, "standards.md");
    }

    #[test]
    fn bad_values_are_rejected_with_the_reason() {
        let e = Config::from_toml_str("select = [\"TL999\"]\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("unknown rule `TL999`"), "{e}");
        let e = Config::from_toml_str("[severity]\nTL013 = \"loud\"\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("loud"), "{e}");
        let e = Config::from_toml_str("preset = \"acme\"\n", "t.toml").unwrap_err();
        assert!(
            e.to_string().contains("known presets: generic, klai"),
            "{e}"
        );
    }

    #[test]
    fn starter_files_parse() {
        for p in preset_names() {
            let text = starter_toml(p).unwrap();
            let c = Config::from_toml_str(&text, "init").unwrap();
            assert_eq!(c.preset, *p);
            // The file spells out the preset's values, so editing it
            // starts from what runs.
            assert_eq!(c, super::presets::preset(p).unwrap(), "{p}");
        }
    }
}
