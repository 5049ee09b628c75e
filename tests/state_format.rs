//! The state file format: committed fixtures of every version read, and what this build
//! writes reads back the same.

use dmsform::state::file::{decode, encode};
use dmsform::state::{State, Status};

#[test]
fn version_1_fixture_round_trips() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/state/v1-with-pending.json"
    ))
    .unwrap();
    let s: State = decode(&bytes).unwrap();
    assert_eq!(s.serial, 7);
    assert_eq!(s.resources.len(), 2);
    assert_eq!(s.resources[1].status, Status::Pending);
    assert_eq!(s.resources[1].pending.as_ref().unwrap().operation, "create");
    assert_eq!(
        s.resources[1].dependencies,
        ["dms_oci_driver_check.before[\"dms1\"]"]
    );
    assert!(s.outputs["secret"].sensitive && s.outputs["secret"].value.is_null());
    let again = decode(&encode(&s)).unwrap();
    assert_eq!(again, s, "what this build writes reads back the same");
    let written: serde_json::Value = serde_json::from_slice(&encode(&s)).unwrap();
    assert_eq!(written["version"], 1);
}

#[test]
fn newer_and_foreign_documents_are_refused_clearly() {
    let newer = br#"{"version": 2, "lineage": "x", "serial": 1, "dmsform_version": "9.0.0"}"#;
    let e = decode(newer).unwrap_err().to_string();
    assert!(e.contains("newer dmsform"), "{e}");
    let terraform = br#"{"terraform_version": "1.9.0", "serial": 1}"#;
    let e = decode(terraform).unwrap_err().to_string();
    assert!(e.contains("not written by dmsform"), "{e}");
}
