//! The `dmsform drift` report: what changed outside dmsform (a managed task changed,
//! failed or vanished; a check assertion failed) apart from configuration changes that are
//! merely pending. Rendered as text, as a versioned JSON document, or as GitHub Actions
//! annotations at the resource's source line.

use super::checks::CheckOutcome;
use crate::diag::Span;
use crate::plan::{Action, Plan, Reason};
use serde_json::{Value, json};

/// The report format version.
pub const FORMAT_VERSION: &str = "1.0";

/// One drifted object.
#[derive(Debug, Clone)]
pub struct Drifted {
    pub address: String,
    /// `changed`, `failed`, `vanished` or `check_failed`.
    pub kind: String,
    pub before: Value,
    pub after: Value,
    pub message: String,
    pub span: Option<Span>,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub drifted: Vec<Drifted>,
    pub checks: Vec<CheckOutcome>,
    /// Configuration changes waiting for an apply (not drift).
    pub pending: Vec<(String, String, Option<Span>)>,
}

fn state_of(v: &Option<Value>) -> &str {
    v.as_ref()
        .and_then(|x| x.get("state"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Builds the report from a refreshed plan and the check outcomes.
pub fn build(
    plan: &Plan,
    checks: Vec<CheckOutcome>,
    span_of: &dyn Fn(&str) -> Option<Span>,
) -> Report {
    let mut r = Report {
        checks,
        ..Report::default()
    };
    let failed = crate::plan::diff::FAILED_STATES;
    for d in &plan.drift {
        let (kind, message) = match d.action {
            Action::Delete => (
                "vanished",
                format!("{} was deleted outside dmsform.", d.address),
            ),
            _ if failed.contains(&state_of(&d.after)) && !failed.contains(&state_of(&d.before)) => {
                (
                    "failed",
                    format!("{} now reports state {}.", d.address, state_of(&d.after)),
                )
            }
            _ => ("changed", format!("{} changed outside dmsform.", d.address)),
        };
        r.drifted.push(Drifted {
            address: d.address.clone(),
            kind: kind.into(),
            before: d.before.clone().unwrap_or(Value::Null),
            after: d.after.clone().unwrap_or(Value::Null),
            message,
            span: span_of(&d.address),
        });
    }
    let drifted: Vec<String> = r.drifted.iter().map(|d| d.address.clone()).collect();
    for c in plan.changes.iter().filter(|c| c.is_change()) {
        if drifted.contains(&c.address) {
            continue;
        }
        if let Some(Reason::RemoteFailed { state }) = c
            .reasons
            .iter()
            .find(|x| matches!(x, Reason::RemoteFailed { .. }))
        {
            r.drifted.push(Drifted {
                address: c.address.clone(),
                kind: "failed".into(),
                before: c.before.clone().unwrap_or(Value::Null),
                after: Value::Null,
                message: format!("{} is in state {state}.", c.address),
                span: span_of(&c.address),
            });
            continue;
        }
        let why = c
            .reasons
            .iter()
            .map(|x| x.describe())
            .collect::<Vec<_>>()
            .join("; ");
        r.pending.push((
            c.address.clone(),
            format!("{} {} ({why})", c.address, c.action.phrase()),
            span_of(&c.address),
        ));
    }
    for c in &r.checks {
        for (msg, span) in &c.failures {
            r.drifted.push(Drifted {
                address: format!("check.{}", c.name),
                kind: "check_failed".into(),
                before: Value::Null,
                after: Value::Null,
                message: msg.clone(),
                span: span.clone(),
            });
        }
    }
    r
}

impl Report {
    /// 0 no drift, 2 drift, 3 only configuration changes pending.
    pub fn exit_code(&self) -> i32 {
        if !self.drifted.is_empty() {
            2
        } else if !self.pending.is_empty() {
            3
        } else {
            0
        }
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        if self.drifted.is_empty() && self.pending.is_empty() {
            out.push_str("No drift: every managed task and every check matches.\n");
        }
        if !self.drifted.is_empty() {
            out.push_str(&format!("Drift detected ({}):\n", self.drifted.len()));
            for d in &self.drifted {
                let at = d
                    .span
                    .as_ref()
                    .map(|s| format!(" ({} line {})", s.file, s.start.line))
                    .unwrap_or_default();
                out.push_str(&format!("  ! [{}] {}{at}\n", d.kind, d.message));
            }
        }
        if !self.pending.is_empty() {
            out.push_str(&format!(
                "Configuration changes pending ({}), not drift:\n",
                self.pending.len()
            ));
            for (_, msg, _) in &self.pending {
                out.push_str(&format!("  ~ {msg}\n"));
            }
        }
        for c in &self.checks {
            out.push_str(&format!("check \"{}\": {}\n", c.name, c.status));
        }
        out
    }

    pub fn json(&self) -> Value {
        json!({
            "format_version": FORMAT_VERSION,
            "dmsform_version": env!("CARGO_PKG_VERSION"),
            "drift": !self.drifted.is_empty(),
            "drifted": self.drifted.iter().map(|d| json!({
                "address": d.address, "kind": d.kind, "message": d.message,
                "before": d.before, "after": d.after,
                "file": d.span.as_ref().map(|s| s.file.clone()), "line": d.span.as_ref().map(|s| s.start.line),
            })).collect::<Vec<_>>(),
            "pending_changes": self.pending.iter().map(|(a, m, _)| json!({"address": a, "message": m})).collect::<Vec<_>>(),
            "checks": self.checks.iter().map(|c| json!({
                "name": c.name, "status": c.status,
                "failures": c.failures.iter().map(|f| f.0.clone()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }

    /// GitHub Actions workflow commands: errors for drift, warnings for pending changes.
    /// GitHub Actions workflow commands, one per drifted task, failed check or pending
    /// change. GitHub resolves `file=` against the repository root, so `file_prefix` is
    /// the configuration directory's path from there ("" when it is the root).
    pub fn github(&self, file_prefix: &str) -> String {
        // The escapes of GitHub's own toolkit: message data, then property values.
        let esc = |s: &str| {
            s.replace('%', "%25")
                .replace('\r', "%0D")
                .replace('\n', "%0A")
        };
        let prop = |s: &str| esc(s).replace(':', "%3A").replace(',', "%2C");
        let params = |span: &Option<Span>, title: &str| match span {
            Some(s) => {
                let file = if file_prefix.is_empty() {
                    s.file.clone()
                } else {
                    format!("{}/{}", file_prefix.trim_end_matches('/'), s.file)
                };
                format!(
                    "file={},line={},col={},title={}",
                    prop(&file),
                    s.start.line,
                    s.start.column,
                    prop(title)
                )
            }
            None => format!("title={}", prop(title)),
        };
        let mut out = String::new();
        for d in &self.drifted {
            out.push_str(&format!(
                "::error {}::{}\n",
                params(&d.span, &format!("Drift ({})", d.kind)),
                esc(&d.message)
            ));
        }
        for (_, msg, span) in &self.pending {
            out.push_str(&format!(
                "::warning {}::{}\n",
                params(span, "Pending change"),
                esc(msg)
            ));
        }
        if self.drifted.is_empty() && self.pending.is_empty() {
            out.push_str("::notice title=No drift::Every managed task and every check matches.\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Pos;

    fn span(line: usize) -> Option<Span> {
        Some(Span {
            file: "main.hcl".into(),
            start: Pos {
                line,
                column: 1,
                byte: 0,
            },
            end: Pos {
                line,
                column: 9,
                byte: 8,
            },
        })
    }

    fn sample() -> Report {
        Report {
            drifted: vec![
                Drifted {
                    address: "dms_oci_driver_check.before".into(),
                    kind: "vanished".into(),
                    before: json!({"state": "Succeeded"}),
                    after: Value::Null,
                    message: "dms_oci_driver_check.before was deleted outside dmsform.".into(),
                    span: span(3),
                },
                Drifted {
                    address: "check.driver_installed".into(),
                    kind: "check_failed".into(),
                    before: Value::Null,
                    after: Value::Null,
                    message: "The installed driver is instantclient-basic-windows.x64-21.3.0.0.0.zip, not the uploaded package.".into(),
                    span: span(40),
                },
            ],
            checks: vec![CheckOutcome { name: "driver_installed".into(), status: "fail".into(), failures: vec![("The installed driver is instantclient-basic-windows.x64-21.3.0.0.0.zip, not the uploaded package.".into(), span(40))] }],
            pending: vec![("dms_oci_driver_check.after".into(), "dms_oci_driver_check.after will be updated in-place (client_data changed)".into(), span(12))],
        }
    }

    #[test]
    fn text_snapshot() {
        insta::assert_snapshot!(sample().text());
    }

    #[test]
    fn json_snapshot() {
        let mut j = sample().json();
        j["dmsform_version"] = json!("(version)");
        insta::assert_json_snapshot!(j);
    }

    #[test]
    fn github_snapshot() {
        insta::assert_snapshot!(sample().github(""));
    }

    #[test]
    fn github_files_are_relative_to_the_repository_and_properties_escaped() {
        let out = sample().github("examples/ci-drift");
        assert!(
            out.contains("file=examples/ci-drift/main.hcl,line="),
            "{out}"
        );
        let mut rep = sample();
        if let Some(d) = rep.drifted.first_mut() {
            d.kind = "a,b: c".into();
        }
        assert!(
            rep.github("").contains("title=Drift (a%2Cb%3A c)"),
            "{}",
            rep.github("")
        );
    }

    #[test]
    fn exit_codes() {
        assert_eq!(sample().exit_code(), 2);
        let pending_only = Report {
            drifted: vec![],
            checks: vec![],
            pending: sample().pending,
        };
        assert_eq!(pending_only.exit_code(), 3);
        assert_eq!(Report::default().exit_code(), 0);
    }
}
