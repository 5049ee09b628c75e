//! Waiting for a task to reach a terminal state.
//!
//! Owns the polling loop (`GET …?$expand=output` with an interval growing ×1.5 from a
//! first to a maximum interval), the deadline (after which the task is cancelled) and the
//! reaction to a caller's cancellation token (stop waiting, leave the task alone: whether
//! to cancel it is the caller's decision). Every observed state change is reported through
//! a callback; this module prints nothing.

use super::api::ServiceTasks;
use super::client::{Expand, ServiceRef};
use super::error::DmsError;
use super::models::{ProjectTask, TaskState};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Polling settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PollOptions {
    /// Wait before the second poll (the first is immediate).
    pub first_interval: Duration,
    /// Cap on the interval.
    pub max_interval: Duration,
    /// Growth of the interval per poll.
    pub factor: f64,
    /// Give up this long after the wait started, and cancel the task.
    pub timeout: Option<Duration>,
}

impl Default for PollOptions {
    fn default() -> Self {
        PollOptions {
            first_interval: Duration::from_secs(2),
            max_interval: Duration::from_secs(30),
            factor: 1.5,
            timeout: None,
        }
    }
}

impl PollOptions {
    /// The wait before the next poll, `elapsed` into the wait: a tenth of the time waited
    /// so far, kept between the first and the maximum interval. A task is then seen
    /// finished at most ~10% (or one first interval) after it finished, while a long task
    /// is polled ever less often. (`factor` caps how fast the interval may grow from one
    /// poll to the next.)
    pub fn next_interval(&self, current: Duration, elapsed: Duration) -> Duration {
        let factor = if self.factor.is_finite() && self.factor >= 1.0 {
            self.factor
        } else {
            1.0
        };
        let cap = self.max_interval.max(self.first_interval);
        (elapsed / 10)
            .min(current.mul_f64(factor))
            .max(self.first_interval)
            .min(cap)
    }
}

/// One observed state change, for progress output.
#[derive(Debug)]
pub struct StateChange<'a> {
    pub task_name: &'a str,
    /// `None` on the first observation.
    pub previous: Option<&'a TaskState>,
    pub state: &'a TaskState,
    /// Time since the wait started.
    pub elapsed: Duration,
    pub task: &'a ProjectTask,
}

/// How a wait ended.
#[derive(Debug)]
pub enum WaitOutcome {
    /// The task reached a terminal state (which may be a failure).
    Finished(ProjectTask),
    /// The deadline passed first; the task was asked to cancel. `cancel` holds the answer
    /// to that request (the task in `Canceling`, typically) or why it failed.
    DeadlineExceeded {
        last: Option<ProjectTask>,
        cancel: Box<Result<ProjectTask, DmsError>>,
    },
    /// The caller's token fired; the task was left as it was.
    Interrupted { last: Option<ProjectTask> },
}

/// Polls `task` until it is terminal, the deadline passes, or `cancel` fires. `Canceling`,
/// `Unknown` and states this client does not know count as in progress.
pub async fn wait_until_terminal(
    client: &dyn ServiceTasks,
    svc: &ServiceRef,
    task: &str,
    options: &PollOptions,
    cancel: &CancellationToken,
    on_change: &mut (dyn FnMut(&StateChange<'_>) + Send),
) -> Result<WaitOutcome, DmsError> {
    let started = Instant::now();
    let deadline = options.timeout.map(|t| started + t);
    let mut interval = options.first_interval;
    let mut last: Option<ProjectTask> = None;
    loop {
        let poll = client.get(svc, task, Expand::Output);
        let current = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Ok(WaitOutcome::Interrupted { last }),
            _ = sleep_until_opt(deadline) => None,
            r = poll => Some(r?),
        };
        let Some(current) = current else {
            return Ok(on_deadline(client, svc, task, started, last, on_change).await);
        };
        report(task, started, last.as_ref(), &current, on_change);
        if current.state().is_terminal() {
            return Ok(WaitOutcome::Finished(current));
        }
        last = Some(current);
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return Ok(WaitOutcome::Interrupted { last }),
            _ = sleep_until_opt(deadline) => {
                return Ok(on_deadline(client, svc, task, started, last, on_change).await);
            }
            _ = tokio::time::sleep(interval) => {}
        }
        interval = options.next_interval(interval, started.elapsed());
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn report(
    task: &str,
    started: Instant,
    previous: Option<&ProjectTask>,
    current: &ProjectTask,
    on_change: &mut (dyn FnMut(&StateChange<'_>) + Send),
) {
    let prev_state = previous.map(ProjectTask::state);
    let state = current.state();
    if prev_state.as_ref() == Some(&state) {
        return;
    }
    on_change(&StateChange {
        task_name: task,
        previous: prev_state.as_ref(),
        state: &state,
        elapsed: started.elapsed(),
        task: current,
    });
}

async fn on_deadline(
    client: &dyn ServiceTasks,
    svc: &ServiceRef,
    task: &str,
    started: Instant,
    last: Option<ProjectTask>,
    on_change: &mut (dyn FnMut(&StateChange<'_>) + Send),
) -> WaitOutcome {
    tracing::debug!(task, "wait deadline passed; cancelling the task");
    let cancel = client.cancel(svc, task).await;
    if let Ok(t) = &cancel {
        report(task, started, last.as_ref(), t, on_change);
    }
    WaitOutcome::DeadlineExceeded {
        last,
        cancel: Box::new(cancel),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::dms::client::{DeleteOutcome, PutOutcome};
    use crate::providers::dms::models::TaskRequest;
    use async_trait::async_trait;
    use std::sync::Mutex;

    /// Answers GETs from a script of states (the last one repeats) and records cancels.
    struct Scripted {
        states: Mutex<Vec<&'static str>>,
        cancels: Mutex<u32>,
    }

    fn task(state: &str) -> ProjectTask {
        serde_json::from_value(serde_json::json!({
            "name": "t", "properties": {"taskType": "Service.Check.OCI", "state": state}
        }))
        .unwrap()
    }

    #[async_trait]
    impl ServiceTasks for Scripted {
        async fn create_or_update(
            &self,
            _: &ServiceRef,
            _: &str,
            _: &TaskRequest,
        ) -> Result<PutOutcome, DmsError> {
            unimplemented!()
        }
        async fn get(&self, _: &ServiceRef, _: &str, e: Expand) -> Result<ProjectTask, DmsError> {
            assert_eq!(e, Expand::Output);
            let mut s = self.states.lock().unwrap();
            let st = if s.len() > 1 { s.remove(0) } else { s[0] };
            Ok(task(st))
        }
        async fn update(
            &self,
            _: &ServiceRef,
            _: &str,
            _: &TaskRequest,
        ) -> Result<ProjectTask, DmsError> {
            unimplemented!()
        }
        async fn delete(
            &self,
            _: &ServiceRef,
            _: &str,
            _: bool,
        ) -> Result<DeleteOutcome, DmsError> {
            unimplemented!()
        }
        async fn cancel(&self, _: &ServiceRef, _: &str) -> Result<ProjectTask, DmsError> {
            *self.cancels.lock().unwrap() += 1;
            Ok(task("Canceling"))
        }
        async fn list(
            &self,
            _: &ServiceRef,
            _: Option<&str>,
        ) -> Result<Vec<ProjectTask>, DmsError> {
            unimplemented!()
        }
    }

    fn fast(timeout: Option<Duration>) -> PollOptions {
        PollOptions {
            first_interval: Duration::from_millis(1),
            max_interval: Duration::from_millis(2),
            factor: 1.5,
            timeout,
        }
    }

    #[tokio::test]
    async fn unknown_and_unlisted_states_are_in_progress() {
        let fake = Scripted {
            states: Mutex::new(vec![
                "Unknown",
                "Queued",
                "Queued",
                "Hibernating",
                "Running",
                "Canceling",
                "Canceled",
            ]),
            cancels: Mutex::new(0),
        };
        let svc = ServiceRef::new("s", "g", "n");
        let mut seen = Vec::new();
        let out = wait_until_terminal(
            &fake,
            &svc,
            "t",
            &fast(None),
            &CancellationToken::new(),
            &mut |c| seen.push(c.state.as_str().to_string()),
        )
        .await
        .unwrap();
        let WaitOutcome::Finished(t) = out else {
            panic!("{out:?}")
        };
        assert_eq!(t.state(), TaskState::Canceled);
        assert_eq!(
            seen,
            [
                "Unknown",
                "Queued",
                "Hibernating",
                "Running",
                "Canceling",
                "Canceled"
            ]
        );
        assert_eq!(*fake.cancels.lock().unwrap(), 0);
    }

    #[tokio::test]
    async fn deadline_sends_one_cancel() {
        let fake = Scripted {
            states: Mutex::new(vec!["Running"]),
            cancels: Mutex::new(0),
        };
        let svc = ServiceRef::new("s", "g", "n");
        let out = wait_until_terminal(
            &fake,
            &svc,
            "t",
            &fast(Some(Duration::from_millis(30))),
            &CancellationToken::new(),
            &mut |_| {},
        )
        .await
        .unwrap();
        assert!(
            matches!(out, WaitOutcome::DeadlineExceeded { .. }),
            "{out:?}"
        );
        assert_eq!(*fake.cancels.lock().unwrap(), 1);
    }

    #[test]
    fn interval_follows_a_tenth_of_the_elapsed_time() {
        let o = PollOptions {
            first_interval: Duration::from_millis(100),
            max_interval: Duration::from_millis(400),
            ..PollOptions::default()
        };
        let ms = Duration::from_millis;
        // Early on, the first interval; then a tenth of the elapsed time, growing at most
        // ×1.5 per poll; never above the maximum.
        assert_eq!(o.next_interval(ms(100), ms(200)), ms(100));
        assert_eq!(o.next_interval(ms(100), ms(2_000)), ms(150));
        assert_eq!(o.next_interval(ms(300), ms(3_000)), ms(300));
        assert_eq!(o.next_interval(ms(400), ms(60_000)), ms(400));
        let odd = PollOptions {
            factor: f64::NAN,
            ..o.clone()
        };
        assert_eq!(
            odd.next_interval(o.first_interval, ms(60_000)),
            o.first_interval
        );
    }
}
