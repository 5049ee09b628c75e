//! Planning (design §4): refresh every task in state through the client, look up the ids
//! of new instances, evaluate the configuration against what is known, and diff. Values
//! that depend on a task being created or replaced are unknown until apply; the planner
//! re-evaluates until that set is stable.

use super::action::Action;
use super::change::{OutputChange, Plan};
use super::desired::desired;
use super::diff::{self, Desired, DiffOptions, Probe, Remote};
use crate::addr::ResourceAddr;
use crate::config::{Config, Evaluator, Known, Mode, ResourceInstance};
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::{Dag, resource_cycles};
use crate::providers::dms::models::ProjectTask;
use crate::providers::dms::resources::{computed_attrs, input_matches};
use crate::providers::dms::{DmsClient, Expand, ServiceRef};
use crate::secret::Digester;
use crate::state::{ResourceState, State};
use crate::value::Value;
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};

/// What the user asked the plan to do.
#[derive(Debug, Clone, Default)]
pub struct PlanRequest {
    pub destroy: bool,
    pub refresh_only: bool,
    /// `false` with `-refresh=false`.
    pub refresh: bool,
    pub targets: Vec<String>,
    pub replace: BTreeSet<String>,
    pub parallelism: usize,
}

/// A plan with what produced it.
pub struct Planned {
    pub plan: Plan,
    /// Desired instances by address (as evaluated at plan time).
    pub desired: BTreeMap<String, Desired>,
    pub instances: BTreeMap<String, ResourceInstance>,
    /// State with refresh results applied (not persisted by planning).
    pub refreshed: State,
    pub warnings: Diagnostics,
}

/// Splits an ARM task id into its service and task name.
pub fn parse_task_id(id: &str) -> Option<(ServiceRef, String)> {
    let segs: Vec<&str> = id.trim_matches('/').split('/').collect();
    if segs.len() != 10
        || !segs[0].eq_ignore_ascii_case("subscriptions")
        || !segs[8].eq_ignore_ascii_case("serviceTasks")
    {
        return None;
    }
    Some((
        ServiceRef::new(segs[1], segs[3], segs[7]),
        segs[9].to_string(),
    ))
}

/// Reads the task with this id: `Ok(None)` when it does not exist.
pub async fn read_task(
    client: &DmsClient,
    id: &str,
) -> Result<Option<crate::providers::dms::models::ProjectTask>, String> {
    let (svc, name) = parse_task_id(id).ok_or_else(|| format!("{id} is not a service task id"))?;
    client
        .get_if_exists(&svc, &name, Expand::Output)
        .await
        .map_err(|e| e.to_string())
}

/// GETs every task in state, at most `parallelism` at once.
pub async fn refresh(
    client: &DmsClient,
    state: &State,
    parallelism: usize,
) -> Result<Vec<(ResourceState, Remote)>, Diagnostics> {
    let results: Vec<(ResourceState, Result<Remote, String>)> =
        futures::stream::iter(state.resources.clone())
            .map(|r| async move {
                let remote = match read_task(client, &r.id).await {
                    Ok(Some(task)) => Ok(Remote::Present(computed_attrs(&task))),
                    Ok(None) => Ok(Remote::Gone),
                    Err(e) => Err(e),
                };
                (r, remote)
            })
            .buffer_unordered(parallelism.max(1))
            .collect()
            .await;
    let mut diags = Diagnostics::new();
    let mut out = Vec::new();
    for (r, remote) in results {
        match remote {
            Ok(remote) => out.push((r, remote)),
            Err(e) => diags.push(
                Diagnostic::error(
                    "Error refreshing a task",
                    format!("Reading {} ({}) failed: {e}", r.address, r.id),
                )
                .with_address(r.address.clone()),
            ),
        }
    }
    out.sort_by(|a, b| a.0.address.cmp(&b.0.address));
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(out)
    }
}

/// The computed attributes of a task as expressions see them.
fn computed_value(attrs: &serde_json::Value) -> Value {
    let pick = |k: &str| Value::from_json(attrs.get(k).unwrap_or(&serde_json::Value::Null));
    Value::map([
        ("id", pick("id")),
        ("state", pick("state")),
        ("errors", pick("errors")),
        ("output", pick("output")),
    ])
}

fn evaluate(config: &Config, known: &Known) -> Result<Vec<ResourceInstance>, Diagnostics> {
    let ev = Evaluator::new(config, known, Mode::Plan);
    let (instances, diags) = ev.instances();
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(instances)
    }
}

/// Evaluates the instance at `address` with what is known now (state plus finished
/// tasks), for apply to resolve values that were unknown at plan time.
/// Evaluates every instance of a resource with what is known now.
pub fn resolve_resource(
    config: &Config,
    known: &Known,
    resource: &ResourceAddr,
) -> Result<Vec<ResourceInstance>, Diagnostics> {
    let ev = Evaluator::new(config, known, Mode::Plan);
    let all = ev.instances_of(&resource.resource());
    let diags = ev.take_diagnostics();
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(all)
    }
}

pub fn resolve_instance(
    config: &Config,
    known: &Known,
    address: &str,
) -> Result<ResourceInstance, Diagnostics> {
    let addr: ResourceAddr = address
        .parse()
        .map_err(|e| Diagnostics::from(Diagnostic::error("Invalid address", format!("{e}"))))?;
    let ev = Evaluator::new(config, known, Mode::Plan);
    let found = ev
        .instances_of(&addr.resource())
        .into_iter()
        .find(|i| i.addr == addr);
    let diags = ev.take_diagnostics();
    if diags.has_errors() {
        return Err(diags);
    }
    found.ok_or_else(|| {
        Diagnostics::from(Diagnostic::error(
            "Resource instance not found",
            format!("{address} is no longer in the configuration."),
        ))
    })
}

/// The known map for evaluation from a state's resources. Only tasks that finished well
/// count: a tainted, failed or unfinished task will be replaced, so what it produced is
/// not known yet.
pub fn known_from_state(state: &State) -> Known {
    let resources = state
        .resources
        .iter()
        .filter(|r| r.status == crate::state::Status::Ready)
        .filter(|r| {
            !r.attributes
                .get("state")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|s| diff::FAILED_STATES.contains(&s))
        })
        .filter_map(|r| {
            Some((
                r.address.parse::<ResourceAddr>().ok()?,
                computed_value(&r.attributes),
            ))
        })
        .collect();
    Known {
        resources,
        data: BTreeMap::new(),
    }
}

/// Makes a plan.
pub async fn make_plan(
    config: &Config,
    client: &DmsClient,
    subscription: &str,
    state: &State,
    req: &PlanRequest,
    digester: &Digester,
    data: &BTreeMap<String, Value>,
) -> Result<Planned, Diagnostics> {
    let prior: Vec<(ResourceState, Remote)> = if req.refresh {
        refresh(client, state, req.parallelism).await?
    } else {
        state
            .resources
            .iter()
            .map(|r| (r.clone(), Remote::NotRefreshed))
            .collect()
    };
    let mut refreshed = state.clone();
    for (r, remote) in &prior {
        match remote {
            Remote::Present(_) => {
                if let Some(s) = refreshed.resource_mut(&r.address) {
                    s.attributes = diff::refreshed_attrs(r, remote);
                }
            }
            Remote::Gone => {
                refreshed.remove(&r.address);
            }
            Remote::NotRefreshed => {}
        }
    }
    let opts = DiffOptions {
        destroy: req.destroy,
        refresh_only: req.refresh_only,
        replace: req.replace.clone(),
    };
    let mut known = known_from_state(&refreshed);
    known.data = data.clone();
    let mut probes: BTreeMap<String, Probe> = BTreeMap::new();
    let mut fetched: BTreeMap<String, Option<ProjectTask>> = BTreeMap::new();
    let mut triggered: BTreeMap<String, String> = BTreeMap::new();
    let mut warnings = Diagnostics::new();
    let in_state: BTreeSet<String> = state.resources.iter().map(|r| r.address.clone()).collect();
    let mut rounds = 0;
    let (plan, desired_map, instances) = loop {
        rounds += 1;
        // Destroy plans evaluate too: prevent_destroy must be honoured.
        let instances = evaluate(config, &known)?;
        if rounds == 1 {
            let cycles = resource_cycles(config, &instances);
            if cycles.has_errors() {
                return Err(cycles);
            }
        }
        let desired_list: Vec<Desired> = instances
            .iter()
            .map(|i| desired(i, subscription, triggered.get(&i.addr.to_string()).cloned()))
            .collect();
        // Look up new instances' ids once: a task nobody recorded is never overwritten.
        // The comparison with the arguments is made again every round, since an argument
        // unknown in one round (the package name of an upload adopted in it) is known in
        // the next.
        if req.refresh && !req.refresh_only && !req.destroy {
            let missing: Vec<(String, String)> = desired_list
                .iter()
                .filter(|d| !in_state.contains(&d.address) && !fetched.contains_key(&d.address))
                .filter_map(|d| Some((d.address.clone(), d.id.clone()?)))
                .collect();
            let found: Vec<(String, Result<Option<ProjectTask>, String>)> =
                futures::stream::iter(missing)
                    .map(|(addr, id)| async move { (addr, read_task(client, &id).await) })
                    .buffer_unordered(req.parallelism.max(1))
                    .collect()
                    .await;
            for (addr, task) in found {
                match task {
                    Ok(task) => {
                        fetched.insert(addr, task);
                    }
                    Err(e) => {
                        return Err(Diagnostic::error(
                            "Error reading a task",
                            format!("Looking up {addr} failed: {e}"),
                        )
                        .with_address(addr)
                        .into());
                    }
                }
            }
            probes = desired_list
                .iter()
                .filter_map(|d| {
                    let probe = match fetched.get(&d.address)? {
                        Some(task) => Probe::Exists {
                            input_matches: input_matches(&d.kind, &d.args, task),
                            attrs: computed_attrs(task),
                        },
                        None => Probe::Absent,
                    };
                    Some((d.address.clone(), probe))
                })
                .collect();
        }
        let plan = diff::diff(&desired_list, &prior, &probes, &opts, digester).map_err(|errs| {
            let mut d = Diagnostics::new();
            for e in errs {
                d.push(Diagnostic::error("Instance cannot be destroyed", e));
            }
            d
        })?;
        // What this plan recreates is unknown to its dependents until apply.
        let recreated: BTreeSet<String> = plan
            .changes
            .iter()
            .filter(|c| matches!(c.action, Action::Create | Action::Replace))
            .map(|c| c.address.clone())
            .collect();
        let mut changed = false;
        for a in &recreated {
            if let Ok(addr) = a.parse::<ResourceAddr>()
                && known.resources.remove(&addr).is_some()
            {
                changed = true;
            }
        }
        for (addr, p) in &probes {
            if let (
                Probe::Exists {
                    input_matches: true,
                    attrs,
                },
                Ok(a),
            ) = (p, addr.parse::<ResourceAddr>())
            {
                let mut attrs = attrs.clone();
                if let Some(d) = desired_list.iter().find(|d| &d.address == addr) {
                    attrs["id"] = serde_json::json!(d.id);
                }
                if let std::collections::btree_map::Entry::Vacant(e) = known.resources.entry(a) {
                    e.insert(computed_value(&attrs));
                    changed = true;
                }
            }
        }
        let changed_resources: BTreeSet<ResourceAddr> = plan
            .changes
            .iter()
            .filter(|c| matches!(c.action, Action::Create | Action::Replace | Action::Update))
            .filter_map(|c| c.address.parse::<ResourceAddr>().ok().map(|a| a.resource()))
            .collect();
        for i in &instances {
            if let Some(by) = i
                .lifecycle
                .replace_triggered_by
                .iter()
                .find(|t| changed_resources.contains(&t.resource()))
                && !triggered.contains_key(&i.addr.to_string())
            {
                triggered.insert(i.addr.to_string(), by.to_string());
                changed = true;
            }
        }
        if !changed || rounds > 64 {
            let desired_map = desired_list
                .into_iter()
                .map(|d| (d.address.clone(), d))
                .collect::<BTreeMap<_, _>>();
            let inst_map = instances
                .into_iter()
                .map(|i| (i.addr.to_string(), i))
                .collect::<BTreeMap<_, _>>();
            break (plan, desired_map, inst_map);
        }
    };
    let mut plan = plan;
    if !req.targets.is_empty() {
        plan.changes = target(&plan, &desired_map, &instances, state, &req.targets);
    }
    plan.outputs = if req.refresh_only {
        BTreeMap::new()
    } else {
        outputs(config, &known, state, req.destroy, &mut warnings)
    };
    Ok(Planned {
        plan,
        desired: desired_map,
        instances,
        refreshed,
        warnings,
    })
}

/// Keeps only the targeted changes and what they depend on.
fn target(
    plan: &Plan,
    desired: &BTreeMap<String, Desired>,
    instances: &BTreeMap<String, ResourceInstance>,
    state: &State,
    targets: &[String],
) -> Vec<super::change::ResourceChange> {
    let dag = dependency_dag(instances, state);
    let roots: Vec<String> = plan
        .changes
        .iter()
        .map(|c| c.address.clone())
        .filter(|a| {
            targets
                .iter()
                .any(|t| a == t || a.starts_with(&format!("{t}[")))
        })
        .collect();
    let keep = match &dag {
        Ok(d) => d.with_dependencies(&roots),
        Err(_) => roots.iter().cloned().collect(),
    };
    let _ = desired;
    plan.changes
        .iter()
        .filter(|c| keep.contains(&c.address))
        .cloned()
        .collect()
}

/// The instance-level dependency graph: configuration references plus recorded state
/// dependencies.
pub fn dependency_dag(
    instances: &BTreeMap<String, ResourceInstance>,
    state: &State,
) -> Result<Dag<String>, crate::graph::Cycles<String>> {
    let mut by_resource: BTreeMap<ResourceAddr, Vec<String>> = BTreeMap::new();
    for (a, i) in instances {
        by_resource
            .entry(i.addr.resource())
            .or_default()
            .push(a.clone());
    }
    for r in &state.resources {
        if let Ok(a) = r.address.parse::<ResourceAddr>() {
            let v = by_resource.entry(a.resource()).or_default();
            if !v.contains(&r.address) {
                v.push(r.address.clone());
            }
        }
    }
    let mut nodes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (a, i) in instances {
        let deps = i
            .depends_on
            .iter()
            .flat_map(|d| by_resource.get(&d.resource()).cloned().unwrap_or_default())
            .filter(|d| d != a)
            .collect();
        nodes.insert(a.clone(), deps);
    }
    for r in &state.resources {
        // State records resource-level dependencies; expand them to instances.
        let deps: Vec<String> = r
            .dependencies
            .iter()
            .flat_map(|d| match d.parse::<ResourceAddr>() {
                Ok(a) if a.key.is_none() => by_resource
                    .get(&a)
                    .cloned()
                    .unwrap_or_else(|| vec![d.clone()]),
                _ => vec![d.clone()],
            })
            .filter(|d| d != &r.address)
            .collect();
        nodes.entry(r.address.clone()).or_insert(deps);
    }
    Dag::new(nodes)
}

fn outputs(
    config: &Config,
    known: &Known,
    state: &State,
    destroy: bool,
    warnings: &mut Diagnostics,
) -> BTreeMap<String, OutputChange> {
    let mut out = BTreeMap::new();
    let values = if destroy {
        BTreeMap::new()
    } else {
        let ev = Evaluator::new(config, known, Mode::Plan);
        let (values, diags) = ev.outputs();
        warnings.extend(diags);
        values
    };
    for (name, o) in &values {
        let (inner, _) = o.value.unmark_deep();
        let unknown = !inner.is_wholly_known();
        // Plans and state never hold sensitive output values.
        let after = if o.sensitive { None } else { inner.to_json() };
        let before = state.outputs.get(name).map(|s| s.value.clone());
        let action = match (&before, &after) {
            (None, _) => Action::Create,
            (Some(b), Some(a)) if b == a => Action::NoOp,
            (Some(_), None) if o.sensitive && !unknown => Action::NoOp,
            _ => Action::Update,
        };
        out.insert(
            name.clone(),
            OutputChange {
                action,
                before,
                after_unknown: unknown,
                after,
                sensitive: o.sensitive,
            },
        );
    }
    for (name, s) in &state.outputs {
        if !values.contains_key(name) {
            out.insert(
                name.clone(),
                OutputChange {
                    action: Action::Delete,
                    before: Some(s.value.clone()),
                    after: None,
                    after_unknown: false,
                    sensitive: s.sensitive,
                },
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_parse() {
        let (svc, name) =
            parse_task_id("/subscriptions/s/resourceGroups/g/providers/Microsoft.DataMigration/services/n/serviceTasks/t").unwrap();
        assert_eq!(
            (
                svc.subscription_id.as_str(),
                svc.resource_group.as_str(),
                svc.service_name.as_str(),
                name.as_str()
            ),
            ("s", "g", "n", "t")
        );
        assert!(parse_task_id("/subscriptions/s/x").is_none());
    }
}
