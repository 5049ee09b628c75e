//! `dmsform apply` and `destroy` end to end: the binary against the emulator over HTTP.

mod common;

use common::engine::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn share_arg(share: &tempfile::TempDir) -> String {
    format!("fs/drivers={}", share.path().display())
}

#[test]
fn seed_workflow_applies_waits_records_outputs_and_destroys() {
    let share = share_with_driver();
    let emu = EmulatorProc::start(&["--share-root", &share_arg(&share)]);
    let wd = Workdir::new(&(provider(&emu.base) + &seed("svc1", "\\\\\\\\fs\\\\drivers")));
    let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("dms_oci_driver_install.driver: Creation complete after"),
        "{out}"
    );
    assert!(
        out.contains("Apply complete! Resources: 3 added, 0 changed, 0 destroyed."),
        "{out}"
    );
    assert!(
        out.contains("package = \"instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip\""),
        "{out}"
    );
    // Every task really finished before apply returned.
    for t in ["checkOCIDriver", "uploadOCIDriver", "installOCIDriver"] {
        assert_eq!(
            emu.task("rg", "svc1", t).unwrap()["properties"]["state"],
            "Succeeded",
            "{t}"
        );
    }
    // Dependency order: the upload was created after the check finished, the install after the upload.
    let log = emu.requests();
    let idx = |method: &str, task: &str| {
        log.iter()
            .position(|r| r["method"] == method && r["task"] == task)
            .unwrap()
    };
    assert!(idx("PUT", "uploadOCIDriver") > idx("PUT", "checkOCIDriver"));
    assert!(idx("PUT", "installOCIDriver") > idx("PUT", "uploadOCIDriver"));
    let state = wd.state();
    assert_eq!(
        state["outputs"]["package"]["value"],
        "instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip"
    );
    assert_eq!(resource_names(&state).len(), 3);
    assert!(
        state["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "ready" && r["pending"].is_null())
    );
    assert_eq!(state["serial"].as_u64().map(|s| s > 3), Some(true));
    let (o_code, o_out, _) = wd.run(&["output", "-raw", "package"]);
    assert_eq!(
        (o_code, o_out.as_str()),
        (0, "instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip")
    );

    let (code, out, _) = wd.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 0, "the next plan is empty: {out}");

    let (code, out, err) = wd.run(&["destroy", "-auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("Destroy complete! Resources: 0 added, 0 changed, 3 destroyed."),
        "{out}"
    );
    assert!(
        emu.list("rg", "svc1").is_empty(),
        "destroy removed every task"
    );
    assert!(resource_names(&wd.state()).is_empty());
}

#[test]
fn a_failing_upload_skips_its_install_and_lets_independent_work_finish() {
    let share = share_with_driver();
    let emu = EmulatorProc::start(&["--share-root", &share_arg(&share)]);
    let bad = seed("svc-bad", "\\\\\\\\fs\\\\drivers\\\\missing")
        .replace("\"before\"", "\"bad_before\"")
        .replace("\"driver\"", "\"bad\"");
    let bad = bad
        .replace(
            "dms_oci_driver_check.before",
            "dms_oci_driver_check.bad_before",
        )
        .replace("dms_oci_driver_upload.driver", "dms_oci_driver_upload.bad")
        .replace("variable \"share_password\"", "variable \"unused\"")
        .replace("output \"package\"", "output \"bad_package\"");
    let good = seed("svc-good", "\\\\\\\\fs\\\\drivers");
    let wd = Workdir::new(&(provider(&emu.base) + &good));
    wd.write("bad.hcl", &bad.replace("var.share_password", "\"pw\""));
    let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("dms_oci_driver_upload.bad: the task ended in state Failed"),
        "{err}"
    );
    assert!(
        err.contains("could not be found"),
        "the service's validation message: {err}"
    );
    assert!(
        err.contains("Check driverShare.path"),
        "the actionable message: {err}"
    );
    assert!(
        err.contains("on bad.hcl line"),
        "the resource's source line: {err}"
    );
    assert!(
        err.contains("resource \"dms_oci_driver_upload\" \"bad\""),
        "{err}"
    );
    assert!(
        err.contains("dms_oci_driver_install.bad"),
        "the skipped install is named: {err}"
    );
    assert!(
        emu.task("rg", "svc-bad", "installOCIDriver").is_none(),
        "the dependent install never ran"
    );
    for t in ["checkOCIDriver", "uploadOCIDriver", "installOCIDriver"] {
        assert_eq!(
            emu.task("rg", "svc-good", t).unwrap()["properties"]["state"],
            "Succeeded",
            "independent branch: {t}"
        );
    }
    let state = wd.state();
    let bad_upload = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "dms_oci_driver_upload.bad")
        .unwrap()
        .clone();
    assert_eq!(bad_upload["status"], "tainted");

    // The next plan shows exactly the failed work again; fixing the path converges.
    let (code, out, err) = wd.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("dms_oci_driver_upload.bad must be replaced"),
        "{out}"
    );
    assert!(
        out.contains("dms_oci_driver_install.bad will be created"),
        "{out}"
    );
    assert!(
        out.contains("Plan: 2 to add, 0 to change, 1 to destroy."),
        "{out}"
    );
    let fixed = std::fs::read_to_string(wd.path().join("bad.hcl"))
        .unwrap()
        .replace("\\\\drivers\\\\missing", "\\\\drivers");
    wd.write("bad.hcl", &fixed);
    let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(wd.run(&["plan", "-detailed-exitcode"]).0, 0);
}

fn wait_for_line(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    needle: &str,
    seen: &mut String,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for line in lines.by_ref() {
        let line = line.unwrap_or_default();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(needle) {
            return;
        }
        assert!(Instant::now() < deadline, "no {needle:?} in {seen}");
    }
    panic!("output ended before {needle:?}: {seen}");
}

/// Starts `dmsform apply -auto-approve` and reads its output until a line holds `needle`;
/// returns the process, the rest of its output and what was read so far.
fn apply_until(
    wd: &Workdir,
    env: &[(&str, &str)],
    needle: &str,
) -> (
    std::process::Child,
    std::io::Lines<BufReader<std::process::ChildStdout>>,
    String,
) {
    let mut cmd = wd.cmd(&["apply", "-auto-approve"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    wait_for_line(&mut lines, needle, &mut seen);
    (child, lines, seen)
}

/// Sends a signal (`INT`, `TERM`, `STOP`, `KILL`) to a child process.
fn signal(child: &std::process::Child, sig: &str) {
    std::process::Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap();
}

fn check_only(base: &str, task: &str, extra: &str) -> String {
    provider(base)
        + &format!(
            "resource \"dms_oci_driver_check\" \"long\" {{\n  group_name     = \"rg\"\n  service_name   = \"svc1\"\n  task_name      = \"{task}\"\n  server_version = \"19.0\"\n{extra}}}\n"
        )
}

#[test]
fn two_interrupts_cancel_the_running_task_and_record_it() {
    let emu = EmulatorProc::start(&["--run-for", "60s"]);
    let wd = Workdir::new(&check_only(&emu.base, "longCheck", ""));
    let (mut child, mut lines, mut seen) = apply_until(&wd, &[], "Running");
    signal(&child, "INT");
    wait_for_line(&mut lines, "Interrupt received", &mut seen);
    signal(&child, "INT");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}");
    let task = emu.wait_terminal("rg", "svc1", "longCheck");
    assert_eq!(task["properties"]["state"], "Canceled");
    assert!(
        emu.requests()
            .iter()
            .any(|r| r["method"] == "POST" && r["task"] == "longCheck"),
        "cancel was sent"
    );
    let state = wd.state();
    let r = &state["resources"][0];
    assert_eq!(r["address"], "dms_oci_driver_check.long");
    assert_eq!(r["status"], "tainted");
    assert!(r["pending"].is_null());
    assert!(
        ["Canceling", "Canceled"].contains(&r["attributes"]["state"].as_str().unwrap()),
        "{r}"
    );
}

#[test]
fn a_create_timeout_cancels_the_task() {
    let emu = EmulatorProc::start(&["--run-for", "60s"]);
    let wd = Workdir::new(&check_only(
        &emu.base,
        "slowCheck",
        "  timeouts {\n    create = \"1s\"\n  }\n",
    ));
    let t0 = Instant::now();
    let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(t0.elapsed() < Duration::from_secs(20));
    assert!(err.contains("timed out after 1s"), "{err}");
    assert_eq!(
        emu.wait_terminal("rg", "svc1", "slowCheck")["properties"]["state"],
        "Canceled"
    );
    assert_eq!(wd.state()["resources"][0]["status"], "tainted");
}

#[test]
fn a_second_apply_fails_fast_naming_the_lock_holder_or_waits_for_it() {
    let emu = EmulatorProc::start(&["--run-for", "3s"]);
    let wd = Workdir::new(&check_only(&emu.base, "lockedCheck", ""));
    let (mut first, _lines, _) = apply_until(&wd, &[], "Creating...");
    let t0 = Instant::now();
    let (code, _, err) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 1);
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "fails at once: {:?}",
        t0.elapsed()
    );
    assert!(err.contains("state is locked"), "{err}");
    assert!(
        err.contains("Operation: apply"),
        "names the holder's operation: {err}"
    );
    assert!(
        err.contains(&format!("Process:   {}", first.id())),
        "names the holder's process: {err}"
    );
    let (code, out, err) = wd.run(&["plan", "-lock-timeout=30s", "-detailed-exitcode"]);
    assert_eq!(
        code, 0,
        "waited for the lock, then planned on the finished state: {out}\n{err}"
    );
    assert!(first.wait().unwrap().success());
}

#[test]
fn no_secret_reaches_any_file_or_output() {
    let share = share_with_driver();
    let az = common::Azurite::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let zip = common::driver_zip(Some((19, 19)), true);
    rt.block_on(az.put_blobs(
        "drivers",
        &[(
            "instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip",
            &zip,
        )],
    ));
    let sas = az.account_sas("rl", "2099-01-01T00:00:00Z");
    let sas_uri = format!("{}/drivers?{sas}", az.blob_base);
    let sig = url::form_urlencoded::parse(sas.as_bytes())
        .find(|(k, _)| k == "sig")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let emu = EmulatorProc::start(&[
        "--share-root",
        &format!(
            "fs/drivers={},user=CONTOSO\\dms,password=Sh4re-Passw0rd-never-stored",
            share.path().display()
        ),
    ]);
    let blob = "variable \"sas\" {\n  type      = string\n  sensitive = true\n}\n\nresource \"dms_oci_driver_upload\" \"from_blob\" {\n  group_name   = \"rg\"\n  service_name = \"svc2\"\n  task_name    = \"uploadFromBlob\"\n  driver_share {\n    sas_uri = var.sas\n  }\n}\n";
    let wd = Workdir::new(&(provider(&emu.base) + &seed("svc1", "\\\\\\\\fs\\\\drivers")));
    wd.write("blob.hcl", blob);
    let sas_var = format!("sas={sas_uri}");
    let mut outputs = String::new();
    let log = wd.path().join("dmsform.log");
    for (i, args) in [
        vec!["plan", "-out", "tfplan", "-var", &sas_var],
        vec!["apply", "tfplan", "-var", &sas_var],
        vec!["plan", "-var", &sas_var],
        vec!["plan", "-json", "-var", &sas_var],
        vec![
            "apply",
            "-json",
            "-auto-approve",
            "-replace",
            "dms_oci_driver_upload.from_blob",
            "-var",
            &sas_var,
        ],
        vec!["show"],
        vec!["show", "-json"],
        vec!["state", "show", "dms_oci_driver_upload.from_blob"],
        vec!["state", "pull"],
        vec!["output", "-json"],
        vec!["drift", "-json", "-var", &sas_var],
        vec!["destroy", "-auto-approve", "-var", &sas_var],
    ]
    .into_iter()
    .enumerate()
    {
        // Every run logs at trace level, half of them to stderr and half to a file.
        let mut cmd = wd.cmd(&args);
        cmd.env("DMSFORM_LOG", "trace");
        if i % 2 == 0 {
            cmd.env("DMSFORM_LOG_PATH", &log);
        }
        let out = cmd.stdin(std::process::Stdio::null()).output().unwrap();
        let (code, out, err) = (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert_eq!(code, 0, "{args:?}: {out}\n{err}");
        outputs.push_str(&out);
        outputs.push_str(&err);
    }
    assert!(outputs.contains("Resources: 4 added"), "{outputs}");
    let logged = std::fs::read_to_string(&log).expect("the log file was written");
    assert!(
        logged.contains("sending request") && outputs.contains("sending request"),
        "trace logs were written to the file and to stderr"
    );
    for secret in [
        "Sh4re-Passw0rd-never-stored",
        sig.as_str(),
        sas_uri.as_str(),
    ] {
        assert!(!outputs.contains(secret), "terminal output holds a secret");
        // Every file the runs wrote (the configuration files are the test's own input).
        for f in common::walk_files(wd.path())
            .into_iter()
            .filter(|f| f.extension().is_none_or(|e| e != "hcl"))
        {
            let bytes = std::fs::read(&f).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "{} holds a secret",
                f.display()
            );
        }
    }
    let state: Value = wd.state();
    assert!(state["resources"].as_array().unwrap().is_empty());
}

#[test]
fn one_interrupt_or_sigterm_waits_for_running_tasks_and_starts_nothing_new() {
    for sig in ["INT", "TERM"] {
        let share = share_with_driver();
        let emu = EmulatorProc::start(&["--share-root", &share_arg(&share), "--run-for", "1500ms"]);
        let wd = Workdir::new(&(provider(&emu.base) + &seed("svc1", "\\\\\\\\fs\\\\drivers")));
        let (mut child, lines, mut seen) = apply_until(
            &wd,
            &[("DMSFORM_PROGRESS_INTERVAL", "300ms")],
            "dms_oci_driver_check.before: Creating...",
        );
        signal(&child, sig);
        for line in lines {
            seen.push_str(&line.unwrap_or_default());
            seen.push('\n');
        }
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "SIG{sig}: {seen}");
        // The running check was waited for (with Terraform's progress lines), nothing
        // after it started.
        assert!(seen.contains("Interrupt received"), "SIG{sig}: {seen}");
        assert!(
            seen.contains("dms_oci_driver_check.before: Still creating... ["),
            "SIG{sig}: {seen}"
        );
        assert!(
            seen.contains("dms_oci_driver_check.before: Creation complete after"),
            "SIG{sig}: {seen}"
        );
        assert!(
            !seen.contains("dms_oci_driver_upload.driver: Creating..."),
            "SIG{sig}: {seen}"
        );
        assert!(
            !emu.requests()
                .iter()
                .any(|r| r["method"] == "PUT" && r["task"] == "uploadOCIDriver"),
            "SIG{sig}: the upload was never sent"
        );
        let state = wd.state();
        let names = resource_names(&state);
        assert_eq!(names, vec!["dms_oci_driver_check.before"], "SIG{sig}");
        assert_eq!(state["resources"][0]["status"], "ready");
        assert_eq!(state["resources"][0]["attributes"]["state"], "Succeeded");
        // The next apply carries on from there.
        let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
        assert_eq!(code, 0, "{out}\n{err}");
        assert!(out.contains("2 added"), "{out}");
    }
}

#[test]
fn refresh_and_the_approval_prompt() {
    let share = share_with_driver();
    let emu = EmulatorProc::start(&["--share-root", &share_arg(&share)]);
    let wd = Workdir::new(&(provider(&emu.base) + &seed("svc1", "\\\\\\\\fs\\\\drivers")));
    let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    // refresh records that the check vanished, and changes nothing remote.
    let (s, _) = emu.http(
        "DELETE",
        &format!(
            "{}/checkOCIDriver?api-version=2025-06-30",
            emu.tasks_url("rg", "svc1")
        ),
        None,
    );
    assert_eq!(s, 200);
    let writes = |emu: &EmulatorProc| {
        emu.requests()
            .iter()
            .filter(|r| r["method"] != "GET")
            .count()
    };
    let before = writes(&emu);
    let (code, out, err) = wd.run(&["refresh"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(writes(&emu), before, "refresh changes nothing remote");
    assert!(
        !resource_names(&wd.state()).contains(&"dms_oci_driver_check.before".to_string()),
        "the vanished task is forgotten"
    );
    // Without -auto-approve, apply asks; anything but "yes" cancels it.
    let answer = |text: &str| {
        let mut child = wd
            .cmd(&["apply"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = answer("no\n");
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(
        out.contains("Do you want to perform these actions?"),
        "{out}"
    );
    assert!(out.contains("Only 'yes' will be accepted"), "{out}");
    assert!(err.contains("Apply cancelled."), "{err}");
    assert_eq!(writes(&emu), before, "a cancelled apply sends nothing");
    let (code, out, err) = answer("yes\n");
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("Apply complete! Resources: 1 added"), "{out}");
}

#[test]
fn force_unlock_removes_a_stuck_local_lock() {
    let emu = EmulatorProc::start(&["--run-for", "1500ms"]);
    let wd = Workdir::new(&check_only(&emu.base, "hangingCheck", ""));
    let (holder, _lines, _) = apply_until(&wd, &[], "Creating...");
    // Killed however the test ends, so a failed assertion leaves no stopped process.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let holder = KillOnDrop(holder);
    // A holder that hangs: stopped, it keeps its lock and never finishes.
    signal(&holder.0, "STOP");
    let (code, _, err) = wd.run(&["plan"]);
    assert_eq!(code, 1);
    let id = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("ID:"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| panic!("the lock error names its ID: {err}"));
    let (code, _, err) = wd.run(&["force-unlock", "-force", "not-the-id"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&id),
        "a wrong ID is refused, naming the right one: {err}"
    );
    let (code, out, err) = wd.run(&["force-unlock", "-force", &id]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("successfully unlocked"), "{out}");
    // The hung holder no longer blocks others: this plan takes the lock, resolves the
    // holder's recorded intent by reading the task, and finds nothing left to do.
    let (code, out, err) = wd.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 0, "{out}\n{err}");
    drop(holder);
}

#[test]
fn checks_warn_after_plan_and_apply_and_are_recorded_even_with_nothing_to_change() {
    let emu = EmulatorProc::start(&[]);
    let check = "\ncheck \"still_queued\" {\n  assert {\n    condition     = dms_oci_driver_check.long.state == \"Queued\"\n    error_message = \"The check task is ${dms_oci_driver_check.long.state}.\"\n  }\n}\n";
    let wd = Workdir::new(&(check_only(&emu.base, "checkedCheck", "") + check));
    let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        err.contains("Warning: Check block assertion failed"),
        "{err}"
    );
    assert!(err.contains("in check \"still_queued\""), "{err}");
    assert!(err.contains("The check task is Succeeded."), "{err}");
    assert_eq!(wd.state()["checks"]["still_queued"]["status"], "fail");
    // A plan shows it again; an apply with nothing to change still evaluates and records it.
    let (code, _, err) = wd.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 0);
    assert!(
        err.contains("Warning: Check block assertion failed"),
        "{err}"
    );
    // plan -json carries them as Terraform's check results.
    let (code, out, err) = wd.run(&["plan", "-json"]);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).expect("JSON plan");
    let check = &doc["checks"][0];
    assert_eq!(check["address"]["kind"], "check");
    assert_eq!(check["address"]["to_display"], "check.still_queued");
    assert_eq!(check["status"], "fail");
    assert_eq!(
        check["instances"][0]["problems"][0]["message"],
        "The check task is Succeeded."
    );
    let mut state = wd.state();
    state["checks"] = serde_json::json!({});
    std::fs::write(
        wd.path().join("dmsform.state.json"),
        serde_json::to_vec(&state).unwrap(),
    )
    .unwrap();
    let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("Resources: 0 added"), "{out}");
    assert!(
        err.contains("Warning: Check block assertion failed"),
        "{err}"
    );
    assert_eq!(wd.state()["checks"]["still_queued"]["status"], "fail");
}
