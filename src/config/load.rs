//! The entry points: [`load`] a directory into a [`Config`] (parse, decode, resolve
//! variables, run validations, evaluate the provider block, check references) and
//! [`validate`] it fully (also expanding and evaluating every resource and output).

use super::decode::{Decoder, ProviderBlock};
use super::duration::parse_duration;
use super::eval::{Evaluator, Mode, NoState, Scope};
use super::model::{
    AUTH_MODES, AuthMode, Config, DriverShare, EmulatorSettings, Expr, ProviderConfig,
};
use super::parse::{config_files, parse_bytes};
use super::refs::resource_exprs;
use super::schema::COMPUTED_ATTRS;
use super::vars::{LoadOptions, resolve, run_validations};
use crate::diag::{Diagnostic, Diagnostics, Sources, did_you_mean};
use crate::value::Value;
use std::path::Path;

/// Loading failed: the diagnostics, with the sources needed to render them.
#[derive(Debug, Clone)]
pub struct LoadFailure {
    pub sources: Sources,
    pub diagnostics: Diagnostics,
}

/// Loads the configuration of `dir`: every `*.hcl` except `*.vars.hcl`. On success the
/// warnings come back alongside; on failure, every error found (not just the first).
pub fn load(dir: &Path, opts: &LoadOptions) -> Result<(Config, Diagnostics), LoadFailure> {
    let (cfg, diags) = load_all(dir, opts);
    if diags.has_errors() {
        return Err(LoadFailure {
            sources: cfg.sources,
            diagnostics: diags,
        });
    }
    Ok((cfg, diags))
}

/// Loads as much as can be loaded, whatever the errors.
fn load_all(dir: &Path, opts: &LoadOptions) -> (Config, Diagnostics) {
    let files = match config_files(dir) {
        Ok(f) => f,
        Err(e) => {
            let d = Diagnostic::error(
                "Failed to read directory",
                format!(
                    "The configuration directory {} could not be read: {e}.",
                    dir.display()
                ),
            );
            let cfg = Config {
                dir: dir.to_path_buf(),
                ..Config::default()
            };
            return (cfg, d.into());
        }
    };
    let mut read = Vec::new();
    let mut diags = Diagnostics::new();
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("config.hcl")
            .to_string();
        match std::fs::read(path) {
            Ok(bytes) => read.push((name, bytes)),
            Err(e) => diags.push(Diagnostic::error(
                "Failed to read file",
                format!("The file \"{name}\" could not be read: {e}."),
            )),
        }
    }
    if files.is_empty() {
        diags.push(Diagnostic::error(
            "No configuration files",
            format!(
                "The directory {} contains no configuration files (*.hcl).",
                dir.display()
            ),
        ));
    }
    let (cfg, more) = load_files(dir, read, opts);
    diags.extend(more);
    (cfg, diags)
}

/// Loads configuration files given as (name, bytes); `dir` is where variable files and
/// `file()` paths are looked up. Reports every problem found.
pub fn load_files(
    dir: &Path,
    files: Vec<(String, Vec<u8>)>,
    opts: &LoadOptions,
) -> (Config, Diagnostics) {
    let mut cfg = Config {
        dir: dir.to_path_buf(),
        ..Config::default()
    };
    let mut diags = Diagnostics::new();
    let mut bodies = Vec::new();
    for (name, bytes) in files {
        if let Some(body) = parse_bytes(&name, bytes, &mut cfg.sources, &mut diags) {
            bodies.push((name, body));
        }
    }
    let provider = {
        let mut dec = Decoder::new(&mut cfg);
        for (name, body) in &bodies {
            dec.file(name, body);
        }
        diags.extend(std::mem::take(&mut dec.diags));
        std::mem::take(&mut dec.provider)
    };
    check_depends_on(&cfg, &mut diags);
    resolve(&mut cfg, dir, opts, &mut diags);
    run_validations(&cfg, &mut diags);
    cfg.provider = provider_config(&cfg, &provider, opts.mode, &mut diags);
    check_all_references(&cfg, &mut diags);
    warn_blob_shares(&cfg, &mut diags);
    (cfg, diags)
}

/// Validates `dir` as `dmsform validate` does: loads it in validate mode (unset
/// variables are unknown), then expands and evaluates every resource, output and
/// postcondition with nothing known from state.
pub fn validate(dir: &Path, opts: &LoadOptions) -> (Sources, Diagnostics) {
    let opts = LoadOptions {
        mode: Mode::Validate,
        ..opts.clone()
    };
    let (cfg, diags) = load_all(dir, &opts);
    if cfg.sources.names().next().is_none() {
        return (cfg.sources, diags);
    }
    finish_validation(cfg, diags)
}

fn finish_validation(cfg: Config, mut diags: Diagnostics) -> (Sources, Diagnostics) {
    let ev = Evaluator::new(&cfg, &NoState, Mode::Validate);
    let (instances, d) = ev.instances();
    diags.extend(d);
    // A reference cycle is already reported by evaluation, at the reference; what is left
    // are cycles that go through depends_on.
    if !diags.iter().any(|d| d.summary.starts_with("Cycle")) {
        diags.extend(crate::graph::resource_cycles(&cfg, &instances));
    }
    let (_, d) = ev.outputs();
    diags.extend(d);
    for inst in &instances {
        let mut self_obj = inst.args.as_map().cloned().unwrap_or_default();
        for name in COMPUTED_ATTRS {
            self_obj.insert(name.to_string(), Value::Unknown);
        }
        diags.extend(ev.check_postconditions(inst, &Value::Map(self_obj)));
    }
    (cfg.sources, diags)
}

/// [`validate`] for files given in memory (used by the fuzz target and property tests).
pub fn validate_files(
    dir: &Path,
    files: Vec<(String, Vec<u8>)>,
    opts: &LoadOptions,
) -> (Sources, Diagnostics) {
    let opts = LoadOptions {
        mode: Mode::Validate,
        ..opts.clone()
    };
    let (cfg, diags) = load_files(dir, files, &opts);
    finish_validation(cfg, diags)
}

fn check_depends_on(cfg: &Config, diags: &mut Diagnostics) {
    let mut lists: Vec<&Vec<(crate::addr::ResourceAddr, Expr)>> =
        cfg.resources.values().map(|r| &r.depends_on).collect();
    lists.extend(cfg.outputs.values().map(|o| &o.depends_on));
    for (addr, e) in lists.into_iter().flatten() {
        if !cfg.resources.contains_key(addr) {
            let names: Vec<String> = cfg.resources.keys().map(|a| a.to_string()).collect();
            let hint = did_you_mean(&addr.to_string(), names.iter().map(String::as_str));
            diags.push(
                Diagnostic::error(
                    "Reference to undeclared resource",
                    format!("A managed resource \"{}\" \"{}\" has not been declared in the root module.{hint}", addr.resource_type, addr.name),
                )
                .with_span(cfg.span_of(e)),
            );
        }
    }
}

/// Checks every reference of every expression against what is declared and where
/// `each`, `count` and `self` are available.
fn check_all_references(cfg: &Config, diags: &mut Diagnostics) {
    let ev = Evaluator::new(cfg, &NoState, Mode::Validate);
    for local in cfg.locals.values() {
        diags.extend(ev.check_references(&local.value, &Scope::default()));
    }
    for o in cfg.outputs.values() {
        diags.extend(ev.check_references(&o.value, &Scope::default()));
    }
    for r in cfg.resources.values() {
        let scope = Scope {
            each: r
                .for_each
                .as_ref()
                .map(|_| (Value::Unknown, Value::Unknown)),
            count: r.count.as_ref().map(|_| Value::Unknown),
            ..Scope::default()
        };
        let meta: Vec<&Expr> = r.count.iter().chain(r.for_each.iter()).collect();
        let post: Vec<&Expr> = r
            .postconditions
            .iter()
            .flat_map(|p| [&p.condition, &p.error_message])
            .collect();
        for e in resource_exprs(r) {
            let mut s = if meta.iter().any(|m| std::ptr::eq(*m, e)) {
                Scope::default()
            } else {
                scope.clone()
            };
            if post.iter().any(|p| std::ptr::eq(*p, e)) {
                s.self_value = Some(Value::Unknown);
            }
            diags.extend(ev.check_references(e, &s));
        }
    }
    for (name, local) in &cfg.locals {
        if let Err(d) = ev.local_value(name, &local.value.file, Some(local.value.range.clone())) {
            diags.extend(d);
        }
    }
    diags.extend(ev.take_diagnostics());
}

fn warn_blob_shares(cfg: &Config, diags: &mut Diagnostics) {
    if cfg.provider.is_emulator() {
        return;
    }
    for r in cfg.resources.values() {
        if let Some(DriverShare::Blob { sas_uri, .. }) = &r.driver_share {
            diags.push(
                Diagnostic::warning(
                    "Blob driver share outside the emulator",
                    format!(
                        "The published API versions document only the file-share form of driver_share (path, user_name, password). The sas_uri form works against the dmsform emulator (endpoint = \"embedded\" or a loopback http URL), but the service at \"{}\" may reject it.",
                        cfg.provider.endpoint
                    ),
                )
                .with_span(cfg.sources.span(&sas_uri.file, sas_uri.range.clone()))
                .with_address(r.addr.to_string()),
            );
        }
    }
}

fn provider_config(
    cfg: &Config,
    p: &ProviderBlock,
    mode: Mode,
    diags: &mut Diagnostics,
) -> ProviderConfig {
    let mut out = ProviderConfig {
        decl: p.decl.clone(),
        ..ProviderConfig::default()
    };
    let ev = Evaluator::new(cfg, &NoState, mode);
    let string = |e: &Expr, diags: &mut Diagnostics| -> Option<String> {
        let v = match ev.eval(e, &Scope::default()) {
            Ok(v) => v,
            Err(d) => {
                diags.extend(d);
                return None;
            }
        };
        match super::types::convert(&v, &super::types::Type::String).map(|v| v.unmark_deep().0) {
            Ok(Value::String(s)) => Some(s),
            Ok(Value::Unknown) if mode == Mode::Validate => None,
            Ok(Value::Null) => None,
            Ok(_) => {
                diags.push(
                    Diagnostic::error(
                        "Invalid provider argument",
                        "Provider arguments must be known before any task runs.",
                    )
                    .with_span(cfg.span_of(e)),
                );
                None
            }
            Err(msg) => {
                diags.push(
                    Diagnostic::error(
                        "Incorrect attribute value type",
                        format!("Inappropriate value for attribute: {msg}."),
                    )
                    .with_span(cfg.span_of(e)),
                );
                None
            }
        }
    };
    let duration = |e: &Expr, diags: &mut Diagnostics| {
        let s = string(e, diags)?;
        parse_duration(&s)
            .map_err(|m| {
                diags.push(
                    Diagnostic::error("Invalid duration", format!("{m}."))
                        .with_span(cfg.span_of(e)),
                )
            })
            .ok()
    };
    for (name, e) in &p.attrs {
        match name.as_str() {
            "subscription_id" => out.subscription_id = string(e, diags),
            "endpoint" => {
                if let Some(s) = string(e, diags) {
                    if s != "embedded"
                        && !url::Url::parse(&s)
                            .is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
                    {
                        diags.push(
                            Diagnostic::error("Invalid endpoint", format!("The endpoint \"{s}\" is neither \"embedded\" nor an http(s) URL."))
                                .with_span(cfg.span_of(e)),
                        );
                    }
                    out.endpoint = s;
                }
            }
            "api_version" => out.api_version = string(e, diags).unwrap_or(out.api_version),
            "auth" => {
                if let Some(s) = string(e, diags) {
                    match AuthMode::parse(&s) {
                        Some(a) => out.auth = a,
                        None => {
                            let hint = did_you_mean(&s, AUTH_MODES);
                            diags.push(
                                Diagnostic::error(
                                    "Invalid auth mode",
                                    format!("The auth mode \"{s}\" is not supported; use one of {}.{hint}", AUTH_MODES.join(", ")),
                                )
                                .with_span(cfg.span_of(e)),
                            );
                        }
                    }
                }
            }
            "poll_interval" => out.poll_interval = duration(e, diags).unwrap_or(out.poll_interval),
            "max_poll_interval" => {
                out.max_poll_interval = duration(e, diags).unwrap_or(out.max_poll_interval)
            }
            _ => {}
        }
    }
    if let Some(em) = &p.emulator {
        let mut settings = EmulatorSettings::default();
        for (name, e) in em {
            match name.as_str() {
                "queued_for" => settings.queued_for = duration(e, diags),
                "run_for" => settings.run_for = duration(e, diags),
                "share_root" => match ev.eval(e, &Scope::default()) {
                    Ok(v) => match super::types::convert(
                        &v,
                        &super::types::Type::Map(Box::new(super::types::Type::String)),
                    ) {
                        Ok(v) => {
                            if let Some(m) = v.unmark_deep().0.as_map() {
                                settings.share_root = m
                                    .iter()
                                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                                    .collect();
                            }
                        }
                        Err(msg) => diags.push(
                            Diagnostic::error(
                                "Incorrect attribute value type",
                                format!("Inappropriate value for attribute \"share_root\": {msg}."),
                            )
                            .with_span(cfg.span_of(e)),
                        ),
                    },
                    Err(d) => diags.extend(d),
                },
                _ => {}
            }
        }
        out.emulator = Some(settings);
    }
    out
}
