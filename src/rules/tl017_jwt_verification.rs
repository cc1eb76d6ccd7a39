//! TL017 jwt-verification: token decoding that skips or weakens
//! verification lets anyone mint claims for any tenant.
//!
//! Allow-lists and option dictionaries given by name are resolved one step
//! back to their literal (`algorithms=SUPPORTED_ALGS`,
//! `options=UNVERIFIED_OPTIONS`); suggestions keep the caller's key and
//! pick the algorithm family the key belongs to.

use super::{Ctx, Diagnostic, RuleMeta, Severity};
use crate::lang::{python, rust, Language, ParsedFile, Syntax};
use std::collections::{HashMap, HashSet};
use syn::spanned::Spanned;
use tree_sitter::Node;

pub static RULE: RuleMeta = RuleMeta {
    id: "TL017",
    name: "jwt-verification",
    severity: Severity::Hard,
    languages: &[Language::Python, Language::Rust],
    summary: "JWTs decoded with signature, audience, expiry and algorithm checks intact",
    doc: include_str!("../../rules/TL017-jwt-verification.md"),
    triggers: |_| {
        super::words(&[
            "jwt",
            "jose",
            "jsonwebtoken",
            "insecure_decode",
            "insecure_disable_signature_validation",
            "validate_aud",
            "validate_exp",
            "required_spec_claims",
        ])
    },
    gate: None,
    needs_index: false,
    needs_pr_body: false,
    embedded_sql_only: false,
    applies_to: super::any_path,
    check,
};

fn check(ctx: &Ctx, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    match &file.syntax {
        Syntax::Python(tree) => check_python(ctx, tree.root_node(), file.text(), out),
        Syntax::Rust(f) => check_rust(f, file, out),
        Syntax::Sql(_) => {}
    }
}

// ---------------------------------------------------------------- Python

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lib {
    PyJwt,
    Jose,
    Authlib,
}

impl Lib {
    fn label(self) -> &'static str {
        match self {
            Lib::PyJwt => "PyJWT",
            Lib::Jose => "python-jose",
            Lib::Authlib => "authlib",
        }
    }
}

/// What a local name is bound to: a JWT module or instance (`jwt`,
/// `jose_jwt`, `JsonWebToken([...])`, `jwt.PyJWT()`), or one of its
/// functions (`from jwt import decode as jwt_decode`).
#[derive(Clone, Debug)]
struct Binding {
    lib: Lib,
    function: Option<String>,
}

const JWT_FUNCTIONS: &[&str] = &[
    "decode",
    "decode_complete",
    "get_unverified_claims",
    "get_unverified_header",
];

/// Header keys that may always be read before verification: they
/// describe the token's media type and are covered by the signature that
/// is checked next.
const ALWAYS_ALLOWED_HEADER_KEYS: &[&str] = &["typ", "cty"];

/// Claims an unverified decode may be read for when the same token is
/// verified afterwards: they pick the issuer's keys.
const ROUTING_CLAIMS: &[&str] = &["iss", "kid"];

fn jwt_bindings(
    root: Node,
    src: &str,
    imports: &[(String, String, String)],
) -> HashMap<String, Binding> {
    let mut m = HashMap::new();
    for (module, imported, bound) in imports {
        let lib = match module.as_str() {
            "jwt" | "jwt.api_jwt" | "jwt.api_jws" => Lib::PyJwt,
            "jose" | "jose.jwt" => Lib::Jose,
            "authlib.jose" | "authlib.jose.rfc7519" => Lib::Authlib,
            _ => continue,
        };
        // `import jwt`, `import jose.jwt`, `from jose import jwt as jose_jwt`.
        if imported == module || imported == "jwt" {
            let lib = if module == "jose" && imported == "jose" {
                Lib::Jose
            } else {
                lib
            };
            // `import jose.jwt` is used as `jose.jwt.decode(...)`.
            let key =
                if imported == module && module.contains('.') && module.starts_with(bound.as_str())
                {
                    module.clone()
                } else {
                    bound.clone()
                };
            m.insert(
                key,
                Binding {
                    lib,
                    function: None,
                },
            );
        } else if JWT_FUNCTIONS.contains(&imported.as_str()) {
            m.insert(
                bound.clone(),
                Binding {
                    lib,
                    function: Some(imported.clone()),
                },
            );
        } else if matches!(imported.as_str(), "JsonWebToken" | "PyJWT" | "PyJWS") {
            m.insert(
                bound.clone(),
                Binding {
                    lib,
                    function: None,
                },
            );
        }
    }
    // jwt = JsonWebToken(["RS256"]); decoder = jwt.PyJWT()
    python::walk(root, &mut |n| {
        if n.kind() != "assignment" {
            return;
        }
        let (Some(l), Some(r)) = (
            n.child_by_field_name("left"),
            n.child_by_field_name("right"),
        ) else {
            return;
        };
        if l.kind() != "identifier" || r.kind() != "call" {
            return;
        }
        let Some(name) = python::call_name(r, src) else {
            return;
        };
        let last = name.rsplit('.').next().unwrap_or(&name);
        let lib = match last {
            "JsonWebToken" => Some(Lib::Authlib),
            "PyJWT" | "PyJWS" => Some(Lib::PyJwt),
            _ => None,
        };
        if let Some(lib) = lib {
            m.insert(
                python::text(l, src).to_string(),
                Binding {
                    lib,
                    function: None,
                },
            );
        }
    });
    m
}

struct Py<'a, 'c, 's, 't> {
    ctx: &'a Ctx<'c>,
    src: &'s str,
    root: Node<'t>,
    /// Assignments of the file, indexed on first use.
    assignments: std::cell::OnceCell<python::Assignments<'t>>,
    bindings: HashMap<String, Binding>,
    /// Names bound by imports of other modules: a local module called `jwt`
    /// is not PyJWT.
    imported: HashSet<String>,
}

fn check_python(ctx: &Ctx, root: Node, src: &str, out: &mut Vec<Diagnostic>) {
    let imports = python::imports(root, src);
    // Test modules decode their own fixtures.
    if imports.iter().any(|(m, _, _)| {
        matches!(
            m.split('.').next().unwrap_or_default(),
            "pytest" | "unittest"
        )
    }) {
        return;
    }
    let py = Py {
        ctx,
        src,
        root,
        assignments: std::cell::OnceCell::new(),
        bindings: jwt_bindings(root, src, &imports),
        imported: imports
            .iter()
            .filter(|(m, _, _)| {
                !matches!(
                    m.split('.').next().unwrap_or_default(),
                    "jwt" | "jose" | "authlib"
                )
            })
            .map(|(_, _, b)| b.clone())
            .collect(),
    };
    let tests = python::may_have_tests(src);
    python::walk(root, &mut |n| {
        if n.kind() != "call" || (tests && python::in_test_function(n, src)) {
            return;
        }
        let Some((lib, func, name)) = py.jwt_call(n) else {
            return;
        };
        match func.as_str() {
            "decode" | "decode_complete" => py.decode_call(n, lib, &name, out),
            "get_unverified_claims" => {
                let base = name.rsplit_once('.').map_or("jwt", |(b, _)| b);
                out.push(Diagnostic::new(
                    n.byte_range(),
                    format!("`{name}` returns claims whose signature was never checked"),
                    format!(
                        "decode with verification: {base}.decode({}, <verification key>, algorithms=[\"{}\"], audience=<expected audience>)",
                        py.first_arg(n),
                        py.file_algorithm().unwrap_or("RS256")
                    ),
                ))
            }
            "get_unverified_header" => py.unverified_header(n, &name, out),
            _ => {}
        }
    });
}

impl<'t> Py<'_, '_, '_, 't> {
    fn text(&self, n: Node) -> &str {
        python::text(n, self.src)
    }

    /// The library, function and dotted name of a call into a JWT library.
    fn jwt_call(&self, n: Node) -> Option<(Lib, String, String)> {
        let name = python::call_name(n, self.src)?;
        if let Some(b) = self.bindings.get(&name) {
            return Some((b.lib, b.function.clone()?, name));
        }
        let (base, func) = name.rsplit_once('.')?;
        let lib = match self.bindings.get(base) {
            Some(b) if b.function.is_none() => b.lib,
            // `jwt.decode(...)` with the import elsewhere: PyJWT's API, unless
            // `jwt` is a module of the project (`from app import jwt`).
            None if base == "jwt" && !self.imported.contains("jwt") => Lib::PyJwt,
            _ => return None,
        };
        Some((lib, func.to_string(), name))
    }

    fn first_arg(&self, call: Node) -> String {
        python::positional_args(call)
            .first()
            .map(|a| self.text(*a).to_string())
            .unwrap_or_else(|| "token".into())
    }

    fn key_arg(&self, call: Node<'t>) -> Option<Node<'t>> {
        python::positional_args(call)
            .get(1)
            .copied()
            .or_else(|| python::keyword_arg(call, "key", self.src))
    }

    /// An identifier resolved one step back to the literal it was assigned
    /// (in the function, else at module level).
    fn resolve(&self, n: Node<'t>) -> Node<'t> {
        let n = python::unparen(n);
        if n.kind() == "identifier" {
            if let Some(v) = self
                .assignments
                .get_or_init(|| python::Assignments::new(self.root, self.src))
                .before(n, self.text(n), self.src)
            {
                if matches!(
                    v.kind(),
                    "list" | "tuple" | "set" | "dictionary" | "string" | "call"
                ) {
                    return python::unparen(v);
                }
            }
        }
        n
    }

    fn decode_call(&self, call: Node<'t>, lib: Lib, name: &str, out: &mut Vec<Diagnostic>) {
        if lib == Lib::Authlib {
            self.authlib_validate(call, out);
            return;
        }
        let key = self.key_arg(call);
        let mut disabled: Vec<String> = Vec::new();
        let mut findings: Vec<Diagnostic> = Vec::new();
        if let Some(opts_arg) = python::keyword_arg(call, "options", self.src) {
            let opts = self.resolve(opts_arg);
            let by_name = opts != python::unparen(opts_arg);
            let mut named: Vec<String> = Vec::new();
            for (k, value) in dict_items(opts, self.src) {
                let Some(k_name) = key_name(k, self.src) else {
                    continue;
                };
                if !matches!(
                    k_name.as_str(),
                    "verify_signature" | "verify_aud" | "verify_exp"
                ) {
                    continue;
                }
                let v = self.text(value);
                if v == "False" {
                    disabled.push(k_name.clone());
                    if by_name {
                        named.push(k_name);
                    } else {
                        findings.push(Diagnostic::new(
                            k.start_byte()..value.end_byte(),
                            format!("JWT decoded with `{k_name}` disabled"),
                            self.option_fix(call, &k_name),
                        ));
                    }
                } else if v != "True" && k_name != "verify_exp" {
                    // `{"verify_aud": audience is not None}`: the check is
                    // off whenever the setting is empty.
                    findings.push(Diagnostic::new(
                        k.start_byte()..value.end_byte(),
                        format!("JWT `{k_name}` depends on a runtime value (`{}`): the check is off whenever it is false", short(v)),
                        format!(
                            "always verify: {}",
                            self.rebuilt(call, &[k_name.as_str()], None)
                        ),
                    ));
                }
            }
            if !named.is_empty() {
                let keys = named
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let kw = opts_arg.parent().unwrap_or(opts_arg);
                findings.push(Diagnostic::new(
                    kw.byte_range(),
                    format!(
                        "JWT decoded with {keys} disabled by `{}`",
                        self.text(opts_arg)
                    ),
                    format!(
                        "pass options that keep verification on: {}",
                        self.rebuilt(
                            call,
                            &named.iter().map(String::as_str).collect::<Vec<_>>(),
                            None
                        )
                    ),
                ));
            }
        }
        if disabled.iter().any(|k| k == "verify_signature") && self.is_issuer_routing(call) {
            return;
        }
        out.extend(findings);
        if let Some(v) = python::keyword_arg(call, "verify", self.src) {
            if self.text(v) == "False" {
                disabled.push("verify_signature".into());
                out.push(Diagnostic::new(
                    v.parent().map_or(v.byte_range(), |p| p.byte_range()),
                    "JWT decoded with `verify=False`",
                    self.rebuilt(call, &[], None),
                ));
            }
        }
        if disabled.iter().any(|k| k == "verify_signature") {
            return;
        }
        let algs = python::keyword_arg(call, "algorithms", self.src)
            .or_else(|| python::positional_args(call).get(2).copied());
        let Some(algs) = algs else {
            out.push(Diagnostic::new(
                call.byte_range(),
                format!(
                    "`{name}` without an explicit `algorithms=` allow-list ({})",
                    lib.label()
                ),
                self.rebuilt(call, &[], None),
            ));
            return;
        };
        let list = self.resolve(algs);
        let names: Vec<String> = list_strings(list, self.src);
        if let Some(el) = self.alg_from_header(list) {
            out.push(Diagnostic::new(
                el.byte_range(),
                format!(
                    "JWT allow-list taken from the token's own header (`{}`): the token picks its algorithm",
                    self.text(el)
                ),
                format!(
                    "pin the algorithm of the key you selected: algorithms=[\"{}\"]",
                    self.family(key)
                ),
            ));
        } else if names.iter().any(|a| a.eq_ignore_ascii_case("none")) {
            let rest: Vec<String> = names
                .iter()
                .filter(|a| !a.eq_ignore_ascii_case("none"))
                .map(|a| format!("\"{a}\""))
                .collect();
            let rest = if rest.is_empty() {
                format!("\"{}\"", self.family(key))
            } else {
                rest.join(", ")
            };
            out.push(Diagnostic::new(
                algs.byte_range(),
                "JWT allow-list accepts the `none` algorithm (unsigned tokens)",
                format!("algorithms=[{rest}]"),
            ));
        } else if mixes_families(&names) {
            let fam = self.family(key);
            let keep = if fam.starts_with("HS") {
                names
                    .iter()
                    .find(|a| a.to_ascii_uppercase().starts_with("HS"))
            } else {
                names
                    .iter()
                    .find(|a| !a.to_ascii_uppercase().starts_with("HS"))
            }
            .cloned()
            .unwrap_or_else(|| fam.to_string());
            out.push(Diagnostic::new(
                algs.byte_range(),
                format!(
                    "JWT allow-list mixes HMAC and public-key algorithms ({}): algorithm confusion",
                    names.join(", ")
                ),
                format!("one family per key: algorithms=[\"{keep}\"]"),
            ));
        }
    }

    /// The suggestion for a `False` entry in a literal options dict.
    fn option_fix(&self, call: Node<'t>, key: &str) -> String {
        let call_text = self.rebuilt(call, &[key], None);
        match key {
            "verify_signature" if self.key_arg(call).is_some() => {
                format!("remove `\"verify_signature\": False`; the key is already passed: {call_text}")
            }
            "verify_signature" => format!(
                "a verification key is needed to check the signature: {call_text}"
            ),
            "verify_aud" => format!(
                "remove `\"verify_aud\": False` and pass the audience the token is issued for: {}",
                self.rebuilt(call, &[key], Some("<expected audience>"))
            ),
            _ => format!(
                "remove `\"verify_exp\": False`; allow clock skew with leeway=<seconds> instead: {call_text}"
            ),
        }
    }

    /// The call rebuilt with verification on: the caller's token and key
    /// (a placeholder when there is none), an allow-list (the caller's, or
    /// one for the key's algorithm family), the other keyword arguments,
    /// and `options` without the entries in `drop`.
    fn rebuilt(&self, call: Node<'t>, drop: &[&str], audience: Option<&str>) -> String {
        let callee = python::call_name(call, self.src).unwrap_or_else(|| "jwt.decode".into());
        let positional = python::positional_args(call);
        let mut args: Vec<String> = Vec::new();
        args.push(self.first_arg(call));
        let key = self.key_arg(call);
        // Without a key: the shared secret this file signs HS tokens with,
        // else a placeholder for the issuer's public key.
        let signing = self.file_signing_key();
        args.push(match (key, &signing) {
            (Some(k), _) => self.text(k).to_string(),
            (None, Some((k, fam))) if fam.starts_with("HS") => k.clone(),
            (None, _) => "<verification key>".into(),
        });
        let family = match (key, &signing) {
            (None, Some((_, fam))) if fam.starts_with("HS") => fam,
            _ => self.family(key),
        };
        let algs = python::keyword_arg(call, "algorithms", self.src)
            .or_else(|| positional.get(2).copied());
        match algs {
            Some(a) => args.push(format!("algorithms={}", self.text(a))),
            None => args.push(format!("algorithms=[\"{family}\"]")),
        }
        if let Some(list) = call.child_by_field_name("arguments") {
            let mut c = list.walk();
            for kw in list
                .named_children(&mut c)
                .filter(|k| k.kind() == "keyword_argument")
            {
                let Some(k) = kw.child_by_field_name("name").map(|k| self.text(k)) else {
                    continue;
                };
                match k {
                    "algorithms" | "key" | "verify" => {}
                    "options" => {
                        let Some(v) = kw.child_by_field_name("value") else {
                            continue;
                        };
                        let kept: Vec<String> = dict_items(self.resolve(v), self.src)
                            .into_iter()
                            .filter(|(dk, dv)| {
                                let name = key_name(*dk, self.src).unwrap_or_default();
                                let off = name.starts_with("verify_") && self.text(*dv) != "True";
                                !drop.contains(&name.as_str()) && !off
                            })
                            .map(|(dk, dv)| {
                                let k = key_name(dk, self.src).unwrap_or_default();
                                format!("\"{k}\": {}", self.text(dv))
                            })
                            .collect();
                        if !kept.is_empty() {
                            args.push(format!("options={{{}}}", kept.join(", ")));
                        }
                    }
                    _ => args.push(short(self.text(kw))),
                }
            }
        }
        if let Some(aud) = audience {
            if python::keyword_arg(call, "audience", self.src).is_none() {
                args.push(format!("audience={aud}"));
            }
        }
        format!("{callee}({})", args.join(", "))
    }

    /// The key and algorithm family of the first `jwt.encode(payload, key,
    /// algorithm=...)` in the file.
    fn file_signing_key(&self) -> Option<(String, &'static str)> {
        let mut found = None;
        python::walk(self.root, &mut |n| {
            if found.is_some() || n.kind() != "call" {
                return;
            }
            if self.jwt_call(n).is_none_or(|(_, f, _)| f != "encode") {
                return;
            }
            let alg = python::keyword_arg(n, "algorithm", self.src)
                .and_then(|a| python::string_value(self.resolve(a), self.src));
            let key = python::positional_args(n)
                .get(1)
                .map(|k| self.text(*k).to_string());
            if let (Some(alg), Some(key)) = (alg, key) {
                found = Some((key, family_of(&alg)));
            }
        });
        found
    }

    /// The algorithm family a key belongs to: the algorithm the same file
    /// signs with that key, else what its name says (`_SECRET`, `hmac_key`
    /// → HS256), else what other verified decodes in the file pin, else
    /// RS256.
    fn family(&self, key: Option<Node>) -> &'static str {
        let key_text = key.map(|k| self.text(k).to_string());
        let mut signed_with_key: Option<&'static str> = None;
        let mut signed_any: Option<&'static str> = None;
        python::walk(self.root, &mut |n| {
            if n.kind() != "call" {
                return;
            }
            let Some((_, func, _)) = self.jwt_call(n) else {
                return;
            };
            if func != "encode" {
                return;
            }
            let Some(alg) = python::keyword_arg(n, "algorithm", self.src)
                .and_then(|a| python::string_value(self.resolve(a), self.src))
            else {
                return;
            };
            let fam = family_of(&alg);
            let k = python::positional_args(n)
                .get(1)
                .map(|k| self.text(*k).to_string());
            if k.is_some() && k == key_text {
                signed_with_key.get_or_insert(fam);
            }
            signed_any.get_or_insert(fam);
        });
        if let Some(f) = signed_with_key {
            return f;
        }
        if let Some(k) = &key_text {
            let pieces = super::names::split_pieces(k);
            let has = |w: &[&str]| pieces.iter().any(|p| w.contains(&p.as_str()));
            if has(&["secret", "hmac", "shared", "hs256", "psk"]) {
                return "HS256";
            }
            if has(&[
                "public",
                "pem",
                "rsa",
                "jwk",
                "jwks",
                "cert",
                "certificate",
                "signing",
            ]) {
                return "RS256";
            }
        }
        signed_any
            .or(self.file_algorithm().map(family_of))
            .unwrap_or("RS256")
    }

    /// The single algorithm family other decodes in this file pin.
    fn file_algorithm(&self) -> Option<&'static str> {
        let mut found: Option<&'static str> = None;
        let mut mixed = false;
        python::walk(self.root, &mut |n| {
            if n.kind() != "call" {
                return;
            }
            let Some((_, func, _)) = self.jwt_call(n) else {
                return;
            };
            if func != "decode" && func != "decode_complete" {
                return;
            }
            let Some(a) = python::keyword_arg(n, "algorithms", self.src) else {
                return;
            };
            for alg in list_strings(self.resolve(a), self.src) {
                if alg.eq_ignore_ascii_case("none") {
                    continue;
                }
                let fam = family_of(&alg);
                match found {
                    Some(f) if f != fam => mixed = true,
                    _ => found = Some(fam),
                }
            }
        });
        if mixed {
            None
        } else {
            found
        }
    }

    /// `algorithms=[header["alg"]]` where `header` is the unverified
    /// header of the token being decoded.
    fn alg_from_header(&self, list: Node<'t>) -> Option<Node<'t>> {
        let list = python::unparen(list);
        let elems: Vec<Node> = if matches!(list.kind(), "list" | "tuple" | "set") {
            let mut c = list.walk();
            list.named_children(&mut c).collect()
        } else {
            vec![list]
        };
        elems.into_iter().find(|e| {
            let e = python::unparen(*e);
            let (obj, key) = match e.kind() {
                "subscript" => (
                    e.child_by_field_name("value"),
                    e.child_by_field_name("subscript")
                        .and_then(|k| python::string_value(k, self.src)),
                ),
                "call" => match python::method_and_receiver(e, self.src) {
                    Some(("get", recv)) => (
                        recv,
                        python::positional_args(e)
                            .first()
                            .and_then(|k| python::string_value(*k, self.src)),
                    ),
                    _ => (None, None),
                },
                _ => (None, None),
            };
            if key.as_deref() != Some("alg") {
                return false;
            }
            let Some(obj) = obj else {
                return false;
            };
            let source = self.resolve(obj);
            source.kind() == "call"
                && self
                    .jwt_call(source)
                    .is_some_and(|(_, f, _)| f == "get_unverified_header")
        })
    }

    /// `unverified = jwt.decode(token, options={"verify_signature": False})`
    /// read only for `iss`/`kid`, followed in the same function by a
    /// verified decode of the same token: the unverified claims only pick
    /// which registered issuer's keys verify it.
    fn is_issuer_routing(&self, call: Node<'t>) -> bool {
        let Some(assign) = call.parent().filter(|p| p.kind() == "assignment") else {
            return false;
        };
        let Some(target) = assign
            .child_by_field_name("left")
            .filter(|l| l.kind() == "identifier")
        else {
            return false;
        };
        let Some(func) = python::enclosing_function(call) else {
            return false;
        };
        let var = self.text(target);
        let token = self.first_arg(call);
        let mut only_routing = true;
        let mut verified_later = false;
        python::walk(func, &mut |n| {
            if n.start_byte() <= assign.end_byte() {
                return;
            }
            if n.kind() == "identifier" && self.text(n) == var {
                only_routing &= self
                    .read_key(n)
                    .is_some_and(|k| ROUTING_CLAIMS.contains(&k.as_str()));
            }
            if n.kind() == "call" {
                if let Some((lib, f, _)) = self.jwt_call(n) {
                    let verified = lib != Lib::Authlib
                        && matches!(f.as_str(), "decode" | "decode_complete")
                        && self.first_arg(n) == token
                        && self.key_arg(n).is_some()
                        && python::keyword_arg(n, "algorithms", self.src).is_some()
                        && python::keyword_arg(n, "options", self.src).is_none();
                    verified_later |= verified;
                }
            }
        });
        only_routing && verified_later
    }

    /// The literal key read at a use of a mapping: `x["kid"]`,
    /// `x.get("kid")`.
    fn read_key(&self, use_site: Node) -> Option<String> {
        let p = use_site.parent()?;
        match p.kind() {
            "subscript" if p.child_by_field_name("value") == Some(use_site) => p
                .child_by_field_name("subscript")
                .and_then(|k| python::string_value(k, self.src)),
            "attribute" => {
                let is_get = p
                    .child_by_field_name("attribute")
                    .is_some_and(|a| self.text(a) == "get");
                let call = p.parent().filter(|c| c.kind() == "call")?;
                if !is_get {
                    return None;
                }
                python::positional_args(call)
                    .first()
                    .and_then(|k| python::string_value(*k, self.src))
            }
            _ => None,
        }
    }

    /// authlib's `jwt.decode` only parses; `claims.validate()` checks
    /// exp/aud. Claims that are returned or used directly are never
    /// validated here.
    fn authlib_validate(&self, call: Node, out: &mut Vec<Diagnostic>) {
        let target = call
            .parent()
            .filter(|p| p.kind() == "assignment")
            .and_then(|a| a.child_by_field_name("left"))
            .filter(|l| l.kind() == "identifier");
        let Some(target) = target else {
            let decode = short(self.text(call));
            let suggestion = if call
                .parent()
                .is_some_and(|p| p.kind() == "return_statement")
            {
                format!("claims = {decode}; claims.validate(); return claims")
            } else {
                format!("claims = {decode}; claims.validate(), then use claims (validate() checks exp, nbf and the registered claim options)")
            };
            out.push(Diagnostic::new(
                call.byte_range(),
                "authlib claims from `jwt.decode` are used without `validate()`",
                suggestion,
            ));
            return;
        };
        let var = self.text(target);
        let scope = python::enclosing_function(call).unwrap_or(target);
        let needle = format!("{var}.validate(");
        if !self.text(scope).contains(&needle) {
            out.push(Diagnostic::new(
                call.byte_range(),
                format!("authlib claims `{var}` are decoded but never validated"),
                format!("call `{var}.validate()` before using the claims (it checks exp, nbf and the registered claim options)"),
            ));
        }
    }

    /// `get_unverified_header` is fine when only the key id, algorithm or
    /// media type is read, or the header is logged.
    fn unverified_header(&self, call: Node, name: &str, out: &mut Vec<Diagnostic>) {
        let mut allowed: Vec<String> = self.ctx.config.jwt.allow_unverified_header_keys.clone();
        allowed.extend(ALWAYS_ALLOWED_HEADER_KEYS.iter().map(|s| s.to_string()));
        let Some(bad_use) = self.header_misuse(call, &allowed) else {
            return;
        };
        out.push(Diagnostic::new(
            call.byte_range(),
            format!("`{name}` result used beyond key selection: `{}`", short(&bad_use)),
            format!(
                "read only {} from the unverified header to select the key, then verify: jwt.decode({}, key, algorithms=[\"{}\"])",
                allowed.join("/"),
                self.first_arg(call),
                self.file_algorithm().unwrap_or("RS256")
            ),
        ));
    }

    /// The first use of an unverified header that is not an allowed read.
    fn header_misuse(&self, call: Node, allowed: &[String]) -> Option<String> {
        let use_ok = |use_site: Node| -> Result<(), String> {
            if let Some(k) = self.read_key(use_site) {
                if allowed.contains(&k) {
                    return Ok(());
                }
            }
            let Some(p) = use_site.parent() else {
                return Err(self.text(use_site).to_string());
            };
            match p.kind() {
                // `"kid" not in header`
                "comparison_operator" => {
                    let left = p.named_child(0);
                    if left != Some(use_site)
                        && left
                            .and_then(|l| python::string_value(l, self.src))
                            .is_some_and(|k| allowed.contains(&k))
                    {
                        return Ok(());
                    }
                    Err(self.text(p).to_string())
                }
                // `logger.info("header: %s", header)`
                "argument_list" => {
                    let callee = p
                        .parent()
                        .and_then(|c| python::call_name(c, self.src))
                        .unwrap_or_default();
                    let root = callee.split('.').next().unwrap_or_default();
                    if matches!(root, "logger" | "logging" | "log" | "_logger" | "LOGGER")
                        || callee == "print"
                    {
                        return Ok(());
                    }
                    Err(p.parent().map_or("", |c| self.text(c)).to_string())
                }
                "subscript" | "attribute" => {
                    let whole = if p.kind() == "attribute" {
                        p.parent().filter(|c| c.kind() == "call").unwrap_or(p)
                    } else {
                        p
                    };
                    Err(self.text(whole).to_string())
                }
                _ => Err(self.text(p).to_string()),
            }
        };
        if use_ok(call).is_ok() {
            return None;
        }
        let Some(assign) = call.parent().filter(|p| p.kind() == "assignment") else {
            return Some(self.text(call.parent().unwrap_or(call)).to_string());
        };
        let Some(target) = assign
            .child_by_field_name("left")
            .filter(|l| l.kind() == "identifier")
        else {
            return Some(self.text(assign).to_string());
        };
        let var = self.text(target);
        let scope = python::enclosing_function(call).unwrap_or(assign);
        let mut bad: Option<String> = None;
        python::walk(scope, &mut |n| {
            if bad.is_none()
                && n.kind() == "identifier"
                && self.text(n) == var
                && n.start_byte() > target.end_byte()
            {
                if let Err(u) = use_ok(n) {
                    bad = Some(u);
                }
            }
        });
        bad
    }
}

fn family_of(alg: &str) -> &'static str {
    let a = alg.to_ascii_uppercase();
    if a.starts_with("HS") {
        "HS256"
    } else if a.starts_with("ES") {
        "ES256"
    } else if a.starts_with("PS") {
        "PS256"
    } else if a == "EDDSA" {
        "EdDSA"
    } else {
        "RS256"
    }
}

fn mixes_families(algs: &[String]) -> bool {
    let hs = algs
        .iter()
        .any(|a| a.to_ascii_uppercase().starts_with("HS"));
    let pk = algs.iter().any(|a| {
        let a = a.to_ascii_uppercase();
        a.starts_with("RS") || a.starts_with("ES") || a.starts_with("PS") || a == "EDDSA"
    });
    hs && pk
}

fn short(t: &str) -> String {
    let one_line = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 100 {
        let cut: String = one_line.chars().take(97).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

fn dict_items<'t>(n: Node<'t>, src: &str) -> Vec<(Node<'t>, Node<'t>)> {
    let n = python::unparen(n);
    let mut c = n.walk();
    match n.kind() {
        "dictionary" => n
            .named_children(&mut c)
            .filter(|p| p.kind() == "pair")
            .filter_map(|p| {
                Some((
                    p.child_by_field_name("key")?,
                    p.child_by_field_name("value")?,
                ))
            })
            .collect(),
        "call" if python::call_name(n, src).as_deref() == Some("dict") => n
            .child_by_field_name("arguments")
            .map(|args| {
                let mut c = args.walk();
                args.named_children(&mut c)
                    .filter(|k| k.kind() == "keyword_argument")
                    .filter_map(|k| {
                        Some((
                            k.child_by_field_name("name")?,
                            k.child_by_field_name("value")?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn key_name(key: Node, src: &str) -> Option<String> {
    match key.kind() {
        "identifier" => Some(python::text(key, src).to_string()),
        _ => python::string_value(key, src),
    }
}

fn list_strings(n: Node, src: &str) -> Vec<String> {
    let n = python::unparen(n);
    if !matches!(n.kind(), "list" | "tuple" | "set") {
        return python::string_value(n, src).into_iter().collect();
    }
    let mut c = n.walk();
    n.named_children(&mut c)
        .filter_map(|e| python::string_value(e, src))
        .collect()
}

// ---------------------------------------------------------------- Rust

type Bindings<'ast> = Vec<(String, proc_macro2::LineColumn, rust::Bound<'ast>)>;

struct Rs<'a, 'ast> {
    file: &'a ParsedFile,
    out: &'a mut Vec<Diagnostic>,
    scopes: Vec<Bindings<'ast>>,
}

fn check_rust(f: &syn::File, file: &ParsedFile, out: &mut Vec<Diagnostic>) {
    use syn::visit::Visit;
    let mut v = Rs {
        file,
        out,
        scopes: Vec::new(),
    };
    v.visit_file(f);
}

impl<'ast> Rs<'_, 'ast> {
    fn push(&mut self, span: proc_macro2::Span, title: String, suggestion: &str) {
        self.out.push(Diagnostic::new(
            rust::span_range(span, &self.file.src),
            title,
            suggestion,
        ));
    }

    fn text(&self, e: &impl Spanned) -> String {
        let r = rust::span_range(e.span(), &self.file.src);
        self.file.text().get(r).unwrap_or("").to_string()
    }

    fn lookup(&self, name: &str, at: proc_macro2::LineColumn) -> Option<rust::Bound<'ast>> {
        self.scopes
            .last()?
            .iter()
            .rev()
            .find(|(n, pos, _)| n == name && (pos.line, pos.column) < (at.line, at.column))
            .map(|(_, _, b)| *b)
    }

    /// A `jsonwebtoken::Validation`: a local bound from `Validation::new`,
    /// `Validation::default()` or a `Validation { … }` literal, a value
    /// typed `Validation`, or a field named `validation`. Not a config
    /// struct's own `validate_exp` field.
    fn is_validation(&self, e: &syn::Expr) -> bool {
        match rust::peel(e) {
            syn::Expr::Path(p) if p.path.segments.len() == 1 => {
                let name = p.path.segments[0].ident.to_string();
                let named = name.to_ascii_lowercase().contains("validation");
                match self.lookup(&name, p.span().start()) {
                    Some(rust::Bound::Init(init)) => named || mentions_validation(&self.text(init)),
                    Some(rust::Bound::Type(ty)) => {
                        named
                            || mentions_validation(
                                &quote::ToTokens::to_token_stream(ty).to_string(),
                            )
                    }
                    Some(rust::Bound::Element(_)) => false,
                    None => named,
                }
            }
            syn::Expr::Field(f) => {
                matches!(&f.member, syn::Member::Named(i) if i.to_string().to_ascii_lowercase().contains("validation"))
            }
            _ => false,
        }
    }

    /// `header.alg` where `header` came from `decode_header(token)`.
    fn is_alg_from_header(&self, e: &syn::Expr) -> bool {
        let syn::Expr::Field(f) = rust::peel(e) else {
            return false;
        };
        if !matches!(&f.member, syn::Member::Named(i) if i == "alg") {
            return false;
        }
        let base = rust::peel(&f.base);
        if self.text(base).contains("decode_header") {
            return true;
        }
        let syn::Expr::Path(p) = base else {
            return false;
        };
        let Some(id) = p.path.get_ident() else {
            return false;
        };
        matches!(
            self.lookup(&id.to_string(), p.span().start()),
            Some(rust::Bound::Init(init)) if self.text(init).contains("decode_header")
        )
    }
}

fn mentions_validation(t: &str) -> bool {
    t.split(|c: char| !c.is_alphanumeric() && c != '_')
        .any(|w| w == "Validation")
}

impl<'ast> syn::visit::Visit<'ast> for Rs<'_, 'ast> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        // `#[cfg(test)]` code builds its own tokens.
        if !rust::is_test_attr(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if rust::is_test_attr(&f.attrs) {
            return;
        }
        self.scopes.push(rust::bindings(&f.sig, &f.block));
        syn::visit::visit_item_fn(self, f);
        self.scopes.pop();
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if rust::is_test_attr(&f.attrs) {
            return;
        }
        self.scopes.push(rust::bindings(&f.sig, &f.block));
        syn::visit::visit_impl_item_fn(self, f);
        self.scopes.pop();
    }
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let method = m.method.to_string();
        if method == "insecure_disable_signature_validation" {
            self.push(
                m.span(),
                "JWT `Validation` with signature validation disabled".into(),
                "remove `insecure_disable_signature_validation()` and decode with the issuer's DecodingKey",
            );
        }
        // `validation.required_spec_claims.clear()`: tokens without `exp`
        // are accepted and never expire.
        let on_required = matches!(&*m.receiver, syn::Expr::Field(f)
            if matches!(&f.member, syn::Member::Named(i) if i == "required_spec_claims"));
        let removes_exp = method == "remove"
            && m.args
                .first()
                .is_some_and(|a| self.text(a).contains("\"exp\""));
        if on_required && (method == "clear" || removes_exp) {
            self.push(
                m.span(),
                "JWT `Validation` no longer requires `exp`: tokens without an expiry never expire".into(),
                "keep `exp` required (the default); list extra claims with validation.set_required_spec_claims(&[\"exp\", \"aud\", \"sub\"])",
            );
        }
        if method == "set_required_spec_claims"
            && m.args
                .first()
                .is_some_and(|a| !self.text(a).contains("\"exp\""))
        {
            self.push(
                m.span(),
                "JWT `Validation` no longer requires `exp`: tokens without an expiry never expire"
                    .into(),
                "include \"exp\": validation.set_required_spec_claims(&[\"exp\", …])",
            );
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        if let syn::Expr::Field(f) = &*a.left {
            if let syn::Member::Named(field) = &f.member {
                let field = field.to_string();
                let validation = self.is_validation(&f.base);
                if validation && matches!(field.as_str(), "validate_aud" | "validate_exp") {
                    if is_false(&a.right) {
                        self.push(
                            a.span(),
                            format!("JWT `Validation` with `{field} = false`"),
                            &fix_for(&field),
                        );
                    } else if field == "validate_aud" && !is_bool_lit(&a.right) {
                        self.push(
                            a.span(),
                            format!(
                                "JWT audience validation depends on a runtime value (`{}`): it is off whenever that is false",
                                self.text(&*a.right)
                            ),
                            "always validate the audience: validation.set_audience(&[\"<your-audience>\"]) and leave validate_aud at its default (true)",
                        );
                    }
                }
                if validation && field == "required_spec_claims" {
                    self.push(
                        a.span(),
                        "JWT `Validation` replaces its required claims: tokens without `exp` may be accepted".into(),
                        "validation.set_required_spec_claims(&[\"exp\", …])",
                    );
                }
                if field == "algorithms" && mixes_families(&alg_idents(&a.right)) {
                    self.push(
                        a.span(),
                        "JWT `Validation` accepts HMAC and public-key algorithms: algorithm confusion".into(),
                        "one family per key: Validation::new(Algorithm::RS256)",
                    );
                }
                if field == "algorithms" && self.text(&*a.right).contains(".alg") {
                    if let syn::Expr::Macro(m) = &*a.right {
                        let elems = m.mac.parse_body_with(
                            syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
                        );
                        if elems.is_ok_and(|es| es.iter().any(|e| self.is_alg_from_header(e))) {
                            self.push(
                                a.span(),
                                "JWT `Validation` takes its algorithm from the token's own header".into(),
                                "pin the algorithm of the key you selected: Validation::new(Algorithm::RS256)",
                            );
                        }
                    }
                }
            }
        }
        syn::visit::visit_expr_assign(self, a);
    }
    fn visit_expr_struct(&mut self, s: &'ast syn::ExprStruct) {
        if s.path
            .segments
            .last()
            .is_some_and(|l| l.ident == "Validation")
        {
            for fv in &s.fields {
                if let syn::Member::Named(field) = &fv.member {
                    let field = field.to_string();
                    if matches!(field.as_str(), "validate_aud" | "validate_exp")
                        && is_false(&fv.expr)
                    {
                        self.push(
                            fv.span(),
                            format!("JWT `Validation` with `{field}: false`"),
                            &fix_for(&field),
                        );
                    }
                }
            }
        }
        syn::visit::visit_expr_struct(self, s);
    }
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let syn::Expr::Path(p) = &*c.func {
            let segs: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            let last = segs.last().cloned().unwrap_or_default();
            if last.starts_with("dangerous_insecure_decode") || last == "insecure_decode" {
                self.push(
                    c.span(),
                    format!("`{}` skips signature verification", rust::path_string(&p.path)),
                    "jsonwebtoken::decode::<Claims>(&token, &key, &Validation::new(Algorithm::RS256))",
                );
            }
            // `Validation::new(header.alg)`: the token chooses its algorithm.
            let is_new = last == "new" && segs.len() >= 2 && segs[segs.len() - 2] == "Validation";
            if is_new && c.args.first().is_some_and(|a| self.is_alg_from_header(a)) {
                self.push(
                    c.span(),
                    format!(
                        "JWT `Validation` takes its algorithm from the token's own header (`{}`)",
                        self.text(&c.args[0])
                    ),
                    "pin the algorithm of the key you selected: Validation::new(Algorithm::RS256)",
                );
            }
        }
        syn::visit::visit_expr_call(self, c);
    }
}

fn fix_for(field: &str) -> String {
    match field {
        "validate_aud" => {
            "keep audience validation: validation.set_audience(&[\"<your-audience>\"])".into()
        }
        _ => "keep expiry validation (the default); use `validation.leeway` for clock skew".into(),
    }
}

fn is_false(e: &syn::Expr) -> bool {
    matches!(e, syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Bool(b), .. }) if !b.value)
}

fn is_bool_lit(e: &syn::Expr) -> bool {
    matches!(
        e,
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Bool(_),
            ..
        })
    )
}

/// `Algorithm::HS256` names in an expression (e.g. `vec![…]`).
fn alg_idents(e: &syn::Expr) -> Vec<String> {
    let tokens = match e {
        syn::Expr::Macro(m) => m.mac.tokens.clone(),
        other => quote_tokens(other),
    };
    let mut out = Vec::new();
    let mut prev_alg = false;
    for t in tokens {
        if let proc_macro2::TokenTree::Ident(i) = t {
            let s = i.to_string();
            if prev_alg
                || s.starts_with("HS")
                || s.starts_with("RS")
                || s.starts_with("ES")
                || s.starts_with("PS")
            {
                out.push(s.clone());
            }
            prev_alg = s == "Algorithm";
        }
    }
    out
}

fn quote_tokens(e: &syn::Expr) -> proc_macro2::TokenStream {
    quote::ToTokens::to_token_stream(e)
}
