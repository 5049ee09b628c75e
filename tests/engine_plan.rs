//! `dmsform plan` end to end: the binary against the emulator over HTTP.

mod common;

use common::engine::*;
use serde_json::{Value, json};

fn setup() -> (EmulatorProc, tempfile::TempDir, Workdir) {
    let share = share_with_driver();
    let emu = EmulatorProc::start(&[
        "--share-root",
        &format!("fs/drivers={}", share.path().display()),
    ]);
    let wd = Workdir::new(&(provider(&emu.base) + &seed("svc1", "\\\\\\\\fs\\\\drivers")));
    (emu, share, wd)
}

#[test]
fn empty_state_plans_three_creates_with_unknown_package_name() {
    let (_emu, _share, wd) = setup();
    let (code, out, err) = wd.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("Plan: 3 to add, 0 to change, 0 to destroy."),
        "{out}"
    );
    assert!(
        out.contains("# dms_oci_driver_install.driver will be created"),
        "{out}"
    );
    assert!(
        out.contains("driver_package_name = (known after apply)"),
        "{out}"
    );
    assert!(out.contains("password  = (sensitive value)"), "{out}");
    assert!(
        !out.contains("Sh4re-Passw0rd"),
        "the password is never shown"
    );
}

#[test]
fn drift_replace_update_and_exit_codes() {
    let (emu, _share, wd) = setup();
    let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        wd.run(&["plan", "-detailed-exitcode"]).0,
        0,
        "converged after apply"
    );

    // A task deleted behind dmsform's back plans a create, and shows as drift.
    let tasks = emu.tasks_url("rg", "svc1");
    let (s, _) = emu.http(
        "DELETE",
        &format!("{tasks}/checkOCIDriver?api-version=2025-06-30"),
        None,
    );
    assert_eq!(s, 200);
    let (code, out, _) = wd.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 2);
    assert!(
        out.contains("Objects have changed outside of dmsform"),
        "{out}"
    );
    assert!(
        out.contains("# dms_oci_driver_check.before has been deleted"),
        "{out}"
    );
    assert!(
        out.contains("# dms_oci_driver_check.before will be created"),
        "{out}"
    );
    assert!(
        out.contains("(because the remote task no longer exists)"),
        "{out}"
    );

    // -refresh-only shows only the drift and proposes no task changes.
    let (code, out, _) = wd.run(&["plan", "-refresh-only", "-detailed-exitcode"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("has been deleted") && out.contains("refresh-only plan"),
        "{out}"
    );
    assert!(!out.contains("will be created"), "{out}");
    assert_eq!(wd.run(&["apply", "-auto-approve"]).0, 0);
    assert_eq!(
        wd.run(&["plan", "-refresh-only", "-detailed-exitcode"]).0,
        0,
        "no drift: refresh-only exits 0"
    );

    // A task that ended Failed remotely plans a replace with its reason.
    emu.fault(json!({"kind": "task_fail", "task": "checkOCIDriver", "count": 1}));
    let (s, _) = emu.http(
        "PUT",
        &format!("{tasks}/checkOCIDriver?api-version=2025-06-30"),
        Some(json!({"properties": {"taskType": "Service.Check.OCI", "input": {"serverVersion": "19.0"}}})),
    );
    assert_eq!(s, 200);
    emu.wait_terminal("rg", "svc1", "checkOCIDriver");
    let (code, out, _) = wd.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 2);
    assert!(
        out.contains("# dms_oci_driver_check.before must be replaced"),
        "{out}"
    );
    assert!(
        out.contains("(because the remote task ended in Failed)"),
        "{out}"
    );
    assert_eq!(wd.run(&["apply", "-auto-approve"]).0, 0);

    // A changed input plans -/+ with # forces replacement.
    let cfg = std::fs::read_to_string(wd.path().join("main.hcl")).unwrap();
    wd.write(
        "main.hcl",
        &cfg.replace("server_version = \"19.0\"", "server_version = \"12.2\""),
    );
    let (code, out, _) = wd.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 2);
    assert!(
        out.contains("-/+ resource \"dms_oci_driver_check\" \"before\""),
        "{out}"
    );
    assert!(
        out.contains("~ server_version = \"19.0\" -> \"12.2\" # forces replacement"),
        "{out}"
    );

    // A changed client_data plans an in-place update.
    wd.write(
        "main.hcl",
        &cfg.replace(
            "  task_name      = \"checkOCIDriver\"",
            "  task_name      = \"checkOCIDriver\"\n  client_data    = { owner = \"dba\" }",
        ),
    );
    let (code, out, _) = wd.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 2);
    assert!(
        out.contains("~ resource \"dms_oci_driver_check\" \"before\""),
        "{out}"
    );
    assert!(out.contains("+ \"owner\" = \"dba\""), "{out}");
    assert!(
        out.contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{out}"
    );
    let (code, _, err) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{err}");
    let remote = emu.task("rg", "svc1", "checkOCIDriver").unwrap();
    assert_eq!(remote["properties"]["clientData"], json!({"owner": "dba"}));

    // A configuration error: exit 1.
    wd.write(
        "broken.hcl",
        "resource \"dms_oci_driver_check\" \"x\" {\n  nope = 1\n}\n",
    );
    let (code, _, err) = wd.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 1);
    assert!(err.contains("broken.hcl"), "{err}");
}

#[test]
fn a_task_that_exists_remotely_is_adopted_not_overwritten() {
    let (emu, _share, wd) = setup();
    let tasks = emu.tasks_url("rg", "svc1");
    emu.http(
        "PUT",
        &format!("{tasks}/checkOCIDriver?api-version=2025-06-30"),
        Some(json!({"properties": {"taskType": "Service.Check.OCI", "input": {"serverVersion": "19.0"}}})),
    );
    emu.wait_terminal("rg", "svc1", "checkOCIDriver");
    let (code, out, _) = wd.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 2);
    assert!(
        out.contains("# dms_oci_driver_check.before will be adopted"),
        "{out}"
    );
    assert!(
        out.contains("Plan: 1 to adopt, 2 to add, 0 to change, 0 to destroy."),
        "{out}"
    );
    let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("1 adopted, 2 added"), "{out}");
    let puts = emu
        .requests()
        .iter()
        .filter(|r| r["method"] == "PUT" && r["task"] == "checkOCIDriver")
        .count();
    assert_eq!(puts, 1, "the adopted task is never PUT again");
}

#[test]
fn a_lost_state_adopts_the_whole_chain_including_arguments_known_only_from_adopted_tasks() {
    let (emu, _share, wd) = setup();
    let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    std::fs::remove_file(wd.path().join("dmsform.state.json")).expect("state written");
    // The install's package name comes from the upload's output: unknown until the upload
    // is adopted, then known, and then equal to what the remote install ran.
    let (code, out, err) = wd.run(&["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("# dms_oci_driver_install.driver will be adopted"),
        "{out}"
    );
    assert!(
        out.contains("Plan: 3 to adopt, 0 to add, 0 to change, 0 to destroy."),
        "{out}"
    );
    let puts_before = emu
        .requests()
        .iter()
        .filter(|r| r["method"] == "PUT")
        .count();
    let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let puts_after = emu
        .requests()
        .iter()
        .filter(|r| r["method"] == "PUT")
        .count();
    assert_eq!(puts_before, puts_after, "adopted tasks are never PUT again");
    assert_eq!(wd.run(&["plan", "-detailed-exitcode"]).0, 0);
}

#[test]
fn json_plan_has_terraforms_fields_and_no_secrets() {
    let (_emu, _share, wd) = setup();
    let (code, out, err) = wd.run(&["plan", "-json"]);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).expect("plan -json prints JSON");
    // The fields Terraform's JSON output format documents for a plan (its "Plan
    // Representation"); prior_state only once there is a state, checks only when there are
    // check blocks (tested with them in engine_apply).
    for field in [
        "format_version",
        "variables",
        "planned_values",
        "proposed_unknown",
        "resource_drift",
        "resource_changes",
        "relevant_attributes",
        "output_changes",
        "configuration",
        "applyable",
        "complete",
        "errored",
        "timestamp",
    ] {
        assert!(doc.get(field).is_some(), "missing {field}");
    }
    for field in ["outputs", "root_module"] {
        assert!(
            doc["planned_values"].get(field).is_some(),
            "planned_values lacks {field}"
        );
    }
    assert!(doc.get("prior_state").is_none(), "no state yet");
    assert_eq!(doc["applyable"], true);
    // configuration: expressions as Terraform writes them, never a secret's.
    let cfg_resources = doc["configuration"]["root_module"]["resources"]
        .as_array()
        .expect("configuration.root_module.resources");
    assert_eq!(cfg_resources.len(), 3);
    for r in cfg_resources {
        for f in [
            "address",
            "mode",
            "type",
            "name",
            "provider_config_key",
            "expressions",
            "schema_version",
        ] {
            assert!(r.get(f).is_some(), "configuration resource lacks {f}: {r}");
        }
    }
    let cfg_install = cfg_resources
        .iter()
        .find(|r| r["address"] == "dms_oci_driver_install.driver")
        .unwrap();
    assert!(
        cfg_install["expressions"]["driver_package_name"]["references"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("dms_oci_driver_upload.driver"))),
        "{cfg_install}"
    );
    let changes = doc["resource_changes"].as_array().unwrap();
    assert_eq!(changes.len(), 3);
    for c in changes {
        for f in ["address", "mode", "type", "name", "provider_name", "change"] {
            assert!(c.get(f).is_some(), "resource_changes[] lacks {f}");
        }
        for f in [
            "actions",
            "before",
            "after",
            "after_unknown",
            "before_sensitive",
            "after_sensitive",
        ] {
            assert!(c["change"].get(f).is_some(), "change lacks {f}");
        }
        assert_eq!(c["change"]["actions"], json!(["create"]));
    }
    let install = changes
        .iter()
        .find(|c| c["address"] == "dms_oci_driver_install.driver")
        .unwrap();
    assert_eq!(
        install["change"]["after_unknown"]["driver_package_name"],
        true
    );
    let upload = changes
        .iter()
        .find(|c| c["address"] == "dms_oci_driver_upload.driver")
        .unwrap();
    assert_eq!(
        upload["change"]["after_sensitive"]["driver_share"]["password"],
        true
    );
    assert!(
        doc["variables"].get("share_password").is_none(),
        "sensitive variables are left out"
    );
    assert!(!out.contains("Sh4re-Passw0rd"));

    // With a state, prior_state is Terraform's state representation of it.
    let (code, o, e) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{o}{e}");
    let (code, out, err) = wd.run(&["plan", "-json"]);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).expect("plan -json prints JSON");
    let prior = doc["prior_state"]["values"]["root_module"]["resources"]
        .as_array()
        .expect("prior_state.values.root_module.resources");
    assert_eq!(prior.len(), 3);
    let up = prior
        .iter()
        .find(|r| r["address"] == "dms_oci_driver_upload.driver")
        .unwrap();
    assert_eq!(up["sensitive_values"]["driver_share"]["password"], true);
    assert!(up["values"]["driver_share"]["password"].is_null());
    assert_eq!(doc["applyable"], false);
    assert!(!out.contains("Sh4re-Passw0rd"));
    // show -json of a saved plan is the same document, prior state and configuration too.
    let (code, _, err) = wd.run(&["plan", "-out", "saved.plan"]);
    assert_eq!(code, 0, "{err}");
    let (code, shown, err) = wd.run(&["show", "-json", "saved.plan"]);
    assert_eq!(code, 0, "{err}");
    let shown: Value = serde_json::from_str(&shown).expect("show -json prints JSON");
    for field in [
        "prior_state",
        "configuration",
        "resource_changes",
        "planned_values",
    ] {
        assert_eq!(shown[field], doc[field], "{field}");
    }
}

#[test]
fn saved_plans_apply_and_go_stale() {
    let (_emu, _share, wd) = setup();
    let (code, out, err) = wd.run(&["plan", "-out", "first.plan"]);
    assert_eq!(code, 0, "{out}{err}");
    let bytes = std::fs::read(wd.path().join("first.plan")).unwrap();
    assert!(
        !String::from_utf8_lossy(&bytes).contains("Sh4re-Passw0rd"),
        "no secret in the plan file"
    );
    assert!(
        String::from_utf8_lossy(&bytes).contains("pbkdf2-sha256$600000$"),
        "a salted slow digest stands in for it"
    );
    let (code, out, _) = wd.run(&["show", "first.plan"]);
    assert_eq!(code, 0);
    assert!(out.contains("Plan: 3 to add"), "{out}");
    let (code, out, _) = wd.run(&["show", "-json", "first.plan"]);
    assert_eq!(code, 0);
    assert!(serde_json::from_str::<Value>(&out).unwrap()["resource_changes"].is_array());

    // A second plan, then the first one applied: the second is now stale.
    assert_eq!(wd.run(&["plan", "-out", "second.plan"]).0, 0);
    let (code, out, err) = wd.run(&["apply", "first.plan"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("Apply complete! Resources: 3 added"), "{out}");
    let (code, _, err) = wd.run(&["apply", "second.plan"]);
    assert_eq!(code, 1);
    assert!(err.contains("Saved plan is stale"), "{err}");

    // Another value for a sensitive variable does not match the saved plan's digest.
    assert_eq!(
        wd.run(&["plan", "-out", "third.plan", "-var", "share_password=other"])
            .0,
        0
    );
    let (code, _, err) = wd.run(&["apply", "third.plan", "-var", "share_password=different"]);
    assert_eq!(code, 1);
    assert!(err.contains("share_password"), "{err}");
}

#[test]
fn graph_targets_cycles_import_and_prevent_destroy() {
    let (emu, _share, wd) = setup();
    let (code, dot, err) = wd.run(&["graph"]);
    assert_eq!(code, 0, "{err}");
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(
        dot.contains("\"dms_oci_driver_install.driver\" -> \"dms_oci_driver_upload.driver\""),
        "{dot}"
    );
    assert!(
        dot.contains("\"dms_oci_driver_upload.driver\" -> \"dms_oci_driver_check.before\""),
        "{dot}"
    );
    assert!(
        dot.contains("\"output.package\" -> \"dms_oci_driver_upload.driver\""),
        "outputs are nodes too: {dot}"
    );
    let (code, plan_dot, _) = wd.run(&["graph", "-type=plan"]);
    assert_eq!((code, plan_dot.as_str()), (0, dot.as_str()));
    let (code, apply_dot, _) = wd.run(&["graph", "-type=apply"]);
    assert_eq!((code, apply_dot.as_str()), (0, dot.as_str()));
    let (code, destroy_dot, _) = wd.run(&["graph", "-type=destroy"]);
    assert_eq!(code, 0);
    assert!(
        destroy_dot.contains("\"dms_oci_driver_check.before\" -> \"dms_oci_driver_upload.driver\""),
        "destroy reverses the edges: {destroy_dot}"
    );
    assert!(!destroy_dot.contains("output."), "{destroy_dot}");
    // An output that reaches a resource through a local depends on it too.
    wd.write(
        "extra.hcl",
        "locals {\n  up = dms_oci_driver_upload.driver\n}\n\noutput \"via_local\" {\n  value = local.up.id\n}\n",
    );
    let (code, dot, err) = wd.run(&["graph"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        dot.contains("\"output.via_local\" -> \"dms_oci_driver_upload.driver\""),
        "{dot}"
    );
    std::fs::remove_file(wd.path().join("extra.hcl")).unwrap();

    // -target keeps the target and what it depends on.
    let (code, out, _) = wd.run(&["plan", "-target", "dms_oci_driver_upload.driver"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Plan: 2 to add, 0 to change, 0 to destroy."),
        "{out}"
    );
    assert!(
        !out.contains("dms_oci_driver_install.driver will be created"),
        "{out}"
    );

    // import records an existing task without touching it.
    let tasks = emu.tasks_url("rg", "svc1");
    emu.http("PUT", &format!("{tasks}/checkOCIDriver?api-version=2025-06-30"), Some(json!({"properties": {"taskType": "Service.Check.OCI", "input": {"serverVersion": "19.0"}}})));
    emu.wait_terminal("rg", "svc1", "checkOCIDriver");
    let id = format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.DataMigration/services/svc1/serviceTasks/checkOCIDriver"
    );
    let (code, out, err) = wd.run(&["import", "dms_oci_driver_check.before", &id]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("Import successful!"), "{out}");
    assert_eq!(resource_names(&wd.state()), ["dms_oci_driver_check.before"]);
    let (_, out, _) = wd.run(&["plan"]);
    assert!(
        out.contains("Plan: 2 to add, 0 to change, 0 to destroy."),
        "the imported task stays: {out}"
    );
    let (code, _, err) = wd.run(&["import", "dms_oci_driver_check.before", &id]);
    assert_eq!(code, 1);
    assert!(err.contains("already managed"), "{err}");

    // prevent_destroy refuses a destroy, naming the resource.
    let cfg = std::fs::read_to_string(wd.path().join("main.hcl")).unwrap();
    wd.write(
        "main.hcl",
        &cfg.replacen(
            "  server_version = \"19.0\"",
            "  server_version = \"19.0\"\n  lifecycle {\n    prevent_destroy = true\n  }",
            1,
        ),
    );
    let (code, _, err) = wd.run(&["destroy", "-auto-approve"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("dms_oci_driver_check.before") && err.contains("prevent_destroy"),
        "{err}"
    );
    assert!(emu.task("rg", "svc1", "checkOCIDriver").is_some());

    // A depends_on cycle is an error naming every member with its location.
    wd.write(
        "cycle.hcl",
        "resource \"dms_oci_driver_check\" \"a\" {\n  group_name   = \"rg\"\n  service_name = \"svc1\"\n  task_name    = \"a\"\n  depends_on   = [dms_oci_driver_check.b]\n}\n\nresource \"dms_oci_driver_check\" \"b\" {\n  group_name   = \"rg\"\n  service_name = \"svc1\"\n  task_name    = \"b\"\n  depends_on   = [dms_oci_driver_check.a]\n}\n",
    );
    let (code, _, err) = wd.run(&["plan"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Cycle: dms_oci_driver_check.a, dms_oci_driver_check.b"),
        "{err}"
    );
    assert!(
        err.contains("cycle.hcl line 1") && err.contains("cycle.hcl line 8"),
        "{err}"
    );
    let (code, _, _) = wd.run(&["graph"]);
    assert_eq!(code, 1);
    let (code, dot, _) = wd.run(&["graph", "-draw-cycles"]);
    assert_eq!(code, 0);
    assert!(dot.contains("[color = \"red\"]"), "{dot}");
}

#[test]
fn replace_triggered_by_and_ignore_changes() {
    let (_emu, _share, wd) = setup();
    let cfg = std::fs::read_to_string(wd.path().join("main.hcl")).unwrap();
    let extra = "\nresource \"dms_oci_driver_check\" \"after\" {\n  group_name     = \"rg\"\n  service_name   = \"svc1\"\n  task_name      = \"checkAfter\"\n  server_version = \"19.0\"\n  lifecycle {\n    replace_triggered_by = [dms_oci_driver_upload.driver]\n    ignore_changes       = [client_data]\n  }\n}\n";
    wd.write("main.hcl", &(cfg.clone() + extra));
    let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    // Replacing the upload replaces the check that names it in replace_triggered_by.
    let (code, out, _) = wd.run(&[
        "plan",
        "-detailed-exitcode",
        "-replace",
        "dms_oci_driver_upload.driver",
    ]);
    assert_eq!(code, 2);
    assert!(
        out.contains("# dms_oci_driver_upload.driver must be replaced"),
        "{out}"
    );
    assert!(
        out.contains("(because replacement requested with -replace)"),
        "{out}"
    );
    assert!(
        out.contains("# dms_oci_driver_check.after must be replaced"),
        "{out}"
    );
    assert!(
        out.contains("(because replace_triggered_by dms_oci_driver_upload.driver changed)"),
        "{out}"
    );
    // An ignored argument's change plans nothing.
    wd.write(
        "main.hcl",
        &(cfg
            + &extra.replace(
                "server_version = \"19.0\"\n  lifecycle",
                "server_version = \"19.0\"\n  client_data    = { a = \"b\" }\n  lifecycle",
            )),
    );
    let (code, out, _) = wd.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 0, "ignore_changes: {out}");
}
