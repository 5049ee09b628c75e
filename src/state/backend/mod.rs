//! Where state is stored: the `StateStore` trait and its backends. The engine only talks
//! to the trait, so every command works the same on every backend.

pub mod azurerm;
pub mod local;
pub mod select;

use crate::state::lock::LockInfo;
use crate::state::model::State;
pub use local::{LocalBackend, StateError};
use std::time::Duration;

/// A held state lock. Release it with [`StateLock::release`]; dropping it releases too,
/// best effort.
#[async_trait::async_trait]
pub trait StateLock: Send + Sync + std::fmt::Debug {
    fn info(&self) -> &LockInfo;
    /// Lock info left by a holder that died, taken over when this lock was acquired.
    fn took_over(&self) -> Option<&LockInfo>;
    /// Whether the lock is still held (a lease can be lost); a writer must check.
    fn is_held(&self) -> bool;
    async fn release(self: Box<Self>);
}

/// Storage for one state, with locking.
#[async_trait::async_trait]
pub trait StateStore: Send + Sync + std::fmt::Debug {
    /// A short description for messages, e.g. `dmsform.state.json` or `azurerm: acct/c/key`.
    fn describe(&self) -> String;
    /// The stored state, or `None` when there is none yet.
    async fn read(&self) -> Result<Option<State>, StateError>;
    /// Writes `state` with its serial incremented, keeping the previous version as backup.
    async fn write(&self, state: &mut State) -> Result<(), StateError>;
    /// Writes `state` keeping its serial (migration, `state push`): the stored serial
    /// ends up equal to `state.serial` (at least 1).
    async fn write_verbatim(&self, state: &State) -> Result<(), StateError> {
        let mut s = state.clone();
        s.serial = s.serial.saturating_sub(1);
        self.write(&mut s).await
    }
    /// Takes the lock for `operation`, waiting up to `timeout`.
    async fn lock(
        &self,
        operation: &str,
        timeout: Duration,
    ) -> Result<Box<dyn StateLock>, StateError>;
    /// Breaks the lock with this ID.
    async fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError>;
}

#[async_trait::async_trait]
impl StateLock for crate::state::lock::LocalLock {
    fn info(&self) -> &LockInfo {
        &self.info
    }
    fn took_over(&self) -> Option<&LockInfo> {
        self.took_over.as_ref()
    }
    fn is_held(&self) -> bool {
        true
    }
    async fn release(self: Box<Self>) {
        drop(self);
    }
}

#[async_trait::async_trait]
impl StateStore for LocalBackend {
    fn describe(&self) -> String {
        self.path().display().to_string()
    }
    async fn read(&self) -> Result<Option<State>, StateError> {
        LocalBackend::read(self)
    }
    async fn write(&self, state: &mut State) -> Result<(), StateError> {
        LocalBackend::write(self, state)
    }
    async fn lock(
        &self,
        operation: &str,
        timeout: Duration,
    ) -> Result<Box<dyn StateLock>, StateError> {
        let me = self.clone();
        let op = operation.to_string();
        let lock = tokio::task::spawn_blocking(move || me.lock(&op, timeout))
            .await
            .map_err(|e| {
                StateError::Lock(crate::state::lock::LockError::Io {
                    path: self.lock_path().display().to_string(),
                    source: std::io::Error::other(e),
                })
            })??;
        Ok(Box::new(lock))
    }
    async fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError> {
        LocalBackend::force_unlock(self, id)
    }
}
