//! TL005 webhook-verification: a webhook or callback handler verifies the
//! signature in constant time and rejects replays before any side effect,
//! fails closed (503) when the replay store is down, answers a replay with
//! 409, and takes the tenant from the verified payload.
//!
//! One finding per handler, at its name, listing every missing piece.

use super::routes::{self, Flow, Route, Step, StepKind};
use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::config::WebhooksConfig;
use crate::lang::{Language, ParsedFile};

pub static RULE: RuleMeta = RuleMeta {
    id: "TL005",
    name: "webhook-verification",
    severity: Severity::Hard,
    languages: &[Language::Python, Language::Rust],
    summary: "Webhook handlers verify, replay-check and resolve the tenant before any side effect",
    doc: include_str!("../../rules/TL005-webhook-verification.md"),
    // A webhook path word is written in the file, or in the module that
    // mounts its router (which the file then constructs).
    triggers: |c| {
        let mut t = c.webhooks.path_words.clone();
        t.extend(routes::router_ctor_words());
        t
    },
    gate: Some(|ctx, path, lang, text| {
        routes::may_declare_routes(lang, text)
            && routes::may_have_path_word(ctx.index, path, text, &ctx.config.webhooks.path_words)
    }),
    needs_index: true,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    let cfg = &ctx.config.webhooks;
    let cols = &ctx.config.tenant.columns;
    for e in &routes::endpoints(file, ctx.index).0 {
        if !routes::path_has_word(&e.route, &cfg.path_words) || is_read(&e.route) {
            continue;
        }
        let body = file.text().get(e.body.clone()).unwrap_or("");
        let unsigned = match file.lang {
            Language::Python => python_unsigned_reads(&e.flow, cols),
            _ => Vec::new(),
        };
        if let Some(d) = judge(&e.route, &e.flow, body, unsigned, cfg, cols, file.lang) {
            out.push(d);
        }
    }
}

/// GET/HEAD/OPTIONS routes (OAuth redirects) are never webhooks.
fn is_read(r: &Route) -> bool {
    r.method
        .split(',')
        .all(|m| matches!(m, "GET" | "HEAD" | "OPTIONS"))
}

/// A call that changes state outside the handler: a database write, a
/// queue publish, an outbound HTTP call, a Redis write.
pub(crate) fn is_side_effect(s: &Step, extra: &[String]) -> bool {
    if s.kind != StepKind::Call || s.local {
        return false;
    }
    if routes::any_matches(extra, &s.name) {
        return true;
    }
    let m = s.method().to_ascii_lowercase();
    let recv = s.receiver().to_ascii_lowercase();
    let dbish = [
        "db",
        "session",
        "sess",
        "conn",
        "tx",
        "txn",
        "uow",
        "repo",
        "collection",
        "objects",
        "table",
        "pool",
    ]
    .iter()
    .any(|w| recv.split(['.', '_']).any(|p| p == *w) || recv.ends_with("repository"));
    match m.as_str() {
        "commit" | "flush" | "bulk_save_objects" | "insert_one" | "insert_many" | "upsert"
        | "bulk_write" | "save" | "send_task" | "apply_async" | "basic_publish" | "xadd"
        | "lpush" | "rpush" | "put_object" | "upload_fileobj" | "send_message" | "produce" => true,
        "add" | "add_all" | "merge" | "delete" | "create" | "insert" | "update" | "update_one"
        | "delete_one" => dbish,
        "execute" | "executemany" | "execute_many" | "fetch_one" | "fetch_all"
        | "fetch_optional" => {
            let t = s.text.to_ascii_lowercase();
            [
                "insert ", "update ", "delete ", "upsert", "insert(", "update(", "delete(",
            ]
            .iter()
            .any(|w| t.contains(w))
                || !t.contains("select")
                    && matches!(m.as_str(), "execute" | "executemany" | "execute_many")
        }
        "set" | "setex" | "hset" | "incr" | "sadd" | "set_ex" => {
            recv.contains("redis") || recv.contains("cache") || recv == "con" || recv == "conn"
        }
        "post" | "put" | "patch" => !recv.is_empty(),
        "delay" | "enqueue" | "publish" => true,
        _ => m.starts_with("publish_") || m.starts_with("enqueue_"),
    }
}

/// An `==`/`!=` comparison of a signature, MAC or digest: verification
/// attempted without a constant-time compare.
fn plain_signature_compare(flow: &Flow) -> Option<&Step> {
    const PREFIXES: [&str; 4] = ["sig", "hmac", "digest", "hash"];
    flow.steps.iter().find(|s| {
        s.kind == StepKind::Compare
            && (s.name.contains("==") || s.name.contains("!="))
            && s.args.iter().any(|a| {
                crate::rules::names::split_pieces(a).iter().any(|w| {
                    let w = w.to_ascii_lowercase();
                    w == "mac" || PREFIXES.iter().any(|k| w.starts_with(k))
                })
            })
    })
}

fn is_verifier(s: &Step, cfg: &WebhooksConfig) -> bool {
    s.kind == StepKind::Call && !s.local && routes::any_matches(&cfg.verifiers, &s.name)
}

/// A clock comparison: `abs(time.time() - ts) > 300`, `now - sent_at < window`.
fn is_window(s: &Step) -> bool {
    if s.kind != StepKind::Compare || !(s.text.contains('<') || s.text.contains('>')) {
        return false;
    }
    let t = s.text.to_ascii_lowercase();
    [
        "time.time",
        "time()",
        "now(",
        "utcnow",
        "systemtime",
        "monotonic",
        "utc::now",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// Python reads of a tenant from the unsigned parts of the request:
/// `request.query_params["org_id"]`, `request.args.get("tenant")`,
/// `request.headers.get("X-Org-Id")`.
fn python_unsigned_reads(flow: &Flow, cols: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for s in flow.calls() {
        let recv = s.receiver();
        let source = recv.rsplit('.').next().unwrap_or("");
        if !matches!(source, "query_params" | "args" | "headers" | "cookies")
            || !matches!(s.method(), "get" | "getlist" | "__getitem__")
        {
            continue;
        }
        if let Some(key) = s.args.first() {
            let key = key.trim_matches(['"', '\'']);
            if routes::tenant_named(&key.replace('-', "_"), cols) {
                out.push(format!("`{recv}` key \"{key}\""));
            }
        }
    }
    out
}

fn step_text(s: &Step) -> String {
    routes::short(&s.text, 50)
}

fn judge(
    r: &Route,
    flow: &Flow,
    body: &str,
    mut unsigned: Vec<String>,
    cfg: &WebhooksConfig,
    cols: &[String],
    lang: Language,
) -> Option<Diagnostic> {
    let first_effect = flow
        .steps
        .iter()
        .find(|s| is_side_effect(s, &cfg.side_effects));
    let verify = flow.steps.iter().find(|s| is_verifier(s, cfg));
    let replay_call = flow
        .calls()
        .find(|s| !s.local && routes::any_matches(&cfg.replay_checks, &s.name));
    let window = flow.steps.iter().find(|s| is_window(s));
    let replay = match (replay_call, window) {
        (Some(a), Some(b)) => Some(if a.at <= b.at { a } else { b }),
        (a, b) => a.or(b),
    };
    // A nonce store (not a verifier with a tolerance) can be unavailable.
    let store = replay_call.filter(|s| !is_verifier(s, cfg));

    let mut missing = Vec::new();
    let mut fixes = Vec::new();
    let verifier_hint = match lang {
        Language::Rust => "`Mac::verify_slice` (or `constant_time_eq`)",
        _ => "`hmac.compare_digest` (or the provider's verifier)",
    };
    let effect_name = first_effect.map(step_text);
    match (verify, first_effect) {
        (None, _) => match plain_signature_compare(flow) {
            // Verified, but not in constant time (TL013 reports the line).
            Some(cmp) => {
                missing.push(format!(
                    "the signature is compared with `{}`, which is not constant-time",
                    cmp.name
                ));
                fixes.push(format!(
                    "compare with {verifier_hint} instead of `{}`",
                    cmp.name
                ));
            }
            None => {
                missing.push("no constant-time signature verification".to_string());
                fixes.push(match &effect_name {
                    Some(e) => format!("verify the signature with {verifier_hint} before `{e}`"),
                    None => format!("verify the signature with {verifier_hint} first"),
                });
            }
        },
        (Some(v), Some(e)) if v.at > e.at => {
            missing.push(format!(
                "signature verified only after the side effect `{}`",
                step_text(e)
            ));
            fixes.push(format!("move `{}` before `{}`", step_text(v), step_text(e)));
        }
        _ => {}
    }
    match (replay, first_effect) {
        (None, _) => {
            missing.push("no replay check".to_string());
            fixes.push(
                "reject replays with a nonce store or a timestamp window after verifying"
                    .to_string(),
            );
        }
        (Some(p), Some(e)) if p.at > e.at => {
            missing.push(format!(
                "replay checked only after the side effect `{}`",
                step_text(e)
            ));
            fixes.push(format!("move `{}` before `{}`", step_text(p), step_text(e)));
        }
        _ => {}
    }
    let has = |words: &[&str]| words.iter().any(|w| flow.text.contains(w));
    if let Some(s) = store {
        if !has(&["503", "SERVICE_UNAVAILABLE", "ServiceUnavailable"]) {
            missing.push(format!(
                "an unavailable replay store (`{}`) is not answered with 503",
                s.name
            ));
            fixes.push("fail closed: answer 503 when the replay store is unavailable".into());
        }
    }
    if (store.is_some() || window.is_some()) && !has(&["409", "CONFLICT", "Conflict"]) {
        missing.push("a replayed delivery is not answered with 409".into());
        fixes.push("answer a replay with 409".into());
    }
    // The tenant from the URL, a query parameter or a header.
    let compared = |name: &str| {
        flow.steps
            .iter()
            .any(|s| s.kind == StepKind::Compare && s.args.iter().any(|a| a.trim() == name))
    };
    let mut tenant_sources = Vec::new();
    let mut tenant_names = Vec::new();
    for p in &r.params {
        if !routes::tenant_named(&p.name, cols)
            || routes::value_uses(body, &p.name).is_empty()
            || compared(&p.name)
        {
            continue;
        }
        if matches!(
            p.kind,
            routes::ParamKind::Path | routes::ParamKind::Query | routes::ParamKind::Header
        ) {
            tenant_names.push(format!("`{}`", p.name));
        }
        match p.kind {
            routes::ParamKind::Path => {
                tenant_sources.push(format!("the URL path parameter `{}`", p.name))
            }
            routes::ParamKind::Query => {
                tenant_sources.push(format!("the unsigned query parameter `{}`", p.name))
            }
            routes::ParamKind::Header => {
                tenant_sources.push(format!("the unsigned header `{}`", p.name))
            }
            _ => {}
        }
    }
    tenant_sources.append(&mut unsigned);
    if !tenant_sources.is_empty() {
        missing.push(format!(
            "tenant taken from {}",
            tenant_sources.join(" and ")
        ));
        fixes.push(if tenant_names.is_empty() {
            "read the tenant from the verified payload instead".to_string()
        } else {
            format!(
                "read the tenant from the verified payload instead of {}",
                tenant_names.join(", ")
            )
        });
    }
    if missing.is_empty() {
        return None;
    }
    let title = format!(
        "Webhook handler `{}` ({} {}): {}",
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
