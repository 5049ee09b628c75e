//! The blob-lease state lock. Acquiring takes a finite lease on the state blob (creating
//! an empty placeholder blob first when there is no state yet), proposing the lock ID as
//! the lease id, and writes the lock info into the blob's metadata. A background task
//! renews the lease every third of its duration; when renewal fails for good (the lease
//! was broken or taken, or the service could not be reached for a whole lease period) the
//! lock reports `is_held() == false` and the backend refuses to write. A holder that dies
//! stops renewing, so its lease expires within one lease period.

use super::{AzureRmBackend, AzureRmError, Seen, Shared, encode_lock_info, unknown_holder};
use crate::state::backend::{StateError, StateLock};
use crate::state::lock::{LockError, LockInfo};
use reqwest::Method;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How often a waiting run retries a held lease.
const POLL: Duration = Duration::from_millis(500);

/// A held lease, shared by the lock, its renewal task and the backend's writes.
#[derive(Debug)]
pub struct LeaseState {
    /// The lease id (the lock ID).
    pub(crate) id: String,
    /// The lock info as stored in metadata.
    pub(crate) meta: String,
    duration: Duration,
    held: AtomicBool,
    /// When the last successful acquire or renew request was sent.
    renewed_at: Mutex<Instant>,
    lost: Mutex<Option<String>>,
}

impl LeaseState {
    /// Held: not known lost, and renewed less than one lease period ago.
    pub fn is_held(&self) -> bool {
        self.held.load(Ordering::SeqCst)
            && self
                .renewed_at
                .lock()
                .map(|t| t.elapsed() < self.duration)
                .unwrap_or(false)
    }

    pub(crate) fn lost_reason(&self) -> String {
        if let Ok(l) = self.lost.lock()
            && let Some(r) = &*l
        {
            return r.clone();
        }
        format!(
            "its lease was not renewed within {}s",
            self.duration.as_secs()
        )
    }

    fn lose(&self, why: String) {
        self.held.store(false, Ordering::SeqCst);
        tracing::error!(lease = %self.id, "lost the state lock: {why}; the next state write will fail");
        if let Ok(mut l) = self.lost.lock() {
            l.get_or_insert(why);
        }
    }
}

/// A state lock held as a blob lease.
#[derive(Debug)]
pub struct BlobLease {
    info: LockInfo,
    took_over: Option<LockInfo>,
    state: Arc<LeaseState>,
    backend: AzureRmBackend,
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

async fn lease_op(
    b: &AzureRmBackend,
    op: &'static str,
    headers: Vec<(&'static str, String)>,
) -> Result<super::rest::Reply, AzureRmError> {
    let key = b.cfg.key.clone();
    b.send(
        op,
        Method::PUT,
        Some(&key),
        &[("comp", "lease")],
        &headers,
        vec![],
    )
    .await
}

/// Takes the lease for `operation`, waiting up to `timeout` for another holder.
pub(super) async fn acquire(
    b: &AzureRmBackend,
    operation: &str,
    timeout: Duration,
) -> Result<BlobLease, StateError> {
    use super::super::StateStore;
    let info = LockInfo::for_this_process(operation, &b.describe());
    let deadline = Instant::now() + timeout;
    let key = b.cfg.key.clone();
    let duration = b.cfg.lease_duration;
    let acquired_at = loop {
        let sent = Instant::now();
        let r = lease_op(
            b,
            "lock",
            vec![
                ("x-ms-lease-action", "acquire".into()),
                ("x-ms-lease-duration", duration.as_secs().to_string()),
                ("x-ms-proposed-lease-id", info.id.clone()),
            ],
        )
        .await?;
        match (r.status, r.code()) {
            (201, _) | (200, _) => break sent,
            (404, "BlobNotFound") | (404, "") => create_placeholder(b).await?,
            // Held, or being broken by someone else (a break period): wait either way.
            (409, code) if code == "LeaseAlreadyPresent" || code.starts_with("LeaseIsBreaking") => {
                if Instant::now() >= deadline {
                    let holder = b.properties().await?.and_then(|p| p.lock);
                    let holder = holder.unwrap_or_else(|| unknown_holder(&b.describe()));
                    return Err(LockError::Held(Box::new(holder)).into());
                }
                let left = deadline.saturating_duration_since(Instant::now());
                tokio::time::sleep(POLL.min(left).max(Duration::from_millis(10))).await;
            }
            _ => return Err(b.failed("lock", &key, &r).into()),
        }
    };
    let state = Arc::new(LeaseState {
        id: info.id.clone(),
        meta: encode_lock_info(&info),
        duration,
        held: AtomicBool::new(true),
        renewed_at: Mutex::new(acquired_at),
        lost: Mutex::new(None),
    });
    let lock = BlobLease {
        info,
        took_over: None,
        state: state.clone(),
        backend: b.clone(),
        cancel: CancellationToken::new(),
        task: None,
    };
    // From here on, dropping `lock` on an error releases the lease.
    let mut lock = lock;
    let props = b.properties().await?;
    let Some(props) = props else {
        return Err(b
            .failed_detail("lock", "the blob vanished while it was leased")
            .into());
    };
    lock.took_over = props.lock.filter(|i| i.id != lock.info.id);
    let r = b
        .send(
            "write the lock info of",
            Method::PUT,
            Some(&key),
            &[("comp", "metadata")],
            &[
                ("x-ms-lease-id", state.id.clone()),
                ("x-ms-meta-dmsformlock", state.meta.clone()),
            ],
            vec![],
        )
        .await?;
    if !r.ok() {
        return Err(b.failed("write the lock info of", &key, &r).into());
    }
    b.shared.etag_moved(&props.etag, r.etag());
    if let Ok(mut a) = b.shared.active.lock() {
        *a = Some(state.clone());
    }
    lock.task = Some(tokio::spawn(renew_loop(
        b.clone(),
        state,
        lock.cancel.clone(),
    )));
    Ok(lock)
}

/// Whether the lease is still this run's: renews it, and marks it lost if refused.
pub(super) async fn still_ours(b: &AzureRmBackend, st: &LeaseState) -> bool {
    let sent = Instant::now();
    match lease_op(
        b,
        "renew the lease on",
        vec![
            ("x-ms-lease-action", "renew".into()),
            ("x-ms-lease-id", st.id.clone()),
        ],
    )
    .await
    {
        Ok(r) if r.ok() => {
            if let Ok(mut t) = st.renewed_at.lock() {
                *t = sent;
            }
            true
        }
        Ok(r) => {
            st.lose(format!("renewing its lease was refused ({})", r.summary()));
            false
        }
        Err(_) => st.is_held(),
    }
}

/// An empty blob to hold the lease when there is no state yet; if another run created it
/// first, that is fine too.
async fn create_placeholder(b: &AzureRmBackend) -> Result<(), AzureRmError> {
    let key = b.cfg.key.clone();
    let r = b
        .send(
            "create",
            Method::PUT,
            Some(&key),
            &[],
            &[
                ("x-ms-blob-type", "BlockBlob".into()),
                ("if-none-match", "*".into()),
            ],
            vec![],
        )
        .await?;
    match r.status {
        201 => {
            if let Ok(mut s) = b.shared.seen.lock()
                && *s == Seen::Absent
            {
                *s = Seen::Blob {
                    etag: r.etag().unwrap_or_default(),
                    bytes: Vec::new(),
                };
            }
            Ok(())
        }
        409 | 412 => Ok(()),
        _ => Err(b.failed("create", &key, &r)),
    }
}

async fn renew_loop(b: AzureRmBackend, st: Arc<LeaseState>, cancel: CancellationToken) {
    let every = st.duration / 3;
    let mut wait = every;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        let sent = Instant::now();
        let r = tokio::time::timeout(
            every,
            lease_op(
                &b,
                "renew the lease on",
                vec![
                    ("x-ms-lease-action", "renew".into()),
                    ("x-ms-lease-id", st.id.clone()),
                ],
            ),
        )
        .await;
        match r {
            Ok(Ok(reply)) if reply.ok() => {
                if let Ok(mut t) = st.renewed_at.lock() {
                    *t = sent;
                }
                wait = every;
            }
            Ok(Ok(reply)) if matches!(reply.status, 404 | 409 | 412) => {
                st.lose(format!(
                    "renewing its lease was refused ({}): it was broken or taken over",
                    reply.summary()
                ));
                return;
            }
            other => {
                if !st.is_held() {
                    let why = match other {
                        Ok(Ok(reply)) => reply.summary(),
                        Ok(Err(e)) => e.to_string(),
                        Err(_) => "the renewal timed out".into(),
                    };
                    st.lose(format!(
                        "its lease could not be renewed within {}s: {why}",
                        st.duration.as_secs()
                    ));
                    return;
                }
                wait = Duration::from_secs(1).min(every);
            }
        }
    }
}

impl BlobLease {
    async fn release_now(&mut self) {
        self.cancel.cancel();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        let shared: &Shared = &self.backend.shared;
        if let Ok(mut a) = shared.active.lock()
            && a.as_ref().is_some_and(|s| Arc::ptr_eq(s, &self.state))
        {
            *a = None;
        }
        if !self.state.held.swap(false, Ordering::SeqCst) {
            return;
        }
        let b = &self.backend;
        let key = b.cfg.key.clone();
        let before = b.properties().await.ok().flatten().map(|p| p.etag);
        // Clear the lock info, then let go of the lease.
        if let Ok(r) = b
            .send(
                "clear the lock info of",
                Method::PUT,
                Some(&key),
                &[("comp", "metadata")],
                &[("x-ms-lease-id", self.state.id.clone())],
                vec![],
            )
            .await
            && r.ok()
            && let Some(before) = before
        {
            shared.etag_moved(&before, r.etag());
        }
        match lease_op(
            b,
            "unlock",
            vec![
                ("x-ms-lease-action", "release".into()),
                ("x-ms-lease-id", self.state.id.clone()),
            ],
        )
        .await
        {
            Ok(r) if r.ok() => {}
            Ok(r) => tracing::warn!(
                "could not release the state lease ({}); it expires within {}s",
                r.summary(),
                self.state.duration.as_secs()
            ),
            Err(e) => tracing::warn!("could not release the state lease: {e}"),
        }
    }
}

#[async_trait::async_trait]
impl StateLock for BlobLease {
    fn info(&self) -> &LockInfo {
        &self.info
    }
    fn took_over(&self) -> Option<&LockInfo> {
        self.took_over.as_ref()
    }
    fn is_held(&self) -> bool {
        self.state.is_held()
    }
    async fn release(mut self: Box<Self>) {
        self.release_now().await;
    }
}

impl Drop for BlobLease {
    fn drop(&mut self) {
        self.cancel.cancel();
        if !self.state.held.load(Ordering::SeqCst) {
            return;
        }
        // Not released explicitly: release in the background if a runtime is still
        // running; otherwise the lease simply expires within one lease period.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let mut rest = BlobLease {
                info: self.info.clone(),
                took_over: None,
                state: self.state.clone(),
                backend: self.backend.clone(),
                cancel: self.cancel.clone(),
                task: self.task.take(),
            };
            handle.spawn(async move {
                rest.release_now().await;
            });
        }
    }
}
