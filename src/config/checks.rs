//! `data "dms_oci_driver_status"` sources and `check` blocks (design §8), decoded from the
//! blocks the loader keeps as written: their arguments as expressions, their assertions as
//! conditions, with source locations for diagnostics.

use super::model::{Condition, Config, DeclRange, Expr};
use crate::diag::{Diagnostic, Diagnostics, did_you_mean};
use hcl::edit::Span as _;
use hcl::edit::structure::{Attribute, Body};
use std::collections::BTreeMap;

/// The one data source type.
pub const STATUS_TYPE: &str = "dms_oci_driver_status";
const STATUS_ARGS: [&str; 3] = ["group_name", "service_name", "server_version"];
const STATUS_REQUIRED: [&str; 2] = ["group_name", "service_name"];

/// A `data "dms_oci_driver_status" "NAME"` block.
#[derive(Debug, Clone)]
pub struct DataBlock {
    pub kind: String,
    pub name: String,
    pub decl: DeclRange,
    pub args: BTreeMap<String, Expr>,
    /// The check block it is scoped to, if any.
    pub check: Option<String>,
}

impl DataBlock {
    /// `data.TYPE.NAME`.
    pub fn address(&self) -> String {
        format!("data.{}.{}", self.kind, self.name)
    }
}

/// A `check "NAME"` block.
#[derive(Debug, Clone)]
pub struct CheckBlock {
    pub name: String,
    pub decl: DeclRange,
    pub asserts: Vec<Condition>,
}

fn expr(file: &str, a: &Attribute) -> Expr {
    Expr {
        file: file.to_string(),
        expr: a.value.clone(),
        range: a.span().unwrap_or_else(|| a.value.span().unwrap_or(0..0)),
    }
}

fn decode_data(
    config: &Config,
    file: &str,
    labels: &[String],
    decl: &DeclRange,
    body: &Body,
    check: Option<&str>,
    diags: &mut Diagnostics,
) -> Option<DataBlock> {
    let (kind, name) = (labels.first()?.clone(), labels.get(1)?.clone());
    let span = config.decl_span(decl);
    if kind != STATUS_TYPE {
        diags.push(
            Diagnostic::error(
                "Invalid data source",
                format!(
                    "The provider dms has no data source named \"{kind}\".{}",
                    did_you_mean(&kind, [STATUS_TYPE])
                ),
            )
            .with_span(span),
        );
        return None;
    }
    let mut args = BTreeMap::new();
    for a in body.attributes() {
        let key = a.key.as_str();
        if !STATUS_ARGS.contains(&key) {
            diags.push(
                Diagnostic::error(
                    "Unsupported argument",
                    format!(
                        "An argument named \"{key}\" is not expected here.{}",
                        did_you_mean(key, STATUS_ARGS)
                    ),
                )
                .with_span(config.sources.span(file, a.span().unwrap_or(0..0))),
            );
            continue;
        }
        args.insert(key.to_string(), expr(file, a));
    }
    for req in STATUS_REQUIRED {
        if !args.contains_key(req) {
            diags.push(
                Diagnostic::error(
                    "Missing required argument",
                    format!("The argument \"{req}\" is required, but no definition was found."),
                )
                .with_span(span.clone()),
            );
        }
    }
    Some(DataBlock {
        kind,
        name,
        decl: decl.clone(),
        args,
        check: check.map(str::to_string),
    })
}

/// Every data source (top-level and scoped in checks) and every check block.
pub fn decode(config: &Config) -> (Vec<DataBlock>, Vec<CheckBlock>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let mut data = Vec::new();
    let mut checks = Vec::new();
    for b in &config.data {
        if let Some(d) = decode_data(
            config,
            &b.decl.file,
            &b.labels,
            &b.decl,
            &b.body,
            None,
            &mut diags,
        ) {
            data.push(d);
        }
    }
    for c in &config.checks {
        let file = c.decl.file.clone();
        let name = c.labels.first().cloned().unwrap_or_default();
        let mut asserts = Vec::new();
        for inner in c.body.blocks() {
            let range = inner.span().unwrap_or(0..0);
            let decl = DeclRange {
                file: file.clone(),
                range: range.clone(),
            };
            match inner.ident.as_str() {
                "data" => {
                    let labels: Vec<String> = inner.labels.iter().map(|l| l.as_str().to_string()).collect();
                    if let Some(d) = decode_data(config, &file, &labels, &decl, &inner.body, Some(&name), &mut diags) {
                        data.push(d);
                    }
                }
                "assert" => {
                    let get = |k: &str| inner.body.attributes().find(|a| a.key.as_str() == k).map(|a| expr(&file, a));
                    match (get("condition"), get("error_message")) {
                        (Some(condition), Some(error_message)) => asserts.push(Condition { condition, error_message }),
                        _ => diags.push(
                            Diagnostic::error("Invalid assert block", "An assert block needs both condition and error_message.")
                                .with_span(config.sources.span(&file, range)),
                        ),
                    }
                }
                other => diags.push(
                    Diagnostic::error("Unsupported block type", format!("Blocks of type \"{other}\" are not expected in a check block; use data and assert."))
                        .with_span(config.sources.span(&file, range)),
                ),
            }
        }
        if asserts.is_empty() {
            diags.push(
                Diagnostic::error(
                    "Missing assert block",
                    format!("The check \"{name}\" needs at least one assert block."),
                )
                .with_span(config.decl_span(&c.decl)),
            );
        }
        checks.push(CheckBlock {
            name,
            decl: c.decl.clone(),
            asserts,
        });
    }
    let mut seen: BTreeMap<String, &DataBlock> = BTreeMap::new();
    for d in &data {
        if let Some(prev) = seen.insert(d.address(), d) {
            diags.push(
                Diagnostic::error(
                    "Duplicate data source",
                    format!(
                        "A data source {} was already declared at {} — names must be unique.",
                        d.address(),
                        prev.decl.file
                    ),
                )
                .with_span(config.decl_span(&d.decl)),
            );
        }
    }
    (data, checks, diags)
}
