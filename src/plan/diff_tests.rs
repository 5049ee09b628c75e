//! Table-driven tests of the pure diff: every action and every reason.

use super::action::{Action, Reason};
use super::diff::{Desired, DiffOptions, Probe, Remote, diff};
use crate::secret::Digester;
use crate::state::{ResourceState, Status};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const ADDR: &str = "dms_oci_driver_check.c";

fn desired(args: Value) -> Desired {
    Desired {
        address: ADDR.into(),
        kind: "dms_oci_driver_check".into(),
        name: "c".into(),
        index: None,
        args,
        unknown: json!({}),
        secrets: BTreeMap::new(),
        id: Some("/x/t".into()),
        prevent_destroy: false,
        ignore_changes: vec![],
        triggered_by: None,
    }
}

fn base_args() -> Value {
    json!({"group_name": "g", "service_name": "s", "task_name": "t", "server_version": "19.0"})
}

fn recorded(args: Value, remote_state: &str) -> ResourceState {
    let mut attrs = args;
    attrs["id"] = json!("/x/t");
    attrs["state"] = json!(remote_state);
    attrs["errors"] = json!([]);
    attrs["output"] = json!([]);
    ResourceState {
        address: ADDR.into(),
        kind: "dms_oci_driver_check".into(),
        id: "/x/t".into(),
        status: Status::Ready,
        pending: None,
        attributes: attrs,
        sensitive_digests: BTreeMap::new(),
        dependencies: vec![],
    }
}

fn present(state: &str) -> Remote {
    Remote::Present(json!({"state": state, "errors": [], "output": []}))
}

struct Case {
    name: &'static str,
    desired: Vec<Desired>,
    prior: Vec<(ResourceState, Remote)>,
    probes: BTreeMap<String, Probe>,
    opts: DiffOptions,
    action: Action,
    reason: Reason,
}

fn case(
    name: &'static str,
    desired: Vec<Desired>,
    prior: Vec<(ResourceState, Remote)>,
    action: Action,
    reason: Reason,
) -> Case {
    Case {
        name,
        desired,
        prior,
        probes: BTreeMap::new(),
        opts: DiffOptions::default(),
        action,
        reason,
    }
}

#[test]
fn every_action_and_reason() {
    let d = || desired(base_args());
    let in_state = || recorded(base_args(), "Succeeded");
    let mut changed_input = desired(base_args());
    changed_input.args["server_version"] = json!("12.2");
    let mut changed_identity = desired(base_args());
    changed_identity.args["task_name"] = json!("t2");
    let mut with_client_data = desired(base_args());
    with_client_data.args["client_data"] = json!({"owner": "me"});
    let mut tainted = in_state();
    tainted.status = Status::Tainted;
    let mut triggered = d();
    triggered.triggered_by = Some("dms_oci_driver_upload.u".into());
    let mut unknown_input = d();
    unknown_input
        .args
        .as_object_mut()
        .unwrap()
        .remove("server_version");
    unknown_input.unknown = json!({"server_version": true});

    let mut cases = vec![
        case("new", vec![d()], vec![], Action::Create, Reason::NotInState),
        case(
            "vanished",
            vec![d()],
            vec![(in_state(), Remote::Gone)],
            Action::Create,
            Reason::Vanished,
        ),
        case(
            "unchanged",
            vec![d()],
            vec![(in_state(), present("Succeeded"))],
            Action::NoOp,
            Reason::NotInState,
        ),
        case(
            "not refreshed",
            vec![d()],
            vec![(in_state(), Remote::NotRefreshed)],
            Action::NoOp,
            Reason::NotInState,
        ),
        case(
            "failed remotely",
            vec![d()],
            vec![(in_state(), present("Failed"))],
            Action::Replace,
            Reason::RemoteFailed {
                state: "Failed".into(),
            },
        ),
        case(
            "faulted remotely",
            vec![d()],
            vec![(in_state(), present("Faulted"))],
            Action::Replace,
            Reason::RemoteFailed {
                state: "Faulted".into(),
            },
        ),
        case(
            "canceled remotely",
            vec![d()],
            vec![(in_state(), present("Canceled"))],
            Action::Replace,
            Reason::RemoteFailed {
                state: "Canceled".into(),
            },
        ),
        case(
            "input validation failed",
            vec![d()],
            vec![(in_state(), present("FailedInputValidation"))],
            Action::Replace,
            Reason::RemoteFailed {
                state: "FailedInputValidation".into(),
            },
        ),
        case(
            "tainted",
            vec![d()],
            vec![(tainted, present("Succeeded"))],
            Action::Replace,
            Reason::Tainted,
        ),
        case(
            "input changed",
            vec![changed_input],
            vec![(in_state(), present("Succeeded"))],
            Action::Replace,
            Reason::ArgumentsChanged {
                paths: vec!["server_version".into()],
            },
        ),
        case(
            "identity changed",
            vec![changed_identity],
            vec![(in_state(), present("Succeeded"))],
            Action::Replace,
            Reason::ArgumentsChanged {
                paths: vec!["task_name".into()],
            },
        ),
        case(
            "unknown input",
            vec![unknown_input],
            vec![(in_state(), present("Succeeded"))],
            Action::Replace,
            Reason::ArgumentsChanged {
                paths: vec!["server_version".into()],
            },
        ),
        case(
            "client data",
            vec![with_client_data],
            vec![(in_state(), present("Succeeded"))],
            Action::Update,
            Reason::ClientDataChanged,
        ),
        case(
            "triggered",
            vec![triggered],
            vec![(in_state(), present("Succeeded"))],
            Action::Replace,
            Reason::ReplaceTriggered {
                by: "dms_oci_driver_upload.u".into(),
            },
        ),
        case(
            "no config",
            vec![],
            vec![(in_state(), present("Succeeded"))],
            Action::Delete,
            Reason::NoConfig,
        ),
    ];
    let mut adopt = case(
        "adopt",
        vec![d()],
        vec![],
        Action::Adopt,
        Reason::ExistsRemotely,
    );
    adopt.probes.insert(
        ADDR.into(),
        Probe::Exists {
            input_matches: true,
            attrs: json!({"state": "Succeeded"}),
        },
    );
    let mut foreign = case(
        "foreign task",
        vec![d()],
        vec![],
        Action::Replace,
        Reason::ExistsRemotelyDifferent,
    );
    foreign.probes.insert(
        ADDR.into(),
        Probe::Exists {
            input_matches: false,
            attrs: json!({"state": "Succeeded"}),
        },
    );
    let mut requested = case(
        "replace requested",
        vec![d()],
        vec![(in_state(), present("Succeeded"))],
        Action::Replace,
        Reason::ReplaceRequested,
    );
    requested.opts.replace = BTreeSet::from([ADDR.to_string()]);
    let mut destroy = case(
        "destroy",
        vec![d()],
        vec![(in_state(), present("Succeeded"))],
        Action::Delete,
        Reason::DestroyRequested,
    );
    destroy.opts.destroy = true;
    cases.extend([adopt, foreign, requested, destroy]);

    let digester = Digester::new();
    for c in cases {
        let plan = diff(&c.desired, &c.prior, &c.probes, &c.opts, &digester)
            .unwrap_or_else(|e| panic!("{}: {e:?}", c.name));
        let ch = plan
            .changes
            .iter()
            .find(|x| x.address == ADDR)
            .unwrap_or_else(|| panic!("{}: no change", c.name));
        assert_eq!(ch.action, c.action, "{}", c.name);
        if c.action != Action::NoOp {
            assert!(
                ch.reasons.contains(&c.reason),
                "{}: reasons {:?}",
                c.name,
                ch.reasons
            );
        }
        if let Reason::ArgumentsChanged { paths } = &c.reason {
            assert_eq!(
                ch.replace_paths, *paths,
                "{}: # forces replacement on the changed argument",
                c.name
            );
        }
    }
}

#[test]
fn ignore_changes_and_secrets() {
    let digester = Digester::new();
    let mut d = desired(base_args());
    d.args["server_version"] = json!("12.2");
    d.ignore_changes = vec!["server_version".into()];
    let prior = vec![(recorded(base_args(), "Succeeded"), present("Succeeded"))];
    let plan = diff(
        &[d],
        &prior,
        &BTreeMap::new(),
        &DiffOptions::default(),
        &digester,
    )
    .unwrap();
    assert_eq!(plan.changes[0].action, Action::NoOp, "ignored argument");

    let upload = |secret: &str| Desired {
        kind: "dms_oci_driver_upload".into(),
        args: json!({"group_name": "g", "service_name": "s", "task_name": "t", "driver_share": {"path": "p", "password": null}}),
        secrets: BTreeMap::from([(
            "driver_share.password".to_string(),
            Some(secret.to_string()),
        )]),
        ..desired(json!({}))
    };
    let mut rec = recorded(
        json!({"group_name": "g", "service_name": "s", "task_name": "t", "driver_share": {"path": "p", "password": null}}),
        "Succeeded",
    );
    rec.kind = "dms_oci_driver_upload".into();
    rec.sensitive_digests.insert(
        "driver_share.password".into(),
        digester.digest("old-secret"),
    );
    let prior = vec![(rec, present("Succeeded"))];
    let same = diff(
        &[upload("old-secret")],
        &prior,
        &BTreeMap::new(),
        &DiffOptions::default(),
        &digester,
    )
    .unwrap();
    assert_eq!(same.changes[0].action, Action::NoOp);
    let changed = diff(
        &[upload("new-secret")],
        &prior,
        &BTreeMap::new(),
        &DiffOptions::default(),
        &digester,
    )
    .unwrap();
    assert_eq!(changed.changes[0].action, Action::Replace);
    assert_eq!(
        changed.changes[0].reasons,
        vec![Reason::SecretChanged {
            paths: vec!["driver_share.password".into()]
        }]
    );
    assert_eq!(
        changed.changes[0].after_sensitive["driver_share"]["password"],
        true
    );
    assert!(
        !serde_json::to_string(&changed)
            .unwrap()
            .contains("new-secret")
    );
}

#[test]
fn prevent_destroy_refuses_and_refresh_only_reports_drift_only() {
    let digester = Digester::new();
    let mut d = desired(base_args());
    d.prevent_destroy = true;
    let prior = vec![(recorded(base_args(), "Succeeded"), present("Succeeded"))];
    let err = diff(
        &[d],
        &prior,
        &BTreeMap::new(),
        &DiffOptions {
            destroy: true,
            ..Default::default()
        },
        &digester,
    )
    .unwrap_err();
    assert!(
        err[0].contains(ADDR) && err[0].contains("prevent_destroy"),
        "{err:?}"
    );

    let drifted = vec![
        (recorded(base_args(), "Succeeded"), present("Failed")),
        (
            {
                let mut r = recorded(base_args(), "Succeeded");
                r.address = "dms_oci_driver_check.gone".into();
                r
            },
            Remote::Gone,
        ),
    ];
    let plan = diff(
        &[desired(base_args())],
        &drifted,
        &BTreeMap::new(),
        &DiffOptions {
            refresh_only: true,
            ..Default::default()
        },
        &digester,
    )
    .unwrap();
    assert!(
        plan.changes.is_empty(),
        "refresh-only proposes no task changes"
    );
    assert_eq!(plan.drift.len(), 2);
    assert!(
        plan.drift
            .iter()
            .any(|c| c.action == Action::Delete && c.address == "dms_oci_driver_check.gone")
    );
    assert!(
        plan.drift
            .iter()
            .any(|c| c.action == Action::Update && c.after.as_ref().unwrap()["state"] == "Failed")
    );
    assert!(plan.has_changes());
    let quiet = diff(
        &[desired(base_args())],
        &[(recorded(base_args(), "Succeeded"), present("Succeeded"))],
        &BTreeMap::new(),
        &DiffOptions {
            refresh_only: true,
            ..Default::default()
        },
        &digester,
    )
    .unwrap();
    assert!(
        !quiet.has_changes(),
        "no drift, no changes (unlike hashicorp/terraform#36403)"
    );
}
