//! Terraform's JSON plan representation (`plan -json`, `show -json`), so policy tools
//! written for Terraform plans read dmsform plans. Sensitive values never appear: plans
//! hold none, and `*_sensitive` trees mark where they were.

use super::action::Action;
use super::change::{Plan, ResourceChange};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The format version of the JSON plan (Terraform's current one).
pub const FORMAT_VERSION: &str = "1.2";
/// The provider's name in Terraform's JSON formats.
pub const PROVIDER_NAME: &str = "registry.dmsform.io/dmsform/dms";

fn change_json(c: &ResourceChange) -> Value {
    let mut change = json!({
        "actions": c.action.json_actions(),
        "before": c.before.clone().unwrap_or(Value::Null),
        "after": c.after.clone().unwrap_or(Value::Null),
        "after_unknown": if c.after.is_some() { mask_or_empty(&c.after_unknown) } else { json!(false) },
        "before_sensitive": if c.before.is_some() { mask_or_empty(&c.before_sensitive) } else { json!(false) },
        "after_sensitive": if c.after.is_some() { mask_or_empty(&c.after_sensitive) } else { json!(false) },
    });
    if !c.replace_paths.is_empty() && c.action == Action::Replace {
        change["replace_paths"] =
            json!(c.replace_paths.iter().map(|p| vec![p]).collect::<Vec<_>>());
    }
    if c.action == Action::Adopt
        && let Some(id) = c
            .before
            .as_ref()
            .and_then(|b| b.get("id"))
            .or_else(|| c.after.as_ref().and_then(|a| a.get("id")))
    {
        change["importing"] = json!({ "id": id });
    }
    let mut rc = json!({
        "address": c.address,
        "mode": c.mode,
        "type": c.kind,
        "name": c.name,
        "provider_name": PROVIDER_NAME,
        "change": change,
    });
    if let Some(i) = &c.index {
        rc["index"] = i.clone();
    }
    if let Some(reason) = c.reasons.iter().find_map(|r| r.terraform_reason()) {
        rc["action_reason"] = json!(reason);
    }
    rc["dmsform_reasons"] = json!(c.reasons);
    rc
}

fn mask_or_empty(m: &Value) -> Value {
    if m.is_null() { json!({}) } else { m.clone() }
}

/// The parts of a JSON plan that come from outside the plan itself, each already in
/// Terraform's representation and free of secrets; each is written when given.
#[derive(Debug, Clone, Default)]
pub struct PlanContext {
    /// The refreshed state the plan was made against ([`prior_state_json`]).
    pub prior_state: Option<Value>,
    /// [`crate::config::json::configuration_json`].
    pub configuration: Option<Value>,
    /// [`crate::drift::checks::checks_json`].
    pub checks: Option<Value>,
}

/// The JSON plan. `variables` are the non-sensitive input variables.
pub fn plan_json(p: &Plan, variables: &BTreeMap<String, Value>, ctx: PlanContext) -> Value {
    let resource_changes: Vec<Value> = p.changes.iter().map(change_json).collect();
    let resource_drift: Vec<Value> = p.drift.iter().map(change_json).collect();
    let mut output_changes = Map::new();
    let mut planned_outputs = Map::new();
    for (name, o) in &p.outputs {
        output_changes.insert(
            name.clone(),
            json!({
                "actions": o.action.json_actions(),
                "before": if o.sensitive { Value::Null } else { o.before.clone().unwrap_or(Value::Null) },
                "after": if o.sensitive || o.after_unknown { Value::Null } else { o.after.clone().unwrap_or(Value::Null) },
                "after_unknown": o.after_unknown,
                "before_sensitive": o.sensitive,
                "after_sensitive": o.sensitive,
            }),
        );
        if o.action != Action::Delete {
            let mut po = json!({ "sensitive": o.sensitive });
            if !o.sensitive && !o.after_unknown {
                po["value"] = o.after.clone().unwrap_or(Value::Null);
            }
            planned_outputs.insert(name.clone(), po);
        }
    }
    // A module resource per planned instance: its values, or which of them are unknown.
    let module_resources = |unknown_mask: bool| -> Vec<Value> {
        p.changes
            .iter()
            .filter(|c| !matches!(c.action, Action::Delete))
            .map(|c| {
                let mut r = json!({
                    "address": c.address,
                    "mode": c.mode,
                    "type": c.kind,
                    "name": c.name,
                    "provider_name": PROVIDER_NAME,
                    "schema_version": 0,
                });
                if unknown_mask {
                    r["values"] = mask_or_empty(&c.after_unknown);
                } else {
                    r["values"] = c.after.clone().unwrap_or(Value::Null);
                    r["sensitive_values"] = mask_or_empty(&c.after_sensitive);
                }
                if let Some(i) = &c.index {
                    r["index"] = i.clone();
                }
                r
            })
            .collect()
    };
    let planned_resources = module_resources(false);
    let proposed_unknown = module_resources(true);
    let vars: Map<String, Value> = variables
        .iter()
        .map(|(k, v)| (k.clone(), json!({ "value": v })))
        .collect();
    let mut doc = json!({
        "format_version": FORMAT_VERSION,
        "dmsform_version": env!("CARGO_PKG_VERSION"),
        "variables": vars,
        "planned_values": {
            "outputs": planned_outputs,
            "root_module": { "resources": planned_resources },
        },
        "proposed_unknown": { "root_module": { "resources": proposed_unknown } },
        "resource_drift": resource_drift,
        "resource_changes": resource_changes,
        "output_changes": output_changes,
        "relevant_attributes": [],
        "applyable": p.has_changes(),
        "complete": true,
        "errored": false,
        "timestamp": crate::state::lock::now_rfc3339(),
    });
    if let Some(ps) = ctx.prior_state {
        doc["prior_state"] = ps;
    }
    if let Some(c) = ctx.configuration {
        doc["configuration"] = c;
    }
    if let Some(c) = ctx.checks {
        doc["checks"] = c;
    }
    doc
}

/// A plan's `prior_state`: Terraform's state representation of the refreshed state.
pub fn prior_state_json(state: &crate::state::State) -> Value {
    let mut ps = crate::state::show::state_json(state);
    if let Some(m) = ps.as_object_mut() {
        m.remove("dmsform_version");
    }
    ps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_fields_and_no_secrets() {
        let p = super::super::render_tests::sample_plan();
        let j = plan_json(
            &p,
            &BTreeMap::from([("region".to_string(), json!("westeurope"))]),
            PlanContext::default(),
        );
        for field in [
            "format_version",
            "variables",
            "planned_values",
            "resource_changes",
            "resource_drift",
            "output_changes",
        ] {
            assert!(j.get(field).is_some(), "missing {field}");
        }
        let rc = &j["resource_changes"];
        assert_eq!(rc[0]["change"]["actions"], json!(["create"]));
        assert_eq!(rc[2]["change"]["actions"], json!(["delete", "create"]));
        assert_eq!(rc[2]["action_reason"], "replace_because_cannot_update");
        assert_eq!(
            rc[2]["change"]["replace_paths"],
            json!([["server_version"]])
        );
        assert_eq!(
            rc[0]["change"]["after_sensitive"]["driver_share"]["password"],
            true
        );
        assert!(rc[0]["change"]["after"]["driver_share"]["password"].is_null());
        assert_eq!(
            rc[1]["change"]["after_unknown"]["driver_package_name"],
            true
        );
        assert_eq!(j["variables"]["region"]["value"], "westeurope");
        assert_eq!(j["output_changes"]["packages"]["after_unknown"], true);
    }

    #[test]
    fn json_plan_snapshot() {
        let p = super::super::render_tests::sample_plan();
        let mut j = plan_json(
            &p,
            &BTreeMap::from([("region".to_string(), json!("westeurope"))]),
            PlanContext::default(),
        );
        j["timestamp"] = json!("(timestamp)");
        j["dmsform_version"] = json!("(version)");
        insta::assert_json_snapshot!(j);
    }
}
