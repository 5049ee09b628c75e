//! The local state lock: an exclusive OS lock (`File::try_lock`) on `<state>.lock`, whose
//! content is JSON lock info naming the holder. The OS drops the lock when its holder
//! dies, so a killed run never leaves a stuck lock; the info left behind is reported as
//! stale and taken over.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Who holds a state lock, as written into the lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Operation")]
    pub operation: String,
    #[serde(rename = "Who")]
    pub who: String,
    #[serde(rename = "Pid", default)]
    pub pid: u32,
    #[serde(rename = "Host", default)]
    pub host: String,
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "Created")]
    pub created: String,
    #[serde(rename = "Path")]
    pub path: String,
}

impl LockInfo {
    /// Lock info for this process performing `operation` on the state at `path`.
    pub fn for_this_process(operation: &str, path: &str) -> LockInfo {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "unknown".into());
        let host = hostname();
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            operation: operation.to_string(),
            who: format!("{user}@{host}"),
            pid: std::process::id(),
            host,
            version: env!("CARGO_PKG_VERSION").to_string(),
            created: now_rfc3339(),
            path: path.to_string(),
        }
    }

    /// Whether the holder is a process of this host that no longer runs.
    pub fn holder_gone(&self) -> bool {
        self.host == hostname()
            && self.pid != 0
            && !Path::new(&format!("/proc/{}", self.pid)).exists()
            && Path::new("/proc/self").exists()
    }

    /// A human description for error messages.
    pub fn describe(&self) -> String {
        format!(
            "  ID:        {}\n  Path:      {}\n  Operation: {}\n  Who:       {}\n  Process:   {} on {}\n  Version:   {}\n  Created:   {}",
            self.id,
            self.path,
            self.operation,
            self.who,
            self.pid,
            self.host,
            self.version,
            self.created
        )
    }
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "localhost".into())
}

/// Why a lock could not be taken or released.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("Error acquiring the state lock\n\nThe state is locked by another run{}:\n{}\n\nWait for it to finish, or retry with -lock-timeout=DURATION. If no run holds it, `dmsform force-unlock {}` removes the lock.", if .0.holder_gone() { " (stale: its process is no longer running on this host)" } else { "" }, .0.describe(), .0.id)]
    Held(Box<LockInfo>),
    #[error("cannot use the lock file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the state is not locked (no lock file at {0})")]
    NotLocked(String),
    #[error("lock ID {given:?} does not match the lock holder's ID {held:?}")]
    WrongId { given: String, held: String },
}

/// A held lock; released (and its file removed) on drop.
#[derive(Debug)]
pub struct LocalLock {
    file: Option<File>,
    path: PathBuf,
    pub info: LockInfo,
    /// Info of a dead holder whose leftover lock file was taken over.
    pub took_over: Option<LockInfo>,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> LockError + '_ {
    move |source| LockError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn read_info(file: &mut File) -> Option<LockInfo> {
    let mut s = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut s).ok()?;
    serde_json::from_str(&s).ok()
}

#[cfg(unix)]
fn same_file(a: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (a.metadata(), std::fs::metadata(path)) {
        (Ok(x), Ok(y)) => x.ino() == y.ino() && x.dev() == y.dev(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_a: &File, path: &Path) -> bool {
    path.exists()
}

/// Takes the lock at `path`, waiting up to `timeout` for another holder to let go.
pub fn acquire(path: &Path, info: LockInfo, timeout: Duration) -> Result<LocalLock, LockError> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_err(path))?;
        match file.try_lock() {
            Ok(()) => {
                // The holder before us may have removed the file after we opened it.
                if !same_file(&file, path) {
                    continue;
                }
                let took_over = read_info(&mut file);
                let body =
                    serde_json::to_vec_pretty(&info).expect("invariant: lock info serializes");
                file.set_len(0).map_err(io_err(path))?;
                file.rewind().map_err(io_err(path))?;
                file.write_all(&body).map_err(io_err(path))?;
                file.sync_all().map_err(io_err(path))?;
                return Ok(LocalLock {
                    file: Some(file),
                    path: path.to_path_buf(),
                    info,
                    took_over,
                });
            }
            Err(TryLockError::WouldBlock) => {
                if Instant::now() >= deadline {
                    let held = read_info(&mut file).unwrap_or_else(|| LockInfo {
                        id: "(unknown)".into(),
                        operation: "(unknown)".into(),
                        who: "(unknown)".into(),
                        pid: 0,
                        host: String::new(),
                        version: String::new(),
                        created: String::new(),
                        path: path.display().to_string(),
                    });
                    return Err(LockError::Held(Box::new(held)));
                }
                drop(file);
                std::thread::sleep(
                    Duration::from_millis(50).min(
                        deadline
                            .saturating_duration_since(Instant::now())
                            .max(Duration::from_millis(1)),
                    ),
                );
            }
            Err(TryLockError::Error(e)) => return Err(io_err(path)(e)),
        }
    }
}

/// Removes the lock at `path` if its ID is `id` — for a holder that hangs.
pub fn force_unlock(path: &Path, id: &str) -> Result<LockInfo, LockError> {
    let mut file = File::open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            LockError::NotLocked(path.display().to_string())
        } else {
            io_err(path)(e)
        }
    })?;
    let info =
        read_info(&mut file).ok_or_else(|| LockError::NotLocked(path.display().to_string()))?;
    if info.id != id {
        return Err(LockError::WrongId {
            given: id.to_string(),
            held: info.id,
        });
    }
    std::fs::remove_file(path).map_err(io_err(path))?;
    Ok(info)
}

impl Drop for LocalLock {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            if same_file(&file, &self.path) {
                let _ = std::fs::remove_file(&self.path);
            }
            let _ = file.unlock();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_fails_naming_the_holder_then_succeeds_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json.lock");
        let first = acquire(
            &p,
            LockInfo::for_this_process("apply", "s.json"),
            Duration::ZERO,
        )
        .unwrap();
        let err = acquire(
            &p,
            LockInfo::for_this_process("plan", "s.json"),
            Duration::from_millis(120),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&first.info.id), "{msg}");
        assert!(msg.contains("apply"), "{msg}");
        let id = first.info.id.clone();
        drop(first);
        assert!(!p.exists(), "released locks leave no file");
        let again = acquire(
            &p,
            LockInfo::for_this_process("plan", "s.json"),
            Duration::ZERO,
        )
        .unwrap();
        assert_ne!(again.info.id, id);
    }

    #[test]
    fn waits_for_the_holder_within_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.lock");
        let first = acquire(&p, LockInfo::for_this_process("apply", "s"), Duration::ZERO).unwrap();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            drop(first);
        });
        let second = acquire(
            &p,
            LockInfo::for_this_process("apply", "s"),
            Duration::from_secs(5),
        );
        assert!(second.is_ok());
        t.join().unwrap();
    }

    #[test]
    fn leftover_info_is_taken_over_and_force_unlock_checks_the_id() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.lock");
        let mut dead = LockInfo::for_this_process("apply", "s");
        dead.pid = u32::MAX - 1;
        std::fs::write(&p, serde_json::to_vec(&dead).unwrap()).unwrap();
        assert!(dead.holder_gone());
        let l = acquire(&p, LockInfo::for_this_process("plan", "s"), Duration::ZERO).unwrap();
        assert_eq!(
            l.took_over.as_ref().map(|i| i.id.clone()),
            Some(dead.id.clone())
        );
        let id = l.info.id.clone();
        assert!(matches!(
            force_unlock(&p, "nope"),
            Err(LockError::WrongId { .. })
        ));
        assert_eq!(force_unlock(&p, &id).unwrap().id, id);
        assert!(matches!(
            force_unlock(&p, &id),
            Err(LockError::NotLocked(_))
        ));
        drop(l);
    }
}
