//! The state model (design §6): what dmsform knows of the tasks it manages. Pure data; the
//! file format lives in `state::file`, storage in `state::backend`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The newest state format version this build writes.
pub const STATE_VERSION: u64 = 1;

/// Everything recorded about one configuration's managed tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u64,
    /// Identifies one state's history; a plan or state from another lineage is refused.
    pub lineage: String,
    /// Incremented on every write.
    pub serial: u64,
    pub dmsform_version: String,
    #[serde(default)]
    pub outputs: BTreeMap<String, OutputState>,
    #[serde(default)]
    pub resources: Vec<ResourceState>,
    /// Results of `check` blocks from the last run, by check name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, CheckResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputState {
    pub value: Value,
    #[serde(default)]
    pub sensitive: bool,
}

/// Whether the recorded task can be trusted as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The task finished as intended.
    Ready,
    /// The task failed or was cancelled; the next plan replaces it.
    Tainted,
    /// A remote write was started and its outcome is not recorded yet (see `pending`).
    Pending,
}

/// The remote write a run was about to make (or making) when it last wrote state. A run
/// that finds one resolves it by reading the task first (design §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    /// `create`, `update` or `delete`.
    pub operation: String,
    /// The ARM id of the task being written.
    pub id: String,
    /// Digest of the input sent (secrets only as their salted digests).
    pub input_digest: String,
    /// RFC 3339 time the intent was recorded.
    pub started_at: String,
    /// The run that recorded it.
    pub run_id: String,
}

/// One managed task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    /// `type.name` or `type.name[key]`.
    pub address: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The task's ARM id.
    pub id: String,
    pub status: Status,
    #[serde(default)]
    pub pending: Option<Intent>,
    /// Arguments and read-only attributes, secrets removed.
    #[serde(default)]
    pub attributes: Value,
    /// Salted slow digests of secret arguments, by attribute path.
    #[serde(default)]
    pub sensitive_digests: BTreeMap<String, String>,
    #[serde(default)]
    pub dependencies: Vec<String>,
}

/// The outcome of one `check` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// `pass`, `fail` or `unknown`.
    pub status: String,
    #[serde(default)]
    pub failures: Vec<String>,
}

impl State {
    /// A new, empty state with a fresh lineage.
    pub fn new() -> State {
        State {
            version: STATE_VERSION,
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            dmsform_version: env!("CARGO_PKG_VERSION").to_string(),
            outputs: BTreeMap::new(),
            resources: Vec::new(),
            checks: BTreeMap::new(),
        }
    }

    pub fn resource(&self, address: &str) -> Option<&ResourceState> {
        self.resources.iter().find(|r| r.address == address)
    }

    pub fn resource_mut(&mut self, address: &str) -> Option<&mut ResourceState> {
        self.resources.iter_mut().find(|r| r.address == address)
    }

    /// Inserts or replaces the resource with the same address, keeping addresses sorted.
    pub fn upsert(&mut self, r: ResourceState) {
        match self
            .resources
            .binary_search_by(|x| x.address.as_str().cmp(&r.address))
        {
            Ok(i) => self.resources[i] = r,
            Err(i) => self.resources.insert(i, r),
        }
    }

    pub fn remove(&mut self, address: &str) -> Option<ResourceState> {
        let i = self.resources.iter().position(|r| r.address == address)?;
        Some(self.resources.remove(i))
    }
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(addr: &str) -> ResourceState {
        ResourceState {
            address: addr.into(),
            kind: "dms_oci_driver_check".into(),
            id: format!("/x/{addr}"),
            status: Status::Ready,
            pending: None,
            attributes: Value::Null,
            sensitive_digests: BTreeMap::new(),
            dependencies: vec![],
        }
    }

    #[test]
    fn upsert_keeps_order_and_replaces() {
        let mut s = State::new();
        s.upsert(res("b"));
        s.upsert(res("a"));
        s.upsert(res("c"));
        let mut b2 = res("b");
        b2.status = Status::Tainted;
        s.upsert(b2);
        let addrs: Vec<_> = s.resources.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(addrs, ["a", "b", "c"]);
        assert_eq!(s.resource("b").unwrap().status, Status::Tainted);
        assert!(s.remove("a").is_some());
        assert!(s.resource("a").is_none());
        assert_ne!(State::new().lineage, State::new().lineage);
    }
}
