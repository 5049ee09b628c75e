//! The decoded configuration: what the loader produces and the evaluator reads.
//!
//! Expressions are kept as `hcl::edit` expressions with their byte spans; every item
//! remembers the file it came from so diagnostics can point at it.

use super::schema::ResourceKind;
use super::types::Type;
use crate::addr::ResourceAddr;
use crate::diag::{Sources, Span};
use crate::value::Value;
use hcl::edit::Span as _;
use hcl::edit::expr::Expression;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

/// An expression and where it was written.
#[derive(Debug, Clone)]
pub struct Expr {
    pub file: String,
    pub expr: Expression,
    /// The whole `name = value` range (or the expression's own range).
    pub range: Range<usize>,
}

impl Expr {
    /// The byte range of the expression itself (falls back to the attribute's).
    pub fn expr_range(&self) -> Range<usize> {
        self.expr.span().unwrap_or_else(|| self.range.clone())
    }
}

/// Where a block was declared: its file and the range of its header (`resource "T" "N"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclRange {
    pub file: String,
    pub range: Range<usize>,
}

/// The whole configuration of one directory.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The configuration directory (base of `file()` and `path.module`).
    pub dir: PathBuf,
    /// Every file read, for rendering diagnostics.
    pub sources: Sources,
    pub settings: Settings,
    pub provider: ProviderConfig,
    pub variables: BTreeMap<String, Variable>,
    /// Resolved variable values (after defaults, files, environment, `-var`); unknown for
    /// unset required variables in validate mode.
    pub var_values: BTreeMap<String, Value>,
    pub locals: BTreeMap<String, Local>,
    pub resources: BTreeMap<ResourceAddr, Resource>,
    pub outputs: BTreeMap<String, Output>,
    /// `data` blocks, accepted syntactically for a later feature (design §8).
    pub data: Vec<OpaqueBlock>,
    /// `check` blocks, accepted syntactically for a later feature (design §8).
    pub checks: Vec<OpaqueBlock>,
}

impl Config {
    /// The span of an expression, for diagnostics.
    pub fn span_of(&self, e: &Expr) -> Option<Span> {
        self.sources.span(&e.file, e.expr_range())
    }

    /// The span of a declaration header.
    pub fn decl_span(&self, d: &DeclRange) -> Option<Span> {
        self.sources.span(&d.file, d.range.clone())
    }
}

/// The `dmsform` block.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub required_version: Option<String>,
    pub backend: Backend,
}

/// Where state lives. `Debug` never shows `sas_token` or `access_key`.
#[derive(Clone, PartialEq, Eq)]
pub enum Backend {
    Local {
        path: String,
    },
    AzureRm {
        storage_account_name: String,
        container_name: String,
        key: String,
        endpoint: Option<String>,
        use_azuread_auth: bool,
        sas_token: Option<String>,
        access_key: Option<String>,
        lease_duration: Option<Duration>,
    },
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        match self {
            Backend::Local { path } => f.debug_struct("Local").field("path", path).finish(),
            Backend::AzureRm {
                storage_account_name,
                container_name,
                key,
                endpoint,
                use_azuread_auth,
                sas_token,
                access_key,
                lease_duration,
            } => f
                .debug_struct("AzureRm")
                .field("storage_account_name", storage_account_name)
                .field("container_name", container_name)
                .field("key", key)
                .field("endpoint", endpoint)
                .field("use_azuread_auth", use_azuread_auth)
                .field("sas_token", &hidden(sas_token))
                .field("access_key", &hidden(access_key))
                .field("lease_duration", lease_duration)
                .finish(),
        }
    }
}

impl Default for Backend {
    fn default() -> Backend {
        Backend::Local {
            path: "dmsform.state.json".into(),
        }
    }
}

/// How the provider authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    #[default]
    Default,
    Cli,
    Env,
    ManagedIdentity,
    WorkloadIdentity,
    TokenEnv,
    None,
}

/// Names of [`AuthMode`] values as written in configuration.
pub const AUTH_MODES: [&str; 7] = [
    "default",
    "cli",
    "env",
    "managed_identity",
    "workload_identity",
    "token_env",
    "none",
];

impl AuthMode {
    pub fn parse(s: &str) -> Option<AuthMode> {
        Some(match s {
            "default" => AuthMode::Default,
            "cli" => AuthMode::Cli,
            "env" => AuthMode::Env,
            "managed_identity" => AuthMode::ManagedIdentity,
            "workload_identity" => AuthMode::WorkloadIdentity,
            "token_env" => AuthMode::TokenEnv,
            "none" => AuthMode::None,
            _ => return None,
        })
    }
}

/// The evaluated `provider "dms"` block (defaults when absent).
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    pub subscription_id: Option<String>,
    pub endpoint: String,
    pub api_version: String,
    pub auth: AuthMode,
    pub poll_interval: Duration,
    pub max_poll_interval: Duration,
    pub emulator: Option<EmulatorSettings>,
    pub decl: Option<DeclRange>,
}

/// Default ARM endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://management.azure.com";
/// Default service API version.
pub const DEFAULT_API_VERSION: &str = "2025-06-30";

impl Default for ProviderConfig {
    fn default() -> ProviderConfig {
        ProviderConfig {
            subscription_id: None,
            endpoint: DEFAULT_ENDPOINT.into(),
            api_version: DEFAULT_API_VERSION.into(),
            auth: AuthMode::Default,
            poll_interval: Duration::from_secs(2),
            max_poll_interval: Duration::from_secs(30),
            emulator: None,
            decl: None,
        }
    }
}

impl ProviderConfig {
    /// True when the endpoint is the emulator: `embedded` or a loopback `http` URL.
    pub fn is_emulator(&self) -> bool {
        is_emulator_endpoint(&self.endpoint)
    }
}

/// `embedded` or an `http://` URL on a loopback host.
pub fn is_emulator_endpoint(endpoint: &str) -> bool {
    if endpoint == "embedded" {
        return true;
    }
    let Ok(url) = url::Url::parse(endpoint) else {
        return false;
    };
    if url.scheme() != "http" {
        return false;
    }
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The `emulator { … }` block inside the provider.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EmulatorSettings {
    pub queued_for: Option<Duration>,
    pub run_for: Option<Duration>,
    /// `HOST/SHARE` → local directory.
    pub share_root: BTreeMap<String, String>,
}

/// A `variable` block.
#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub decl: DeclRange,
    pub ty: Type,
    pub default: Option<Value>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub nullable: bool,
    pub validations: Vec<Condition>,
}

/// A `condition` / `error_message` pair (validation, postcondition, check assertion).
#[derive(Debug, Clone)]
pub struct Condition {
    pub condition: Expr,
    pub error_message: Expr,
}

/// One local value.
#[derive(Debug, Clone)]
pub struct Local {
    pub name: String,
    pub value: Expr,
}

/// A `resource` block.
#[derive(Debug, Clone)]
pub struct Resource {
    /// `type.name`, without an instance key.
    pub addr: ResourceAddr,
    pub kind: ResourceKind,
    pub decl: DeclRange,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    /// Top-level schema arguments that were set.
    pub args: BTreeMap<String, Expr>,
    /// The `driver_share` block (upload only).
    pub driver_share: Option<DriverShare>,
    /// Explicit `depends_on`, with the range of each reference.
    pub depends_on: Vec<(ResourceAddr, Expr)>,
    pub lifecycle: Lifecycle,
    pub timeouts: Timeouts,
    pub postconditions: Vec<Condition>,
}

/// The two forms of the upload's share.
#[derive(Debug, Clone)]
pub enum DriverShare {
    /// `path`, `user_name`, `password`.
    File {
        decl: DeclRange,
        args: BTreeMap<String, Expr>,
    },
    /// `sas_uri`.
    Blob { decl: DeclRange, sas_uri: Expr },
}

/// The `lifecycle` block.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    pub prevent_destroy: bool,
    /// Argument names whose changes are ignored.
    pub ignore_changes: Vec<String>,
    /// Resources whose replacement replaces this one.
    pub replace_triggered_by: Vec<ResourceAddr>,
}

/// The `timeouts` block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub create: Option<Duration>,
    pub delete: Option<Duration>,
}

/// An `output` block.
#[derive(Debug, Clone)]
pub struct Output {
    pub name: String,
    pub decl: DeclRange,
    pub value: Expr,
    pub description: Option<String>,
    pub sensitive: bool,
    pub depends_on: Vec<(ResourceAddr, Expr)>,
}

/// A block kept as written, for features that come later.
#[derive(Debug, Clone)]
pub struct OpaqueBlock {
    pub labels: Vec<String>,
    pub decl: DeclRange,
    pub body: hcl::edit::structure::Body,
}
