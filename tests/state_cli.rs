//! `dmsform state …` and `init` on the local backend: list, show, rm and mv (with
//! -dry-run, backups and the lock), pull and push with their lineage and serial checks.

mod common;

use common::engine::Workdir;
use serde_json::Value;
use std::io::Write;
use std::process::Stdio;

const STATE: &str = include_str!("fixtures/state/v1-with-pending.json");

fn wd() -> Workdir {
    let wd = Workdir::new("");
    std::fs::remove_file(wd.path().join("main.hcl")).unwrap();
    wd.write("dmsform.state.json", STATE);
    wd
}

fn read(wd: &Workdir, name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(wd.path().join(name)).unwrap()).unwrap()
}

fn serial(v: &Value) -> u64 {
    v["serial"].as_u64().unwrap()
}

#[test]
fn list_show_and_filters() {
    let wd = wd();
    let (code, out, err) = wd.run(&["state", "list"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "dms_oci_driver_check.before[\"dms1\"]\ndms_oci_driver_upload.driver[\"dms1\"]\n"
    );
    let (_, out, _) = wd.run(&["state", "list", "dms_oci_driver_upload.driver"]);
    assert_eq!(out, "dms_oci_driver_upload.driver[\"dms1\"]\n");
    let (code, out, err) = wd.run(&["state", "show", "dms_oci_driver_check.before[\"dms1\"]"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("# dms_oci_driver_check.before[\"dms1\"]:\nresource \"dms_oci_driver_check\" \"before\" {"),
        "{out}"
    );
    let (code, _, err) = wd.run(&["state", "show", "dms_oci_driver_check.nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("No instance found"), "{err}");
    let (code, _, err) = wd.run(&["state", "list", "not-an-address"]);
    assert_eq!(code, 1);
    assert!(err.contains("invalid resource address"), "{err}");
    let empty = Workdir::new("");
    let (code, _, err) = empty.run(&["state", "list"]);
    assert_eq!(code, 1);
    assert!(err.contains("No state file was found"), "{err}");
}

#[test]
fn rm_and_mv_with_dry_run_backup_and_lock() {
    let wd = wd();
    let before = read(&wd, "dmsform.state.json");
    let (code, out, _) = wd.run(&["state", "rm", "-dry-run", "dms_oci_driver_check.before"]);
    assert_eq!(code, 0);
    assert_eq!(out, "Would remove dms_oci_driver_check.before[\"dms1\"]\n");
    assert_eq!(
        read(&wd, "dmsform.state.json"),
        before,
        "dry run changes nothing"
    );

    let (code, out, err) = wd.run(&[
        "state",
        "rm",
        "-backup=before-rm.json",
        "dms_oci_driver_check.before",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Successfully removed 1 resource instance(s)."),
        "{out}"
    );
    let after = read(&wd, "dmsform.state.json");
    assert_eq!(serial(&after), serial(&before) + 1);
    assert_eq!(after["lineage"], before["lineage"]);
    assert_eq!(after["resources"].as_array().unwrap().len(), 1);
    assert_eq!(
        read(&wd, "before-rm.json")["resources"],
        before["resources"]
    );
    assert_eq!(
        serial(&read(&wd, "dmsform.state.json.backup")),
        serial(&before)
    );

    let (code, out, err) = wd.run(&[
        "state",
        "mv",
        "dms_oci_driver_upload.driver[\"dms1\"]",
        "dms_oci_driver_upload.main",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Successfully moved 1 object(s)."), "{out}");
    let (_, out, _) = wd.run(&["state", "list"]);
    assert_eq!(out, "dms_oci_driver_upload.main\n");
    let (code, _, err) = wd.run(&["state", "rm", "dms_oci_driver_check.before"]);
    assert_eq!(code, 1);
    assert!(err.contains("No matching objects"), "{err}");

    // Another run holds the lock: rm fails at once, naming it.
    let lock = dmsform::state::backend::LocalBackend::new(wd.path().join("dmsform.state.json"))
        .lock("apply", std::time::Duration::ZERO)
        .unwrap();
    let (code, _, err) = wd.run(&[
        "state",
        "rm",
        "-lock-timeout=300ms",
        "dms_oci_driver_upload.main",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&lock.info.id) && err.contains("apply"),
        "{err}"
    );
    let (code, _, _) = wd.run(&[
        "state",
        "rm",
        "-lock=false",
        "-dry-run",
        "dms_oci_driver_upload.main",
    ]);
    assert_eq!(code, 0);
    drop(lock);
}

fn push(wd: &Workdir, args: &[&str], stdin: &[u8]) -> (i32, String) {
    let mut all = vec!["state", "push"];
    all.extend_from_slice(args);
    let mut child = wd
        .cmd(&all)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn pull_and_push_check_lineage_and_serial() {
    let wd = wd();
    let (code, pulled, _) = wd.run(&["state", "pull"]);
    assert_eq!(code, 0);
    let pulled_v: Value = serde_json::from_str(&pulled).unwrap();
    assert_eq!(
        pulled_v["lineage"],
        read(&wd, "dmsform.state.json")["lineage"]
    );

    // An older serial of the same lineage is refused unless forced.
    let mut older = pulled_v.clone();
    older["serial"] = Value::from(serial(&pulled_v) - 1);
    let (code, err) = push(&wd, &["-"], older.to_string().as_bytes());
    assert_eq!(code, 1);
    assert!(err.contains("older"), "{err}");
    // Another lineage likewise.
    let mut other = pulled_v.clone();
    other["lineage"] = Value::from("00000000-0000-0000-0000-000000000000");
    let (code, err) = push(&wd, &["-"], other.to_string().as_bytes());
    assert_eq!(code, 1);
    assert!(err.contains("lineage"), "{err}");
    let (code, err) = push(&wd, &["-force", "-"], other.to_string().as_bytes());
    assert_eq!(code, 0, "{err}");
    let now = read(&wd, "dmsform.state.json");
    assert_eq!(now["lineage"], "00000000-0000-0000-0000-000000000000");
    assert!(
        serial(&now) > serial(&pulled_v),
        "a forced push still moves forward"
    );

    // A newer serial from a file is written as it is.
    let mut newer = now.clone();
    newer["serial"] = Value::from(serial(&now) + 5);
    wd.write("newer.json", &newer.to_string());
    let (code, err) = push(&wd, &["newer.json"], b"");
    assert_eq!(code, 0, "{err}");
    assert_eq!(serial(&read(&wd, "dmsform.state.json")), serial(&now) + 5);
    let (code, err) = push(&wd, &["-"], b"{not json");
    assert_eq!(code, 1);
    assert!(err.contains("not valid JSON"), "{err}");
}
