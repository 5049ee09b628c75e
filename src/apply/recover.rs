//! Crash recovery (design §5): a state resource left `pending` by a run that died (or a
//! write whose outcome is unclear) is resolved by reading the task first — adopt what
//! finished, wait for what still runs, forget what never arrived. Never a second PUT.

use crate::plan::planner::read_task;
use crate::providers::dms::DmsClient;
use crate::providers::dms::resources::computed_attrs;
use crate::state::{ResourceState, State, Status};
use serde_json::Value;

/// What recovery did with one pending resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// The task never arrived (or is gone after a delete): forgotten.
    Forgotten,
    /// The task exists and finished (or still runs): recorded with this status.
    Recorded(Status),
}

/// Resolves one pending resource against the service; `wait` is called while the task
/// still runs (it returns the finished task's computed attributes, or `None` to stop).
pub async fn resolve(
    client: &DmsClient,
    r: &ResourceState,
) -> Result<(Option<ResourceState>, Resolution), String> {
    let Some(intent) = &r.pending else {
        return Ok((Some(r.clone()), Resolution::Recorded(r.status)));
    };
    let task = read_task(client, &intent.id).await?;
    let Some(task) = task else {
        return Ok((None, Resolution::Forgotten));
    };
    let mut rec = r.clone();
    rec.pending = None;
    let computed = computed_attrs(&task);
    if let (Value::Object(m), Value::Object(c)) = (&mut rec.attributes, computed) {
        for (k, v) in c {
            m.insert(k, v);
        }
    }
    let state = task.state();
    rec.status = if intent.operation == "delete" {
        // The delete did not happen: the old task is still there, as recorded.
        r.status_before_delete()
    } else if !intent.input_digest.is_empty()
        && super::executor::input_digest(&task.to_request()) != intent.input_digest
    {
        // Another task holds the id (the one a replace was about to delete): not ours.
        Status::Tainted
    } else if state.is_terminal() {
        if state.as_str() == "Succeeded" {
            Status::Ready
        } else {
            Status::Tainted
        }
    } else {
        // Still running: the caller waits for it, then records the outcome.
        Status::Pending
    };
    let status = rec.status;
    Ok((Some(rec), Resolution::Recorded(status)))
}

impl ResourceState {
    fn status_before_delete(&self) -> Status {
        let failed = self
            .attributes
            .get("state")
            .and_then(Value::as_str)
            .is_some_and(|s| crate::plan::diff::FAILED_STATES.contains(&s));
        if failed {
            Status::Tainted
        } else {
            Status::Ready
        }
    }
}

/// Addresses of every pending resource in a state.
pub fn pending(state: &State) -> Vec<String> {
    state
        .resources
        .iter()
        .filter(|r| r.pending.is_some())
        .map(|r| r.address.clone())
        .collect()
}
