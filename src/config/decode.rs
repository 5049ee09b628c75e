//! Decoding parsed files into the [`Config`] model: top-level blocks, labels, allowed
//! arguments and nested blocks, duplicates (naming both places), constant settings.
//! Resource blocks are decoded in [`super::decode_resource`].
//!
//! Everything wrong becomes a located diagnostic; decoding goes on to find the next one.

use super::duration::parse_duration;
use super::eval::eval_constant;
use super::model::{Condition, Config, DeclRange, Expr, Local, OpaqueBlock, Output, Variable};
use super::types::{Type, convert, parse_type};
use crate::addr::ResourceAddr;
use crate::diag::{Diagnostic, Diagnostics, Span, did_you_mean};
use crate::value::Value;
use hcl::edit::Span as _;
use hcl::edit::structure::{Attribute, Block, BlockLabel, Body, Structure};
use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

/// The provider block as written; evaluated once variables are known.
#[derive(Debug, Clone, Default)]
pub struct ProviderBlock {
    pub decl: Option<DeclRange>,
    pub attrs: BTreeMap<String, Expr>,
    pub emulator: Option<BTreeMap<String, Expr>>,
}

/// Decoding state: the configuration being built and the diagnostics found.
pub struct Decoder<'c> {
    pub cfg: &'c mut Config,
    pub diags: Diagnostics,
    pub provider: ProviderBlock,
    pub(crate) backend_decl: Option<DeclRange>,
}

pub(crate) const TOP_BLOCKS: [&str; 8] = [
    "dmsform", "provider", "variable", "locals", "resource", "output", "data", "check",
];

pub(crate) fn label_range(l: &BlockLabel) -> Option<Range<usize>> {
    match l {
        BlockLabel::Ident(i) => i.span(),
        BlockLabel::String(s) => s.span(),
    }
}

/// The range of `ident "label" "label"` at the start of a block.
pub(crate) fn header_range(b: &Block) -> Range<usize> {
    let start = b.ident.span().map_or(0, |r| r.start);
    let end = b
        .labels
        .last()
        .and_then(label_range)
        .or_else(|| b.ident.span())
        .map_or(start, |r| r.end);
    start..end
}

/// `resource "T" "N"` — the way Terraform names a block in diagnostics.
pub(crate) fn header_text(b: &Block) -> String {
    let mut s = b.ident.as_str().to_string();
    for l in &b.labels {
        s.push_str(&format!(" {}", crate::value::quote(l.as_str())));
    }
    s
}

pub(crate) fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && c.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

impl<'c> Decoder<'c> {
    pub fn new(cfg: &'c mut Config) -> Decoder<'c> {
        Decoder {
            cfg,
            diags: Diagnostics::new(),
            provider: ProviderBlock::default(),
            backend_decl: None,
        }
    }

    pub(crate) fn span(&self, file: &str, r: Option<Range<usize>>) -> Option<Span> {
        r.and_then(|r| self.cfg.sources.span(file, r))
    }

    pub(crate) fn err(
        &mut self,
        summary: &str,
        detail: impl Into<String>,
        file: &str,
        r: Option<Range<usize>>,
    ) {
        let span = self.span(file, r);
        self.diags
            .push(Diagnostic::error(summary, detail).with_span(span));
    }

    pub(crate) fn decl(&self, file: &str, b: &Block) -> DeclRange {
        DeclRange {
            file: file.to_string(),
            range: header_range(b),
        }
    }

    pub(crate) fn expr(&self, file: &str, a: &Attribute) -> Expr {
        Expr {
            file: file.to_string(),
            expr: a.value.clone(),
            range: a.span().unwrap_or_else(|| a.value.span().unwrap_or(0..0)),
        }
    }

    pub(crate) fn where_(&self, d: &DeclRange) -> String {
        self.cfg
            .decl_span(d)
            .map_or_else(|| d.file.clone(), |s| s.short())
    }

    /// Splits a body into allowed attributes and blocks, reporting everything else.
    pub(crate) fn split<'b>(
        &mut self,
        file: &str,
        body: &'b Body,
        attrs: &[&str],
        blocks: &[&str],
    ) -> (BTreeMap<String, &'b Attribute>, Vec<&'b Block>) {
        let mut seen: BTreeMap<String, &'b Attribute> = BTreeMap::new();
        let mut out_blocks = Vec::new();
        for s in body.iter() {
            match s {
                Structure::Attribute(a) => {
                    let name = a.key.as_str();
                    if let Some(prev) = seen.get(name) {
                        let at = self
                            .span(file, prev.key.span())
                            .map_or_else(String::new, |s| s.short());
                        self.err(
                            "Attribute redefined",
                            format!("The argument \"{name}\" was already set at {at}. Each argument may be set only once."),
                            file,
                            a.key.span(),
                        );
                    } else if attrs.contains(&name) {
                        seen.insert(name.to_string(), a);
                    } else if blocks.contains(&name) {
                        self.err(
                            "Unsupported argument",
                            format!("An argument named \"{name}\" is not expected here. Did you mean to define a block of type \"{name}\"?"),
                            file,
                            a.key.span(),
                        );
                    } else {
                        let hint = did_you_mean(name, attrs.iter().copied());
                        self.err(
                            "Unsupported argument",
                            format!("An argument named \"{name}\" is not expected here.{hint}"),
                            file,
                            a.key.span(),
                        );
                    }
                }
                Structure::Block(b) => {
                    let name = b.ident.as_str();
                    if blocks.contains(&name) {
                        out_blocks.push(b);
                    } else if attrs.contains(&name) {
                        self.err(
                            "Unsupported block type",
                            format!("Blocks of type \"{name}\" are not expected here. Did you mean to define argument \"{name}\"? If so, use the equals sign to assign it a value."),
                            file,
                            b.ident.span(),
                        );
                    } else {
                        let hint = did_you_mean(name, blocks.iter().copied());
                        self.err(
                            "Unsupported block type",
                            format!("Blocks of type \"{name}\" are not expected here.{hint}"),
                            file,
                            b.ident.span(),
                        );
                    }
                }
            }
        }
        (seen, out_blocks)
    }

    /// Checks a block has exactly the labels named in `names`.
    pub(crate) fn labels_ok(&mut self, file: &str, b: &Block, names: &[&str]) -> bool {
        let kind = b.ident.as_str();
        let n = names.len();
        let what = if n == 0 {
            String::new()
        } else {
            format!(" ({})", names.join(", "))
        };
        if b.labels.len() < n {
            let summary = format!(
                "Missing {} for {kind}",
                names.get(b.labels.len()).copied().unwrap_or("name")
            );
            self.err(
                &summary,
                format!("All {kind} blocks must have {n} label(s){what}."),
                file,
                Some(header_range(b)),
            );
            return false;
        }
        if b.labels.len() > n {
            let summary = format!("Extraneous label for {kind}");
            let at = label_range(&b.labels[n]);
            self.err(
                &summary,
                if n == 0 {
                    format!("No labels are expected for {kind} blocks.")
                } else {
                    format!("Only {n} label(s){what} are expected for {kind} blocks.")
                },
                file,
                at,
            );
            return false;
        }
        for (l, what) in b.labels.iter().zip(names) {
            if *what == "name" && !is_name(l.as_str()) {
                self.err(
                    &format!("Invalid {kind} name"),
                    "A name must start with a letter or underscore and may contain only letters, digits, underscores, and dashes.",
                    file,
                    label_range(l),
                );
                return false;
            }
        }
        true
    }

    /// Reports a missing required argument at the block header.
    pub(crate) fn missing(&mut self, file: &str, b: &Block, name: &str) {
        self.err(
            "Missing required argument",
            format!("The argument \"{name}\" is required, but no definition was found."),
            file,
            Some(header_range(b)),
        );
    }

    /// A constant (reference-free) value of an attribute.
    pub(crate) fn constant(&mut self, file: &str, a: &Attribute) -> Option<Value> {
        match eval_constant(&a.value) {
            Ok(v) => Some(v),
            Err(detail) => {
                let summary = if detail.starts_with("Variables may not") {
                    "Variables not allowed"
                } else {
                    "Invalid expression"
                };
                self.err(summary, detail, file, a.value.span());
                None
            }
        }
    }

    pub(crate) fn const_typed(&mut self, file: &str, a: &Attribute, ty: &Type) -> Option<Value> {
        let v = self.constant(file, a)?;
        match convert(&v, ty) {
            Ok(v) => Some(v),
            Err(msg) => {
                self.err(
                    "Incorrect attribute value type",
                    format!(
                        "Inappropriate value for attribute \"{}\": {msg}.",
                        a.key.as_str()
                    ),
                    file,
                    a.value.span(),
                );
                None
            }
        }
    }

    pub(crate) fn const_string(&mut self, file: &str, a: &Attribute) -> Option<String> {
        self.const_typed(file, a, &Type::String)?
            .as_str()
            .map(str::to_string)
    }

    pub(crate) fn const_bool(&mut self, file: &str, a: &Attribute) -> Option<bool> {
        self.const_typed(file, a, &Type::Bool)?.as_bool()
    }

    pub(crate) fn const_duration(&mut self, file: &str, a: &Attribute) -> Option<Duration> {
        let s = self.const_string(file, a)?;
        match parse_duration(&s) {
            Ok(d) => Some(d),
            Err(msg) => {
                self.err("Invalid duration", format!("{msg}."), file, a.value.span());
                None
            }
        }
    }

    /// A `condition` / `error_message` block.
    pub(crate) fn condition(&mut self, file: &str, b: &Block) -> Option<Condition> {
        self.labels_ok(file, b, &[]);
        let (attrs, _) = self.split(file, &b.body, &["condition", "error_message"], &[]);
        let mut missing = false;
        for name in ["condition", "error_message"] {
            if !attrs.contains_key(name) {
                self.missing(file, b, name);
                missing = true;
            }
        }
        if missing {
            return None;
        }
        Some(Condition {
            condition: self.expr(file, attrs["condition"]),
            error_message: self.expr(file, attrs["error_message"]),
        })
    }

    /// Decodes one file's top-level body.
    pub fn file(&mut self, file: &str, body: &Body) {
        for s in body.iter() {
            match s {
                Structure::Attribute(a) => self.err(
                    "Unsupported argument",
                    format!(
                        "An argument named \"{}\" is not expected here.",
                        a.key.as_str()
                    ),
                    file,
                    a.key.span(),
                ),
                Structure::Block(b) => {
                    if let Some(r) = b.span() {
                        self.cfg.sources.add_context(file, r, header_text(b));
                    }
                    self.top_block(file, b);
                }
            }
        }
    }

    fn top_block(&mut self, file: &str, b: &Block) {
        match b.ident.as_str() {
            "dmsform" => self.settings(file, b),
            "provider" => self.provider_block(file, b),
            "variable" => self.variable(file, b),
            "locals" => self.locals(file, b),
            "resource" => self.resource(file, b),
            "output" => self.output(file, b),
            "data" => self.opaque(file, b, &["type", "name"], true),
            "check" => self.opaque(file, b, &["name"], false),
            "terraform" => self.err(
                "Unsupported block type",
                "Blocks of type \"terraform\" are not expected here. Settings of dmsform go in a \"dmsform\" block.",
                file,
                b.ident.span(),
            ),
            other => {
                let hint = did_you_mean(other, TOP_BLOCKS);
                self.err(
                    "Unsupported block type",
                    format!("Blocks of type \"{other}\" are not expected here.{hint}"),
                    file,
                    b.ident.span(),
                );
            }
        }
    }

    fn opaque(&mut self, file: &str, b: &Block, labels: &[&str], data: bool) {
        if !self.labels_ok(file, b, labels) {
            return;
        }
        let block = OpaqueBlock {
            labels: b.labels.iter().map(|l| l.as_str().to_string()).collect(),
            decl: self.decl(file, b),
            body: b.body.clone(),
        };
        let list = if data {
            &self.cfg.data
        } else {
            &self.cfg.checks
        };
        if let Some(prev) = list.iter().find(|x| x.labels == block.labels) {
            let at = self.where_(&prev.decl);
            let what = header_text(b);
            self.err(
                "Duplicate block",
                format!("A {what} block was already declared at {at}. Names must be unique."),
                file,
                Some(header_range(b)),
            );
            return;
        }
        if data {
            self.cfg.data.push(block)
        } else {
            self.cfg.checks.push(block)
        }
    }

    fn variable(&mut self, file: &str, b: &Block) {
        if !self.labels_ok(file, b, &["name"]) {
            return;
        }
        let name = b.labels[0].as_str().to_string();
        let decl = self.decl(file, b);
        if let Some(prev) = self.cfg.variables.get(&name) {
            let at = self.where_(&prev.decl);
            self.err(
                "Duplicate variable declaration",
                format!("A variable named \"{name}\" was already declared at {at}. Variable names must be unique within a module."),
                file,
                Some(decl.range.clone()),
            );
            return;
        }
        let (attrs, blocks) = self.split(
            file,
            &b.body,
            &["type", "default", "description", "sensitive", "nullable"],
            &["validation"],
        );
        let ty = match attrs.get("type") {
            Some(a) => match parse_type(&a.value) {
                Ok(t) => t,
                Err(e) => {
                    self.err(
                        "Invalid type specification",
                        e.detail,
                        file,
                        e.range.or(a.value.span()),
                    );
                    Type::Any
                }
            },
            None => Type::Any,
        };
        let mut default = None;
        if let Some(a) = attrs.get("default")
            && let Some(v) = self.constant(file, a)
        {
            match convert(&v, &ty) {
                Ok(v) => default = Some(v),
                Err(msg) => self.err(
                    "Invalid default value for variable",
                    format!("This default value is not compatible with the variable's type constraint: {msg}."),
                    file,
                    a.value.span(),
                ),
            }
        }
        let description = attrs
            .get("description")
            .and_then(|a| self.const_string(file, a));
        let sensitive = attrs
            .get("sensitive")
            .and_then(|a| self.const_bool(file, a))
            .unwrap_or(false);
        let nullable = attrs
            .get("nullable")
            .and_then(|a| self.const_bool(file, a))
            .unwrap_or(true);
        let validations = blocks
            .iter()
            .filter_map(|vb| self.condition(file, vb))
            .collect();
        self.cfg.variables.insert(
            name.clone(),
            Variable {
                name,
                decl,
                ty,
                default,
                description,
                sensitive,
                nullable,
                validations,
            },
        );
    }

    fn locals(&mut self, file: &str, b: &Block) {
        self.labels_ok(file, b, &[]);
        for s in b.body.iter() {
            match s {
                Structure::Block(inner) => self.err(
                    "Unsupported block type",
                    format!("Blocks of type \"{}\" are not expected here: a locals block holds only name = value pairs.", inner.ident.as_str()),
                    file,
                    inner.ident.span(),
                ),
                Structure::Attribute(a) => {
                    let name = a.key.as_str().to_string();
                    if let Some(prev) = self.cfg.locals.get(&name) {
                        let at = self
                            .cfg
                            .sources
                            .span(&prev.value.file, prev.value.range.clone())
                            .map_or_else(String::new, |s| s.short());
                        self.err(
                            "Duplicate local value definition",
                            format!("A local value named \"{name}\" was already defined at {at}. Local value names must be unique within a module."),
                            file,
                            a.key.span(),
                        );
                        continue;
                    }
                    let value = self.expr(file, a);
                    self.cfg.locals.insert(name.clone(), Local { name, value });
                }
            }
        }
    }

    fn output(&mut self, file: &str, b: &Block) {
        if !self.labels_ok(file, b, &["name"]) {
            return;
        }
        let name = b.labels[0].as_str().to_string();
        let decl = self.decl(file, b);
        if let Some(prev) = self.cfg.outputs.get(&name) {
            let at = self.where_(&prev.decl);
            self.err(
                "Duplicate output definition",
                format!("An output named \"{name}\" was already defined at {at}. Output names must be unique within a module."),
                file,
                Some(decl.range.clone()),
            );
            return;
        }
        let (attrs, _) = self.split(
            file,
            &b.body,
            &["value", "description", "sensitive", "depends_on"],
            &[],
        );
        let Some(value) = attrs.get("value") else {
            self.missing(file, b, "value");
            return;
        };
        let value = self.expr(file, value);
        let description = attrs
            .get("description")
            .and_then(|a| self.const_string(file, a));
        let sensitive = attrs
            .get("sensitive")
            .and_then(|a| self.const_bool(file, a))
            .unwrap_or(false);
        let depends_on = attrs
            .get("depends_on")
            .map(|a| self.depends_on(file, a))
            .unwrap_or_default();
        self.cfg.outputs.insert(
            name.clone(),
            Output {
                name,
                decl,
                value,
                description,
                sensitive,
                depends_on,
            },
        );
    }

    /// `depends_on = [type.name, …]`: whole resources only.
    pub(crate) fn depends_on(&mut self, file: &str, a: &Attribute) -> Vec<(ResourceAddr, Expr)> {
        let Some(items) = a.value.as_array() else {
            self.err(
                "Invalid depends_on",
                "The depends_on argument must be a list of references to resources.",
                file,
                a.value.span(),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match super::decode_resource::static_resource_ref(item) {
                Some(addr) => out.push((
                    addr,
                    Expr { file: file.to_string(), expr: item.clone(), range: item.span().unwrap_or(0..0) },
                )),
                None => self.err(
                    "Invalid depends_on reference",
                    "References in depends_on must be to a whole resource, such as dms_oci_driver_check.before, and must not include attribute access.",
                    file,
                    item.span(),
                ),
            }
        }
        out
    }
}
