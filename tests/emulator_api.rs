//! The emulator's HTTP surface: every status code and error envelope of the spec's
//! operations (§4) and ARM conventions (§7), over real HTTP.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn put_get_patch_cancel_delete_status_codes() {
    let emu = Emu::start(|c| c.run_for = std::time::Duration::from_secs(30)).await;
    let url = emu.task_url("svc", "check1");

    let created = emu.put("svc", "check1", check_body("19.0")).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        created.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let body = created.json();
    assert_eq!(body["properties"]["state"], "Queued");
    assert_eq!(
        body["type"],
        "Microsoft.DataMigration/services/serviceTasks"
    );
    assert_eq!(body["name"], "check1");
    assert!(
        body["id"]
            .as_str()
            .unwrap()
            .ends_with("/providers/Microsoft.DataMigration/services/svc/serviceTasks/check1")
    );
    let etag = body["etag"].as_str().unwrap().to_string();
    assert_eq!(etag.len(), 44);
    assert_eq!(created.header("etag"), Some(format!("\"{etag}\"").as_str()));
    assert!(body["properties"].get("output").is_none());
    for h in [
        "x-ms-request-id",
        "x-ms-correlation-request-id",
        "x-ms-ratelimit-remaining-subscription-writes",
    ] {
        assert!(created.header(h).is_some(), "missing {h}");
    }
    assert_eq!(created.header("cache-control"), Some("no-cache"));

    // Same PUT again: 200, restarted.
    let again = emu.put("svc", "CHECK1", check_body("19.0")).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        again.json()["name"],
        "check1",
        "the casing of creation is kept"
    );

    // GET: 200 with the ETag header; the etag changes when the state does.
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let got = emu
        .req(Method::GET, &format!("{url}?api-version={V}"), None)
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json()["properties"]["state"], "Running");
    assert_ne!(got.json()["etag"], again.json()["etag"]);
    assert!(
        got.json()["properties"].get("output").is_none(),
        "no output without $expand"
    );
    let expanded = emu
        .req(
            Method::GET,
            &format!("{url}?api-version={V}&%24expand=output"),
            None,
        )
        .await;
    assert!(expanded.json()["properties"]["output"].is_array());

    // PATCH: clientData replaced, new etag, 200.
    let patched = emu
        .req(
            Method::PATCH,
            &format!("{url}?api-version={V}"),
            Some(json!({"etag": "ignored", "properties": {"taskType": "Service.Check.OCI", "clientData": {"owner": "me"}}})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(
        patched.json()["properties"]["clientData"],
        json!({"owner": "me"})
    );
    let bad_patch = emu
        .req(
            Method::PATCH,
            &format!("{url}?api-version={V}"),
            Some(json!({"properties": {"taskType": "Service.Install.OCI"}})),
        )
        .await;
    assert_eq!(bad_patch.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_patch.code(), "InvalidRequestContent");

    // DELETE of a running task without the flag: 409 TaskIsRunning.
    let conflict = emu
        .req(Method::DELETE, &format!("{url}?api-version={V}"), None)
        .await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert_eq!(conflict.code(), "TaskIsRunning");

    // Cancel: 200 Canceling, then Canceled.
    let canceled = emu
        .req(Method::POST, &format!("{url}/cancel?api-version={V}"), None)
        .await;
    assert_eq!(canceled.status, StatusCode::OK);
    assert_eq!(canceled.json()["properties"]["state"], "Canceling");
    assert_eq!(state(&emu.wait("svc", "check1").await), "Canceled");

    // DELETE: 200 empty, then GET 404 empty, then DELETE 204.
    let deleted = emu
        .req(Method::DELETE, &format!("{url}?api-version={V}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.text, "");
    assert_eq!(deleted.header("content-length"), Some("0"));
    assert!(
        deleted
            .header("x-ms-ratelimit-remaining-subscription-deletes")
            .is_some()
    );
    let gone = emu
        .req(Method::GET, &format!("{url}?api-version={V}"), None)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        gone.text, "",
        "a missing task is an empty 404, like the real service"
    );
    assert_eq!(
        emu.req(Method::DELETE, &format!("{url}?api-version={V}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    for (m, suffix) in [(Method::PATCH, ""), (Method::POST, "/cancel")] {
        let r = emu
            .req(
                m,
                &format!("{url}{suffix}?api-version={V}"),
                Some(json!({"properties": {"taskType": "Service.Check.OCI"}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn delete_running_with_flag_and_lenient_mode() {
    let emu = Emu::start(|c| c.run_for = std::time::Duration::from_secs(30)).await;
    emu.put("svc", "t", check_body("19.0")).await;
    let r = emu
        .req(
            Method::DELETE,
            &format!(
                "{}?api-version={V}&deleteRunningTasks=true",
                emu.task_url("svc", "t")
            ),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    let lenient = Emu::start(|c| {
        c.run_for = std::time::Duration::from_secs(30);
        c.lenient_delete = true;
    })
    .await;
    lenient.put("svc", "t", check_body("19.0")).await;
    let r = lenient
        .req(
            Method::DELETE,
            &format!("{}?api-version={V}", lenient.task_url("svc", "t")),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn front_door_errors() {
    let emu = Emu::start(|c| c.services = Some(vec!["svc".into()])).await;
    let url = emu.task_url("svc", "t");

    let r = emu
        .req_with(Method::GET, &format!("{url}?api-version={V}"), None, None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "AuthenticationFailed");
    assert!(r.json()["error"]["message"].is_string());
    assert!(r.json()["error"]["details"].is_array());

    let r = emu.req(Method::GET, &url, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "MissingApiVersionParameter");

    let r = emu
        .req(Method::GET, &format!("{url}?api-version=2018-04-19"), None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "NoRegisteredProviderFound");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2025-06-30")
    );

    let r = emu
        .req(
            Method::GET,
            &format!("{}?api-version={V}", emu.task_url("other", "t")),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "ParentResourceNotFound");

    let r = emu
        .req(Method::POST, &format!("{url}?api-version={V}"), None)
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);

    let r = emu
        .req(
            Method::GET,
            &format!("{}/subscriptions/x/unknown?api-version={V}", emu.base),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "NotFound");

    // Body errors: not JSON, no properties, no taskType, bad clientData.
    let raw = emu
        .http
        .put(format!("{url}?api-version={V}"))
        .bearer_auth("x")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    for body in [
        json!({"nope": 1}),
        json!({"properties": {"input": {}}}),
        json!({"properties": {"taskType": "Service.Check.OCI", "clientData": {"a": 1}}}),
        json!({"properties": {"taskType": "Service.Check.OCI", "input": "x"}}),
    ] {
        let r = emu.put("svc", "t", body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.code(), "InvalidRequestContent");
    }

    // Every api-version of the spec is served.
    for v in dmsform::emulator::API_VERSIONS {
        let r = emu
            .req(
                Method::GET,
                &format!("{}?api-version={v}", emu.tasks_url("svc")),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{v}");
    }
}

#[tokio::test]
async fn fixed_token_is_enforced() {
    let emu = Emu::start(|c| c.token = Some("secret-token".into())).await;
    let url = format!("{}?api-version={V}", emu.tasks_url("svc"));
    let r = emu.req_with(Method::GET, &url, None, Some("other")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "InvalidAuthenticationToken");
    assert_eq!(
        emu.req_with(Method::GET, &url, None, Some("secret-token"))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn list_pages_keep_the_filter() {
    let emu = Emu::start(|c| c.page_size = 2).await;
    for i in 0..5 {
        emu.put("svc", &format!("check{i}"), check_body("19.0"))
            .await;
        emu.put("svc", &format!("install{i}"), install_body("x.zip"))
            .await;
    }
    emu.put("other", "checkX", check_body("19.0")).await;

    let mut url = format!(
        "{}?api-version={V}&taskType=Service.Check.OCI",
        emu.tasks_url("svc")
    );
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let r = emu.req(Method::GET, &url, None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.header("etag").is_none());
        let body = r.json();
        for item in body["value"].as_array().unwrap() {
            assert!(item.get("etag").is_none(), "list items carry no etag");
            assert!(item["properties"].get("output").is_none());
            assert_eq!(item["properties"]["taskType"], "Service.Check.OCI");
            names.push(item["name"].as_str().unwrap().to_string());
        }
        pages += 1;
        match body.get("nextLink").and_then(|l| l.as_str()) {
            Some(next) => {
                assert!(
                    next.starts_with("http://127.0.0.1:"),
                    "absolute nextLink: {next}"
                );
                assert!(
                    next.contains("taskType=Service.Check.OCI"),
                    "nextLink keeps the filter: {next}"
                );
                url = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["check0", "check1", "check2", "check3", "check4"]);

    let all = emu
        .req(
            Method::GET,
            &format!("{}?api-version={V}", emu.tasks_url("svc")),
            None,
        )
        .await;
    assert_eq!(all.json()["value"].as_array().unwrap().len(), 2);
    assert!(all.json()["nextLink"].is_string());

    let empty = emu
        .req(
            Method::GET,
            &format!("{}?api-version={V}", emu.tasks_url("none")),
            None,
        )
        .await;
    assert_eq!(empty.json(), json!({"value": []}));

    let bad = emu
        .req(
            Method::GET,
            &format!(
                "{}?api-version={V}&%24skiptoken=%21%21",
                emu.tasks_url("svc")
            ),
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn secrets_are_masked_and_kept_out_of_the_data_directory() {
    let emu = Emu::start(|_| {}).await;
    let secret = "pa55-w0rd-never-on-disk";
    let sas = "https://acct.blob.core.windows.net/c?sv=2021-08-06&sig=TOPSECRETSIG";
    let r = emu
        .put(
            "svc",
            "up",
            upload_body(json!({"path": "\\\\h\\s", "userName": "u", "password": secret})),
        )
        .await;
    let input = &r.json()["properties"]["input"];
    assert_ne!(input["driverShare"]["password"], secret);
    assert_eq!(input["driverShare"]["password"].as_str().unwrap().len(), 44);
    assert!(input["encryptedKeyForSecureFields"].is_string());
    emu.put("svc", "up2", upload_body(json!({"sasUri": sas})))
        .await;
    emu.wait("svc", "up").await;
    emu.wait("svc", "up2").await;
    let listed = emu
        .req(
            Method::GET,
            &format!("{}?api-version={V}", emu.tasks_url("svc")),
            None,
        )
        .await;
    assert!(!listed.text.contains(secret) && !listed.text.contains("TOPSECRETSIG"));
    for entry in walk_files(emu.dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(secret),
            "{} holds the password",
            entry.display()
        );
        assert!(
            !text.contains("TOPSECRETSIG"),
            "{} holds the SAS",
            entry.display()
        );
    }
}
