//! Saved plans (`plan -out FILE`): a versioned JSON file holding the changes, the state's
//! lineage and serial, a digest of the configuration, the non-sensitive variable values,
//! and salted slow digests of the sensitive ones — never a sensitive value itself.

use super::change::Plan;
use crate::config::Config;
use crate::secret::Digester;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The newest plan file format this build writes.
pub const PLANFILE_VERSION: u64 = 1;

/// How the plan was asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanOptions {
    pub destroy: bool,
    pub refresh_only: bool,
    pub targets: Vec<String>,
    pub replace: BTreeSet<String>,
}

/// A saved plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanFile {
    pub format_version: u64,
    pub dmsform_version: String,
    /// Lineage and serial of the state the plan was made against (`None`: no state yet).
    pub lineage: Option<String>,
    pub serial: u64,
    pub config_digest: String,
    pub variables: BTreeMap<String, Value>,
    pub sensitive_variables: BTreeMap<String, String>,
    pub options: PlanOptions,
    pub plan: Plan,
    /// For `show -json FILE`: the refreshed prior state and the configuration in
    /// Terraform's JSON representations (both free of secrets). Absent in plan files
    /// written before they were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_state: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<Value>,
    /// The check results at plan time, in the JSON plan's `checks` representation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<Value>,
}

/// Why a plan file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read the plan file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a dmsform plan file: {why}")]
    Invalid { path: String, why: String },
    #[error(
        "the plan file {path} was written by a newer dmsform (format {found}); upgrade dmsform"
    )]
    TooNew { path: String, found: u64 },
    #[error(
        "Saved plan is stale\n\nThe given plan file can no longer be applied because the state was changed by another operation after the plan was created (plan: lineage {plan_lineage}, serial {plan_serial}; state: lineage {state_lineage}, serial {state_serial}). Run dmsform plan again."
    )]
    Stale {
        plan_lineage: String,
        plan_serial: u64,
        state_lineage: String,
        state_serial: u64,
    },
    #[error(
        "Saved plan does not match the configuration\n\nThe configuration files changed after the plan was created. Run dmsform plan again."
    )]
    ConfigChanged,
    #[error(
        "Saved plan does not match the variables\n\nThe value of variable {0:?} differs from the one the plan was made with. Give the same -var and -var-file values, environment variables and variable files as when planning."
    )]
    VariableChanged(String),
}

/// A digest of every configuration file of `dir` (names and contents).
pub fn config_digest(dir: &Path) -> String {
    let mut h = Sha256::new();
    for f in crate::config::parse::config_files(dir).unwrap_or_default() {
        h.update(
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
                .as_bytes(),
        );
        h.update([0u8]);
        h.update(std::fs::read(&f).unwrap_or_default());
        h.update([0u8]);
    }
    format!(
        "sha256:{}",
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// Variable values split into plain JSON and digests of the sensitive ones.
pub fn variables(
    config: &Config,
    digester: &Digester,
) -> (BTreeMap<String, Value>, BTreeMap<String, String>) {
    let mut plain = BTreeMap::new();
    let mut secret = BTreeMap::new();
    // A variable that feeds a password or SAS URI is a secret, marked sensitive or not.
    let secret_fed = crate::config::refs::secret_variables(config);
    for (name, v) in &config.var_values {
        let sensitive = config.variables.get(name).is_some_and(|d| d.sensitive)
            || v.contains_sensitive()
            || secret_fed.contains(name);
        let json = v.unmark_deep().0.to_json().unwrap_or(Value::Null);
        if sensitive {
            secret.insert(name.clone(), digester.digest(&json.to_string()));
        } else {
            plain.insert(name.clone(), json);
        }
    }
    (plain, secret)
}

impl PlanFile {
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::state::backend::local::write_atomic(path, &bytes)
    }

    pub fn read(path: &Path) -> Result<PlanFile, PlanFileError> {
        let p = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| PlanFileError::Read {
            path: p.clone(),
            source,
        })?;
        let raw: Value = serde_json::from_slice(&bytes).map_err(|e| PlanFileError::Invalid {
            path: p.clone(),
            why: e.to_string(),
        })?;
        let version = raw
            .get("format_version")
            .and_then(Value::as_u64)
            .ok_or_else(|| PlanFileError::Invalid {
                path: p.clone(),
                why: "no format_version".into(),
            })?;
        if version > PLANFILE_VERSION {
            return Err(PlanFileError::TooNew {
                path: p,
                found: version,
            });
        }
        serde_json::from_value(raw).map_err(|e| PlanFileError::Invalid {
            path: p,
            why: e.to_string(),
        })
    }

    /// Checks that the plan still fits the state, configuration and variables.
    pub fn check(
        &self,
        state: Option<&crate::state::State>,
        dir: &Path,
        config: &Config,
        digester: &Digester,
    ) -> Result<(), PlanFileError> {
        let (lineage, serial) = state
            .map(|s| (Some(s.lineage.clone()), s.serial))
            .unwrap_or((None, 0));
        if lineage != self.lineage || serial != self.serial {
            return Err(PlanFileError::Stale {
                plan_lineage: self.lineage.clone().unwrap_or_else(|| "(none)".into()),
                plan_serial: self.serial,
                state_lineage: lineage.unwrap_or_else(|| "(none)".into()),
                state_serial: serial,
            });
        }
        if config_digest(dir) != self.config_digest {
            return Err(PlanFileError::ConfigChanged);
        }
        for (name, v) in &config.var_values {
            let json = v.unmark_deep().0.to_json().unwrap_or(Value::Null);
            if let Some(d) = self.sensitive_variables.get(name) {
                if !digester.matches(&json.to_string(), d) {
                    return Err(PlanFileError::VariableChanged(name.clone()));
                }
            } else if self.variables.get(name) != Some(&json) {
                return Err(PlanFileError::VariableChanged(name.clone()));
            }
        }
        Ok(())
    }
}
