//! The apply executor (design §5): walks the plan's changes in dependency order with at
//! most `parallelism` at once. One coordinator owns state and output; workers do the
//! remote calls and report back. Before every remote write the intent is persisted, after
//! it the result. A failed change skips its dependents; interrupts stop new work (first)
//! and cancel running tasks (second).

use super::classify::{Category, Evidence, classify};
use super::events::{Phase, Printer, elapsed};
use super::queue::ReadyQueue;
use crate::addr::ResourceAddr;
use crate::config::{Config, Evaluator, Mode, ResourceInstance};
use crate::diag::{Diagnostic, Diagnostics};
use crate::plan::desired::desired;
use crate::plan::diff::{Desired, state_attributes};
use crate::plan::planner::{known_from_state, parse_task_id, resolve_instance};
use crate::plan::{Action, Plan, ResourceChange};
use crate::providers::dms::models::ProjectTask;
use crate::providers::dms::resources::{computed_attrs, request_for};
use crate::providers::dms::{
    DeleteOutcome, DmsClient, DmsError, PollOptions, ServiceRef, WaitOutcome, wait_until_terminal,
};
use crate::secret::Digester;
use crate::state::backend::StateStore;
use crate::state::lock::now_rfc3339;
use crate::state::{Intent, ResourceState, State, Status};
use crate::value::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Settings of one apply.
pub struct ApplyEnv<'a> {
    pub config: &'a Config,
    pub client: Arc<DmsClient>,
    pub subscription: String,
    pub store: &'a dyn StateStore,
    pub poll: PollOptions,
    pub parallelism: usize,
    pub digester: &'a Digester,
    pub printer: &'a Printer,
    /// How often to print `Still creating...` lines.
    pub progress_every: Duration,
    pub run_id: String,
    /// Data sources read for this run (`TYPE.NAME` → value).
    pub data: BTreeMap<String, Value>,
}

/// One failed change, ready to render as a diagnostic.
#[derive(Debug, Clone)]
pub struct ChangeFailure {
    pub address: String,
    pub diagnostic: Diagnostic,
    pub category: Category,
}

/// How an apply ended.
#[derive(Debug, Default)]
pub struct ApplyOutcome {
    pub added: usize,
    pub changed: usize,
    pub destroyed: usize,
    pub adopted: usize,
    pub failures: Vec<ChangeFailure>,
    /// Changes that never ran because something they depend on failed.
    pub skipped: Vec<String>,
    /// A stop was requested (first interrupt) or running tasks were cancelled (second).
    pub interrupted: bool,
    pub cancelled: bool,
    /// State could not be persisted; the run stopped.
    pub state_error: Option<String>,
}

/// What a worker did.
enum Done {
    Created(ProjectTask),
    Updated(ProjectTask),
    Deleted,
    Adopted(ProjectTask),
}

enum WorkError {
    /// The task ran and ended in a state other than Succeeded.
    TaskFailed(ProjectTask),
    /// `timeouts` passed: the task was asked to cancel.
    TimedOut {
        after: Duration,
        last: Option<ProjectTask>,
        /// The state seen before the cancel (Queued means it never got a slot).
        seen: Option<String>,
    },
    /// A second interrupt: the task was asked to cancel.
    Cancelled(Option<ProjectTask>),
    Remote(DmsError),
    Other(String),
}

enum Msg {
    State {
        addr: String,
        state: String,
        since: Duration,
    },
    Phase {
        addr: String,
        text: String,
    },
    Done {
        addr: String,
        result: Box<Result<Done, WorkError>>,
    },
}

/// Everything a worker needs for one change.
struct Job {
    addr: String,
    action: Action,
    svc: ServiceRef,
    task: String,
    request: Option<crate::providers::dms::models::TaskRequest>,
    delete_running: bool,
    create_timeout: Option<Duration>,
    delete_timeout: Option<Duration>,
}

/// A digest of a request's task type and input, secrets redacted (they come back masked).
pub fn input_digest(req: &crate::providers::dms::models::TaskRequest) -> String {
    let mut redacted = req
        .input
        .clone()
        .map(crate::providers::dms::models::redact_secrets);
    if let Some(v) = &mut redacted {
        v.as_object_mut()
            .map(|m| m.remove("encryptedKeyForSecureFields"));
    }
    let body = serde_json::json!({"taskType": req.task_type, "input": redacted});
    let h = Sha256::digest(body.to_string().as_bytes());
    format!(
        "sha256:{}",
        h.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// The addresses each change waits for: dependencies that are themselves changes in this
/// plan; deletes wait for the deletes of what depends on them.
fn node_deps(
    plan: &Plan,
    instances: &BTreeMap<String, ResourceInstance>,
    state: &State,
) -> Vec<(String, Vec<String>)> {
    let nodes: BTreeSet<&str> = plan
        .changes
        .iter()
        .filter(|c| c.is_change())
        .map(|c| c.address.as_str())
        .collect();
    let mut by_resource: BTreeMap<ResourceAddr, Vec<String>> = BTreeMap::new();
    for n in &nodes {
        if let Ok(a) = n.parse::<ResourceAddr>() {
            by_resource
                .entry(a.resource())
                .or_default()
                .push(n.to_string());
        }
    }
    let deletes: BTreeSet<&str> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .map(|c| c.address.as_str())
        .collect();
    let mut out = Vec::new();
    for c in plan.changes.iter().filter(|c| c.is_change()) {
        let mut deps = BTreeSet::new();
        if c.action == Action::Delete {
            for r in &state.resources {
                if r.address != c.address
                    && nodes.contains(r.address.as_str())
                    && r.dependencies.iter().any(|d| {
                        d == &c.address
                            || c.address.starts_with(&format!("{d}["))
                            || d.starts_with(&format!("{}[", c.address))
                    })
                {
                    deps.insert(r.address.clone());
                }
            }
        } else if let Some(i) = instances.get(&c.address) {
            for d in &i.depends_on {
                for n in by_resource
                    .get(&d.resource())
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                {
                    if *n != c.address && !deletes.contains(n.as_str()) {
                        deps.insert(n.clone());
                    }
                }
            }
        }
        out.push((c.address.clone(), deps.into_iter().collect()));
    }
    out
}

fn error_detail(task: &ProjectTask) -> String {
    let mut lines = Vec::new();
    for ve in task.properties.details.validation_errors() {
        let msg = ve.message.clone().unwrap_or_default();
        match ve.actionable_message.as_deref().filter(|a| !a.is_empty()) {
            Some(a) => lines.push(format!("{msg}\n{a}")),
            None => lines.push(msg),
        }
    }
    for e in &task.properties.errors {
        lines.push(format!(
            "{}: {}",
            e.code.clone().unwrap_or_default(),
            e.message.clone().unwrap_or_default()
        ));
    }
    if lines.is_empty() {
        lines.push("The service reported no details.".into());
    }
    lines.join("\n\n")
}

async fn wait(
    client: &DmsClient,
    job: &Job,
    poll: &PollOptions,
    cancel: &CancellationToken,
    tx: &mpsc::UnboundedSender<Msg>,
) -> Result<ProjectTask, WorkError> {
    let opts = PollOptions {
        timeout: job.create_timeout,
        ..poll.clone()
    };
    let addr = job.addr.clone();
    let tx2 = tx.clone();
    let mut on_change = move |c: &crate::providers::dms::StateChange<'_>| {
        let _ = tx2.send(Msg::State {
            addr: addr.clone(),
            state: c.state.as_str().to_string(),
            since: c.elapsed,
        });
    };
    match wait_until_terminal(client, &job.svc, &job.task, &opts, cancel, &mut on_change).await {
        Ok(WaitOutcome::Finished(task)) => {
            if task.state().as_str() == "Succeeded" {
                Ok(task)
            } else {
                Err(WorkError::TaskFailed(task))
            }
        }
        Ok(WaitOutcome::DeadlineExceeded { last, cancel }) => {
            let seen = last.as_ref().map(|t| t.state().as_str().to_string());
            let last = (*cancel).ok().or(last);
            Err(WorkError::TimedOut {
                after: job.create_timeout.unwrap_or_default(),
                last,
                seen,
            })
        }
        Ok(WaitOutcome::Interrupted { .. }) => {
            let last = client.cancel(&job.svc, &job.task).await.ok();
            Err(WorkError::Cancelled(last))
        }
        Err(e) => Err(WorkError::Remote(e)),
    }
}

async fn work(
    client: Arc<DmsClient>,
    job: Job,
    poll: PollOptions,
    cancel: CancellationToken,
    tx: mpsc::UnboundedSender<Msg>,
) {
    let addr = job.addr.clone();
    let result: Result<Done, WorkError> = async {
        match job.action {
            Action::Create | Action::Replace => {
                if job.action == Action::Replace {
                    let _ = tx.send(Msg::Phase {
                        addr: addr.clone(),
                        text: format!(
                            "{} [id={}]",
                            Phase::Destroy.starting(),
                            job.svc.task_id(&job.task)
                        ),
                    });
                    let t0 = Instant::now();
                    client
                        .delete(&job.svc, &job.task, job.delete_running)
                        .await
                        .map_err(WorkError::Remote)?;
                    let _ = tx.send(Msg::Phase {
                        addr: addr.clone(),
                        text: format!(
                            "{} after {}",
                            Phase::Destroy.complete(),
                            elapsed(t0.elapsed())
                        ),
                    });
                }
                let _ = tx.send(Msg::Phase {
                    addr: addr.clone(),
                    text: Phase::Create.starting().into(),
                });
                let req = job
                    .request
                    .as_ref()
                    .ok_or_else(|| WorkError::Other("no request".into()))?;
                let put = client
                    .create_or_update(&job.svc, &job.task, req)
                    .await
                    .map_err(WorkError::Remote)?;
                // The PUT answer is the first observation; the first poll comes after
                // poll_interval (design §5), not right away.
                let _ = tx.send(Msg::State {
                    addr: addr.clone(),
                    state: put.task.state().as_str().to_string(),
                    since: Duration::ZERO,
                });
                tokio::select! {
                    _ = cancel.cancelled() => {}
                    _ = tokio::time::sleep(poll.first_interval) => {}
                }
                wait(&client, &job, &poll, &cancel, &tx)
                    .await
                    .map(Done::Created)
            }
            Action::Update => {
                let req = job
                    .request
                    .as_ref()
                    .ok_or_else(|| WorkError::Other("no request".into()))?;
                client
                    .update(&job.svc, &job.task, req)
                    .await
                    .map(Done::Updated)
                    .map_err(WorkError::Remote)
            }
            Action::Delete => {
                let del = async {
                    match client.delete(&job.svc, &job.task, job.delete_running).await {
                        Ok(DeleteOutcome::Deleted) | Ok(DeleteOutcome::NotFound) => {
                            Ok(Done::Deleted)
                        }
                        Err(e) => Err(WorkError::Remote(e)),
                    }
                };
                match job.delete_timeout {
                    Some(t) => {
                        tokio::time::timeout(t, del)
                            .await
                            .unwrap_or(Err(WorkError::TimedOut {
                                after: t,
                                last: None,
                                seen: None,
                            }))
                    }
                    None => del.await,
                }
            }
            Action::Adopt => client
                .get(&job.svc, &job.task, crate::providers::dms::Expand::Output)
                .await
                .map(Done::Adopted)
                .map_err(WorkError::Remote),
            Action::NoOp | Action::Read => Err(WorkError::Other("nothing to do".into())),
        }
    }
    .await;
    let _ = tx.send(Msg::Done {
        addr,
        result: Box::new(result),
    });
}

/// The coordinator: owns the queue, the state and the output.
struct Coordinator<'a, 'e> {
    env: &'a ApplyEnv<'e>,
    state: State,
    outcome: ApplyOutcome,
    changes: BTreeMap<String, ResourceChange>,
    instances: BTreeMap<String, ResourceInstance>,
    started: BTreeMap<String, (Instant, Phase, String)>,
    resolved: BTreeMap<String, (Desired, Vec<String>)>,
    /// State changed since it was last written.
    dirty: bool,
    /// Instances evaluated at apply time, by resource.
    cache: BTreeMap<ResourceAddr, Vec<ResourceInstance>>,
}

impl Coordinator<'_, '_> {
    async fn persist(&mut self) -> bool {
        self.dirty = false;
        match self.env.store.write(&mut self.state).await {
            Ok(()) => true,
            Err(e) => {
                self.outcome.state_error = Some(e.to_string());
                false
            }
        }
    }

    fn fail(&mut self, addr: &str, summary: String, detail: String) {
        self.fail_as(addr, Category::Other, summary, detail, None);
    }

    /// Records a failure with its category: the summary names it, the detail quotes the
    /// service and ends with the category's hint.
    fn fail_as(
        &mut self,
        addr: &str,
        category: Category,
        summary: String,
        detail: String,
        hint: Option<String>,
    ) {
        let span = self.instances.get(addr).and_then(|i| {
            i.span
                .clone()
                .or_else(|| self.env.config.decl_span(&i.decl))
        });
        let summary = if category == Category::Other {
            summary
        } else {
            format!("{}: {summary}", category.label())
        };
        let detail = match hint {
            Some(h) => format!("{detail}\n\nHint: {h}"),
            None => detail,
        };
        let d = Diagnostic::error(summary, detail)
            .with_span(span)
            .with_address(addr.to_string());
        self.outcome.failures.push(ChangeFailure {
            address: addr.to_string(),
            diagnostic: d,
            category,
        });
    }

    /// Prepares one change: resolves values unknown at plan time, records the intent.
    async fn prepare(&mut self, addr: &str) -> Result<Job, (String, String)> {
        let c = self
            .changes
            .get(addr)
            .cloned()
            .ok_or_else(|| ("Unknown change".to_string(), addr.to_string()))?;
        let deleted_attrs = self.state.resource(addr).cloned();
        let (svc, task, request, delete_running, timeouts, deps) = match c.action {
            Action::Delete => {
                let r = deleted_attrs.clone().ok_or_else(|| {
                    (
                        "Not in state".to_string(),
                        format!("{addr} is not in the state."),
                    )
                })?;
                let (svc, task) =
                    parse_task_id(&r.id).ok_or_else(|| ("Invalid id".to_string(), r.id.clone()))?;
                let dr = r
                    .attributes
                    .get("delete_running")
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(false);
                let to = self
                    .instances
                    .get(addr)
                    .map(|i| i.timeouts)
                    .unwrap_or_default();
                (svc, task, None, dr, to, vec![])
            }
            _ => {
                // Re-evaluate only when the plan left an argument unknown; otherwise the
                // plan-time evaluation stands (and a large apply stays linear).
                let computed_only = c.after_unknown.as_object().is_none_or(|m| {
                    m.keys()
                        .all(|k| ["id", "state", "errors", "output"].contains(&k.as_str()))
                });
                let planned = self.instances.get(addr).filter(|_| computed_only).cloned();
                let mut known = crate::config::Known::default();
                if planned.is_none() {
                    known = known_from_state(&self.state);
                    known.data = self.env.data.clone();
                }
                let resolved = match planned {
                    Some(i) => Ok(i),
                    None => self.resolve_cached(addr, &known),
                };
                let inst = resolved.map_err(|d| {
                    (
                        "Cannot evaluate the resource".to_string(),
                        d.iter()
                            .map(|x| x.detail.clone())
                            .collect::<Vec<_>>()
                            .join("\n"),
                    )
                })?;
                let d = desired(&inst, &self.env.subscription, None);
                let unknown: Vec<String> = d
                    .unknown
                    .as_object()
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default();
                if !unknown.is_empty() || d.secrets.values().any(Option::is_none) {
                    return Err((
                        "Value still unknown".into(),
                        format!(
                            "{addr} depends on values that are still unknown ({}); a resource it depends on did not finish.",
                            unknown.join(", ")
                        ),
                    ));
                }
                let id = d.id.clone().ok_or_else(|| {
                    (
                        "Unknown id".to_string(),
                        format!("{addr} has no task id yet."),
                    )
                })?;
                let (svc, task) =
                    parse_task_id(&id).ok_or_else(|| ("Invalid id".to_string(), id.clone()))?;
                let secrets: BTreeMap<String, String> = d
                    .secrets
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
                    .collect();
                let req = request_for(&d.kind, &d.args, &secrets)
                    .map_err(|e| ("Invalid resource".to_string(), e))?;
                let dr = d
                    .args
                    .get("delete_running")
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(false);
                // Resource-level addresses, as Terraform records them: a for_each resource
                // that depends on another does not list every instance of it.
                let deps: Vec<String> = inst
                    .depends_on
                    .iter()
                    .map(|r| r.resource().to_string())
                    .collect();
                self.instances.insert(addr.to_string(), inst.clone());
                self.resolved.insert(addr.to_string(), (d, deps.clone()));
                (svc, task, Some(req), dr, inst.timeouts, deps)
            }
        };
        if c.action != Action::Adopt {
            let intent = Intent {
                operation: match c.action {
                    Action::Delete => "delete",
                    Action::Update => "update",
                    Action::Replace => "replace",
                    _ => "create",
                }
                .into(),
                id: svc.task_id(&task),
                input_digest: request.as_ref().map(input_digest).unwrap_or_default(),
                started_at: now_rfc3339(),
                run_id: self.env.run_id.clone(),
            };
            let mut rec = deleted_attrs.unwrap_or_else(|| ResourceState {
                address: addr.to_string(),
                kind: c.kind.clone(),
                id: svc.task_id(&task),
                status: Status::Pending,
                pending: None,
                attributes: self
                    .resolved
                    .get(addr)
                    .map(|(d, _)| state_attributes(d, &serde_json::json!({})))
                    .unwrap_or_default(),
                sensitive_digests: BTreeMap::new(),
                dependencies: deps.clone(),
            });
            rec.status = Status::Pending;
            rec.pending = Some(intent);
            self.state.upsert(rec);
        }
        Ok(Job {
            addr: addr.to_string(),
            action: c.action,
            svc,
            task,
            request,
            delete_running,
            create_timeout: timeouts.create,
            delete_timeout: timeouts.delete,
        })
    }

    /// Records a finished task in state.
    fn record(&mut self, addr: &str, task: &ProjectTask, status: Status) {
        let computed = computed_attrs(task);
        let (attrs, digests, deps) = match self.resolved.get(addr) {
            Some((d, deps)) => {
                let digests = d
                    .secrets
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), self.env.digester.digest(v.as_ref()?))))
                    .collect();
                (state_attributes(d, &computed), digests, deps.clone())
            }
            None => {
                let prev = self.state.resource(addr).cloned();
                let mut a = prev
                    .as_ref()
                    .map(|p| p.attributes.clone())
                    .unwrap_or_default();
                if let (serde_json::Value::Object(m), serde_json::Value::Object(c)) =
                    (&mut a, computed)
                {
                    for (k, v) in c {
                        m.insert(k, v);
                    }
                }
                (
                    a,
                    prev.as_ref()
                        .map(|p| p.sensitive_digests.clone())
                        .unwrap_or_default(),
                    prev.map(|p| p.dependencies).unwrap_or_default(),
                )
            }
        };
        let id = self
            .state
            .resource(addr)
            .map(|r| r.id.clone())
            .or_else(|| task.id.clone())
            .unwrap_or_default();
        let kind = self
            .changes
            .get(addr)
            .map(|c| c.kind.clone())
            .unwrap_or_default();
        self.state.upsert(ResourceState {
            address: addr.to_string(),
            kind,
            id,
            status,
            pending: None,
            attributes: attrs,
            sensitive_digests: digests,
            dependencies: deps,
        });
    }

    fn postconditions(&self, addr: &str) -> Diagnostics {
        let (Some(inst), Some(rec)) = (self.instances.get(addr), self.state.resource(addr)) else {
            return Diagnostics::new();
        };
        let mut known = known_from_state(&self.state);
        known.data = self.env.data.clone();
        let ev = Evaluator::new(self.env.config, &known, Mode::Plan);
        let mut self_value = Value::from_json(&rec.attributes);
        if let (Value::Map(m), Value::Map(args)) = (&mut self_value, &inst.args) {
            for (k, v) in args {
                m.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        ev.check_postconditions(inst, &self_value)
    }

    /// Handles a worker's result; returns whether the change succeeded.
    async fn finish(&mut self, addr: &str, result: Result<Done, WorkError>) -> bool {
        let took = self
            .started
            .get(addr)
            .map(|s| s.0.elapsed())
            .unwrap_or_default();
        let phase = self.started.get(addr).map(|s| s.1).unwrap_or(Phase::Create);
        let action = self
            .changes
            .get(addr)
            .map(|c| c.action)
            .unwrap_or(Action::NoOp);
        let p = self.env.printer;
        let ok = match result {
            Ok(Done::Created(task)) => {
                self.record(addr, &task, Status::Ready);
                p.line(&format!(
                    "{}: {} after {} [id={}]",
                    p.addr(addr),
                    phase.complete(),
                    elapsed(took),
                    task.id.clone().unwrap_or_default()
                ));
                if action == Action::Replace {
                    self.outcome.destroyed += 1;
                }
                self.outcome.added += 1;
                let diags = self.postconditions(addr);
                for d in diags.iter() {
                    self.outcome.failures.push(ChangeFailure {
                        address: addr.to_string(),
                        diagnostic: d.clone().with_address(addr.to_string()),
                        category: Category::Other,
                    });
                }
                !diags.has_errors()
            }
            Ok(Done::Updated(task)) | Ok(Done::Adopted(task)) => {
                let adopted = action == Action::Adopt;
                let status = if adopted
                    && crate::plan::diff::FAILED_STATES.contains(&task.state().as_str())
                {
                    Status::Tainted
                } else {
                    Status::Ready
                };
                self.record(addr, &task, status);
                if adopted {
                    self.outcome.adopted += 1;
                } else {
                    self.outcome.changed += 1;
                }
                p.line(&format!(
                    "{}: {} after {} [id={}]",
                    p.addr(addr),
                    phase.complete(),
                    elapsed(took),
                    task.id.clone().unwrap_or_default()
                ));
                true
            }
            Ok(Done::Deleted) => {
                self.state.remove(addr);
                self.outcome.destroyed += 1;
                p.line(&format!(
                    "{}: {} after {}",
                    p.addr(addr),
                    phase.complete(),
                    elapsed(took)
                ));
                true
            }
            Err(WorkError::TaskFailed(task)) => {
                self.record(addr, &task, Status::Tainted);
                let state = task.state().as_str().to_string();
                let tt = task.task_type().as_str().to_string();
                let validation: Vec<(String, Option<i64>)> = task
                    .properties
                    .details
                    .validation_errors()
                    .iter()
                    .map(|v| (v.message.clone().unwrap_or_default(), v.h_result))
                    .collect();
                let codes: Vec<String> = task
                    .properties
                    .errors
                    .iter()
                    .filter_map(|e| e.code.clone())
                    .collect();
                let (category, hint) = classify(&Evidence {
                    task_type: Some(&tt),
                    state: Some(&state),
                    validation: validation.iter().map(|(m, h)| (m.as_str(), *h)).collect(),
                    error_codes: codes.iter().map(String::as_str).collect(),
                    ..Evidence::default()
                });
                self.fail_as(
                    addr,
                    category,
                    format!("{addr}: the task ended in state {state}"),
                    error_detail(&task),
                    Some(hint),
                );
                false
            }
            Err(WorkError::TimedOut { after, last, seen }) => {
                if let Some(t) = &last {
                    self.record(addr, t, Status::Tainted);
                } else {
                    self.forget_or_taint(addr).await;
                }
                let (category, hint) = classify(&Evidence {
                    state: seen.as_deref(),
                    timed_out: true,
                    ..Evidence::default()
                });
                let waited = if seen.as_deref() == Some("Queued") {
                    " (it was still Queued)"
                } else {
                    ""
                };
                self.fail_as(
                    addr,
                    category,
                    format!("{addr}: timed out after {}", elapsed(after)),
                    format!("The task did not finish within its timeouts{waited}; dmsform asked the service to cancel it. The next plan replaces it."),
                    (category != Category::Other).then_some(hint),
                );
                false
            }
            Err(WorkError::Cancelled(last)) => {
                if let Some(t) = &last {
                    self.record(addr, t, Status::Tainted);
                } else {
                    self.forget_or_taint(addr).await;
                }
                self.outcome.cancelled = true;
                self.fail(addr, format!("{addr}: cancelled"), "The run was interrupted twice; dmsform asked the service to cancel the task. The next plan replaces it.".into());
                false
            }
            Err(WorkError::Remote(e)) => {
                self.forget_or_taint(addr).await;
                let (category, hint) = classify(&Evidence {
                    status: e.status(),
                    code: e.code(),
                    ..Evidence::default()
                });
                self.fail_as(
                    addr,
                    category,
                    format!(
                        "{addr}: {}",
                        e.status()
                            .map(|s| format!("the service answered {s}"))
                            .unwrap_or_else(|| "the service could not be reached".into())
                    ),
                    e.to_string(),
                    (category != Category::Other).then_some(hint),
                );
                false
            }
            Err(WorkError::Other(e)) => {
                self.forget_or_taint(addr).await;
                self.fail(addr, format!("{addr}: failed"), e);
                false
            }
        };
        self.started.remove(addr);
        ok
    }

    /// Evaluates the instance at `addr`, evaluating its whole resource once and reusing
    /// those instances while they are fully known: instances of one resource usually
    /// become resolvable together, and evaluating the resource per instance would make a
    /// large apply quadratic.
    fn resolve_cached(
        &mut self,
        addr: &str,
        known: &crate::config::Known,
    ) -> Result<ResourceInstance, crate::diag::Diagnostics> {
        let a: ResourceAddr = addr.parse().map_err(|e| {
            crate::diag::Diagnostics::from(Diagnostic::error("Invalid address", format!("{e}")))
        })?;
        let res = a.resource();
        if let Some(i) = self
            .cache
            .get(&res)
            .and_then(|all| all.iter().find(|i| i.addr == a))
            .filter(|i| i.args.is_wholly_known())
        {
            return Ok(i.clone());
        }
        let all = crate::plan::planner::resolve_resource(self.env.config, known, &res)?;
        let found = all.iter().find(|i| i.addr == a).cloned();
        self.cache.insert(res, all);
        found.map_or_else(|| resolve_instance(self.env.config, known, addr), Ok)
    }

    /// Handles one message from a worker.
    async fn handle(&mut self, msg: Msg, queue: &mut ReadyQueue<String>) {
        let p = self.env.printer;
        match msg {
            Msg::State { addr, state, since } => {
                if let Some(s) = self.started.get_mut(&addr) {
                    if s.2 == state {
                        return; // the same state seen again: nothing to report
                    }
                    s.2 = state.clone();
                }
                p.line(&format!(
                    "{}: {state} [{} elapsed]",
                    p.addr(&addr),
                    elapsed(since)
                ));
                p.status(&addr, &state);
            }
            Msg::Phase { addr, text } => {
                if text == Phase::Create.starting()
                    && let Some(s) = self.started.get_mut(&addr)
                {
                    s.0 = Instant::now();
                    s.1 = Phase::Create;
                }
                p.line(&format!("{}: {text}", p.addr(&addr)));
                p.status(&addr, &text);
            }
            Msg::Done { addr, result } => {
                p.done(&addr);
                self.dirty = true;
                if self.finish(&addr, *result).await {
                    queue.finish(&addr);
                } else {
                    self.outcome.skipped.extend(queue.fail(&addr));
                }
            }
        }
    }

    /// After a write whose outcome is unclear: read the task and record what is there.
    async fn forget_or_taint(&mut self, addr: &str) {
        let Some(rec) = self.state.resource(addr).cloned() else {
            return;
        };
        match super::recover::resolve(&self.env.client, &rec).await {
            Ok((Some(mut r), _)) => {
                if r.status == Status::Pending {
                    r.status = Status::Tainted;
                }
                r.pending = None;
                self.state.upsert(r);
            }
            Ok((None, _)) => {
                self.state.remove(addr);
            }
            Err(_) => {} // stays pending: the next run resolves it
        }
    }
}

/// Applies `plan` to `state`, persisting after every change. Returns the final state and
/// what happened. `instances` are the evaluated configuration instances (for dependencies,
/// timeouts, postconditions and source locations).
pub async fn apply(
    env: &ApplyEnv<'_>,
    plan: &Plan,
    instances: BTreeMap<String, ResourceInstance>,
    state: State,
    interrupts: &mut mpsc::UnboundedReceiver<()>,
) -> (State, ApplyOutcome) {
    let deps = node_deps(plan, &instances, &state);
    let mut queue = match ReadyQueue::new(deps) {
        Ok(q) => q,
        Err(e) => {
            let mut outcome = ApplyOutcome::default();
            outcome.failures.push(ChangeFailure {
                address: e.node.clone(),
                diagnostic: Diagnostic::error("Invalid plan", e.to_string()),
                category: Category::Other,
            });
            return (state, outcome);
        }
    };
    let mut co = Coordinator {
        env,
        state,
        outcome: ApplyOutcome::default(),
        changes: plan
            .changes
            .iter()
            .filter(|c| c.is_change())
            .map(|c| (c.address.clone(), c.clone()))
            .collect(),
        instances,
        started: BTreeMap::new(),
        resolved: BTreeMap::new(),
        dirty: false,
        cache: BTreeMap::new(),
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let cancel = CancellationToken::new();
    let mut ticker = tokio::time::interval(env.progress_every.max(Duration::from_millis(100)));
    ticker.tick().await;
    let mut interrupts_seen = 0;
    let p = env.printer;
    loop {
        // Prepare every change that may start now, record all their intents in one
        // state write, and only then start them.
        let mut jobs: Vec<(String, Job)> = Vec::new();
        while co.started.len() + jobs.len() < env.parallelism.max(1)
            && co.outcome.state_error.is_none()
        {
            let Some(addr) = queue.dequeue() else { break };
            match co.prepare(&addr).await {
                Ok(job) => {
                    if job.action != Action::Adopt {
                        co.dirty = true;
                    }
                    jobs.push((addr, job));
                }
                Err((summary, detail)) => {
                    co.fail(&addr, format!("{addr}: {summary}"), detail);
                    co.outcome.skipped.extend(queue.fail(&addr));
                }
            }
        }
        if co.dirty && !co.persist().await {
            // The intents are not on disk: start none of these changes.
            for (addr, _) in jobs.drain(..) {
                co.fail(
                    &addr,
                    format!("{addr}: not started"),
                    "The state could not be written before the change, so it was not started."
                        .into(),
                );
                co.outcome.skipped.extend(queue.fail(&addr));
            }
        }
        for (addr, job) in jobs {
            let phase = match job.action {
                Action::Delete => Phase::Destroy,
                Action::Update => Phase::Modify,
                Action::Adopt => Phase::Adopt,
                _ => Phase::Create,
            };
            if phase != Phase::Create {
                p.line(&format!(
                    "{}: {} [id={}]",
                    p.addr(&addr),
                    phase.starting(),
                    job.svc.task_id(&job.task)
                ));
            }
            co.started
                .insert(addr.clone(), (Instant::now(), phase, String::new()));
            tokio::spawn(work(
                env.client.clone(),
                job,
                env.poll.clone(),
                cancel.clone(),
                tx.clone(),
            ));
        }
        if co.outcome.state_error.is_some() {
            queue.stop();
        }
        if queue.is_finished() && co.started.is_empty() {
            break;
        }
        tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else { break };
                co.handle(msg, &mut queue).await;
                // Handle whatever else already arrived, then write state once.
                while let Ok(more) = rx.try_recv() {
                    co.handle(more, &mut queue).await;
                }
                if co.dirty {
                    co.persist().await;
                }
            }
            _ = ticker.tick(), if !p.is_live() => {
                for (addr, (t0, phase, state)) in &co.started {
                    let st = if state.is_empty() { String::new() } else { format!(", {state}") };
                    p.line(&format!("{}: {} [{} elapsed{st}]", p.addr(addr), phase.still(), elapsed(t0.elapsed())));
                }
            }
            Some(()) = interrupts.recv() => {
                interrupts_seen += 1;
                co.outcome.interrupted = true;
                if interrupts_seen == 1 {
                    queue.stop();
                    p.line("\nInterrupt received.\nPlease wait for dmsform to exit or data loss may occur.\nGracefully shutting down: no new changes start; running tasks are waited for.\nInterrupt again to cancel the running tasks.\n");
                } else if interrupts_seen == 2 {
                    p.line("\nTwo interrupts received. Cancelling the running tasks on the service...\n");
                    cancel.cancel();
                }
            }
        }
    }
    if co.dirty {
        co.persist().await;
    }
    co.outcome.skipped.extend(queue.not_run());
    co.outcome.skipped.sort();
    co.outcome.skipped.dedup();
    (co.state, co.outcome)
}
