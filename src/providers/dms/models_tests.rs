use super::*;
use serde_json::json;
use std::path::Path;

const READ_ONLY: [&str; 8] = [
    "id",
    "name",
    "type",
    "etag",
    "systemData",
    "state",
    "errors",
    "commands",
];

/// Asserts that a request body holds only the writable keys.
fn assert_writable_only(body: &Value) {
    let top = body.as_object().expect("body is an object");
    assert_eq!(top.keys().collect::<Vec<_>>(), ["properties"], "{body}");
    let props = top["properties"].as_object().expect("properties object");
    for k in props.keys() {
        assert!(
            ["taskType", "input", "clientData"].contains(&k.as_str()),
            "unexpected key {k} in {body}"
        );
    }
    for ro in READ_ONLY {
        assert!(!props.contains_key(ro), "read-only {ro} emitted");
    }
    assert!(!props.contains_key("output"));
}

fn example_files() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dms-examples");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).expect("fixtures dir") {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "json") {
                files.push(f);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_spec_example_deserializes() {
    let files = example_files();
    assert!(files.len() >= 48, "only {} example files", files.len());
    let mut tasks = 0;
    for f in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        // request bodies of PUT/PATCH
        if let Some(body) = doc["parameters"].get("parameters") {
            let req = TaskRequest::from_json(body.clone())
                .unwrap_or_else(|e| panic!("{}: request: {e}", f.display()));
            assert_writable_only(&serde_json::to_value(&req).unwrap());
            tasks += 1;
        }
        for (status, resp) in doc["responses"].as_object().unwrap() {
            let Some(body) = resp.get("body") else {
                continue;
            };
            if body.as_object().is_some_and(|m| m.is_empty()) {
                continue; // DELETE answers carry no body
            }
            if f.ends_with("ServiceTasks_List.json") {
                let page: TaskList = serde_json::from_value(body.clone())
                    .unwrap_or_else(|e| panic!("{} {status}: {e}", f.display()));
                assert!(!page.value.is_empty());
                for t in &page.value {
                    assert!(t.name.is_some());
                    assert_writable_only(&serde_json::to_value(t.to_request()).unwrap());
                }
                tasks += page.value.len();
            } else {
                let t: ProjectTask = serde_json::from_value(body.clone())
                    .unwrap_or_else(|e| panic!("{} {status}: {e}", f.display()));
                assert_eq!(t.resource_type.as_deref(), Some(SERVICE_TASK_RESOURCE_TYPE));
                assert!(!t.task_type().as_str().is_empty());
                assert!(t.properties.state.is_some());
                assert_writable_only(&serde_json::to_value(t.to_request()).unwrap());
                tasks += 1;
            }
        }
    }
    assert!(tasks > 60, "{tasks}");
}

#[test]
fn example_check_task_reads_typed() {
    let t: ProjectTask = serde_json::from_value(json!({
        "properties": {"input": {"serverVersion": "NA"}, "taskType": "Service.Check.OCI", "state": "Queued"},
        "etag": "0vPYxzfnDaDH9yhOJAnqTyTRpa09Kb7pm+LEukDBbw8=",
        "id": "/subscriptions/x/resourceGroups/g/providers/Microsoft.DataMigration/services/s/serviceTasks/t",
        "name": "t", "type": "Microsoft.DataMigration/services/serviceTasks"
    }))
    .unwrap();
    assert_eq!(t.task_type(), TaskType::CheckOci);
    assert_eq!(t.state(), TaskState::Queued);
    match &t.properties.details {
        TaskDetails::CheckOci { input, output } => {
            assert_eq!(
                input.as_ref().unwrap().server_version.as_deref(),
                Some("NA")
            );
            assert!(output.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

/// The bodies of spec section 9, as the service sends them.
fn section9_bodies() -> Vec<Value> {
    let base = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/myResourceGroup/providers/Microsoft.DataMigration/services/myMigrationService/serviceTasks";
    let ty = "Microsoft.DataMigration/services/serviceTasks";
    vec![
        json!({"id": format!("{base}/checkOCIDriver"), "name": "checkOCIDriver", "type": ty,
               "etag": "0vPYxzfnDaDH9yhOJAnqTyTRpa09Kb7pm+LEukDBbw8=",
               "properties": {"taskType": "Service.Check.OCI", "input": {"serverVersion": "12.2"}, "state": "Queued"}}),
        json!({"id": format!("{base}/checkOCIDriver"), "name": "checkOCIDriver", "type": ty, "etag": "e",
               "properties": {"taskType": "Service.Check.OCI", "input": {"serverVersion": "12.2"}, "state": "Running"}}),
        json!({"id": format!("{base}/checkOCIDriver"), "name": "checkOCIDriver", "type": ty, "etag": "e",
               "properties": {"taskType": "Service.Check.OCI", "input": {"serverVersion": "12.2"}, "state": "Succeeded",
                 "output": [{"installedDriver": {
                     "driverName": "instantclient-basiclite-windows.x64-12.2.0.1.0.zip",
                     "driverSize": "33554432", "archiveChecksum": "q7Uf0dVQ0bqH4yZq5qkqfQ==",
                     "oracleChecksum": "2c1a0f6b0e3f5e8d9a7b6c5d4e3f2a1b", "assemblyVersion": "12.2.0.1.0",
                     "supportedOracleVersions": ["11.2", "12.1", "12.2", "18.0", "19.0"]},
                   "validationErrors": []}]}}),
        json!({"id": format!("{base}/checkOCIDriver"), "name": "checkOCIDriver", "type": ty, "etag": "e",
               "properties": {"taskType": "Service.Check.OCI", "state": "Succeeded",
                 "output": [{"validationErrors": [{"message": "No Oracle OCI driver is installed on the service.",
                     "actionableMessage": "Run a Service.Upload.OCI task, then Service.Install.OCI.",
                     "hResult": -2146233088}]}]}}),
        json!({"id": format!("{base}/checkOCIDriver"), "name": "checkOCIDriver", "type": ty, "etag": "<new etag>",
               "properties": {"taskType": "Service.Check.OCI", "input": {"serverVersion": "12.2"},
                 "clientData": {"owner": "dmsform"}, "state": "Succeeded"}}),
        json!({"id": format!("{base}/uploadOCIDriver"), "name": "uploadOCIDriver", "type": ty, "etag": "e",
               "properties": {"taskType": "Service.Upload.OCI",
                 "input": {"driverShare": {"path": "\\\\fileserver\\oci\\instantclient-basiclite-windows.x64-12.2.0.1.0.zip",
                                           "userName": "CONTOSO\\dmsuser",
                                           "password": "zqa7haX9YV2rQb6/o9rZj3Us2yOsPmf4qcAwOnz+bdk="},
                           "encryptedKeyForSecureFields": "P82xtQis7q7oUn7A=="},
                 "state": "Queued"}}),
        json!({"id": format!("{base}/uploadOCIDriver"), "name": "uploadOCIDriver", "type": ty, "etag": "e",
               "properties": {"taskType": "Service.Upload.OCI",
                 "input": {"driverShare": {"path": "\\\\fileserver\\oci\\x.zip", "userName": "CONTOSO\\dmsuser"}},
                 "state": "Succeeded",
                 "output": [{"driverPackageName": "instantclient-basiclite-windows.x64-12.2.0.1.0.zip", "validationErrors": []}]}}),
        json!({"id": format!("{base}/uploadOCIDriver"), "name": "uploadOCIDriver", "type": ty, "etag": "e",
               "properties": {"taskType": "Service.Upload.OCI",
                 "input": {"driverShare": {"path": "\\\\fileserver\\oci\\missing.zip", "userName": "CONTOSO\\dmsuser"}},
                 "state": "Failed",
                 "output": [{"validationErrors": [{"message": "The driver archive could not be read.",
                     "actionableMessage": "Check the share path and credentials.", "hResult": -2147024894}]}]}}),
        json!({"id": format!("{base}/uploadOCIDriver"), "name": "uploadOCIDriver", "type": ty,
               "etag": "YEIaLL1XRKvEt7ApEI1kY+Mhpo4a7rIfhRok38HCgzo=",
               "properties": {"taskType": "Service.Upload.OCI", "input": {}, "state": "Canceling"}}),
        json!({"id": format!("{base}/installOCIDriver"), "name": "installOCIDriver", "type": ty, "etag": "e",
               "properties": {"taskType": "Service.Install.OCI",
                 "input": {"driverPackageName": "instantclient-basiclite-windows.x64-12.2.0.1.0.zip"}, "state": "Queued"}}),
        json!({"id": format!("{base}/installOCIDriver"), "name": "installOCIDriver", "type": ty, "etag": "e",
               "properties": {"taskType": "Service.Install.OCI", "state": "Succeeded", "output": [{"validationErrors": []}]}}),
        json!({"id": format!("{base}/installOCIDriver"), "name": "installOCIDriver", "type": ty, "etag": "e",
               "properties": {"taskType": "Service.Install.OCI", "state": "FailedInputValidation",
                 "output": [{"validationErrors": [{"message": "Driver package 'x.zip' has not been uploaded."}]}]}}),
    ]
}

#[test]
fn section9_task_bodies_deserialize() {
    for body in section9_bodies() {
        let t: ProjectTask =
            serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{body}: {e}"));
        assert!(!matches!(t.properties.details, TaskDetails::Other { .. }));
        assert_writable_only(&serde_json::to_value(t.to_request()).unwrap());
    }
    let check: ProjectTask = serde_json::from_value(section9_bodies()[2].clone()).unwrap();
    let TaskDetails::CheckOci { output, .. } = &check.properties.details else {
        panic!("not a check task");
    };
    let drv = output[0].installed_driver.as_ref().unwrap();
    assert_eq!(drv.driver_size.as_deref(), Some("33554432"));
    assert_eq!(drv.supported_oracle_versions.len(), 5);

    let up: ProjectTask = serde_json::from_value(section9_bodies()[5].clone()).unwrap();
    let TaskDetails::UploadOci { input, .. } = &up.properties.details else {
        panic!("not an upload task");
    };
    let input = input.as_ref().unwrap();
    assert!(input.extra.contains_key("encryptedKeyForSecureFields"));
    let Some(DriverShare::File(fs)) = &input.driver_share else {
        panic!("file share expected");
    };
    assert_eq!(fs.user_name.as_deref(), Some("CONTOSO\\dmsuser"));
    assert!(!format!("{up:?}").contains("zqa7haX9YV2rQb6"));
    let shown = up.to_redacted_json().to_string();
    assert!(!shown.contains("zqa7haX9YV2rQb6"), "{shown}");
    assert!(!shown.contains("P82xtQis7q7oUn7A"), "{shown}");

    let failed: ProjectTask = serde_json::from_value(section9_bodies()[7].clone()).unwrap();
    assert_eq!(
        failed.properties.details.validation_errors()[0].h_result,
        Some(-2147024894)
    );
    let canceling: ProjectTask = serde_json::from_value(section9_bodies()[8].clone()).unwrap();
    assert_eq!(canceling.state(), TaskState::Canceling);
    assert!(!canceling.state().is_terminal());
}

#[test]
fn section9_list_and_error_bodies_deserialize() {
    let page: TaskList = serde_json::from_value(json!({"value": [
        {"id": "…/serviceTasks/checkOCIDriver", "name": "checkOCIDriver", "type": "Microsoft.DataMigration/services/serviceTasks",
         "properties": {"taskType": "Service.Check.OCI", "input": {"serverVersion": "12.2"}, "state": "Succeeded"}},
        {"id": "…/serviceTasks/installOCIDriver", "name": "installOCIDriver", "type": "…",
         "properties": {"taskType": "Service.Install.OCI", "input": {}, "state": "Running"}}
    ], "nextLink": "https://management.azure.com/subscriptions/x/serviceTasks?api-version=2025-06-30&taskType=Service.Check.OCI&%24skiptoken=MQ%3D%3D"}))
    .unwrap();
    assert_eq!(page.value.len(), 2);
    assert!(page.value[0].etag.is_none());
    assert!(page.next_link.is_some());

    let err: ApiErrorBody =
        serde_json::from_value(json!({"error": {"code": "InvalidRequestContent",
        "message": "The property 'taskType' is required.", "details": []}}))
        .unwrap();
    assert_eq!(
        err.error.unwrap().code.as_deref(),
        Some("InvalidRequestContent")
    );
    let err: ApiErrorBody = serde_json::from_value(json!({"error": {"code": "TooManyRequests",
        "message": "…", "target": "x", "details": [{"code": "Inner", "message": "m"}]}}))
    .unwrap();
    let e = err.error.unwrap();
    assert_eq!(e.details[0].code.as_deref(), Some("Inner"));
    assert_eq!(e.extra["target"], "x");
}

#[test]
fn unknown_states_types_and_fields_are_kept() {
    let t: ProjectTask = serde_json::from_value(json!({
        "name": "x", "futureTopLevel": 1,
        "properties": {"taskType": "ConnectToSource.MySql", "state": "Hibernating",
                       "input": {"sourceConnectionInfo": {"port": 3306}},
                       "output": null, "errors": null, "newProp": {"a": 1}}
    }))
    .unwrap();
    assert_eq!(
        t.task_type(),
        TaskType::Other("ConnectToSource.MySql".into())
    );
    assert_eq!(t.state(), TaskState::Other("Hibernating".into()));
    assert!(!t.state().is_terminal());
    assert_eq!(t.extra["futureTopLevel"], 1);
    assert_eq!(t.properties.extra["newProp"]["a"], 1);
    let req = serde_json::to_value(t.to_request()).unwrap();
    assert_eq!(
        req["properties"]["input"]["sourceConnectionInfo"]["port"],
        3306
    );
    assert_writable_only(&req);

    let bare: ProjectTask =
        serde_json::from_value(json!({"properties": {"taskType": "Service.Install.OCI"}})).unwrap();
    assert_eq!(bare.state(), TaskState::Unknown);
    let odd: ProjectTask = serde_json::from_value(json!({"properties": {"taskType": "Service.Check.OCI",
        "state": "Succeeded", "output": [{"validationErrors": null, "installedDriver": null, "extraOut": true}]}}))
    .unwrap();
    let TaskDetails::CheckOci { output, .. } = odd.properties.details else {
        panic!()
    };
    assert!(output[0].validation_errors.is_empty());
    assert!(output[0].installed_driver.is_none());
    assert_eq!(output[0].extra["extraOut"], true);
}

#[test]
fn installed_driver_accepts_object_and_map_of_arrays() {
    let object: CheckOciDriverOutput = serde_json::from_value(json!({
        "installedDriver": {"driverName": "a.zip", "supportedOracleVersions": ["19.0"]}}))
    .unwrap();
    assert_eq!(
        object.installed_driver.unwrap().driver_name.as_deref(),
        Some("a.zip")
    );

    let map: CheckOciDriverOutput = serde_json::from_value(json!({
        "installedDriver": {"empty": [], "oci": [{"driverName": "b.zip", "driverSize": 12}, {"driverName": "c.zip"}]}}))
    .unwrap();
    let d = map.installed_driver.unwrap();
    assert_eq!(d.driver_name.as_deref(), Some("b.zip"));
    assert_eq!(d.driver_size.as_deref(), Some("12"));

    let only_versions: CheckOciDriverOutput = serde_json::from_value(json!({
        "installedDriver": {"supportedOracleVersions": ["19.0"]}}))
    .unwrap();
    assert_eq!(
        only_versions
            .installed_driver
            .unwrap()
            .supported_oracle_versions,
        ["19.0"]
    );

    let empty_map: CheckOciDriverOutput =
        serde_json::from_value(json!({"installedDriver": {"x": []}})).unwrap();
    assert!(empty_map.installed_driver.is_none());
}

#[test]
fn request_serialization_is_minimal_and_ordered() {
    let req = TaskRequest::upload(UploadOciDriverInput {
        driver_share: Some(DriverShare::File(FileShare {
            path: Some("\\\\h\\s\\d.zip".into()),
            user_name: Some("u".into()),
            password: Some(SecretString::new("pw-123")),
            extra: Map::new(),
        })),
        extra: Map::new(),
    })
    .with_client_data(BTreeMap::from([("owner".into(), "dmsform".into())]));
    let body = serde_json::to_value(&req).unwrap();
    assert_writable_only(&body);
    assert_eq!(body["properties"]["taskType"], "Service.Upload.OCI");
    assert_eq!(
        body["properties"]["input"]["driverShare"]["password"],
        "pw-123"
    );
    assert_eq!(body["properties"]["clientData"]["owner"], "dmsform");
    assert!(!format!("{req:?}").contains("pw-123"));

    let blob = TaskRequest::upload(UploadOciDriverInput {
        driver_share: Some(DriverShare::Blob(BlobShare {
            sas_uri: Some(SecretString::new("https://a/c?sig=s3cr3t")),
            extra: Map::new(),
        })),
        extra: Map::new(),
    });
    let body = serde_json::to_value(&blob).unwrap();
    assert_eq!(
        body["properties"]["input"]["driverShare"]["sasUri"],
        "https://a/c?sig=s3cr3t"
    );
    assert!(!format!("{blob:?}").contains("s3cr3t"));
    let back = TaskRequest::from_json(body).unwrap();
    assert_eq!(back, blob);

    let check = serde_json::to_string(&TaskRequest::check(CheckOciDriverInput::default())).unwrap();
    assert_eq!(
        check,
        r#"{"properties":{"taskType":"Service.Check.OCI","input":{}}}"#
    );
}

#[test]
fn request_from_json_rejects_missing_task_type_and_drops_read_only() {
    assert!(TaskRequest::from_json(json!({"properties": {"input": {}}})).is_err());
    let req = TaskRequest::from_json(json!({"id": "x", "etag": "e", "properties": {
        "taskType": "Service.Install.OCI", "state": "Succeeded", "errors": [], "output": [{"validationErrors": []}],
        "input": {"driverPackageName": "p.zip"}}}))
    .unwrap();
    let body = serde_json::to_value(&req).unwrap();
    assert_writable_only(&body);
    assert_eq!(body["properties"]["input"]["driverPackageName"], "p.zip");
    let bare = TaskRequest::from_json(
        json!({"taskType": "Service.Check.OCI", "input": {"serverVersion": "19.0"}}),
    )
    .unwrap();
    assert_eq!(bare.task_type, "Service.Check.OCI");
}

#[test]
fn terminal_states() {
    for (s, terminal) in [
        ("Unknown", false),
        ("Queued", false),
        ("Running", false),
        ("Canceling", false),
        ("Canceled", true),
        ("Succeeded", true),
        ("Failed", true),
        ("FailedInputValidation", true),
        ("Faulted", true),
        ("succeeded", false),
    ] {
        let st = TaskState::parse(s);
        assert_eq!(st.is_terminal(), terminal, "{s}");
        assert_eq!(st.as_str(), s);
    }
}
