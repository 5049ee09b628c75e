//! The local backend: `dmsform.state.json` in the working directory, written atomically
//! (temp file in the same directory, fsync, rename, directory fsync), mode 0600, with the
//! previous version kept as `.backup` and `errored.state.json` as a last resort.

use crate::state::file::{self, StateFileError};
use crate::state::lock::{self, LocalLock, LockError, LockInfo};
use crate::state::model::State;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read the state file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot decode the state file {path}: {source}")]
    Decode {
        path: String,
        source: StateFileError,
    },
    #[error(
        "Failed to persist state to {path}: {source}\n\nThe state was written to {dumped} instead, so nothing is lost. Fix the problem, then run `dmsform state push {dumped}`."
    )]
    WriteDumped {
        path: String,
        dumped: String,
        source: std::io::Error,
    },
    #[error(
        "Failed to persist state to {path}: {source}\n\nWriting {dumped} failed too ({dump_error}). The state of this run is printed below so nothing is lost."
    )]
    WriteLost {
        path: String,
        dumped: String,
        source: std::io::Error,
        dump_error: std::io::Error,
    },
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    AzureRm(Box<super::azurerm::AzureRmError>),
}

/// The state file at a path, with its lock beside it.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    path: PathBuf,
}

impl LocalBackend {
    pub fn new(path: impl Into<PathBuf>) -> LocalBackend {
        LocalBackend { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn lock_path(&self) -> PathBuf {
        with_suffix(&self.path, ".lock")
    }

    pub fn backup_path(&self) -> PathBuf {
        with_suffix(&self.path, ".backup")
    }

    /// The stored state, or `None` when there is no state file yet.
    pub fn read(&self) -> Result<Option<State>, StateError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Read {
                    path: self.path.display().to_string(),
                    source,
                });
            }
        };
        file::decode(&bytes)
            .map(Some)
            .map_err(|source| StateError::Decode {
                path: self.path.display().to_string(),
                source,
            })
    }

    /// Writes `state` with its serial incremented; the previous file becomes `.backup`.
    pub fn write(&self, state: &mut State) -> Result<(), StateError> {
        state.serial += 1;
        let bytes = file::encode(state);
        let result = (|| {
            if let Ok(previous) = std::fs::read(&self.path) {
                write_atomic(&self.backup_path(), &previous)?;
            }
            write_atomic(&self.path, &bytes)
        })();
        let Err(source) = result else { return Ok(()) };
        let dumped = self
            .path
            .parent()
            .unwrap_or(Path::new("."))
            .join("errored.state.json");
        match write_atomic(&dumped, &bytes) {
            Ok(()) => Err(StateError::WriteDumped {
                path: self.path.display().to_string(),
                dumped: dumped.display().to_string(),
                source,
            }),
            Err(dump_error) => Err(StateError::WriteLost {
                path: self.path.display().to_string(),
                dumped: dumped.display().to_string(),
                source,
                dump_error,
            }),
        }
    }

    /// Takes the state lock for `operation`, waiting up to `timeout`.
    pub fn lock(&self, operation: &str, timeout: Duration) -> Result<LocalLock, StateError> {
        let info = LockInfo::for_this_process(operation, &self.path.display().to_string());
        Ok(lock::acquire(&self.lock_path(), info, timeout)?)
    }

    pub fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError> {
        Ok(lock::force_unlock(&self.lock_path(), id)?)
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Temp file in the same directory (mode 0600), fsync, rename over, directory fsync.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".dmsform-state-")
        .tempfile_in(dir)?;
    set_private(tmp.as_file())?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(unix)]
fn set_private(f: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_private(_f: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_atomically_with_backup_and_serial() {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(dir.path().join("dmsform.state.json"));
        assert!(b.read().unwrap().is_none());
        let mut s = State::new();
        b.write(&mut s).unwrap();
        assert_eq!(s.serial, 1);
        assert!(!b.backup_path().exists());
        b.write(&mut s).unwrap();
        assert_eq!(b.read().unwrap().unwrap().serial, 2);
        let backup = file::decode(&std::fs::read(b.backup_path()).unwrap()).unwrap();
        assert_eq!(backup.serial, 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(b.path()).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".dmsform-state-")
            })
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn unwritable_state_is_dumped_to_errored_state() {
        let dir = tempfile::tempdir().unwrap();
        // The state path is a directory: the rename over it fails.
        std::fs::create_dir(dir.path().join("dmsform.state.json")).unwrap();
        std::fs::write(dir.path().join("dmsform.state.json").join("x"), b"keep").unwrap();
        let b = LocalBackend::new(dir.path().join("dmsform.state.json"));
        let mut s = State::new();
        let err = b.write(&mut s).unwrap_err();
        assert!(matches!(err, StateError::WriteDumped { .. }), "{err}");
        let dumped =
            file::decode(&std::fs::read(dir.path().join("errored.state.json")).unwrap()).unwrap();
        assert_eq!(dumped.lineage, s.lineage);
    }

    #[test]
    fn corrupt_state_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        std::fs::write(&p, b"{\"version\": 1, \"lineage\": ").unwrap();
        let err = LocalBackend::new(&p).read().unwrap_err().to_string();
        assert!(
            err.contains("s.json") && err.contains("not valid JSON"),
            "{err}"
        );
    }
}
