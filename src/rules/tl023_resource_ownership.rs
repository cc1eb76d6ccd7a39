//! TL023 resource-ownership: a handler that loads a resource by an id from
//! its path or query checks that the caller may see it — an ownership
//! helper, a query filtered by the caller's tenant or user, a helper given
//! the caller, or a tenant-scoped session. SOFT; HARD when another handler
//! of the same module checks ownership of the same kind of resource (the
//! REST route next to the checked MCP tool).

use super::routes::{self, Flow, ParamKind, Route, Step, StepKind};
use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::config::Config;
use crate::lang::{Language, ParsedFile};

pub static RULE: RuleMeta = RuleMeta {
    id: "TL023",
    name: "resource-ownership",
    severity: Severity::Soft,
    languages: &[Language::Python, Language::Rust],
    summary: "Handlers that load a resource by id check the caller's ownership",
    doc: include_str!("../../rules/TL023-resource-ownership.md"),
    // The rule judges routes only, and an id parameter can be spelt
    // without any fixed word around it (`id: int`, a query parameter): the
    // route words trigger it, the gate looks for an id-like name.
    triggers: |_| routes::route_words(),
    gate: Some(gate),
    needs_index: true,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

/// The pre-filter's second stage: a route, and a name [`id_like`] reads as
/// an id — a parameter, a path placeholder, or a placeholder of the prefix
/// under which another module mounts this module's router.
fn gate(ctx: &Ctx, path: &str, lang: Language, text: &str) -> bool {
    routes::may_declare_routes(lang, text)
        && (names_an_id(text)
            || ctx
                .index
                .mounts
                .iter()
                .any(|m| crate::index::is_module(path, &m.module) && names_an_id(&m.prefix)))
}

/// Does `text` hold a name [`id_like`] accepts? Names are cut at every
/// byte that is not an ASCII letter, digit or `_`: an identifier ending in
/// `_id` or `Id` leaves a run ending so, and `id` on its own is a run.
fn names_an_id(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(id_like)
}

/// Attributes that name a row's owner.
const OWNER_ATTRS: &[&str] = &[
    "owner",
    "owner_id",
    "user_id",
    "created_by",
    "author_id",
    "creator_id",
];

/// Name pieces of a parameter or dependency that hold the caller.
const PRINCIPAL_PIECES: &[&str] = &[
    "user",
    "principal",
    "caller",
    "auth",
    "member",
    "identity",
    "claims",
    "actor",
    "account",
    "token",
    "me",
];

/// One judged handler.
struct Judged {
    route: Route,
    /// The id variable and the kind of resource it names (`task_id`).
    id: String,
    kind: String,
    /// The first call that loads by the id.
    load: Option<String>,
    /// What checks ownership, if anything.
    evidence: Option<String>,
    principal: Option<String>,
}

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    let cfg = ctx.config;
    let judged: Vec<Judged> = routes::endpoints(file, ctx.index)
        .0
        .iter()
        .filter_map(|e| judge(cfg, e.route.clone(), &e.flow))
        .collect();
    for j in &judged {
        let (Some(load), None) = (&j.load, &j.evidence) else {
            continue;
        };
        let sibling = judged.iter().find(|o| {
            o.route.handler != j.route.handler && o.kind == j.kind && o.evidence.is_some()
        });
        let noun = j
            .kind
            .trim_end_matches("_id")
            .trim_end_matches("Id")
            .replace('_', " ");
        let noun = if noun.is_empty() || noun == "id" {
            "a resource".to_string()
        } else if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
            format!("an {noun}")
        } else {
            format!("a {noun}")
        };
        let mut title = format!(
            "`{}` ({} {}) loads {noun} by `{}` (`{}`) without checking that the caller owns it",
            j.route.handler, j.route.method, j.route.path, j.id, load
        );
        let suggestion = match (sibling, &j.principal) {
            (Some(o), _) => {
                let how = o.evidence.as_deref().unwrap_or_default();
                title.push_str(&format!(
                    "; `{}` in this module checks the same resource with {how}",
                    o.route.handler
                ));
                format!("Check ownership the same way as `{}` ({how}) before returning or changing it.", o.route.handler)
            }
            (None, Some(p)) => format!(
                "Scope the load to the caller: constrain its tenant column to `{p}.{}`, or call an ownership helper with `{p}` and `{}`.",
                ctx.default_tenant(),
                j.id
            ),
            (None, None) => format!(
                "Authenticate the caller and check they own `{}` (an ownership helper, or a query filtered by their tenant).",
                j.id
            ),
        };
        let mut d = Diagnostic::new(j.route.name_range.clone(), title, suggestion);
        if sibling.is_some() {
            d.severity = Some(Severity::Hard);
        }
        out.push(d);
    }
}

fn id_like(name: &str) -> bool {
    name == "id" || name.ends_with("_id") || name.ends_with("Id")
}

fn noise(s: &Step) -> bool {
    let m = s.method();
    let recv = s.receiver().to_ascii_lowercase();
    if recv.contains("log") || recv == "tracing" || recv == "span" {
        return true;
    }
    if matches!(
        m,
        "print"
            | "str"
            | "int"
            | "repr"
            | "len"
            | "UUID"
            | "format"
            | "info"
            | "debug"
            | "warning"
            | "warn"
            | "error"
            | "exception"
            | "trace"
            | "println"
            | "eprintln"
            | "write"
            | "format_args"
            | "to_string"
            | "parse"
            | "from_str"
            | "quote"
            | "dict"
            | "f"
    ) {
        return true;
    }
    m.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && (m.ends_with("Response") || m.ends_with("Exception") || m.ends_with("Error"))
}

fn strip_ref(a: &str) -> &str {
    a.trim()
        .trim_start_matches(['&', '*'])
        .trim_start_matches("mut ")
        .trim()
}

fn judge(cfg: &Config, route: Route, flow: &Flow) -> Option<Judged> {
    if route.middleware {
        return None;
    }
    let cols = &cfg.tenant.columns;
    let own = &cfg.ownership;
    let placeholders = routes::path_placeholders(&route.path);
    // The id: a path or query parameter named like an id, not a tenant.
    let candidates: Vec<(String, String)> = route
        .params
        .iter()
        .filter_map(|p| {
            if !matches!(p.kind, ParamKind::Path | ParamKind::Query)
                || routes::tenant_named(&p.name, cols)
            {
                return None;
            }
            if id_like(&p.name) {
                return Some((p.name.clone(), p.name.clone()));
            }
            // actix `path: web::Path<Uuid>` for `/{invoice_id}`.
            let ids: Vec<&String> = placeholders
                .iter()
                .filter(|x| id_like(x) && !routes::tenant_named(x, cols))
                .collect();
            (p.kind == ParamKind::Path && ids.len() == 1).then(|| (p.name.clone(), ids[0].clone()))
        })
        .collect();
    let load_of = |id: &str| {
        let first = flow
            .calls()
            .filter(|s| s.via.is_none() && !noise(s))
            .find(|s| s.args.iter().any(|a| !routes::value_uses(a, id).is_empty()))?;
        // The outermost call around it: `qdrant.scroll(...)`, not its filter.
        let outer = flow
            .calls()
            .filter(|s| s.via.is_none() && !noise(s))
            .filter(|s| s.range.start <= first.range.start && s.range.end >= first.range.end)
            .min_by_key(|s| s.range.start)
            .unwrap_or(first);
        Some(routes::short(&outer.text, 60))
    };
    let (id, kind, load) = candidates
        .iter()
        .find_map(|(id, kind)| load_of(id).map(|l| (id.clone(), kind.clone(), Some(l))))
        .or_else(|| {
            candidates
                .first()
                .map(|(i, k)| (i.clone(), k.clone(), None))
        })?;
    let request_params: Vec<&str> = route
        .params
        .iter()
        .filter(|p| {
            matches!(
                p.kind,
                ParamKind::Path | ParamKind::Query | ParamKind::Body(_)
            )
        })
        .map(|p| p.name.as_str())
        .collect();
    let principals: Vec<&str> = route
        .params
        .iter()
        .filter(|p| match &p.kind {
            ParamKind::Depends(d) => [p.name.as_str(), d.as_str()].iter().any(|n| {
                routes::tenant_named(n, cols)
                    || super::names::split_pieces(n)
                        .iter()
                        .any(|x| PRINCIPAL_PIECES.contains(&x.as_str()))
            }),
            _ => false,
        })
        .map(|p| p.name.as_str())
        .collect();
    let evidence = evidence(cfg, &route, flow, &request_params, &principals, cols, own);
    Some(Judged {
        id,
        kind,
        load,
        evidence,
        principal: principals.first().map(|p| p.to_string()),
        route,
    })
}

fn evidence(
    _cfg: &Config,
    route: &Route,
    flow: &Flow,
    request_params: &[&str],
    principals: &[&str],
    cols: &[String],
    own: &crate::config::OwnershipConfig,
) -> Option<String> {
    for d in route.all_dependencies() {
        if routes::any_matches(&own.helpers, d) || routes::any_matches(&own.scoped_sessions, d) {
            return Some(format!("`Depends({d})`"));
        }
    }
    let from_request = |a: &str| {
        let a = strip_ref(a);
        request_params.contains(&a)
    };
    let callerish = |a: &str| {
        let a = strip_ref(a);
        if from_request(a) {
            return false;
        }
        let head = a.split(['.', '[', '(']).next().unwrap_or(a);
        principals.contains(&head)
            || principals
                .iter()
                .any(|p| !routes::value_uses(a, p).is_empty())
            || (routes::tenant_named(a, cols)
                && !request_params.contains(&head)
                && a.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '.'))
    };
    for s in &flow.steps {
        if let Some(h) = &s.via {
            // Reported as the helper the handler calls.
            let inner = Flow {
                steps: vec![Step {
                    via: None,
                    ..s.clone()
                }],
                text: String::new(),
            };
            if (s.kind == StepKind::Compare || routes::any_matches(&own.helpers, &s.name))
                && evidence(_cfg, route, &inner, request_params, &[], cols, own).is_some()
            {
                return Some(format!("`{h}`"));
            }
            continue;
        }
        match s.kind {
            StepKind::Call => {
                if routes::any_matches(&own.helpers, &s.name)
                    || routes::any_matches(&own.scoped_sessions, &s.name)
                {
                    return Some(format!("`{}`", s.name));
                }
                if s.via.is_none() && !noise(s) {
                    if let Some(a) = s.args.iter().find(|a| callerish(a)) {
                        return Some(format!("`{}` passed to `{}`", strip_ref(a), s.method()));
                    }
                    for c in cols {
                        let pat = format!("{c}=");
                        if let Some(i) = s.text.find(&pat) {
                            let value: String = s.text[i + pat.len()..]
                                .chars()
                                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                                .collect();
                            if !value.is_empty()
                                && !from_request(&value)
                                && !s.text[..i].ends_with('=')
                            {
                                return Some(format!("`{c}={value}`"));
                            }
                        }
                    }
                }
            }
            StepKind::Compare => {
                if s.args.len() != 2 || s.args.iter().any(|a| from_request(a)) {
                    continue;
                }
                let owner_side = s.args.iter().any(|a| {
                    let last = a.rsplit('.').next().unwrap_or(a).trim();
                    routes::tenant_named(last, cols) || OWNER_ATTRS.contains(&last)
                });
                let literal = s.args.iter().any(|a| {
                    let a = a.trim();
                    matches!(a, "None" | "\"\"" | "''" | "0") || a.starts_with('"')
                });
                if owner_side && !literal {
                    return Some(format!("`{}`", routes::short(&s.text, 60)));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::index::ProjectIndex;

    fn run(path: &str, code: &str) -> Vec<Diagnostic> {
        let cfg = Config::default();
        let idx = ProjectIndex::default();
        let ctx = Ctx::new(&cfg, &idx, None);
        let lang = Language::from_path(path).unwrap();
        let f = ParsedFile::parse(path, lang, code).unwrap();
        let mut out = Vec::new();
        check(&ctx, &f, &mut out);
        out
    }

    #[test]
    fn suggestion_names_the_caller_and_the_tenant_column_in_both_languages() {
        let py = "from fastapi import APIRouter, Depends\n\nrouter = APIRouter()\n\n\n@router.get(\"/documents/{document_id}\")\nasync def get_document(document_id: int, user: CurrentUser = Depends(current_user), db=Depends(get_session)):\n    return await db.get(Document, document_id)\n";
        let rs = "async fn get_document(State(pool): State<PgPool>, Extension(user): Extension<AuthUser>, Path(id): Path<Uuid>) -> Json<String> {\n    let t: String = sqlx::query_scalar(\"SELECT title FROM documents WHERE id = $1\").bind(id).fetch_one(&pool).await.unwrap();\n    Json(t)\n}\n\npub fn app() -> Router {\n    Router::new().route(\"/documents/:id\", get(get_document))\n}\n";
        for (path, code) in [("app/api.py", py), ("src/api.rs", rs)] {
            let out = run(path, code);
            assert_eq!(out.len(), 1, "{path}: {out:?}");
            assert!(
                out[0].suggestion.contains("tenant column to `user.org_id`"),
                "{path}: {}",
                out[0].suggestion
            );
        }
    }
}
