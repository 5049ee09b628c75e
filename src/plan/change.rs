//! A plan in memory: the changes to resource instances and outputs, with values as JSON
//! plus masks marking what is unknown until apply and what is sensitive (Terraform's
//! `after_unknown` / `after_sensitive` trees).

use super::action::{Action, Reason};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One resource instance's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceChange {
    pub address: String,
    /// `managed` or `data`.
    pub mode: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    /// The `count` index or `for_each` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<Value>,
    pub action: Action,
    #[serde(default)]
    pub reasons: Vec<Reason>,
    pub before: Option<Value>,
    #[serde(default)]
    pub before_sensitive: Value,
    pub after: Option<Value>,
    #[serde(default)]
    pub after_unknown: Value,
    #[serde(default)]
    pub after_sensitive: Value,
    /// Top-level attributes whose change forces replacement.
    #[serde(default)]
    pub replace_paths: Vec<String>,
    /// Nested block attributes of this type (rendered as blocks).
    #[serde(default)]
    pub blocks: Vec<String>,
}

impl ResourceChange {
    pub fn is_change(&self) -> bool {
        self.action.is_change()
    }
}

/// One output's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputChange {
    pub action: Action,
    pub before: Option<Value>,
    pub after: Option<Value>,
    #[serde(default)]
    pub after_unknown: bool,
    #[serde(default)]
    pub sensitive: bool,
}

/// Counts for the `Plan: …` line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub adopt: usize,
}

/// A whole plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub changes: Vec<ResourceChange>,
    /// Objects that changed outside dmsform since the last apply (refresh results).
    #[serde(default)]
    pub drift: Vec<ResourceChange>,
    #[serde(default)]
    pub outputs: BTreeMap<String, OutputChange>,
    #[serde(default)]
    pub destroy: bool,
    #[serde(default)]
    pub refresh_only: bool,
    /// Plan-time errors that do not stop planning (e.g. prevent_destroy), already rendered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1
                }
                Action::Delete => s.destroy += 1,
                Action::Adopt => s.adopt += 1,
                Action::NoOp | Action::Read => {}
            }
        }
        s
    }

    /// Whether applying would change anything (resources, outputs, or — for a
    /// refresh-only plan — state because of drift).
    pub fn has_changes(&self) -> bool {
        if self.refresh_only {
            return !self.drift.is_empty();
        }
        self.changes.iter().any(|c| c.is_change())
            || self.outputs.values().any(|o| o.action != Action::NoOp)
    }
}
