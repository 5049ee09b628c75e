//! Snapshot tests of the human plan rendering.

use super::action::{Action, Reason};
use super::change::{OutputChange, Plan, ResourceChange};
use super::render::{Style, plan};
use serde_json::json;

fn change(address: &str, kind: &str, action: Action) -> ResourceChange {
    let name = address
        .split('.')
        .nth(1)
        .unwrap_or("x")
        .split('[')
        .next()
        .unwrap_or("x")
        .to_string();
    ResourceChange {
        address: address.into(),
        mode: "managed".into(),
        kind: kind.into(),
        name,
        index: None,
        action,
        reasons: vec![],
        before: None,
        before_sensitive: json!({}),
        after: None,
        after_unknown: json!({}),
        after_sensitive: json!({}),
        replace_paths: vec![],
        blocks: if kind == "dms_oci_driver_upload" {
            vec!["driver_share".into()]
        } else {
            vec![]
        },
    }
}

pub fn sample_plan() -> Plan {
    let mut upload = change(
        "dms_oci_driver_upload.driver[\"dms1\"]",
        "dms_oci_driver_upload",
        Action::Create,
    );
    upload.after = Some(json!({
        "group_name": "rg", "service_name": "dms1", "task_name": "uploadOCIDriver",
        "driver_share": {"path": "\\\\fileserver\\drivers", "user_name": "CONTOSO\\dms", "password": null},
        "id": null, "state": null, "output": null, "errors": null, "client_data": null
    }));
    upload.after_unknown = json!({"id": true, "state": true, "output": true, "errors": true});
    upload.after_sensitive = json!({"driver_share": {"password": true}});

    let mut install = change(
        "dms_oci_driver_install.driver[\"dms1\"]",
        "dms_oci_driver_install",
        Action::Create,
    );
    install.after = Some(
        json!({"group_name": "rg", "service_name": "dms1", "task_name": "installOCIDriver", "driver_package_name": null, "id": null, "state": null}),
    );
    install.after_unknown = json!({"driver_package_name": true, "id": true, "state": true});

    let mut replace = change(
        "dms_oci_driver_check.before",
        "dms_oci_driver_check",
        Action::Replace,
    );
    replace.reasons = vec![Reason::ArgumentsChanged {
        paths: vec!["server_version".into()],
    }];
    replace.before = Some(
        json!({"group_name": "rg", "service_name": "dms1", "task_name": "checkOCIDriver", "server_version": "19.0", "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataMigration/services/dms1/serviceTasks/checkOCIDriver", "state": "Succeeded"}),
    );
    replace.after = Some(
        json!({"group_name": "rg", "service_name": "dms1", "task_name": "checkOCIDriver", "server_version": "21.0", "id": null, "state": null}),
    );
    replace.after_unknown = json!({"id": true, "state": true});
    replace.replace_paths = vec!["server_version".into()];

    let mut update = change(
        "dms_oci_driver_check.after",
        "dms_oci_driver_check",
        Action::Update,
    );
    update.reasons = vec![Reason::ClientDataChanged];
    let base = json!({"group_name": "rg", "service_name": "dms1", "task_name": "checkAfter", "id": "/x/checkAfter", "state": "Succeeded", "client_data": {"owner": "ops", "team": "db"}});
    let mut after = base.clone();
    after["client_data"] = json!({"owner": "dmsform", "ticket": "CHG-1"});
    update.before = Some(base);
    update.after = Some(after);

    let mut delete = change(
        "dms_oci_driver_check.old",
        "dms_oci_driver_check",
        Action::Delete,
    );
    delete.reasons = vec![Reason::NoConfig];
    delete.before = Some(
        json!({"group_name": "rg", "service_name": "dms1", "task_name": "old", "id": "/x/old", "state": "Succeeded"}),
    );

    let mut drift = change(
        "dms_oci_driver_check.gone",
        "dms_oci_driver_check",
        Action::Delete,
    );
    drift.before = Some(
        json!({"group_name": "rg", "service_name": "dms1", "task_name": "gone", "id": "/x/gone"}),
    );

    let mut outputs = std::collections::BTreeMap::new();
    outputs.insert(
        "packages".to_string(),
        OutputChange {
            action: Action::Create,
            before: None,
            after: None,
            after_unknown: true,
            sensitive: false,
        },
    );
    Plan {
        changes: vec![upload, install, replace, update, delete],
        drift: vec![drift],
        outputs,
        destroy: false,
        refresh_only: false,
        notes: vec![],
    }
}

#[test]
fn human_plan() {
    insta::assert_snapshot!(plan(&sample_plan(), Style { color: false }));
}

#[test]
fn no_changes() {
    let p = Plan {
        changes: vec![],
        drift: vec![],
        outputs: Default::default(),
        destroy: false,
        refresh_only: false,
        notes: vec![],
    };
    insta::assert_snapshot!(plan(&p, Style { color: false }));
}

#[test]
fn colour_only_when_asked() {
    assert!(plan(&sample_plan(), Style { color: true }).contains("\x1b[32m"));
    assert!(!plan(&sample_plan(), Style { color: false }).contains('\x1b'));
}

#[test]
fn a_destroyed_secret_shows_as_sensitive_though_state_keeps_only_its_digest() {
    let mut upload = change(
        "dms_oci_driver_upload.driver",
        "dms_oci_driver_upload",
        Action::Delete,
    );
    upload.before = Some(json!({
        "task_name": "uploadOCIDriver",
        "driver_share": {"path": "\\\\fileserver\\drivers", "password": null, "sas_uri": null},
    }));
    upload.before_sensitive = json!({"driver_share": {"password": true}});
    let text = plan(
        &Plan {
            changes: vec![upload],
            drift: vec![],
            outputs: Default::default(),
            destroy: true,
            refresh_only: false,
            notes: vec![],
        },
        Style { color: false },
    );
    assert!(
        text.contains("- password = (sensitive value) -> null"),
        "{text}"
    );
    assert!(
        !text.contains("sas_uri"),
        "an unset secret is not shown: {text}"
    );
}
