//! TL009 object-storage-tenant-prefix: S3-compatible object keys start with
//! the tenant, presigned URLs are short-lived, and nothing is readable
//! without credentials.

use super::keys::{
    name_has, py_peel, rs_peel, HoleKind, Key, Markers, Part, PyFile, PyKeys, RsFile, RsFn, RsKeys,
};
use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::config::StorageConfig;
use crate::lang::{python, rust, Language, ParsedFile, Syntax};
use std::collections::HashSet;
use std::ops::Range;
use syn::spanned::Spanned;
use tree_sitter::Node;

pub static RULE: RuleMeta = RuleMeta {
    id: "TL009",
    name: "object-storage-tenant-prefix",
    severity: Severity::Soft,
    languages: &[Language::Python, Language::Rust],
    summary:
        "Object keys start with the tenant; presigned URLs are short-lived; no anonymous reads",
    doc: include_str!("../../rules/TL009-object-storage-tenant-prefix.md"),
    triggers: |_| super::words(TRIGGERS),
    gate: None,
    needs_index: false,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

/// One of these is in every file the rule reports on: the keyed operations
/// (`put_object`, `create_multipart_upload`, `upload_part`, `s3.Object(`,
/// `upload_file`, `download_fileobj`), presigning and its lifetime
/// (`generate_presigned_url`, `PresigningConfig::expires_in`), anonymous
/// clients (`UNSIGNED`, `no_credentials()`) and public ACLs by value
/// (`"public-read"`, `ObjectCannedAcl::PublicRead`).
const TRIGGERS: &[&str] = &[
    "_object",
    "object(",
    "multipart",
    "upload_part",
    "upload_file",
    "download_file",
    "presign",
    "expires_in",
    "unsigned",
    "no_credentials",
    "public-read",
    "authenticated-read",
    "publicread",
    "authenticatedread",
];

/// boto3's default presigned-URL lifetime, when `ExpiresIn` is omitted.
const BOTO_DEFAULT_EXPIRY: i64 = 3600;

/// boto3 client methods that take `Bucket=` and `Key=`.
const KEYED: &[&str] = &[
    "put_object",
    "get_object",
    "delete_object",
    "head_object",
    "copy_object",
    "get_object_acl",
    "put_object_acl",
    "get_object_tagging",
    "put_object_tagging",
    "get_object_attributes",
    "create_multipart_upload",
    "upload_part",
    "complete_multipart_upload",
    "abort_multipart_upload",
    "restore_object",
    "select_object_content",
];

/// aws-sdk-s3 operations whose builder takes `.key(…)`.
const RS_OPS: &[&str] = &[
    "put_object",
    "get_object",
    "delete_object",
    "head_object",
    "copy_object",
    "get_object_acl",
    "put_object_acl",
    "get_object_tagging",
    "put_object_tagging",
    "get_object_attributes",
    "create_multipart_upload",
    "upload_part",
    "complete_multipart_upload",
    "abort_multipart_upload",
    "restore_object",
    "select_object_content",
];

/// Canned ACLs that let anyone read.
const PUBLIC_ACLS: &[&str] = &["public-read", "public-read-write", "authenticated-read"];

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    let cfg = &ctx.config.storage;
    let markers = Markers::new(&ctx.config.tenant.columns, &cfg.tenant_markers);
    let default_tenant = ctx
        .config
        .tenant
        .columns
        .first()
        .cloned()
        .unwrap_or_else(|| "org_id".into());
    let mut r = Report {
        cfg,
        default_tenant,
        out,
    };
    match &file.syntax {
        Syntax::Python(tree) => {
            let pf = PyFile::new(tree.root_node(), file.text());
            let keys = PyKeys {
                file: &pf,
                markers: &markers,
                helpers: &cfg.key_helpers,
            };
            Py { keys: &keys }.check(tree.root_node(), &mut r);
        }
        Syntax::Rust(f) => {
            let rf = RsFile::new(f, &file.src);
            let keys = RsKeys {
                file: &rf,
                markers: &markers,
                helpers: &cfg.key_helpers,
            };
            check_rust(f, &keys, file.text(), &mut r);
        }
        Syntax::Sql(_) => {}
    }
}

struct Report<'a, 'o> {
    cfg: &'a StorageConfig,
    default_tenant: String,
    out: &'o mut Vec<Diagnostic>,
}

/// An object key argument, ready to judge.
struct Arg<'t> {
    range: Range<usize>,
    key: Key,
    tenant: &'t str,
    rust: bool,
    /// Code to put the fixed key into: `(text, range of the key in it)`.
    frame: Option<(String, Range<usize>)>,
}

impl Report<'_, '_> {
    fn judge(&mut self, a: Arg) {
        let shape = match &a.key {
            Key::Shape(s) | Key::Built { shape: s, .. } => s.clone(),
            Key::Helper | Key::Unknown => return,
            Key::Call {
                tenant_arg: true, ..
            } => return,
            k if k.is_inherited_method() => return,
            Key::Call { text, name, .. } => {
                if name_has(name, &["key", "path", "name"]) {
                    self.out.push(
                        Diagnostic::new(
                            a.range.clone(),
                            format!("Object key from `{text}` gets no tenant value"),
                            format!(
                                "pass the tenant: {name}({}, …) returning a key that starts with it, or list `{name}` in [storage] key-helpers",
                                a.tenant
                            ),
                        )
                        .soft(),
                    );
                }
                return;
            }
        };
        if shape.is_global(&self.cfg.global_prefixes)
            || shape.parts.len() < 2 && !matches!(shape.parts.first(), Some(Part::Lit(_)))
        {
            return;
        }
        let first = shape.first_segment('/');
        if first.iter().any(|p| {
            matches!(
                p,
                Part::Hole {
                    tenant: Some(_),
                    ..
                }
            )
        }) {
            return;
        }
        if first.iter().any(|p| {
            matches!(
                p,
                Part::Hole {
                    kind: HoleKind::Prefix,
                    ..
                }
            )
        }) {
            return;
        }
        let display = shape.display();
        let built = match &a.key {
            Key::Built { helper, .. } => format!(" built by `{helper}`"),
            _ => String::new(),
        };
        let title = match shape.tenant_text() {
            Some(t) => format!(
                "Object key `{display}`{built} puts the tenant `{t}` after `{}`; it must come first",
                first_text(&first)
            ),
            None => format!("Object key `{display}`{built} does not start with a tenant component"),
        };
        let fixed = shape.with_tenant_first(a.tenant, '/');
        let code = if a.rust { fixed.rust() } else { fixed.python() };
        let suggestion = match &a.key {
            Key::Shape(s) if s.via.is_some() => {
                let v = s.via.as_deref().unwrap_or_default();
                if a.rust {
                    format!("let {v} = {code};")
                } else {
                    format!("{v} = {code}")
                }
            }
            Key::Built { helper, .. } => {
                format!("return {code} from `{helper}` (taking the tenant as a parameter)")
            }
            _ => match &a.frame {
                Some((t, r)) => {
                    let mut s = t.clone();
                    s.replace_range(r.clone(), &code);
                    s
                }
                None => code,
            },
        };
        self.out
            .push(Diagnostic::new(a.range, title, suggestion).soft());
    }

    fn expiry(&mut self, range: Range<usize>, seconds: i64, given: bool, fix: String) {
        let max = self.cfg.max_presign_seconds;
        if seconds <= max as i64 {
            return;
        }
        let title = if given {
            format!("Presigned URL expires in {seconds} s (limit {max} s)")
        } else {
            format!(
                "Presigned URL without an expiry lives {seconds} s (boto3 default; limit {max} s)"
            )
        };
        self.out.push(Diagnostic::new(range, title, fix).soft());
    }

    fn anonymous(&mut self, range: Range<usize>, title: String, fix: &str) {
        self.out
            .push(Diagnostic::new(range, title, fix.to_string()).soft());
    }
}

fn first_text(parts: &[Part]) -> String {
    let mut s: String = parts
        .iter()
        .map(|p| match p {
            Part::Lit(l) => l.clone(),
            Part::Hole { text, .. } => format!("{{{text}}}"),
        })
        .collect();
    s.push('/');
    s
}

// ---------------------------------------------------------------- Python

struct Py<'a, 'k> {
    keys: &'k PyKeys<'a>,
}

impl<'a> Py<'a, '_> {
    fn src(&self) -> &'a str {
        self.keys.file.src
    }

    fn check(&self, root: Node<'a>, r: &mut Report) {
        let mut calls = Vec::new();
        python::walk(root, &mut |n| {
            if n.kind() == "call" {
                calls.push(n);
            }
        });
        for call in calls {
            self.anonymous(call, r);
            self.call(call, r);
        }
    }

    /// An S3 client made with `config=Config(signature_version=UNSIGNED)`
    /// (inline or through a local); `ACL="public-read"`.
    fn anonymous(&self, call: Node<'a>, r: &mut Report) {
        let src = self.src();
        let method = python::call_name(call, src).unwrap_or_default();
        let s3_client = matches!(method.rsplit('.').next(), Some("client" | "resource"))
            && python::keyword_arg(call, "service_name", src)
                .or_else(|| python::positional_args(call).first().copied())
                .and_then(|s| python::string_value(s, src))
                .is_some_and(|s| s == "s3");
        if let Some(cfg) = python::keyword_arg(call, "config", src).filter(|_| s3_client) {
            let made = match py_peel(cfg).kind() {
                "identifier" => self
                    .keys
                    .file
                    .resolve(python::text(cfg, src), cfg)
                    .and_then(|b| b.value),
                _ => Some(cfg),
            };
            let unsigned = made
                .filter(|m| m.kind() == "call")
                .and_then(|m| python::keyword_arg(m, "signature_version", src))
                .is_some_and(|v| python::text(v, src).ends_with("UNSIGNED"));
            if unsigned {
                r.anonymous(
                    cfg.byte_range(),
                    "S3 client reads buckets anonymously (`signature_version=UNSIGNED`)".into(),
                    "sign every request with the service's credentials and serve tenant objects through an authenticated endpoint",
                );
            }
        }
        let acl = python::keyword_arg(call, "ACL", src).or_else(|| {
            python::keyword_arg(call, "ExtraArgs", src).and_then(|d| dict_value(d, "ACL", src))
        });
        if let Some(v) = acl {
            if let Some(a) =
                python::string_value(v, src).filter(|a| PUBLIC_ACLS.contains(&a.as_str()))
            {
                r.anonymous(
                    v.byte_range(),
                    format!("Object stored with ACL `{a}`: readable without the tenant's authorisation"),
                    "drop the ACL (objects stay private) and hand out short-lived presigned URLs after an ownership check",
                );
            }
        }
    }

    fn call(&self, call: Node<'a>, r: &mut Report) {
        let src = self.src();
        let Some(func) = call
            .child_by_field_name("function")
            .filter(|f| f.kind() == "attribute")
        else {
            return;
        };
        let (Some(obj), Some(attr)) = (
            func.child_by_field_name("object"),
            func.child_by_field_name("attribute"),
        ) else {
            return;
        };
        let method = python::text(attr, src);
        let kw = |k: &str| python::keyword_arg(call, k, src);
        let pos = python::positional_args(call);
        let boto_kw = kw("Bucket").is_some() || kw("Key").is_some();
        let s3ish = || boto_kw || self.is_s3(obj);
        let key = match method {
            m if KEYED.contains(&m) => {
                if !boto_kw {
                    return;
                }
                kw("Key")
            }
            "upload_file" | "upload_fileobj" if s3ish() => kw("Key").or_else(|| match pos.len() {
                0 | 1 => None,
                2 => Some(pos[1]),
                _ => Some(pos[2]),
            }),
            "download_file" | "download_fileobj" if s3ish() => {
                kw("Key").or_else(|| match pos.len() {
                    0 | 1 => None,
                    2 => Some(pos[0]),
                    _ => Some(pos[1]),
                })
            }
            "Object" if self.is_s3(obj) => match pos.len() {
                1 => Some(pos[0]),
                2 => Some(pos[1]),
                _ => kw("key"),
            },
            "generate_presigned_url" => {
                // an S3 client's: `ClientMethod`/`Params`, or the operation
                // name first (CloudFront's signer takes a URL)
                let s3_method = kw("Params").is_some()
                    || kw("ClientMethod").is_some()
                    || pos.first().is_some_and(|p| {
                        python::string_value(*p, src).is_some_and(|m| {
                            !m.is_empty() && m.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        })
                    });
                if !s3_method {
                    return;
                }
                let params = kw("Params").or_else(|| pos.get(1).copied());
                let expires = kw("ExpiresIn").or_else(|| pos.get(2).copied());
                self.expiry(call, expires, r);
                params
                    .and_then(|p| self.dict(p))
                    .and_then(|d| dict_value(d, "Key", src))
            }
            "generate_presigned_post" if s3ish() => {
                let expires = kw("ExpiresIn").or_else(|| pos.get(4).copied());
                self.expiry(call, expires, r);
                kw("Key").or_else(|| pos.get(1).copied())
            }
            _ => return,
        };
        if let Some(k) = key {
            self.key(call, k, r);
        }
        // copy_object's source key is the other tenant's object when wrong
        if method == "copy_object" {
            if let Some(k) = kw("CopySource")
                .and_then(|d| self.dict(d))
                .and_then(|d| dict_value(d, "Key", src))
            {
                self.key(call, k, r);
            }
        }
    }

    /// A dict literal, directly or through a local.
    fn dict(&self, n: Node<'a>) -> Option<Node<'a>> {
        let n = py_peel(n);
        match n.kind() {
            "dictionary" => Some(n),
            "identifier" => {
                let b = self.keys.file.resolve(python::text(n, self.src()), n)?;
                if b.param {
                    return None;
                }
                b.value.filter(|v| py_peel(*v).kind() == "dictionary")
            }
            _ => None,
        }
    }

    fn key(&self, call: Node<'a>, k: Node<'a>, r: &mut Report) {
        let tenant = self
            .keys
            .tenant_in_scope(call)
            .unwrap_or_else(|| r.default_tenant.clone());
        // the frame is the keyword argument (`Key=…`) or the dict pair
        let frame_node = k
            .parent()
            .filter(|p| matches!(p.kind(), "keyword_argument" | "pair"))
            .unwrap_or(k);
        let text = python::text(frame_node, self.src());
        let start = k.start_byte() - frame_node.start_byte();
        let frame = (!text.contains('\n')).then(|| {
            (
                text.to_string(),
                start..start + (k.end_byte() - k.start_byte()),
            )
        });
        r.judge(Arg {
            range: k.byte_range(),
            key: self.keys.key(k),
            tenant: &tenant,
            rust: false,
            frame,
        });
    }

    fn expiry(&self, call: Node<'a>, expires: Option<Node<'a>>, r: &mut Report) {
        let max = r.cfg.max_presign_seconds;
        match expires {
            Some(e) => {
                if let Some(v) = self.int(e, 0) {
                    r.expiry(e.byte_range(), v, true, format!("ExpiresIn={max}"));
                }
            }
            None => r.expiry(
                call.byte_range(),
                BOTO_DEFAULT_EXPIRY,
                false,
                format!("pass ExpiresIn={max} (or less)"),
            ),
        }
    }

    /// The value of a small integer expression: literals, arithmetic,
    /// constants, `timedelta(...).total_seconds()`.
    fn int(&self, n: Node<'a>, depth: u8) -> Option<i64> {
        let src = self.src();
        let n = py_peel(n);
        if depth > 4 {
            return None;
        }
        match n.kind() {
            "integer" => python::text(n, src).replace('_', "").parse().ok(),
            "float" => python::text(n, src).parse::<f64>().ok().map(|f| f as i64),
            "binary_operator" => {
                let l = self.int(n.child_by_field_name("left")?, depth + 1)?;
                let r = self.int(n.child_by_field_name("right")?, depth + 1)?;
                match python::text(n.child_by_field_name("operator")?, src) {
                    "*" => l.checked_mul(r),
                    "+" => l.checked_add(r),
                    "-" => l.checked_sub(r),
                    "//" | "/" if r != 0 => Some(l / r),
                    _ => None,
                }
            }
            "identifier" => {
                let b = self.keys.file.resolve(python::text(n, src), n)?;
                if b.param {
                    return None;
                }
                self.int(b.value?, depth + 1)
            }
            "call" => {
                let name = python::call_name(n, src)?;
                let last = name.rsplit('.').next().unwrap_or(&name);
                match last {
                    "int" | "round" => self.int(*python::positional_args(n).first()?, depth + 1),
                    "total_seconds" => {
                        let f = n.child_by_field_name("function")?;
                        self.int(f.child_by_field_name("object")?, depth + 1)
                    }
                    "timedelta" => {
                        let mut total = 0i64;
                        if let Some(d) = python::positional_args(n).first() {
                            total += self.int(*d, depth + 1)? * 86_400;
                        }
                        for (k, mult) in [
                            ("days", 86_400),
                            ("hours", 3_600),
                            ("minutes", 60),
                            ("seconds", 1),
                        ] {
                            if let Some(v) = python::keyword_arg(n, k, src) {
                                total += self.int(v, depth + 1)? * mult;
                            }
                        }
                        Some(total)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// An S3 client, resource or bucket.
    fn is_s3(&self, recv: Node<'a>) -> bool {
        let src = self.src();
        let r = py_peel(recv);
        let t = python::text(r, src);
        if name_has(
            t,
            &[
                "s3", "bucket", "storage", "minio", "garage", "boto", "objects",
            ],
        ) {
            return true;
        }
        let bound = match r.kind() {
            "identifier" | "attribute" => self.keys.file.resolve(t, r).and_then(|b| b.value),
            "call" => Some(r),
            _ => None,
        };
        bound.is_some_and(|v| {
            let v = python::text(v, src).to_ascii_lowercase();
            ["\"s3\"", "'s3'", "bucket(", "boto", "minio"]
                .iter()
                .any(|w| v.contains(w))
        })
    }
}

/// The value of `key` in a dict literal.
fn dict_value<'t>(d: Node<'t>, key: &str, src: &str) -> Option<Node<'t>> {
    let d = py_peel(d);
    if d.kind() != "dictionary" {
        return None;
    }
    let mut c = d.walk();
    let found = d.named_children(&mut c).find(|p| {
        p.kind() == "pair"
            && p.child_by_field_name("key")
                .and_then(|k| python::string_value(k, src))
                .is_some_and(|k| k == key)
    });
    found.and_then(|p| p.child_by_field_name("value"))
}

// ---------------------------------------------------------------- Rust

fn check_rust<'a>(f: &'a syn::File, keys: &RsKeys<'a>, text: &str, r: &mut Report) {
    use syn::visit::Visit;
    struct V<'a, 'k, 'r, 'x, 'o> {
        keys: &'k RsKeys<'a>,
        r: &'r mut Report<'x, 'o>,
        fns: Vec<RsFn<'a>>,
        done: HashSet<usize>,
        presigns: bool,
        /// The file uses aws-sdk-s3 (so an anonymous config is for S3).
        s3_sdk: bool,
    }
    impl<'a> Visit<'a> for V<'a, '_, '_, '_, '_> {
        fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
            let range = self.keys.file.range(f.span());
            self.fns
                .push(RsFn::new(&f.sig, &f.block, range, self.keys.file));
            syn::visit::visit_item_fn(self, f);
            self.fns.pop();
        }
        fn visit_impl_item_fn(&mut self, f: &'a syn::ImplItemFn) {
            let range = self.keys.file.range(f.span());
            self.fns
                .push(RsFn::new(&f.sig, &f.block, range, self.keys.file));
            syn::visit::visit_impl_item_fn(self, f);
            self.fns.pop();
        }
        fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
            self.chain(m);
            let method = m.method.to_string();
            if method == "no_credentials" && m.args.is_empty() && self.s3_sdk {
                self.r.anonymous(
                    self.keys.file.range(m.method.span()),
                    "S3 client built with `no_credentials()` reads buckets anonymously".into(),
                    "load the service's credentials (aws_config::defaults(BehaviorVersion::latest()).load().await) and serve tenant objects through an authenticated endpoint",
                );
            }
            if method == "expires_in" && m.args.len() == 1 {
                self.duration(&m.args[0]);
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_expr_call(&mut self, c: &'a syn::ExprCall) {
            if let syn::Expr::Path(p) = &*c.func {
                if p.path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "expires_in")
                    && c.args.len() == 1
                {
                    self.duration(&c.args[0]);
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_path(&mut self, p: &'a syn::ExprPath) {
            let segs: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            if segs.len() >= 2
                && segs[segs.len() - 2] == "ObjectCannedAcl"
                && matches!(
                    segs[segs.len() - 1].as_str(),
                    "PublicRead" | "PublicReadWrite" | "AuthenticatedRead"
                )
            {
                self.r.anonymous(
                    self.keys.file.range(p.span()),
                    format!("Object stored with ACL `{}`: readable without the tenant's authorisation", segs[segs.len() - 1]),
                    "drop the ACL (objects stay private) and hand out short-lived presigned URLs after an ownership check",
                );
            }
            syn::visit::visit_expr_path(self, p);
        }
    }
    impl<'a> V<'a, '_, '_, '_, '_> {
        /// `client.put_object().bucket(b).key(k)…`: the key of each operation.
        fn chain(&mut self, outer: &'a syn::ExprMethodCall) {
            let mut chain: Vec<&'a syn::ExprMethodCall> = vec![outer];
            let mut root = &*outer.receiver;
            while let syn::Expr::MethodCall(inner) = root {
                chain.push(inner);
                root = &inner.receiver;
            }
            chain.reverse();
            let Some(op) = chain
                .iter()
                .position(|m| m.args.is_empty() && RS_OPS.contains(&m.method.to_string().as_str()))
            else {
                return;
            };
            let at = self.keys.file.range(chain[op].method.span()).start;
            let Some(key) = chain[op + 1..]
                .iter()
                .find(|m| m.method == "key" && m.args.len() == 1)
            else {
                return;
            };
            if !self.done.insert(at) {
                return;
            }
            let tenant = self
                .keys
                .tenant_in_scope(self.fns.last())
                .unwrap_or_else(|| self.r.default_tenant.clone());
            let arg = &key.args[0];
            let range = self.keys.file.range(rs_peel(arg).span());
            // `.key(…)`, from the dot
            let frame_range =
                self.keys
                    .file
                    .range(key.method.span())
                    .start
                    .saturating_sub(1)..self.keys.file.range(key.span()).end;
            let frame = self
                .keys
                .file
                .src
                .text
                .get(frame_range.clone())
                .filter(|t| {
                    !t.contains('\n')
                        && range.start >= frame_range.start
                        && range.end <= frame_range.end
                })
                .map(|t| {
                    let s = range.start - frame_range.start;
                    (t.to_string(), s..s + range.len())
                });
            self.r.judge(Arg {
                range,
                key: self.keys.key(arg, self.fns.last()),
                tenant: &tenant,
                rust: true,
                frame,
            });
        }

        /// `expires_in(Duration::from_secs(3600))`.
        fn duration(&mut self, d: &'a syn::Expr) {
            if !self.presigns {
                return;
            }
            let Some(secs) = self.secs(d, 0) else { return };
            let max = self.r.cfg.max_presign_seconds;
            self.r.expiry(
                self.keys.file.range(d.span()),
                secs,
                true,
                format!("PresigningConfig::expires_in(Duration::from_secs({max}))"),
            );
        }

        fn secs(&self, d: &'a syn::Expr, depth: u8) -> Option<i64> {
            if depth > 4 {
                return None;
            }
            match rs_peel(d) {
                syn::Expr::Call(c) => {
                    let syn::Expr::Path(p) = &*c.func else {
                        return None;
                    };
                    let f = p.path.segments.last()?.ident.to_string();
                    let n = self.int(c.args.first()?, depth + 1)?;
                    match f.as_str() {
                        "from_secs" | "new" => Some(n),
                        "from_mins" => n.checked_mul(60),
                        "from_hours" => n.checked_mul(3600),
                        "from_days" => n.checked_mul(86_400),
                        "from_millis" => Some(n / 1000),
                        _ => None,
                    }
                }
                syn::Expr::Path(p) => {
                    let name = p.path.get_ident()?.to_string();
                    let at = self.keys.file.range(p.span()).start;
                    let init = self
                        .fns
                        .last()
                        .and_then(|f| f.local(&name, at))
                        .and_then(|l| l.init)
                        .or_else(|| self.keys.file.const_expr(&name))?;
                    self.secs(init, depth + 1)
                }
                _ => None,
            }
        }

        fn int(&self, e: &'a syn::Expr, depth: u8) -> Option<i64> {
            if depth > 6 {
                return None;
            }
            match rs_peel(e) {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Int(i),
                    ..
                }) => i.base10_parse().ok(),
                syn::Expr::Binary(b) => {
                    let l = self.int(&b.left, depth + 1)?;
                    let r = self.int(&b.right, depth + 1)?;
                    match b.op {
                        syn::BinOp::Mul(_) => l.checked_mul(r),
                        syn::BinOp::Add(_) => l.checked_add(r),
                        syn::BinOp::Sub(_) => l.checked_sub(r),
                        syn::BinOp::Div(_) if r != 0 => Some(l / r),
                        _ => None,
                    }
                }
                syn::Expr::Cast(c) => self.int(&c.expr, depth + 1),
                syn::Expr::Path(p) => {
                    let name = rust::path_string(&p.path);
                    let name = name.rsplit("::").next().unwrap_or(&name);
                    self.int(self.keys.file.const_expr(name)?, depth + 1)
                }
                _ => None,
            }
        }
    }
    let mut v = V {
        keys,
        r,
        fns: Vec::new(),
        done: HashSet::new(),
        presigns: text.to_ascii_lowercase().contains("presign"),
        s3_sdk: text.contains("aws_sdk_s3"),
    };
    v.visit_file(f);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::index::ProjectIndex;
    use crate::rules::keys::Shape;

    #[test]
    fn rust_suggestion_names_the_callers_tenant_field() {
        let code = r#"
use aws_sdk_s3::Client;

pub struct Uploader { client: Client, bucket: String }
pub struct TenantCtx { pub tenant_id: String, pub user: String }

impl Uploader {
    pub async fn put_avatar(&self, ctx: &TenantCtx, name: &str, body: Vec<u8>) -> anyhow::Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(format!("avatars/{name}"))
            .body(body.into())
            .send()
            .await?;
        Ok(())
    }
}
"#;
        let cfg = Config::default();
        let idx = ProjectIndex::default();
        let ctx = Ctx::new(&cfg, &idx, None);
        let f = ParsedFile::parse("src/storage.rs", Language::Rust, code).unwrap();
        let mut out = Vec::new();
        check(&ctx, &f, &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0]
                .suggestion
                .contains("format!(\"{}/avatars/{}\", ctx.tenant_id, name)"),
            "{}",
            out[0].suggestion
        );
    }

    #[test]
    fn first_segment_text() {
        let s = Shape {
            parts: vec![Part::Lit("uploads/x".into())],
            via: None,
        };
        assert_eq!(first_text(&s.first_segment('/')), "uploads/");
    }
}
