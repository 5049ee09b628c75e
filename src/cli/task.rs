//! `dmsform task list|get|create|update|cancel|delete`: the six service-task operations
//! from the command line, through the same client the engine uses.
//!
//! Parses flags, builds the client (or starts the in-process emulator for
//! `--endpoint embedded`), calls one client operation and renders the result. Secrets are
//! read only from environment variables or files, never from flag values, and never
//! printed: task JSON is shown with secret fields redacted.

use crate::providers::dms::auth::{self, AuthMode};
use crate::providers::dms::client::{DEFAULT_API_VERSION, DEFAULT_ENDPOINT};
use crate::providers::dms::models::{
    BlobShare, CheckOciDriverInput, DriverShare, FileShare, InstallOciDriverInput, ProjectTask,
    TaskDetails, TaskRequest, TaskType, UploadOciDriverInput, redact_secrets,
};
use crate::providers::dms::secret::SecretString;
use crate::providers::dms::{
    ClientOptions, DeleteOutcome, DmsClient, DmsError, Expand, PollOptions, ServiceRef,
    StateChange, WaitOutcome, wait_until_terminal,
};
use clap::{Args, Subcommand, ValueEnum};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Subscription used against the embedded emulator when none is given.
const EMBEDDED_SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";
/// Where the embedded emulator keeps its data, relative to the working directory.
const EMBEDDED_DATA_DIR: &str = ".dmsform/emulator";

#[derive(Debug, Args)]
pub struct TaskArgs {
    #[command(subcommand)]
    pub command: TaskCommand,
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// List the service tasks of a DMS service.
    List(ListArgs),
    /// Show one service task.
    Get(GetArgs),
    /// Create (or replace) a service task with PUT.
    Create(Box<CreateArgs>),
    /// Update a service task with PATCH (client data).
    Update(UpdateArgs),
    /// Ask a queued or running task to cancel.
    Cancel(CancelArgs),
    /// Delete a service task.
    Delete(DeleteArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExpandArg {
    Output,
}

/// Where and how to connect; shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct ConnArgs {
    /// Resource group of the DMS service.
    #[arg(long, short = 'g', env = "DMSFORM_RESOURCE_GROUP")]
    pub group: String,
    /// Name of the DMS service.
    #[arg(long, env = "DMSFORM_SERVICE_NAME")]
    pub service: String,
    /// Subscription id (default: DMSFORM_SUBSCRIPTION_ID, AZURE_SUBSCRIPTION_ID, ARM_SUBSCRIPTION_ID).
    #[arg(long)]
    pub subscription: Option<String>,
    /// ARM endpoint, or `embedded` for the in-process emulator (data under .dmsform/emulator).
    #[arg(long, env = "DMSFORM_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    pub endpoint: String,
    /// api-version to send.
    #[arg(long, default_value = DEFAULT_API_VERSION)]
    pub api_version: String,
    /// default | cli | env | managed_identity | workload_identity | token_env | none.
    /// Defaults to `none` for `embedded` and loopback http endpoints, `default` otherwise.
    #[arg(long)]
    pub auth: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    pub output: OutputFormat,
}

/// How to wait for a task; shared by create and cancel.
#[derive(Debug, Clone, Args)]
pub struct WaitArgs {
    /// Wait until the task reaches a terminal state, printing each state change.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this long and cancel the task (e.g. 30s, 10m, 1h).
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// With --wait: first poll interval.
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub poll_interval: Duration,
    /// With --wait: longest poll interval (the interval grows x1.5 up to it).
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub max_poll_interval: Duration,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Only tasks of this type (e.g. Service.Check.OCI).
    #[arg(long)]
    pub task_type: Option<String>,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Task name.
    pub name: String,
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Include the task's output.
    #[arg(long, value_enum)]
    pub expand: Option<ExpandArg>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Task name.
    pub name: String,
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Task type: Service.Check.OCI, Service.Upload.OCI or Service.Install.OCI.
    #[arg(long, required_unless_present = "body_file")]
    pub task_type: Option<String>,
    /// The whole request as JSON ({"properties": {...}}); `-` reads standard input.
    #[arg(long, conflicts_with_all = ["task_type", "server_version", "share_path", "driver_package_name", "sas_uri_env", "sas_uri_file"])]
    pub body_file: Option<PathBuf>,
    /// Check: the Oracle server version to check the driver against.
    #[arg(long)]
    pub server_version: Option<String>,
    /// Upload: path of the driver share (UNC path, or a local path for the emulator).
    #[arg(long)]
    pub share_path: Option<String>,
    /// Upload: account with access to the share.
    #[arg(long, requires = "share_path")]
    pub share_user: Option<String>,
    /// Upload: read the share password from this environment variable.
    #[arg(
        long,
        value_name = "VAR",
        requires = "share_path",
        conflicts_with = "share_password_file"
    )]
    pub share_password_env: Option<String>,
    /// Upload: read the share password from this file.
    #[arg(long, value_name = "FILE", requires = "share_path")]
    pub share_password_file: Option<PathBuf>,
    /// Upload (emulator): read a blob container SAS URI from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with_all = ["share_path", "sas_uri_file"])]
    pub sas_uri_env: Option<String>,
    /// Upload (emulator): read a blob container SAS URI from this file.
    #[arg(long, value_name = "FILE", conflicts_with = "share_path")]
    pub sas_uri_file: Option<PathBuf>,
    /// Install: name of an uploaded driver package.
    #[arg(long)]
    pub driver_package_name: Option<String>,
    /// Client data entry KEY=VALUE (repeatable).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_kv)]
    pub client_data: Vec<(String, String)>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Task name.
    pub name: String,
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Replace the client data with these KEY=VALUE entries (repeatable).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_kv, required_unless_present_any = ["body_file", "clear_client_data"])]
    pub client_data: Vec<(String, String)>,
    /// Remove all client data.
    #[arg(long, conflicts_with = "client_data")]
    pub clear_client_data: bool,
    /// The whole request as JSON ({"properties": {...}}); `-` reads standard input.
    #[arg(long, conflicts_with_all = ["client_data", "clear_client_data"])]
    pub body_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CancelArgs {
    /// Task name.
    pub name: String,
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Task name.
    pub name: String,
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Delete the task even if it is still running (`deleteRunningTasks=true`).
    #[arg(long)]
    pub delete_running_tasks: bool,
}

/// A failure of the command, already worded for the user.
struct Failure {
    message: String,
    code: i32,
}

impl From<DmsError> for Failure {
    fn from(e: DmsError) -> Self {
        Failure {
            message: e.to_string(),
            code: 1,
        }
    }
}

fn fail(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        code: 1,
    }
}

/// Runs `dmsform task …` and returns the exit code.
pub fn run(args: TaskArgs) -> i32 {
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
    let mut out = std::io::stdout().lock();
    match rt.block_on(dispatch(args.command, &mut out)) {
        Ok(()) => 0,
        Err(f) => {
            let _ = out.flush();
            crate::errln!("Error: {}", f.message);
            f.code
        }
    }
}

async fn dispatch(cmd: TaskCommand, out: &mut dyn Write) -> Result<(), Failure> {
    let conn = match &cmd {
        TaskCommand::List(a) => &a.conn,
        TaskCommand::Get(a) => &a.conn,
        TaskCommand::Create(a) => &a.conn,
        TaskCommand::Update(a) => &a.conn,
        TaskCommand::Cancel(a) => &a.conn,
        TaskCommand::Delete(a) => &a.conn,
    }
    .clone();
    let session = Session::open(&conn).await?;
    let result = session.execute(cmd, out).await;
    session.close().await;
    result
}

/// A connected client, plus the in-process emulator when the endpoint is `embedded`.
struct Session {
    client: DmsClient,
    svc: ServiceRef,
    format: OutputFormat,
    embedded: Option<embedded::Handle>,
}

fn is_loopback_http(endpoint: &str) -> bool {
    url::Url::parse(endpoint).is_ok_and(|u| {
        u.scheme() == "http"
            && matches!(
                u.host(),
                Some(url::Host::Domain("localhost"))
                    | Some(url::Host::Ipv4(_))
                    | Some(url::Host::Ipv6(_))
            )
            && match u.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                _ => true,
            }
    })
}

impl Session {
    async fn open(conn: &ConnArgs) -> Result<Session, Failure> {
        let is_embedded = conn.endpoint == "embedded";
        let (endpoint, handle) = if is_embedded {
            let h = embedded::start(Path::new(EMBEDDED_DATA_DIR)).await?;
            (h.base_url(), Some(h))
        } else {
            (conn.endpoint.clone(), None)
        };
        let mode = match &conn.auth {
            Some(m) => m.parse::<AuthMode>().map_err(fail)?,
            None if is_embedded || is_loopback_http(&endpoint) => AuthMode::None,
            None => AuthMode::Default,
        };
        let subscription = conn
            .subscription
            .clone()
            .or_else(|| {
                [
                    "DMSFORM_SUBSCRIPTION_ID",
                    "AZURE_SUBSCRIPTION_ID",
                    "ARM_SUBSCRIPTION_ID",
                ]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
            })
            .or_else(|| is_embedded.then(|| EMBEDDED_SUBSCRIPTION.to_string()))
            .ok_or_else(|| {
                fail("no subscription: pass --subscription or set AZURE_SUBSCRIPTION_ID")
            })?;
        let tokens = auth::token_source(mode)?;
        let client = DmsClient::new(
            ClientOptions {
                endpoint,
                api_version: conn.api_version.clone(),
                ..ClientOptions::default()
            },
            tokens,
        )?;
        Ok(Session {
            client,
            svc: ServiceRef::new(subscription, &conn.group, &conn.service),
            format: conn.output,
            embedded: handle,
        })
    }

    async fn close(self) {
        if let Some(h) = self.embedded {
            h.shutdown().await;
        }
    }

    async fn execute(&self, cmd: TaskCommand, out: &mut dyn Write) -> Result<(), Failure> {
        match cmd {
            TaskCommand::List(a) => {
                let tasks = self.client.list(&self.svc, a.task_type.as_deref()).await?;
                render_list(out, self.format, &tasks)
            }
            TaskCommand::Get(a) => {
                let expand = match a.expand {
                    Some(ExpandArg::Output) => Expand::Output,
                    None => Expand::None,
                };
                let t = self.client.get(&self.svc, &a.name, expand).await?;
                render_task(out, self.format, &t)
            }
            TaskCommand::Create(a) => {
                let req = build_create_request(&a)?;
                let put = self
                    .client
                    .create_or_update(&self.svc, &a.name, &req)
                    .await?;
                if a.wait.wait {
                    let verb = if put.created { "created" } else { "replaced" };
                    crate::errln!("{}: {verb}, {}", a.name, put.task.state());
                    let done = self.wait(&a.name, &a.wait).await?;
                    render_task(out, self.format, &done)?;
                    check_succeeded(&a.name, &done, false)
                } else {
                    render_task(out, self.format, &put.task)
                }
            }
            TaskCommand::Update(a) => {
                let req = match &a.body_file {
                    Some(f) => request_from_file(f)?,
                    None => {
                        let current = self.client.get(&self.svc, &a.name, Expand::None).await?;
                        let data: BTreeMap<String, String> = a.client_data.into_iter().collect();
                        current.to_request().with_client_data(data)
                    }
                };
                let t = self.client.update(&self.svc, &a.name, &req).await?;
                render_task(out, self.format, &t)
            }
            TaskCommand::Cancel(a) => {
                let t = self.client.cancel(&self.svc, &a.name).await?;
                if a.wait.wait {
                    crate::errln!("{}: cancel requested, {}", a.name, t.state());
                    let done = self.wait(&a.name, &a.wait).await?;
                    render_task(out, self.format, &done)?;
                    check_succeeded(&a.name, &done, true)
                } else {
                    render_task(out, self.format, &t)
                }
            }
            TaskCommand::Delete(a) => {
                let r = self
                    .client
                    .delete(&self.svc, &a.name, a.delete_running_tasks)
                    .await?;
                let (deleted, text) = match r {
                    DeleteOutcome::Deleted => (true, format!("{}: deleted", a.name)),
                    DeleteOutcome::NotFound => (
                        false,
                        format!("{}: no such task (nothing to delete)", a.name),
                    ),
                };
                match self.format {
                    OutputFormat::Json => write_json(
                        out,
                        &serde_json::json!({"name": a.name, "deleted": deleted}),
                    ),
                    OutputFormat::Table => writeln!(out, "{text}").map_err(io_fail),
                }
            }
        }
    }

    /// Waits with live state lines on stderr; Ctrl-C stops waiting (the task keeps going).
    async fn wait(&self, name: &str, w: &WaitArgs) -> Result<ProjectTask, Failure> {
        let opts = PollOptions {
            first_interval: w.poll_interval,
            max_interval: w.max_poll_interval,
            timeout: w.timeout,
            ..PollOptions::default()
        };
        let token = CancellationToken::new();
        let on_signal = token.clone();
        let watcher = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_signal.cancel();
            }
        });
        let mut on_change = |c: &StateChange<'_>| crate::errln!("{}", state_line(c));
        let r =
            wait_until_terminal(&self.client, &self.svc, name, &opts, &token, &mut on_change).await;
        watcher.abort();
        match r? {
            WaitOutcome::Finished(t) => Ok(t),
            WaitOutcome::DeadlineExceeded { cancel, .. } => {
                let after = match *cancel {
                    Ok(t) => format!("cancel requested, task is {}", t.state()),
                    Err(e) => format!("the cancel request failed: {e}"),
                };
                Err(fail(format!("{name}: timed out waiting; {after}")))
            }
            WaitOutcome::Interrupted { .. } => Err(Failure {
                message: format!("{name}: interrupted; the task was left running"),
                code: 130,
            }),
        }
    }
}

/// `t1: Running [1.2s elapsed]` or `t1: Queued -> Running [1.2s elapsed]`.
fn state_line(c: &StateChange<'_>) -> String {
    let secs = c.elapsed.as_secs_f64();
    match c.previous {
        Some(p) => format!("{}: {p} -> {} [{secs:.1}s elapsed]", c.task_name, c.state),
        None => format!("{}: {} [{secs:.1}s elapsed]", c.task_name, c.state),
    }
}

fn check_succeeded(name: &str, t: &ProjectTask, cancel_expected: bool) -> Result<(), Failure> {
    use crate::providers::dms::TaskState;
    let st = t.state();
    if st == TaskState::Succeeded || (cancel_expected && st == TaskState::Canceled) {
        return Ok(());
    }
    let mut msg = format!("{name}: task ended in state {st}");
    for e in &t.properties.errors {
        msg.push_str(&format!(
            "\n  ({}) {}",
            e.code.as_deref().unwrap_or("?"),
            e.message.as_deref().unwrap_or("")
        ));
    }
    for v in t.properties.details.validation_errors() {
        msg.push_str(&format!(
            "\n  {}",
            v.message.as_deref().unwrap_or("(no message)")
        ));
        if let Some(a) = &v.actionable_message {
            msg.push_str(&format!(" {a}"));
        }
    }
    Err(fail(msg))
}

fn io_fail(e: std::io::Error) -> Failure {
    fail(format!("cannot write output: {e}"))
}

fn read_secret_env(var: &str, what: &str) -> Result<SecretString, Failure> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(SecretString::new(v)),
        _ => Err(fail(format!(
            "{what}: environment variable {var} is not set"
        ))),
    }
}

fn read_secret_file(path: &Path, what: &str) -> Result<SecretString, Failure> {
    let s = std::fs::read_to_string(path)
        .map_err(|e| fail(format!("{what}: cannot read {}: {e}", path.display())))?;
    let s = s.trim_end_matches(['\r', '\n']);
    if s.is_empty() {
        return Err(fail(format!("{what}: {} is empty", path.display())));
    }
    Ok(SecretString::new(s))
}

fn request_from_file(path: &Path) -> Result<TaskRequest, Failure> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| fail(format!("cannot read standard input: {e}")))?
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?
    };
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| fail(format!("{} is not JSON: {e}", path.display())))?;
    TaskRequest::from_json(v).map_err(|e| fail(format!("{}: {e}", path.display())))
}

/// Builds the PUT body from flags (or the body file).
fn build_create_request(a: &CreateArgs) -> Result<TaskRequest, Failure> {
    let req = if let Some(f) = &a.body_file {
        request_from_file(f)?
    } else {
        let ty = a.task_type.as_deref().unwrap_or_default();
        let misplaced =
            |flag: &str, ok: &str| fail(format!("{flag} applies to {ok} tasks, not to {ty}"));
        let upload_flags =
            a.share_path.is_some() || a.sas_uri_env.is_some() || a.sas_uri_file.is_some();
        match TaskType::parse(ty) {
            TaskType::CheckOci => {
                if upload_flags {
                    return Err(misplaced("--share-path/--sas-uri-*", TaskType::UPLOAD_OCI));
                }
                if a.driver_package_name.is_some() {
                    return Err(misplaced("--driver-package-name", TaskType::INSTALL_OCI));
                }
                TaskRequest::check(CheckOciDriverInput {
                    server_version: a.server_version.clone(),
                    ..Default::default()
                })
            }
            TaskType::UploadOci => {
                if a.server_version.is_some() {
                    return Err(misplaced("--server-version", TaskType::CHECK_OCI));
                }
                if a.driver_package_name.is_some() {
                    return Err(misplaced("--driver-package-name", TaskType::INSTALL_OCI));
                }
                let share = if let Some(path) = &a.share_path {
                    let password = match (&a.share_password_env, &a.share_password_file) {
                        (Some(v), _) => Some(read_secret_env(v, "--share-password-env")?),
                        (None, Some(f)) => Some(read_secret_file(f, "--share-password-file")?),
                        (None, None) => None,
                    };
                    DriverShare::File(FileShare {
                        path: Some(path.clone()),
                        user_name: a.share_user.clone(),
                        password,
                        ..Default::default()
                    })
                } else {
                    let sas = match (&a.sas_uri_env, &a.sas_uri_file) {
                        (Some(v), _) => read_secret_env(v, "--sas-uri-env")?,
                        (None, Some(f)) => read_secret_file(f, "--sas-uri-file")?,
                        (None, None) => {
                            return Err(fail(
                                "Service.Upload.OCI needs --share-path (with --share-user and --share-password-env/--share-password-file) or --sas-uri-env/--sas-uri-file",
                            ));
                        }
                    };
                    DriverShare::Blob(BlobShare {
                        sas_uri: Some(sas),
                        ..Default::default()
                    })
                };
                TaskRequest::upload(UploadOciDriverInput {
                    driver_share: Some(share),
                    ..Default::default()
                })
            }
            TaskType::InstallOci => {
                if upload_flags {
                    return Err(misplaced("--share-path/--sas-uri-*", TaskType::UPLOAD_OCI));
                }
                if a.server_version.is_some() {
                    return Err(misplaced("--server-version", TaskType::CHECK_OCI));
                }
                TaskRequest::install(InstallOciDriverInput {
                    driver_package_name: a.driver_package_name.clone(),
                    ..Default::default()
                })
            }
            TaskType::Other(t) => {
                return Err(fail(format!(
                    "unknown task type '{t}'; use Service.Check.OCI, Service.Upload.OCI or Service.Install.OCI, or --body-file for other types"
                )));
            }
        }
    };
    if a.client_data.is_empty() {
        Ok(req)
    } else {
        Ok(req.with_client_data(a.client_data.iter().cloned().collect()))
    }
}

fn write_json(out: &mut dyn Write, v: &serde_json::Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(v).map_err(|e| fail(e.to_string()))?;
    writeln!(out, "{text}").map_err(io_fail)
}

fn render_list(out: &mut dyn Write, f: OutputFormat, tasks: &[ProjectTask]) -> Result<(), Failure> {
    if f == OutputFormat::Json {
        let items: Vec<_> = tasks.iter().map(ProjectTask::to_redacted_json).collect();
        return write_json(out, &serde_json::Value::Array(items));
    }
    if tasks.is_empty() {
        return writeln!(out, "(no tasks)").map_err(io_fail);
    }
    let rows: Vec<[String; 3]> = tasks
        .iter()
        .map(|t| {
            [
                t.name.clone().unwrap_or_default(),
                t.task_type().to_string(),
                t.state().to_string(),
            ]
        })
        .collect();
    let header = ["NAME".to_string(), "TYPE".into(), "STATE".into()];
    let mut widths = [0usize; 3];
    for r in std::iter::once(&header).chain(&rows) {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for r in std::iter::once(&header).chain(&rows) {
        let line = format!(
            "{:<w0$}  {:<w1$}  {}",
            r[0],
            r[1],
            r[2],
            w0 = widths[0],
            w1 = widths[1]
        );
        writeln!(out, "{}", line.trim_end()).map_err(io_fail)?;
    }
    Ok(())
}

fn compact(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn render_task(out: &mut dyn Write, f: OutputFormat, t: &ProjectTask) -> Result<(), Failure> {
    if f == OutputFormat::Json {
        return write_json(out, &t.to_redacted_json());
    }
    let mut lines = vec![
        ("Name", t.name.clone().unwrap_or_default()),
        ("Type", t.task_type().to_string()),
        ("State", t.state().to_string()),
    ];
    if let Some(input) = t.properties.details.input_json() {
        lines.push(("Input", compact(&redact_secrets(input))));
    }
    if let Some(cd) = &t.properties.client_data {
        let kv: Vec<_> = cd.iter().map(|(k, v)| format!("{k}={v}")).collect();
        lines.push(("Client data", kv.join(", ")));
    }
    if let Some(id) = &t.id {
        lines.push(("Id", id.clone()));
    }
    for (k, v) in lines {
        writeln!(out, "{:<12} {v}", format!("{k}:")).map_err(io_fail)?;
    }
    match &t.properties.details {
        TaskDetails::CheckOci { output, .. } => {
            for o in output {
                if let Some(d) = &o.installed_driver {
                    writeln!(
                        out,
                        "Driver:      {} (version {}, {} bytes, supports Oracle {})",
                        d.driver_name.as_deref().unwrap_or("?"),
                        d.assembly_version.as_deref().unwrap_or("?"),
                        d.driver_size.as_deref().unwrap_or("?"),
                        d.supported_oracle_versions.join(", ")
                    )
                    .map_err(io_fail)?;
                }
            }
        }
        TaskDetails::UploadOci { output, .. } => {
            for o in output {
                if let Some(p) = &o.driver_package_name {
                    writeln!(out, "Package:     {p}").map_err(io_fail)?;
                }
            }
        }
        TaskDetails::InstallOci { .. } => {}
        TaskDetails::Other { output, .. } => {
            for o in output {
                writeln!(out, "Output:      {}", compact(&redact_secrets(o.clone())))
                    .map_err(io_fail)?;
            }
        }
    }
    for v in t.properties.details.validation_errors() {
        writeln!(
            out,
            "Problem:     {}{}",
            v.message.as_deref().unwrap_or("(no message)"),
            v.actionable_message
                .as_deref()
                .map(|a| format!(" ({a})"))
                .unwrap_or_default()
        )
        .map_err(io_fail)?;
    }
    for e in &t.properties.errors {
        writeln!(
            out,
            "Error:       ({}) {}",
            e.code.as_deref().unwrap_or("?"),
            e.message.as_deref().unwrap_or("")
        )
        .map_err(io_fail)?;
    }
    Ok(())
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got '{s}'")),
    }
}

/// Parses `500ms`, `30s`, `10m`, `1h` or a bare number of seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration '{s}' (try 30s, 10m, 1h)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(format!(
                "invalid duration unit in '{s}' (use ms, s, m or h)"
            ));
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid duration '{s}'"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The in-process emulator behind `--endpoint embedded`: it keeps its data under the
/// working directory, so tasks outlive the process and advance by the clock.
mod embedded {
    use super::{Failure, fail};
    use crate::emulator::{EmulatorConfig, EmulatorHandle, spawn};
    use std::path::Path;

    pub type Handle = EmulatorHandle;

    pub async fn start(data_dir: &Path) -> Result<Handle, Failure> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", data_dir.display())))?;
        let cfg = EmulatorConfig {
            data_dir: data_dir.to_path_buf(),
            ..EmulatorConfig::default()
        };
        spawn(cfg)
            .await
            .map_err(|e| fail(format!("cannot start the embedded emulator: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_pairs() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("3d").is_err());
        assert!(parse_duration("x").is_err());
        assert_eq!(parse_kv("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert!(parse_kv("=x").is_err());
        assert!(is_loopback_http("http://127.0.0.1:7070"));
        assert!(is_loopback_http("http://localhost:1"));
        assert!(!is_loopback_http("https://127.0.0.1"));
        assert!(!is_loopback_http("http://10.0.0.1"));
    }

    #[test]
    fn list_table_aligns_columns() {
        let tasks: Vec<ProjectTask> = serde_json::from_value(serde_json::json!([
            {"name": "a", "properties": {"taskType": "Service.Check.OCI", "state": "Queued"}},
            {"name": "longer-name", "properties": {"taskType": "Service.Install.OCI", "state": "Running"}}
        ]))
        .unwrap();
        let mut buf = Vec::new();
        render_list(&mut buf, OutputFormat::Table, &tasks)
            .unwrap_or_else(|f| panic!("{}", f.message));
        let s = String::from_utf8(buf).unwrap();
        assert_eq!(
            s,
            "NAME         TYPE                 STATE\na            Service.Check.OCI    Queued\nlonger-name  Service.Install.OCI  Running\n"
        );
    }
}
