//! The pure diff (design §4): desired instances against the refreshed state, to actions
//! with reasons. No I/O; the planner gathers its inputs (evaluated configuration, state,
//! what refresh and the remote probes found).

use super::action::{Action, Reason};
use super::change::{Plan, ResourceChange};
use crate::secret::Digester;
use crate::secret::sensitive_mask;
use crate::state::{ResourceState, Status};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Identity arguments: changing one names another task, so it forces replacement.
pub const IDENTITY: [&str; 3] = ["group_name", "service_name", "task_name"];
/// Attributes the service computes.
pub const COMPUTED: [&str; 4] = ["state", "errors", "output", "id"];
/// Task states that mean the task did not do its work.
pub const FAILED_STATES: [&str; 4] = ["Failed", "FailedInputValidation", "Faulted", "Canceled"];

/// Input arguments of a resource type (dotted paths); a change forces replacement.
pub fn input_paths(kind: &str) -> &'static [&'static str] {
    match kind {
        "dms_oci_driver_check" => &["server_version"],
        "dms_oci_driver_upload" => &[
            "driver_share.path",
            "driver_share.user_name",
            "driver_share.password",
            "driver_share.sas_uri",
        ],
        "dms_oci_driver_install" => &["driver_package_name"],
        _ => &[],
    }
}

/// Nested blocks of a resource type.
pub fn blocks(kind: &str) -> Vec<String> {
    if kind == "dms_oci_driver_upload" {
        vec!["driver_share".into()]
    } else {
        vec![]
    }
}

/// Secret arguments (dotted paths): never stored, compared through digests.
pub fn secret_paths(kind: &str) -> &'static [&'static str] {
    if kind == "dms_oci_driver_upload" {
        &["driver_share.password", "driver_share.sas_uri"]
    } else {
        &[]
    }
}

/// One resource instance as the configuration wants it.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub address: String,
    pub kind: String,
    pub name: String,
    pub index: Option<Value>,
    /// Arguments; unknown leaves are null here and `true` in `unknown`. Secrets are null.
    pub args: Value,
    pub unknown: Value,
    /// Secret arguments by dotted path (`None` when unknown until apply).
    pub secrets: BTreeMap<String, Option<String>>,
    /// The task's ARM id (known when the identity is).
    pub id: Option<String>,
    pub prevent_destroy: bool,
    /// Dotted paths whose changes are ignored.
    pub ignore_changes: Vec<String>,
    /// A `replace_triggered_by` reference that changed in this plan.
    pub triggered_by: Option<String>,
}

/// What refresh found for a task in state.
#[derive(Debug, Clone, PartialEq)]
pub enum Remote {
    /// The task exists; its current computed attributes (`state`, `errors`, `output`).
    Present(Value),
    /// The task no longer exists.
    Gone,
    /// Refresh was skipped (`-refresh=false`).
    NotRefreshed,
}

/// What a look-up of a new instance's id found remotely.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    Absent,
    /// A task with that id exists; `input_matches` compares its non-secret input.
    Exists {
        input_matches: bool,
        attrs: Value,
    },
}

#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    pub destroy: bool,
    pub refresh_only: bool,
    /// `-replace` addresses.
    pub replace: BTreeSet<String>,
}

fn get_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |cur, seg| cur.get(seg))
}

fn is_unknown(mask: &Value, path: &str) -> bool {
    let mut cur = mask;
    for seg in path.split('.') {
        if cur == &Value::Bool(true) {
            return true;
        }
        match cur.get(seg) {
            Some(next) => cur = next,
            None => return false,
        }
    }
    cur == &Value::Bool(true)
}

fn null_if_missing(v: Option<&Value>) -> Value {
    v.cloned().unwrap_or(Value::Null)
}

/// The planned value of a created or replaced task: arguments, a known id, and the
/// computed attributes unknown.
fn planned_after(d: &Desired) -> (Value, Value) {
    let mut after = d.args.clone();
    let mut unknown = d.unknown.clone();
    if !unknown.is_object() {
        unknown = json!({});
    }
    if let Value::Object(m) = &mut after {
        m.insert(
            "id".into(),
            d.id.clone().map(Value::String).unwrap_or(Value::Null),
        );
        for k in ["state", "errors", "output"] {
            m.insert(k.into(), Value::Null);
            unknown[k] = json!(true);
        }
    }
    if d.id.is_none() {
        unknown["id"] = json!(true);
    }
    (after, unknown)
}

fn change(d_or_s: (&str, &str, &str, Option<Value>), action: Action) -> ResourceChange {
    let (address, kind, name, index) = d_or_s;
    ResourceChange {
        address: address.into(),
        mode: "managed".into(),
        kind: kind.into(),
        name: name.into(),
        index,
        action,
        reasons: vec![],
        before: None,
        before_sensitive: json!({}),
        after: None,
        after_unknown: json!({}),
        after_sensitive: json!({}),
        replace_paths: vec![],
        blocks: blocks(kind),
    }
}

/// The name and index of a state address `type.name[key]`.
fn name_of(address: &str) -> (String, Option<Value>) {
    let rest = address.split_once('.').map(|(_, r)| r).unwrap_or(address);
    match rest.split_once('[') {
        Some((n, idx)) => {
            let idx = idx.trim_end_matches(']');
            let v = serde_json::from_str(idx).unwrap_or_else(|_| Value::String(idx.to_string()));
            (n.to_string(), Some(v))
        }
        None => (rest.to_string(), None),
    }
}

/// State attributes updated with what refresh found.
pub fn refreshed_attrs(s: &ResourceState, remote: &Remote) -> Value {
    let mut attrs = s.attributes.clone();
    if let (Remote::Present(found), Value::Object(m)) = (remote, &mut attrs)
        && let Value::Object(f) = found
    {
        for (k, v) in f {
            m.insert(k.clone(), v.clone());
        }
    }
    attrs
}

/// A drift entry when refresh found the task different from what state recorded.
fn drift_entry(s: &ResourceState, remote: &Remote) -> Option<ResourceChange> {
    let (name, index) = name_of(&s.address);
    match remote {
        Remote::Gone => {
            let mut c = change((&s.address, &s.kind, &name, index), Action::Delete);
            c.before = Some(s.attributes.clone());
            Some(c)
        }
        Remote::Present(_) => {
            let after = refreshed_attrs(s, remote);
            if after == s.attributes {
                return None;
            }
            let mut c = change((&s.address, &s.kind, &name, index), Action::Update);
            c.before = Some(s.attributes.clone());
            c.after = Some(after);
            Some(c)
        }
        Remote::NotRefreshed => None,
    }
}

/// Diffs desired instances against the refreshed state.
///
/// `prior` pairs each state resource with what refresh found; `probes` holds, for
/// instances not in state, what a look-up of their id found. Errors (e.g. a destroy
/// refused by `prevent_destroy`) are returned as messages naming the resource.
pub fn diff(
    desired: &[Desired],
    prior: &[(ResourceState, Remote)],
    probes: &BTreeMap<String, Probe>,
    opts: &DiffOptions,
    digester: &Digester,
) -> Result<Plan, Vec<String>> {
    let mut plan = Plan {
        changes: vec![],
        drift: vec![],
        outputs: BTreeMap::new(),
        destroy: opts.destroy,
        refresh_only: opts.refresh_only,
        notes: vec![],
    };
    let mut errors = vec![];
    plan.drift = prior
        .iter()
        .filter_map(|(s, r)| drift_entry(s, r))
        .collect();
    if opts.refresh_only {
        return Ok(plan);
    }
    let by_addr: BTreeMap<&str, &(ResourceState, Remote)> =
        prior.iter().map(|p| (p.0.address.as_str(), p)).collect();
    let wanted: BTreeSet<&str> = desired.iter().map(|d| d.address.as_str()).collect();
    let protected: BTreeSet<&str> = desired
        .iter()
        .filter(|d| d.prevent_destroy)
        .map(|d| d.address.as_str())
        .collect();

    for (s, remote) in prior {
        if opts.destroy || !wanted.contains(s.address.as_str()) {
            if protected.contains(s.address.as_str()) {
                errors.push(format!(
                    "Instance cannot be destroyed: {} has lifecycle.prevent_destroy set, but the plan calls for it to be destroyed. To avoid this error and continue with the plan, either disable lifecycle.prevent_destroy or reduce the scope of the plan using the -target flag.",
                    s.address
                ));
                continue;
            }
            if *remote == Remote::Gone {
                continue; // nothing left to delete; state forgets it on apply
            }
            let (name, index) = name_of(&s.address);
            let mut c = change((&s.address, &s.kind, &name, index), Action::Delete);
            c.before_sensitive = sensitive_mask(s.sensitive_digests.keys().map(String::as_str));
            c.before = Some(refreshed_attrs(s, remote));
            c.reasons.push(if opts.destroy {
                Reason::DestroyRequested
            } else {
                Reason::NoConfig
            });
            plan.changes.push(c);
        }
    }
    if opts.destroy {
        return if errors.is_empty() {
            Ok(plan)
        } else {
            Err(errors)
        };
    }

    for d in desired {
        let mut c = change(
            (&d.address, &d.kind, &d.name, d.index.clone()),
            Action::NoOp,
        );
        c.after_sensitive = sensitive_mask(d.secrets.keys().map(String::as_str));
        if let Some((s, _)) = by_addr.get(d.address.as_str()) {
            c.before_sensitive = sensitive_mask(s.sensitive_digests.keys().map(String::as_str));
        }
        let (after, after_unknown) = planned_after(d);
        match by_addr.get(d.address.as_str()) {
            None => match probes.get(&d.address) {
                Some(Probe::Exists {
                    input_matches: true,
                    attrs,
                }) => {
                    c.action = Action::Adopt;
                    c.reasons.push(Reason::ExistsRemotely);
                    let mut a = d.args.clone();
                    if let (Value::Object(m), Value::Object(f)) = (&mut a, attrs) {
                        m.insert(
                            "id".into(),
                            d.id.clone().map(Value::String).unwrap_or(Value::Null),
                        );
                        for (k, v) in f {
                            m.insert(k.clone(), v.clone());
                        }
                    }
                    c.after = Some(a);
                }
                Some(Probe::Exists {
                    input_matches: false,
                    attrs,
                }) => {
                    c.action = Action::Replace;
                    c.reasons.push(Reason::ExistsRemotelyDifferent);
                    let mut before = json!({"id": d.id});
                    if let (Value::Object(m), Value::Object(f)) = (&mut before, attrs) {
                        for (k, v) in f {
                            m.insert(k.clone(), v.clone());
                        }
                    }
                    c.before = Some(before);
                    c.after = Some(after);
                    c.after_unknown = after_unknown;
                }
                _ => {
                    c.action = Action::Create;
                    c.reasons.push(Reason::NotInState);
                    c.after = Some(after);
                    c.after_unknown = after_unknown;
                }
            },
            Some((s, remote)) => {
                let before = refreshed_attrs(s, remote);
                c.before = Some(before.clone());
                c.after = Some(after.clone());
                c.after_unknown = after_unknown.clone();
                let remote_state = get_path(&before, "state")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let mut replace_reasons = vec![];
                if *remote == Remote::Gone {
                    c.action = Action::Create;
                    c.reasons.push(Reason::Vanished);
                    c.before = None;
                    plan.changes.push(c);
                    continue;
                }
                if opts.replace.contains(&d.address) {
                    replace_reasons.push(Reason::ReplaceRequested);
                }
                if let Some(by) = &d.triggered_by {
                    replace_reasons.push(Reason::ReplaceTriggered { by: by.clone() });
                }
                if s.status == Status::Tainted {
                    replace_reasons.push(Reason::Tainted);
                } else if FAILED_STATES.contains(&remote_state) {
                    replace_reasons.push(Reason::RemoteFailed {
                        state: remote_state.to_string(),
                    });
                }
                let mut changed = vec![];
                let mut top = BTreeSet::new();
                for p in IDENTITY.iter().chain(input_paths(&d.kind)) {
                    if d.ignore_changes
                        .iter()
                        .any(|i| p == i || p.starts_with(&format!("{i}.")))
                    {
                        continue;
                    }
                    let differs = if let Some(secret) = d.secrets.get(*p) {
                        match (secret, s.sensitive_digests.get(*p)) {
                            (None, _) => true,
                            (Some(v), Some(digest)) => !digester.matches(v, digest),
                            (Some(_), None) => true,
                        }
                    } else if secret_paths(&d.kind).contains(p) {
                        s.sensitive_digests.contains_key(*p)
                    } else {
                        is_unknown(&d.unknown, p)
                            || null_if_missing(get_path(&d.args, p))
                                != null_if_missing(get_path(&s.attributes, p))
                    };
                    if differs {
                        changed.push(p.to_string());
                        top.insert(p.split('.').next().unwrap_or(p).to_string());
                    }
                }
                let (secrets, plain): (Vec<String>, Vec<String>) = changed
                    .into_iter()
                    .partition(|p| secret_paths(&d.kind).contains(&p.as_str()));
                if !plain.is_empty() {
                    replace_reasons.push(Reason::ArgumentsChanged { paths: plain });
                }
                if !secrets.is_empty() {
                    replace_reasons.push(Reason::SecretChanged { paths: secrets });
                }
                if !replace_reasons.is_empty() {
                    c.action = Action::Replace;
                    c.reasons = replace_reasons;
                    c.replace_paths = top.into_iter().collect();
                } else if !d.ignore_changes.iter().any(|i| i == "client_data")
                    && null_if_missing(get_path(&d.args, "client_data"))
                        != null_if_missing(get_path(&before, "client_data"))
                {
                    c.action = Action::Update;
                    c.reasons.push(Reason::ClientDataChanged);
                    // An update keeps the computed attributes.
                    let mut a = before.clone();
                    if let Value::Object(m) = &mut a {
                        m.insert(
                            "client_data".into(),
                            null_if_missing(get_path(&d.args, "client_data")),
                        );
                    }
                    c.after = Some(a);
                    c.after_unknown = json!({});
                } else {
                    c.action = Action::NoOp;
                    c.after = Some(before);
                    c.after_unknown = json!({});
                }
            }
        }
        plan.changes.push(c);
    }
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
}

/// A state resource's attributes for a desired instance that was applied: arguments
/// (secrets left out) plus what the service reported.
pub fn state_attributes(d: &Desired, computed: &Value) -> Value {
    let mut m: Map<String, Value> = match &d.args {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    m.insert(
        "id".into(),
        d.id.clone().map(Value::String).unwrap_or(Value::Null),
    );
    if let Value::Object(c) = computed {
        for (k, v) in c {
            m.insert(k.clone(), v.clone());
        }
    }
    Value::Object(m)
}
