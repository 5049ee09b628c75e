//! Input variable values and their sources, with Terraform's precedence: environment
//! (`DMSFORM_VAR_<name>`), then the auto-loaded files (`dmsform.vars.hcl`, then
//! `*.auto.vars.hcl` in name order), then `-var` and `-var-file` in command-line order;
//! the last assignment wins. Defaults apply when nothing is assigned; a required variable
//! with no value is an error in plan mode and unknown in validate mode.
//!
//! Values from `-var` and the environment are raw strings for primitive types and HCL
//! expressions otherwise, as in Terraform.

use super::eval::{Evaluator, Mode, NoState, Scope, eval_constant};
use super::model::Config;
use super::parse::{auto_var_files, read_and_parse};
use super::types::convert;
use crate::diag::{Diagnostic, Diagnostics, Span, did_you_mean};
use crate::value::Value;
use hcl::edit::Span as _;
use hcl::edit::structure::Structure;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One `-var` or `-var-file` argument, kept in command-line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarArg {
    /// `-var 'name=value'`.
    Var(String),
    /// `-var-file FILE`.
    File(PathBuf),
}

/// What [`super::load`] needs besides the directory.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub mode: Mode,
    /// `-var` / `-var-file` in command-line order.
    pub vars: Vec<VarArg>,
    /// Environment variables (only `DMSFORM_VAR_*` are used); passed in to keep loading
    /// independent of the process environment.
    pub env: BTreeMap<String, String>,
}

impl LoadOptions {
    /// Options with `DMSFORM_VAR_*` taken from the process environment.
    pub fn with_process_env(mut self) -> LoadOptions {
        self.env = std::env::vars()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        self
    }
}

/// Prefix of environment variables that set input variables.
pub const ENV_PREFIX: &str = "DMSFORM_VAR_";

enum Raw {
    /// A string from the environment or `-var`.
    Text(String),
    /// A value from a variables file.
    Value(Value),
}

struct Assignment {
    raw: Raw,
    span: Option<Span>,
    what: String,
}

/// Resolves the value of every declared variable into `cfg.var_values`.
pub fn resolve(cfg: &mut Config, dir: &Path, opts: &LoadOptions, diags: &mut Diagnostics) {
    let mut assigned: BTreeMap<String, Assignment> = BTreeMap::new();
    for (k, v) in &opts.env {
        if let Some(name) = k.strip_prefix(ENV_PREFIX)
            && cfg.variables.contains_key(name)
        {
            let what = format!("environment variable {k}");
            assigned.insert(
                name.to_string(),
                Assignment {
                    raw: Raw::Text(v.clone()),
                    span: None,
                    what,
                },
            );
        }
    }
    for path in auto_var_files(dir) {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("vars.hcl")
            .to_string();
        var_file(cfg, &path, &name, false, &mut assigned, diags);
    }
    for arg in &opts.vars {
        match arg {
            VarArg::Var(spec) => {
                let Some((name, value)) = spec.split_once('=') else {
                    diags.push(Diagnostic::error(
                        "Invalid -var option",
                        format!("The given -var option \"{spec}\" is not correctly specified. Must be a variable name and value separated by an equals sign, like -var=\"key=value\"."),
                    ));
                    continue;
                };
                let name = name.trim();
                if !cfg.variables.contains_key(name) {
                    let hint = did_you_mean(name, cfg.variables.keys().map(String::as_str));
                    diags.push(Diagnostic::error(
                        "Value for undeclared variable",
                        format!("A variable named \"{name}\" was assigned on the command line, but the root module does not declare a variable of that name. To use this value, add a \"variable\" block to the configuration.{hint}"),
                    ));
                    continue;
                }
                let what = "the -var option".to_string();
                assigned.insert(
                    name.to_string(),
                    Assignment {
                        raw: Raw::Text(value.to_string()),
                        span: None,
                        what,
                    },
                );
            }
            VarArg::File(path) => {
                let full = if path.is_absolute() {
                    path.clone()
                } else {
                    dir.join(path)
                };
                if !full.is_file() {
                    diags.push(Diagnostic::error(
                        "Failed to read variables file",
                        format!("Given variables file {} does not exist.", path.display()),
                    ));
                    continue;
                }
                let name = path.display().to_string();
                var_file(cfg, &full, &name, true, &mut assigned, diags);
            }
        }
    }
    let names: Vec<String> = cfg.variables.keys().cloned().collect();
    for name in names {
        let var = &cfg.variables[&name];
        let decl_span = cfg.decl_span(&var.decl);
        let declared_at = decl_span
            .as_ref()
            .map_or_else(String::new, |s| format!(" declared at {}", s.short()));
        let value = match assigned.remove(&name) {
            Some(a) => {
                let v = match a.raw {
                    Raw::Value(v) => Ok(v),
                    Raw::Text(t) if var.ty.is_primitive() || var.ty == super::types::Type::Any => {
                        Ok(Value::String(t))
                    }
                    Raw::Text(t) => match hcl::edit::parser::parse_expr(&t) {
                        Ok(e) => eval_constant(&e),
                        Err(e) => Err(format!(
                            "the value is not a valid expression: {}",
                            e.message()
                        )),
                    },
                };
                let v = v.and_then(|v| convert(&v, &var.ty));
                match v {
                    Ok(v) => Some(v),
                    Err(msg) => {
                        diags.push(
                            Diagnostic::error(
                                "Invalid value for input variable",
                                format!("The value given by {} is not suitable for var.{name}{declared_at}: {msg}.", a.what),
                            )
                            .with_span(a.span.or(decl_span.clone())),
                        );
                        Some(Value::Unknown)
                    }
                }
            }
            None => var.default.clone(),
        };
        let value = match value {
            Some(Value::Null) if !var.nullable => {
                diags.push(
                    Diagnostic::error(
                        "Invalid value for input variable",
                        format!("The given value is not suitable for var.{name}{declared_at}: required variable may not be set to null."),
                    )
                    .with_span(decl_span),
                );
                Value::Unknown
            }
            Some(v) => v,
            None if opts.mode == Mode::Validate => Value::Unknown,
            None => {
                diags.push(
                    Diagnostic::error(
                        "No value for required variable",
                        format!("The root module input variable \"{name}\" is not set, and has no default value. Use a -var or -var-file command line argument, or a {ENV_PREFIX}{name} environment variable, to provide a value for this variable."),
                    )
                    .with_span(decl_span),
                );
                Value::Unknown
            }
        };
        let sensitive = var.sensitive;
        cfg.var_values.insert(name, value.mark_if(sensitive));
    }
}

fn var_file(
    cfg: &mut Config,
    path: &Path,
    name: &str,
    explicit: bool,
    assigned: &mut BTreeMap<String, Assignment>,
    diags: &mut Diagnostics,
) {
    let Some(body) = read_and_parse(path, name, &mut cfg.sources, diags) else {
        return;
    };
    for s in body.iter() {
        match s {
            Structure::Block(b) => {
                let span = b.ident.span().and_then(|r| cfg.sources.span(name, r));
                diags.push(
                    Diagnostic::error(
                        "Unexpected block in variables file",
                        "A variables file holds only name = value assignments.",
                    )
                    .with_span(span),
                );
            }
            Structure::Attribute(a) => {
                let var = a.key.as_str();
                let span = a.value.span().and_then(|r| cfg.sources.span(name, r));
                if !cfg.variables.contains_key(var) {
                    let key_span = a.key.span().and_then(|r| cfg.sources.span(name, r));
                    let hint = did_you_mean(var, cfg.variables.keys().map(String::as_str));
                    let detail = format!(
                        "The root module does not declare a variable named \"{var}\" but a value was found in file \"{name}\". If you meant to use this value, add a \"variable\" block to the configuration.{hint}"
                    );
                    let d = if explicit {
                        Diagnostic::error("Value for undeclared variable", detail)
                    } else {
                        Diagnostic::warning("Value for undeclared variable", detail)
                    };
                    diags.push(d.with_span(key_span));
                    continue;
                }
                match eval_constant(&a.value) {
                    Ok(v) => {
                        let what = format!("file \"{name}\"");
                        assigned.insert(
                            var.to_string(),
                            Assignment {
                                raw: Raw::Value(v),
                                span,
                                what,
                            },
                        );
                    }
                    Err(detail) => {
                        let summary = if detail.starts_with("Variables may not") {
                            "Variables not allowed"
                        } else {
                            "Invalid expression"
                        };
                        diags.push(Diagnostic::error(summary, detail).with_span(span));
                    }
                }
            }
        }
    }
}

/// Runs the `validation` blocks of every variable whose value is known.
pub fn run_validations(cfg: &Config, diags: &mut Diagnostics) {
    let ev = Evaluator::new(cfg, &NoState, Mode::Validate);
    for (name, var) in &cfg.variables {
        let known = cfg.var_values.get(name).is_some_and(Value::is_wholly_known);
        for v in &var.validations {
            diags.extend(ev.check_references(&v.condition, &Scope::default()));
            if !known {
                continue;
            }
            if let Some(d) = ev.check_condition(v, &Scope::default(), "Invalid value for variable")
            {
                diags.extend(d);
            }
        }
    }
}
