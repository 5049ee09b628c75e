//! Expression evaluation with unknown values and sensitivity marks.
//!
//! The [`Evaluator`] evaluates `hcl::edit` expressions against a [`Config`]: variables,
//! locals (lazily, in any order, cycles reported), resources (through
//! [`super::expand`]), `each`, `count`, `self`, `path.module`, `for` expressions,
//! templates, splats and the built-in functions of [`super::funcs`].
//!
//! Unknown values (attributes known only after apply) propagate through every operation;
//! sensitivity marks propagate from operands to results. Evaluation is pure: it reads no
//! state and no network, only files through `file()`.

use super::funcs;
use super::model::{Config, Expr};
use crate::addr::ResourceAddr;
use crate::diag::{Diagnostic, Diagnostics, did_you_mean};
use crate::value::{Value, format_number};
use hcl::edit::Span as _;
use hcl::edit::expr::{BinaryOperator, Expression, ObjectKey, TraversalOperator, UnaryOperator};
use hcl::edit::template::{Directive, Element, Template};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ops::Range;

/// What the evaluation is for: `validate` tolerates unknown `count`/`for_each` and unset
/// variables; `plan` requires them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Plan,
    Validate,
}

/// The source of attributes only known after apply (`id`, `state`, `errors`, `output`).
pub trait AttrLookup {
    /// The computed attributes of one resource instance as an object, if known (from
    /// state or a finished task). `None` makes them unknown.
    fn computed(&self, addr: &ResourceAddr) -> Option<Value>;

    /// The attributes of a data source `data.TYPE.NAME` once it has been read; `None`
    /// leaves them unknown.
    fn data_source(&self, _kind: &str, _name: &str) -> Option<Value> {
        None
    }
}

/// Resource attributes plus data sources that were read.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub resources: BTreeMap<ResourceAddr, Value>,
    /// By `TYPE.NAME`.
    pub data: BTreeMap<String, Value>,
}

impl AttrLookup for Known {
    fn computed(&self, addr: &ResourceAddr) -> Option<Value> {
        self.resources.get(addr).cloned()
    }

    fn data_source(&self, kind: &str, name: &str) -> Option<Value> {
        self.data.get(&format!("{kind}.{name}")).cloned()
    }
}

/// Nothing known yet: every computed attribute is unknown.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoState;

impl AttrLookup for NoState {
    fn computed(&self, _: &ResourceAddr) -> Option<Value> {
        None
    }
}

impl AttrLookup for BTreeMap<ResourceAddr, Value> {
    fn computed(&self, addr: &ResourceAddr) -> Option<Value> {
        self.get(addr).cloned()
    }
}

/// The names in scope for one expression besides the global ones.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// `each.key` / `each.value`, when the resource has `for_each`.
    pub each: Option<(Value, Value)>,
    /// `count.index`, when the resource has `count`.
    pub count: Option<Value>,
    /// `self`, in postconditions.
    pub self_value: Option<Value>,
    /// Iteration variables of enclosing `for` expressions.
    pub(crate) iter_vars: Vec<(String, Value)>,
    /// No references at all (variable files, type defaults, backend settings).
    pub constant: bool,
}

impl Scope {
    /// A scope in which references are not allowed.
    pub fn constant() -> Scope {
        Scope {
            constant: true,
            ..Scope::default()
        }
    }
}

pub(crate) type EvalResult = Result<Value, Diagnostics>;

/// Evaluates expressions of one configuration; memoizes locals and resources.
pub struct Evaluator<'a> {
    pub(crate) config: &'a Config,
    pub(crate) known: &'a dyn AttrLookup,
    pub(crate) mode: Mode,
    pub(crate) locals: RefCell<BTreeMap<String, Value>>,
    pub(crate) resources: RefCell<BTreeMap<ResourceAddr, Value>>,
    pub(crate) instances: RefCell<BTreeMap<ResourceAddr, Vec<super::expand::ResourceInstance>>>,
    pub(crate) stack: RefCell<Vec<String>>,
    /// Errors found while evaluating named objects (locals, resources), reported once.
    pub(crate) diags: RefCell<Diagnostics>,
}

/// Evaluates an expression that may not reference anything (functions are allowed).
pub fn eval_constant(expr: &Expression) -> Result<Value, String> {
    let config = Config::default();
    let ev = Evaluator::new(&config, &NoState, Mode::Validate);
    ev.expr(expr, "", &Scope::constant()).map_err(|d| {
        d.iter()
            .next()
            .map_or_else(|| "invalid expression".to_string(), |d| d.detail.clone())
    })
}

impl<'a> Evaluator<'a> {
    /// A fresh evaluator; `known` supplies attributes of resources that already ran.
    pub fn new(config: &'a Config, known: &'a dyn AttrLookup, mode: Mode) -> Evaluator<'a> {
        Evaluator {
            config,
            known,
            mode,
            locals: RefCell::default(),
            resources: RefCell::default(),
            instances: RefCell::default(),
            stack: RefCell::default(),
            diags: RefCell::default(),
        }
    }

    /// Diagnostics collected while evaluating locals and resources on demand.
    pub fn take_diagnostics(&self) -> Diagnostics {
        std::mem::take(&mut *self.diags.borrow_mut())
    }

    /// Evaluates a stored expression in a scope.
    pub fn eval(&self, e: &Expr, scope: &Scope) -> EvalResult {
        self.expr(&e.expr, &e.file, scope)
    }

    pub(crate) fn error(
        &self,
        summary: &str,
        detail: impl Into<String>,
        file: &str,
        range: Option<Range<usize>>,
    ) -> Diagnostics {
        let span = range.and_then(|r| self.config.sources.span(file, r));
        Diagnostic::error(summary, detail).with_span(span).into()
    }

    /// Evaluates one expression.
    pub(crate) fn expr(&self, x: &Expression, f: &str, s: &Scope) -> EvalResult {
        match x {
            Expression::Null(_) => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => Ok(Value::Number(n.value().as_f64().unwrap_or(0.0))),
            Expression::String(st) => Ok(Value::String(st.value().clone())),
            Expression::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items.iter() {
                    out.push(self.expr(item, f, s)?);
                }
                Ok(Value::List(out))
            }
            Expression::Object(obj) => {
                let mut out = BTreeMap::new();
                let mut marked = false;
                for (k, v) in obj.iter() {
                    let key = match k {
                        ObjectKey::Ident(id) => id.as_str().to_string(),
                        ObjectKey::Expression(ke) => {
                            let kv = self.expr(ke, f, s)?;
                            let (kv, m) = kv.unmark();
                            marked |= m;
                            match kv {
                                Value::Unknown => return Ok(Value::Unknown),
                                Value::String(st) => st,
                                Value::Number(n) => format_number(n),
                                Value::Bool(b) => b.to_string(),
                                other => {
                                    return Err(self.error(
                                        "Invalid object key",
                                        format!(
                                            "Object keys must be strings, not {}.",
                                            other.type_name()
                                        ),
                                        f,
                                        ke.span(),
                                    ));
                                }
                            }
                        }
                    };
                    out.insert(key, self.expr(v.expr(), f, s)?);
                }
                Ok(Value::Map(out).mark_if(marked))
            }
            Expression::StringTemplate(t) => self.template(t, f, s),
            Expression::HeredocTemplate(h) => self.template(&h.template, f, s),
            Expression::Parenthesis(p) => self.expr(p.inner(), f, s),
            Expression::Variable(_) => self.traversal(x, &[], f, s, x.span()),
            Expression::Traversal(t) => {
                let ops: Vec<&TraversalOperator> = t.operators.iter().map(|o| o.value()).collect();
                self.traversal(&t.expr, &ops, f, s, x.span())
            }
            Expression::Conditional(c) => {
                let cond = self.expr(&c.cond_expr, f, s)?;
                let (cond, marked) = cond.unmark();
                let b = match cond {
                    Value::Unknown => return Ok(Value::Unknown),
                    Value::Bool(b) => b,
                    Value::String(ref st) if st == "true" || st == "false" => st == "true",
                    other => {
                        return Err(self.error(
                            "Incorrect condition type",
                            format!(
                                "The condition expression must be of type bool, not {}.",
                                other.type_name()
                            ),
                            f,
                            c.cond_expr.span(),
                        ));
                    }
                };
                let v = if b {
                    self.expr(&c.true_expr, f, s)?
                } else {
                    self.expr(&c.false_expr, f, s)?
                };
                Ok(v.mark_if(marked))
            }
            Expression::FuncCall(call) => self.call(call, f, s, x.span()),
            Expression::UnaryOp(u) => {
                let v = self.expr(&u.expr, f, s)?;
                let (v, marked) = v.unmark();
                let out = match (u.operator.value(), v) {
                    (_, Value::Unknown) => Value::Unknown,
                    (UnaryOperator::Not, Value::Bool(b)) => Value::Bool(!b),
                    (UnaryOperator::Neg, Value::Number(n)) => Value::Number(-n),
                    (UnaryOperator::Neg, Value::String(st)) if st.parse::<f64>().is_ok() => {
                        Value::Number(-st.parse::<f64>().unwrap_or(0.0))
                    }
                    (op, other) => {
                        let want = if *op == UnaryOperator::Not {
                            "bool"
                        } else {
                            "number"
                        };
                        return Err(self.error(
                            "Invalid operand",
                            format!(
                                "Unsuitable value for unary operand: {want} required, not {}.",
                                other.type_name()
                            ),
                            f,
                            u.expr.span(),
                        ));
                    }
                };
                Ok(out.mark_if(marked))
            }
            Expression::BinaryOp(b) => {
                let l = self.expr(&b.lhs_expr, f, s)?;
                let r = self.expr(&b.rhs_expr, f, s)?;
                self.binary(*b.operator.value(), l, r, f, &b.lhs_expr, &b.rhs_expr)
            }
            Expression::ForExpr(fe) => self.for_expr(fe, f, s),
        }
    }

    fn binary(
        &self,
        op: BinaryOperator,
        l: Value,
        r: Value,
        f: &str,
        le: &Expression,
        re: &Expression,
    ) -> EvalResult {
        use BinaryOperator as B;
        let (l, lm) = l.unmark_deep();
        let (r, rm) = r.unmark_deep();
        let marked = lm || rm;
        if matches!(op, B::Eq | B::NotEq) {
            if !l.is_wholly_known() || !r.is_wholly_known() {
                return Ok(Value::Unknown.mark_if(marked));
            }
            let eq = l == r;
            return Ok(Value::Bool(if op == B::Eq { eq } else { !eq }).mark_if(marked));
        }
        if matches!(l, Value::Unknown) || matches!(r, Value::Unknown) {
            return Ok(Value::Unknown.mark_if(marked));
        }
        if matches!(op, B::And | B::Or) {
            let lb = self.want_bool(&l, f, le)?;
            let rb = self.want_bool(&r, f, re)?;
            let v = if op == B::And { lb && rb } else { lb || rb };
            return Ok(Value::Bool(v).mark_if(marked));
        }
        let a = self.want_number(&l, f, le)?;
        let b = self.want_number(&r, f, re)?;
        let v = match op {
            B::Plus => Value::Number(a + b),
            B::Minus => Value::Number(a - b),
            B::Mul => Value::Number(a * b),
            B::Div | B::Mod if b == 0.0 => {
                return Err(self.error("Invalid operand", "Can't divide by zero.", f, re.span()));
            }
            B::Div => Value::Number(a / b),
            B::Mod => Value::Number(a % b),
            B::Less => Value::Bool(a < b),
            B::LessEq => Value::Bool(a <= b),
            B::Greater => Value::Bool(a > b),
            B::GreaterEq => Value::Bool(a >= b),
            B::Eq | B::NotEq | B::And | B::Or => Value::Null,
        };
        Ok(v.mark_if(marked))
    }

    fn want_bool(&self, v: &Value, f: &str, e: &Expression) -> Result<bool, Diagnostics> {
        match v {
            Value::Bool(b) => Ok(*b),
            Value::String(st) if st == "true" || st == "false" => Ok(st == "true"),
            other => Err(self.error(
                "Invalid operand",
                format!(
                    "Unsuitable value for operand: a bool is required, not {}.",
                    other.type_name()
                ),
                f,
                e.span(),
            )),
        }
    }

    fn want_number(&self, v: &Value, f: &str, e: &Expression) -> Result<f64, Diagnostics> {
        match v {
            Value::Number(n) => Ok(*n),
            Value::String(st) if st.trim().parse::<f64>().is_ok() => {
                Ok(st.trim().parse().unwrap_or(0.0))
            }
            other => Err(self.error(
                "Invalid operand",
                format!(
                    "Unsuitable value for operand: a number is required, not {}.",
                    other.type_name()
                ),
                f,
                e.span(),
            )),
        }
    }

    fn template(&self, t: &Template, f: &str, s: &Scope) -> EvalResult {
        let mut out = String::new();
        let mut marked = false;
        let mut unknown = false;
        // `~` strip markers trim the whitespace of the neighbouring literals.
        let mut trim_next = false;
        for el in t.iter() {
            match el {
                Element::Literal(l) => {
                    let text = l.value();
                    out.push_str(if std::mem::take(&mut trim_next) {
                        text.trim_start()
                    } else {
                        text
                    });
                }
                Element::Interpolation(i) => {
                    if i.strip.strip_start() {
                        out.truncate(out.trim_end().len());
                    }
                    trim_next = i.strip.strip_end();
                    let v = self.expr(&i.expr, f, s)?;
                    let (v, m) = v.unmark_deep();
                    marked |= m;
                    match v {
                        Value::Unknown => unknown = true,
                        Value::String(st) => out.push_str(&st),
                        Value::Number(n) => out.push_str(&format_number(n)),
                        Value::Bool(b) => out.push_str(&b.to_string()),
                        Value::Null => {
                            return Err(self.error(
                                "Invalid template interpolation value",
                                "The expression result is null. Cannot include a null value in a string template.",
                                f,
                                i.expr.span(),
                            ));
                        }
                        other => {
                            return Err(self.error(
                                "Invalid template interpolation value",
                                format!(
                                    "Cannot include the given value in a string template: string required, not {}.",
                                    other.type_name()
                                ),
                                f,
                                i.expr.span(),
                            ));
                        }
                    }
                }
                Element::Directive(d) => match &**d {
                    Directive::If(ifd) => {
                        let c = self.expr(&ifd.if_expr.cond_expr, f, s)?;
                        let (c, m) = c.unmark();
                        marked |= m;
                        match c {
                            Value::Unknown => unknown = true,
                            c => {
                                let b = self.want_bool(&c, f, &ifd.if_expr.cond_expr)?;
                                let branch = if b {
                                    Some(&ifd.if_expr.template)
                                } else {
                                    ifd.else_expr.as_ref().map(|e| &e.template)
                                };
                                if let Some(branch) = branch {
                                    let v = self.template(branch, f, s)?;
                                    let (v, m) = v.unmark();
                                    marked |= m;
                                    match v {
                                        Value::String(st) => out.push_str(&st),
                                        _ => unknown = true,
                                    }
                                }
                            }
                        }
                    }
                    Directive::For(fd) => {
                        let e = &fd.for_expr;
                        let coll = self.expr(&e.collection_expr, f, s)?;
                        let (coll, m) = coll.unmark();
                        marked |= m;
                        let Some(pairs) = self.iter_pairs(&coll, f, &e.collection_expr)? else {
                            unknown = true;
                            continue;
                        };
                        for (k, v) in pairs {
                            let mut inner = s.clone();
                            if let Some(kv) = &e.key_var {
                                inner.iter_vars.push((kv.as_str().to_string(), k));
                            }
                            inner.iter_vars.push((e.value_var.as_str().to_string(), v));
                            let r = self.template(&e.template, f, &inner)?;
                            let (r, m) = r.unmark();
                            marked |= m;
                            match r {
                                Value::String(st) => out.push_str(&st),
                                _ => unknown = true,
                            }
                        }
                    }
                },
            }
        }
        if unknown {
            return Ok(Value::Unknown.mark_if(marked));
        }
        Ok(Value::String(out).mark_if(marked))
    }

    /// Key/value pairs to iterate, `None` if the collection is unknown.
    fn iter_pairs(
        &self,
        coll: &Value,
        f: &str,
        e: &Expression,
    ) -> Result<Option<Vec<(Value, Value)>>, Diagnostics> {
        match coll {
            Value::Unknown => Ok(None),
            Value::List(items) => Ok(Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (Value::Number(i as f64), v.clone()))
                    .collect(),
            )),
            Value::Set(items) => Ok(Some(items.iter().map(|v| (v.clone(), v.clone())).collect())),
            Value::Map(m) => Ok(Some(
                m.iter()
                    .map(|(k, v)| (Value::String(k.clone()), v.clone()))
                    .collect(),
            )),
            Value::Sensitive(inner) => Ok(self.iter_pairs(inner, f, e)?.map(|pairs| {
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.mark_sensitive(), v.mark_sensitive()))
                    .collect()
            })),
            other => Err(self.error(
                "Iteration over non-iterable value",
                format!(
                    "A value of type {} cannot be used as the collection in a 'for' expression.",
                    other.type_name()
                ),
                f,
                e.span(),
            )),
        }
    }

    fn for_expr(&self, fe: &hcl::edit::expr::ForExpr, f: &str, s: &Scope) -> EvalResult {
        let coll = self.expr(&fe.intro.collection_expr, f, s)?;
        let Some(pairs) = self.iter_pairs(&coll, f, &fe.intro.collection_expr)? else {
            return Ok(Value::Unknown);
        };
        let mut list = Vec::new();
        let mut map: BTreeMap<String, Value> = BTreeMap::new();
        let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for (k, v) in pairs {
            let mut inner = s.clone();
            if let Some(kv) = &fe.intro.key_var {
                inner.iter_vars.push((kv.as_str().to_string(), k));
            }
            inner
                .iter_vars
                .push((fe.intro.value_var.as_str().to_string(), v));
            if let Some(cond) = &fe.cond {
                let c = self.expr(&cond.expr, f, &inner)?;
                match c.unmark().0 {
                    Value::Unknown => return Ok(Value::Unknown),
                    c => {
                        if !self.want_bool(&c, f, &cond.expr)? {
                            continue;
                        }
                    }
                }
            }
            let value = self.expr(&fe.value_expr, f, &inner)?;
            match &fe.key_expr {
                None => list.push(value),
                Some(ke) => {
                    let key = self.expr(ke, f, &inner)?;
                    let key = match key.unmark().0 {
                        Value::Unknown => return Ok(Value::Unknown),
                        Value::String(st) => st,
                        Value::Number(n) => format_number(n),
                        Value::Bool(b) => b.to_string(),
                        other => {
                            return Err(self.error(
                                "Invalid object key",
                                format!(
                                    "Key expression in 'for' expression must be a string, not {}.",
                                    other.type_name()
                                ),
                                f,
                                ke.span(),
                            ));
                        }
                    };
                    if fe.grouping {
                        groups.entry(key).or_default().push(value);
                    } else if let std::collections::btree_map::Entry::Vacant(slot) =
                        map.entry(key.clone())
                    {
                        slot.insert(value);
                    } else {
                        return Err(self.error(
                            "Duplicate object key",
                            format!(
                                "Two different items produced the key \"{key}\" in this 'for' expression. If duplicates are expected, use the ellipsis (...) after the value expression to enable grouping by key."
                            ),
                            f,
                            ke.span(),
                        ));
                    }
                }
            }
        }
        Ok(match (&fe.key_expr, fe.grouping) {
            (None, _) => Value::List(list),
            (Some(_), true) => Value::Map(
                groups
                    .into_iter()
                    .map(|(k, v)| (k, Value::List(v)))
                    .collect(),
            ),
            (Some(_), false) => Value::Map(map),
        })
    }

    fn call(
        &self,
        call: &hcl::edit::expr::FuncCall,
        f: &str,
        s: &Scope,
        range: Option<Range<usize>>,
    ) -> EvalResult {
        let name = call.name.name.as_str();
        let args: Vec<&Expression> = call.args.iter().collect();
        if !call.name.namespace.is_empty() {
            return Err(self.error(
                "Call to unknown function",
                format!(
                    "There is no function named \"{}::{name}\".",
                    call.name
                        .namespace
                        .iter()
                        .map(|n| n.as_str())
                        .collect::<Vec<_>>()
                        .join("::")
                ),
                f,
                range,
            ));
        }
        // try and can look at errors, so they take their arguments unevaluated.
        if name == "try" {
            if args.is_empty() {
                return Err(self.error(
                    "Not enough function arguments",
                    "Function \"try\" expects at least one argument.",
                    f,
                    range,
                ));
            }
            for a in &args {
                if let Ok(v) = self.expr(a, f, s) {
                    return Ok(v);
                }
            }
            return Err(self.error(
                "Error in function call",
                "Call to function \"try\" failed: no expression succeeded.",
                f,
                range,
            ));
        }
        if name == "can" {
            if args.len() != 1 {
                return Err(self.error(
                    "Invalid function arguments",
                    "Function \"can\" expects exactly one argument.",
                    f,
                    range,
                ));
            }
            return Ok(Value::Bool(self.expr(args[0], f, s).is_ok()));
        }
        let Some(def) = funcs::lookup(name) else {
            let hint = did_you_mean(name, funcs::NAMES.iter().copied());
            return Err(self.error(
                "Call to unknown function",
                format!("There is no function named \"{name}\".{hint}"),
                f,
                call.name.name.span().or(range),
            ));
        };
        let mut values = Vec::with_capacity(args.len());
        for a in &args {
            values.push(self.expr(a, f, s)?);
        }
        if call.args.expand_final() {
            match values.pop().map(Value::unmark) {
                Some((Value::List(items) | Value::Set(items), m)) => {
                    values.extend(items.into_iter().map(|v| v.mark_if(m)))
                }
                Some((Value::Unknown, _)) => return Ok(Value::Unknown),
                _ => {
                    return Err(self.error(
                        "Invalid expanding argument value",
                        "The expanding argument (indicated by ...) must be of a tuple, list, or set type.",
                        f,
                        args.last().and_then(|a| a.span()),
                    ));
                }
            }
        }
        funcs::invoke(def, values, &self.config.dir).map_err(|e| {
            let at = e
                .arg
                .and_then(|i| args.get(i))
                .and_then(|a| a.span())
                .or(range.clone());
            self.error(e.summary, e.detail, f, at)
        })
    }
}
