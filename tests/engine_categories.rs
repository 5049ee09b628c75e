//! The five failure categories end to end: the emulator produces each, dmsform names it,
//! quotes the service, gives a hint, lets independent work finish, and keeps state
//! consistent (the next plan shows exactly the failed work again).

mod common;

use common::engine::*;

fn check(name: &str, service: &str, task: &str) -> String {
    format!(
        "resource \"dms_oci_driver_check\" \"{name}\" {{\n  group_name     = \"rg\"\n  service_name   = \"{service}\"\n  task_name      = \"{task}\"\n  server_version = \"19.0\"\n}}\n"
    )
}

fn upload(name: &str, service: &str, path: &str, extra: &str) -> String {
    format!(
        "resource \"dms_oci_driver_upload\" \"{name}\" {{\n  group_name   = \"rg\"\n  service_name = \"{service}\"\n  task_name    = \"{name}\"\n  driver_share {{\n    path = \"{path}\"\n{extra}  }}\n}}\n"
    )
}

fn install(name: &str, service: &str, from: &str, extra: &str) -> String {
    format!(
        "resource \"dms_oci_driver_install\" \"{name}\" {{\n  group_name          = \"rg\"\n  service_name        = \"{service}\"\n  task_name           = \"{name}\"\n  driver_package_name = dms_oci_driver_upload.{from}.output[0].driver_package_name\n{extra}}}\n"
    )
}

/// Runs apply expecting failure; checks category, hint, the service's words, the
/// independent branch, and that the next plan shows the failed work again.
fn expect_category(
    wd: &Workdir,
    emu: &EmulatorProc,
    category: &str,
    hint: &str,
    service_words: &str,
) -> String {
    let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains(&format!("Error: {category}: ")),
        "category in the summary: {err}"
    );
    assert!(err.contains(hint), "hint {hint:?}: {err}");
    assert!(
        err.contains(service_words),
        "the service's own words {service_words:?}: {err}"
    );
    assert_eq!(
        emu.task("rg", "other", "independent").unwrap()["properties"]["state"],
        "Succeeded",
        "independent branch finished"
    );
    let (code, plan, _) = wd.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 2, "the failed work is planned again: {plan}");
    assert!(
        !plan.contains("dms_oci_driver_check.independent"),
        "only the failed work: {plan}"
    );
    err
}

/// The instances the next plan proposes to change, with their actions.
fn planned(wd: &Workdir) -> Vec<(String, String)> {
    let (code, out, err) = wd.run(&["plan", "-json"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON plan");
    doc["resource_changes"]
        .as_array()
        .expect("resource_changes")
        .iter()
        .filter(|c| c["change"]["actions"] != serde_json::json!(["no-op"]))
        .map(|c| {
            let actions: Vec<&str> = c["change"]["actions"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
                .unwrap_or_default();
            (
                c["address"].as_str().unwrap_or_default().to_string(),
                actions.join(","),
            )
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn driver_conflict_two_installs_at_once() {
    let share = share_with_driver();
    let emu = EmulatorProc::start(&[
        "--share-root",
        &format!("fs/d={}", share.path().display()),
        "--run-for",
        "600ms",
    ]);
    let cfg = provider(&emu.base)
        + &check("independent", "other", "independent")
        + &upload("up", "svc", "\\\\\\\\fs\\\\d", "")
        + &install("first", "svc", "up", "")
        + &install("second", "svc", "up", "");
    let wd = Workdir::new(&cfg);
    let err = expect_category(
        &wd,
        &emu,
        "Driver conflict",
        "depends_on",
        "Another driver installation is in progress on this service.",
    );
    assert!(
        err.contains("Wait for the other installation to finish"),
        "actionable message: {err}"
    );
    // Exactly the install that lost the race runs again (replaced: it ended Failed).
    let again = planned(&wd);
    assert!(
        again == pairs(&[("dms_oci_driver_install.first", "delete,create")])
            || again == pairs(&[("dms_oci_driver_install.second", "delete,create")]),
        "{again:?}"
    );
}

#[test]
fn storage_access_bad_share_credentials() {
    let share = share_with_driver();
    let emu = EmulatorProc::start(&[
        "--share-root",
        &format!(
            "fs/d={},user=CONTOSO\\dms,password=right",
            share.path().display()
        ),
    ]);
    let cfg = provider(&emu.base)
        + &check("independent", "other", "independent")
        + &upload(
            "up",
            "svc",
            "\\\\\\\\fs\\\\d",
            "    user_name = \"CONTOSO\\\\dms\"\n    password  = \"wrong-password\"\n",
        )
        + &install("inst", "svc", "up", "");
    let wd = Workdir::new(&cfg);
    let err = expect_category(
        &wd,
        &emu,
        "Storage access",
        "check driver_share",
        "was denied for user 'CONTOSO\\dms'",
    );
    assert!(!err.contains("wrong-password"));
    assert!(
        emu.task("rg", "svc", "inst").is_none(),
        "the install was skipped"
    );
    assert_eq!(
        planned(&wd),
        pairs(&[
            ("dms_oci_driver_install.inst", "create"),
            ("dms_oci_driver_upload.up", "delete,create"),
        ])
    );

    // -json carries the category as a field.
    let (code, out, _) = wd.run(&["apply", "-auto-approve", "-json"]);
    assert_eq!(code, 1);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(lines[0]["type"], "version");
    let diag = lines
        .iter()
        .find(|l| l["type"] == "diagnostic")
        .expect("a diagnostic line");
    assert_eq!(diag["diagnostic"]["category"], "storage_access");
    assert_eq!(diag["diagnostic"]["address"], "dms_oci_driver_upload.up");
    assert!(
        diag["diagnostic"]["range"]["start"]["line"]
            .as_u64()
            .is_some()
    );
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "change_summary" && l["changes"]["operation"] == "apply")
    );
    assert!(!out.contains("wrong-password"));
}

#[test]
fn installation_failure_mid_run() {
    let share = share_with_driver();
    let emu = EmulatorProc::start(&[
        "--share-root",
        &format!("fs/d={}", share.path().display()),
        "--fault",
        "kind=task_fail,task=inst,count=1",
    ]);
    let cfg = provider(&emu.base)
        + &check("independent", "other", "independent")
        + &upload("up", "svc", "\\\\\\\\fs\\\\d", "")
        + &install("inst", "svc", "up", "");
    let wd = Workdir::new(&cfg);
    expect_category(
        &wd,
        &emu,
        "Installation failure",
        "upload the driver package again",
        "TaskFailed: The task failed while running",
    );
    assert_eq!(
        planned(&wd),
        pairs(&[("dms_oci_driver_install.inst", "delete,create")])
    );
    // The retry converges once the fault is spent.
    let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
}

#[test]
fn permission_issue_403() {
    let emu = EmulatorProc::start(&["--fault", "kind=status,status=403,op=put,task=denied"]);
    let cfg = provider(&emu.base)
        + &check("independent", "other", "independent")
        + &check("denied", "svc", "denied");
    let wd = Workdir::new(&cfg);
    let err = expect_category(
        &wd,
        &emu,
        "Permission issue",
        "grant it a role",
        "does not have authorization to perform action 'Microsoft.DataMigration/services/serviceTasks/write'",
    );
    assert!(err.contains("AuthorizationFailed"), "{err}");
    let state = wd.state();
    assert_eq!(
        resource_names(&state),
        ["dms_oci_driver_check.independent"],
        "nothing recorded for the refused task"
    );
    assert_eq!(
        planned(&wd),
        pairs(&[("dms_oci_driver_check.denied", "create")])
    );
}

#[test]
fn permission_issue_401_expired_token() {
    let emu = EmulatorProc::start(&["--fault", "kind=status,status=401,op=put,task=denied"]);
    let cfg = provider(&emu.base)
        + &check("independent", "other", "independent")
        + &check("denied", "svc", "denied");
    let wd = Workdir::new(&cfg);
    let err = expect_category(
        &wd,
        &emu,
        "Permission issue",
        "sign in again",
        "(ExpiredAuthenticationToken) The access token expiry UTC time is earlier than current UTC time. Acquire a new token.",
    );
    assert!(err.contains("HTTP 401"), "{err}");
    assert_eq!(
        planned(&wd),
        pairs(&[("dms_oci_driver_check.denied", "create")])
    );
}

#[test]
fn resource_constraint_throttling_beyond_retries() {
    let emu = EmulatorProc::start(&[
        "--fault",
        "kind=status,status=429,retry_after=0,op=put,task=throttled",
    ]);
    let cfg = provider(&emu.base)
        + &check("independent", "other", "independent")
        + &check("throttled", "svc", "throttled");
    let wd = Workdir::new(&cfg);
    expect_category(
        &wd,
        &emu,
        "Resource constraint",
        "lower -parallelism",
        "(SubscriptionRequestsThrottled) Number of requests for subscription exceeded the limit. Please try again after 0 seconds.",
    );
    assert_eq!(
        planned(&wd),
        pairs(&[("dms_oci_driver_check.throttled", "create")])
    );
    let puts = emu
        .requests()
        .iter()
        .filter(|r| r["method"] == "PUT" && r["task"] == "throttled")
        .count();
    assert!(
        puts > 1,
        "throttling was retried before giving up ({puts} attempts)"
    );
}

#[test]
fn queueing_and_brief_throttling_are_waited_out() {
    let share = share_with_driver();
    let emu = EmulatorProc::start(&[
        "--share-root",
        &format!("fs/d={}", share.path().display()),
        "--max-running",
        "1",
        "--fault",
        "kind=status,status=429,retry_after=1,op=put,count=2",
    ]);
    let mut cfg = provider(&emu.base);
    for s in ["svc1", "svc2", "svc3"] {
        cfg += &check(&format!("c_{s}"), s, "checkOCIDriver")
            .replace("\"checkOCIDriver\"", &format!("\"checkA_{s}\""));
        cfg += &check(&format!("d_{s}"), s, "checkB");
        cfg += &upload(&format!("u_{s}"), s, "\\\\\\\\fs\\\\d", "");
        cfg += &install(&format!("i_{s}"), s, &format!("u_{s}"), "");
    }
    let wd = Workdir::new(&cfg);
    let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 0, "no failure reported: {out}\n{err}");
    assert!(out.contains("Resources: 12 added"), "{out}");
    assert!(!err.contains("Error"), "{err}");
    for s in ["svc1", "svc2", "svc3"] {
        assert!(
            out.contains(&format!("dms_oci_driver_install.i_{s}: Queued")),
            "every task waited in Queued: {out}"
        );
    }
    // The emulator's own records (its data directory) show the cap at work: on each
    // service the running spans of the four tasks never overlap, and the three that were
    // started together (two checks and the upload) were held in Queued past their
    // queued-for time until the slot freed. Without --max-running they would overlap.
    let run_for_ms = 250;
    let mut spans: std::collections::BTreeMap<String, Vec<(u64, u64, u64)>> = Default::default();
    for entry in std::fs::read_dir(emu.data.path().join("emu/tasks")).expect("task records") {
        let rec: serde_json::Value =
            serde_json::from_slice(&std::fs::read(entry.expect("entry").path()).expect("read"))
                .expect("task record is JSON");
        let end = rec["run_until_ms"].as_u64().expect("every task ran");
        let queued_until = rec["queued_until_ms"].as_u64().expect("queued until");
        spans
            .entry(rec["service"].as_str().expect("service").to_lowercase())
            .or_default()
            .push((end - run_for_ms, end, queued_until));
    }
    assert_eq!(spans.len(), 3, "{spans:?}");
    for (service, mut s) in spans {
        assert_eq!(s.len(), 4, "{service}: {s:?}");
        s.sort();
        for w in s.windows(2) {
            assert!(w[1].0 >= w[0].1, "{service}: two tasks ran at once: {s:?}");
        }
        let held = s.iter().filter(|(start, _, q)| start > q).count();
        assert!(
            held >= 2,
            "{service}: tasks were held in Queued for a slot: {s:?}"
        );
    }
}
