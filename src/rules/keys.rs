//! Key expressions, shared by TL009 (object keys) and TL010 (Redis keys and
//! channels): how a key is built — literals, f-strings, `%`, `.format`,
//! `+`, `":".join([...])`, Rust `format!` and `+` — and whether a tenant
//! value is part of it, and where.
//!
//! A key held in a local variable (or a module constant) is followed; a key
//! returned by a function defined in the same file is followed one level,
//! with that function's own parameters and locals. Everything else is a
//! hole whose name is all we know.

use super::names::split_pieces;
use crate::lang::{python, rust, SourceText};
use std::collections::HashMap;
use std::ops::Range;
use syn::spanned::Spanned;
use tree_sitter::Node;

// ---------------------------------------------------------------- markers

/// Qualifiers that say whose tenant a name holds, not which kind of id
/// (`caller_org_id` and `org_id` hold the same kind of value).
const ROLE_WORDS: &[&str] = &[
    "current",
    "caller",
    "callers",
    "target",
    "active",
    "request",
    "req",
    "ctx",
    "context",
    "my",
    "own",
    "owner",
    "owning",
    "the",
    "this",
    "self",
    "user",
    "new",
    "old",
    "src",
    "source",
    "dest",
    "parent",
    "child",
    "effective",
    "resolved",
    "acting",
    "actor",
    "get",
    "for",
    "state",
];

/// The piece of a tenant name that names the tenant entity.
const ROOT_WORDS: &[&str] = &[
    "org",
    "organization",
    "organisation",
    "tenant",
    "workspace",
    "account",
    "customer",
    "team",
    "company",
];

/// Names that mark a value as a tenant component.
pub(crate) struct Markers {
    seqs: Vec<Vec<String>>,
    first_column: Option<String>,
}

/// Which kind of tenant value a name holds: `org.id` and `org_id` are the
/// same flavour, `zitadel_org_id` and `org_slug` are others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Flavor {
    qualifiers: Vec<String>,
    tail: Vec<String>,
}

impl Flavor {
    /// Comparable with another flavour: says which id it is.
    pub fn is_specific(&self) -> bool {
        !self.tail.is_empty()
    }
}

impl Markers {
    pub fn new(columns: &[String], extra: &[String]) -> Markers {
        let mut seqs: Vec<Vec<String>> = columns
            .iter()
            .chain(extra)
            .map(|m| split_pieces(m))
            .filter(|p| !p.is_empty())
            .collect();
        seqs.sort();
        seqs.dedup();
        Markers {
            seqs,
            first_column: columns.first().cloned(),
        }
    }

    /// The flavour of a dotted name (`org_id`, `self.org.id`,
    /// `org.zitadel_org_id`, `payload["tenant_id"]` as `payload.tenant_id`)
    /// when it names a tenant value. The last segment decides; a generic
    /// last segment (`id`, `slug`) is read together with its owner.
    pub fn flavor(&self, segments: &[&str]) -> Option<Flavor> {
        let last = segments.last()?;
        let pieces = split_pieces(last);
        if let Some(f) = self.match_pieces(&pieces) {
            return Some(f);
        }
        let owner = segments.len().checked_sub(2).map(|i| segments[i])?;
        let mut joined = split_pieces(owner);
        joined.extend(pieces);
        self.match_pieces(&joined)
    }

    /// The first tenant column, to name a field of an identity type
    /// defined in another file.
    pub fn first_column(&self) -> Option<&str> {
        self.first_column.as_deref()
    }

    pub fn is_marker(&self, name: &str) -> bool {
        let segs: Vec<&str> = name.split('.').collect();
        self.flavor(&segs).is_some()
    }

    fn match_pieces(&self, pieces: &[String]) -> Option<Flavor> {
        for m in &self.seqs {
            if m.len() > pieces.len() {
                continue;
            }
            for s in 0..=pieces.len() - m.len() {
                if pieces[s..s + m.len()] != m[..] {
                    continue;
                }
                let root = (s..s + m.len())
                    .find(|&i| ROOT_WORDS.contains(&pieces[i].as_str()))
                    .unwrap_or(s);
                return Some(Flavor {
                    qualifiers: pieces[..root]
                        .iter()
                        .filter(|p| !ROLE_WORDS.contains(&p.as_str()))
                        .cloned()
                        .collect(),
                    tail: pieces[root + 1..].to_vec(),
                });
            }
        }
        None
    }
}

// ---------------------------------------------------------------- shapes

/// What an interpolated value is, besides possibly a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HoleKind {
    /// An ordinary value (`task_id`).
    Value,
    /// A constant (`KEY_PREFIX`, `settings.cache_namespace`): a fixed
    /// namespace, not a tenant.
    Constant,
    /// A prefix computed elsewhere (`prefix`, `self.namespace`), which may
    /// already hold the tenant.
    Prefix,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Part {
    Lit(String),
    Hole {
        text: String,
        tenant: Option<Flavor>,
        kind: HoleKind,
    },
}

/// A key as literal text and interpolated holes.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Shape {
    pub parts: Vec<Part>,
    /// The local variable the key was read from, if any.
    pub via: Option<String>,
}

impl Shape {
    fn lit(s: &str) -> Shape {
        let mut sh = Shape::default();
        sh.push_lit(s);
        sh
    }

    fn hole(text: &str, tenant: Option<Flavor>, kind: HoleKind) -> Shape {
        Shape {
            parts: vec![Part::Hole {
                text: text.split_whitespace().collect::<Vec<_>>().join(" "),
                tenant,
                kind,
            }],
            via: None,
        }
    }

    fn push_lit(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if let Some(Part::Lit(l)) = self.parts.last_mut() {
            l.push_str(s);
        } else {
            self.parts.push(Part::Lit(s.to_string()));
        }
    }

    fn append(&mut self, other: Shape) {
        for p in other.parts {
            match p {
                Part::Lit(s) => self.push_lit(&s),
                h => self.parts.push(h),
            }
        }
    }

    /// `mcp:task:{task_id}`; long holes are abbreviated.
    pub fn display(&self) -> String {
        let shown: String = self
            .parts
            .iter()
            .map(|p| match p {
                Part::Lit(s) => s
                    .replace('\n', "\\n")
                    .replace('\r', "\\r")
                    .replace('\t', "\\t"),
                Part::Hole { text, .. } if text.chars().count() > 40 => {
                    let head: String = text.chars().take(37).collect();
                    format!("{{{head}…}}")
                }
                Part::Hole { text, .. } => format!("{{{text}}}"),
            })
            .collect();
        if shown.chars().count() > 120 {
            let head: String = shown.chars().take(117).collect();
            format!("{head}…")
        } else {
            shown
        }
    }

    /// The literal text before the first hole.
    pub fn leading(&self) -> &str {
        match self.parts.first() {
            Some(Part::Lit(s)) => s,
            _ => "",
        }
    }

    pub fn tenant(&self) -> Option<&Flavor> {
        self.parts.iter().find_map(|p| match p {
            Part::Hole { tenant, .. } => tenant.as_ref(),
            _ => None,
        })
    }

    /// Text of the first tenant hole.
    pub fn tenant_text(&self) -> Option<&str> {
        self.parts.iter().find_map(|p| match p {
            Part::Hole {
                text,
                tenant: Some(_),
                ..
            } => Some(text.as_str()),
            _ => None,
        })
    }

    /// Some hole is a prefix computed elsewhere: the key cannot be judged.
    pub fn has_foreign_prefix(&self) -> bool {
        self.parts.iter().any(|p| {
            matches!(
                p,
                Part::Hole {
                    kind: HoleKind::Prefix,
                    tenant: None,
                    ..
                }
            )
        })
    }

    /// The key says something of its own: literal text or a constant.
    pub fn has_fixed_text(&self) -> bool {
        self.parts.iter().any(|p| match p {
            Part::Lit(s) => s.chars().any(|c| c.is_alphanumeric()),
            Part::Hole { kind, .. } => *kind == HoleKind::Constant,
        })
    }

    /// Starts with one of `prefixes` at a word boundary.
    pub fn is_global(&self, prefixes: &[String]) -> bool {
        let lead = self.leading();
        prefixes.iter().any(|p| {
            !p.is_empty()
                && lead.starts_with(p.as_str())
                && (p.ends_with(|c: char| !c.is_alphanumeric())
                    || lead[p.len()..]
                        .chars()
                        .next()
                        .is_none_or(|c| !c.is_alphanumeric() && c != '_')
                        && (lead.len() > p.len() || self.parts.len() == 1))
        })
    }

    /// The parts of the first `delim`-separated segment (a leading
    /// delimiter is skipped).
    pub fn first_segment(&self, delim: char) -> Vec<Part> {
        let mut out = Vec::new();
        for (i, p) in self.parts.iter().enumerate() {
            if let Part::Lit(s) = p {
                let s = if i == 0 {
                    s.trim_start_matches(delim)
                } else {
                    s
                };
                if let Some((head, _)) = s.split_once(delim) {
                    if !head.is_empty() {
                        out.push(Part::Lit(head.to_string()));
                    }
                    break;
                }
                if !s.is_empty() {
                    out.push(Part::Lit(s.to_string()));
                }
                continue;
            }
            out.push(p.clone());
        }
        out
    }

    /// The namespace before the tenant: `cache` in `cache:{org_id}:doc`.
    pub fn namespace(&self, delim: char) -> Option<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Hole {
                    tenant: Some(_), ..
                } => break,
                Part::Hole { .. } => return None,
            }
        }
        let ns = out.trim_end_matches(delim).to_string();
        (!ns.is_empty()).then_some(ns)
    }

    /// The key with `tenant` placed after the namespace (Redis:
    /// `mcp:{org_id}:task:{task_id}`).
    pub fn with_tenant_after_namespace(&self, tenant: &str, delim: char) -> Shape {
        let hole = Part::Hole {
            text: tenant.to_string(),
            tenant: None,
            kind: HoleKind::Value,
        };
        let mut out = Shape::default();
        let mut parts = self.parts.iter();
        match self.parts.first() {
            Some(Part::Lit(first)) => {
                parts.next();
                match first.split_once(delim) {
                    Some((ns, rest)) => {
                        out.push_lit(&format!("{ns}{delim}"));
                        out.parts.push(hole);
                        out.push_lit(&format!("{delim}{rest}"));
                    }
                    None if self.parts.len() == 1 => {
                        out.push_lit(&format!("{first}{delim}"));
                        out.parts.push(hole);
                    }
                    None => {
                        out.parts.push(hole);
                        out.push_lit(&format!("{delim}{first}"));
                    }
                }
            }
            _ => {
                out.parts.push(hole);
                out.push_lit(&delim.to_string());
            }
        }
        for p in parts {
            match p {
                Part::Lit(s) => out.push_lit(s),
                h => out.parts.push(h.clone()),
            }
        }
        out
    }

    /// The key with `tenant` as its first segment (object storage:
    /// `{org_id}/uploads/{name}`); a tenant hole elsewhere moves to the front.
    pub fn with_tenant_first(&self, tenant: &str, delim: char) -> Shape {
        let mut parts = self.parts.clone();
        let mut tenant_text = tenant.to_string();
        if let Some(i) = parts.iter().position(|p| {
            matches!(
                p,
                Part::Hole {
                    tenant: Some(_),
                    ..
                }
            )
        }) {
            if let Part::Hole { text, .. } = parts.remove(i) {
                tenant_text = text;
            }
            // drop one delimiter next to where it was
            if let Some(Part::Lit(s)) = parts.get_mut(i) {
                if s.starts_with(delim) {
                    s.remove(0);
                }
            } else if let Some(Part::Lit(s)) = i.checked_sub(1).and_then(|j| parts.get_mut(j)) {
                if s.ends_with(delim) {
                    s.pop();
                }
            }
        }
        let mut out = Shape::default();
        out.parts.push(Part::Hole {
            text: tenant_text,
            tenant: None,
            kind: HoleKind::Value,
        });
        out.push_lit(&delim.to_string());
        for p in parts {
            match p {
                Part::Lit(s) => out.push_lit(&s),
                h => out.parts.push(h),
            }
        }
        out
    }

    /// The key as a Python expression: an f-string, or a plain string.
    pub fn python(&self) -> String {
        let holes = self.parts.iter().any(|p| matches!(p, Part::Hole { .. }));
        let quote = if self.parts.iter().any(|p| match p {
            Part::Hole { text, .. } => text.contains('"'),
            Part::Lit(_) => false,
        }) {
            '\''
        } else {
            '"'
        };
        let mut s = String::new();
        if holes {
            s.push('f');
        }
        s.push(quote);
        for p in &self.parts {
            match p {
                Part::Lit(l) => {
                    for c in l.chars() {
                        match c {
                            '{' | '}' if holes => {
                                s.push(c);
                                s.push(c);
                            }
                            '\\' => s.push_str("\\\\"),
                            '\n' => s.push_str("\\n"),
                            c if c == quote => {
                                s.push('\\');
                                s.push(c);
                            }
                            c => s.push(c),
                        }
                    }
                }
                Part::Hole { text, .. } => {
                    s.push('{');
                    s.push_str(text);
                    s.push('}');
                }
            }
        }
        s.push(quote);
        s
    }

    /// The key as a Rust expression: `format!(…)`, or a string literal.
    pub fn rust(&self) -> String {
        let mut fmt = String::new();
        let mut args = Vec::new();
        let inline = self.parts.iter().all(|p| match p {
            Part::Hole { text, .. } => syn::parse_str::<syn::Ident>(text).is_ok(),
            Part::Lit(_) => true,
        });
        for p in &self.parts {
            match p {
                Part::Lit(l) => {
                    for c in l.chars() {
                        match c {
                            '{' | '}' => {
                                fmt.push(c);
                                fmt.push(c);
                            }
                            '"' => fmt.push_str("\\\""),
                            '\\' => fmt.push_str("\\\\"),
                            c => fmt.push(c),
                        }
                    }
                }
                Part::Hole { text, .. } if inline => {
                    fmt.push('{');
                    fmt.push_str(text);
                    fmt.push('}');
                    args.push(String::new());
                }
                Part::Hole { text, .. } => {
                    fmt.push_str("{}");
                    args.push(text.clone());
                }
            }
        }
        if args.is_empty() {
            return format!("\"{fmt}\"");
        }
        let extra: String = args
            .iter()
            .filter(|a| !a.is_empty())
            .map(|a| format!(", {a}"))
            .collect();
        format!("format!(\"{fmt}\"{extra})")
    }
}

// ---------------------------------------------------------------- keys

/// What is known about a key expression.
#[derive(Debug, Clone)]
pub(crate) enum Key {
    /// Built in place (literals, interpolation, locals followed).
    Shape(Shape),
    /// Returned by `helper`, a function defined in this file.
    Built {
        helper: String,
        shape: Shape,
    },
    /// Returned by a configured key helper.
    Helper,
    /// Returned by a function defined elsewhere.
    Call {
        text: String,
        name: String,
        tenant_arg: bool,
    },
    Unknown,
}

impl Key {
    /// A call to a method of the object at hand (`self._key(...)`) that
    /// this file does not define: inherited, and free to read the tenant
    /// from `self`.
    pub fn is_inherited_method(&self) -> bool {
        matches!(self, Key::Call { text, .. } if text.starts_with("self.") || text.starts_with("cls."))
    }

    /// The shape, when the key's text is known.
    pub fn shape(&self) -> Option<&Shape> {
        match self {
            Key::Shape(s) | Key::Built { shape: s, .. } => Some(s),
            _ => None,
        }
    }
}

/// Does a name, split into pieces, contain one of `words`?
pub(crate) fn name_has(name: &str, words: &[&str]) -> bool {
    split_pieces(name)
        .iter()
        .any(|p| words.contains(&p.as_str()))
}

/// Names of values that are prefixes computed elsewhere.
const PREFIX_WORDS: &[&str] = &[
    "prefix",
    "namespace",
    "ns",
    "base",
    "root",
    "scope",
    "folder",
    "dir",
    "directory",
    "path",
    "key",
    "keys",
    "channel",
    "topic",
    "pattern",
];

fn hole_kind(segments: &[&str]) -> HoleKind {
    let Some(last) = segments.last() else {
        return HoleKind::Value;
    };
    let upper = last.len() > 1
        && last.chars().any(|c| c.is_ascii_uppercase())
        && last
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    let from_settings = segments.len() > 1
        && matches!(
            segments[0],
            "settings" | "config" | "cfg" | "conf" | "SETTINGS" | "CONFIG"
        );
    if upper || from_settings {
        HoleKind::Constant
    } else if name_has(last, PREFIX_WORDS) {
        HoleKind::Prefix
    } else {
        HoleKind::Value
    }
}

/// `# cross-org-by-design: <reason>` (or `//`, `--`) on the statement's lines or
/// in the comment block right above it; or on the enclosing function: in
/// its header (`func_header` runs from the function's first line to its
/// first statement) or in the comment block above it.
pub(crate) fn cross_org_marked(
    text: &str,
    stmt: Range<usize>,
    func_header: Option<Range<usize>>,
) -> bool {
    comment_marked(text, stmt, func_header, &["cross-org-by-design:"])
}

/// Like `cross_org_marked`, for any of `markers` (each followed by a
/// non-empty reason), matched case-insensitively.
pub(crate) fn comment_marked(
    text: &str,
    stmt: Range<usize>,
    func_header: Option<Range<usize>>,
    markers: &[&str],
) -> bool {
    let marked = |line: &str| {
        let Some(c) = line
            .find('#')
            .or_else(|| line.find("//"))
            .or_else(|| line.find("--"))
        else {
            return false;
        };
        let comment = line[c..].to_ascii_lowercase();
        markers.iter().any(|m| {
            let m = m.to_ascii_lowercase();
            comment
                .find(&m)
                .is_some_and(|at| !comment[at + m.len()..].trim().is_empty())
        })
    };
    let block = |r: Range<usize>| {
        let start = text[..r.start.min(text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let end = r.end.min(text.len());
        if text[start..end].lines().any(marked) {
            return true;
        }
        // comment lines right above
        let mut above = text[..start].lines().rev();
        for l in above.by_ref() {
            let t = l.trim_start();
            if !(t.starts_with('#')
                || t.starts_with("//")
                || t.starts_with("--")
                || t.starts_with('@'))
            {
                break;
            }
            if marked(l) {
                return true;
            }
        }
        false
    };
    block(stmt) || func_header.is_some_and(block)
}

// ---------------------------------------------------------------- Python

/// A name bound in a Python file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Binding<'a> {
    /// Start of the enclosing function; `None` at module or class level.
    scope: Option<usize>,
    pub target: &'a str,
    pub value: Option<Node<'a>>,
    pub annotation: Option<Node<'a>>,
    pub param: bool,
    at: usize,
}

/// Bindings and functions of one Python file, collected in one walk.
pub(crate) struct PyFile<'a> {
    pub src: &'a str,
    bindings: Vec<Binding<'a>>,
    /// Target → indexes into `bindings`, in source order.
    by_target: HashMap<&'a str, Vec<usize>>,
    functions: HashMap<&'a str, Vec<Node<'a>>>,
}

fn scope_start(n: Node) -> Option<usize> {
    python::enclosing_function(n).map(|f| f.start_byte())
}

impl<'a> PyFile<'a> {
    pub fn new(root: Node<'a>, src: &'a str) -> PyFile<'a> {
        let mut f = PyFile {
            src,
            bindings: Vec::new(),
            by_target: HashMap::new(),
            functions: HashMap::new(),
        };
        python::walk(root, &mut |n| match n.kind() {
            "function_definition" => {
                if let Some(name) = n.child_by_field_name("name") {
                    f.functions
                        .entry(python::text(name, src))
                        .or_default()
                        .push(n);
                }
                f.params(n);
            }
            "assignment" => {
                let (Some(left), right) = (
                    n.child_by_field_name("left"),
                    n.child_by_field_name("right"),
                ) else {
                    return;
                };
                if !matches!(left.kind(), "identifier" | "attribute") {
                    return;
                }
                let mut value = right;
                while let Some(v) = value.filter(|v| v.kind() == "assignment") {
                    value = v.child_by_field_name("right");
                }
                f.bindings.push(Binding {
                    scope: scope_start(n),
                    target: python::text(left, src),
                    value,
                    annotation: n.child_by_field_name("type"),
                    param: false,
                    at: n.start_byte(),
                });
            }
            "as_pattern" => {
                let target = n
                    .child_by_field_name("alias")
                    .and_then(|a| a.named_child(0))
                    .filter(|t| matches!(t.kind(), "identifier" | "attribute"));
                if let (Some(t), Some(v)) = (target, n.named_child(0)) {
                    f.bindings.push(Binding {
                        scope: scope_start(n),
                        target: python::text(t, src),
                        value: Some(v),
                        annotation: None,
                        param: false,
                        at: n.start_byte(),
                    });
                }
            }
            _ => {}
        });
        f.bindings.sort_by_key(|b| b.at);
        for (i, b) in f.bindings.iter().enumerate() {
            f.by_target.entry(b.target).or_default().push(i);
        }
        f
    }

    fn named(&self, target: &str) -> impl Iterator<Item = &Binding<'a>> {
        self.by_target
            .get(target)
            .into_iter()
            .flatten()
            .map(|&i| &self.bindings[i])
    }

    fn params(&mut self, func: Node<'a>) {
        let Some(params) = func.child_by_field_name("parameters") else {
            return;
        };
        let scope = Some(func.start_byte());
        let mut c = params.walk();
        for p in params.named_children(&mut c) {
            let (name, ty, value) = match p.kind() {
                "identifier" => (Some(p), None, None),
                "typed_parameter" => (
                    p.named_child(0).filter(|x| x.kind() == "identifier"),
                    p.child_by_field_name("type"),
                    None,
                ),
                "default_parameter" | "typed_default_parameter" => (
                    p.child_by_field_name("name"),
                    p.child_by_field_name("type"),
                    p.child_by_field_name("value"),
                ),
                _ => (None, None, None),
            };
            if let Some(name) = name {
                self.bindings.push(Binding {
                    scope,
                    target: python::text(name, self.src),
                    value,
                    annotation: ty,
                    param: true,
                    at: p.start_byte(),
                });
            }
        }
    }

    /// The binding of `target` visible at `at`: the last one before it in
    /// the enclosing function, else (for `self.x`) anywhere in the file,
    /// else at module or class level.
    pub fn resolve(&self, target: &str, at: Node) -> Option<&Binding<'a>> {
        let scope = scope_start(at);
        let before = at.start_byte();
        let local = self
            .named(target)
            .filter(|b| b.scope == scope && b.at < before)
            .last();
        if local.is_some() {
            return local;
        }
        if let Some(attr) = target.strip_prefix("self.") {
            return self.named(target).find(|b| b.value.is_some()).or_else(|| {
                self.named(attr)
                    .find(|b| b.scope.is_none() && b.annotation.is_some())
            });
        }
        if scope.is_some() {
            return self.named(target).filter(|b| b.scope.is_none()).last();
        }
        None
    }

    pub fn functions_named(&self, name: &str) -> &[Node<'a>] {
        self.functions.get(name).map_or(&[], |v| v.as_slice())
    }

    /// Parameters of the function enclosing `at`.
    pub fn params_of(&self, at: Node) -> Vec<&Binding<'a>> {
        let scope = scope_start(at);
        self.bindings
            .iter()
            .filter(|b| b.param && b.scope.is_some() && b.scope == scope)
            .collect()
    }
}

/// The expressions a Python function returns (nested functions excluded).
fn py_returns(func: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let Some(body) = func.child_by_field_name("body") else {
        return out;
    };
    let mut stack = vec![body];
    while let Some(n) = stack.pop() {
        match n.kind() {
            "function_definition" | "lambda" | "class_definition" => continue,
            "return_statement" => {
                if let Some(e) = n.named_child(0) {
                    out.push(e);
                }
                continue;
            }
            _ => {}
        }
        let mut c = n.walk();
        stack.extend(n.named_children(&mut c));
    }
    out.sort_by_key(|n| n.start_byte());
    out
}

/// Strip parentheses and `await`.
pub(crate) fn py_peel(mut n: Node) -> Node {
    loop {
        n = python::unparen(n);
        if n.kind() == "await" {
            match n.named_child(0) {
                Some(inner) => n = inner,
                None => return n,
            }
        } else {
            return n;
        }
    }
}

/// Segments of an identifier/attribute chain (`self.org.id`).
fn py_segments<'s>(n: Node, src: &'s str) -> Option<Vec<&'s str>> {
    let mut rev = Vec::new();
    let mut cur = n;
    loop {
        match cur.kind() {
            "identifier" => {
                rev.push(python::text(cur, src));
                break;
            }
            "attribute" => {
                rev.push(python::text(cur.child_by_field_name("attribute")?, src));
                cur = cur.child_by_field_name("object")?;
            }
            "call" => cur = cur.child_by_field_name("function")?,
            // `params["Prefix"]` reads like `params.Prefix`
            "subscript" => {
                let key = cur.child_by_field_name("subscript")?;
                rev.push(python::text(key, src).trim_matches(['"', '\'']));
                cur = cur.child_by_field_name("value")?;
            }
            _ => return None,
        }
    }
    rev.reverse();
    Some(rev)
}

/// Key analysis over one Python file.
pub(crate) struct PyKeys<'a> {
    pub file: &'a PyFile<'a>,
    pub markers: &'a Markers,
    pub helpers: &'a [String],
}

const MAX_DEPTH: u8 = 4;

impl<'a> PyKeys<'a> {
    fn text(&self, n: Node) -> &'a str {
        python::text(n, self.file.src)
    }

    /// What is known about the key `expr`.
    pub fn key(&self, expr: Node<'a>) -> Key {
        self.key_at(expr, 0, true, None)
    }

    fn key_at(&self, expr: Node<'a>, depth: u8, follow_helpers: bool, via: Option<&str>) -> Key {
        let e = py_peel(expr);
        if depth > MAX_DEPTH {
            return Key::Unknown;
        }
        if e.kind() == "identifier" || e.kind() == "attribute" {
            let name = self.text(e);
            return match self.file.resolve(name, e) {
                Some(b) if !b.param => match b.value {
                    Some(v) => self.key_at(v, depth + 1, follow_helpers, Some(name)),
                    None => Key::Unknown,
                },
                _ => self.lone_name(e),
            };
        }
        if let Some(mut s) = self.shape(e, depth) {
            s.via = via.map(String::from);
            return Key::Shape(s);
        }
        if e.kind() == "call" {
            return self.call_key(e, depth, follow_helpers);
        }
        Key::Unknown
    }

    /// A name we cannot follow: a tenant value on its own is a key with
    /// only a tenant component; anything else is unknown.
    fn lone_name(&self, e: Node<'a>) -> Key {
        match self.flavor(e) {
            Some(f) => Key::Shape(Shape::hole(self.text(e), Some(f), HoleKind::Value)),
            None => Key::Unknown,
        }
    }

    fn call_key(&self, call: Node<'a>, depth: u8, follow_helpers: bool) -> Key {
        let name = python::call_name(call, self.file.src).unwrap_or_default();
        let last = name.rsplit('.').next().unwrap_or(&name).to_string();
        if self.helpers.iter().any(|h| *h == name || *h == last) {
            return Key::Helper;
        }
        if follow_helpers {
            for f in self.file.functions_named(&last) {
                for r in py_returns(*f) {
                    if let Key::Shape(mut s) = self.key_at(r, depth + 1, false, None) {
                        s.via = None;
                        return Key::Built {
                            helper: last,
                            shape: s,
                        };
                    }
                }
            }
        }
        let tenant_arg = call
            .child_by_field_name("arguments")
            .is_some_and(|a| self.flavor(a).is_some());
        Key::Call {
            text: self.text(call).to_string(),
            name: last,
            tenant_arg,
        }
    }

    /// The shape of a string-building expression.
    fn shape(&self, e: Node<'a>, depth: u8) -> Option<Shape> {
        let e = py_peel(e);
        if depth > MAX_DEPTH {
            return None;
        }
        match e.kind() {
            "string" => Some(self.string_shape(e, depth)),
            "concatenated_string" => {
                let mut out = Shape::default();
                let mut c = e.walk();
                for s in e.named_children(&mut c).filter(|s| s.kind() == "string") {
                    out.append(self.string_shape(s, depth));
                }
                Some(out)
            }
            "binary_operator" => {
                let op = self.text(e.child_by_field_name("operator")?);
                let left = e.child_by_field_name("left")?;
                let right = e.child_by_field_name("right")?;
                match op {
                    "+" => {
                        let out = self.plus_operand(e, depth);
                        out.parts
                            .iter()
                            .any(|p| matches!(p, Part::Lit(_)))
                            .then_some(out)
                    }
                    "%" => {
                        let fmt = literal_text(&self.shape(left, depth + 1)?)?;
                        Some(self.percent(&fmt, right, depth))
                    }
                    _ => None,
                }
            }
            "call" => {
                let func = e.child_by_field_name("function")?;
                match func.kind() {
                    "attribute" => {
                        let obj = func.child_by_field_name("object")?;
                        let method = self.text(func.child_by_field_name("attribute")?);
                        match method {
                            "format" => {
                                let fmt = literal_text(&self.shape(obj, depth + 1)?)?;
                                Some(self.format(&fmt, e, depth))
                            }
                            "join" => {
                                let sep = literal_text(&self.shape(obj, depth + 1)?)?;
                                self.join(&sep, e, depth)
                            }
                            "encode" | "decode" | "lower" | "upper" | "strip" | "rstrip"
                            | "lstrip" => self.shape(obj, depth + 1),
                            _ => None,
                        }
                    }
                    "identifier" if self.text(func) == "str" => {
                        let arg = *python::positional_args(e).first()?;
                        Some(self.part(arg, depth + 1))
                    }
                    _ => None,
                }
            }
            "identifier" | "attribute" => {
                let b = self.file.resolve(self.text(e), e)?;
                if b.param {
                    return None;
                }
                self.shape(b.value?, depth + 1)
            }
            _ => None,
        }
    }

    /// `a + b + c`, each operand a shape or a hole (iterative: chains of
    /// thousands of operands exist in generated code).
    fn plus_operand(&self, e: Node<'a>, depth: u8) -> Shape {
        let mut leaves = Vec::new();
        let mut stack = vec![e];
        while let Some(n) = stack.pop() {
            let n = py_peel(n);
            let plus = n.kind() == "binary_operator"
                && n.child_by_field_name("operator")
                    .is_some_and(|o| self.text(o) == "+");
            match (
                plus,
                n.child_by_field_name("left"),
                n.child_by_field_name("right"),
            ) {
                (true, Some(l), Some(r)) => {
                    stack.push(r);
                    stack.push(l);
                }
                _ => leaves.push(n),
            }
        }
        let mut out = Shape::default();
        for leaf in leaves {
            out.append(self.part(leaf, depth));
        }
        out
    }

    /// A component of a larger key: its shape, or a hole.
    fn part(&self, e: Node<'a>, depth: u8) -> Shape {
        self.shape(e, depth + 1).unwrap_or_else(|| self.hole(e))
    }

    fn hole(&self, e: Node<'a>) -> Shape {
        let e = py_peel(e);
        let segs = py_segments(e, self.file.src).unwrap_or_default();
        let kind = if e.kind() == "call" {
            HoleKind::Value
        } else {
            hole_kind(&segs)
        };
        Shape::hole(self.text(e), self.flavor(e), kind)
    }

    fn string_shape(&self, s: Node<'a>, depth: u8) -> Shape {
        let mut out = Shape::default();
        let mut c = s.walk();
        let mut fstring = false;
        for child in s.children(&mut c) {
            match child.kind() {
                "string_start" => fstring = self.text(child).to_ascii_lowercase().contains('f'),
                "string_content" => {
                    let t = self.text(child);
                    let t = if fstring {
                        t.replace("{{", "{").replace("}}", "}")
                    } else {
                        t.to_string()
                    };
                    out.push_lit(&t.replace("\\\"", "\"").replace("\\'", "'"));
                }
                "interpolation" => {
                    if let Some(e) = child.child_by_field_name("expression") {
                        out.append(self.part(e, depth));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// `"cache:%s:%s" % (org_id, doc_id)`, `"%(org)s" % {"org": org_id}`.
    fn percent(&self, fmt: &str, right: Node<'a>, depth: u8) -> Shape {
        let right = py_peel(right);
        let mut c = right.walk();
        let args: Vec<Node> = match right.kind() {
            "tuple" => right.named_children(&mut c).collect(),
            _ => vec![right],
        };
        let named = |key: &str| -> Option<Node<'a>> {
            if right.kind() != "dictionary" {
                return None;
            }
            let mut c = right.walk();
            let found = right.named_children(&mut c).find(|p| {
                p.kind() == "pair"
                    && p.child_by_field_name("key")
                        .and_then(|k| python::string_value(k, self.file.src))
                        .is_some_and(|k| k == key)
            });
            found.and_then(|p| p.child_by_field_name("value"))
        };
        let mut out = Shape::default();
        let mut next = 0;
        let mut chars = fmt.chars().peekable();
        while let Some(ch) = chars.next() {
            if ch != '%' {
                out.push_lit(&ch.to_string());
                continue;
            }
            if chars.peek() == Some(&'%') {
                chars.next();
                out.push_lit("%");
                continue;
            }
            let mut name = None;
            if chars.peek() == Some(&'(') {
                chars.next();
                let n: String = chars.by_ref().take_while(|&c| c != ')').collect();
                name = Some(n);
            }
            while chars
                .peek()
                .is_some_and(|c| "-+ #0123456789.*lh".contains(*c))
            {
                chars.next();
            }
            chars.next(); // the conversion letter
            let arg = match &name {
                Some(n) => named(n),
                None => {
                    next += 1;
                    args.get(next - 1).copied()
                }
            };
            match arg {
                Some(a) => out.append(self.part(a, depth)),
                None => {
                    // `%(org_id)s` filled from a mapping we cannot see
                    let n = name.as_deref().unwrap_or("?");
                    out.append(Shape::hole(n, self.markers.flavor(&[n]), hole_kind(&[n])))
                }
            }
        }
        out
    }

    /// `"cache:{}:{}".format(org_id, doc_id)`, `"{org}".format(org=org_id)`.
    fn format(&self, fmt: &str, call: Node<'a>, depth: u8) -> Shape {
        let positional = python::positional_args(call);
        let mut out = Shape::default();
        let mut next = 0;
        let mut chars = fmt.chars().peekable();
        while let Some(ch) = chars.next() {
            match ch {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    out.push_lit("{");
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    out.push_lit("}");
                }
                '{' => {
                    let field: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    let field = field.split(['!', ':']).next().unwrap_or("").trim();
                    let (head, rest) = match field.find(['.', '[']) {
                        Some(i) => (&field[..i], &field[i..]),
                        None => (field, ""),
                    };
                    let arg = if head.is_empty() {
                        next += 1;
                        positional.get(next - 1).copied()
                    } else if let Ok(i) = head.parse::<usize>() {
                        positional.get(i).copied()
                    } else {
                        python::keyword_arg(call, head, self.file.src)
                    };
                    match arg {
                        Some(a) if rest.is_empty() => out.append(self.part(a, depth)),
                        Some(a) => {
                            let text = format!("{}{rest}", self.text(a));
                            let segs: Vec<&str> = text
                                .split(['.', '[', ']', '"', '\''])
                                .filter(|s| !s.is_empty())
                                .collect();
                            out.append(Shape::hole(
                                &text,
                                self.markers.flavor(&segs),
                                hole_kind(&segs),
                            ));
                        }
                        // `{org_id}` filled from `**kwargs`
                        None => out.append(Shape::hole(
                            field,
                            self.markers.flavor(&[field]),
                            hole_kind(&[field]),
                        )),
                    }
                }
                c => out.push_lit(&c.to_string()),
            }
        }
        out
    }

    /// `":".join(["cache", org_id, doc_id])`.
    fn join(&self, sep: &str, call: Node<'a>, depth: u8) -> Option<Shape> {
        let arg = py_peel(*python::positional_args(call).first()?);
        if !matches!(arg.kind(), "list" | "tuple") {
            return None;
        }
        let mut out = Shape::default();
        let mut c = arg.walk();
        for (i, item) in arg.named_children(&mut c).enumerate() {
            if i > 0 {
                out.push_lit(sep);
            }
            out.append(self.part(item, depth));
        }
        Some(out)
    }

    /// The tenant flavour of any name inside `n`.
    pub fn flavor(&self, n: Node) -> Option<Flavor> {
        self.flavor_at(n, 0)
    }

    fn flavor_at(&self, n: Node, depth: u16) -> Option<Flavor> {
        if depth > 64 {
            return None;
        }
        let src = self.file.src;
        match n.kind() {
            "identifier" | "attribute" => {
                if let Some(segs) = py_segments(n, src) {
                    if let Some(f) = self.markers.flavor(&segs) {
                        return Some(f);
                    }
                }
            }
            "subscript" => {
                if let Some(k) = n
                    .child_by_field_name("subscript")
                    .and_then(|k| python::string_value(k, src))
                {
                    if let Some(f) = self.markers.flavor(&[k.as_str()]) {
                        return Some(f);
                    }
                }
            }
            "keyword_argument" => {
                return n
                    .child_by_field_name("value")
                    .and_then(|v| self.flavor_at(v, depth + 1));
            }
            "string" => return None,
            _ => {}
        }
        let mut c = n.walk();
        let children: Vec<Node> = n.named_children(&mut c).collect();
        children
            .into_iter()
            .find_map(|ch| self.flavor_at(ch, depth + 1))
    }

    /// The tenant value in scope at `at`, as code: a parameter of the
    /// enclosing function, else a tenant expression used in its body.
    pub fn tenant_in_scope(&self, at: Node<'a>) -> Option<String> {
        for b in self.file.params_of(at) {
            if self.markers.is_marker(b.target) {
                return Some(b.target.to_string());
            }
        }
        let func = python::enclosing_function(at)?;
        let mut found: Option<String> = None;
        let src = self.file.src;
        python::walk(func, &mut |n| {
            if found.is_some() || !matches!(n.kind(), "identifier" | "attribute") {
                return;
            }
            if n.parent().is_some_and(|p| {
                p.kind() == "attribute" && p.child_by_field_name("object") == Some(n)
            }) {
                return;
            }
            if let Some(segs) = py_segments(n, src) {
                if self.markers.flavor(&segs).is_some() {
                    found = Some(python::text(n, src).to_string());
                }
            }
        });
        found
    }
}

/// The text of a shape made only of literals.
fn literal_text(s: &Shape) -> Option<String> {
    let mut out = String::new();
    for p in &s.parts {
        match p {
            Part::Lit(l) => out.push_str(l),
            Part::Hole { .. } => return None,
        }
    }
    Some(out)
}

/// The statement a Python node belongs to.
pub(crate) fn py_statement(n: Node) -> Node {
    let mut cur = n;
    while let Some(p) = cur.parent() {
        if matches!(p.kind(), "block" | "module") {
            return cur;
        }
        cur = p;
    }
    cur
}

/// The header of the function enclosing `n`: from its first decorator or
/// `def` to its first statement (docstring and leading comments included).
pub(crate) fn py_function_header(n: Node) -> Option<Range<usize>> {
    let f = python::enclosing_function(n)?;
    let start = f
        .parent()
        .filter(|p| p.kind() == "decorated_definition")
        .unwrap_or(f)
        .start_byte();
    let body = f.child_by_field_name("body")?;
    let mut c = body.walk();
    let first = body
        .named_children(&mut c)
        .find(|s| {
            s.kind() != "comment"
                && !(s.kind() == "expression_statement"
                    && s.named_child(0).is_some_and(|x| x.kind() == "string"))
        })
        .map_or(body.end_byte(), |s| s.start_byte());
    Some(start..first.max(start))
}

// ---------------------------------------------------------------- Rust

/// Functions and constants of one Rust file.
pub(crate) struct RsFile<'a> {
    pub src: &'a SourceText,
    fns: HashMap<String, Vec<(&'a syn::Signature, &'a syn::Block)>>,
    consts: HashMap<String, &'a syn::Expr>,
    /// Struct fields by name → the types of fields so named, as text.
    pub fields: HashMap<String, Vec<String>>,
    /// Structs by name → their fields (`0`, `1`, … for tuple structs).
    structs: HashMap<String, Vec<(String, &'a syn::Type)>>,
}

impl<'a> RsFile<'a> {
    pub fn new(file: &'a syn::File, src: &'a SourceText) -> RsFile<'a> {
        use syn::visit::Visit;
        struct V<'a> {
            out: RsFile<'a>,
        }
        impl<'a> Visit<'a> for V<'a> {
            fn visit_item_const(&mut self, c: &'a syn::ItemConst) {
                self.out.consts.insert(c.ident.to_string(), &c.expr);
            }
            fn visit_item_static(&mut self, s: &'a syn::ItemStatic) {
                self.out.consts.insert(s.ident.to_string(), &s.expr);
            }
            fn visit_item_struct(&mut self, st: &'a syn::ItemStruct) {
                let fields = st
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let name = f.ident.as_ref().map_or(i.to_string(), |x| x.to_string());
                        (name, &f.ty)
                    })
                    .collect();
                self.out.structs.insert(st.ident.to_string(), fields);
                syn::visit::visit_item_struct(self, st);
            }
            fn visit_field(&mut self, f: &'a syn::Field) {
                if let Some(i) = &f.ident {
                    let ty = &f.ty;
                    self.out
                        .fields
                        .entry(i.to_string())
                        .or_default()
                        .push(quote::quote!(#ty).to_string());
                }
            }
        }
        let mut v = V {
            out: RsFile {
                src,
                fns: HashMap::new(),
                consts: HashMap::new(),
                fields: HashMap::new(),
                structs: HashMap::new(),
            },
        };
        v.visit_file(file);
        for f in rust::functions(file) {
            v.out
                .fns
                .entry(f.name())
                .or_default()
                .push((f.sig, f.block));
        }
        v.out
    }

    pub fn range(&self, span: proc_macro2::Span) -> Range<usize> {
        rust::span_range(span, self.src)
    }

    /// The body of the function called `name`, if this file defines one.
    pub fn fn_body(&self, name: &str) -> Option<Range<usize>> {
        let (_, block) = self.fns.get(name)?.first()?;
        Some(self.range(block.span()))
    }

    pub fn const_expr(&self, name: &str) -> Option<&'a syn::Expr> {
        self.consts.get(name).copied()
    }

    /// The fields of the struct a type names (`AuthUser`, `&AuthUser`,
    /// `Arc<AuthUser>`), when this file defines it.
    fn struct_fields(&self, ty: &syn::Type) -> Option<&[(String, &'a syn::Type)]> {
        let name = rs_type_name(ty)?;
        self.structs.get(&name).map(Vec::as_slice)
    }
}

/// The last path segment of a type, through references, `Arc`/`Box`/`Rc`
/// and `Option`: `&Arc<AuthUser>` → `AuthUser`.
fn rs_type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Reference(r) => rs_type_name(&r.elem),
        syn::Type::Paren(p) => rs_type_name(&p.elem),
        syn::Type::Group(g) => rs_type_name(&g.elem),
        syn::Type::Path(p) => {
            let last = p.path.segments.last()?;
            let name = last.ident.to_string();
            if matches!(name.as_str(), "Arc" | "Box" | "Rc" | "Option") {
                rs_type_arg(ty).and_then(rs_type_name)
            } else {
                Some(name)
            }
        }
        _ => None,
    }
}

/// The only type argument of a type's last segment: `Extension<AuthUser>`
/// → `AuthUser`.
fn rs_type_arg(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let syn::PathArguments::AngleBracketed(a) = &p.path.segments.last()?.arguments else {
        return None;
    };
    let mut types = a.args.iter().filter_map(|g| match g {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    let first = types.next()?;
    types.next().is_none().then_some(first)
}

/// Name pieces of a parameter type that says it is the caller's identity
/// or request context (`AuthUser`, `Claims`, `CurrentOrg`, `TenantCtx`).
const IDENTITY_TYPE_WORDS: &[&str] = &[
    "auth",
    "authed",
    "authenticated",
    "user",
    "claims",
    "principal",
    "identity",
    "caller",
    "actor",
    "member",
    "tenant",
    "org",
    "organization",
    "organisation",
    "workspace",
    "account",
    "context",
    "ctx",
];

/// A local binding in a Rust function.
pub(crate) struct RsLocal<'a> {
    pub name: String,
    pub ty: Option<&'a syn::Type>,
    pub init: Option<&'a syn::Expr>,
    pub at: usize,
}

/// The parameters and `let` bindings of one Rust function.
pub(crate) struct RsFn<'a> {
    pub locals: Vec<RsLocal<'a>>,
    /// From the function's first line to its first statement.
    pub header: Range<usize>,
    /// Parameters: each name with its type, through extractor patterns
    /// (`Extension(user): Extension<AuthUser>` binds `user: AuthUser`;
    /// `Path((org_id, id)): Path<(Uuid, Uuid)>` binds both names).
    pub params: Vec<(String, Option<&'a syn::Type>)>,
    pub body: &'a syn::Block,
}

/// Names bound by a parameter pattern, with the type each has when known.
fn rs_param_names<'a>(
    pat: &'a syn::Pat,
    ty: Option<&'a syn::Type>,
    file: &RsFile<'a>,
    out: &mut Vec<(String, Option<&'a syn::Type>)>,
) {
    match pat {
        syn::Pat::Ident(i) => out.push((i.ident.to_string(), ty)),
        syn::Pat::Type(t) => rs_param_names(&t.pat, Some(&t.ty), file, out),
        syn::Pat::Reference(r) => rs_param_names(&r.pat, ty, file, out),
        syn::Pat::Paren(p) => rs_param_names(&p.pat, ty, file, out),
        // `Extension(user): Extension<AuthUser>`, `AuthUser(claims): AuthUser`
        // where `struct AuthUser(pub Claims)`.
        syn::Pat::TupleStruct(t) if t.elems.len() == 1 => {
            let inner = ty.and_then(|ty| {
                rs_type_arg(ty).or_else(|| {
                    let fields = file.struct_fields(ty)?;
                    match fields {
                        [(n, f)] if n == "0" => Some(*f),
                        _ => None,
                    }
                })
            });
            rs_param_names(&t.elems[0], inner, file, out);
        }
        syn::Pat::TupleStruct(t) => {
            for e in &t.elems {
                rs_param_names(e, None, file, out);
            }
        }
        syn::Pat::Tuple(t) => {
            let elems: Vec<Option<&'a syn::Type>> = match ty.map(|ty| rs_type_arg(ty).unwrap_or(ty))
            {
                Some(syn::Type::Tuple(tt)) if tt.elems.len() == t.elems.len() => {
                    tt.elems.iter().map(Some).collect()
                }
                _ => vec![None; t.elems.len()],
            };
            for (e, ety) in t.elems.iter().zip(elems) {
                rs_param_names(e, ety, file, out);
            }
        }
        syn::Pat::Struct(st) => {
            for f in &st.fields {
                rs_param_names(&f.pat, None, file, out);
            }
        }
        _ => {}
    }
}

impl<'a> RsFn<'a> {
    pub fn new(
        sig: &'a syn::Signature,
        block: &'a syn::Block,
        range: Range<usize>,
        file: &RsFile<'a>,
    ) -> RsFn<'a> {
        use syn::visit::Visit;
        let first = block
            .stmts
            .first()
            .map_or(range.end, |s| file.range(s.span()).start);
        let mut f = RsFn {
            locals: Vec::new(),
            header: range.start..first.max(range.start),
            params: Vec::new(),
            body: block,
        };
        for arg in &sig.inputs {
            if let syn::FnArg::Typed(pt) = arg {
                rs_param_names(&pt.pat, Some(&pt.ty), file, &mut f.params);
                if let syn::Pat::Ident(pi) = &*pt.pat {
                    f.locals.push(RsLocal {
                        name: pi.ident.to_string(),
                        ty: Some(&pt.ty),
                        init: None,
                        at: 0,
                    });
                }
            }
        }
        struct V<'a, 'f> {
            file: &'f RsFile<'a>,
            locals: &'f mut Vec<RsLocal<'a>>,
        }
        impl<'a> Visit<'a> for V<'a, '_> {
            fn visit_local(&mut self, l: &'a syn::Local) {
                let (pat, ty) = match &l.pat {
                    syn::Pat::Type(pt) => (&*pt.pat, Some(&*pt.ty)),
                    p => (p, None),
                };
                if let syn::Pat::Ident(pi) = pat {
                    self.locals.push(RsLocal {
                        name: pi.ident.to_string(),
                        ty,
                        init: l.init.as_ref().map(|i| &*i.expr),
                        at: self.file.range(l.span()).start,
                    });
                }
                syn::visit::visit_local(self, l);
            }
            fn visit_item(&mut self, _: &'a syn::Item) {}
        }
        V {
            file,
            locals: &mut f.locals,
        }
        .visit_block(block);
        f
    }

    /// The binding of `name` visible at byte `at`.
    pub fn local(&self, name: &str, at: usize) -> Option<&RsLocal<'a>> {
        self.locals
            .iter()
            .filter(|l| l.name == name && l.at <= at)
            .max_by_key(|l| l.at)
    }
}

/// An expression without references, parentheses, groups, `?`, `.await`
/// and representation-only method calls.
pub(crate) fn rs_peel(mut e: &syn::Expr) -> &syn::Expr {
    loop {
        e = match e {
            syn::Expr::Reference(r) => &r.expr,
            syn::Expr::Paren(p) => &p.expr,
            syn::Expr::Group(g) => &g.expr,
            syn::Expr::Try(t) => &t.expr,
            syn::Expr::Await(a) => &a.base,
            syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => &u.expr,
            syn::Expr::MethodCall(m)
                if m.args.is_empty()
                    && (rust::is_view_method(&m.method.to_string())
                        || m.method == "into"
                        || m.method == "as_slice") =>
            {
                &m.receiver
            }
            _ => return e,
        };
    }
}

/// Segments of a path/field/getter chain (`self.org.id`, `tenant.id()`).
pub(crate) fn rs_segments(e: &syn::Expr) -> Option<Vec<String>> {
    match rs_peel(e) {
        syn::Expr::Path(p) => Some(
            p.path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect(),
        ),
        syn::Expr::Field(f) => {
            let mut segs = rs_segments(&f.base)?;
            match &f.member {
                syn::Member::Named(i) => segs.push(i.to_string()),
                syn::Member::Unnamed(_) => {}
            }
            Some(segs)
        }
        syn::Expr::MethodCall(m) if m.args.is_empty() => {
            let mut segs = rs_segments(&m.receiver)?;
            segs.push(m.method.to_string());
            Some(segs)
        }
        _ => None,
    }
}

fn lit_str(e: &syn::Expr) -> Option<String> {
    match rs_peel(e) {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.value()),
        _ => None,
    }
}

/// Arguments of a function-like macro (`format!("…", a, b = c)`).
pub(crate) fn macro_args(mac: &syn::Macro) -> Option<Vec<syn::Expr>> {
    use syn::parse::Parser;
    let p = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
    p.parse2(mac.tokens.clone())
        .ok()
        .map(|args| args.into_iter().collect())
}

/// Key analysis over one Rust file.
pub(crate) struct RsKeys<'a> {
    pub file: &'a RsFile<'a>,
    pub markers: &'a Markers,
    pub helpers: &'a [String],
}

impl<'a> RsKeys<'a> {
    pub fn text(&self, e: &dyn Spanned) -> String {
        let r = self.file.range(e.span());
        self.file.src.text.get(r).unwrap_or("").to_string()
    }

    /// What is known about the key `e`, inside function `f`.
    pub fn key(&self, e: &'a syn::Expr, f: Option<&RsFn<'a>>) -> Key {
        self.key_at(e, f, 0, true, None)
    }

    fn key_at(
        &self,
        e: &'a syn::Expr,
        f: Option<&RsFn<'a>>,
        depth: u8,
        follow_helpers: bool,
        via: Option<&str>,
    ) -> Key {
        let e = rs_peel(e);
        if depth > MAX_DEPTH {
            return Key::Unknown;
        }
        if let syn::Expr::Path(p) = e {
            if let Some(name) = p.path.get_ident().map(|i| i.to_string()) {
                let at = self.file.range(e.span()).start;
                if let Some(l) = f.and_then(|f| f.local(&name, at)) {
                    return match l.init {
                        Some(init) => self.key_at(init, f, depth + 1, follow_helpers, Some(&name)),
                        None => self.lone_name(e),
                    };
                }
                if let Some(c) = self.file.const_expr(&name) {
                    return self.key_at(c, None, depth + 1, follow_helpers, Some(&name));
                }
            }
            return self.lone_name(e);
        }
        if let Some(mut s) = self.shape(e, f, depth) {
            s.via = via.map(String::from);
            return Key::Shape(s);
        }
        let name = match e {
            syn::Expr::Call(c) => match rs_peel(&c.func) {
                syn::Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
                _ => None,
            },
            syn::Expr::MethodCall(m) => Some(m.method.to_string()),
            _ => None,
        };
        let Some(name) = name else {
            return self.lone_name(e);
        };
        let full = match e {
            syn::Expr::Call(c) => match rs_peel(&c.func) {
                syn::Expr::Path(p) => rust::path_string(&p.path),
                _ => name.clone(),
            },
            _ => name.clone(),
        };
        if self.helpers.iter().any(|h| *h == name || *h == full) {
            return Key::Helper;
        }
        if follow_helpers {
            for (sig, block) in self.file.fns.get(&name).into_iter().flatten() {
                let hf = RsFn::new(sig, block, self.file.range(block.span()), self.file);
                for r in rs_returns(block) {
                    if let Key::Shape(mut s) = self.key_at(r, Some(&hf), depth + 1, false, None) {
                        s.via = None;
                        return Key::Built {
                            helper: name,
                            shape: s,
                        };
                    }
                }
            }
        }
        let args: Vec<&syn::Expr> = match e {
            syn::Expr::Call(c) => c.args.iter().collect(),
            syn::Expr::MethodCall(m) => m.args.iter().collect(),
            _ => Vec::new(),
        };
        Key::Call {
            text: self.text(e),
            name,
            tenant_arg: args.iter().any(|a| self.flavor(a).is_some()),
        }
    }

    fn lone_name(&self, e: &syn::Expr) -> Key {
        match self.flavor(e) {
            Some(fl) => Key::Shape(Shape::hole(&self.text(e), Some(fl), HoleKind::Value)),
            None => Key::Unknown,
        }
    }

    fn shape(&self, e: &'a syn::Expr, f: Option<&RsFn<'a>>, depth: u8) -> Option<Shape> {
        let e = rs_peel(e);
        if depth > MAX_DEPTH {
            return None;
        }
        match e {
            syn::Expr::Lit(_) => lit_str(e).map(|s| Shape::lit(&s)),
            syn::Expr::Macro(m) => {
                let name = m.mac.path.segments.last()?.ident.to_string();
                if name != "format" {
                    return None;
                }
                let args = macro_args(&m.mac)?;
                // The parsed arguments live only here: their holes are
                // described by text, flavour and kind, never kept.
                let at = self.file.range(m.span()).start;
                Some(self.format_args(&args, f, depth, at))
            }
            syn::Expr::Binary(b) if matches!(b.op, syn::BinOp::Add(_)) => {
                let out = self.plus_operand(e, f, depth);
                out.parts
                    .iter()
                    .any(|p| matches!(p, Part::Lit(_)))
                    .then_some(out)
            }
            syn::Expr::Call(c) => {
                // String::from("…")
                let p = match rs_peel(&c.func) {
                    syn::Expr::Path(p) => rust::path_string(&p.path),
                    _ => return None,
                };
                if p.ends_with("String::from") && c.args.len() == 1 {
                    return self.shape(&c.args[0], f, depth + 1);
                }
                None
            }
            syn::Expr::MethodCall(m) if m.method == "join" && m.args.len() == 1 => {
                let sep = lit_str(&m.args[0])?;
                let items: Vec<&syn::Expr> = match rs_peel(&m.receiver) {
                    syn::Expr::Array(a) => a.elems.iter().collect(),
                    _ => return None,
                };
                let mut out = Shape::default();
                for (i, item) in items.into_iter().enumerate() {
                    if i > 0 {
                        out.push_lit(&sep);
                    }
                    out.append(self.part(item, f, depth));
                }
                Some(out)
            }
            syn::Expr::Path(p) => {
                let name = p.path.get_ident()?.to_string();
                let at = self.file.range(e.span()).start;
                if let Some(l) = f.and_then(|f| f.local(&name, at)) {
                    return self.shape(l.init?, f, depth + 1);
                }
                self.shape(self.file.const_expr(&name)?, None, depth + 1)
            }
            _ => None,
        }
    }

    /// `a + &b + "c"`, each operand a shape or a hole.
    fn plus_operand(&self, e: &'a syn::Expr, f: Option<&RsFn<'a>>, depth: u8) -> Shape {
        let mut leaves = Vec::new();
        let mut stack = vec![e];
        while let Some(n) = stack.pop() {
            match rs_peel(n) {
                syn::Expr::Binary(b) if matches!(b.op, syn::BinOp::Add(_)) => {
                    stack.push(&b.right);
                    stack.push(&b.left);
                }
                _ => leaves.push(n),
            }
        }
        let mut out = Shape::default();
        for leaf in leaves {
            out.append(self.part(leaf, f, depth));
        }
        out
    }

    fn part(&self, e: &'a syn::Expr, f: Option<&RsFn<'a>>, depth: u8) -> Shape {
        self.shape(e, f, depth + 1).unwrap_or_else(|| self.hole(e))
    }

    fn hole(&self, e: &syn::Expr) -> Shape {
        let segs = rs_segments(e).unwrap_or_default();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        Shape::hole(&self.text(rs_peel(e)), self.flavor(e), hole_kind(&segs))
    }

    /// `format!("cache:{}:{org_id}", a)`.
    fn format_args(&self, args: &[syn::Expr], f: Option<&RsFn<'a>>, depth: u8, at: usize) -> Shape {
        let mut out = Shape::default();
        let Some(fmt) = args.first().and_then(lit_str) else {
            return out;
        };
        let rest = &args[1..];
        let positional: Vec<&syn::Expr> = rest
            .iter()
            .filter(|a| !matches!(a, syn::Expr::Assign(_)))
            .collect();
        let named = |n: &str| {
            rest.iter().find_map(|a| match a {
                syn::Expr::Assign(asg) => match &*asg.left {
                    syn::Expr::Path(p) if p.path.is_ident(n) => Some(&*asg.right),
                    _ => None,
                },
                _ => None,
            })
        };
        let mut next = 0;
        let mut chars = fmt.chars().peekable();
        while let Some(ch) = chars.next() {
            match ch {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    out.push_lit("{");
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    out.push_lit("}");
                }
                '{' => {
                    let field: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    let field = field.split(':').next().unwrap_or("").trim();
                    let arg = if field.is_empty() {
                        next += 1;
                        positional.get(next - 1).copied()
                    } else if let Ok(i) = field.parse::<usize>() {
                        positional.get(i).copied()
                    } else {
                        named(field)
                    };
                    match arg {
                        // Arguments parsed from the macro's tokens are not
                        // part of the file's tree, so their locals are
                        // looked up by name only.
                        Some(a) => out.append(self.detached_part(a, f, depth)),
                        None => {
                            // inline capture `{org_id}`: a local or a name
                            let inline = syn::parse_str::<syn::Expr>(field).ok();
                            let from_local = f
                                .and_then(|f| f.local(field, at))
                                .and_then(|l| l.init)
                                .and_then(|init| self.shape(init, f, depth + 1));
                            match (from_local, inline) {
                                (Some(s), _) => out.append(s),
                                (None, Some(e)) => out.append(Shape::hole(
                                    field,
                                    self.flavor(&e),
                                    hole_kind(&[field]),
                                )),
                                (None, None) => {
                                    out.append(Shape::hole(field, None, HoleKind::Value))
                                }
                            }
                        }
                    }
                }
                c => out.push_lit(&c.to_string()),
            }
        }
        out
    }

    /// A component parsed out of a macro's tokens: not part of the file's
    /// tree (so not kept), but its spans are the file's.
    fn detached_part(&self, a: &syn::Expr, f: Option<&RsFn<'a>>, depth: u8) -> Shape {
        if let Some(s) = lit_str(a) {
            return Shape::lit(&s);
        }
        if let syn::Expr::Path(p) = rs_peel(a) {
            if let Some(name) = p.path.get_ident().map(|i| i.to_string()) {
                let at = self.file.range(a.span()).start;
                let local = f
                    .and_then(|f| f.local(&name, at))
                    .and_then(|l| l.init)
                    .and_then(|init| self.shape(init, f, depth + 1));
                if let Some(s) = local {
                    return s;
                }
            }
        }
        self.hole(a)
    }

    /// The tenant flavour of any name inside `e`.
    pub fn flavor(&self, e: &syn::Expr) -> Option<Flavor> {
        use syn::visit::Visit;
        struct V<'m> {
            markers: &'m Markers,
            found: Option<Flavor>,
        }
        impl<'ast> Visit<'ast> for V<'_> {
            fn visit_expr(&mut self, e: &'ast syn::Expr) {
                if self.found.is_some() {
                    return;
                }
                if let Some(segs) = rs_segments(e) {
                    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
                    if let Some(f) = self.markers.flavor(&segs) {
                        self.found = Some(f);
                        return;
                    }
                }
                if let syn::Expr::Macro(m) = e {
                    if let Some(args) = macro_args(&m.mac) {
                        for a in &args {
                            self.visit_expr(a);
                        }
                    }
                    return;
                }
                syn::visit::visit_expr(self, e);
            }
        }
        let mut v = V {
            markers: self.markers,
            found: None,
        };
        v.visit_expr(e);
        v.found
    }

    /// The tenant value in scope in `f`, as code, in this order: a
    /// parameter or local named as a tenant (`org_id`, also destructured:
    /// `Path((org_id, id))`); a parameter whose struct, defined in this
    /// file, has a tenant field (`user: AuthUser` → `user.org_id`); a
    /// tenant field read in the body (`claims.org_id`, `ctx.tenant_id`,
    /// `self.org_id`), as Python's `tenant_in_scope` takes a tenant
    /// attribute of the function; a parameter whose type says it is the
    /// caller's identity (`user: AuthUser` defined elsewhere →
    /// `user.<first tenant column>`).
    pub fn tenant_in_scope(&self, f: Option<&RsFn<'a>>) -> Option<String> {
        let f = f?;
        if let Some(l) = f.locals.iter().find(|l| self.markers.is_marker(&l.name)) {
            return Some(l.name.clone());
        }
        if let Some((p, _)) = f.params.iter().find(|(p, _)| self.markers.is_marker(p)) {
            return Some(p.clone());
        }
        for (p, ty) in &f.params {
            let Some(fields) = ty.and_then(|t| self.file.struct_fields(t)) else {
                continue;
            };
            let tenant_field = |specific: bool| {
                fields.iter().find(|(name, _)| {
                    self.markers
                        .flavor(&[name.as_str()])
                        .is_some_and(|fl| fl.is_specific() || !specific)
                })
            };
            if let Some((field, _)) = tenant_field(true).or_else(|| tenant_field(false)) {
                return Some(format!("{p}.{field}"));
            }
        }
        if let Some(read) = self.tenant_read(f.body, 2) {
            return Some(read);
        }
        let column = self.markers.first_column()?;
        f.params.iter().find_map(|(p, ty)| {
            let ty = (*ty)?;
            if self.file.struct_fields(ty).is_some() {
                return None;
            }
            let name = rs_type_name(ty)?;
            name_has(&name, IDENTITY_TYPE_WORDS).then(|| format!("{p}.{column}"))
        })
    }

    /// The first name, field or getter chain of at least `min_segments`
    /// segments in `body` that reads a tenant (`claims.org_id`,
    /// `ctx.tenant.id()`, `CURRENT_ORG.get()`), as written.
    pub fn tenant_read(&self, body: &syn::Block, min_segments: usize) -> Option<String> {
        use syn::visit::Visit;
        struct V<'k, 'a> {
            keys: &'k RsKeys<'a>,
            min: usize,
            found: Option<String>,
        }
        impl<'ast> Visit<'ast> for V<'_, '_> {
            fn visit_expr(&mut self, e: &'ast syn::Expr) {
                if self.found.is_some() {
                    return;
                }
                let peeled = rs_peel(e);
                if matches!(peeled, syn::Expr::Field(_) | syn::Expr::MethodCall(_))
                    || matches!(peeled, syn::Expr::Path(p) if p.path.segments.len() == 1)
                {
                    if let Some(segs) = rs_segments(peeled) {
                        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
                        if segs.len() >= self.min && self.keys.markers.flavor(&segs).is_some() {
                            let text = self.keys.text(peeled);
                            if !text.is_empty() && !text.contains('\n') {
                                self.found = Some(text);
                                return;
                            }
                        }
                    }
                }
                syn::visit::visit_expr(self, e);
            }
            fn visit_item(&mut self, _: &'ast syn::Item) {}
        }
        let mut v = V {
            keys: self,
            min: min_segments,
            found: None,
        };
        v.visit_block(body);
        v.found
    }
}

/// Tail and `return` expressions of a Rust function body.
fn rs_returns(block: &syn::Block) -> Vec<&syn::Expr> {
    use syn::visit::Visit;
    struct V<'a> {
        out: Vec<&'a syn::Expr>,
    }
    impl<'a> Visit<'a> for V<'a> {
        fn visit_expr_return(&mut self, r: &'a syn::ExprReturn) {
            if let Some(e) = &r.expr {
                self.out.push(e);
            }
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V { out: Vec::new() };
    if let Some(syn::Stmt::Expr(e, None)) = block.stmts.last() {
        v.out.push(e);
    }
    v.visit_block(block);
    v.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn markers() -> Markers {
        let cols: Vec<String> = ["org_id", "tenant_id", "workspace_name"]
            .map(String::from)
            .to_vec();
        let extra: Vec<String> = ["org", "tenant", "workspace", "org.id", "tenant.id"]
            .map(String::from)
            .to_vec();
        Markers::new(&cols, &extra)
    }

    #[test]
    fn tenant_names_and_their_flavours() {
        let m = markers();
        let f = |s: &str| {
            let segs: Vec<&str> = s.split('.').collect();
            m.flavor(&segs)
        };
        assert!(f("org_id").is_some());
        assert!(f("self.org_id").is_some());
        assert!(f("caller_org_id").is_some());
        assert!(f("workspace.name").is_some());
        assert!(f("task_id").is_none());
        assert!(f("original_id").is_none());
        assert_eq!(f("org.id"), f("org_id"));
        assert_eq!(f("caller_org_id"), f("org_id"));
        assert_ne!(f("org.zitadel_org_id"), f("org.id"));
        assert_ne!(f("org.slug"), f("org_id"));
        assert_eq!(f("tenant_id"), f("org_id"));
    }

    #[test]
    fn rewrites_put_the_tenant_in_place() {
        let s = Shape {
            parts: vec![
                Part::Lit("mcp:task:".into()),
                Part::Hole {
                    text: "task_id".into(),
                    tenant: None,
                    kind: HoleKind::Value,
                },
            ],
            via: None,
        };
        assert_eq!(
            s.with_tenant_after_namespace("org_id", ':').python(),
            "f\"mcp:{org_id}:task:{task_id}\""
        );
        assert_eq!(
            s.with_tenant_after_namespace("org_id", ':').rust(),
            "format!(\"mcp:{org_id}:task:{task_id}\")"
        );
        assert_eq!(
            s.with_tenant_first("org_id", '/').python(),
            "f\"{org_id}/mcp:task:{task_id}\""
        );
        assert!(Shape::lit("health").is_global(&["health".into()]));
        assert!(Shape::lit("health:db").is_global(&["health".into()]));
        assert!(!Shape::lit("healthcheck").is_global(&["health".into()]));
    }

    #[test]
    fn rust_tenant_in_scope_looks_through_fields_and_extractors() {
        let code = r#"
struct AuthUser { user_id: Uuid, org_id: Uuid }
struct Bearer(pub Claims);
struct Claims { sub: String, tenant_id: String }
struct AppState { db: PgPool }
struct Repo { pool: PgPool, org_id: Uuid }

fn plain(org_id: Uuid) {}
async fn path(Path((org_id, note_id)): Path<(Uuid, Uuid)>) {}
async fn extension(Extension(user): Extension<AuthUser>, id: Uuid) {}
async fn typed(user: &AuthUser, id: Uuid) {}
async fn wrapped(Bearer(claims): Bearer) {}
async fn read(claims: JwtClaims, id: Uuid) { let key = format!("x:{}", id); audit(&claims.tenant_id); }
async fn getter(ctx: RequestCtx) { load(ctx.tenant.id()).await; }
impl Repo { fn get(&self, id: Uuid) { find(self.org_id, id) } }
async fn elsewhere(user: CurrentUser, id: Uuid) {}
async fn state_only(State(state): State<AppState>, id: Uuid) {}
fn parse(name: &str) {}
"#;
        let file = syn::parse_file(code).unwrap();
        let src = SourceText::new(code.to_string());
        let rf = RsFile::new(&file, &src);
        let m = markers();
        let keys = RsKeys {
            file: &rf,
            markers: &m,
            helpers: &[],
        };
        let mut got = Vec::new();
        let mut sigs: Vec<(&syn::Signature, &syn::Block)> = Vec::new();
        for item in &file.items {
            match item {
                syn::Item::Fn(f) => sigs.push((&f.sig, &f.block)),
                syn::Item::Impl(i) => {
                    for it in &i.items {
                        if let syn::ImplItem::Fn(f) = it {
                            sigs.push((&f.sig, &f.block));
                        }
                    }
                }
                _ => {}
            }
        }
        for (sig, block) in sigs {
            let f = RsFn::new(sig, block, rf.range(block.span()), &rf);
            got.push((sig.ident.to_string(), keys.tenant_in_scope(Some(&f))));
        }
        let want = [
            ("plain", Some("org_id")),
            ("path", Some("org_id")),
            ("extension", Some("user.org_id")),
            ("typed", Some("user.org_id")),
            ("wrapped", Some("claims.tenant_id")),
            ("read", Some("claims.tenant_id")),
            ("getter", Some("ctx.tenant.id()")),
            ("get", Some("self.org_id")),
            ("elsewhere", Some("user.org_id")),
            ("state_only", None),
            ("parse", None),
        ];
        let want: Vec<(String, Option<String>)> = want
            .iter()
            .map(|(f, t)| (f.to_string(), t.map(String::from)))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn cross_org_comments() {
        let text =
            "def f():\n    # cross-org-by-design: fan-out to all orgs\n    r.publish(\"x\", 1)\n";
        let at = text.find("r.publish").unwrap();
        assert!(cross_org_marked(text, at..at + 5, None));
        let bare = "def f():\n    # cross-org-by-design:\n    r.publish(\"x\", 1)\n";
        let at = bare.find("r.publish").unwrap();
        assert!(!cross_org_marked(bare, at..at + 5, None));
    }
}
