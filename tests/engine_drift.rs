//! `dmsform drift` and live driver status end to end.

mod common;

use common::engine::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::Stdio;

const STATUS: &str = r#"
data "dms_oci_driver_status" "svc1" {
  group_name     = "rg"
  service_name   = "svc1"
  server_version = "19.0"
}

check "driver_installed" {
  assert {
    condition     = try(data.dms_oci_driver_status.svc1.installed_driver.driver_name, "") == dms_oci_driver_upload.driver.output[0].driver_package_name
    error_message = "The installed driver is ${try(data.dms_oci_driver_status.svc1.installed_driver.driver_name, "none")}, not the uploaded package."
  }
}
"#;

fn status_tasks(emu: &EmulatorProc) -> Vec<String> {
    emu.list("rg", "svc1")
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .filter(|n| n.starts_with("dmsform-status-"))
        .collect()
}

#[test]
fn drift_sees_a_driver_changed_by_hand_deleted_tasks_and_config_edits() {
    let share = share_with_driver();
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        other
            .path()
            .join("instantclient-basic-windows.x64-21.3.0.0.0.zip"),
        common::driver_zip(Some((21, 3)), true),
    )
    .unwrap();
    let emu = EmulatorProc::start(&[
        "--share-root",
        &format!("fs/drivers={}", share.path().display()),
        "--share-root",
        &format!("fs/other={}", other.path().display()),
    ]);
    let wd = Workdir::new(&(provider(&emu.base) + &seed("svc1", "\\\\\\\\fs\\\\drivers") + STATUS));
    let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(status_tasks(&emu).is_empty(), "status tasks are deleted");
    assert_eq!(
        wd.state()["checks"]["driver_installed"]["status"],
        "pass",
        "checks recorded in state after apply"
    );
    let state_text = std::fs::read_to_string(wd.path().join("dmsform.state.json")).unwrap();
    assert!(
        !state_text.contains("dmsform-status-"),
        "status tasks never enter state"
    );

    let (code, out, err) = wd.run(&["drift"]);
    assert_eq!(code, 0, "no drift right after apply: {out}\n{err}");
    assert!(out.contains("No drift"), "{out}");

    // Someone uploads and installs another driver by hand.
    let tasks = emu.tasks_url("rg", "svc1");
    emu.http("PUT", &format!("{tasks}/manualUpload?api-version=2025-06-30"), Some(json!({"properties": {"taskType": "Service.Upload.OCI", "input": {"driverShare": {"path": "\\\\fs\\other"}}}})));
    assert_eq!(
        emu.wait_terminal("rg", "svc1", "manualUpload")["properties"]["state"],
        "Succeeded"
    );
    emu.http("PUT", &format!("{tasks}/manualInstall?api-version=2025-06-30"), Some(json!({"properties": {"taskType": "Service.Install.OCI", "input": {"driverPackageName": "instantclient-basic-windows.x64-21.3.0.0.0.zip"}}})));
    assert_eq!(
        emu.wait_terminal("rg", "svc1", "manualInstall")["properties"]["state"],
        "Succeeded"
    );
    let (plan_code, _, _) = wd.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(
        plan_code, 0,
        "a plain plan cannot see it: the managed tasks did not change"
    );
    let (code, out, err) = wd.run(&["drift"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("instantclient-basic-windows.x64-21.3.0.0.0.zip"),
        "names the driver: {out}"
    );
    let (code, out, _) = wd.run(&["drift", "-json"]);
    assert_eq!(code, 2);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["format_version"], "1.0");
    assert_eq!(doc["drifted"][0]["kind"], "check_failed");
    assert_eq!(doc["checks"][0]["status"], "fail");
    let (code, out, _) = wd.run(&["drift", "-format=github"]);
    assert_eq!(code, 2);
    assert!(out.starts_with("::error file=main.hcl,line="), "{out}");
    assert!(status_tasks(&emu).is_empty());

    // Put the right driver back, then delete a managed task behind dmsform's back.
    assert_eq!(
        wd.run(&[
            "apply",
            "-auto-approve",
            "-replace",
            "dms_oci_driver_install.driver"
        ])
        .0,
        0
    );
    assert_eq!(wd.run(&["drift"]).0, 0);
    let (s, _) = emu.http(
        "DELETE",
        &format!("{tasks}/checkOCIDriver?api-version=2025-06-30"),
        None,
    );
    assert_eq!(s, 200);
    let (code, out, _) = wd.run(&["drift", "-json"]);
    assert_eq!(code, 2);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert!(
        doc["drifted"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["kind"] == "vanished" && d["address"] == "dms_oci_driver_check.before"),
        "{doc}"
    );
    assert_eq!(wd.run(&["apply", "-auto-approve"]).0, 0);

    // A configuration-only edit: pending, not drift.
    let cfg = std::fs::read_to_string(wd.path().join("main.hcl")).unwrap();
    wd.write(
        "main.hcl",
        &cfg.replacen(
            "task_name      = \"checkOCIDriver\"",
            "task_name      = \"checkOCIDriver\"\n  client_data    = { team = \"dba\" }",
            1,
        ),
    );
    let (code, out, err) = wd.run(&["drift"]);
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(out.contains("Configuration changes pending"), "{out}");
    assert!(status_tasks(&emu).is_empty());
}

#[test]
fn an_unreachable_endpoint_is_an_error() {
    let wd =
        Workdir::new(&(provider("http://127.0.0.1:9") + &seed("svc1", "\\\\\\\\fs\\\\drivers")));
    // State that names a task, so drift has something to refresh.
    std::fs::write(
        wd.path().join("dmsform.state.json"),
        serde_json::to_vec(&json!({"version": 1, "lineage": "l", "serial": 1, "dmsform_version": "0.1.0", "resources": [{
            "address": "dms_oci_driver_check.before", "type": "dms_oci_driver_check",
            "id": format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.DataMigration/services/svc1/serviceTasks/checkOCIDriver"),
            "status": "ready", "attributes": {"group_name": "rg"}}]}))
        .unwrap(),
    )
    .unwrap();
    let (code, _, err) = wd.run(&["drift"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("Error"), "{err}");
}

#[test]
fn a_status_read_killed_by_sigint_leaves_no_task() {
    let emu = EmulatorProc::start(&["--run-for", "30s"]);
    let cfg = provider(&emu.base)
        + "data \"dms_oci_driver_status\" \"svc1\" {\n  group_name   = \"rg\"\n  service_name = \"svc1\"\n}\n";
    let wd = Workdir::new(&cfg);
    let mut child = wd
        .cmd(&["drift"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the status task exists, then interrupt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while status_tasks(&emu).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no status task appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let err: String = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(status.code(), Some(0), "{err}");
    assert!(
        status_tasks(&emu).is_empty(),
        "the status task was deleted on Ctrl-C"
    );

    // A leftover from a run killed outright is cleaned up by the next run.
    let tasks = emu.tasks_url("rg", "svc1");
    emu.http(
        "PUT",
        &format!("{tasks}/dmsform-status-deadbeef0000?api-version=2025-06-30"),
        Some(json!({"properties": {"taskType": "Service.Check.OCI", "input": {}}})),
    );
    let mut child = wd
        .cmd(&["drift"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while emu
        .task("rg", "svc1", "dmsform-status-deadbeef0000")
        .is_some()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the leftover was not cleaned up"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}
