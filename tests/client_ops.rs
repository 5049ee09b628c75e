//! Every operation of the DMS client, for each OCI task type, against the real emulator.

mod client_common;

use client_common::*;
use dmsform::providers::dms::models::{
    CheckOciDriverInput, DriverShare, FileShare, InstallOciDriverInput, TaskDetails,
    UploadOciDriverInput,
};
use dmsform::providers::dms::secret::SecretString;
use dmsform::providers::dms::{
    DeleteOutcome, DmsClient, DmsError, Expand, PollOptions, ProjectTask, ServiceRef, TaskRequest,
    TaskState, TaskType, WaitOutcome, wait_until_terminal,
};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn quick_poll() -> PollOptions {
    PollOptions {
        first_interval: Duration::from_millis(50),
        max_interval: Duration::from_millis(150),
        ..PollOptions::default()
    }
}

async fn finish(c: &DmsClient, svc: &ServiceRef, name: &str) -> ProjectTask {
    let never = CancellationToken::new();
    match wait_until_terminal(c, svc, name, &quick_poll(), &never, &mut |_| {})
        .await
        .unwrap()
    {
        WaitOutcome::Finished(t) => t,
        other => panic!("{other:?}"),
    }
}

fn check(version: &str) -> TaskRequest {
    TaskRequest::check(CheckOciDriverInput {
        server_version: Some(version.into()),
        ..Default::default()
    })
}

fn upload(env: &Env, password: &str) -> TaskRequest {
    TaskRequest::upload(UploadOciDriverInput {
        driver_share: Some(DriverShare::File(FileShare {
            path: Some(env.share_path()),
            user_name: Some(SHARE_USER.into()),
            password: Some(SecretString::new(password)),
            ..Default::default()
        })),
        ..Default::default()
    })
}

fn install(package: &str) -> TaskRequest {
    TaskRequest::install(InstallOciDriverInput {
        driver_package_name: Some(package.into()),
        ..Default::default()
    })
}

#[tokio::test]
async fn upload_install_check_through_every_operation() {
    let env = start(Timings::default()).await;
    let (c, svc) = (&env.client, &env.svc);

    // Upload: PUT creates (201), a second PUT replaces (200).
    let put = c
        .create_or_update(svc, "upload1", &upload(&env, SHARE_PASSWORD))
        .await
        .unwrap();
    assert!(put.created);
    assert_eq!(put.task.state(), TaskState::Queued);
    assert_eq!(put.task.task_type(), TaskType::UploadOci);
    assert_eq!(put.task.name.as_deref(), Some("upload1"));
    assert!(put.task.etag.is_some());
    let again = c
        .create_or_update(svc, "upload1", &upload(&env, SHARE_PASSWORD))
        .await
        .unwrap();
    assert!(!again.created);
    let done = finish(c, svc, "upload1").await;
    assert_eq!(done.state(), TaskState::Succeeded, "{done:?}");
    let TaskDetails::UploadOci { output, input } = &done.properties.details else {
        panic!("{done:?}")
    };
    let package = output[0].driver_package_name.clone().unwrap();
    assert_eq!(package, DRIVER_ZIP);
    // the service never echoes the clear-text password
    let Some(DriverShare::File(share)) = &input.as_ref().unwrap().driver_share else {
        panic!("no share echoed")
    };
    assert_ne!(
        share.password.as_ref().map(|p| p.expose()),
        Some(SHARE_PASSWORD)
    );

    // GET without expand carries no output; with expand it does.
    let plain = c.get(svc, "upload1", Expand::None).await.unwrap();
    assert!(plain.properties.details.output_json().is_empty());
    let expanded = c.get(svc, "upload1", Expand::Output).await.unwrap();
    assert_eq!(expanded.properties.details.output_json().len(), 1);

    // Install the uploaded package, then Check finds it.
    assert!(
        c.create_or_update(svc, "install1", &install(&package))
            .await
            .unwrap()
            .created
    );
    let inst = finish(c, svc, "install1").await;
    assert_eq!(inst.state(), TaskState::Succeeded, "{inst:?}");
    assert!(inst.properties.details.validation_errors().is_empty());

    c.create_or_update(svc, "check1", &check("19.0"))
        .await
        .unwrap();
    let chk = finish(c, svc, "check1").await;
    assert_eq!(chk.state(), TaskState::Succeeded);
    let TaskDetails::CheckOci { output, .. } = &chk.properties.details else {
        panic!()
    };
    let drv = output[0]
        .installed_driver
        .as_ref()
        .expect("driver installed");
    assert_eq!(drv.driver_name.as_deref(), Some(DRIVER_ZIP));
    assert!(
        drv.supported_oracle_versions.contains(&"19.0".to_string()),
        "{drv:?}"
    );

    // PATCH client data on each type.
    for name in ["upload1", "install1", "check1"] {
        let cur = c.get(svc, name, Expand::None).await.unwrap();
        let req = cur
            .to_request()
            .with_client_data(BTreeMap::from([("owner".into(), name.into())]));
        let upd = c.update(svc, name, &req).await.unwrap();
        assert_eq!(upd.properties.client_data.as_ref().unwrap()["owner"], name);
        let back = c.get(svc, name, Expand::None).await.unwrap();
        assert_eq!(back.properties.client_data.unwrap()["owner"], name);
    }

    // List sees all three.
    let all = c.list(svc, None).await.unwrap();
    let mut names: Vec<_> = all.iter().filter_map(|t| t.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["check1", "install1", "upload1"]);

    // Cancel on a finished task answers without harm (200, unchanged) or a 4xx.
    match c.cancel(svc, "check1").await {
        Ok(t) => assert!(t.state().is_terminal()),
        Err(e) => assert!(matches!(e.status(), Some(400..=499)), "{e}"),
    }

    // DELETE 200, then 204, then GET 404 with an empty body.
    for name in ["upload1", "install1", "check1"] {
        assert_eq!(
            c.delete(svc, name, false).await.unwrap(),
            DeleteOutcome::Deleted
        );
        assert_eq!(
            c.delete(svc, name, false).await.unwrap(),
            DeleteOutcome::NotFound
        );
        let err = c.get(svc, name, Expand::None).await.unwrap_err();
        assert!(err.is_not_found(), "{err}");
        assert!(
            c.get_if_exists(svc, name, Expand::Output)
                .await
                .unwrap()
                .is_none()
        );
    }
    let q = env.logged("DELETE", "/serviceTasks/check1").await;
    assert!(
        q.iter()
            .all(|r| !r["query"].as_str().unwrap().contains("deleteRunningTasks"))
    );
    env.shutdown().await;
}

#[tokio::test]
async fn cancel_and_delete_running_tasks_of_each_type() {
    let env = start(Timings {
        queued_ms: 100,
        run_ms: 5_000,
        cancel_ms: 200,
        ..Timings::default()
    })
    .await;
    let (c, svc) = (&env.client, &env.svc);
    let reqs = [
        ("c", check("19.0")),
        ("u", upload(&env, SHARE_PASSWORD)),
        ("i", install("missing.zip")),
    ];
    for (name, req) in &reqs {
        c.create_or_update(svc, name, req).await.unwrap();
    }
    // cancel each: the task reports Canceling, then Canceled
    for (name, _) in &reqs {
        let t = c.cancel(svc, name).await.unwrap();
        assert!(
            matches!(t.state(), TaskState::Canceling | TaskState::Canceled),
            "{name}: {:?}",
            t.state()
        );
    }
    for (name, _) in &reqs {
        assert_eq!(
            finish(c, svc, name).await.state(),
            TaskState::Canceled,
            "{name}"
        );
    }
    let posts = env.logged("POST", "/c/cancel").await;
    assert_eq!(posts.len(), 1);

    // delete of a running task: refused without the flag, done with it
    for (name, req) in &reqs {
        c.create_or_update(svc, name, req).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    for (name, _) in &reqs {
        let running = c.get(svc, name, Expand::None).await.unwrap();
        assert_eq!(running.state(), TaskState::Running, "{name}");
        let err = c.delete(svc, name, false).await.unwrap_err();
        assert_eq!(err.status(), Some(409), "{err}");
        assert_eq!(
            c.delete(svc, name, true).await.unwrap(),
            DeleteOutcome::Deleted
        );
    }
    let dels = env.logged("DELETE", "/serviceTasks/u").await;
    assert_eq!(dels.len(), 2);
    assert!(
        dels[1]["query"]
            .as_str()
            .unwrap()
            .contains("deleteRunningTasks=true")
    );
    env.shutdown().await;
}

#[tokio::test]
async fn list_follows_next_link_across_pages_with_a_filter() {
    let env = start(Timings {
        page_size: 2,
        ..Timings::default()
    })
    .await;
    let (c, svc) = (&env.client, &env.svc);
    for i in 0..5 {
        c.create_or_update(svc, &format!("chk{i}"), &check("19.0"))
            .await
            .unwrap();
    }
    for i in 0..3 {
        c.create_or_update(svc, &format!("inst{i}"), &install("p.zip"))
            .await
            .unwrap();
    }
    env.clear_requests().await;
    let checks = c.list(svc, Some(TaskType::CHECK_OCI)).await.unwrap();
    let mut names: Vec<_> = checks.iter().filter_map(|t| t.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["chk0", "chk1", "chk2", "chk3", "chk4"]);
    assert!(checks.iter().all(|t| t.task_type() == TaskType::CheckOci));
    let pages = env.logged("GET", "/serviceTasks").await;
    assert_eq!(pages.len(), 3, "{pages:?}");
    for p in &pages {
        let q = p["query"].as_str().unwrap();
        assert!(q.contains("api-version=2025-06-30"), "{q}");
        assert!(q.contains("taskType=Service.Check.OCI"), "{q}");
    }
    assert_eq!(c.list(svc, None).await.unwrap().len(), 8);
    assert_eq!(
        c.list(svc, Some(TaskType::INSTALL_OCI))
            .await
            .unwrap()
            .len(),
        3
    );
    assert!(
        c.list(svc, Some(TaskType::UPLOAD_OCI))
            .await
            .unwrap()
            .is_empty()
    );
    env.shutdown().await;
}

#[tokio::test]
async fn request_wire_details() {
    let env = start(Timings::default()).await;
    let (c, svc) = (&env.client, &env.svc);
    c.create_or_update(svc, "w1", &check("12.2")).await.unwrap();
    c.get(svc, "w1", Expand::Output).await.unwrap();
    c.cancel(svc, "w1").await.unwrap();
    let log = env.requests().await;
    let put = log.iter().find(|r| r["method"] == "PUT").unwrap();
    assert_eq!(put["query"], "api-version=2025-06-30");
    let get = log.iter().find(|r| r["method"] == "GET").unwrap();
    assert_eq!(get["query"], "api-version=2025-06-30&$expand=output");
    let post = log.iter().find(|r| r["method"] == "POST").unwrap();
    assert!(
        post["path"]
            .as_str()
            .unwrap()
            .ends_with("/serviceTasks/w1/cancel")
    );
    assert_eq!(post["status"], 200);

    // an api-version the service does not know is an ARM 400 with a code
    let other = dmsform::providers::dms::DmsClient::new(
        dmsform::providers::dms::ClientOptions {
            endpoint: env.base.clone(),
            api_version: "2017-01-01".into(),
            ..Default::default()
        },
        std::sync::Arc::new(dmsform::providers::dms::auth::StaticToken::new(
            SecretString::new("x"),
        )),
    )
    .unwrap();
    let err = other.get(svc, "w1", Expand::None).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.code().is_some(), "{err}");
    assert!(err.request_id().is_some(), "{err}");
    assert!(matches!(err, DmsError::Api(_)));
    env.shutdown().await;
}

#[tokio::test]
async fn every_api_version_the_emulator_serves_reads_back() {
    let env = start(Timings {
        queued_ms: 20,
        run_ms: 40,
        ..Timings::default()
    })
    .await;
    for (i, version) in dmsform::emulator::API_VERSIONS.iter().enumerate() {
        let c = dmsform::providers::dms::DmsClient::new(
            dmsform::providers::dms::ClientOptions {
                endpoint: env.base.clone(),
                api_version: version.to_string(),
                retry: fast_retry(),
                ..Default::default()
            },
            std::sync::Arc::new(dmsform::providers::dms::auth::StaticToken::new(
                SecretString::new("x"),
            )),
        )
        .unwrap();
        let name = format!("v{i}");
        c.create_or_update(&env.svc, &name, &check("19.0"))
            .await
            .unwrap();
        let done = finish(&c, &env.svc, &name).await;
        assert_eq!(done.state(), TaskState::Succeeded, "{version}");
        assert_eq!(done.properties.details.output_json().len(), 1, "{version}");
        assert!(
            c.list(&env.svc, Some(TaskType::CHECK_OCI))
                .await
                .unwrap()
                .len()
                > i
        );
        let log = env.logged("GET", &format!("/serviceTasks/{name}")).await;
        assert!(log.iter().all(|r| {
            r["query"]
                .as_str()
                .unwrap()
                .starts_with(&format!("api-version={version}"))
        }));
    }
    env.shutdown().await;
}
