//! Rust through syn: small helpers for rules that walk `syn` trees.

pub use super::embedded::{path_string, span_range};

/// The identifier a Rust expression is "about", for name-based heuristics:
/// the last path segment, field, or method name; references, parentheses,
/// `?`, and conversions like `.as_bytes()` are looked through.
pub fn expr_name(e: &syn::Expr) -> Option<String> {
    use syn::Expr;
    match e {
        Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        Expr::Field(f) => match &f.member {
            syn::Member::Named(i) => Some(i.to_string()),
            syn::Member::Unnamed(_) => expr_name(&f.base),
        },
        Expr::MethodCall(m) => {
            let method = m.method.to_string();
            if is_view_method(&method) {
                expr_name(&m.receiver)
            } else {
                Some(method)
            }
        }
        Expr::Call(c) => expr_name(&c.func),
        Expr::Reference(r) => expr_name(&r.expr),
        Expr::Paren(p) => expr_name(&p.expr),
        Expr::Try(t) => expr_name(&t.expr),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => expr_name(&u.expr),
        Expr::Index(i) => expr_name(&i.expr),
        _ => None,
    }
}

/// Methods that only change a value's representation.
pub fn is_view_method(m: &str) -> bool {
    matches!(
        m,
        "as_bytes"
            | "as_str"
            | "as_ref"
            | "to_str"
            | "to_string"
            | "to_owned"
            | "clone"
            | "unwrap"
            | "expect"
            | "unwrap_or_default"
            | "trim"
            | "expose_secret"
            | "deref"
            | "into_bytes"
            | "to_vec"
    )
}

/// `#[test]`, `#[tokio::test]`, `#[cfg(test)]` and the like.
pub fn is_test_attr(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        let path = path_string(a.path());
        if path == "test" || path.ends_with("::test") {
            return true;
        }
        path == "cfg"
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

/// A function with a body: free, in an `impl`, or nested in another
/// function's body.
pub struct Function<'a> {
    pub attrs: &'a [syn::Attribute],
    pub sig: &'a syn::Signature,
    pub block: &'a syn::Block,
    /// The whole item, attributes included.
    pub span: proc_macro2::Span,
    /// A test, or inside a `#[cfg(test)]` module.
    pub in_test: bool,
}

impl Function<'_> {
    pub fn name(&self) -> String {
        self.sig.ident.to_string()
    }
}

/// Every function of a file with a body, in source order.
pub fn functions(file: &syn::File) -> Vec<Function<'_>> {
    use syn::spanned::Spanned;
    use syn::visit::Visit;
    struct V<'a> {
        out: Vec<Function<'a>>,
        test_mod: bool,
    }
    impl<'a> V<'a> {
        fn add(
            &mut self,
            attrs: &'a [syn::Attribute],
            sig: &'a syn::Signature,
            block: &'a syn::Block,
            span: proc_macro2::Span,
        ) {
            self.out.push(Function {
                attrs,
                sig,
                block,
                span,
                in_test: self.test_mod || is_test_attr(attrs),
            });
        }
    }
    impl<'a> Visit<'a> for V<'a> {
        fn visit_item_mod(&mut self, m: &'a syn::ItemMod) {
            let was = self.test_mod;
            self.test_mod |= is_test_attr(&m.attrs);
            syn::visit::visit_item_mod(self, m);
            self.test_mod = was;
        }
        fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
            self.add(&f.attrs, &f.sig, &f.block, f.span());
            syn::visit::visit_item_fn(self, f);
        }
        fn visit_impl_item_fn(&mut self, f: &'a syn::ImplItemFn) {
            self.add(&f.attrs, &f.sig, &f.block, f.span());
            syn::visit::visit_impl_item_fn(self, f);
        }
    }
    let mut v = V {
        out: Vec::new(),
        test_mod: false,
    };
    v.visit_file(file);
    v.out
}

/// An expression without the references, dereferences, parentheses and
/// groups around it.
pub fn peel(mut e: &syn::Expr) -> &syn::Expr {
    loop {
        e = match e {
            syn::Expr::Reference(r) => &r.expr,
            syn::Expr::Paren(p) => &p.expr,
            syn::Expr::Group(g) => &g.expr,
            syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => &u.expr,
            _ => return e,
        };
    }
}

/// What a local name in a function is bound to.
#[derive(Clone, Copy)]
pub enum Bound<'a> {
    /// `let x = e`, `let Some(x) = e`, `if let Some(x) = e`, a `match e`
    /// arm `Some(x) =>`.
    Init(&'a syn::Expr),
    /// A closure parameter of `coll.iter().any(|x| …)` and the like: an
    /// element of `coll`.
    Element(&'a syn::Expr),
    /// A parameter or `let x: T;` without a value.
    Type(&'a syn::Type),
}

/// The local bindings of a function, each with the position of the name
/// that binds it, in source order.
pub fn bindings<'a>(
    sig: &'a syn::Signature,
    block: &'a syn::Block,
) -> Vec<(String, proc_macro2::LineColumn, Bound<'a>)> {
    use syn::visit::Visit;
    struct C<'a> {
        out: Vec<(String, proc_macro2::LineColumn, Bound<'a>)>,
    }
    fn idents(p: &syn::Pat, out: &mut Vec<(String, proc_macro2::LineColumn)>) {
        match p {
            syn::Pat::Ident(i) => out.push((i.ident.to_string(), i.ident.span().start())),
            syn::Pat::Type(t) => idents(&t.pat, out),
            syn::Pat::Reference(r) => idents(&r.pat, out),
            // `Some(x)`, `Ok(x)`: the value inside.
            syn::Pat::TupleStruct(t) if t.elems.len() == 1 => idents(&t.elems[0], out),
            _ => {}
        }
    }
    impl<'a> C<'a> {
        fn bind(&mut self, pat: &'a syn::Pat, value: Bound<'a>) {
            let mut names = Vec::new();
            idents(pat, &mut names);
            for (n, at) in names {
                self.out.push((n, at, value));
            }
        }
    }
    impl<'a> Visit<'a> for C<'a> {
        fn visit_local(&mut self, l: &'a syn::Local) {
            match (&l.init, &l.pat) {
                (Some(init), pat) => self.bind(pat, Bound::Init(&init.expr)),
                (None, syn::Pat::Type(t)) => self.bind(&t.pat, Bound::Type(&t.ty)),
                _ => {}
            }
            syn::visit::visit_local(self, l);
        }
        fn visit_expr_let(&mut self, l: &'a syn::ExprLet) {
            self.bind(&l.pat, Bound::Init(&l.expr));
            syn::visit::visit_expr_let(self, l);
        }
        fn visit_expr_match(&mut self, m: &'a syn::ExprMatch) {
            for arm in &m.arms {
                self.bind(&arm.pat, Bound::Init(&m.expr));
            }
            syn::visit::visit_expr_match(self, m);
        }
        fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
            let iterating = matches!(
                m.method.to_string().as_str(),
                "any" | "all" | "find" | "filter" | "position" | "find_map" | "filter_map"
            );
            if iterating {
                if let Some(syn::Expr::Closure(c)) = m.args.first() {
                    let mut coll: &syn::Expr = &m.receiver;
                    while let syn::Expr::MethodCall(inner) = coll {
                        if matches!(
                            inner.method.to_string().as_str(),
                            "iter" | "iter_mut" | "into_iter"
                        ) {
                            coll = &inner.receiver;
                        } else {
                            break;
                        }
                    }
                    for p in &c.inputs {
                        self.bind(p, Bound::Element(coll));
                    }
                }
            }
            syn::visit::visit_expr_method_call(self, m);
        }
    }
    let mut c = C { out: Vec::new() };
    for input in &sig.inputs {
        if let syn::FnArg::Typed(t) = input {
            let mut names = Vec::new();
            idents(&t.pat, &mut names);
            for (n, at) in names {
                c.out.push((n, at, Bound::Type(&t.ty)));
            }
        }
    }
    c.visit_block(block);
    c.out.sort_by_key(|(_, at, _)| (at.line, at.column));
    c.out
}
