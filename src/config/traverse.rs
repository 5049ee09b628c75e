//! Evaluation of references and traversals: `var.x`, `local.x`, `each.key`, `count.index`,
//! `self.state`, `path.module`, `type.name[key].attr`, `for` iteration variables, indexing
//! and splats. Named objects are resolved here; locals are evaluated lazily with cycle
//! detection.

use super::eval::{EvalResult, Evaluator, Scope};
use crate::addr::ResourceAddr;
use crate::diag::{Diagnostics, did_you_mean};
use crate::value::{Value, format_number};
use hcl::edit::Span as _;
use hcl::edit::expr::{Expression, TraversalOperator as Op};
use std::ops::Range;

impl Evaluator<'_> {
    /// Evaluates `root` followed by the traversal operators `ops`.
    pub(crate) fn traversal(
        &self,
        root: &Expression,
        ops: &[&Op],
        f: &str,
        s: &Scope,
        range: Option<Range<usize>>,
    ) -> EvalResult {
        let Expression::Variable(name) = root else {
            let v = self.expr(root, f, s)?;
            return self.apply_ops(v, ops, f, s);
        };
        let name = name.as_str();
        if let Some((_, v)) = s.iter_vars.iter().rev().find(|(n, _)| n == name) {
            return self.apply_ops(v.clone(), ops, f, s);
        }
        if s.constant {
            return Err(self.error(
                "Variables not allowed",
                "Variables may not be used here.",
                f,
                root.span().or(range),
            ));
        }
        let attr = match ops.first() {
            Some(Op::GetAttr(a)) => Some(a.as_str()),
            _ => None,
        };
        let rest = ops.get(1..).unwrap_or(&[]);
        let at = range.clone();
        match name {
            "var" => {
                let Some(attr) = attr else {
                    return Err(self.error("Invalid reference", "The \"var\" object cannot be accessed directly. Instead, access one of its attributes.", f, at));
                };
                let Some(v) = self.config.var_values.get(attr) else {
                    let hint = did_you_mean(attr, self.config.variables.keys().map(String::as_str));
                    return Err(self.error(
                        "Reference to undeclared input variable",
                        format!("An input variable with the name \"{attr}\" has not been declared. This variable can be declared with a variable \"{attr}\" {{}} block.{hint}"),
                        f,
                        at,
                    ));
                };
                self.apply_ops(v.clone(), rest, f, s)
            }
            "local" => {
                let Some(attr) = attr else {
                    return Err(self.error("Invalid reference", "The \"local\" object cannot be accessed directly. Instead, access one of its attributes.", f, at));
                };
                let v = self.local_value(attr, f, at)?;
                self.apply_ops(v, rest, f, s)
            }
            "each" => {
                let Some((k, v)) = &s.each else {
                    return Err(self.error(
                        "Reference to \"each\" in context without for_each",
                        "The \"each\" object can be used only in \"resource\" blocks, and only when the \"for_each\" argument is set.",
                        f,
                        at,
                    ));
                };
                match attr {
                    Some("key") => self.apply_ops(k.clone(), rest, f, s),
                    Some("value") => self.apply_ops(v.clone(), rest, f, s),
                    _ => Err(self.error(
                        "Invalid \"each\" attribute",
                        "The \"each\" object has only the attributes \"key\" and \"value\", the current key and value pair of the \"for_each\" argument.",
                        f,
                        at,
                    )),
                }
            }
            "count" => {
                let Some(index) = &s.count else {
                    return Err(self.error(
                        "Reference to \"count\" in non-counted context",
                        "The \"count\" object can only be used in \"resource\" blocks, and only when the \"count\" argument is set.",
                        f,
                        at,
                    ));
                };
                match attr {
                    Some("index") => self.apply_ops(index.clone(), rest, f, s),
                    _ => Err(self.error(
                        "Invalid \"count\" attribute",
                        "The \"count\" object has only the attribute \"index\".",
                        f,
                        at,
                    )),
                }
            }
            "self" => {
                let Some(v) = &s.self_value else {
                    return Err(self.error(
                        "Invalid \"self\" reference",
                        "The \"self\" object is not available in this context. This object can be used only in postcondition blocks.",
                        f,
                        at,
                    ));
                };
                self.apply_ops(v.clone(), ops, f, s)
            }
            "path" => match attr {
                Some("module" | "root" | "cwd") => self.apply_ops(Value::string("."), rest, f, s),
                _ => Err(self.error(
                    "Invalid \"path\" attribute",
                    "The \"path\" object has the attributes \"module\", \"root\" and \"cwd\".",
                    f,
                    at,
                )),
            },
            "data" => {
                // data.TYPE.NAME.…: the value once the data source was read, else unknown.
                let (Some(kind), Some(Op::GetAttr(name))) = (attr, rest.first()) else {
                    return Ok(Value::Unknown);
                };
                match self.known.data_source(kind, name.as_str()) {
                    Some(v) => self.apply_ops(v, rest.get(1..).unwrap_or(&[]), f, s),
                    None => Ok(Value::Unknown),
                }
            }
            ty => {
                let Some(rname) = attr else {
                    return Err(self.error(
                        "Invalid reference",
                        format!("A reference to a resource type must be followed by at least one attribute access, specifying the resource name (\"{ty}\" alone is not a valid reference)."),
                        f,
                        at,
                    ));
                };
                let addr = ResourceAddr::new(ty, rname);
                if !self.config.resources.contains_key(&addr) {
                    return Err(self.undeclared_resource(&addr, f, at));
                }
                // A reference usually selects one instance or attribute: take just that part
                // from the memoized value rather than cloning all instances.
                self.ensure_resource(&addr, f, at.clone())?;
                let (v, rest) = match rest.split_first() {
                    Some((op, tail))
                        if matches!(op, Op::GetAttr(_) | Op::Index(_) | Op::LegacyIndex(_)) =>
                    {
                        let key = self.step_key(op, f, s)?;
                        let cache = self.resources.borrow();
                        let whole = cache.get(&addr).unwrap_or(&Value::Unknown);
                        (self.step(whole, op, key, f)?, tail)
                    }
                    _ => (self.resource_value(&addr, f, at)?, rest),
                };
                self.apply_ops(v, rest, f, s)
            }
        }
    }

    pub(crate) fn undeclared_resource(
        &self,
        addr: &ResourceAddr,
        f: &str,
        at: Option<Range<usize>>,
    ) -> Diagnostics {
        let names: Vec<String> = self
            .config
            .resources
            .keys()
            .map(|a| a.to_string())
            .collect();
        let hint = did_you_mean(&addr.to_string(), names.iter().map(String::as_str));
        self.error(
            "Reference to undeclared resource",
            format!(
                "A managed resource \"{}\" \"{}\" has not been declared in the root module.{hint}",
                addr.resource_type, addr.name
            ),
            f,
            at,
        )
    }

    /// The value of a local, evaluated on first use.
    pub(crate) fn local_value(&self, name: &str, f: &str, at: Option<Range<usize>>) -> EvalResult {
        if let Some(v) = self.locals.borrow().get(name) {
            return Ok(v.clone());
        }
        let Some(local) = self.config.locals.get(name) else {
            let hint = did_you_mean(name, self.config.locals.keys().map(String::as_str));
            return Err(self.error(
                "Reference to undeclared local value",
                format!("A local value with the name \"{name}\" has not been declared.{hint}"),
                f,
                at,
            ));
        };
        let node = format!("local.{name}");
        if let Some(cycle) = self.cycle_through(&node) {
            return Err(self.error(
                "Cycle in local values",
                format!("The local value \"{name}\" depends on itself: {cycle}."),
                &local.value.file,
                Some(local.value.range.clone()),
            ));
        }
        self.stack.borrow_mut().push(node);
        let result = self.eval(&local.value, &Scope::default());
        self.stack.borrow_mut().pop();
        let v = match result {
            Ok(v) => v,
            Err(d) => {
                self.diags.borrow_mut().extend(d);
                Value::Unknown
            }
        };
        self.locals.borrow_mut().insert(name.to_string(), v.clone());
        Ok(v)
    }

    /// If `node` is being evaluated, the cycle as `a → b → a`.
    pub(crate) fn cycle_through(&self, node: &str) -> Option<String> {
        let stack = self.stack.borrow();
        let pos = stack.iter().position(|n| n == node)?;
        let mut parts: Vec<&str> = stack[pos..].iter().map(String::as_str).collect();
        parts.push(node);
        Some(parts.join(" → "))
    }

    /// Applies traversal operators to a value.
    pub(crate) fn apply_ops(&self, mut v: Value, ops: &[&Op], f: &str, s: &Scope) -> EvalResult {
        let mut i = 0;
        while i < ops.len() {
            match ops[i] {
                Op::GetAttr(_) | Op::Index(_) | Op::LegacyIndex(_) => {
                    let key = self.step_key(ops[i], f, s)?;
                    v = self.step(&v, ops[i], key, f)?;
                }
                Op::AttrSplat(_) | Op::FullSplat(_) => {
                    let full = matches!(ops[i], Op::FullSplat(_));
                    let end = if full {
                        ops.len()
                    } else {
                        ops[i + 1..]
                            .iter()
                            .position(|o| !matches!(o, Op::GetAttr(_)))
                            .map_or(ops.len(), |p| i + 1 + p)
                    };
                    let per_elem = &ops[i + 1..end];
                    let (inner, marked) = v.unmark();
                    let items = match inner {
                        Value::Unknown => return Ok(Value::Unknown.mark_if(marked)),
                        Value::Null => Vec::new(),
                        Value::List(items) | Value::Set(items) => items,
                        other => vec![other],
                    };
                    let mut out = Vec::with_capacity(items.len());
                    for item in items {
                        out.push(self.apply_ops(item, per_elem, f, s)?);
                    }
                    v = Value::List(out).mark_if(marked);
                    i = end;
                    continue;
                }
            }
            i += 1;
        }
        Ok(v)
    }

    /// The key an indexing operator selects with, evaluated; `Null` for an attribute access.
    fn step_key(&self, op: &Op, f: &str, s: &Scope) -> EvalResult {
        match op {
            Op::Index(e) => self.expr(e, f, s),
            Op::LegacyIndex(n) => Ok(Value::Number(*n.value() as f64)),
            _ => Ok(Value::Null),
        }
    }

    /// Applies one attribute access or index to a borrowed value, cloning only the part
    /// it selects. `key` comes from [`Self::step_key`].
    fn step(&self, v: &Value, op: &Op, key: Value, f: &str) -> EvalResult {
        match op {
            Op::GetAttr(name) => self.get_attr(v, name.as_str(), f, name.span()),
            Op::Index(e) => self.index(v, key, f, e.span()),
            Op::LegacyIndex(n) => self.index(v, key, f, n.span()),
            Op::AttrSplat(_) | Op::FullSplat(_) => Ok(v.clone()),
        }
    }

    fn get_attr(&self, v: &Value, name: &str, f: &str, at: Option<Range<usize>>) -> EvalResult {
        let (inner, marked) = v.unmarked();
        match inner {
            Value::Unknown => Ok(Value::Unknown.mark_if(marked)),
            Value::Map(m) => match m.get(name) {
                Some(x) => Ok(x.clone().mark_if(marked)),
                None => {
                    let hint = did_you_mean(name, m.keys().map(String::as_str));
                    Err(self.error(
                        "Unsupported attribute",
                        format!("This object does not have an attribute named \"{name}\".{hint}"),
                        f,
                        at,
                    ))
                }
            },
            Value::Null => Err(self.error(
                "Attempt to get attribute from null value",
                "This value is null, so it does not have any attributes.",
                f,
                at,
            )),
            other => Err(self.error(
                "Unsupported attribute",
                format!(
                    "Can't access attributes on a value of type {}.",
                    other.type_name()
                ),
                f,
                at,
            )),
        }
    }

    fn index(&self, v: &Value, key: Value, f: &str, at: Option<Range<usize>>) -> EvalResult {
        let (inner, marked) = v.unmarked();
        let (key, key_marked) = key.unmark();
        let marked = marked || key_marked;
        let invalid = |detail: String| self.error("Invalid index", detail, f, at.clone());
        match (inner, key) {
            (Value::Unknown, _) | (_, Value::Unknown) => Ok(Value::Unknown.mark_if(marked)),
            (Value::Null, _) => Err(invalid("Can't use a null value as an indexed collection.".into())),
            (_, Value::Null) => Err(invalid("Can't use a null value as a key.".into())),
            (Value::List(items), key) => {
                let n = match key {
                    Value::Number(n) => n,
                    Value::String(st) => st.parse::<f64>().map_err(|_| {
                        invalid("The given key does not identify an element in this collection value: a number is required.".into())
                    })?,
                    _ => return Err(invalid("The given key does not identify an element in this collection value: a number is required.".into())),
                };
                if n.fract() != 0.0 || n < 0.0 || n as usize >= items.len() {
                    return Err(invalid(format!(
                        "The given key does not identify an element in this collection value: the collection has {} element(s) and the index {} is out of range.",
                        items.len(),
                        format_number(n)
                    )));
                }
                Ok(items[n as usize].clone().mark_if(marked))
            }
            (Value::Map(m), key) => {
                let k = match key {
                    Value::String(st) => st,
                    Value::Number(n) => format_number(n),
                    Value::Bool(b) => b.to_string(),
                    _ => return Err(invalid("A map key must be a string.".into())),
                };
                match m.get(&k) {
                    Some(x) => Ok(x.clone().mark_if(marked)),
                    None => Err(invalid(format!("The given key does not identify an element in this collection value: there is no element with key \"{k}\"."))),
                }
            }
            (Value::Set(_), _) => Err(invalid(
                "Elements of a set are identified only by their value and don't have any separate index or key to select with, so it's only possible to perform operations across all elements of the set.".into(),
            )),
            (other, _) => Err(invalid(format!("This value does not have any indices: a value of type {} cannot be indexed.", other.type_name()))),
        }
    }
}
