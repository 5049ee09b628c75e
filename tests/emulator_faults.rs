//! Fault injection, the request log, resource limits, persistence across restarts and the
//! `dmsform emulator` command itself.

mod common;

use common::*;
use dmsform::emulator::{FaultRule, ShareRoot};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn status_faults_by_operation_task_and_count() {
    let emu = Emu::start(|_| {}).await;
    emu.put("svc", "a", check_body("19.0")).await;
    emu.put("svc", "b", check_body("19.0")).await;
    let get = |t: &str| format!("{}?api-version={V}", emu.task_url("svc", t));

    emu.add_fault(
        json!({"kind": "status", "status": 429, "retry_after": 1, "op": "get", "count": 1}),
    )
    .await;
    let r = emu.req(Method::GET, &get("a"), None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.code(), "SubscriptionRequestsThrottled");
    assert_eq!(
        emu.req(Method::GET, &get("a"), None).await.status,
        StatusCode::OK,
        "count=1 fires once"
    );

    emu.add_fault(json!({"kind": "status", "status": 503, "retry_after": 2, "task": "B"}))
        .await;
    assert_eq!(
        emu.req(Method::GET, &get("a"), None).await.status,
        StatusCode::OK,
        "only task b is hit"
    );
    let r = emu.req(Method::GET, &get("b"), None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.header("retry-after"), Some("2"));
    assert_eq!(r.code(), "ServiceUnavailable");

    let faults = emu
        .req_with(
            Method::GET,
            &format!("{}/_emulator/faults", emu.base),
            None,
            None,
        )
        .await;
    assert_eq!(faults.json().as_array().unwrap().len(), 2);
    let cleared = emu
        .req_with(
            Method::DELETE,
            &format!("{}/_emulator/faults", emu.base),
            None,
            None,
        )
        .await;
    assert_eq!(cleared.status, StatusCode::NO_CONTENT);
    assert_eq!(
        emu.req(Method::GET, &get("b"), None).await.status,
        StatusCode::OK
    );

    emu.add_fault(json!({"kind": "status", "status": 500, "op": "put", "count": 1}))
        .await;
    let r = emu.put("svc", "c", check_body("19.0")).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.code(), "InternalServerError");
    assert!(r.header("retry-after").is_none());
    assert_eq!(
        emu.get("svc", "c").await.status,
        StatusCode::NOT_FOUND,
        "a failed PUT creates nothing"
    );

    emu.add_fault(json!({"kind": "status", "status": 403, "op": "put", "count": 1}))
        .await;
    let r = emu.put("svc", "c", check_body("19.0")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "AuthorizationFailed");
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("Microsoft.DataMigration/services/serviceTasks/write"),
        "{msg}"
    );
    assert!(msg.contains("/services/svc/serviceTasks/c"), "{msg}");

    emu.add_fault(json!({"kind": "status", "status": 401, "op": "list", "count": 1}))
        .await;
    let r = emu
        .req(
            Method::GET,
            &format!("{}?api-version={V}", emu.tasks_url("svc")),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "ExpiredAuthenticationToken");

    let log = emu.requests().await;
    let statuses: Vec<u64> = log.iter().map(|e| e["status"].as_u64().unwrap()).collect();
    for s in [429, 503, 500, 403, 401, 201, 200] {
        assert!(statuses.contains(&s), "request log lacks {s}: {statuses:?}");
    }
    assert!(
        log.iter()
            .all(|e| e["path"].as_str().unwrap().starts_with("/subscriptions/"))
    );
    assert_eq!(log[0]["method"], "PUT");
    assert_eq!(log[0]["op"], "put");
    assert_eq!(log[0]["task"], "a");
}

#[tokio::test]
async fn dropped_connections_and_latency() {
    let emu = Emu::start(|_| {}).await;
    emu.put("svc", "a", check_body("19.0")).await;
    let url = format!("{}?api-version={V}", emu.task_url("svc", "a"));
    emu.add_fault(json!({"kind": "drop", "op": "get", "count": 2}))
        .await;
    for _ in 0..2 {
        let outcome = match emu.http.get(&url).bearer_auth("t").send().await {
            Ok(resp) => resp.bytes().await.map(|_| ()),
            Err(e) => Err(e),
        };
        assert!(
            outcome.is_err(),
            "the connection is dropped before a complete answer"
        );
    }
    assert_eq!(
        emu.req(Method::GET, &url, None).await.status,
        StatusCode::OK
    );

    emu.add_fault(json!({"kind": "latency", "ms": 300, "op": "get", "count": 1}))
        .await;
    let t0 = Instant::now();
    assert_eq!(
        emu.req(Method::GET, &url, None).await.status,
        StatusCode::OK
    );
    assert!(t0.elapsed() >= Duration::from_millis(300));

    let dropped = emu
        .requests()
        .await
        .iter()
        .filter(|e| e["status"] == 0)
        .count();
    assert_eq!(dropped, 2, "dropped requests are logged with status 0");
}

#[tokio::test]
async fn tasks_forced_to_fail_or_fault() {
    let emu = Emu::start(|c| {
        c.faults = vec![
            FaultRule::parse("kind=task_fail,task=install1").unwrap(),
            FaultRule::parse("kind=task_fault,task=check1").unwrap(),
        ]
    })
    .await;
    let failed = emu.run("svc", "install1", install_body("x.zip")).await;
    assert_eq!(state(&failed), "Failed");
    assert_eq!(failed["properties"]["errors"][0]["code"], "TaskFailed");
    let faulted = emu.run("svc", "check1", check_body("19.0")).await;
    assert_eq!(state(&faulted), "Faulted");
    assert_eq!(
        faulted["properties"]["errors"][0]["code"],
        "InternalServerError"
    );
    let fine = emu.run("svc", "check2", check_body("19.0")).await;
    assert_eq!(state(&fine), "Succeeded");
    assert!(fine["properties"].get("errors").is_none());
}

#[tokio::test]
async fn probabilistic_faults_are_seeded() {
    async fn pattern(seed: u64) -> Vec<u16> {
        let emu = Emu::start(|c| {
            c.seed = seed;
            c.faults =
                vec![FaultRule::parse("kind=status,status=503,op=list,probability=0.5").unwrap()];
        })
        .await;
        let url = format!("{}?api-version={V}", emu.tasks_url("svc"));
        let mut out = Vec::new();
        for _ in 0..40 {
            out.push(emu.req(Method::GET, &url, None).await.status.as_u16());
        }
        out
    }
    let a = pattern(42).await;
    assert_eq!(a, pattern(42).await, "same seed, same faults");
    let hits = a.iter().filter(|s| **s == 503).count();
    assert!((8..=32).contains(&hits), "{hits} of 40 hit");
    assert_ne!(a, pattern(7).await);
}

#[tokio::test]
async fn max_running_keeps_the_rest_queued() {
    let emu = Emu::start(|c| {
        c.max_running = Some(1);
        c.run_for = Duration::from_millis(250);
    })
    .await;
    for t in ["a", "b", "c"] {
        emu.put("svc", t, check_body("19.0")).await;
    }
    emu.put("other", "d", check_body("19.0")).await;
    let mut max_seen = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = emu
            .req(
                Method::GET,
                &format!("{}?api-version={V}", emu.tasks_url("svc")),
                None,
            )
            .await
            .json();
        let states: Vec<String> = body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["properties"]["state"].as_str().unwrap().to_string())
            .collect();
        max_seen = max_seen.max(states.iter().filter(|s| *s == "Running").count());
        if states.iter().all(|s| s == "Succeeded") {
            break;
        }
        assert!(Instant::now() < deadline, "{states:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(max_seen, 1, "never more than one running task per service");
    assert_eq!(state(&emu.wait("other", "d").await), "Succeeded");
}

#[tokio::test]
async fn tasks_and_packages_survive_a_restart_mid_task() {
    let share = tempfile::tempdir().unwrap();
    write_file(
        &share.path().join("drv.zip"),
        &driver_zip(Some((19, 19)), true),
    );
    let root = ShareRoot::parse(&format!("fs/s={}", share.path().display())).unwrap();
    let mut emu = Emu::start(|c| {
        c.share_roots = vec![root];
        c.queued_for = Duration::from_millis(100);
        c.run_for = Duration::from_millis(400);
    })
    .await;
    let put = emu
        .put("svc", "up", upload_body(json!({"path": "\\\\fs\\s"})))
        .await;
    assert_eq!(put.status, StatusCode::CREATED);
    emu.put("svc", "late", check_body("19.0")).await;
    // Stop while the upload runs; time goes on while the emulator is down.
    emu.wait_for("svc", "up", |s| s == "Running").await;
    emu.restart(Duration::from_millis(600)).await;

    let first = emu.get("svc", "late").await.json();
    assert_ne!(
        first["properties"]["state"], "Queued",
        "time went on while the emulator was down"
    );
    let up = emu.wait("svc", "up").await;
    assert_eq!(state(&up), "Succeeded", "{up:#}");
    assert_eq!(
        up["properties"]["output"][0]["driverPackageName"],
        "drv.zip"
    );
    // The package stored before the restart installs after it.
    assert_eq!(
        state(&emu.run("svc", "inst", install_body("drv.zip")).await),
        "Succeeded"
    );
    emu.stop().await;
}

#[test]
fn emulator_help_documents_every_flag() {
    let out = assert_cmd::Command::cargo_bin("dmsform")
        .unwrap()
        .args(["emulator", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen",
        "--data-dir",
        "--token",
        "--share-root",
        "--queued-for",
        "--run-for",
        "--cancel-for",
        "--page-size",
        "--max-running",
        "--lenient-delete",
        "--service",
        "--fault",
        "--seed",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn bad_flag_values_are_clear_errors() {
    for (args, needle) in [
        (vec!["emulator", "--queued-for", "5x"], "invalid duration"),
        (
            vec!["emulator", "--fault", "kind=boom"],
            "unknown fault kind",
        ),
        (vec!["emulator", "--share-root", "nohost"], "HOST/SHARE=DIR"),
    ] {
        let out = assert_cmd::Command::cargo_bin("dmsform")
            .unwrap()
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn the_binary_serves_until_terminated() {
    use std::io::{BufRead, BufReader};
    let data = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dmsform"))
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--fault",
            "kind=status,status=503,op=list,count=1",
            "--data-dir",
        ])
        .arg(data.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("address printed")
        .to_string();
    let url = format!(
        "{base}/subscriptions/s/resourceGroups/g/providers/Microsoft.DataMigration/services/n/serviceTasks?api-version={V}"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let statuses: Vec<u16> = rt.block_on(async {
        let http = reqwest::Client::new();
        let mut v = Vec::new();
        for _ in 0..2 {
            v.push(
                http.get(&url)
                    .bearer_auth("t")
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            );
        }
        v
    });
    assert_eq!(statuses, [503, 200]);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0));
    assert!(data.path().join("at-rest.key").exists());
}
