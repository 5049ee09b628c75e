//! `dmsform init [-migrate-state] [-reconfigure] [-force-copy]`: checks the configured
//! backend, reaches it, and records it in `.dmsform/backend.json`. When the backend
//! changed since the last init (or a local state exists and a remote backend is now
//! configured), `-migrate-state` copies the state across, keeping lineage and serial;
//! `-reconfigure` switches without copying.

use super::common::parse_duration;
use crate::state::backend::select::{self, BackendRecord};
use crate::state::backend::{StateStore, select::open};
use crate::state::ops;
use clap::{ArgAction, Args};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Copy the state from the previously initialised backend to the configured one.
    #[arg(long = "migrate-state")]
    pub migrate_state: bool,
    /// Use the configured backend without copying any state to it.
    #[arg(long)]
    pub reconfigure: bool,
    /// With -migrate-state: overwrite a different state already in the destination.
    #[arg(long = "force-copy")]
    pub force_copy: bool,
    /// Lock both states while migrating (-lock=false to skip).
    #[arg(long, default_value_t = true, action = ArgAction::Set, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub lock: bool,
    /// How long to wait for a lock held by another run.
    #[arg(long = "lock-timeout", default_value = "0s", value_parser = parse_duration, value_name = "DURATION")]
    pub lock_timeout: Duration,
    /// Accepted for compatibility; dmsform never prompts here.
    #[arg(long, default_value_t = true, action = ArgAction::Set, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub input: bool,
}

pub fn run(a: InitArgs) -> i32 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            crate::errln!("Error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    match rt.block_on(init(a, Path::new("."))) {
        Ok(()) => 0,
        Err(msg) => {
            crate::errln!("{msg}");
            1
        }
    }
}

async fn init(a: InitArgs, dir: &Path) -> Result<(), String> {
    if a.migrate_state && a.reconfigure {
        return Err("Error: -migrate-state and -reconfigure are mutually exclusive".into());
    }
    crate::outln!("Initializing the backend...");
    let backend = select::configured(dir).map_err(|f| f.sources.render(&f.diagnostics, false))?;
    let record = BackendRecord::of(&backend);
    let store = open(&backend, dir).map_err(|e| format!("Error: {e}"))?;
    store.read().await.map_err(|e| {
        format!(
            "Error: Failed to reach the backend {}\n\n{e}",
            record.describe()
        )
    })?;
    let previous = select::read_record(dir).map_err(|e| format!("Error: {e}"))?;
    // Before any init, the state lived in the default local file.
    let default_local = BackendRecord::of(&crate::config::Backend::default());
    let from = match previous {
        Some(p) => Some(p),
        None if record != default_local && dir.join("dmsform.state.json").exists() => {
            Some(default_local)
        }
        None => None,
    };
    match from {
        Some(prev) if !prev.same_storage(&record) && !a.reconfigure => {
            let source = open(&prev.to_backend(), dir).map_err(|e| {
                format!(
                    "Error: Cannot open the previous backend {}\n\n{e}",
                    prev.describe()
                )
            })?;
            let src_state = source.read().await.map_err(|e| {
                format!(
                    "Error: Failed to read the state of the previous backend {}\n\n{e}",
                    prev.describe()
                )
            })?;
            match src_state {
                None => {}
                Some(_) if !a.migrate_state => {
                    return Err(format!(
                        "Error: Backend configuration changed\n\nThe state is in the backend {} and the configuration now names {}. Run `dmsform init -migrate-state` to copy the state to the new backend, or `dmsform init -reconfigure` to use the new backend without copying it.",
                        prev.describe(),
                        record.describe()
                    ));
                }
                Some(_) => {
                    migrate(&a, &*source, &*store, &prev, &record).await?;
                }
            }
        }
        _ => {}
    }
    select::write_record(dir, &record).map_err(|e| format!("Error: {e}"))?;
    crate::outln!(
        "\nSuccessfully configured the backend {}! dmsform will automatically use this backend unless the backend configuration changes.\n\ndmsform has been successfully initialized!",
        record.describe()
    );
    Ok(())
}

async fn take_lock(
    a: &InitArgs,
    s: &dyn StateStore,
) -> Result<Option<Box<dyn crate::state::backend::StateLock>>, String> {
    if !a.lock {
        return Ok(None);
    }
    s.lock("migrate state", a.lock_timeout)
        .await
        .map(Some)
        .map_err(|e| format!("Error: cannot lock {}\n\n{e}", s.describe()))
}

async fn migrate(
    a: &InitArgs,
    source: &dyn StateStore,
    dest: &dyn StateStore,
    from: &BackendRecord,
    to: &BackendRecord,
) -> Result<(), String> {
    let src_lock = take_lock(a, source).await?;
    let dest_lock = match take_lock(a, dest).await {
        Ok(l) => l,
        Err(e) => {
            if let Some(l) = src_lock {
                l.release().await;
            }
            return Err(e);
        }
    };
    let result = async {
        let state = source
            .read()
            .await
            .map_err(|e| format!("Error: {e}"))?
            .ok_or_else(|| "Error: the previous backend's state vanished".to_string())?;
        let existing = dest.read().await.map_err(|e| format!("Error: {e}"))?;
        if !a.force_copy && !ops::safe_to_copy(existing.as_ref(), &state) {
            let e = existing.as_ref().map(|s| (s.lineage.clone(), s.serial)).unwrap_or_default();
            return Err(format!(
                "Error: The destination already has a state\n\nThe backend {} holds a state (lineage {}, serial {}) that is not an older version of the one being copied (lineage {}, serial {}). Rerun with -force-copy to overwrite it.",
                to.describe(), e.0, e.1, state.lineage, state.serial
            ));
        }
        dest.write_verbatim(&state).await.map_err(|e| format!("Error: {e}"))?;
        crate::outln!(
            "Copied the state from {} to {} (lineage {}, serial {}, {} resource instance(s)).",
            from.describe(),
            to.describe(),
            state.lineage,
            state.serial,
            state.resources.len()
        );
        Ok(())
    }
    .await;
    if let Some(l) = dest_lock {
        l.release().await;
    }
    if let Some(l) = src_lock {
        l.release().await;
    }
    result
}
