//! Static analysis of references: which named objects an expression mentions (`var.x`,
//! `local.y`, `type.name`, `each`, `count`, `self`, …), ignoring `for` iteration
//! variables. Used to compute dependencies between resources (directly or through
//! locals) and to check every reference, even in branches evaluation does not take.

use super::eval::{Evaluator, Scope};
use super::model::{Config, DriverShare, Expr, Resource};
use crate::addr::ResourceAddr;
use crate::diag::Diagnostics;
use hcl::edit::Span as _;
use hcl::edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl::edit::template::{Directive, Element, Template};
use std::collections::BTreeSet;

/// One reference: the root name, the operator after it (usually `.attr`), and the
/// expression node that holds them (for its span).
#[derive(Debug, Clone, Copy)]
pub struct Reference<'a> {
    pub root: &'a Expression,
    pub first: Option<&'a TraversalOperator>,
    pub node: &'a Expression,
}

impl Reference<'_> {
    /// The root name (`var`, `local`, a resource type, …).
    pub fn root_name(&self) -> &str {
        match self.root {
            Expression::Variable(v) => v.as_str(),
            _ => "",
        }
    }

    /// The attribute name after the root, if the first operator is one.
    pub fn attr(&self) -> Option<&str> {
        match self.first {
            Some(TraversalOperator::GetAttr(a)) => Some(a.as_str()),
            _ => None,
        }
    }
}

/// All references in an expression.
pub fn references(expr: &Expression) -> Vec<Reference<'_>> {
    let mut out = Vec::new();
    walk(expr, &mut Vec::new(), &mut out);
    out
}

fn walk<'a>(e: &'a Expression, bound: &mut Vec<String>, out: &mut Vec<Reference<'a>>) {
    match e {
        Expression::Null(_)
        | Expression::Bool(_)
        | Expression::Number(_)
        | Expression::String(_) => {}
        Expression::Array(a) => a.iter().for_each(|x| walk(x, bound, out)),
        Expression::Object(o) => {
            for (k, v) in o.iter() {
                if let ObjectKey::Expression(k) = k {
                    walk(k, bound, out);
                }
                walk(v.expr(), bound, out);
            }
        }
        Expression::StringTemplate(t) => walk_template(t, bound, out),
        Expression::HeredocTemplate(h) => walk_template(&h.template, bound, out),
        Expression::Parenthesis(p) => walk(p.inner(), bound, out),
        Expression::Variable(v) => {
            if !bound.iter().any(|b| b == v.as_str()) {
                out.push(Reference {
                    root: e,
                    first: None,
                    node: e,
                });
            }
        }
        Expression::Traversal(t) => {
            match &t.expr {
                Expression::Variable(v) => {
                    if !bound.iter().any(|b| b == v.as_str()) {
                        out.push(Reference {
                            root: &t.expr,
                            first: t.operators.first().map(|o| o.value()),
                            node: e,
                        });
                    }
                }
                other => walk(other, bound, out),
            }
            for op in &t.operators {
                if let TraversalOperator::Index(i) = op.value() {
                    walk(i, bound, out);
                }
            }
        }
        Expression::Conditional(c) => {
            walk(&c.cond_expr, bound, out);
            walk(&c.true_expr, bound, out);
            walk(&c.false_expr, bound, out);
        }
        Expression::FuncCall(f) => f.args.iter().for_each(|x| walk(x, bound, out)),
        Expression::UnaryOp(u) => walk(&u.expr, bound, out),
        Expression::BinaryOp(b) => {
            walk(&b.lhs_expr, bound, out);
            walk(&b.rhs_expr, bound, out);
        }
        Expression::ForExpr(fe) => {
            walk(&fe.intro.collection_expr, bound, out);
            let n = bound.len();
            if let Some(k) = &fe.intro.key_var {
                bound.push(k.as_str().to_string());
            }
            bound.push(fe.intro.value_var.as_str().to_string());
            if let Some(k) = &fe.key_expr {
                walk(k, bound, out);
            }
            walk(&fe.value_expr, bound, out);
            if let Some(c) = &fe.cond {
                walk(&c.expr, bound, out);
            }
            bound.truncate(n);
        }
    }
}

fn walk_template<'a>(t: &'a Template, bound: &mut Vec<String>, out: &mut Vec<Reference<'a>>) {
    for el in t.iter() {
        match el {
            Element::Literal(_) => {}
            Element::Interpolation(i) => walk(&i.expr, bound, out),
            Element::Directive(d) => match &**d {
                Directive::If(i) => {
                    walk(&i.if_expr.cond_expr, bound, out);
                    walk_template(&i.if_expr.template, bound, out);
                    if let Some(e) = &i.else_expr {
                        walk_template(&e.template, bound, out);
                    }
                }
                Directive::For(f) => {
                    let fe = &f.for_expr;
                    walk(&fe.collection_expr, bound, out);
                    let n = bound.len();
                    if let Some(k) = &fe.key_var {
                        bound.push(k.as_str().to_string());
                    }
                    bound.push(fe.value_var.as_str().to_string());
                    walk_template(&fe.template, bound, out);
                    bound.truncate(n);
                }
            },
        }
    }
}

const NON_RESOURCE_ROOTS: [&str; 7] = ["var", "local", "each", "count", "self", "path", "data"];

/// Resources an expression refers to, directly or through locals.
pub fn expr_resource_refs(
    config: &Config,
    e: &Expression,
    seen_locals: &mut BTreeSet<String>,
    out: &mut BTreeSet<ResourceAddr>,
) {
    for r in references(e) {
        let root = r.root_name();
        match (root, r.attr()) {
            ("local", Some(name)) => {
                if seen_locals.insert(name.to_string())
                    && let Some(l) = config.locals.get(name)
                {
                    expr_resource_refs(config, &l.value.expr, seen_locals, out);
                }
            }
            (root, Some(name)) if !NON_RESOURCE_ROOTS.contains(&root) => {
                let addr = ResourceAddr::new(root, name);
                if config.resources.contains_key(&addr) {
                    out.insert(addr);
                }
            }
            _ => {}
        }
    }
}

/// The arguments whose values are secrets (`driver_share.password`, `driver_share.sas_uri`).
pub fn secret_exprs(r: &Resource) -> Vec<&Expr> {
    match &r.driver_share {
        Some(DriverShare::File { args, .. }) => args.get("password").into_iter().collect(),
        Some(DriverShare::Blob { sas_uri, .. }) => vec![sas_uri],
        None => vec![],
    }
}

/// Whether a resource's secret arguments read `each` or `count`, which makes its
/// `for_each` or `count` value a carrier of secrets.
pub fn secrets_read_the_iterator(r: &Resource) -> bool {
    secret_exprs(r).iter().any(|e| {
        references(&e.expr)
            .iter()
            .any(|x| matches!(x.root_name(), "each" | "count"))
    })
}

/// The variables whose values can reach a secret argument: directly, through locals, or
/// through the `for_each`/`count` of a resource whose secret arguments read `each` or
/// `count`. Their values are kept out of plan files and JSON plans like those of sensitive
/// variables, even when the variable is not marked sensitive.
pub fn secret_variables(config: &Config) -> BTreeSet<String> {
    let mut work: Vec<&Expression> = Vec::new();
    for r in config.resources.values() {
        work.extend(secret_exprs(r).into_iter().map(|e| &e.expr));
        if secrets_read_the_iterator(r) {
            work.extend(r.for_each.iter().chain(r.count.iter()).map(|e| &e.expr));
        }
    }
    let mut vars = BTreeSet::new();
    let mut seen_locals = BTreeSet::new();
    while let Some(e) = work.pop() {
        for r in references(e) {
            match (r.root_name(), r.attr()) {
                ("var", Some(name)) => {
                    vars.insert(name.to_string());
                }
                ("local", Some(name)) => {
                    if seen_locals.insert(name.to_string())
                        && let Some(l) = config.locals.get(name)
                    {
                        work.push(&l.value.expr);
                    }
                }
                _ => {}
            }
        }
    }
    vars
}

/// Every expression of a resource block, for analysis.
pub fn resource_exprs(r: &Resource) -> Vec<&Expr> {
    let mut v: Vec<&Expr> = r.args.values().collect();
    v.extend(r.count.iter());
    v.extend(r.for_each.iter());
    match &r.driver_share {
        Some(DriverShare::File { args, .. }) => v.extend(args.values()),
        Some(DriverShare::Blob { sas_uri, .. }) => v.push(sas_uri),
        None => {}
    }
    for pc in &r.postconditions {
        v.push(&pc.condition);
        v.push(&pc.error_message);
    }
    v
}

/// The dependencies of a resource: explicit `depends_on` plus references.
pub fn resource_dependencies(config: &Config, r: &Resource) -> BTreeSet<ResourceAddr> {
    let mut out: BTreeSet<ResourceAddr> = r.depends_on.iter().map(|(a, _)| a.clone()).collect();
    out.extend(r.lifecycle.replace_triggered_by.iter().cloned());
    let mut seen = BTreeSet::new();
    for e in resource_exprs(r) {
        expr_resource_refs(config, &e.expr, &mut seen, &mut out);
    }
    out.remove(&r.addr);
    out
}

impl Evaluator<'_> {
    /// Checks every reference in `e` against what is declared and what `scope` allows,
    /// including in branches evaluation would skip.
    pub fn check_references(&self, e: &Expr, scope: &Scope) -> Diagnostics {
        let mut diags = Diagnostics::new();
        for r in references(&e.expr) {
            let ops: Vec<&TraversalOperator> = r.first.into_iter().collect();
            if let Err(d) = self.traversal(r.root, &ops, &e.file, scope, r.node.span()) {
                diags.extend(d);
            }
        }
        diags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(src: &str) -> Vec<String> {
        let e = hcl::edit::parser::parse_expr(src).expect("parses");
        references(&e)
            .iter()
            .map(|r| format!("{}.{}", r.root_name(), r.attr().unwrap_or("")))
            .collect()
    }

    #[test]
    fn finds_references_everywhere_but_iteration_variables() {
        assert_eq!(
            names(r#"{ for k, v in var.m : k => "${v.x}-${local.s}" if t.n[each.key].ok }"#),
            ["var.m", "local.s", "t.n", "each.key"]
        );
        assert_eq!(
            names("f(a.b, c ? d.e : [g.h])"),
            ["a.b", "c.", "d.e", "g.h"]
        );
        assert_eq!(
            names(r#""%{ for x in var.l }${x}${y.z}%{ endfor }""#),
            ["var.l", "y.z"]
        );
    }
}
