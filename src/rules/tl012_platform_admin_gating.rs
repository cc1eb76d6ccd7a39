//! TL012 platform-admin-gating: an admin endpoint that takes a tenant
//! identifier which can name another tenant than the caller's checks the
//! platform-admin guard (after the admin guard) and writes an audit event
//! naming the target tenant.

use super::routes::{self, Flow, ParamKind, Route, StepKind};
use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::config::Config;
use crate::lang::{Language, ParsedFile};

pub static RULE: RuleMeta = RuleMeta {
    id: "TL012",
    name: "platform-admin-gating",
    severity: Severity::Hard,
    languages: &[Language::Python, Language::Rust],
    summary: "Admin endpoints acting on another tenant check platform admin and audit the target",
    doc: include_str!("../../rules/TL012-platform-admin-gating.md"),
    // An admin path word is written in the file, or in the module that
    // mounts its router (which the file then constructs).
    triggers: |c| {
        let mut t = c.admin.path_words.clone();
        t.extend(routes::router_ctor_words());
        t
    },
    gate: Some(|ctx, path, lang, text| {
        routes::may_declare_routes(lang, text)
            && routes::may_have_path_word(ctx.index, path, text, &ctx.config.admin.path_words)
    }),
    needs_index: true,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    let endpoints = routes::endpoints(file, ctx.index);
    let admin = &ctx.config.admin;
    // The file's own guard and audit calls, for suggestions.
    let used = |patterns: &[String], fallback: &str| {
        endpoints
            .0
            .iter()
            .find_map(|e| {
                let dep = e
                    .route
                    .all_dependencies()
                    .into_iter()
                    .find(|d| routes::any_matches(patterns, d))
                    .map(String::from);
                dep.or_else(|| {
                    e.flow
                        .calls()
                        .find(|s| s.via.is_none() && routes::any_matches(patterns, &s.name))
                        .map(|s| s.name.clone())
                })
            })
            .unwrap_or_else(|| example(patterns, fallback))
    };
    let names = Names {
        platform: used(&admin.platform_guards, "require_platform_admin"),
        audit: used(&admin.audit_calls, "audit_log"),
    };
    for e in &endpoints.0 {
        if routes::path_has_word(&e.route, &admin.path_words) {
            out.extend(judge(ctx.config, &e.route, &e.flow, &names));
        }
    }
}

/// What to call in suggestions: the file's own guard and audit calls
/// when other handlers use them, else the configured names.
struct Names {
    platform: String,
    audit: String,
}

/// The first plain name of a pattern list, for suggestions.
fn example(patterns: &[String], fallback: &str) -> String {
    patterns
        .iter()
        .rev()
        .find(|p| !p.contains('*'))
        .cloned()
        .unwrap_or_else(|| fallback.to_string())
}

fn judge(cfg: &Config, r: &Route, flow: &Flow, names: &Names) -> Option<Diagnostic> {
    let admin = &cfg.admin;
    let tenant = r.params.iter().find(|p| {
        matches!(p.kind, ParamKind::Path | ParamKind::Query)
            && (routes::tenant_named(&p.name, &cfg.tenant.columns)
                || admin
                    .tenant_params
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(&p.name)))
    })?;
    let t = tenant.name.as_str();
    // Compared with the caller's own org: it cannot name another tenant.
    let pinned = flow.steps.iter().any(|s| {
        s.kind == StepKind::Compare
            && s.via.is_none()
            && s.args.len() == 2
            && s.args.iter().any(|a| a.trim() == t)
            && s.args.iter().all(|a| {
                // The caller's org (`caller_org.slug`), not a model column
                // (`Organisation.slug == slug` is a lookup) or a literal.
                let a = a.trim();
                a == t || a.starts_with(|c: char| c.is_lowercase() || c == '_') && a != "None"
            })
    });
    if pinned {
        return None;
    }
    let deps = r.all_dependencies();
    let guard = |patterns: &[String]| -> Option<(String, Option<usize>)> {
        if let Some(d) = deps.iter().find(|d| routes::any_matches(patterns, d)) {
            return Some((d.to_string(), None));
        }
        flow.calls()
            .find(|s| routes::any_matches(patterns, &s.name))
            .map(|s| (s.name.clone(), Some(s.at)))
    };
    let admin_guard = guard(&admin.admin_guards);
    let platform_guard = guard(&admin.platform_guards);
    let audits: Vec<_> = flow
        .calls()
        .filter(|s| routes::any_matches(&admin.audit_calls, &s.name))
        .collect();
    let names_target = audits
        .iter()
        .any(|s| s.via.is_some() || s.args.iter().any(|a| !routes::value_uses(a, t).is_empty()));

    let (platform_name, audit_name) = (&names.platform, &names.audit);
    let mut missing = Vec::new();
    let mut fixes = Vec::new();
    match (&platform_guard, &admin_guard) {
        (None, _) => {
            missing.push(
                "no platform-admin guard: any tenant's admin can act on another tenant".to_string(),
            );
            fixes.push(match &admin_guard {
                Some((a, _)) => format!("call `{platform_name}` after `{a}`"),
                None => format!("check the caller with `{platform_name}`"),
            });
        }
        (Some((p, Some(pa))), Some((a, Some(aa)))) if pa < aa => {
            missing.push(format!("`{p}` runs before the admin guard `{a}`"));
            fixes.push(format!("call `{p}` after `{a}`"));
        }
        _ => {}
    }
    if audits.is_empty() {
        missing.push(format!("no audit event for the target tenant `{t}`"));
        fixes.push(format!(
            "write an audit event naming the target: `{audit_name}(..., target={t})`"
        ));
    } else if !names_target {
        missing.push(format!(
            "the audit event `{}` does not name the target tenant `{t}`",
            audits[0].name
        ));
        fixes.push(format!("pass `{t}` to `{}`", audits[0].name));
    }
    if missing.is_empty() {
        return None;
    }
    let title = format!(
        "Admin endpoint `{}` ({} {}) takes the tenant `{t}`: {}",
        r.handler,
        r.method,
        r.path,
        missing.join("; ")
    );
    Some(Diagnostic::new(
        r.name_range.clone(),
        title,
        routes::sentence(&fixes),
    ))
}
