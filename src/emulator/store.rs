//! The emulator's memory of tasks and driver packages, persisted under the data directory
//! with atomic writes (one file per task, one per service), so a restarted emulator keeps
//! every task and lets it go on progressing from its stored timestamps.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A service task as the emulator keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskRecord {
    /// Creation order, for stable listing.
    pub seq: u64,
    pub subscription: String,
    pub group: String,
    pub service: String,
    pub name: String,
    pub task_type: String,
    /// Input as answered: secure fields masked.
    pub input: Value,
    /// Secure fields sealed with the at-rest key, by JSON pointer (e.g. `/driverShare/password`).
    #[serde(default)]
    pub sealed: BTreeMap<String, String>,
    #[serde(default)]
    pub client_data: Option<Value>,
    pub state: String,
    pub etag: String,
    pub created_ms: u64,
    pub queued_until_ms: u64,
    #[serde(default)]
    pub run_until_ms: Option<u64>,
    #[serde(default)]
    pub cancel_until_ms: Option<u64>,
    /// A fault-injected outcome (`Failed`/`Faulted`) replacing the real work.
    #[serde(default)]
    pub forced: Option<String>,
    #[serde(default)]
    pub output: Vec<Value>,
    #[serde(default)]
    pub errors: Vec<Value>,
    /// The finished work, waiting for `run_until_ms` to become visible.
    #[serde(default)]
    pub result: Option<WorkResult>,
    /// Bumped on every restart of the task (re-PUT), so stale work is discarded.
    #[serde(default)]
    pub generation: u64,
}

impl TaskRecord {
    pub fn service_key(&self) -> String {
        service_key(&self.subscription, &self.group, &self.service)
    }

    pub fn key(&self) -> String {
        task_key(&self.subscription, &self.group, &self.service, &self.name)
    }

    pub fn is_terminal(&self) -> bool {
        matches!(
            self.state.as_str(),
            "Succeeded" | "Failed" | "FailedInputValidation" | "Faulted" | "Canceled"
        )
    }

    pub fn new_etag(&mut self) {
        self.etag = random_etag();
    }
}

/// What a task's work produced, plus the side effect to commit when it becomes visible.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkResult {
    pub state: String,
    pub output: Vec<Value>,
    #[serde(default)]
    pub errors: Vec<Value>,
    #[serde(default)]
    pub effect: Effect,
}

/// A change to the service's driver packages, committed when the task finishes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Effect {
    #[default]
    None,
    /// Move a staged archive into the package store.
    StorePackage { staged: PathBuf, meta: PackageMeta },
    /// Make this package the installed one.
    Install { package: String },
}

/// An uploaded driver package (`OracleOCIDriverInfo` plus where its bytes are).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageMeta {
    pub driver_name: String,
    pub driver_size: u64,
    pub archive_checksum: String,
    pub oracle_checksum: String,
    pub assembly_version: String,
    pub supported_oracle_versions: Vec<String>,
    pub file: PathBuf,
}

/// The driver packages of one service.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServicePackages {
    /// By lower-cased package name.
    pub packages: BTreeMap<String, PackageMeta>,
    /// Lower-cased name of the installed package.
    pub installed: Option<String>,
}

/// A unit of driver work to run outside the store's lock.
#[derive(Debug, Clone)]
pub struct WorkOrder {
    pub key: String,
    pub generation: u64,
}

pub fn service_key(sub: &str, group: &str, service: &str) -> String {
    format!("{sub}/{group}/{service}").to_lowercase()
}

pub fn task_key(sub: &str, group: &str, service: &str, task: &str) -> String {
    format!("{sub}/{group}/{service}/{task}").to_lowercase()
}

fn file_id(key: &str) -> String {
    let h = Sha256::digest(key.as_bytes());
    h.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// A new strong etag: 32 random bytes in base64 (44 characters), like the service's.
pub fn random_etag() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    B64.encode(b)
}

/// Writes `bytes` to `path` atomically: temp file in the same directory, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// All tasks and packages, in memory and on disk.
pub struct Store {
    dir: PathBuf,
    pub key: [u8; 32],
    pub tasks: HashMap<String, TaskRecord>,
    pub services: HashMap<String, ServicePackages>,
    /// Tasks whose work is running now (not persisted: after a restart work reruns).
    pub in_flight: HashSet<String>,
    next_seq: u64,
}

impl Store {
    /// Opens (or creates) the data directory and loads everything in it.
    pub fn open(dir: &Path) -> std::io::Result<Store> {
        std::fs::create_dir_all(dir.join("tasks"))?;
        std::fs::create_dir_all(dir.join("services"))?;
        let key_path = dir.join("at-rest.key");
        let key = match std::fs::read(&key_path) {
            Ok(k) if k.len() == 32 => {
                let mut a = [0u8; 32];
                a.copy_from_slice(&k);
                a
            }
            _ => {
                let mut a = [0u8; 32];
                rand::rng().fill_bytes(&mut a);
                write_atomic(&key_path, &a)?;
                restrict(&key_path);
                a
            }
        };
        let mut store = Store {
            dir: dir.to_path_buf(),
            key,
            tasks: HashMap::new(),
            services: HashMap::new(),
            in_flight: HashSet::new(),
            next_seq: 0,
        };
        for entry in std::fs::read_dir(dir.join("tasks"))? {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            match serde_json::from_slice::<TaskRecord>(&bytes) {
                Ok(rec) => {
                    store.next_seq = store.next_seq.max(rec.seq + 1);
                    store.tasks.insert(rec.key(), rec);
                }
                Err(e) => tracing::warn!("ignoring unreadable task file {}: {e}", path.display()),
            }
        }
        for entry in std::fs::read_dir(dir.join("services"))? {
            let path = entry?.path().join("service.json");
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            match serde_json::from_slice::<(String, ServicePackages)>(&bytes) {
                Ok((k, s)) => {
                    store.services.insert(k, s);
                }
                Err(e) => {
                    tracing::warn!("ignoring unreadable service file {}: {e}", path.display())
                }
            }
        }
        Ok(store)
    }

    pub fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq - 1
    }

    /// The directory holding one service's package archives.
    pub fn package_dir(&self, service_key: &str) -> PathBuf {
        self.dir
            .join("services")
            .join(file_id(service_key))
            .join("packages")
    }

    pub fn save_task(&self, rec: &TaskRecord) {
        let path = self
            .dir
            .join("tasks")
            .join(format!("{}.json", file_id(&rec.key())));
        let result = serde_json::to_vec_pretty(rec)
            .map_err(std::io::Error::other)
            .and_then(|b| write_atomic(&path, &b));
        if let Err(e) = result {
            tracing::error!("cannot persist task {}: {e}", rec.name);
        }
    }

    pub fn remove_task(&mut self, key: &str) -> Option<TaskRecord> {
        let rec = self.tasks.remove(key)?;
        let path = self
            .dir
            .join("tasks")
            .join(format!("{}.json", file_id(key)));
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::error!("cannot remove task file {}: {e}", path.display());
        }
        Some(rec)
    }

    pub fn save_service(&self, key: &str) {
        let Some(svc) = self.services.get(key) else {
            return;
        };
        let path = self
            .dir
            .join("services")
            .join(file_id(key))
            .join("service.json");
        let result = serde_json::to_vec_pretty(&(key, svc))
            .map_err(std::io::Error::other)
            .and_then(|b| write_atomic(&path, &b));
        if let Err(e) = result {
            tracing::error!("cannot persist service packages: {e}");
        }
    }

    /// Commits a finished task's effect on the package store.
    pub fn commit_effect(&mut self, service_key: &str, effect: &Effect) {
        match effect {
            Effect::None => {}
            Effect::StorePackage { staged, meta } => {
                let dir = self.package_dir(service_key);
                let mut meta = meta.clone();
                let dest = dir.join(file_id(&meta.driver_name.to_lowercase()));
                if let Err(e) =
                    std::fs::create_dir_all(&dir).and_then(|_| std::fs::rename(staged, &dest))
                {
                    tracing::error!("cannot store package {}: {e}", meta.driver_name);
                    return;
                }
                meta.file = dest;
                let svc = self.services.entry(service_key.to_string()).or_default();
                svc.packages.insert(meta.driver_name.to_lowercase(), meta);
                self.save_service(service_key);
            }
            Effect::Install { package } => {
                let svc = self.services.entry(service_key.to_string()).or_default();
                svc.installed = Some(package.to_lowercase());
                self.save_service(service_key);
            }
        }
    }
}

#[cfg(unix)]
fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict(_path: &Path) {}
