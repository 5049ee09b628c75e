//! Captures every log record, at trace level and from every crate, during an authenticated
//! run against the emulator, and checks that neither the access token nor the share
//! password appears in it (nor in errors or Debug output).

mod client_common;

use client_common::*;
use dmsform::providers::dms::auth::{self, AuthMode, TOKEN_ENV};
use dmsform::providers::dms::models::{DriverShare, FileShare, UploadOciDriverInput};
use dmsform::providers::dms::secret::SecretString;
use dmsform::providers::dms::{
    ClientOptions, DmsClient, Expand, PollOptions, TaskRequest, TaskState, WaitOutcome,
    wait_until_terminal,
};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.SECRET-ARM-TOKEN-7f3a9c";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_password_in_trace_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    // SAFETY: this test binary holds a single test, so nothing reads the environment
    // concurrently.
    unsafe { std::env::set_var(TOKEN_ENV, TOKEN) };
    let env = start_with(Timings::default(), Some(TOKEN), fast_retry()).await;
    let client = DmsClient::new(
        ClientOptions {
            endpoint: env.base.clone(),
            retry: fast_retry(),
            ..ClientOptions::default()
        },
        auth::token_source(AuthMode::TokenEnv).unwrap(),
    )
    .unwrap();
    let svc = &env.svc;
    let req = TaskRequest::upload(UploadOciDriverInput {
        driver_share: Some(DriverShare::File(FileShare {
            path: Some(env.share_path()),
            user_name: Some(SHARE_USER.into()),
            password: Some(SecretString::new(SHARE_PASSWORD)),
            ..Default::default()
        })),
        ..Default::default()
    });
    tracing::info!(?req, ?client, "debug output of the request and the client");

    env.fault(json!({"kind": "status", "status": 429, "retry_after": 0, "op": "put", "count": 1}))
        .await;
    let put = client.create_or_update(svc, "up1", &req).await.unwrap();
    tracing::info!(task = ?put.task, "debug output of a task");
    let poll = PollOptions {
        first_interval: Duration::from_millis(40),
        max_interval: Duration::from_millis(80),
        ..PollOptions::default()
    };
    let out = wait_until_terminal(
        &client,
        svc,
        "up1",
        &poll,
        &CancellationToken::new(),
        &mut |c| {
            tracing::info!(change = ?c, "state change");
        },
    )
    .await
    .unwrap();
    let WaitOutcome::Finished(done) = out else {
        panic!("{out:?}")
    };
    // the password reached the emulator intact: the share accepted it
    assert_eq!(done.state(), TaskState::Succeeded, "{done:?}");

    env.fault(json!({"kind": "drop", "op": "get", "count": 1}))
        .await;
    let got = client.get(svc, "up1", Expand::Output).await.unwrap();
    client.update(svc, "up1", &got.to_request()).await.unwrap();
    client.list(svc, None).await.unwrap();
    client.delete(svc, "up1", true).await.unwrap();

    // a wrong token: 401, and the error must not repeat what was sent
    let wrong = client_for(&env.base, "WRONG-TOKEN-b81d", fast_retry());
    let err = wrong.get(svc, "up1", Expand::None).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    tracing::error!(error = %err, debug = ?err, "expected failure");
    assert!(!format!("{err} {err:?}").contains("WRONG-TOKEN-b81d"));

    // a failing upload (wrong password) surfaces its validation error, not the password
    let mut bad = req.clone();
    bad.input = Some(
        json!({"driverShare": {"path": env.share_path(), "userName": SHARE_USER, "password": "Wr0ng-Pa55-q1"}}),
    );
    client.create_or_update(svc, "up2", &bad).await.unwrap();
    let out = wait_until_terminal(
        &client,
        svc,
        "up2",
        &poll,
        &CancellationToken::new(),
        &mut |_| {},
    )
    .await
    .unwrap();
    tracing::info!(?out, "failed upload");
    env.shutdown().await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("sending request"), "nothing captured");
    assert!(logs.contains("TRACE"), "trace level not captured");
    assert!(logs.lines().count() > 50, "too little captured: {logs}");
    for secret in [
        TOKEN,
        "SECRET-ARM-TOKEN",
        SHARE_PASSWORD,
        "WRONG-TOKEN-b81d",
        "Wr0ng-Pa55-q1",
    ] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
}
