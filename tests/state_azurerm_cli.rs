//! The CLI with the state in Azurite (started per test, stopped by PID): the seed
//! workflow's apply, plan and destroy; two working directories sharing one blob state
//! and its lock; an apply killed with SIGKILL; `init -migrate-state` local → blob → local;
//! `state pull` / `push` on the blob backend.

mod common;

use common::engine::{EmulatorProc, Workdir, provider, resource_names, seed, share_with_driver};
use common::{AZURITE_KEY, Azurite};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CONTAINER: &str = "dmsform-state";
const KEY: &str = "prod/seed.dmsform.json";

fn azurite() -> Azurite {
    let az = Azurite::start();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(az.create_container(CONTAINER));
    az
}

/// Runs dmsform in `wd` with the Azurite key in the environment.
fn run(wd: &Workdir, args: &[&str]) -> (i32, String, String) {
    let out = cmd(wd, args).stdin(Stdio::null()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn cmd(wd: &Workdir, args: &[&str]) -> Command {
    let mut c = wd.cmd(args);
    c.env("ARM_ACCESS_KEY", AZURITE_KEY)
        .env_remove("ARM_SAS_TOKEN");
    c
}

fn blob_state(az: &Azurite) -> Option<Value> {
    let sas = az.account_sas("rwdlac", "2099-01-01T00:00:00Z");
    let r = reqwest::blocking_get(&format!("{}/{CONTAINER}/{KEY}?{sas}", az.blob_base));
    r.map(|b| serde_json::from_slice(&b).unwrap())
}

mod reqwest {
    /// A blocking GET through a throwaway runtime; `None` on 404.
    pub fn blocking_get(url: &str) -> Option<Vec<u8>> {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let r = ::reqwest::Client::new()
                .get(url)
                .header("x-ms-version", "2021-08-06")
                .send()
                .await
                .unwrap();
            if r.status() == 404 {
                return None;
            }
            assert!(r.status().is_success(), "{}", r.status());
            Some(r.bytes().await.unwrap().to_vec())
        })
    }
}

fn share_arg(share: &tempfile::TempDir) -> String {
    format!("fs/drivers={}", share.path().display())
}

/// Reads `child`'s stdout until a line containing `needle`.
fn wait_for(lines: &mut impl Iterator<Item = std::io::Result<String>>, needle: &str) {
    for line in lines.by_ref() {
        if line.unwrap().contains(needle) {
            return;
        }
    }
    panic!("no line with {needle:?}");
}

#[test]
fn seed_workflow_applies_plans_and_destroys_with_state_in_azurite() {
    let az = azurite();
    let share = share_with_driver();
    let emu = EmulatorProc::start(&["--share-root", &share_arg(&share)]);
    let config = az.backend_hcl(CONTAINER, KEY, 15)
        + &provider(&emu.base)
        + &seed("svc1", "\\\\\\\\fs\\\\drivers");
    let wd = Workdir::new(&config);
    let (code, out, err) = run(&wd, &["init"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("Successfully configured the backend \"azurerm\""),
        "{out}"
    );
    let (code, out, err) = run(&wd, &["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("Apply complete! Resources: 3 added, 0 changed, 0 destroyed."),
        "{out}"
    );
    assert!(
        !wd.path().join("dmsform.state.json").exists(),
        "no local state"
    );
    let state = blob_state(&az).expect("state blob");
    assert_eq!(resource_names(&state).len(), 3);
    assert_eq!(
        state["outputs"]["package"]["value"],
        "instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip"
    );
    let text = state.to_string();
    assert!(
        !text.contains("Sh4re-Passw0rd") && !text.contains("Eby8"),
        "no secret in state"
    );
    let (code, out, err) = run(&wd, &["plan", "-detailed-exitcode"]);
    assert_eq!(code, 0, "the next plan is empty: {out}\n{err}");
    let (code, out, err) = run(&wd, &["state", "list"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    let (code, out, err) = run(&wd, &["destroy", "-auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("3 destroyed"), "{out}");
    assert!(resource_names(&blob_state(&az).unwrap()).is_empty());
    assert!(emu.list("rg", "svc1").is_empty());
    // The lease was released and its info cleared: nothing is left locked.
    let (code, _, err) = run(
        &wd,
        &[
            "state",
            "rm",
            "-lock-timeout=0s",
            "dms_oci_driver_check.before",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("No matching objects"), "{err}");
}

#[test]
fn two_working_dirs_share_one_blob_state_and_its_lock() {
    let az = azurite();
    let share = share_with_driver();
    let emu = EmulatorProc::start(&["--share-root", &share_arg(&share), "--run-for", "3s"]);
    let config = az.backend_hcl(CONTAINER, KEY, 15)
        + &provider(&emu.base)
        + &seed("svc1", "\\\\\\\\fs\\\\drivers");
    let first = Workdir::new(&config);
    let second = Workdir::new(&config);
    let mut apply = cmd(&first, &["apply", "-auto-approve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(apply.stdout.take().unwrap()).lines();
    wait_for(&mut lines, "Creating...");

    let t0 = Instant::now();
    let (code, _, err) = run(
        &second,
        &[
            "state",
            "rm",
            "-lock-timeout=1s",
            "dms_oci_driver_check.before",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "waited for the lock timeout"
    );
    assert!(err.contains("state is locked"), "{err}");
    assert!(err.contains("Operation: apply"), "names the holder: {err}");
    assert!(err.contains(&format!("Process:   {}", apply.id())), "{err}");

    // A patient run waits for the apply to finish, then sees all it did.
    let (code, out, err) = run(
        &second,
        &["plan", "-lock-timeout=60s", "-detailed-exitcode"],
    );
    assert_eq!(
        code, 0,
        "waited, then planned on the finished state: {out}\n{err}"
    );
    for line in lines.by_ref() {
        let _ = line;
    }
    assert!(apply.wait().unwrap().success());
    assert_eq!(resource_names(&blob_state(&az).unwrap()).len(), 3);
    let (code, out, _) = run(&second, &["state", "list"]);
    assert_eq!((code, out.lines().count()), (0, 3));
}

#[test]
fn an_apply_killed_with_sigkill_frees_the_lock_within_one_lease() {
    let az = azurite();
    let share = share_with_driver();
    let emu = EmulatorProc::start(&["--share-root", &share_arg(&share), "--run-for", "4s"]);
    let config = az.backend_hcl(CONTAINER, KEY, 15)
        + &provider(&emu.base)
        + &seed("svc1", "\\\\\\\\fs\\\\drivers");
    let wd = Workdir::new(&config);
    let mut apply = cmd(&wd, &["apply", "-auto-approve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(apply.stdout.take().unwrap()).lines();
    wait_for(&mut lines, "Creating...");
    let killed = Command::new("kill")
        .args(["-KILL", &apply.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = apply.wait();
    // The dead holder's lease outlives it for a while...
    let (code, _, err) = run(&wd, &["plan", "-lock-timeout=0s"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("state is locked") && err.contains("Operation: apply"),
        "{err}"
    );
    // ...but without force-unlock the next run gets the lock within one lease period.
    let t0 = Instant::now();
    let (code, out, err) = run(&wd, &["plan", "-lock-timeout=30s"]);
    let waited = t0.elapsed();
    assert!(code == 0 || code == 2, "{out}\n{err}");
    assert!(!err.contains("state is locked"), "{err}");
    assert!(waited < Duration::from_secs(15 + 5), "took {waited:?}");
}

fn summary(v: &Value) -> (Value, Value, Vec<String>) {
    (v["lineage"].clone(), v["serial"].clone(), resource_names(v))
}

#[test]
fn init_migrates_local_to_blob_and_back_and_pull_push_work_on_the_blob() {
    let az = azurite();
    let wd = Workdir::new("");
    wd.write(
        "dmsform.state.json",
        include_str!("fixtures/state/v1-with-pending.json"),
    );
    let local: Value = wd.state();
    let (code, out, err) = run(&wd, &["init"]);
    assert_eq!(code, 0, "{out}\n{err}");

    // The configuration now names the blob: init refuses to switch silently.
    wd.write("main.hcl", &az.backend_hcl(CONTAINER, KEY, 15));
    let bad = cmd(&wd, &["init"])
        .env("ARM_ACCESS_KEY", "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        err.contains("HTTP 403") && err.contains(CONTAINER) && err.contains(KEY),
        "{err}"
    );
    assert!(!err.contains("d3Jvbmcta2V5"), "{err}");
    let (code, _, err) = run(&wd, &["init"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Backend configuration changed") && err.contains("-migrate-state"),
        "{err}"
    );
    let (code, out, err) = run(&wd, &["init", "-migrate-state"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("Copied the state"), "{out}");
    let blob = blob_state(&az).expect("state blob");
    assert_eq!(summary(&blob), summary(&local));
    let record = std::fs::read_to_string(wd.path().join(".dmsform/backend.json")).unwrap();
    assert!(
        record.contains("azurerm") && !record.contains("Eby8"),
        "{record}"
    );
    let (code, out, err) = run(&wd, &["init"]);
    assert_eq!(code, 0, "initialising again changes nothing: {out}\n{err}");
    wd.write("main.hcl", &az.backend_hcl(CONTAINER, KEY, 20));
    let (code, out, err) = run(&wd, &["init"]);
    assert_eq!(code, 0, "same blob, another lease duration: {out}\n{err}");
    assert!(!out.contains("Copied"), "{out}");

    // pull and push on the blob backend.
    let (code, pulled, err) = run(&wd, &["state", "pull"]);
    assert_eq!(code, 0, "{err}");
    let pulled: Value = serde_json::from_str(&pulled).unwrap();
    assert_eq!(summary(&pulled), summary(&blob));
    let mut edited = pulled.clone();
    edited["serial"] = Value::from(pulled["serial"].as_u64().unwrap() + 1);
    edited["resources"].as_array_mut().unwrap().pop();
    wd.write("edited.json", &edited.to_string());
    let (code, out, err) = run(&wd, &["state", "push", "edited.json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let blob = blob_state(&az).unwrap();
    assert_eq!(summary(&blob), summary(&edited));
    let sas = az.account_sas("rwdlac", "2099-01-01T00:00:00Z");
    let backup = reqwest::blocking_get(&format!("{}/{CONTAINER}/{KEY}.backup?{sas}", az.blob_base))
        .expect("backup blob");
    let backup: Value = serde_json::from_slice(&backup).unwrap();
    assert_eq!(summary(&backup), summary(&pulled));
    let (code, _, err) = run(&wd, &["state", "push", "edited.json"]);
    assert_eq!(code, 0, "an equal serial still moves forward: {err}");
    let (code, _, err) = run(&wd, &["state", "rm", "dms_oci_driver_check.before"]);
    assert_eq!(code, 0, "{err}");
    let blob = blob_state(&az).unwrap();

    // Back to local: the old local file is an older version of the same lineage.
    std::fs::write(wd.path().join("main.hcl"), "").unwrap();
    let (code, out, err) = run(&wd, &["init", "-migrate-state"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(summary(&wd.state()), summary(&blob));
    assert_eq!(wd.state()["lineage"], local["lineage"]);
    let (code, out, _) = run(&wd, &["state", "list"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), resource_names(&blob).len());
}
