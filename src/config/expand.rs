//! Expansion of resources into instances (`count`, `for_each`) and the evaluation API the
//! planner calls: [`Evaluator::instances`], [`Evaluator::outputs`] and
//! [`Evaluator::check_postconditions`].
//!
//! A resource's value, as other expressions see it, is its evaluated arguments plus the
//! computed attributes (`id`, `state`, `errors`, `output`) from the [`AttrLookup`], or
//! unknown when nothing is known yet.
//!
//! [`AttrLookup`]: super::eval::AttrLookup

use super::eval::{Evaluator, Mode, Scope};
use super::model::{Condition, DeclRange, DriverShare, Expr, Lifecycle, Resource, Timeouts};
use super::refs::resource_dependencies;
use super::schema::{BLOB_SHARE_ARG, COMPUTED_ATTRS, FILE_SHARE_ARGS, ResourceKind};
use super::types::convert;
use crate::addr::{InstanceKey, ResourceAddr};
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::value::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

/// One instance of a resource, evaluated.
#[derive(Debug, Clone)]
pub struct ResourceInstance {
    /// `type.name`, `type.name[0]` or `type.name["key"]`.
    pub addr: ResourceAddr,
    pub kind: ResourceKind,
    /// Every schema argument (null when unset); for uploads also `driver_share` as an
    /// object with `path`, `user_name`, `password`, `sas_uri`. May hold unknown and
    /// sensitive values.
    pub args: Value,
    /// Resources this one depends on (whole-resource addresses): explicit `depends_on`
    /// plus every resource its expressions reference, directly or through locals.
    pub depends_on: BTreeSet<ResourceAddr>,
    pub lifecycle: Lifecycle,
    pub timeouts: Timeouts,
    /// Evaluated later, with `self`, by [`Evaluator::check_postconditions`].
    pub postconditions: Vec<Condition>,
    pub decl: DeclRange,
    pub span: Option<Span>,
    /// `each` / `count` bindings of this instance.
    pub scope: Scope,
}

impl ResourceInstance {
    /// `delete_running`, defaulting to false.
    pub fn delete_running(&self) -> bool {
        self.args
            .get_attr("delete_running")
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }
}

/// An evaluated output.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputValue {
    pub value: Value,
    pub sensitive: bool,
}

enum Expansion {
    Single,
    Count(Vec<(Option<InstanceKey>, Scope)>),
    ForEach(Vec<(Option<InstanceKey>, Scope)>),
    /// `count`/`for_each` not known yet (validate only): one template instance.
    Unknown(Scope),
}

impl Evaluator<'_> {
    /// Every resource instance of the configuration, in address order, with the
    /// diagnostics found on the way.
    pub fn instances(&self) -> (Vec<ResourceInstance>, Diagnostics) {
        let mut all = Vec::new();
        for addr in self.config.resources.keys() {
            all.extend(self.instances_of(addr));
        }
        (all, self.take_diagnostics())
    }

    /// The instances of one resource (memoized).
    pub fn instances_of(&self, addr: &ResourceAddr) -> Vec<ResourceInstance> {
        if self.instances.borrow().get(addr).is_none() {
            let decl = self.config.resources.get(addr).map(|r| r.decl.clone());
            if let Err(d) =
                self.ensure_resource(addr, decl.as_ref().map_or("", |d| d.file.as_str()), None)
            {
                self.diags.borrow_mut().extend(d);
            }
        }
        self.instances
            .borrow()
            .get(addr)
            .cloned()
            .unwrap_or_default()
    }

    /// The value of `type.name` as expressions see it.
    pub(crate) fn resource_value(
        &self,
        addr: &ResourceAddr,
        f: &str,
        at: Option<Range<usize>>,
    ) -> Result<Value, Diagnostics> {
        self.ensure_resource(addr, f, at)?;
        Ok(self
            .resources
            .borrow()
            .get(addr)
            .cloned()
            .unwrap_or(Value::Unknown))
    }

    /// Evaluates `type.name` and its instances once; later calls find them memoized.
    pub(crate) fn ensure_resource(
        &self,
        addr: &ResourceAddr,
        f: &str,
        at: Option<Range<usize>>,
    ) -> Result<(), Diagnostics> {
        if self.resources.borrow().contains_key(addr) {
            return Ok(());
        }
        let Some(r) = self.config.resources.get(addr) else {
            return Err(self.undeclared_resource(addr, f, at));
        };
        let node = addr.to_string();
        if let Some(cycle) = self.cycle_through(&node) {
            return Err(self.error(
                "Cycle in resource references",
                format!("The resource {node} refers to itself: {cycle}."),
                f,
                at,
            ));
        }
        self.stack.borrow_mut().push(node);
        let (value, instances) = self.build(r);
        self.stack.borrow_mut().pop();
        self.resources.borrow_mut().insert(addr.clone(), value);
        self.instances.borrow_mut().insert(addr.clone(), instances);
        Ok(())
    }

    fn record(&self, d: Diagnostics, addr: &ResourceAddr) {
        let mut all = self.diags.borrow_mut();
        for x in d {
            all.push(if x.address.is_none() {
                x.with_address(addr.to_string())
            } else {
                x
            });
        }
    }

    fn build(&self, r: &Resource) -> (Value, Vec<ResourceInstance>) {
        let expansion = match self.expand(r) {
            Ok(e) => e,
            Err(d) => {
                self.record(d, &r.addr);
                return (Value::Unknown, Vec::new());
            }
        };
        let deps = resource_dependencies(self.config, r);
        let make = |key: Option<InstanceKey>, scope: Scope| -> (ResourceInstance, Value) {
            let addr = r.addr.instance(key);
            let args = self.eval_args(r, &scope, &addr);
            let mut obj = args.as_map().cloned().unwrap_or_default();
            let computed = self.known.computed(&addr);
            for name in COMPUTED_ATTRS {
                let v = computed
                    .as_ref()
                    .and_then(|c| c.get_attr(name))
                    .unwrap_or(Value::Unknown);
                obj.insert(name.to_string(), v);
            }
            let inst = ResourceInstance {
                addr,
                kind: r.kind,
                args,
                depends_on: deps.clone(),
                lifecycle: r.lifecycle.clone(),
                timeouts: r.timeouts,
                postconditions: r.postconditions.clone(),
                decl: r.decl.clone(),
                span: self.config.decl_span(&r.decl),
                scope,
            };
            (inst, Value::Map(obj))
        };
        match expansion {
            Expansion::Single => {
                let (i, v) = make(None, Scope::default());
                (v, vec![i])
            }
            Expansion::Unknown(scope) => {
                let (i, _) = make(None, scope);
                (Value::Unknown, vec![i])
            }
            Expansion::Count(keys) => {
                let (insts, vals): (Vec<_>, Vec<_>) =
                    keys.into_iter().map(|(k, s)| make(k, s)).unzip();
                (Value::List(vals), insts)
            }
            Expansion::ForEach(keys) => {
                let mut map = BTreeMap::new();
                let mut insts = Vec::new();
                for (k, s) in keys {
                    let name = match &k {
                        Some(InstanceKey::Str(s)) => s.clone(),
                        _ => String::new(),
                    };
                    let (i, v) = make(k, s);
                    map.insert(name, v);
                    insts.push(i);
                }
                (Value::Map(map), insts)
            }
        }
    }

    fn expand(&self, r: &Resource) -> Result<Expansion, Diagnostics> {
        if let Some(c) = &r.count {
            return self.expand_count(c);
        }
        if let Some(fe) = &r.for_each {
            return self.expand_for_each(fe);
        }
        Ok(Expansion::Single)
    }

    fn expand_count(&self, c: &Expr) -> Result<Expansion, Diagnostics> {
        let v = self.eval(c, &Scope::default())?;
        let invalid = |detail: &str| {
            self.error(
                "Invalid count argument",
                detail.to_string(),
                &c.file,
                Some(c.expr_range()),
            )
        };
        let (v, marked) = v.unmark();
        if marked {
            return Err(invalid(
                "Sensitive values, or values derived from sensitive values, cannot be used as count arguments.",
            ));
        }
        let n = match v {
            Value::Unknown if self.mode == Mode::Validate => {
                return Ok(Expansion::Unknown(Scope {
                    count: Some(Value::Unknown),
                    ..Scope::default()
                }));
            }
            Value::Unknown => {
                return Err(invalid(
                    "The \"count\" value depends on resource attributes that cannot be determined until apply, so dmsform cannot predict how many instances will be created. To work around this, use -target to first apply only the resources that the count value depends on.",
                ));
            }
            Value::Null => {
                return Err(invalid(
                    "The given \"count\" argument value is null. An integer is required.",
                ));
            }
            other => match convert(&other, &super::types::Type::Number) {
                Ok(Value::Number(n)) => n,
                _ => {
                    return Err(invalid(&format!(
                        "The given \"count\" argument value is unsuitable: number required, not {}.",
                        other.type_name()
                    )));
                }
            },
        };
        if n < 0.0 || n.fract() != 0.0 {
            return Err(invalid(
                "The given \"count\" argument value is unsuitable: must be a whole number greater than or equal to zero.",
            ));
        }
        if n > 10_000.0 {
            return Err(invalid(
                "The given \"count\" argument value is too large: at most 10000 instances are allowed.",
            ));
        }
        Ok(Expansion::Count(
            (0..n as i64)
                .map(|i| {
                    let scope = Scope {
                        count: Some(Value::Number(i as f64)),
                        ..Scope::default()
                    };
                    (Some(InstanceKey::Int(i)), scope)
                })
                .collect(),
        ))
    }

    fn expand_for_each(&self, fe: &Expr) -> Result<Expansion, Diagnostics> {
        let v = self.eval(fe, &Scope::default())?;
        let invalid = |detail: String| {
            self.error(
                "Invalid for_each argument",
                detail,
                &fe.file,
                Some(fe.expr_range()),
            )
        };
        if v.contains_sensitive() {
            return Err(invalid("Sensitive values, or values derived from sensitive values, cannot be used as for_each arguments. If used, the sensitive value could be exposed as a resource instance key.".into()));
        }
        let unknown = || -> Result<Expansion, Diagnostics> {
            if self.mode == Mode::Validate {
                return Ok(Expansion::Unknown(Scope {
                    each: Some((Value::Unknown, Value::Unknown)),
                    ..Scope::default()
                }));
            }
            Err(invalid("The \"for_each\" value depends on resource attributes that cannot be determined until apply, so dmsform cannot predict how many instances will be created. To work around this, use -target to first apply only the resources that the for_each value depends on.".into()))
        };
        let each = |k: String, v: Value| {
            let scope = Scope {
                each: Some((Value::string(k.as_str()), v)),
                ..Scope::default()
            };
            (Some(InstanceKey::Str(k)), scope)
        };
        match v {
            Value::Unknown => unknown(),
            Value::Null => Err(invalid("The given \"for_each\" argument value is null. A map, or set of strings, is allowed.".into())),
            Value::Map(m) => Ok(Expansion::ForEach(m.into_iter().map(|(k, v)| each(k, v)).collect())),
            Value::Set(items) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        Value::String(s) => out.push(each(s.clone(), Value::String(s))),
                        Value::Unknown => return unknown(),
                        Value::Null => return Err(invalid("The given \"for_each\" argument value is unsuitable: \"for_each\" sets must not contain null values.".into())),
                        other => {
                            return Err(invalid(format!(
                                "The given \"for_each\" argument value is unsuitable: \"for_each\" supports maps and sets of strings, but you have provided a set containing type {}.",
                                other.type_name()
                            )));
                        }
                    }
                }
                Ok(Expansion::ForEach(out))
            }
            other => Err(invalid(format!(
                "The given \"for_each\" argument value is unsuitable: the \"for_each\" argument must be a map, or set of strings, and you have provided a value of type {}.{}",
                other.type_name(),
                if matches!(other, Value::List(_)) { " Convert a list of strings with toset(…)." } else { "" }
            ))),
        }
    }

    fn eval_args(&self, r: &Resource, scope: &Scope, addr: &ResourceAddr) -> Value {
        let mut obj = BTreeMap::new();
        let mut diags = Diagnostics::new();
        for schema in r.kind.arguments() {
            let v = match r.args.get(schema.name) {
                Some(e) => self.eval_arg(
                    e,
                    schema.name,
                    &schema.ty.to_type(),
                    schema.required,
                    scope,
                    &mut diags,
                ),
                None => Value::Null,
            };
            obj.insert(schema.name.to_string(), v.mark_if(schema.sensitive));
        }
        if r.kind == ResourceKind::DriverUpload {
            let mut share = BTreeMap::new();
            for s in FILE_SHARE_ARGS.iter().chain([&BLOB_SHARE_ARG]) {
                share.insert(s.name.to_string(), Value::Null);
            }
            match &r.driver_share {
                Some(DriverShare::File { args, .. }) => {
                    for s in FILE_SHARE_ARGS {
                        if let Some(e) = args.get(s.name) {
                            let v = self.eval_arg(
                                e,
                                s.name,
                                &s.ty.to_type(),
                                s.required,
                                scope,
                                &mut diags,
                            );
                            share.insert(s.name.to_string(), v.mark_if(s.sensitive));
                        }
                    }
                }
                Some(DriverShare::Blob { sas_uri, .. }) => {
                    let v = self.eval_arg(
                        sas_uri,
                        "sas_uri",
                        &BLOB_SHARE_ARG.ty.to_type(),
                        true,
                        scope,
                        &mut diags,
                    );
                    share.insert("sas_uri".into(), v.mark_sensitive());
                }
                None => {}
            }
            obj.insert("driver_share".into(), Value::Map(share));
        }
        self.record(diags, addr);
        Value::Map(obj)
    }

    fn eval_arg(
        &self,
        e: &Expr,
        name: &str,
        ty: &super::types::Type,
        required: bool,
        scope: &Scope,
        diags: &mut Diagnostics,
    ) -> Value {
        let v = match self.eval(e, scope) {
            Ok(v) => v,
            Err(d) => {
                diags.extend(d);
                return Value::Unknown;
            }
        };
        if required && v.is_null() {
            diags.push(
                Diagnostic::error(
                    "Null value for required argument",
                    format!("The argument \"{name}\" is required, so it cannot be null."),
                )
                .with_span(self.config.span_of(e)),
            );
            return Value::Unknown;
        }
        match convert(&v, ty) {
            Ok(v) => v,
            Err(msg) => {
                diags.push(
                    Diagnostic::error(
                        "Incorrect attribute value type",
                        format!("Inappropriate value for attribute \"{name}\": {msg}."),
                    )
                    .with_span(self.config.span_of(e)),
                );
                Value::Unknown
            }
        }
    }

    /// Evaluates every output. Outputs holding sensitive values must be declared
    /// `sensitive = true`, as in Terraform.
    pub fn outputs(&self) -> (BTreeMap<String, OutputValue>, Diagnostics) {
        let mut out = BTreeMap::new();
        let mut diags = Diagnostics::new();
        for (name, o) in &self.config.outputs {
            let value = match self.eval(&o.value, &Scope::default()) {
                Ok(v) => v,
                Err(d) => {
                    diags.extend(d);
                    continue;
                }
            };
            if value.contains_sensitive() && !o.sensitive {
                diags.push(
                    Diagnostic::error(
                        "Output refers to sensitive values",
                        "To reduce the risk of accidentally exporting sensitive data that was intended to be only internal, dmsform requires that any output containing sensitive data be explicitly marked as sensitive, to confirm your intent.\n\nIf you do intend to export this data, annotate the output value as sensitive by adding the following argument:\n    sensitive = true",
                    )
                    .with_span(self.config.span_of(&o.value)),
                );
            }
            let value = value.mark_if(o.sensitive);
            out.insert(
                name.clone(),
                OutputValue {
                    value,
                    sensitive: o.sensitive,
                },
            );
        }
        diags.extend(self.take_diagnostics());
        (out, diags)
    }

    /// Evaluates the postconditions of an instance against `self_value` (its attributes
    /// after apply). A false condition is an error carrying the evaluated message; an
    /// unknown one is skipped.
    pub fn check_postconditions(&self, inst: &ResourceInstance, self_value: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let scope = Scope {
            self_value: Some(self_value.clone()),
            ..inst.scope.clone()
        };
        for pc in &inst.postconditions {
            if let Some(d) = self.check_condition(pc, &scope, "Resource postcondition failed") {
                diags.extend(d);
            }
        }
        for d in self.take_diagnostics() {
            diags.push(d);
        }
        let addr = inst.addr.to_string();
        diags
            .into_iter()
            .map(|d| d.with_address(addr.clone()))
            .fold(Diagnostics::new(), |mut acc, d| {
                acc.push(d);
                acc
            })
    }

    /// Evaluates one condition; `Some` with diagnostics when it fails or is invalid.
    pub(crate) fn check_condition(
        &self,
        c: &Condition,
        scope: &Scope,
        failed: &str,
    ) -> Option<Diagnostics> {
        let v = match self.eval(&c.condition, scope) {
            Ok(v) => v,
            Err(d) => return Some(d),
        };
        let (v, _) = v.unmark_deep();
        match v {
            Value::Unknown => None,
            Value::Bool(true) => None,
            Value::Bool(false) => {
                let msg = match self.eval(&c.error_message, scope) {
                    Ok(m) => match m.unmark_deep().0 {
                        Value::String(s) => s,
                        _ => "The condition is false.".into(),
                    },
                    Err(d) => return Some(d),
                };
                let span = self.config.span_of(&c.condition);
                let detail = match &span {
                    Some(s) => format!(
                        "{msg}\n\nThis was checked by the condition at {}.",
                        s.short()
                    ),
                    None => msg,
                };
                Some(Diagnostic::error(failed, detail).with_span(span).into())
            }
            other => Some(
                Diagnostic::error(
                    "Invalid condition result",
                    format!(
                        "The condition expression must produce a bool, not {}.",
                        other.type_name()
                    ),
                )
                .with_span(self.config.span_of(&c.condition))
                .into(),
            ),
        }
    }
}
