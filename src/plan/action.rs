//! What a plan does to one resource instance, and why.

use serde::{Deserialize, Serialize};

/// The closed set of actions (style rule 1). Replace is a variant, not a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    NoOp,
    Create,
    /// PATCH in place (only `client_data` is mutable).
    Update,
    /// Delete, then create.
    Replace,
    Delete,
    /// Record an existing remote task in state without touching it.
    Adopt,
    /// Read a data source during plan.
    Read,
}

impl Action {
    /// The plan symbol, as Terraform prints it.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::Adopt => "<=",
            Action::Read => "<=",
        }
    }

    /// Terraform's JSON `actions` list.
    pub fn json_actions(self) -> &'static [&'static str] {
        match self {
            Action::NoOp | Action::Adopt => &["no-op"],
            Action::Create => &["create"],
            Action::Update => &["update"],
            Action::Replace => &["delete", "create"],
            Action::Delete => &["delete"],
            Action::Read => &["read"],
        }
    }

    /// The phrase after the address in `# ADDR will be …`.
    pub fn phrase(self) -> &'static str {
        match self {
            Action::NoOp => "is unchanged",
            Action::Create => "will be created",
            Action::Update => "will be updated in-place",
            Action::Replace => "must be replaced",
            Action::Delete => "will be destroyed",
            Action::Adopt => "will be adopted",
            Action::Read => "will be read during apply",
        }
    }

    pub fn is_change(self) -> bool {
        !matches!(self, Action::NoOp | Action::Read)
    }
}

/// Why an action was chosen; shown in the plan, never used to drive apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// Not in state: a new task.
    NotInState,
    /// In state, but the remote task is gone.
    Vanished,
    /// An input or identity argument changed (the paths).
    ArgumentsChanged { paths: Vec<String> },
    /// A secret input changed (its digest no longer matches).
    SecretChanged { paths: Vec<String> },
    /// The remote task ended in a state that is not success.
    RemoteFailed { state: String },
    /// Recorded as tainted (a failed or interrupted earlier apply).
    Tainted,
    /// `client_data` differs.
    ClientDataChanged,
    /// In state but no longer in the configuration.
    NoConfig,
    /// `-replace ADDR` asked for it.
    ReplaceRequested,
    /// A `lifecycle.replace_triggered_by` reference changed.
    ReplaceTriggered { by: String },
    /// A task with this id exists remotely with the same input: it is taken over.
    ExistsRemotely,
    /// A task with this id exists remotely with other input: it is replaced.
    ExistsRemotelyDifferent,
    /// `-destroy` plan.
    DestroyRequested,
}

impl Reason {
    /// A sentence for the human plan.
    pub fn describe(&self) -> String {
        match self {
            Reason::NotInState => "not in the state yet".into(),
            Reason::Vanished => "the remote task no longer exists".into(),
            Reason::ArgumentsChanged { paths } => format!("changed: {}", paths.join(", ")),
            Reason::SecretChanged { paths } => format!("secret changed: {}", paths.join(", ")),
            Reason::RemoteFailed { state } => format!("the remote task ended in {state}"),
            Reason::Tainted => "it is tainted, so must be replaced".into(),
            Reason::ClientDataChanged => "client_data changed".into(),
            Reason::NoConfig => "it is no longer in the configuration".into(),
            Reason::ReplaceRequested => "replacement requested with -replace".into(),
            Reason::ReplaceTriggered { by } => format!("replace_triggered_by {by} changed"),
            Reason::ExistsRemotely => {
                "a task with this id already exists remotely with the same input".into()
            }
            Reason::ExistsRemotelyDifferent => {
                "a task with this id already exists remotely with different input".into()
            }
            Reason::DestroyRequested => "destroy requested".into(),
        }
    }

    /// Terraform's `action_reason` value, where one fits.
    pub fn terraform_reason(&self) -> Option<&'static str> {
        Some(match self {
            Reason::Tainted | Reason::RemoteFailed { .. } => "replace_because_tainted",
            Reason::ArgumentsChanged { .. }
            | Reason::SecretChanged { .. }
            | Reason::ExistsRemotelyDifferent => "replace_because_cannot_update",
            Reason::ReplaceRequested => "replace_by_request",
            Reason::ReplaceTriggered { .. } => "replace_by_triggers",
            Reason::NoConfig => "delete_because_no_resource_config",
            _ => return None,
        })
    }
}
