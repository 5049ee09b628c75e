//! `dmsform emulator`: serve the DMS service-task API locally, a sandbox for trying
//! configurations with no cloud account (like Azurite for storage).

use crate::emulator::{self, EmulatorConfig, FaultRule, ShareRoot, parse_duration};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

fn duration(s: &str) -> Result<Duration, String> {
    parse_duration(s)
}

#[derive(Debug, Args)]
#[command(
    about = "Run the local DMS service-task emulator",
    long_about = "Run a local emulator of the Azure Data Migration Service service-task API.\n\n\
It serves the six operations of every api-version (PUT, GET, PATCH, DELETE, POST cancel, \
list) at the Azure Resource Manager paths, requires a bearer token like the real service, \
moves tasks through Queued -> Running -> a terminal state with time, and does the driver \
work for real: Upload reads a .zip from a mapped share, a local path or a blob container \
SAS URI; Install and Check act on the uploaded packages. State lives in --data-dir and \
survives restarts.\n\n\
Control endpoints (loopback only): GET/POST/DELETE /_emulator/faults, GET/DELETE \
/_emulator/requests, GET /_emulator/health."
)]
pub struct EmulatorArgs {
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, default_value = "127.0.0.1:7070", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// Directory for tasks, uploaded packages and the at-rest key.
    #[arg(long, default_value = ".dmsform/emulator", value_name = "DIR")]
    pub data_dir: PathBuf,

    /// Require exactly this bearer token (default: any non-empty token).
    #[arg(
        long,
        value_name = "T",
        env = "DMSFORM_EMULATOR_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// Map a UNC share to a local directory: HOST/SHARE=DIR[,user=U][,password=P|,password_env=VAR].
    /// With user= set, uploads must present that user name and password. Repeatable.
    #[arg(long = "share-root", value_name = "SPEC", value_parser = ShareRoot::parse)]
    pub share_roots: Vec<ShareRoot>,

    /// How long a new task stays Queued.
    #[arg(long, default_value = "1s", value_name = "DUR", value_parser = duration)]
    pub queued_for: Duration,

    /// How long a task stays Running before its result shows.
    #[arg(long, default_value = "3s", value_name = "DUR", value_parser = duration)]
    pub run_for: Duration,

    /// How long a cancelled task stays Canceling before it turns Canceled.
    #[arg(long, default_value = "1s", value_name = "DUR", value_parser = duration)]
    pub cancel_for: Duration,

    /// Tasks per list page; longer lists carry a nextLink.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub page_size: usize,

    /// At most N tasks of one service run at once; the others wait in Queued.
    #[arg(long, value_name = "N")]
    pub max_running: Option<usize>,

    /// Delete a running task without deleteRunningTasks=true (default: 409 TaskIsRunning).
    #[arg(long)]
    pub lenient_delete: bool,

    /// Only these services exist (others answer 404 ParentResourceNotFound). Repeatable.
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,

    /// Inject a fault: kind=status|drop|latency|task_fail|task_fault with optional
    /// op=put|get|patch|delete|cancel|list, task=NAME, count=N, probability=P,
    /// status=CODE, code=ARMCODE, message=TEXT, retry_after=SECS, ms=MILLIS. Repeatable.
    #[arg(long = "fault", value_name = "SPEC", value_parser = FaultRule::parse)]
    pub faults: Vec<FaultRule>,

    /// Seed for probabilistic faults.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
}

pub fn run(a: EmulatorArgs) -> i32 {
    let cfg = EmulatorConfig {
        listen: a.listen,
        data_dir: a.data_dir,
        token: a.token,
        share_roots: a.share_roots,
        queued_for: a.queued_for,
        run_for: a.run_for,
        cancel_for: a.cancel_for,
        page_size: a.page_size,
        lenient_delete: a.lenient_delete,
        max_running: a.max_running,
        services: (!a.services.is_empty()).then_some(a.services),
        faults: a.faults,
        seed: a.seed,
    };
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            crate::errln!("Error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    rt.block_on(async move {
        let data_dir = cfg.data_dir.display().to_string();
        let handle = match emulator::spawn(cfg).await {
            Ok(h) => h,
            Err(e) => {
                crate::errln!("Error: {e}");
                return 1;
            }
        };
        crate::outln!(
            "dmsform emulator listening on {} (data in {data_dir})",
            handle.base_url()
        );
        wait_for_signal().await;
        crate::outln!("dmsform emulator stopping");
        handle.shutdown().await;
        0
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
