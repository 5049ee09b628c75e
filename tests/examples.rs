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

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(bin())
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
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
