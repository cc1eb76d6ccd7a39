//! Rules: pure functions from (parsed file, project index, config) to
//! diagnostics. A rule never reads files, talks to git or formats output.
//!
//! Each rule is declared once, by a `RuleMeta` constant in its own file and
//! one line in `REGISTRY`; listings, SARIF descriptors, "Check N" numbering
//! and documentation lookup all derive from that declaration.

mod keys;
pub mod names;
mod rls;
pub mod routes;
pub mod tl000_suppression_hygiene;
mod tl001_rls_coverage;
mod tl002_session_helper_discipline;
mod tl003_with_check_discipline;
mod tl004_secret_settings_validator;
mod tl005_webhook_verification;
mod tl006_internal_identity_assertion;
mod tl007_vector_store_tenant_filter;
mod tl008_graph_tenant_scope;
mod tl009_object_storage_tenant_prefix;
mod tl010_redis_tenant_prefix;
mod tl011_multi_org_user_resolution;
mod tl012_platform_admin_gating;
mod tl013_constant_time_compare;
pub(crate) mod tl014_rls_operator_step;
mod tl015_migration_auto_apply;
mod tl016_query_tenant_filter;
mod tl017_jwt_verification;
mod tl018_fail_open_guard;
mod tl019_rls_bypass_ddl;
mod tl020_tenant_context_leak;
mod tl021_sql_identifier_injection;
mod tl022_secret_exposure;
mod tl023_resource_ownership;

use crate::config::Config;
use crate::index::ProjectIndex;
use crate::lang::{Language, ParsedFile};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Every rule, in id order. Adding a rule adds one line here.
static REGISTRY: &[&RuleMeta] = &[
    &tl000_suppression_hygiene::RULE,
    &tl001_rls_coverage::RULE,
    &tl002_session_helper_discipline::RULE,
    &tl003_with_check_discipline::RULE,
    &tl004_secret_settings_validator::RULE,
    &tl005_webhook_verification::RULE,
    &tl006_internal_identity_assertion::RULE,
    &tl007_vector_store_tenant_filter::RULE,
    &tl008_graph_tenant_scope::RULE,
    &tl009_object_storage_tenant_prefix::RULE,
    &tl010_redis_tenant_prefix::RULE,
    &tl011_multi_org_user_resolution::RULE,
    &tl012_platform_admin_gating::RULE,
    &tl013_constant_time_compare::RULE,
    &tl014_rls_operator_step::RULE,
    &tl015_migration_auto_apply::RULE,
    &tl016_query_tenant_filter::RULE,
    &tl017_jwt_verification::RULE,
    &tl018_fail_open_guard::RULE,
    &tl019_rls_bypass_ddl::RULE,
    &tl020_tenant_context_leak::RULE,
    &tl021_sql_identifier_injection::RULE,
    &tl022_secret_exposure::RULE,
    &tl023_resource_ownership::RULE,
];

pub fn all() -> &'static [&'static RuleMeta] {
    REGISTRY
}

/// Look a rule up by id (`TL013`, any case) or name (`constant-time-compare`).
pub fn find(key: &str) -> Option<&'static RuleMeta> {
    REGISTRY
        .iter()
        .copied()
        .find(|r| r.id.eq_ignore_ascii_case(key) || r.name == key)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[serde(alias = "SOFT", alias = "Soft")]
    Soft,
    #[serde(alias = "HARD", alias = "Hard")]
    Hard,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Hard => "HARD",
            Severity::Soft => "SOFT",
        }
    }
}

/// What a rule needs from a run, computed once.
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub index: &'a ProjectIndex,
    pub pr_body: Option<&'a str>,
    pub secret_words: names::SecretWords,
    derived: crate::memo::Memo,
}

impl<'a> Ctx<'a> {
    pub fn new(config: &'a Config, index: &'a ProjectIndex, pr_body: Option<&'a str>) -> Ctx<'a> {
        Ctx {
            config,
            index,
            pr_body,
            secret_words: names::SecretWords::new(&config.secrets),
            derived: Default::default(),
        }
    }

    /// A value derived from this run's config and index, computed by
    /// `make` the first time any rule asks for a `T` and shared afterwards.
    pub fn derived<T: std::any::Any + Send + Sync>(
        &self,
        make: impl FnOnce(&Ctx) -> T,
    ) -> std::sync::Arc<T> {
        self.derived.get_or(|| make(self))
    }

    /// The tenant value suggestions use when none is in scope.
    pub fn default_tenant(&self) -> String {
        self.config
            .tenant
            .columns
            .first()
            .cloned()
            .unwrap_or_else(|| "org_id".into())
    }
}

/// A rule's pre-filter gate: (run context, file path, language, text).
pub type Gate = fn(&Ctx, &str, Language, &str) -> bool;

/// A rule's declaration.
pub struct RuleMeta {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub languages: &'static [Language],
    /// One line for `tenant-lint rules` and SARIF `shortDescription`.
    pub summary: &'static str,
    /// The rule's page under `rules/`, embedded.
    pub doc: &'static str,
    /// Words at least one of which appears (case-insensitively) in every
    /// file this rule can report on. The pre-filter relies on it, so a rule
    /// must never fire on a file without one of them.
    pub triggers: fn(&Config) -> Vec<String>,
    /// The pre-filter's second stage, run on the path and text of a file
    /// the triggers let through, once the project index is built: may the
    /// rule fire here? (A query rule asks whether the file names a tenant
    /// table or model; an endpoint rule whether a route of the module can
    /// be mounted under a path word.) Like the triggers it must hold for
    /// every file the rule can report on. Values it needs are built once
    /// per run with [`Ctx::derived`].
    pub gate: Option<Gate>,
    /// Reads the project index (tables, RLS state, policies).
    pub needs_index: bool,
    /// Reads the pull-request description; reported as not evaluated
    /// without one.
    pub needs_pr_body: bool,
    /// In Python and Rust the rule sees only SQL embedded in strings, so a
    /// host file without an SQL-executing call cannot concern it.
    pub embedded_sql_only: bool,
    /// Paths the rule can concern at all (migrations, say).
    pub applies_to: fn(&str) -> bool,
    pub check: fn(&Ctx, &ParsedFile, &mut Vec<Diagnostic>),
}

impl std::fmt::Debug for RuleMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.id, self.name)
    }
}

impl RuleMeta {
    /// "Check N": the rule's number.
    pub fn number(&self) -> u32 {
        self.id.trim_start_matches("TL").parse().unwrap_or(0)
    }

    pub fn doc_file(&self) -> String {
        format!("{}-{}.md", self.id, self.name)
    }

    pub fn covers(&self, lang: Language) -> bool {
        self.languages.contains(&lang)
    }
}

/// A rule's report on one place of one file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Byte range in the file's text.
    pub range: Range<usize>,
    pub title: String,
    pub suggestion: String,
    /// Overrides the rule's severity (a rule's SOFT companion).
    pub severity: Option<Severity>,
}

impl Diagnostic {
    pub fn new(
        range: Range<usize>,
        title: impl Into<String>,
        suggestion: impl Into<String>,
    ) -> Self {
        Diagnostic {
            range,
            title: title.into(),
            suggestion: suggestion.into(),
            severity: None,
        }
    }

    pub fn soft(mut self) -> Self {
        self.severity = Some(Severity::Soft);
        self
    }
}

/// `applies_to` for rules about any path.
pub fn any_path(_: &str) -> bool {
    true
}

/// Static trigger lists.
fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}
