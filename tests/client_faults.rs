//! Retries against injected faults of the real emulator: which are retried, how long the
//! client waits, and which surface at once.

mod client_common;

use client_common::*;
use dmsform::providers::dms::models::CheckOciDriverInput;
use dmsform::providers::dms::{
    DmsError, Expand, PollOptions, RetryPolicy, TaskRequest, TaskState, WaitOutcome,
    wait_until_terminal,
};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn check() -> TaskRequest {
    TaskRequest::check(CheckOciDriverInput {
        server_version: Some("19.0".into()),
        ..Default::default()
    })
}

fn at_ms(r: &serde_json::Value) -> u64 {
    r["at_ms"].as_u64().expect("at_ms in request log")
}

#[tokio::test]
async fn throttled_put_waits_for_retry_after() {
    let env = start(Timings::default()).await;
    env.fault(json!({"kind": "status", "status": 429, "retry_after": 1, "op": "put", "task": "t1", "count": 1}))
        .await;
    let started = Instant::now();
    let put = env
        .client
        .create_or_update(&env.svc, "t1", &check())
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(put.created);
    // Retry-After: 1 is honoured as such, not replaced by the 40 ms test backoff
    assert!(took >= Duration::from_millis(950), "{took:?}");
    assert!(took < Duration::from_millis(2500), "{took:?}");
    let puts = env.logged("PUT", "/serviceTasks/t1").await;
    assert_eq!(puts.len(), 2, "{puts:?}");
    assert_eq!(puts[0]["status"], 429);
    assert_eq!(puts[1]["status"], 201);
    let gap = at_ms(&puts[1]) - at_ms(&puts[0]);
    assert!((950..2000).contains(&gap), "gap {gap} ms");
    env.shutdown().await;
}

#[tokio::test]
async fn throttled_cancel_is_retried_when_retry_after_is_present() {
    let env = start(Timings {
        run_ms: 5_000,
        ..Timings::default()
    })
    .await;
    env.client
        .create_or_update(&env.svc, "t1", &check())
        .await
        .unwrap();
    env.fault(
        json!({"kind": "status", "status": 429, "retry_after": 1, "op": "cancel", "count": 1}),
    )
    .await;
    let t = env.client.cancel(&env.svc, "t1").await.unwrap();
    assert!(matches!(
        t.state(),
        TaskState::Canceling | TaskState::Canceled
    ));
    assert_eq!(env.logged("POST", "/t1/cancel").await.len(), 2);
    env.shutdown().await;
}

#[tokio::test]
async fn unavailable_and_dropped_connections_are_retried_for_idempotent_calls() {
    let env = start(Timings::default()).await;
    env.client
        .create_or_update(&env.svc, "t1", &check())
        .await
        .unwrap();

    env.fault(json!({"kind": "status", "status": 503, "op": "get", "count": 2}))
        .await;
    let t = env.client.get(&env.svc, "t1", Expand::None).await.unwrap();
    assert_eq!(t.name.as_deref(), Some("t1"));
    let gets = env.logged("GET", "/serviceTasks/t1").await;
    let statuses: Vec<_> = gets.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [503, 503, 200]);

    env.clear_requests().await;
    env.fault(json!({"kind": "drop", "op": "get", "count": 1}))
        .await;
    env.client
        .get(&env.svc, "t1", Expand::Output)
        .await
        .unwrap();
    assert_eq!(env.logged("GET", "/serviceTasks/t1").await.len(), 2);

    env.clear_requests().await;
    env.fault(json!({"kind": "drop", "op": "put", "count": 1}))
        .await;
    let put = env
        .client
        .create_or_update(&env.svc, "t2", &check())
        .await
        .unwrap();
    // the dropped PUT may or may not have been applied; the retry is safe either way
    assert_eq!(put.task.name.as_deref(), Some("t2"));
    assert_eq!(env.logged("PUT", "/serviceTasks/t2").await.len(), 2);

    env.clear_requests().await;
    env.fault(json!({"kind": "drop", "op": "list", "count": 1}))
        .await;
    assert_eq!(env.client.list(&env.svc, None).await.unwrap().len(), 2);

    env.clear_requests().await;
    env.fault(json!({"kind": "status", "status": 500, "op": "delete", "count": 1}))
        .await;
    env.client.delete(&env.svc, "t2", true).await.unwrap();
    assert_eq!(env.logged("DELETE", "/serviceTasks/t2").await.len(), 2);
    env.shutdown().await;
}

#[tokio::test]
async fn client_errors_and_unsafe_retries_surface_at_once() {
    let env = start(Timings {
        run_ms: 5_000,
        ..Timings::default()
    })
    .await;
    let (c, svc) = (&env.client, &env.svc);
    c.create_or_update(svc, "t1", &check()).await.unwrap();

    env.fault(json!({"kind": "status", "status": 400, "op": "put", "count": 1, "code": "InvalidRequestContent", "message": "bad input"}))
        .await;
    let err = c.create_or_update(svc, "t2", &check()).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some("InvalidRequestContent"));
    assert!(err.to_string().contains("bad input"), "{err}");
    assert!(err.request_id().is_some());
    assert_eq!(env.logged("PUT", "/serviceTasks/t2").await.len(), 1);

    env.fault(json!({"kind": "status", "status": 404, "op": "get", "count": 1}))
        .await;
    let err = c.get(svc, "t1", Expand::None).await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(env.logged("GET", "/serviceTasks/t1").await.len(), 1);

    // 502 on POST /cancel without Retry-After: not retried
    env.fault(json!({"kind": "status", "status": 502, "op": "cancel", "count": 1}))
        .await;
    let err = c.cancel(svc, "t1").await.unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(env.logged("POST", "/t1/cancel").await.len(), 1);

    // 502 on PATCH: not retried either; 503 on PATCH is
    let body = c.get(svc, "t1", Expand::None).await.unwrap().to_request();
    env.fault(json!({"kind": "status", "status": 502, "op": "patch", "count": 1}))
        .await;
    assert_eq!(
        c.update(svc, "t1", &body).await.unwrap_err().status(),
        Some(502)
    );
    env.fault(json!({"kind": "status", "status": 503, "op": "patch", "count": 1}))
        .await;
    c.update(svc, "t1", &body).await.unwrap();
    assert_eq!(env.logged("PATCH", "/serviceTasks/t1").await.len(), 3);

    // 503 on cancel is retried
    env.clear_requests().await;
    env.fault(json!({"kind": "status", "status": 503, "op": "cancel", "count": 1}))
        .await;
    c.cancel(svc, "t1").await.unwrap();
    assert_eq!(env.logged("POST", "/t1/cancel").await.len(), 2);

    // a dropped cancel may have been applied: surfaced, not repeated blindly
    c.create_or_update(svc, "t3", &check()).await.unwrap();
    env.fault(json!({"kind": "drop", "op": "cancel", "count": 1}))
        .await;
    let err = c.cancel(svc, "t3").await.unwrap_err();
    assert!(
        matches!(
            err,
            DmsError::Transport {
                maybe_applied: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(env.logged("POST", "/t3/cancel").await.len(), 1);

    // a 202 on PUT is a protocol error, not a success and not a retry
    env.fault(json!({"kind": "status", "status": 202, "op": "put", "count": 1}))
        .await;
    let err = c.create_or_update(svc, "t4", &check()).await.unwrap_err();
    assert!(
        matches!(
            err,
            DmsError::Protocol {
                status: Some(202),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(env.logged("PUT", "/serviceTasks/t4").await.len(), 1);
    env.shutdown().await;
}

#[tokio::test]
async fn retries_stop_at_the_attempt_cap() {
    let env = start_with(
        Timings::default(),
        None,
        RetryPolicy {
            max_attempts: 3,
            ..fast_retry()
        },
    )
    .await;
    env.client
        .create_or_update(&env.svc, "t1", &check())
        .await
        .unwrap();
    env.fault(json!({"kind": "status", "status": 503, "op": "get"}))
        .await;
    let err = env
        .client
        .get(&env.svc, "t1", Expand::None)
        .await
        .unwrap_err();
    let DmsError::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((api.status, api.attempts), (503, 3));
    assert_eq!(env.logged("GET", "/serviceTasks/t1").await.len(), 3);
    env.shutdown().await;
}

#[tokio::test]
async fn slow_answers_time_out_and_are_retried() {
    let env = start(Timings::default()).await;
    env.client
        .create_or_update(&env.svc, "t1", &check())
        .await
        .unwrap();
    let impatient = dmsform::providers::dms::DmsClient::new(
        dmsform::providers::dms::ClientOptions {
            endpoint: env.base.clone(),
            retry: fast_retry(),
            request_timeout: Duration::from_millis(300),
            ..Default::default()
        },
        std::sync::Arc::new(dmsform::providers::dms::auth::StaticToken::new(
            dmsform::providers::dms::secret::SecretString::new("x"),
        )),
    )
    .unwrap();
    env.fault(json!({"kind": "latency", "ms": 800, "op": "get", "count": 1}))
        .await;
    let started = Instant::now();
    impatient.get(&env.svc, "t1", Expand::None).await.unwrap();
    // the first attempt timed out at 300 ms (its handler never finished, so the emulator
    // logs only the retry); the retry answered at once, well before the 800 ms delay
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_millis(750), "{took:?}");
    let gets = env.logged("GET", "/serviceTasks/t1").await;
    assert_eq!(gets.last().unwrap()["status"], 200);
    env.shutdown().await;
}

#[tokio::test]
async fn task_failures_and_faults_end_the_wait_with_errors() {
    let env = start(Timings::default()).await;
    let poll = PollOptions {
        first_interval: Duration::from_millis(50),
        max_interval: Duration::from_millis(100),
        ..PollOptions::default()
    };
    for (kind, name, want) in [
        ("task_fail", "f1", TaskState::Failed),
        ("task_fault", "f2", TaskState::Faulted),
    ] {
        env.fault(json!({"kind": kind, "task": name, "count": 1}))
            .await;
        env.client
            .create_or_update(&env.svc, name, &check())
            .await
            .unwrap();
        let out = wait_until_terminal(
            &env.client,
            &env.svc,
            name,
            &poll,
            &CancellationToken::new(),
            &mut |_| {},
        )
        .await
        .unwrap();
        let WaitOutcome::Finished(t) = out else {
            panic!("{out:?}")
        };
        assert_eq!(t.state(), want);
        assert!(!t.properties.errors.is_empty(), "{t:?}");
        assert!(t.properties.errors[0].code.is_some());
    }
    env.shutdown().await;
}
