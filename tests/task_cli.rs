//! `dmsform task …` driven as a real binary: against `--endpoint embedded` (no account, data
//! under `.dmsform/emulator`) and against an emulator started by the test.

mod client_common;

use assert_cmd::Command;
use client_common::*;
use std::path::Path;
use std::time::Duration;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn dmsform(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut cmd = Command::cargo_bin("dmsform").unwrap();
    cmd.current_dir(dir)
        .args(args)
        .timeout(Duration::from_secs(60));
    for v in [
        "DMSFORM_ENDPOINT",
        "DMSFORM_RESOURCE_GROUP",
        "DMSFORM_SERVICE_NAME",
    ] {
        cmd.env_remove(v);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the binary off the async runtime, so the test's emulator keeps serving.
async fn dmsform_async(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let envs: Vec<(String, String)> = envs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let e: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        dmsform(&dir, &a, &e)
    })
    .await
    .unwrap()
}

const EMB: [&str; 6] = ["--endpoint", "embedded", "-g", "rg", "--service", "svc"];

fn with<'a>(head: &[&'a str], tail: &[&'a str]) -> Vec<&'a str> {
    head.iter().chain(tail).copied().collect()
}

#[test]
fn embedded_endpoint_runs_every_operation_without_an_account() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = dmsform(d, &with(&["task", "list"], &EMB), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("(no tasks)"), "{}", r.stdout);
    assert!(d.join(".dmsform/emulator").is_dir());

    let r = dmsform(
        d,
        &with(
            &["task", "create", "checkOCIDriver"],
            &with(
                &EMB,
                &[
                    "--task-type",
                    "Service.Check.OCI",
                    "--server-version",
                    "19.0",
                    "--wait",
                    "--poll-interval",
                    "200ms",
                ],
            ),
        ),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("checkOCIDriver: created, Queued"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Queued -> Running"), "{}", r.stderr);
    assert!(r.stderr.contains("Running -> Succeeded"), "{}", r.stderr);
    assert!(r.stdout.contains("State:       Succeeded"), "{}", r.stdout);
    assert!(
        r.stdout.contains("No Oracle OCI driver is installed"),
        "{}",
        r.stdout
    );

    // the task outlived the process that created it
    let r = dmsform(
        d,
        &with(&["task", "list", "--task-type", "Service.Check.OCI"], &EMB),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout
            .lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["checkOCIDriver", "Service.Check.OCI", "Succeeded"]
    );

    let r = dmsform(
        d,
        &with(
            &[
                "task",
                "get",
                "checkOCIDriver",
                "--expand",
                "output",
                "-o",
                "json",
            ],
            &EMB,
        ),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["properties"]["state"], "Succeeded");
    assert_eq!(v["properties"]["output"].as_array().unwrap().len(), 1);

    let r = dmsform(
        d,
        &with(
            &[
                "task",
                "update",
                "checkOCIDriver",
                "--client-data",
                "owner=ops",
            ],
            &EMB,
        ),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Client data: owner=ops"), "{}", r.stdout);

    let r = dmsform(d, &with(&["task", "delete", "checkOCIDriver"], &EMB), &[]);
    assert_eq!(
        (r.code, r.stdout.trim()),
        (0, "checkOCIDriver: deleted"),
        "{}",
        r.stderr
    );
    let r = dmsform(
        d,
        &with(&["task", "delete", "checkOCIDriver", "-o", "json"], &EMB),
        &[],
    );
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("\"deleted\": false"), "{}", r.stdout);
    let r = dmsform(d, &with(&["task", "get", "checkOCIDriver"], &EMB), &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("HTTP 404"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_with_password_from_env_never_prints_it() {
    let env = start(Timings::default()).await;
    let d = env.dir.path();
    let conn = [
        "--endpoint",
        env.base.as_str(),
        "-g",
        "rg",
        "--service",
        "svc",
        "--subscription",
        "sub-1",
    ];
    let share = env.share_path();
    let env_vars = [("DRIVER_SHARE_PW", SHARE_PASSWORD)];

    // no flag takes the password itself
    let r = dmsform_async(
        d,
        &with(
            &[
                "task",
                "create",
                "up",
                "--task-type",
                "Service.Upload.OCI",
                "--share-path",
                &share,
                "--share-password",
                SHARE_PASSWORD,
            ],
            &conn,
        ),
        &[],
    )
    .await;
    assert_ne!(r.code, 0);

    let args = with(
        &[
            "task",
            "create",
            "up",
            "-o",
            "json",
            "--wait",
            "--poll-interval",
            "50ms",
        ],
        &with(
            &conn,
            &[
                "--task-type",
                "Service.Upload.OCI",
                "--share-path",
                &share,
                "--share-user",
                SHARE_USER,
                "--share-password-env",
                "DRIVER_SHARE_PW",
            ],
        ),
    );
    let r = dmsform_async(d, &args, &env_vars).await;
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["properties"]["state"], "Succeeded", "{v}");
    assert_eq!(
        v["properties"]["output"][0]["driverPackageName"],
        DRIVER_ZIP
    );
    assert_eq!(
        v["properties"]["input"]["driverShare"]["password"],
        "(sensitive value)"
    );
    assert!(!r.stdout.contains(SHARE_PASSWORD) && !r.stderr.contains(SHARE_PASSWORD));

    // a missing variable is an error that names the variable, not a silent empty password
    let r = dmsform_async(
        d,
        &with(
            &[
                "task",
                "create",
                "up2",
                "--task-type",
                "Service.Upload.OCI",
                "--share-path",
                &share,
                "--share-password-env",
                "NOT_SET_ANYWHERE",
            ],
            &conn,
        ),
        &[],
    )
    .await;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("NOT_SET_ANYWHERE"), "{}", r.stderr);

    // the password may come from a file too
    let pw_file = d.join("pw.txt");
    std::fs::write(&pw_file, format!("{SHARE_PASSWORD}\n")).unwrap();
    let r = dmsform_async(
        d,
        &with(
            &[
                "task",
                "create",
                "up3",
                "--task-type",
                "Service.Upload.OCI",
                "--share-path",
                &share,
                "--share-user",
                SHARE_USER,
                "--share-password-file",
                pw_file.to_str().unwrap(),
                "--wait",
                "--poll-interval",
                "50ms",
            ],
            &conn,
        ),
        &[],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!("Package:     {DRIVER_ZIP}")),
        "{}",
        r.stdout
    );

    // install from a body file, then check sees the driver
    let body = d.join("install.json");
    std::fs::write(&body, serde_json::json!({"properties": {"taskType": "Service.Install.OCI", "input": {"driverPackageName": DRIVER_ZIP}}}).to_string()).unwrap();
    let r = dmsform_async(
        d,
        &with(
            &[
                "task",
                "create",
                "inst",
                "--body-file",
                body.to_str().unwrap(),
                "--wait",
                "--poll-interval",
                "50ms",
            ],
            &conn,
        ),
        &[],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = dmsform_async(
        d,
        &with(
            &[
                "task",
                "create",
                "chk",
                "--task-type",
                "Service.Check.OCI",
                "--wait",
                "--poll-interval",
                "50ms",
            ],
            &conn,
        ),
        &[],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!("Driver:      {DRIVER_ZIP}")),
        "{}",
        r.stdout
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_timeout_failure_and_delete_of_running_tasks() {
    let env = start(Timings {
        queued_ms: 50,
        run_ms: 5_000,
        cancel_ms: 200,
        ..Timings::default()
    })
    .await;
    let d = env.dir.path();
    let conn = [
        "--endpoint",
        env.base.as_str(),
        "-g",
        "rg",
        "--service",
        "svc",
        "--subscription",
        "sub-1",
    ];
    let check = ["--task-type", "Service.Check.OCI"];

    let r = dmsform_async(
        d,
        &with(&["task", "create", "a"], &with(&conn, &check)),
        &[],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("State:       Queued"), "{}", r.stdout);
    let r = dmsform_async(
        d,
        &with(
            &["task", "cancel", "a", "--wait", "--poll-interval", "50ms"],
            &conn,
        ),
        &[],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("cancel requested, Canceling"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Canceling -> Canceled"), "{}", r.stderr);

    // --timeout cancels the task and fails the command
    let r = dmsform_async(
        d,
        &with(
            &[
                "task",
                "create",
                "b",
                "--wait",
                "--timeout",
                "300ms",
                "--poll-interval",
                "50ms",
            ],
            &with(&conn, &check),
        ),
        &[],
    )
    .await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("timed out waiting; cancel requested, task is Canceling"),
        "{}",
        r.stderr
    );

    // a task that ends Failed fails --wait, with the service's errors
    env.fault(serde_json::json!({"kind": "task_fail", "task": "c", "count": 1}))
        .await;
    let r = dmsform_async(
        d,
        &with(
            &["task", "create", "c", "--wait", "--poll-interval", "50ms"],
            &with(&conn, &check),
        ),
        &[],
    )
    .await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("c: task ended in state Failed"),
        "{}",
        r.stderr
    );

    // delete of a running task needs --delete-running-tasks
    let r = dmsform_async(
        d,
        &with(&["task", "create", "e"], &with(&conn, &check)),
        &[],
    )
    .await;
    assert_eq!(r.code, 0);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let r = dmsform_async(d, &with(&["task", "delete", "e"], &conn), &[]).await;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("HTTP 409"), "{}", r.stderr);
    let r = dmsform_async(
        d,
        &with(&["task", "delete", "e", "--delete-running-tasks"], &conn),
        &[],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let dels = env.logged("DELETE", "/serviceTasks/e").await;
    assert!(
        dels[1]["query"]
            .as_str()
            .unwrap()
            .ends_with("deleteRunningTasks=true")
    );

    // flags that do not fit the task type are refused before anything is sent
    let r = dmsform_async(
        d,
        &with(
            &["task", "create", "x", "--driver-package-name", "p.zip"],
            &with(&conn, &check),
        ),
        &[],
    )
    .await;
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("--driver-package-name applies to Service.Install.OCI"),
        "{}",
        r.stderr
    );
    assert!(env.logged("PUT", "/serviceTasks/x").await.is_empty());
    env.shutdown().await;
}
