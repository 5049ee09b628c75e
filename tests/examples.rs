//! Every example runs: copied to a fresh directory, applied, planned again (no changes),
//! destroyed.

mod common;

use common::engine::bin;
use std::path::Path;
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let name = e.file_name();
        if name == ".dmsform" || name.to_string_lossy().starts_with("dmsform.state") {
            continue;
        }
        if p.is_dir() {
            copy_dir(&p, &to.join(name));
        } else {
            std::fs::copy(&p, to.join(name)).unwrap();
        }
    }
}

/// Standard output and standard error, one after the other.
fn text_of(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(bin())
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), text_of(&out))
}

#[test]
fn oci_driver_example_applies_converges_and_destroys() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/oci-driver"),
        tmp.path(),
    );
    let (code, out) = run(tmp.path(), &["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Apply complete! Resources: 3 added"), "{out}");
    assert!(
        out.contains(
            "driver_package = \"instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip\""
        ),
        "{out}"
    );
    let (code, out) = run(tmp.path(), &["plan", "-detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(tmp.path(), &["destroy", "-auto-approve"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("3 destroyed"), "{out}");
}

#[test]
fn ci_drift_example_runs_against_the_emulator() {
    // The example sits where it sits in the repository, so annotation paths can be checked
    // against GITHUB_WORKSPACE as the job sets it.
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path().join("examples/ci-drift");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci-drift"),
        &dir,
    );
    let share = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "examples/oci-driver/drivers/instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip",
        ),
        share
            .path()
            .join("instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip"),
    )
    .unwrap();
    let emu = common::engine::EmulatorProc::start(&[
        "--share-root",
        &format!("fileserver/drivers={}", share.path().display()),
    ]);
    let az = common::Azurite::start();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(az.create_container("dmsform-state"));
    // Point the provider at the emulator instead of Azure, and the backend at Azurite with
    // its account key (Entra ID tokens need https), as the workflow points both at Azure.
    let cfg = std::fs::read_to_string(dir.join("main.hcl")).unwrap();
    let cfg = cfg
        .replace(
            "  subscription_id = var.subscription_id\n  auth            = \"workload_identity\"",
            &format!("  subscription_id = var.subscription_id\n  endpoint        = \"{}\"\n  poll_interval   = \"100ms\"", emu.base),
        )
        .replace("\"contosodmsstate\"", "\"devstoreaccount1\"")
        .replace(
            "    use_azuread_auth     = true",
            &format!("    endpoint             = \"{}\"", az.blob_base),
        );
    assert!(
        cfg.contains(&az.blob_base) && cfg.contains(&emu.base),
        "{cfg}"
    );
    std::fs::write(dir.join("main.hcl"), cfg).unwrap();
    let wf = std::fs::read_to_string(dir.join(".github/workflows/drift.yml")).unwrap();
    for step in [
        "dmsform init -input=false",
        "dmsform drift -format=github",
        "dmsform drift -json",
    ] {
        assert!(wf.contains(step), "the workflow runs {step}");
    }
    assert!(!wf.contains("secrets."), "the workflow stores no secret");
    let dmsform = |args: &[&str]| {
        let out = Command::new(bin())
            .current_dir(&dir)
            .args(args)
            .env("NO_COLOR", "1")
            .env("ARM_ACCESS_KEY", common::AZURITE_KEY)
            .env("GITHUB_WORKSPACE", repo.path())
            .env(
                "DMSFORM_VAR_subscription_id",
                "00000000-0000-0000-0000-000000000000",
            )
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = dmsform(&["init", "-input=false"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = dmsform(&["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        !dir.join("dmsform.state.json").exists(),
        "the state is in the blob"
    );
    let (code, out, err) = dmsform(&["drift", "-format=github"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("::notice title=No drift::"), "{out}");

    // A task deleted behind dmsform's back: exit 2, annotated at its line of the file
    // as GitHub resolves it, from the repository root.
    let (s, _) = emu.http(
        "DELETE",
        &format!(
            "{}/installOCIDriver?api-version=2025-06-30",
            emu.tasks_url("migration-rg", "dms-prod")
        ),
        None,
    );
    assert_eq!(s, 200);
    let (code, out, err) = dmsform(&["drift", "-format=github"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("::error file=examples/ci-drift/main.hcl,line="),
        "{out}"
    );
    let (code, out, _) = dmsform(&["drift", "-json"]);
    assert_eq!(code, 2);
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON report");
    assert!(
        report["drifted"].as_array().is_some_and(|d| !d.is_empty()),
        "{report}"
    );
}

#[test]
fn fleet_example_applies_every_service() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fleet"),
        tmp.path(),
    );
    let (code, out) = run(tmp.path(), &["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Apply complete! Resources: 9 added"), "{out}");
    for s in ["dms-weu-1", "dms-weu-2", "dms-neu-1"] {
        assert!(
            out.contains(&format!(
                "dms_oci_driver_install.driver[\"{s}\"]: Creation complete"
            )),
            "{out}"
        );
    }
    let (code, out) = run(tmp.path(), &["plan", "-detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn blob_share_example_uploads_from_azurite() {
    let az = common::Azurite::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let zip = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "examples/oci-driver/drivers/instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip",
    ))
    .unwrap();
    rt.block_on(az.put_blobs(
        "drivers",
        &[(
            "instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip",
            &zip,
        )],
    ));
    let sas_uri = format!(
        "{}/drivers?{}",
        az.blob_base,
        az.account_sas("rl", "2099-01-01T00:00:00Z")
    );
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/blob-share"),
        tmp.path(),
    );
    let out = Command::new(bin())
        .current_dir(tmp.path())
        .args(["apply", "-auto-approve"])
        .env("NO_COLOR", "1")
        .env("DMSFORM_VAR_driver_sas_uri", &sas_uri)
        .output()
        .unwrap();
    let text = text_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(
            "driver_package = \"instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip\""
        ),
        "{text}"
    );
    assert!(!text.contains(&sas_uri), "the SAS URI is never printed");
}

#[test]
fn remote_state_example_keeps_state_in_azurite() {
    let az = common::Azurite::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(az.create_container("dmsform-state"));
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/remote-state"),
        tmp.path(),
    );
    let cfg = std::fs::read_to_string(tmp.path().join("main.hcl")).unwrap();
    std::fs::write(
        tmp.path().join("main.hcl"),
        cfg.replace("http://127.0.0.1:10000/devstoreaccount1", &az.blob_base),
    )
    .unwrap();
    let run_env = |args: &[&str]| {
        let out = Command::new(bin())
            .current_dir(tmp.path())
            .args(args)
            .env("NO_COLOR", "1")
            .env("ARM_ACCESS_KEY", common::AZURITE_KEY)
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), text_of(&out))
    };
    let (code, out) = run_env(&["init"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run_env(&["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        !tmp.path().join("dmsform.state.json").exists(),
        "no local state: it is in the blob"
    );
    let (code, out) = run_env(&["state", "list"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("dms_oci_driver_install.driver"), "{out}");
    let (code, out) = run_env(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run_env(&["destroy", "-auto-approve"]);
    assert_eq!(code, 0, "{out}");
}

/// The one command an example's README gives, run as a user would (with Azurite started
/// by the script itself).
fn run_script(example: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/{example}/run.sh"));
    let out = Command::new("bash")
        .arg(&script)
        .env("DMSFORM_BIN", bin())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = text_of(&out);
    assert_eq!(out.status.code(), Some(0), "{example}/run.sh:\n{text}");
    text
}

#[test]
fn blob_share_and_remote_state_run_with_one_command() {
    for example in ["blob-share", "remote-state"] {
        let text = run_script(example);
        for want in [
            "Apply complete! Resources: 2 added",
            "No changes.",
            "Destroy complete!",
        ] {
            assert!(text.contains(want), "{example}: {want}\n{text}");
        }
        assert!(
            !Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("examples/{example}/dmsform.state.json"))
                .exists(),
            "{example}: the script leaves the example folder alone"
        );
    }
}
