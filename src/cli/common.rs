//! Flags shared by plan, apply, destroy and refresh, spelled as Terraform spells them.

use crate::config::VarArg;
use clap::{ArgAction, Args};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

static ARGV: OnceLock<Vec<String>> = OnceLock::new();

/// Remembers the (normalised) command line, so `-var` and `-var-file` can be taken in
/// the order they were given, as Terraform does.
pub fn remember_argv(argv: &[std::ffi::OsString]) {
    let _ = ARGV.set(
        argv.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
    );
}

/// `-var` and `-var-file` in command-line order.
pub fn ordered_vars() -> Vec<VarArg> {
    let argv = ARGV.get().cloned().unwrap_or_default();
    let mut out = Vec::new();
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        for (flag, file) in [("--var-file", true), ("--var", false)] {
            let value = if a == flag {
                it.next().cloned()
            } else {
                a.strip_prefix(&format!("{flag}=")).map(str::to_string)
            };
            if let Some(v) = value {
                out.push(if file {
                    VarArg::File(PathBuf::from(v))
                } else {
                    VarArg::Var(v)
                });
                break;
            }
        }
    }
    out
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::config::duration::parse_duration(s)
}

/// Variables, locking, parallelism and colour.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Set a variable: -var 'name=value'. Repeatable; later ones win.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub var: Vec<String>,
    /// Read variables from a file. Repeatable.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_file: Vec<PathBuf>,
    /// Lock the state while running (-lock=false to skip; dangerous with others around).
    #[arg(long, default_value_t = true, action = ArgAction::Set, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub lock: bool,
    /// How long to wait for a state lock held by another run.
    #[arg(long = "lock-timeout", default_value = "0s", value_parser = parse_duration, value_name = "DURATION")]
    pub lock_timeout: Duration,
    /// Run at most N changes (or reads) at once.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,
    /// Do not colour the output.
    #[arg(long = "no-color")]
    pub no_color: bool,
    /// Ask for missing input (accepted for compatibility; dmsform never prompts for variables).
    #[arg(long, default_value_t = true, action = ArgAction::Set, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub input: bool,
}

impl RunArgs {
    pub fn color(&self) -> bool {
        !self.no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
    }
}

/// The plan-shaping flags of plan and apply.
#[derive(Debug, Clone, Args)]
pub struct PlanFlags {
    /// Plan to destroy every managed task.
    #[arg(long)]
    pub destroy: bool,
    /// Only update state with what changed remotely; change nothing.
    #[arg(long = "refresh-only")]
    pub refresh_only: bool,
    /// Read the remote tasks first (-refresh=false to skip).
    #[arg(long, default_value_t = true, action = ArgAction::Set, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub refresh: bool,
    /// Limit the plan to this resource (and what it depends on). Repeatable.
    #[arg(long = "target", value_name = "ADDRESS")]
    pub target: Vec<String>,
    /// Plan to replace this resource instance. Repeatable.
    #[arg(long = "replace", value_name = "ADDRESS")]
    pub replace: Vec<String>,
}

/// A runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, i32> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            crate::errln!("Error: cannot start the async runtime: {e}");
            1
        })
}

/// Runs `f` in an open session (workspace, lock, state) for `operation`, closing it after:
/// the shape of every command that plans or changes something.
pub fn with_session(
    operation: &str,
    run: &RunArgs,
    color: bool,
    f: impl AsyncFnOnce(&mut crate::engine::Session) -> i32,
) -> i32 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async move {
        let mut s = match crate::engine::Session::open(
            operation,
            ordered_vars(),
            run.lock,
            run.lock_timeout,
            color,
        )
        .await
        {
            Ok(s) => s,
            Err(e) => {
                crate::err!("{}", e.0);
                return 1;
            }
        };
        let code = f(&mut s).await;
        s.close().await;
        code
    })
}

/// Loads the configuration's settings and opens its state store, for commands that only
/// read or fix state (show, output, force-unlock).
pub fn open_store(color: bool) -> Result<Box<dyn crate::state::backend::StateStore>, i32> {
    let dir = std::path::Path::new(".");
    let (config, _) = crate::workspace::load_settings(dir, color).map_err(|e| {
        crate::err!("{}", e.0);
        1
    })?;
    crate::workspace::open_store(&config, dir).map_err(|e| {
        crate::err!("{}", e.0);
        1
    })
}
