//! `wait_until_terminal` against the real emulator: the normal path, `Canceling`, a
//! deadline that cancels the task, and a cancellation token that only stops waiting.

mod client_common;

use client_common::*;
use dmsform::providers::dms::models::CheckOciDriverInput;
use dmsform::providers::dms::{
    Expand, PollOptions, StateChange, TaskRequest, TaskState, WaitOutcome, wait_until_terminal,
};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn check() -> TaskRequest {
    TaskRequest::check(CheckOciDriverInput {
        server_version: Some("19.0".into()),
        ..Default::default()
    })
}

fn poll(timeout: Option<Duration>) -> PollOptions {
    PollOptions {
        first_interval: Duration::from_millis(40),
        max_interval: Duration::from_millis(90),
        factor: 1.5,
        timeout,
    }
}

/// Records (previous, state) of every reported change.
fn recorder(
    seen: &mut Vec<(Option<TaskState>, TaskState)>,
) -> impl FnMut(&StateChange<'_>) + Send + '_ {
    move |c| seen.push((c.previous.cloned(), c.state.clone()))
}

#[tokio::test]
async fn waits_through_queued_running_succeeded() {
    let env = start(Timings {
        queued_ms: 200,
        run_ms: 300,
        ..Timings::default()
    })
    .await;
    env.client
        .create_or_update(&env.svc, "t1", &check())
        .await
        .unwrap();
    let mut seen = Vec::new();
    let out = wait_until_terminal(
        &env.client,
        &env.svc,
        "t1",
        &poll(None),
        &CancellationToken::new(),
        &mut recorder(&mut seen),
    )
    .await
    .unwrap();
    let WaitOutcome::Finished(t) = out else {
        panic!("{out:?}")
    };
    assert_eq!(t.state(), TaskState::Succeeded);
    // polled with $expand=output: the output is there
    assert!(!t.properties.details.output_json().is_empty());
    use TaskState::*;
    assert_eq!(
        seen,
        [
            (None, Queued),
            (Some(Queued), Running),
            (Some(Running), Succeeded)
        ]
    );
    let gets = env.logged("GET", "/serviceTasks/t1").await;
    assert!(gets.len() >= 5, "polled only {} times", gets.len());
    assert!(
        gets.iter()
            .all(|g| g["query"].as_str().unwrap().contains("$expand=output"))
    );
    // never faster than the first interval (early on the schedule stays at it: a tenth of
    // the elapsed time is still below it)
    let at: Vec<u64> = gets.iter().map(|g| g["at_ms"].as_u64().unwrap()).collect();
    assert!(at.windows(2).skip(1).all(|w| w[1] - w[0] >= 35), "{at:?}");
    env.shutdown().await;
}

#[tokio::test]
async fn canceling_counts_as_in_progress() {
    let env = start(Timings {
        queued_ms: 50,
        run_ms: 5_000,
        cancel_ms: 400,
        ..Timings::default()
    })
    .await;
    env.client
        .create_or_update(&env.svc, "t1", &check())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let t = env.client.cancel(&env.svc, "t1").await.unwrap();
    assert_eq!(t.state(), TaskState::Canceling);
    let mut seen = Vec::new();
    let out = wait_until_terminal(
        &env.client,
        &env.svc,
        "t1",
        &poll(None),
        &CancellationToken::new(),
        &mut recorder(&mut seen),
    )
    .await
    .unwrap();
    let WaitOutcome::Finished(t) = out else {
        panic!("{out:?}")
    };
    assert_eq!(t.state(), TaskState::Canceled);
    use TaskState::*;
    assert_eq!(seen, [(None, Canceling), (Some(Canceling), Canceled)]);
    env.shutdown().await;
}

#[tokio::test]
async fn deadline_cancels_the_task() {
    let env = start(Timings {
        queued_ms: 50,
        run_ms: 5_000,
        cancel_ms: 200,
        ..Timings::default()
    })
    .await;
    env.client
        .create_or_update(&env.svc, "t1", &check())
        .await
        .unwrap();
    let started = Instant::now();
    let mut seen = Vec::new();
    let out = wait_until_terminal(
        &env.client,
        &env.svc,
        "t1",
        &poll(Some(Duration::from_millis(400))),
        &CancellationToken::new(),
        &mut recorder(&mut seen),
    )
    .await
    .unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    let WaitOutcome::DeadlineExceeded { last, cancel } = out else {
        panic!("{out:?}")
    };
    assert_eq!(last.unwrap().state(), TaskState::Running);
    assert_eq!(cancel.unwrap().state(), TaskState::Canceling);
    assert_eq!(seen.last().unwrap().1, TaskState::Canceling);
    assert_eq!(env.logged("POST", "/t1/cancel").await.len(), 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let after = env.client.get(&env.svc, "t1", Expand::None).await.unwrap();
    assert_eq!(after.state(), TaskState::Canceled);
    env.shutdown().await;
}

#[tokio::test]
async fn cancellation_token_stops_waiting_and_leaves_the_task_alone() {
    let env = start(Timings {
        queued_ms: 50,
        run_ms: 5_000,
        ..Timings::default()
    })
    .await;
    env.client
        .create_or_update(&env.svc, "t1", &check())
        .await
        .unwrap();
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let out = wait_until_terminal(
        &env.client,
        &env.svc,
        "t1",
        &poll(None),
        &token,
        &mut |_| {},
    )
    .await
    .unwrap();
    assert!(started.elapsed() < Duration::from_millis(1000));
    let WaitOutcome::Interrupted { last } = out else {
        panic!("{out:?}")
    };
    assert_eq!(last.unwrap().state(), TaskState::Running);
    assert!(env.logged("POST", "/t1/cancel").await.is_empty());
    let still = env.client.get(&env.svc, "t1", Expand::None).await.unwrap();
    assert_eq!(still.state(), TaskState::Running);
    env.shutdown().await;
}

#[tokio::test]
async fn missing_task_ends_the_wait_with_not_found() {
    let env = start(Timings::default()).await;
    let err = wait_until_terminal(
        &env.client,
        &env.svc,
        "nope",
        &poll(None),
        &CancellationToken::new(),
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    env.shutdown().await;
}
