//! Everything a plan or apply needs, opened from the working directory: the loaded
//! configuration, the state store, and the DMS client (with the in-process emulator when
//! the provider's endpoint is `embedded`).

use crate::config::{self, Config, LoadOptions, VarArg};
use crate::diag::{Diagnostic, Diagnostics, Sources};
use crate::emulator::{self, EmulatorConfig, EmulatorHandle, ShareRoot};
use crate::providers::dms::auth::{self, AuthMode};
use crate::providers::dms::{ClientOptions, DmsClient, PollOptions};
use crate::state::backend::StateStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Subscription used with the emulator when none is configured.
pub const EMULATOR_SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";
/// Where the embedded emulator keeps its data, relative to the working directory.
pub const EMBEDDED_DATA_DIR: &str = ".dmsform/emulator";

/// A failure to open the workspace, already rendered for the terminal.
#[derive(Debug)]
pub struct OpenError(pub String);

/// The opened workspace.
pub struct Workspace {
    pub dir: PathBuf,
    pub config: Config,
    pub warnings: Diagnostics,
    pub store: Box<dyn StateStore>,
    pub client: Arc<DmsClient>,
    pub subscription: String,
    pub poll: PollOptions,
    pub embedded: Option<EmulatorHandle>,
}

/// Renders diagnostics for the terminal.
pub fn render(sources: &Sources, diags: &Diagnostics, color: bool) -> String {
    sources.render(diags, color)
}

/// Loads the configuration of `dir` with the variables given on the command line.
pub fn load_config(
    dir: &Path,
    vars: Vec<VarArg>,
    color: bool,
) -> Result<(Config, Diagnostics), OpenError> {
    load_config_mode(dir, vars, color, config::Mode::Plan)
}

/// Loads the configuration only for its settings (backend): unset variables are fine.
pub fn load_settings(dir: &Path, color: bool) -> Result<(Config, Diagnostics), OpenError> {
    load_config_mode(dir, vec![], color, config::Mode::Validate)
}

fn load_config_mode(
    dir: &Path,
    vars: Vec<VarArg>,
    color: bool,
    mode: config::Mode,
) -> Result<(Config, Diagnostics), OpenError> {
    let opts = LoadOptions {
        mode,
        vars,
        ..LoadOptions::default()
    }
    .with_process_env();
    config::load(dir, &opts).map_err(|f| OpenError(f.sources.render(&f.diagnostics, color)))
}

/// Opens the state store configured in the `dmsform` block.
pub fn open_store(config: &Config, dir: &Path) -> Result<Box<dyn StateStore>, OpenError> {
    crate::state::backend::select::open(&config.settings.backend, dir)
        .map_err(|e| OpenError(format!("Error: Cannot open the state backend\n\n{e}\n")))
}

impl Workspace {
    /// Opens the workspace of `dir`.
    pub async fn open(dir: &Path, vars: Vec<VarArg>, color: bool) -> Result<Workspace, OpenError> {
        let (config, warnings) = load_config(dir, vars, color)?;
        let store = open_store(&config, dir)?;
        let p = &config.provider;
        let embedded_ep = p.endpoint == "embedded";
        let embedded = if embedded_ep {
            let mut ecfg = EmulatorConfig {
                data_dir: dir.join(EMBEDDED_DATA_DIR),
                ..EmulatorConfig::default()
            };
            if let Some(e) = &p.emulator {
                if let Some(q) = e.queued_for {
                    ecfg.queued_for = q;
                }
                if let Some(r) = e.run_for {
                    ecfg.run_for = r;
                }
                for (unc, local) in &e.share_root {
                    let local_dir = dir.join(local);
                    let spec = format!("{unc}={}", local_dir.display());
                    let root = ShareRoot::parse(&spec).map_err(|e| {
                        OpenError(format!("Error: Invalid emulator share_root\n\n{e}\n"))
                    })?;
                    ecfg.share_roots.push(root);
                }
            }
            let h = emulator::spawn(ecfg).await.map_err(|e| {
                OpenError(format!(
                    "Error: Cannot start the embedded emulator\n\n{e}\n"
                ))
            })?;
            Some(h)
        } else {
            None
        };
        let endpoint = embedded
            .as_ref()
            .map(|h| h.base_url())
            .unwrap_or_else(|| p.endpoint.clone());
        let mode = match p.auth {
            config::AuthMode::Default if p.is_emulator() => AuthMode::None,
            config::AuthMode::Default => AuthMode::Default,
            config::AuthMode::Cli => AuthMode::Cli,
            config::AuthMode::Env => AuthMode::Env,
            config::AuthMode::ManagedIdentity => AuthMode::ManagedIdentity,
            config::AuthMode::WorkloadIdentity => AuthMode::WorkloadIdentity,
            config::AuthMode::TokenEnv => AuthMode::TokenEnv,
            config::AuthMode::None => AuthMode::None,
        };
        let subscription = p
            .subscription_id
            .clone()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| {
                ["DMSFORM_SUBSCRIPTION_ID", "AZURE_SUBSCRIPTION_ID", "ARM_SUBSCRIPTION_ID"]
                    .iter()
                    .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
            })
            .or_else(|| p.is_emulator().then(|| EMULATOR_SUBSCRIPTION.to_string()))
            .ok_or_else(|| {
                let d = Diagnostic::error(
                    "No subscription",
                    "Set subscription_id in the provider \"dms\" block, or the AZURE_SUBSCRIPTION_ID environment variable.",
                )
                .with_span(p.decl.as_ref().and_then(|d| config.decl_span(d)));
                OpenError(config.sources.render(&d.into(), color))
            })?;
        let tokens = auth::token_source(mode)
            .map_err(|e| OpenError(format!("Error: Cannot authenticate\n\n{e}\n")))?;
        let client = DmsClient::new(
            ClientOptions {
                endpoint,
                api_version: p.api_version.clone(),
                ..ClientOptions::default()
            },
            tokens,
        )
        .map_err(|e| OpenError(format!("Error: Invalid provider settings\n\n{e}\n")))?;
        let poll = PollOptions {
            first_interval: p.poll_interval,
            max_interval: p.max_poll_interval,
            factor: 1.5,
            timeout: None,
        };
        Ok(Workspace {
            dir: dir.to_path_buf(),
            config,
            warnings,
            store,
            client: Arc::new(client),
            subscription,
            poll,
            embedded,
        })
    }

    /// Stops the embedded emulator, if any.
    pub async fn close(self) {
        if let Some(h) = self.embedded {
            h.shutdown().await;
        }
    }
}
