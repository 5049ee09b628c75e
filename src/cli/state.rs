//! `dmsform state list|show|rm|mv|pull|push`: read and edit the state as Terraform's
//! `state` commands do, on whichever backend is configured (or `-state=PATH`, a local
//! file). rm, mv and push take the state lock and keep a backup (the backend's own, and
//! `-backup=PATH` if given). The edits themselves are in `state::ops`.

use super::common::parse_duration;
use crate::state::backend::{LocalBackend, StateError, StateLock, StateStore, select};
use crate::state::{State, file, ops};
use clap::{ArgAction, Args, Subcommand};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(subcommand)]
    pub command: StateCommand,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the resource instances in the state (all, or those the addresses name).
    List(ListArgs),
    /// Show one resource instance's attributes.
    Show(ShowArgs),
    /// Forget resource instances (the tasks themselves are left alone).
    Rm(RmArgs),
    /// Move a resource or instance to another address.
    Mv(MvArgs),
    /// Print the stored state as JSON.
    Pull(Source),
    /// Replace the stored state with a state file (`-` for standard input).
    Push(PushArgs),
}

/// Where the state is: the configured backend, or a local file.
#[derive(Debug, Clone, Args)]
pub struct Source {
    /// Use this local state file instead of the configured backend.
    #[arg(long = "state", value_name = "PATH")]
    pub state: Option<PathBuf>,
}

/// Locking and backup, for the commands that write.
#[derive(Debug, Clone, Args)]
pub struct WriteFlags {
    #[command(flatten)]
    pub source: Source,
    /// Lock the state while writing (-lock=false to skip).
    #[arg(long, default_value_t = true, action = ArgAction::Set, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub lock: bool,
    /// How long to wait for a lock held by another run.
    #[arg(long = "lock-timeout", default_value = "0s", value_parser = parse_duration, value_name = "DURATION")]
    pub lock_timeout: Duration,
    /// Also save the state as it was before the change to this file.
    #[arg(long, value_name = "PATH")]
    pub backup: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub source: Source,
    /// Only the instance whose task has this ID.
    #[arg(long = "id", value_name = "ID")]
    pub id: Option<String>,
    /// Only these resources or instances (a resource address matches all its instances).
    #[arg(value_name = "ADDRESS")]
    pub addrs: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub source: Source,
    /// The resource instance to show, e.g. dms_oci_driver_upload.driver["dms1"].
    #[arg(value_name = "ADDRESS")]
    pub addr: String,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    #[command(flatten)]
    pub flags: WriteFlags,
    /// Show what would be removed, changing nothing.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// The resources or instances to forget.
    #[arg(value_name = "ADDRESS", required = true)]
    pub addrs: Vec<String>,
}

#[derive(Debug, Args)]
pub struct MvArgs {
    #[command(flatten)]
    pub flags: WriteFlags,
    /// Show what would move, changing nothing.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// The address recorded now.
    #[arg(value_name = "SOURCE")]
    pub src: String,
    /// The address to record it under.
    #[arg(value_name = "DESTINATION")]
    pub dst: String,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub flags: WriteFlags,
    /// Overwrite even a state of another lineage or a newer serial.
    #[arg(long)]
    pub force: bool,
    /// The state file to push, or - for standard input.
    #[arg(value_name = "FILE")]
    pub file: String,
}

/// A failure, already worded for the terminal.
struct Failed(String);

impl From<StateError> for Failed {
    fn from(e: StateError) -> Failed {
        Failed(e.to_string())
    }
}

pub fn run(a: StateArgs) -> i32 {
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
    let mut out = String::new();
    let result = rt.block_on(dispatch(a.command, &mut out));
    crate::out!("{out}");
    match result {
        Ok(()) => 0,
        Err(Failed(msg)) => {
            if msg.starts_with("Error") {
                crate::errln!("{msg}");
            } else {
                crate::errln!("Error: {msg}");
            }
            1
        }
    }
}

async fn dispatch(c: StateCommand, out: &mut String) -> Result<(), Failed> {
    match c {
        StateCommand::List(a) => {
            let state = read(&*open(&a.source)?).await?;
            let filters = ops::parse_addrs(&a.addrs).map_err(Failed)?;
            for r in ops::select(&state, &filters) {
                if a.id.as_ref().is_none_or(|id| *id == r.id) {
                    out.push_str(&format!("{}\n", r.address));
                }
            }
            Ok(())
        }
        StateCommand::Show(a) => {
            let state = read(&*open(&a.source)?).await?;
            let addr = ops::parse_addrs(std::slice::from_ref(&a.addr)).map_err(Failed)?;
            let found = ops::select(&state, &addr);
            let [r] = found.as_slice() else {
                return Err(Failed(if found.is_empty() {
                    format!(
                        "No instance found for the given address!\n\nThis command requires that the address references one specific instance. {} is not in the state.",
                        a.addr
                    )
                } else {
                    format!(
                        "{} names {} instances; name one of them:\n  {}",
                        a.addr,
                        found.len(),
                        found
                            .iter()
                            .map(|r| r.address.as_str())
                            .collect::<Vec<_>>()
                            .join("\n  ")
                    )
                }));
            };
            out.push_str(&crate::state::show::render_resource(r));
            Ok(())
        }
        StateCommand::Pull(s) => {
            let store = open(&s)?;
            if let Some(state) = store.read().await? {
                out.push_str(&String::from_utf8_lossy(&file::encode(&state)));
            }
            Ok(())
        }
        StateCommand::Rm(a) => {
            let addrs = ops::parse_addrs(&a.addrs).map_err(Failed)?;
            edit(&a.flags, "state rm", a.dry_run, out, |state, out| {
                let removed = ops::remove(state, &addrs)
                    .map_err(|e| Failed(format!("Invalid target address\n\n{e}")))?;
                let verb = if a.dry_run { "Would remove" } else { "Removed" };
                for r in &removed {
                    out.push_str(&format!("{verb} {r}\n"));
                }
                if !a.dry_run {
                    out.push_str(&format!(
                        "Successfully removed {} resource instance(s).\n",
                        removed.len()
                    ));
                }
                Ok(())
            })
            .await
        }
        StateCommand::Mv(a) => {
            let addrs = ops::parse_addrs(&[a.src.clone(), a.dst.clone()]).map_err(Failed)?;
            edit(&a.flags, "state mv", a.dry_run, out, |state, out| {
                let moves = ops::rename(state, &addrs[0], &addrs[1])
                    .map_err(|e| Failed(format!("Invalid move\n\n{e}")))?;
                let verb = if a.dry_run { "Would move" } else { "Move" };
                for (from, to) in &moves {
                    out.push_str(&format!("{verb} {from:?} to {to:?}\n"));
                }
                if !a.dry_run {
                    out.push_str(&format!("Successfully moved {} object(s).\n", moves.len()));
                }
                Ok(())
            })
            .await
        }
        StateCommand::Push(a) => push(a).await,
    }
}

fn open(s: &Source) -> Result<Box<dyn StateStore>, Failed> {
    if let Some(p) = &s.state {
        return Ok(Box::new(LocalBackend::new(p.clone())));
    }
    let dir = Path::new(".");
    let backend =
        select::configured(dir).map_err(|f| Failed(f.sources.render(&f.diagnostics, false)))?;
    Ok(select::open(&backend, dir)?)
}

async fn read(store: &dyn StateStore) -> Result<State, Failed> {
    store.read().await?.ok_or_else(|| {
        Failed(format!(
            "No state file was found!\n\nState management commands require a state file. Run this command in a directory where dmsform has been run, or use -state to name a state file. (Looked in {}.)",
            store.describe()
        ))
    })
}

async fn lock(
    store: &dyn StateStore,
    f: &WriteFlags,
    op: &str,
) -> Result<Option<Box<dyn StateLock>>, Failed> {
    if !f.lock {
        return Ok(None);
    }
    Ok(Some(store.lock(op, f.lock_timeout).await?))
}

fn backup(f: &WriteFlags, prior: Option<&State>) -> Result<(), Failed> {
    if let (Some(path), Some(state)) = (&f.backup, prior) {
        crate::state::backend::local::write_atomic(path, &file::encode(state))
            .map_err(|e| Failed(format!("cannot write the backup {}: {e}", path.display())))?;
    }
    Ok(())
}

/// Lock, read, change, back up, write, unlock.
async fn edit(
    f: &WriteFlags,
    op: &str,
    dry_run: bool,
    out: &mut String,
    change: impl FnOnce(&mut State, &mut String) -> Result<(), Failed>,
) -> Result<(), Failed> {
    let store = open(&f.source)?;
    let held = if dry_run {
        None
    } else {
        lock(&*store, f, op).await?
    };
    let result = async {
        let prior = read(&*store).await?;
        let mut state = prior.clone();
        change(&mut state, out)?;
        if dry_run {
            return Ok(());
        }
        backup(f, Some(&prior))?;
        store.write(&mut state).await?;
        Ok(())
    }
    .await;
    if let Some(l) = held {
        l.release().await;
    }
    result
}

async fn push(a: PushArgs) -> Result<(), Failed> {
    let bytes = if a.file == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .read_to_end(&mut b)
            .map_err(|e| Failed(format!("cannot read standard input: {e}")))?;
        b
    } else {
        std::fs::read(&a.file).map_err(|e| Failed(format!("cannot read {}: {e}", a.file)))?
    };
    let pushed = file::decode(&bytes).map_err(|e| Failed(format!("{}: {e}", a.file)))?;
    let store = open(&a.flags.source)?;
    let held = lock(&*store, &a.flags, "state push").await?;
    let result = async {
        let current = store.read().await?;
        ops::check_push(current.as_ref(), &pushed, a.force).map_err(Failed)?;
        backup(&a.flags, current.as_ref())?;
        match current {
            Some(cur) if cur.serial >= pushed.serial => {
                // Forced over a newer state, or equal serials: still move forward.
                let mut s = pushed.clone();
                s.serial = cur.serial;
                store.write(&mut s).await?;
            }
            _ => store.write_verbatim(&pushed).await?,
        }
        Ok(())
    }
    .await;
    if let Some(l) = held {
        l.release().await;
    }
    result
}
