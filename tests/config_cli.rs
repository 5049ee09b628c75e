//! `dmsform validate`, `dmsform fmt` and the other offline commands through the real binary.

use assert_cmd::Command;
use std::path::Path;

fn fixture(kind: &str, name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind)
        .join(name)
        .display()
        .to_string()
}

#[test]
fn validate_succeeds_on_a_valid_configuration() {
    let out = Command::cargo_bin("dmsform")
        .expect("binary")
        .args([
            format!("-chdir={}", fixture("valid", "design_example")),
            "validate".into(),
        ])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Success! The configuration is valid."));
}

#[test]
fn validate_fails_with_located_errors() {
    let out = Command::cargo_bin("dmsform")
        .expect("binary")
        .args([
            format!("-chdir={}", fixture("invalid", "unsupported_argument")),
            "validate".into(),
            "-no-color".into(),
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Error: Unsupported argument"), "{err}");
    assert!(
        err.contains("on main.hcl line 5, in resource \"dms_oci_driver_check\" \"before\":"),
        "{err}"
    );
}

#[test]
fn validate_json_document() {
    let out = Command::cargo_bin("dmsform")
        .expect("binary")
        .args([
            format!("-chdir={}", fixture("invalid", "local_cycle")),
            "validate".into(),
            "-json".into(),
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(doc["format_version"], "1.0");
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["error_count"], 1);
    assert_eq!(doc["diagnostics"][0]["range"]["filename"], "main.hcl");
    assert_eq!(doc["diagnostics"][0]["range"]["start"]["line"], 4);
}

/// Runs the binary with its stdout on a pipe whose reader is already closed, as in
/// `dmsform completions bash | head -0`: every write fails with EPIPE.
fn run_with_closed_stdout(args: &[String]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    std::process::Command::new(assert_cmd::cargo::cargo_bin("dmsform"))
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("runs")
}

#[test]
fn a_closed_stdout_pipe_is_not_a_crash() {
    let valid = format!("-chdir={}", fixture("valid", "design_example"));
    let cases: Vec<Vec<String>> = vec![
        vec!["completions".into(), "bash".into()],
        vec![valid.clone(), "validate".into()],
        vec![valid.clone(), "validate".into(), "-json".into()],
        vec![valid, "graph".into()],
        vec![
            "fmt".into(),
            "-check".into(),
            "-diff".into(),
            fixture("valid", "design_example"),
        ],
    ];
    for args in cases {
        let out = run_with_closed_stdout(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("internal error"),
            "{args:?}: {err}"
        );
        assert!(
            matches!(out.status.code(), Some(0..=3)),
            "{args:?}: {:?} {err}",
            out.status
        );
    }
}
