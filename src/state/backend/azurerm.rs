//! The azurerm backend: the state JSON in one block blob of an Azure Storage container,
//! locked with a blob lease, for teams whose runs start on many machines.
//!
//! - Reads and writes the same versioned JSON as the local backend (`state::file`).
//! - Every write is conditional on the etag last read or written (`If-Match`, or
//!   `If-None-Match: *` when there was no blob), so a concurrent writer's update is never
//!   overwritten: the write is refused (412) and reported. The previous version is kept in
//!   the blob `<key>.backup`.
//! - The lock is a lease on the state blob itself, not on a separate lock blob: while it is
//!   leased, the service refuses every write that does not carry the lease id, so a run
//!   that lost its lease (expired, broken by `force-unlock`) cannot write, whatever it
//!   believes. Leases are finite (15–60 s) and renewed in the background (see `lease`),
//!   so a killed holder frees the state within one lease period. The lock info (JSON of
//!   [`LockInfo`], base64) sits in the blob's metadata so a waiting run can name the
//!   holder.
//!
//! It talks to the Blob REST API directly (`rest`) rather than through
//! `azure_storage_blob`: that SDK has no shared-key credential, reads blobs as parallel
//! ranged downloads (a state read must be one GET returning body, etag and metadata
//! together), and its default service version is newer than Azurite accepts. Signing is
//! ours either way (`sign`); Entra ID tokens come from `azure_identity`.

mod config;
mod lease;
mod rest;
mod sign;

pub use config::{ACCESS_KEY_ENV, AzureRmConfig, DEFAULT_LEASE, SAS_TOKEN_ENV};
pub use lease::BlobLease;

use super::{StateError, StateLock, StateStore};
use crate::state::file;
use crate::state::lock::LockInfo;
use crate::state::model::State;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use lease::LeaseState;
use reqwest::Method;
use rest::{Blobs, Reply};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Metadata name of the lock info on the state blob.
pub const LOCK_METADATA: &str = "dmsformlock";

/// Names a blob for messages: account, container and blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobPlace {
    pub account: String,
    pub container: String,
    pub blob: String,
}

impl fmt::Display for BlobPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "blob \"{}\" in container \"{}\" of storage account \"{}\"",
            self.blob, self.container, self.account
        )
    }
}

/// Why the azurerm backend failed.
#[derive(Debug, thiserror::Error)]
pub enum AzureRmError {
    #[error("Invalid azurerm backend configuration: {0}")]
    Config(String),
    #[error("azurerm backend: cannot {op} {at}: {detail}{}", hint(.detail))]
    Request {
        op: &'static str,
        at: BlobPlace,
        detail: String,
    },
    #[error(
        "azurerm backend: the state in {at} was changed by another writer after this run read it ({detail}); it was not overwritten, so no update is lost.{}",
        dumped_note(.dumped)
    )]
    Conflict {
        at: BlobPlace,
        detail: String,
        dumped: Option<String>,
    },
    #[error(
        "azurerm backend: this run lost its lock on {at} ({reason}): another process may hold the state now, so this run refuses to write it.{}",
        dumped_note(.dumped)
    )]
    LeaseLost {
        at: BlobPlace,
        reason: String,
        dumped: Option<String>,
    },
    #[error("azurerm backend: {at} is not locked")]
    NotLocked { at: BlobPlace },
    #[error("azurerm backend: cannot decode the state in {at}: {source}")]
    Decode {
        at: BlobPlace,
        source: file::StateFileError,
    },
}

impl From<AzureRmError> for StateError {
    fn from(e: AzureRmError) -> StateError {
        StateError::AzureRm(Box::new(e))
    }
}

fn hint(detail: &str) -> &'static str {
    if detail.contains("ContainerNotFound") {
        "\n\nCreate the container first (the backend does not create it)."
    } else if detail.contains("HTTP 403") {
        "\n\nCheck the credential: the account key (ARM_ACCESS_KEY), the SAS token (ARM_SAS_TOKEN; it needs read, write, delete, list, add and create permissions on blobs), or the Entra ID identity's role (Storage Blob Data Contributor)."
    } else if detail.contains("error sending request") || detail.contains("connect") {
        "\n\nCheck the endpoint and the network."
    } else {
        ""
    }
}

fn dumped_note(dumped: &Option<String>) -> String {
    match dumped {
        Some(p) => format!(
            "\n\nThe state this run meant to write was saved to {p}. Review it, then run `dmsform state push {p}` if it should win."
        ),
        None => String::new(),
    }
}

/// What this backend last saw of the state blob: the condition for the next write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seen {
    /// Not read yet.
    Unknown,
    /// There was no blob.
    Absent,
    /// The blob with this etag and content (empty for the lock's placeholder).
    Blob { etag: String, bytes: Vec<u8> },
}

/// What the backend and its locks share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) seen: Mutex<Seen>,
    /// The lease this backend holds, if any; writes carry its id.
    pub(crate) active: Mutex<Option<Arc<LeaseState>>>,
}

impl Shared {
    /// After a metadata change by the lock (which changes the etag), keeps the write
    /// condition current if it was the etag the lock saw before its change.
    pub(crate) fn etag_moved(&self, before: &str, after: Option<String>) {
        let Some(after) = after else { return };
        if let Ok(mut seen) = self.seen.lock()
            && let Seen::Blob { etag, .. } = &mut *seen
            && etag == before
        {
            *etag = after;
        }
    }
}

/// The state in an Azure Storage blob.
#[derive(Debug, Clone)]
pub struct AzureRmBackend {
    cfg: Arc<AzureRmConfig>,
    blobs: Blobs,
    shared: Arc<Shared>,
    /// Where a state that cannot be written is saved (`errored.state.json`).
    errored_path: PathBuf,
}

impl AzureRmBackend {
    /// A backend for checked settings; `dir` is the working directory, where a state that
    /// cannot be written is saved as `errored.state.json`.
    pub fn new(cfg: AzureRmConfig, dir: &std::path::Path) -> Result<AzureRmBackend, AzureRmError> {
        let blobs = Blobs::new(
            &cfg.endpoint,
            &cfg.account,
            &cfg.container,
            cfg.auth.clone(),
        )
        .map_err(AzureRmError::Config)?;
        Ok(AzureRmBackend {
            cfg: Arc::new(cfg),
            blobs,
            shared: Arc::new(Shared {
                seen: Mutex::new(Seen::Unknown),
                active: Mutex::new(None),
            }),
            errored_path: dir.join("errored.state.json"),
        })
    }

    pub fn config(&self) -> &AzureRmConfig {
        &self.cfg
    }

    pub fn place(&self) -> BlobPlace {
        self.place_of(&self.cfg.key)
    }

    fn place_of(&self, blob: &str) -> BlobPlace {
        BlobPlace {
            account: self.cfg.account.clone(),
            container: self.cfg.container.clone(),
            blob: blob.to_string(),
        }
    }

    pub fn backup_key(&self) -> String {
        format!("{}.backup", self.cfg.key)
    }

    fn request_err(&self, op: &'static str, blob: &str) -> impl Fn(String) -> AzureRmError + '_ {
        let at = self.place_of(blob);
        move |detail| AzureRmError::Request {
            op,
            at: at.clone(),
            detail,
        }
    }

    pub(crate) async fn send(
        &self,
        op: &'static str,
        method: Method,
        blob: Option<&str>,
        query: &[(&str, &str)],
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Reply, AzureRmError> {
        let name = blob.unwrap_or(&self.cfg.key);
        self.blobs
            .send(method, blob, query, headers, body)
            .await
            .map_err(self.request_err(op, name))
    }

    fn failed(&self, op: &'static str, blob: &str, r: &Reply) -> AzureRmError {
        self.request_err(op, blob)(r.summary())
    }

    fn failed_detail(&self, op: &'static str, detail: &str) -> AzureRmError {
        self.request_err(op, &self.cfg.key)(detail.to_string())
    }

    /// The state blob's properties: its etag, lease state and the lock info in its
    /// metadata; `None` when there is no blob.
    pub(crate) async fn properties(&self) -> Result<Option<BlobProps>, AzureRmError> {
        let key = self.cfg.key.clone();
        let r = self
            .send(
                "read the properties of",
                Method::HEAD,
                Some(&key),
                &[],
                &[],
                vec![],
            )
            .await?;
        match r.status {
            200 => Ok(Some(BlobProps {
                etag: r.etag().unwrap_or_default(),
                leased: r.header("x-ms-lease-state") == Some("leased"),
                lock: r
                    .header(&format!("x-ms-meta-{LOCK_METADATA}"))
                    .and_then(decode_lock_info),
            })),
            404 if r.code() != "ContainerNotFound" => Ok(None),
            _ => Err(self.failed("read the properties of", &key, &r)),
        }
    }

    /// Saves the state that could not be written as `errored.state.json`.
    fn dump(&self, bytes: &[u8]) -> Option<String> {
        super::local::write_atomic(&self.errored_path, bytes)
            .ok()
            .map(|()| self.errored_path.display().to_string())
    }

    async fn do_read(&self) -> Result<Option<State>, StateError> {
        let key = self.cfg.key.clone();
        let r = self
            .send("read", Method::GET, Some(&key), &[], &[], vec![])
            .await?;
        let seen = match r.status {
            200 => Seen::Blob {
                etag: r.etag().unwrap_or_default(),
                bytes: r.body.clone(),
            },
            404 if r.code() != "ContainerNotFound" => Seen::Absent,
            _ => return Err(self.failed("read", &key, &r).into()),
        };
        let state = match &seen {
            Seen::Blob { bytes, .. } if !bytes.iter().all(u8::is_ascii_whitespace) => {
                Some(file::decode(bytes).map_err(|source| AzureRmError::Decode {
                    at: self.place(),
                    source,
                })?)
            }
            _ => None,
        };
        if let Ok(mut s) = self.shared.seen.lock() {
            *s = seen;
        }
        Ok(state)
    }

    async fn do_write(&self, state: &mut State) -> Result<(), StateError> {
        let active = self.shared.active.lock().ok().and_then(|a| a.clone());
        let unknown = self
            .shared
            .seen
            .lock()
            .map(|s| *s == Seen::Unknown)
            .unwrap_or(true);
        if unknown {
            // Nothing read yet: the condition is whatever is stored now.
            self.do_read().await?;
        }
        state.serial += 1;
        let bytes = file::encode(state);
        if let Some(l) = &active
            && !l.is_held()
        {
            return Err(AzureRmError::LeaseLost {
                at: self.place(),
                reason: l.lost_reason(),
                dumped: self.dump(&bytes),
            }
            .into());
        }
        let seen = self
            .shared
            .seen
            .lock()
            .map(|s| s.clone())
            .unwrap_or(Seen::Unknown);
        let key = self.cfg.key.clone();
        if let Seen::Blob {
            bytes: previous, ..
        } = &seen
            && !previous.iter().all(u8::is_ascii_whitespace)
        {
            let backup = self.backup_key();
            let r = self
                .send(
                    "write the backup",
                    Method::PUT,
                    Some(&backup),
                    &[],
                    &block_blob_headers(),
                    previous.clone(),
                )
                .await;
            match r {
                Ok(r) if r.ok() => {}
                Ok(r) => {
                    let dumped = self.dump(&bytes);
                    let mut e = self.failed("write the backup", &backup, &r);
                    if let AzureRmError::Request { detail, .. } = &mut e {
                        detail.push_str(&dumped_note(&dumped));
                    }
                    return Err(e.into());
                }
                Err(mut e) => {
                    if let AzureRmError::Request { detail, .. } = &mut e {
                        detail.push_str(&dumped_note(&self.dump(&bytes)));
                    }
                    return Err(e.into());
                }
            }
        }
        let mut headers = block_blob_headers();
        match &seen {
            Seen::Blob { etag, .. } => headers.push(("if-match", etag.clone())),
            _ => headers.push(("if-none-match", "*".into())),
        }
        if let Some(l) = &active {
            headers.push(("x-ms-lease-id", l.id.clone()));
            headers.push(("x-ms-meta-dmsformlock", l.meta.clone()));
        }
        let r = match self
            .send(
                "write",
                Method::PUT,
                Some(&key),
                &[],
                &headers,
                bytes.clone(),
            )
            .await
        {
            Ok(r) => r,
            Err(mut e) => {
                if let AzureRmError::Request { detail, .. } = &mut e {
                    detail.push_str(&dumped_note(&self.dump(&bytes)));
                }
                return Err(e.into());
            }
        };
        if r.ok() {
            if let Ok(mut s) = self.shared.seen.lock() {
                *s = Seen::Blob {
                    etag: r.etag().unwrap_or_default(),
                    bytes,
                };
            }
            return Ok(());
        }
        let code = r.code().to_string();
        let dumped = self.dump(&bytes);
        let mut lease_problem = code.starts_with("Lease");
        if let Some(l) = &active
            && !lease_problem
            && matches!(r.status, 409 | 412)
            && !lease::still_ours(self, l).await
        {
            // The etag moved because someone else took the lock: say that, not "conflict".
            lease_problem = true;
        }
        Err(match (&active, lease_problem) {
            (Some(l), true) => AzureRmError::LeaseLost {
                at: self.place(),
                reason: if code.starts_with("Lease") {
                    format!("the service refused its lease id: {}", r.summary())
                } else {
                    l.lost_reason()
                },
                dumped,
            }
            .into(),
            (None, true) => {
                let holder = self.properties().await.ok().flatten().and_then(|p| p.lock);
                let mut info = holder.unwrap_or_else(|| unknown_holder(&self.describe()));
                if let Some(d) = &dumped {
                    info.operation =
                        format!("{} (this run's state was saved to {d})", info.operation);
                }
                StateError::Lock(crate::state::lock::LockError::Held(Box::new(info)))
            }
            _ if r.status == 412 || r.status == 409 => AzureRmError::Conflict {
                at: self.place(),
                detail: r.summary(),
                dumped,
            }
            .into(),
            _ => {
                let mut e = self.failed("write", &key, &r);
                if let AzureRmError::Request { detail, .. } = &mut e {
                    detail.push_str(&dumped_note(&dumped));
                }
                e.into()
            }
        })
    }

    async fn do_force_unlock(&self, id: &str) -> Result<LockInfo, StateError> {
        let key = self.cfg.key.clone();
        let props = self.properties().await?;
        let Some(props) = props.filter(|p| p.leased) else {
            return Err(AzureRmError::NotLocked { at: self.place() }.into());
        };
        let held = props.lock.clone();
        match &held {
            Some(info) if info.id == id => {}
            other => {
                return Err(crate::state::lock::LockError::WrongId {
                    given: id.to_string(),
                    held: other.as_ref().map_or("(unknown)".into(), |i| i.id.clone()),
                }
                .into());
            }
        }
        let r = self
            .send(
                "break the lease on",
                Method::PUT,
                Some(&key),
                &[("comp", "lease")],
                &[
                    ("x-ms-lease-action", "break".into()),
                    ("x-ms-lease-break-period", "0".into()),
                ],
                vec![],
            )
            .await?;
        if !r.ok() {
            return Err(self.failed("break the lease on", &key, &r).into());
        }
        // Clear the lock info; a broken lease lets writes through without its id.
        let r = self
            .send(
                "clear the lock info of",
                Method::PUT,
                Some(&key),
                &[("comp", "metadata")],
                &[],
                vec![],
            )
            .await?;
        if r.ok() {
            self.shared.etag_moved(&props.etag, r.etag());
        }
        Ok(held.unwrap_or_else(|| unknown_holder(&self.describe())))
    }

    /// Creates the container (for tests and first-time setup; `init` does not).
    pub async fn create_container(&self) -> Result<(), AzureRmError> {
        let r = self
            .blobs
            .send(Method::PUT, None, &[("restype", "container")], &[], vec![])
            .await
            .map_err(self.request_err("create the container of", &self.cfg.key))?;
        if r.ok() || r.code() == "ContainerAlreadyExists" {
            Ok(())
        } else {
            Err(self.failed("create the container of", &self.cfg.key, &r))
        }
    }
}

fn block_blob_headers() -> Vec<(&'static str, String)> {
    vec![
        ("x-ms-blob-type", "BlockBlob".into()),
        ("content-type", "application/json".into()),
    ]
}

/// The state blob's properties that matter to locking.
#[derive(Debug, Clone)]
pub(crate) struct BlobProps {
    pub(crate) etag: String,
    pub(crate) leased: bool,
    pub(crate) lock: Option<LockInfo>,
}

pub(crate) fn encode_lock_info(info: &LockInfo) -> String {
    B64.encode(serde_json::to_vec(info).expect("invariant: lock info serializes"))
}

pub(crate) fn decode_lock_info(v: &str) -> Option<LockInfo> {
    let bytes = B64.decode(v.trim()).ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub(crate) fn unknown_holder(path: &str) -> LockInfo {
    LockInfo {
        id: "(unknown)".into(),
        operation: "(unknown)".into(),
        who: "(unknown)".into(),
        pid: 0,
        host: String::new(),
        version: String::new(),
        created: String::new(),
        path: path.to_string(),
    }
}

#[async_trait::async_trait]
impl StateStore for AzureRmBackend {
    fn describe(&self) -> String {
        format!(
            "azurerm: {}/{}/{}",
            self.cfg.account, self.cfg.container, self.cfg.key
        )
    }
    async fn read(&self) -> Result<Option<State>, StateError> {
        self.do_read().await
    }
    async fn write(&self, state: &mut State) -> Result<(), StateError> {
        self.do_write(state).await
    }
    async fn lock(
        &self,
        operation: &str,
        timeout: Duration,
    ) -> Result<Box<dyn StateLock>, StateError> {
        Ok(Box::new(lease::acquire(self, operation, timeout).await?))
    }
    async fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError> {
        self.do_force_unlock(id).await
    }
}
