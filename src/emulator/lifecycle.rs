//! The time-driven task lifecycle: `Queued → Running → terminal`, `Canceling → Canceled`.
//! Transitions are computed from the timestamps stored with each task and `now`, so a
//! restarted emulator continues where the clock says each task is.

use super::store::{Store, TaskRecord, WorkOrder, WorkResult};
use serde_json::json;
use std::collections::HashMap;

/// Durations of the lifecycle, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub queued_for_ms: u64,
    pub run_for_ms: u64,
    pub cancel_for_ms: u64,
    pub max_running: Option<usize>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Resets a task to the start of its life (new or re-PUT task).
pub fn start(rec: &mut TaskRecord, now: u64, timing: &Timing) {
    rec.state = "Queued".into();
    rec.created_ms = now;
    rec.queued_until_ms = now + timing.queued_for_ms;
    rec.run_until_ms = None;
    rec.cancel_until_ms = None;
    rec.output.clear();
    rec.errors.clear();
    rec.result = None;
    rec.generation += 1;
    rec.new_etag();
}

/// Requests cancellation: a queued or running task turns `Canceling`. Returns whether the
/// task changed.
pub fn cancel(rec: &mut TaskRecord, now: u64, timing: &Timing) -> bool {
    if !matches!(rec.state.as_str(), "Queued" | "Running") {
        return false;
    }
    rec.state = "Canceling".into();
    rec.cancel_until_ms = Some(now + timing.cancel_for_ms);
    rec.result = None;
    rec.generation += 1;
    rec.new_etag();
    true
}

fn forced_errors(state: &str) -> Vec<serde_json::Value> {
    let (code, message) = if state == "Faulted" {
        (
            "InternalServerError",
            "The Data Migration Service worker faulted while running the task. Retry the task; if it keeps faulting, contact support.",
        )
    } else {
        (
            "TaskFailed",
            "The task failed while running: the worker reported an unrecoverable error.",
        )
    };
    vec![json!({"code": code, "message": message, "details": []})]
}

/// Advances every task to `now`, persisting each one that changed, and returns the work
/// that must start (its keys are marked in flight).
pub fn advance_all(store: &mut Store, now: u64, timing: &Timing) -> Vec<WorkOrder> {
    let mut running: HashMap<String, usize> = HashMap::new();
    for rec in store.tasks.values() {
        if rec.state == "Running" {
            *running.entry(rec.service_key()).or_default() += 1;
        }
    }
    let mut keys: Vec<(u64, String)> = store
        .tasks
        .iter()
        .map(|(k, r)| (r.seq, k.clone()))
        .collect();
    keys.sort();
    let mut orders = Vec::new();
    let mut effects = Vec::new();
    for (_, key) in keys {
        let in_flight = store.in_flight.contains(&key);
        let Some(rec) = store.tasks.get_mut(&key) else {
            continue;
        };
        let mut changed = false;
        if rec.state == "Queued" && now >= rec.queued_until_ms {
            let busy = running.get(&rec.service_key()).copied().unwrap_or(0);
            if timing.max_running.is_none_or(|m| busy < m) {
                let started = if timing.max_running.is_some() {
                    now.max(rec.queued_until_ms)
                } else {
                    rec.queued_until_ms
                };
                rec.state = "Running".into();
                rec.run_until_ms = Some(started + timing.run_for_ms);
                rec.new_etag();
                *running.entry(rec.service_key()).or_default() += 1;
                changed = true;
            }
        }
        if rec.state == "Running" {
            let due = rec.run_until_ms.is_some_and(|t| now >= t);
            if let Some(forced) = rec.forced.clone() {
                if due {
                    rec.state = forced.clone();
                    rec.errors = forced_errors(&forced);
                    rec.output.clear();
                    rec.new_etag();
                    changed = true;
                }
            } else if let Some(result) = rec.result.clone().filter(|_| due) {
                let WorkResult {
                    state,
                    output,
                    errors,
                    effect,
                } = result;
                rec.state = state;
                rec.output = output;
                rec.errors = errors;
                rec.result = None;
                rec.new_etag();
                effects.push((rec.service_key(), effect));
                changed = true;
            } else if rec.result.is_none() && !in_flight {
                orders.push(WorkOrder {
                    key: key.clone(),
                    generation: rec.generation,
                });
            }
        }
        if rec.state == "Canceling" && rec.cancel_until_ms.is_some_and(|t| now >= t) {
            rec.state = "Canceled".into();
            rec.new_etag();
            changed = true;
        }
        if changed {
            let rec = rec.clone();
            store.save_task(&rec);
        }
    }
    for (svc, effect) in effects {
        store.commit_effect(&svc, &effect);
    }
    for o in &orders {
        store.in_flight.insert(o.key.clone());
    }
    orders
}

/// Records finished work if the task is still the run it was started for.
pub fn finish_work(store: &mut Store, order: &WorkOrder, result: WorkResult) {
    store.in_flight.remove(&order.key);
    if let Some(rec) = store.tasks.get_mut(&order.key)
        && rec.generation == order.generation
        && rec.state == "Running"
    {
        rec.result = Some(result);
        let rec = rec.clone();
        store.save_task(&rec);
    } else if let super::store::Effect::StorePackage { staged, .. } = &result.effect {
        let _ = std::fs::remove_file(staged);
    }
}
