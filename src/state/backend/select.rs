//! Opens the backend the configuration names: `dmsform { backend "…" { … } }` in the
//! working directory, else the local default `dmsform.state.json`. Also records which
//! backend was last initialised (`.dmsform/backend.json`, written by `dmsform init`),
//! without any credential, so a configuration change can be noticed and migrated.

use super::azurerm::{AzureRmBackend, AzureRmConfig};
use super::{LocalBackend, StateError, StateStore};
use crate::config::{Backend, LoadOptions, Mode};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where `dmsform init` records the backend it initialised, relative to the working dir.
pub const BACKEND_RECORD: &str = ".dmsform/backend.json";

/// Opens the store for `backend` in the working directory `dir`, reading credentials the
/// settings leave out from the process environment.
pub fn open(backend: &Backend, dir: &Path) -> Result<Box<dyn StateStore>, StateError> {
    open_with_env(backend, dir, &|n| std::env::var(n).ok())
}

/// [`open`] with the environment given.
pub fn open_with_env(
    backend: &Backend,
    dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn StateStore>, StateError> {
    Ok(match backend {
        Backend::Local { path } => Box::new(LocalBackend::new(resolve(dir, path))),
        Backend::AzureRm { .. } => {
            let cfg = AzureRmConfig::from_settings(backend, env)
                .map_err(super::azurerm::AzureRmError::Config)?;
            Box::new(AzureRmBackend::new(cfg, dir)?)
        }
    })
}

fn resolve(dir: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() || dir == Path::new(".") {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

/// The backend configured in `dir`: from its `*.hcl` files, or the local default when
/// there are none. Loads in validate mode, so unset variables are no error here.
pub fn configured(dir: &Path) -> Result<Backend, crate::config::LoadFailure> {
    let has_config = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten().any(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.ends_with(".hcl") && !n.ends_with(".vars.hcl")
            })
        })
        .unwrap_or(false);
    if !has_config {
        return Ok(Backend::default());
    }
    let opts = LoadOptions {
        mode: Mode::Validate,
        ..LoadOptions::default()
    }
    .with_process_env();
    let (cfg, _warnings) = crate::config::load(dir, &opts)?;
    Ok(cfg.settings.backend)
}

/// The non-secret identity of a backend, as recorded by `init`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum BackendRecord {
    Local {
        path: String,
    },
    AzureRm {
        storage_account_name: String,
        container_name: String,
        key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        endpoint: Option<String>,
        #[serde(default)]
        use_azuread_auth: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lease_duration_secs: Option<u64>,
    },
}

/// The file `init` writes: a version, then the record.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RecordFile {
    version: u64,
    backend: BackendRecord,
}

impl BackendRecord {
    /// The record of a configured backend: everything but credentials.
    pub fn of(b: &Backend) -> BackendRecord {
        match b {
            Backend::Local { path } => BackendRecord::Local { path: path.clone() },
            Backend::AzureRm {
                storage_account_name,
                container_name,
                key,
                endpoint,
                use_azuread_auth,
                lease_duration,
                ..
            } => BackendRecord::AzureRm {
                storage_account_name: storage_account_name.clone(),
                container_name: container_name.clone(),
                key: key.clone(),
                endpoint: endpoint.clone(),
                use_azuread_auth: *use_azuread_auth,
                lease_duration_secs: lease_duration.map(|d| d.as_secs()),
            },
        }
    }

    /// Back to settings, with credentials left to the environment.
    pub fn to_backend(&self) -> Backend {
        match self {
            BackendRecord::Local { path } => Backend::Local { path: path.clone() },
            BackendRecord::AzureRm {
                storage_account_name,
                container_name,
                key,
                endpoint,
                use_azuread_auth,
                lease_duration_secs,
            } => Backend::AzureRm {
                storage_account_name: storage_account_name.clone(),
                container_name: container_name.clone(),
                key: key.clone(),
                endpoint: endpoint.clone(),
                use_azuread_auth: *use_azuread_auth,
                sas_token: None,
                access_key: None,
                lease_duration: lease_duration_secs.map(Duration::from_secs),
            },
        }
    }

    /// Whether both records name the same stored state (settings such as the lease
    /// duration or the credential kind aside).
    pub fn same_storage(&self, other: &BackendRecord) -> bool {
        match (self, other) {
            (BackendRecord::Local { path: a }, BackendRecord::Local { path: b }) => {
                Path::new(a) == Path::new(b)
            }
            (
                BackendRecord::AzureRm {
                    storage_account_name: a1,
                    container_name: c1,
                    key: k1,
                    endpoint: e1,
                    ..
                },
                BackendRecord::AzureRm {
                    storage_account_name: a2,
                    container_name: c2,
                    key: k2,
                    endpoint: e2,
                    ..
                },
            ) => {
                let ep = |e: &Option<String>| {
                    e.as_deref().unwrap_or("").trim_end_matches('/').to_string()
                };
                a1 == a2 && c1 == c2 && k1 == k2 && ep(e1) == ep(e2)
            }
            _ => false,
        }
    }

    /// `local (dmsform.state.json)` or `azurerm (account/container/key)`.
    pub fn describe(&self) -> String {
        match self {
            BackendRecord::Local { path } => format!("\"local\" ({path})"),
            BackendRecord::AzureRm {
                storage_account_name,
                container_name,
                key,
                ..
            } => format!("\"azurerm\" ({storage_account_name}/{container_name}/{key})"),
        }
    }
}

/// The backend `init` last recorded in `dir`, if any.
pub fn read_record(dir: &Path) -> Result<Option<BackendRecord>, String> {
    let path = dir.join(BACKEND_RECORD);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {BACKEND_RECORD}: {e}")),
    };
    let f: RecordFile = serde_json::from_slice(&bytes).map_err(|e| {
        format!("{BACKEND_RECORD} is damaged ({e}); run `dmsform init -reconfigure`")
    })?;
    if f.version != 1 {
        return Err(format!(
            "{BACKEND_RECORD} has version {}, which this dmsform does not know; upgrade dmsform or run `dmsform init -reconfigure`",
            f.version
        ));
    }
    Ok(Some(f.backend))
}

/// Records `backend` as the one initialised in `dir`.
pub fn write_record(dir: &Path, backend: &BackendRecord) -> Result<(), String> {
    let path = dir.join(BACKEND_RECORD);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let f = RecordFile {
        version: 1,
        backend: backend.clone(),
    };
    let mut bytes = serde_json::to_vec_pretty(&f).expect("invariant: record serializes");
    bytes.push(b'\n');
    super::local::write_atomic(&path, &bytes)
        .map_err(|e| format!("cannot write {BACKEND_RECORD}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_without_secrets() {
        let b = Backend::AzureRm {
            storage_account_name: "acct".into(),
            container_name: "c1".into(),
            key: "k".into(),
            endpoint: None,
            use_azuread_auth: false,
            sas_token: Some("sv=1&sig=SECRET".into()),
            access_key: Some("SECRETKEY".into()),
            lease_duration: Some(Duration::from_secs(30)),
        };
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_record(dir.path()).unwrap(), None);
        let r = BackendRecord::of(&b);
        write_record(dir.path(), &r).unwrap();
        let text = std::fs::read_to_string(dir.path().join(BACKEND_RECORD)).unwrap();
        assert!(!text.contains("SECRET"), "{text}");
        let dbg = format!("{b:?}");
        assert!(
            !dbg.contains("SECRET") && dbg.contains("<redacted>"),
            "{dbg}"
        );
        assert_eq!(read_record(dir.path()).unwrap(), Some(r.clone()));
        assert_eq!(BackendRecord::of(&r.to_backend()), r);
        let mut other = r.clone();
        if let BackendRecord::AzureRm {
            lease_duration_secs,
            ..
        } = &mut other
        {
            *lease_duration_secs = Some(60);
        }
        assert!(r.same_storage(&other) && other != r);
        assert!(!r.same_storage(&BackendRecord::Local { path: "k".into() }));
    }

    #[test]
    fn default_is_local_without_config() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(configured(dir.path()).unwrap(), Backend::default());
        let s = open(&Backend::default(), dir.path()).unwrap();
        assert!(s.describe().ends_with("dmsform.state.json"));
    }
}
