//! Settings of the emulator: what the `dmsform emulator` flags and the in-process
//! `endpoint = "embedded"` mode both fill in. Parsing of flag strings lives here too, so
//! the emulator depends on nothing from the engine.

use super::faults::FaultRule;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The api-versions that serve service tasks (spec §2).
pub const API_VERSIONS: &[&str] = &[
    "2018-07-15-preview",
    "2021-06-30",
    "2021-10-30-preview",
    "2022-01-30-preview",
    "2022-03-30-preview",
    "2023-07-15-preview",
    "2025-03-15-preview",
    "2025-06-30",
    "2025-09-01-preview",
];

/// A UNC share (`\\HOST\SHARE`) mapped onto a local directory, optionally with the
/// credentials an upload must present.
#[derive(Clone, PartialEq, Eq)]
pub struct ShareRoot {
    pub host: String,
    pub share: String,
    pub dir: PathBuf,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for ShareRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShareRoot")
            .field("host", &self.host)
            .field("share", &self.share)
            .field("dir", &self.dir)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "(sensitive)"))
            .finish()
    }
}

impl ShareRoot {
    /// Parses `HOST/SHARE=DIR[,user=U][,password=P][,password_env=VAR]`.
    pub fn parse(spec: &str) -> Result<ShareRoot, String> {
        let (unc, rest) = spec
            .split_once('=')
            .ok_or_else(|| format!("share root {spec:?} must look like HOST/SHARE=DIR"))?;
        let unc = unc.trim_start_matches(['\\', '/']);
        let (host, share) = unc
            .split_once(['/', '\\'])
            .ok_or_else(|| format!("share root {unc:?} must name HOST/SHARE"))?;
        if host.is_empty() || share.is_empty() || share.contains(['/', '\\']) {
            return Err(format!("share root {unc:?} must name exactly HOST/SHARE"));
        }
        let mut parts = rest.split(',');
        let dir = parts.next().unwrap_or_default();
        if dir.is_empty() {
            return Err(format!("share root {spec:?} names no directory"));
        }
        let mut root = ShareRoot {
            host: host.to_string(),
            share: share.to_string(),
            dir: PathBuf::from(dir),
            user: None,
            password: None,
        };
        for opt in parts {
            match opt.split_once('=') {
                Some(("user", v)) => root.user = Some(v.to_string()),
                Some(("password", v)) => root.password = Some(v.to_string()),
                Some(("password_env", v)) => {
                    root.password = Some(
                        std::env::var(v)
                            .map_err(|_| format!("environment variable {v} is not set"))?,
                    )
                }
                _ => {
                    return Err(format!(
                        "unknown share root option {opt:?} (user=, password=, password_env=)"
                    ));
                }
            }
        }
        Ok(root)
    }
}

/// Everything the emulator needs to run.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Where tasks, packages and the at-rest key are kept.
    pub data_dir: PathBuf,
    /// A fixed bearer token to require; `None` accepts any non-empty token.
    pub token: Option<String>,
    pub share_roots: Vec<ShareRoot>,
    /// How long a new task stays `Queued`.
    pub queued_for: Duration,
    /// How long a task stays `Running`.
    pub run_for: Duration,
    /// How long a cancelled task stays `Canceling`.
    pub cancel_for: Duration,
    /// Items per list page.
    pub page_size: usize,
    /// Delete of a running task without `deleteRunningTasks=true` cancels it (lenient)
    /// instead of answering 409 `TaskIsRunning` (strict, the default; spec §12.3).
    pub lenient_delete: bool,
    /// At most this many tasks of one service run at once; the rest stay `Queued`.
    pub max_running: Option<usize>,
    /// When set, only these services exist; others answer 404 `ParentResourceNotFound`.
    pub services: Option<Vec<String>>,
    pub faults: Vec<FaultRule>,
    /// Seed for probabilistic faults.
    pub seed: u64,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: PathBuf::from(".dmsform/emulator"),
            token: None,
            share_roots: Vec::new(),
            queued_for: Duration::from_secs(1),
            run_for: Duration::from_secs(3),
            cancel_for: Duration::from_secs(1),
            page_size: 100,
            lenient_delete: false,
            max_running: None,
            services: None,
            faults: Vec::new(),
            seed: 0,
        }
    }
}

/// Parses a Go/Terraform-style duration: `"500ms"`, `"3s"`, `"1m30s"`, `"2h"`, or `"0"`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let bad =
        || format!("invalid duration {s:?}: use a number with a unit, like 500ms, 3s, 1m30s or 2h");
    if s.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * mult;
        rest = &rest[unit_len..];
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        for bad in ["", "5", "s", "5x", "1m30", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn share_roots() {
        let r = ShareRoot::parse("fileserver/drivers=./d,user=CONTOSO\\dms,password=pw").unwrap();
        assert_eq!(r.host, "fileserver");
        assert_eq!(r.share, "drivers");
        assert_eq!(r.dir, PathBuf::from("./d"));
        assert_eq!(r.user.as_deref(), Some("CONTOSO\\dms"));
        assert!(!format!("{r:?}").contains("pw"));
        let r = ShareRoot::parse("\\\\host\\share=/x").unwrap();
        assert_eq!((r.host.as_str(), r.share.as_str()), ("host", "share"));
        assert!(ShareRoot::parse("host=/x").is_err());
        assert!(ShareRoot::parse("host/share=").is_err());
        assert!(ShareRoot::parse("host/share=/x,colour=red").is_err());
    }
}
