//! `data "dms_oci_driver_status"`: the installed driver, read live. Old tasks cannot show
//! that someone changed the driver by hand; only a fresh check task can. Each read runs a
//! short-lived `Service.Check.OCI` task with a reserved, deterministic name — created,
//! awaited, read, and always deleted — and never enters state. Status tasks a killed run
//! left behind are deleted before the next read on that service.

use crate::config::checks::DataBlock;
use crate::config::{Config, Evaluator, Known, Mode, Scope};
use crate::diag::{Diagnostic, Diagnostics};
use crate::providers::dms::models::{CheckOciDriverInput, TaskRequest};
use crate::providers::dms::resources::snake_keys;
use crate::providers::dms::{
    DmsClient, Expand, PollOptions, ServiceRef, WaitOutcome, wait_until_terminal,
};
use crate::value::Value;
use futures::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use tokio_util::sync::CancellationToken;

/// Names of status tasks start with this; no managed task should.
pub const STATUS_PREFIX: &str = "dmsform-status-";

/// The reserved task name of a data source.
pub fn status_task_name(address: &str) -> String {
    let h = Sha256::digest(address.as_bytes());
    format!(
        "{STATUS_PREFIX}{}",
        h.iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// What one data source read.
#[derive(Debug, Clone)]
pub struct StatusRead {
    pub block: DataBlock,
    /// `TYPE.NAME` → the value expressions see.
    pub value: Value,
    pub service: String,
    pub server_version: Option<String>,
}

fn eval_str(
    config: &Config,
    known: &Known,
    e: &crate::config::Expr,
) -> Result<Option<String>, Diagnostics> {
    let ev = Evaluator::new(config, known, Mode::Plan);
    let v = ev.eval(e, &Scope::default())?;
    Ok(v.unmarked().0.as_str().map(str::to_string))
}

/// `major.minor` of a server version, with 18c and later as `major.0`.
fn major_minor(v: &str) -> Option<String> {
    let mut it = v.trim().trim_end_matches(['c', 'C']).split('.');
    let major: u32 = it.next()?.parse().ok()?;
    let minor: u32 = it.next().map(|m| m.parse().ok()).unwrap_or(Some(0))?;
    Some(if major >= 18 {
        format!("{major}.0")
    } else {
        format!("{major}.{minor}")
    })
}

async fn cleanup(client: &DmsClient, svc: &ServiceRef) -> Result<usize, String> {
    let tasks = client
        .list(svc, Some("Service.Check.OCI"))
        .await
        .map_err(|e| e.to_string())?;
    let mut n = 0;
    for t in tasks {
        if let Some(name) = t.name.as_deref().filter(|n| n.starts_with(STATUS_PREFIX)) {
            client
                .delete(svc, name, true)
                .await
                .map_err(|e| e.to_string())?;
            n += 1;
        }
    }
    Ok(n)
}

async fn read_one(
    client: &DmsClient,
    svc: ServiceRef,
    name: String,
    server_version: Option<String>,
    poll: &PollOptions,
    cancel: &CancellationToken,
) -> Result<serde_json::Value, String> {
    let req = TaskRequest::check(CheckOciDriverInput {
        server_version: server_version.clone(),
        ..Default::default()
    });
    let result = async {
        client
            .create_or_update(&svc, &name, &req)
            .await
            .map_err(|e| e.to_string())?;
        match wait_until_terminal(client, &svc, &name, poll, cancel, &mut |_| {})
            .await
            .map_err(|e| e.to_string())?
        {
            WaitOutcome::Finished(task) => Ok(task),
            WaitOutcome::DeadlineExceeded { .. } => {
                Err("the status check did not finish in time".to_string())
            }
            WaitOutcome::Interrupted { .. } => Err("interrupted".to_string()),
        }
    }
    .await;
    // Always delete the status task, whatever happened.
    let deleted = client.delete(&svc, &name, true).await;
    let task = result?;
    deleted.map_err(|e| format!("the status task {name} could not be deleted: {e}"))?;
    let task = if task.properties.details.output_json().is_empty() {
        client
            .get(&svc, &name, Expand::Output)
            .await
            .unwrap_or(task)
    } else {
        task
    };
    let output = snake_keys(serde_json::Value::Array(
        task.properties.details.output_json(),
    ));
    let first = output.get(0).cloned().unwrap_or(json!({}));
    let installed = first
        .get("installed_driver")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    let validation = first.get("validation_errors").cloned().unwrap_or(json!([]));
    let supports = match (&installed, server_version.as_deref().and_then(major_minor)) {
        (serde_json::Value::Null, _) => false,
        (i, Some(mm)) => i
            .get("supported_oracle_versions")
            .and_then(|v| v.as_array())
            .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(mm.as_str()))),
        (_, None) => true,
    };
    Ok(json!({
        "group_name": svc.resource_group,
        "service_name": svc.service_name,
        "server_version": server_version,
        "state": task.state().as_str(),
        "installed_driver": installed,
        "supports_server_version": supports,
        "validation_errors": validation,
    }))
}

/// Where and how to read data sources.
pub struct ReadContext<'a> {
    pub config: &'a Config,
    pub client: &'a DmsClient,
    pub subscription: &'a str,
    pub poll: &'a PollOptions,
    pub parallelism: usize,
}

/// One read's inputs and result.
type ReadResult = (
    DataBlock,
    ServiceRef,
    Option<String>,
    Result<serde_json::Value, String>,
);

/// Reads every data source, at most `parallelism` at once.
pub async fn read_all(
    cx: &ReadContext<'_>,
    known: &Known,
    data: &[DataBlock],
    cancel: &CancellationToken,
) -> Result<Vec<StatusRead>, Diagnostics> {
    let (config, client, subscription, poll, parallelism) = (
        cx.config,
        cx.client,
        cx.subscription,
        cx.poll,
        cx.parallelism,
    );
    let mut diags = Diagnostics::new();
    let mut jobs = Vec::new();
    for d in data {
        let get = |k: &str| {
            d.args
                .get(k)
                .map(|e| eval_str(config, known, e))
                .transpose()
                .map(Option::flatten)
        };
        match (
            get("group_name"),
            get("service_name"),
            get("server_version"),
        ) {
            (Ok(Some(g)), Ok(Some(s)), Ok(v)) => {
                jobs.push((d.clone(), ServiceRef::new(subscription, g, s), v))
            }
            (Ok(_), Ok(_), Ok(_)) => {} // not known yet: the data source stays unknown
            (a, b, c) => {
                for r in [a, b, c] {
                    if let Err(e) = r {
                        diags.extend(e);
                    }
                }
            }
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    let services: BTreeSet<(String, String, String)> = jobs
        .iter()
        .map(|(_, s, _)| {
            (
                s.subscription_id.clone(),
                s.resource_group.clone(),
                s.service_name.clone(),
            )
        })
        .collect();
    for (sub, g, s) in services {
        let svc = ServiceRef::new(sub, g, s);
        if let Err(e) = cleanup(client, &svc).await {
            diags.push(Diagnostic::error(
                "Cannot clean up status tasks",
                format!(
                    "Listing or deleting leftover status tasks on {} failed: {e}",
                    svc.service_name
                ),
            ));
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    let results: Vec<ReadResult> = futures::stream::iter(jobs)
        .map(|(d, svc, v)| async move {
            let name = status_task_name(&d.address());
            let r = read_one(client, svc.clone(), name, v.clone(), poll, cancel).await;
            (d, svc, v, r)
        })
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await;
    let mut out = Vec::new();
    for (d, svc, v, r) in results {
        match r {
            Ok(j) => out.push(StatusRead {
                value: Value::from_json(&j),
                service: svc.service_name.clone(),
                server_version: v,
                block: d,
            }),
            Err(e) => diags.push(
                Diagnostic::error(
                    format!("Cannot read {}", d.address()),
                    format!(
                        "The status check on service {} failed: {e}",
                        svc.service_name
                    ),
                )
                .with_span(config.decl_span(&d.decl))
                .with_address(d.address()),
            ),
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    out.sort_by_key(|r| r.block.address());
    Ok(out)
}

/// The data map for evaluation: `TYPE.NAME` → value.
pub fn data_map(reads: &[StatusRead]) -> BTreeMap<String, Value> {
    reads
        .iter()
        .map(|r| {
            (
                format!("{}.{}", r.block.kind, r.block.name),
                r.value.clone(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_are_deterministic() {
        let a = status_task_name("data.dms_oci_driver_status.prod");
        assert_eq!(a, status_task_name("data.dms_oci_driver_status.prod"));
        assert_ne!(a, status_task_name("data.dms_oci_driver_status.test"));
        assert!(a.starts_with(STATUS_PREFIX) && a.len() == STATUS_PREFIX.len() + 12);
        assert_eq!(major_minor("19.3").as_deref(), Some("19.0"));
        assert_eq!(major_minor("12.2").as_deref(), Some("12.2"));
    }
}
