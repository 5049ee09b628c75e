//! The commands' library side: open a session (workspace, lock, state), recover what an
//! interrupted run left pending, plan, apply, and record outputs. The CLI files parse flags
//! and render; this module does the work.

use crate::apply::events::Printer;
use crate::apply::executor::{ApplyEnv, ApplyOutcome, apply};
use crate::apply::recover;
use crate::config::{Evaluator, Mode, ResourceInstance};
use crate::diag::{Diagnostic, Diagnostics};
use crate::plan::planner::{self, PlanRequest, Planned, known_from_state};
use crate::providers::dms::{WaitOutcome, wait_until_terminal};
use crate::secret::Digester;
use crate::state::backend::StateLock;
use crate::state::{OutputState, State, Status};
use crate::workspace::Workspace;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// An open session: workspace, lock and state.
pub struct Session {
    pub ws: Workspace,
    pub lock: Option<Box<dyn StateLock>>,
    pub state: State,
    /// Whether a state existed before this run.
    pub had_state: bool,
    pub digester: Digester,
    pub color: bool,
    /// Machine-readable output (`-json`).
    pub json: bool,
    /// Data sources read in this run.
    pub data: BTreeMap<String, crate::value::Value>,
    /// The `check` blocks' last outcomes.
    pub checks: Vec<crate::drift::checks::CheckOutcome>,
}

/// A failure, rendered for the terminal.
#[derive(Debug)]
pub struct Failed(pub String);

impl Session {
    /// Opens the workspace of the current directory, takes the lock (unless `lock` is
    /// false) and reads the state.
    pub async fn open(
        operation: &str,
        vars: Vec<crate::config::VarArg>,
        lock: bool,
        lock_timeout: Duration,
        color: bool,
    ) -> Result<Session, Failed> {
        let ws = Workspace::open(Path::new("."), vars, color)
            .await
            .map_err(|e| Failed(e.0))?;
        if !ws.warnings.is_empty() {
            crate::err!("{}", ws.config.sources.render(&ws.warnings, color));
        }
        let lock = if lock {
            match ws.store.lock(operation, lock_timeout).await {
                Ok(l) => {
                    if let Some(old) = l.took_over() {
                        crate::errln!(
                            "Warning: Took over a stale state lock\n\nThe lock {} held by {} (process {}) was left behind by a run that no longer holds it.\n",
                            old.id,
                            old.who,
                            old.pid
                        );
                    }
                    Some(l)
                }
                Err(e) => {
                    ws.close().await;
                    return Err(Failed(format!("{e}\n")));
                }
            }
        } else {
            None
        };
        let read = ws.store.read().await;
        let (state, had_state) = match read {
            Ok(Some(s)) => (s, true),
            Ok(None) => (State::new(), false),
            Err(e) => {
                if let Some(l) = lock {
                    l.release().await;
                }
                ws.close().await;
                return Err(Failed(format!("Error: Failed to load state\n\n{e}\n")));
            }
        };
        Ok(Session {
            ws,
            lock,
            state,
            had_state,
            digester: Digester::new(),
            color,
            json: false,
            data: BTreeMap::new(),
            checks: Vec::new(),
        })
    }

    /// Plain lines, or the live view when stdout is a terminal (`DMSFORM_NO_LIVE` turns it off).
    pub fn printer(&self) -> Printer {
        use std::io::IsTerminal;
        if self.json {
            return Printer::json();
        }
        let live = std::io::stdout().is_terminal() && std::env::var_os("DMSFORM_NO_LIVE").is_none();
        Printer::new(self.color, live)
    }

    /// Resolves resources a crashed or interrupted run left pending: reads each task,
    /// waits for one that still runs, records or forgets it. Persists when `persist`.
    pub async fn recover(&mut self, persist: bool) -> Result<(), Failed> {
        let pending = recover::pending(&self.state);
        if pending.is_empty() {
            return Ok(());
        }
        let p = self.printer();
        for addr in pending {
            let Some(rec) = self.state.resource(&addr).cloned() else {
                continue;
            };
            let (resolved, _) = recover::resolve(&self.ws.client, &rec).await.map_err(|e| {
                Failed(format!(
                    "Error: Cannot resolve the unfinished change of {addr}\n\n{e}\n"
                ))
            })?;
            match resolved {
                None => {
                    p.line(&format!("{addr}: the change an interrupted run started never reached the service; forgetting it"));
                    self.state.remove(&addr);
                }
                Some(mut r) if r.status == Status::Pending => {
                    p.line(&format!("{addr}: an interrupted run left this task running; waiting for it to finish [id={}]", r.id));
                    let (svc, name) = planner::parse_task_id(&r.id)
                        .ok_or_else(|| Failed(format!("Error: invalid task id {}\n", r.id)))?;
                    let outcome = wait_until_terminal(
                        self.ws.client.as_ref(),
                        &svc,
                        &name,
                        &self.ws.poll,
                        &CancellationToken::new(),
                        &mut |_| {},
                    )
                    .await
                    .map_err(|e| Failed(format!("Error: Waiting for {addr} failed\n\n{e}\n")))?;
                    if let WaitOutcome::Finished(task) = outcome {
                        let computed = crate::providers::dms::resources::computed_attrs(&task);
                        if let (serde_json::Value::Object(m), serde_json::Value::Object(c)) =
                            (&mut r.attributes, computed)
                        {
                            for (k, v) in c {
                                m.insert(k, v);
                            }
                        }
                        r.status = if task.state().as_str() == "Succeeded" {
                            Status::Ready
                        } else {
                            Status::Tainted
                        };
                    }
                    r.pending = None;
                    p.line(
                        &format!(
                            "{addr}: recorded the task left by the interrupted run ({:?})",
                            r.status
                        )
                        .to_lowercase(),
                    );
                    self.state.upsert(r);
                }
                Some(r) => {
                    p.line(&format!(
                        "{addr}: recorded the task left by an interrupted run"
                    ));
                    self.state.upsert(r);
                }
            }
        }
        if persist {
            self.persist().await?;
        }
        Ok(())
    }

    /// Plans against the current state.
    pub async fn plan(&self, req: &PlanRequest) -> Result<Planned, Failed> {
        planner::make_plan(
            &self.ws.config,
            &self.ws.client,
            &self.ws.subscription,
            &self.state,
            req,
            &self.digester,
            &self.data,
        )
        .await
        .map_err(|d| Failed(self.render(&d)))
    }

    pub fn render(&self, d: &Diagnostics) -> String {
        self.ws.config.sources.render(d, self.color)
    }

    /// The evaluated instances of the configuration with what state knows.
    pub fn instances(&self) -> BTreeMap<String, ResourceInstance> {
        let mut known = known_from_state(&self.state);
        known.data = self.data.clone();
        let ev = Evaluator::new(&self.ws.config, &known, Mode::Plan);
        let (instances, _) = ev.instances();
        instances
            .into_iter()
            .map(|i| (i.addr.to_string(), i))
            .collect()
    }

    /// Applies a plan, with interrupts wired to SIGINT/SIGTERM.
    pub async fn apply(
        &mut self,
        plan: &crate::plan::Plan,
        instances: BTreeMap<String, ResourceInstance>,
        parallelism: usize,
    ) -> ApplyOutcome {
        let (tx, mut rx) = mpsc::unbounded_channel::<()>();
        let signals = tokio::spawn(forward_signals(tx));
        let printer = self.printer();
        let progress_every = std::env::var("DMSFORM_PROGRESS_INTERVAL")
            .ok()
            .and_then(|v| crate::config::duration::parse_duration(&v).ok())
            .unwrap_or(Duration::from_secs(10));
        let env = ApplyEnv {
            config: &self.ws.config,
            client: self.ws.client.clone(),
            subscription: self.ws.subscription.clone(),
            store: self.ws.store.as_ref(),
            poll: self.ws.poll.clone(),
            parallelism,
            digester: &self.digester,
            printer: &printer,
            progress_every,
            run_id: uuid::Uuid::new_v4().to_string(),
            data: self.data.clone(),
        };
        let state = std::mem::take(&mut self.state);
        let (state, outcome) = apply(&env, plan, instances, state, &mut rx).await;
        signals.abort();
        self.state = state;
        outcome
    }

    /// Reads every data source (live driver status) and evaluates the `check` blocks;
    /// returns the checks' warnings. Ctrl-C stops the reads — their tasks are still
    /// deleted — and fails the run.
    pub async fn read_statuses_and_checks(
        &mut self,
        parallelism: usize,
    ) -> Result<Diagnostics, Failed> {
        let (data, checks, diags) = crate::config::checks::decode(&self.ws.config);
        if diags.has_errors() {
            return Err(Failed(self.render(&diags)));
        }
        if !data.is_empty() {
            let cancel = CancellationToken::new();
            let watcher = {
                let cancel = cancel.clone();
                tokio::spawn(async move {
                    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
                    tokio::spawn(forward_signals(tx));
                    if rx.recv().await.is_some() {
                        cancel.cancel();
                    }
                })
            };
            let mut known = known_from_state(&self.state);
            known.data = self.data.clone();
            let reads = crate::drift::status::read_all(
                &crate::drift::status::ReadContext {
                    config: &self.ws.config,
                    client: &self.ws.client,
                    subscription: &self.ws.subscription,
                    poll: &self.ws.poll,
                    parallelism,
                },
                &known,
                &data,
                &cancel,
            )
            .await;
            watcher.abort();
            let interrupted = cancel.is_cancelled();
            let reads = reads.map_err(|d| Failed(self.render(&d)))?;
            if interrupted {
                return Err(Failed("Error: Interrupted while reading driver status; the status tasks were deleted.\n".into()));
            }
            self.data = crate::drift::status::data_map(&reads);
        }
        let mut known = known_from_state(&self.state);
        known.data = self.data.clone();
        let (outcomes, warnings) = crate::drift::checks::evaluate(&self.ws.config, &known, &checks);
        self.checks = outcomes;
        Ok(warnings)
    }

    /// Writes the state through the store, failing the run loudly if it cannot.
    async fn persist(&mut self) -> Result<(), Failed> {
        self.ws
            .store
            .write(&mut self.state)
            .await
            .map_err(|e| Failed(format!("Error: Failed to persist state\n\n{e}\n")))
    }

    /// [`Self::read_statuses_and_checks`], then records the checks' outcome in state
    /// (written only when it changed), as every apply does; returns their warnings.
    pub async fn run_and_record_checks(
        &mut self,
        parallelism: usize,
    ) -> Result<Diagnostics, Failed> {
        let warnings = self.read_statuses_and_checks(parallelism).await?;
        let results = crate::drift::checks::results(&self.checks);
        if results != self.state.checks {
            self.state.checks = results;
            self.persist().await?;
        }
        Ok(warnings)
    }

    /// Evaluates the outputs with the current state and records them (sensitive values
    /// are not stored).
    pub async fn record_outputs(&mut self) -> Result<Diagnostics, Failed> {
        let mut known = known_from_state(&self.state);
        known.data = self.data.clone();
        let ev = Evaluator::new(&self.ws.config, &known, Mode::Plan);
        let (values, diags) = ev.outputs();
        let mut outputs = BTreeMap::new();
        for (name, o) in values {
            let v = o.value.unmark_deep().0;
            let value = if o.sensitive {
                serde_json::Value::Null
            } else {
                v.to_json().unwrap_or(serde_json::Value::Null)
            };
            outputs.insert(
                name,
                OutputState {
                    value,
                    sensitive: o.sensitive,
                },
            );
        }
        if outputs != self.state.outputs {
            self.state.outputs = outputs;
            self.persist().await?;
        }
        Ok(diags)
    }

    /// Releases the lock and stops the embedded emulator.
    pub async fn close(self) {
        if let Some(l) = self.lock {
            l.release().await;
        }
        self.ws.close().await;
    }
}

async fn forward_signals(tx: mpsc::UnboundedSender<()>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            if tx.send(()).is_err() {
                return;
            }
        }
    }
    #[cfg(not(unix))]
    loop {
        if tokio::signal::ctrl_c().await.is_err() || tx.send(()).is_err() {
            return;
        }
    }
}

/// Renders the failures of an apply as diagnostics.
pub fn failures(outcome: &ApplyOutcome) -> Diagnostics {
    let mut d = Diagnostics::new();
    for f in &outcome.failures {
        d.push(f.diagnostic.clone());
    }
    if let Some(e) = &outcome.state_error {
        d.push(Diagnostic::error("Failed to persist state", e.clone()));
    }
    d
}

/// A diagnostic as a line of Terraform's machine-readable UI, with dmsform's failure
/// category when it has one.
pub fn diagnostic_json(
    d: &Diagnostic,
    category: Option<crate::apply::classify::Category>,
) -> serde_json::Value {
    let mut diag = serde_json::json!({
        "severity": if d.severity == crate::diag::Severity::Error { "error" } else { "warning" },
        "summary": d.summary,
        "detail": d.detail,
    });
    if let Some(a) = &d.address {
        diag["address"] = serde_json::json!(a);
    }
    if let Some(c) = category {
        diag["category"] = serde_json::json!(c);
    }
    if let Some(s) = &d.span {
        diag["range"] = serde_json::json!({
            "filename": s.file,
            "start": {"line": s.start.line, "column": s.start.column, "byte": s.start.byte},
            "end": {"line": s.end.line, "column": s.end.column, "byte": s.end.byte},
        });
    }
    let level = if d.severity == crate::diag::Severity::Error {
        "error"
    } else {
        "warn"
    };
    serde_json::json!({"@level": level, "@message": format!("Error: {}", d.summary), "type": "diagnostic", "diagnostic": diag})
}

/// `name = value` lines for outputs, as Terraform prints them after apply.
pub fn render_outputs(state: &State) -> String {
    if state.outputs.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nOutputs:\n\n");
    for (name, o) in &state.outputs {
        let v = if o.sensitive {
            "<sensitive>".to_string()
        } else {
            hcl_value(&o.value, 0)
        };
        out.push_str(&format!("{name} = {v}\n"));
    }
    out
}

/// A JSON value in HCL notation.
pub fn hcl_value(v: &serde_json::Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    match v {
        serde_json::Value::Array(a) if !a.is_empty() => {
            let items: Vec<String> = a
                .iter()
                .map(|x| format!("{pad}  {},\n", hcl_value(x, indent + 2)))
                .collect();
            format!("[\n{}{pad}]", items.concat())
        }
        serde_json::Value::Object(m) if !m.is_empty() => {
            let w = m
                .keys()
                .map(|k| serde_json::to_string(k).unwrap_or_default().len())
                .max()
                .unwrap_or(0);
            let items: Vec<String> = m
                .iter()
                .map(|(k, x)| {
                    format!(
                        "{pad}  {:w$} = {}\n",
                        serde_json::to_string(k).unwrap_or_default(),
                        hcl_value(x, indent + 2)
                    )
                })
                .collect();
            format!("{{\n{}{pad}}}", items.concat())
        }
        serde_json::Value::Array(_) => "[]".into(),
        serde_json::Value::Object(_) => "{}".into(),
        other => other.to_string(),
    }
}
