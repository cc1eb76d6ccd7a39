//! TL006 internal-identity-assertion: an endpoint protected only by an
//! internal shared secret that takes `org_id` / `tenant_id` / `user_id`
//! from its body or query asserts the caller's identity before using them.

use super::routes::{self, Flow, ParamKind, Route, StepKind};
use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::config::{Config, InternalConfig};
use crate::lang::{Language, ParsedFile};

pub static RULE: RuleMeta = RuleMeta {
    id: "TL006",
    name: "internal-identity-assertion",
    severity: Severity::Hard,
    languages: &[Language::Python, Language::Rust],
    summary:
        "Internal-secret endpoints assert identity before using caller-supplied tenant or user ids",
    doc: include_str!("../../rules/TL006-internal-identity-assertion.md"),
    triggers: |c| {
        let mut out = Vec::new();
        for m in &c.internal.secret_markers {
            let bare = m.replace('*', "");
            if !bare.is_empty() {
                out.push(bare.replace('-', "_"));
                out.push(bare.replace('_', "-"));
            }
        }
        out
    },
    gate: None,
    needs_index: true,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    let cfg = ctx.config;
    match &file.syntax {
        crate::lang::Syntax::Python(tree) => {
            caller_side(&cfg.internal, tree.root_node(), file.text(), out)
        }
        crate::lang::Syntax::Rust(f) => caller_side_rust(&cfg.internal, f, &file.src, out),
        crate::lang::Syntax::Sql(_) => {}
    }
    let endpoints = routes::endpoints(file, ctx.index);
    let judged: Vec<(&Route, &Flow)> = endpoints.0.iter().map(|e| (&e.route, &e.flow)).collect();
    // A middleware of this file that checks the secret guards every route.
    let guarded_file = judged
        .iter()
        .filter(|(r, _)| r.middleware)
        .find_map(|(r, f)| secret_marker(&cfg.internal, r, f));
    for (r, flow) in &judged {
        if r.middleware {
            continue;
        }
        if let Some(d) = judge(cfg, r, flow, guarded_file.as_deref()) {
            out.push(d);
        }
    }
}

/// The SOFT companion: an outbound call (or a client built) with the
/// internal secret in its headers but not `[internal] caller-header`, so
/// the receiving service cannot tell which service calls it.
fn caller_side(
    cfg: &InternalConfig,
    root: tree_sitter::Node,
    src: &str,
    out: &mut Vec<Diagnostic>,
) {
    use crate::lang::python;
    if cfg.caller_header.is_empty() {
        return;
    }
    let caller = norm(&cfg.caller_header);
    python::walk(root, &mut |call| {
        if call.kind() != "call" {
            return;
        }
        let Some(arg) = python::keyword_arg(call, "headers", src) else {
            return;
        };
        // `headers=headers` built earlier in the function.
        let (dict, named) = match python::unparen(arg) {
            a if a.kind() == "identifier" => (
                python::assignment_before(a, python::text(a, src), src),
                Some(python::text(a, src)),
            ),
            a => (Some(a), None),
        };
        let Some(dict) = dict.filter(|d| d.kind() == "dictionary") else {
            return;
        };
        let mut c = dict.walk();
        let mut keys = Vec::new();
        let mut secret = None;
        for pair in dict.named_children(&mut c) {
            if pair.kind() != "pair" {
                // `**base_headers`: what it adds is unknown.
                return;
            }
            let key = pair.child_by_field_name("key");
            let value = pair.child_by_field_name("value");
            let Some(k) = key.and_then(|k| python::string_value(k, src)) else {
                return;
            };
            let v = value.map(|v| python::text(v, src)).unwrap_or("");
            if secret.is_none()
                && (routes::any_matches(&cfg.secret_markers, &norm(&k))
                    || routes::any_matches(&cfg.secret_markers, &norm(v)))
            {
                secret = Some(k.clone());
            }
            keys.push(norm(&k));
        }
        let Some(secret) = secret else { return };
        if keys.contains(&caller) {
            return;
        }
        let mut d = Diagnostic::new(
            call.byte_range(),
            format!(
                "Internal call sends `{secret}` without `{}`: the called service cannot tell which service is asking",
                cfg.caller_header
            ),
            match named {
                Some(h) => format!(
                    "add `\"{}\": \"<this service's name>\"` to `{h}`",
                    cfg.caller_header
                ),
                None => format!(
                    "add `\"{}\": \"<this service's name>\"` next to `\"{secret}\"`",
                    cfg.caller_header
                ),
            },
        );
        d.severity = Some(Severity::Soft);
        out.push(d);
    });
}

fn norm(s: &str) -> String {
    s.to_ascii_lowercase().replace('-', "_")
}

/// The SOFT companion in Rust: a reqwest request chain
/// (`client.post(url).header("X-Internal-Secret", &secret)…`) that sends
/// the internal secret without `[internal] caller-header`. A chain that
/// adds a whole `.headers(map)` is not judged: what the map holds is
/// unknown here.
fn caller_side_rust(
    cfg: &InternalConfig,
    file: &syn::File,
    src: &crate::lang::SourceText,
    out: &mut Vec<Diagnostic>,
) {
    use quote::ToTokens;
    use syn::spanned::Spanned;
    use syn::visit::Visit;
    if cfg.caller_header.is_empty() {
        return;
    }
    struct V<'c, 'o> {
        cfg: &'c InternalConfig,
        caller: String,
        src: &'c crate::lang::SourceText,
        /// Calls already seen as part of a longer chain.
        inner: std::collections::HashSet<*const syn::ExprMethodCall>,
        out: &'o mut Vec<Diagnostic>,
    }
    impl<'a> Visit<'a> for V<'_, '_> {
        fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
            if !self.inner.contains(&(m as *const _)) {
                self.chain(m);
            }
            syn::visit::visit_expr_method_call(self, m);
        }
    }
    impl V<'_, '_> {
        fn chain(&mut self, outer: &syn::ExprMethodCall) {
            let mut calls = vec![outer];
            let mut e = &*outer.receiver;
            while let syn::Expr::MethodCall(m) = e {
                self.inner.insert(m as *const _);
                calls.push(m);
                e = &m.receiver;
            }
            calls.reverse();
            let Some(request) = calls.iter().find(|m| {
                matches!(
                    m.method.to_string().as_str(),
                    "get" | "post" | "put" | "patch" | "delete" | "head" | "request"
                ) && !m.args.is_empty()
            }) else {
                return;
            };
            let mut keys = Vec::new();
            let mut secret = None;
            for m in &calls {
                match (m.method.to_string().as_str(), m.args.len()) {
                    ("headers", _) => return,
                    ("header", 2) => {
                        let key = match &m.args[0] {
                            syn::Expr::Lit(syn::ExprLit {
                                lit: syn::Lit::Str(s),
                                ..
                            }) => s.value(),
                            k => k.to_token_stream().to_string().replace(' ', ""),
                        };
                        let value = m.args[1].to_token_stream().to_string().replace(' ', "");
                        if secret.is_none()
                            && (routes::any_matches(&self.cfg.secret_markers, &norm(&key))
                                || routes::any_matches(&self.cfg.secret_markers, &norm(&value)))
                        {
                            let written = self
                                .src
                                .text
                                .get(crate::lang::rust::span_range(m.args[0].span(), self.src));
                            secret = Some((key.clone(), written.unwrap_or(&key).to_string()));
                        }
                        keys.push(norm(&key));
                    }
                    _ => {}
                }
            }
            let Some((secret, written)) = secret else {
                return;
            };
            if keys.contains(&self.caller) {
                return;
            }
            let start = crate::lang::rust::span_range(request.method.span(), self.src).start;
            let end = crate::lang::rust::span_range(outer.span(), self.src).end;
            let mut d = Diagnostic::new(
                start..end.max(start),
                format!(
                    "Internal call sends `{secret}` without `{}`: the called service cannot tell which service is asking",
                    self.cfg.caller_header
                ),
                format!(
                    "add `.header(\"{}\", \"<this service's name>\")` next to `.header({written}, …)`",
                    self.cfg.caller_header
                ),
            );
            d.severity = Some(Severity::Soft);
            self.out.push(d);
        }
    }
    V {
        cfg,
        caller: norm(&cfg.caller_header),
        src,
        inner: Default::default(),
        out,
    }
    .visit_file(file);
}

/// What shows that the route is protected by the internal secret.
fn secret_marker(cfg: &InternalConfig, r: &Route, flow: &Flow) -> Option<String> {
    let patterns: Vec<String> = cfg.secret_markers.iter().map(|m| norm(m)).collect();
    let mut names: Vec<String> = r.all_dependencies().iter().map(|d| d.to_string()).collect();
    names.extend(r.params.iter().map(|p| p.name.clone()));
    names.extend(flow.calls().map(|s| s.name.clone()));
    if let Some(n) = names
        .iter()
        .find(|n| routes::any_matches(&patterns, &norm(n)))
    {
        return Some(format!("`{n}`"));
    }
    let text = norm(&flow.text);
    patterns.iter().find_map(|p| {
        let bare = p.replace('*', "");
        (!bare.is_empty() && text.contains(&bare)).then(|| format!("`{bare}`"))
    })
}

fn judge(cfg: &Config, r: &Route, flow: &Flow, guarded_file: Option<&str>) -> Option<Diagnostic> {
    let icfg = &cfg.internal;
    let user_auth = r
        .all_dependencies()
        .iter()
        .chain(
            r.params
                .iter()
                .map(|p| &p.name)
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .iter(),
        )
        .any(|d| routes::any_matches(&icfg.user_auth, d));
    if user_auth {
        return None;
    }
    let marker = secret_marker(icfg, r, flow).or_else(|| guarded_file.map(String::from))?;
    let mut id_fields: Vec<&str> = Vec::new();
    for f in icfg.id_fields.iter().chain(cfg.tenant.columns.iter()) {
        if !id_fields.contains(&f.as_str()) {
            id_fields.push(f);
        }
    }
    // Ids the caller supplies: (expression, where it comes from).
    let mut ids: Vec<(String, String)> = Vec::new();
    for p in &r.params {
        match &p.kind {
            ParamKind::Query if id_fields.contains(&p.name.as_str()) => {
                ids.push((p.name.clone(), format!("query parameter `{}`", p.name)))
            }
            ParamKind::Body(_) if id_fields.contains(&p.name.as_str()) => {
                ids.push((p.name.clone(), format!("body field `{}`", p.name)))
            }
            ParamKind::Body(_) => {
                for f in &id_fields {
                    let dotted = format!("{}.{f}", p.name);
                    let keyed = format!("{}[\"{f}\"]", p.name);
                    if !routes::value_uses(&flow.text, &dotted).is_empty() {
                        ids.push((dotted.clone(), format!("body field `{dotted}`")));
                    } else if flow.text.contains(&keyed) {
                        ids.push((keyed.clone(), format!("body field `{keyed}`")));
                    }
                }
            }
            _ => {}
        }
    }
    if ids.is_empty() {
        return None;
    }
    let is_assertion = |name: &str| routes::any_matches(&icfg.identity_assertions, name);
    let assertion = flow
        .steps
        .iter()
        .find(|s| s.kind == StepKind::Call && is_assertion(&s.name));
    let first_use = flow
        .calls()
        .filter(|s| s.via.is_none() && !is_assertion(&s.name))
        .filter_map(|s| {
            ids.iter()
                .find(|(e, _)| s.args.iter().any(|a| !routes::value_uses(a, e).is_empty()))
                .map(|(_, label)| (s, label))
        })
        .min_by_key(|(s, _)| s.at);
    let assertion_hint = icfg
        .identity_assertions
        .iter()
        .rev()
        .find(|p| !p.contains('*'))
        .cloned()
        .unwrap_or_else(|| "IdentityAsserter.verify".into());
    let labels: Vec<&str> = ids.iter().map(|(_, l)| l.as_str()).collect();
    let (problem, fix) = match (assertion, first_use) {
        (None, Some((u, _))) => (
            "never asserts the calling service's identity".to_string(),
            format!(
                "Call `{assertion_hint}(...)` with these ids before `{}`, and use the asserted identity.",
                routes::short(&u.text, 60)
            ),
        ),
        (None, None) => (
            "never asserts the calling service's identity".to_string(),
            format!("Call `{assertion_hint}(...)` with these ids before using them."),
        ),
        (Some(a), Some((u, _))) if a.at > u.at => (
            format!("asserts identity (`{}`) only after using them", a.name),
            format!("Move `{}` before `{}`.", a.name, routes::short(&u.text, 60)),
        ),
        _ => return None,
    };
    let title = format!(
        "`{}` ({} {}) is protected only by the internal secret ({marker}) and takes {} from the request, but {problem}",
        r.handler,
        r.method,
        r.path,
        labels.join(", ")
    );
    Some(Diagnostic::new(r.name_range.clone(), title, fix))
}
