//! `check` blocks: assertions evaluated after plan and after apply. A failed assertion is
//! a warning at its source line, never an error; results are recorded in state.

use crate::config::checks::CheckBlock;
use crate::config::{Config, Evaluator, Known, Mode, Scope};
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::state::CheckResult;
use crate::value::Value;
use std::collections::BTreeMap;

/// One check's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    pub name: String,
    /// `pass`, `fail` or `unknown`.
    pub status: String,
    /// Failed assertions: message and where the condition is.
    pub failures: Vec<(String, Option<Span>)>,
}

/// Check results in Terraform's JSON representation (the `checks` member of a JSON
/// plan): one object per check block, with its status and the failed assertions'
/// messages as problems.
pub fn checks_json(outcomes: &[CheckOutcome]) -> serde_json::Value {
    serde_json::Value::Array(
        outcomes
            .iter()
            .map(|c| {
                let address = format!("check.{}", c.name);
                let problems: Vec<serde_json::Value> = c
                    .failures
                    .iter()
                    .map(|(m, _)| serde_json::json!({ "message": m }))
                    .collect();
                let mut instance = serde_json::json!({
                    "address": { "to_display": address },
                    "status": c.status,
                });
                if !problems.is_empty() {
                    instance["problems"] = serde_json::Value::Array(problems);
                }
                serde_json::json!({
                    "address": { "kind": "check", "name": c.name, "to_display": address },
                    "status": c.status,
                    "instances": [instance],
                })
            })
            .collect(),
    )
}

/// Evaluates every assertion of every check.
pub fn evaluate(
    config: &Config,
    known: &Known,
    checks: &[CheckBlock],
) -> (Vec<CheckOutcome>, Diagnostics) {
    let ev = Evaluator::new(config, known, Mode::Plan);
    let mut out = Vec::new();
    let mut warnings = Diagnostics::new();
    for c in checks {
        let mut status = "pass";
        let mut failures = Vec::new();
        for a in &c.asserts {
            let span = config.span_of(&a.condition);
            match ev.eval(&a.condition, &Scope::default()) {
                Ok(v) => match v.unmarked().0 {
                    Value::Bool(true) => {}
                    Value::Bool(false) => {
                        let msg = ev
                            .eval(&a.error_message, &Scope::default())
                            .ok()
                            .and_then(|m| m.unmarked().0.as_str().map(str::to_string))
                            .unwrap_or_else(|| "The assertion failed.".into());
                        status = "fail";
                        failures.push((msg, span));
                    }
                    Value::Unknown => {
                        if status == "pass" {
                            status = "unknown";
                        }
                    }
                    other => {
                        status = "fail";
                        failures.push((
                            format!(
                                "The condition is not a boolean (it is {}).",
                                other.type_name()
                            ),
                            span,
                        ));
                    }
                },
                Err(d) => {
                    status = "fail";
                    failures.push((
                        d.iter()
                            .map(|x| x.detail.clone())
                            .collect::<Vec<_>>()
                            .join(" "),
                        span,
                    ));
                }
            }
        }
        for (msg, span) in &failures {
            warnings.push(
                Diagnostic::warning(
                    "Check block assertion failed",
                    format!("{msg}\n\n(check \"{}\")", c.name),
                )
                .with_span(span.clone()),
            );
        }
        out.push(CheckOutcome {
            name: c.name.clone(),
            status: status.into(),
            failures,
        });
    }
    (out, warnings)
}

/// What state records of the checks.
pub fn results(outcomes: &[CheckOutcome]) -> BTreeMap<String, CheckResult> {
    outcomes
        .iter()
        .map(|o| {
            (
                o.name.clone(),
                CheckResult {
                    status: o.status.clone(),
                    failures: o.failures.iter().map(|f| f.0.clone()).collect(),
                },
            )
        })
        .collect()
}
