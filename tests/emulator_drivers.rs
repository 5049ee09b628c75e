//! The emulator's real driver work: uploads from shares, local paths and blob containers,
//! installs and checks, and every wrong input with the validation error it produces.

mod common;

use common::*;
use dmsform::emulator::ShareRoot;
use serde_json::{Value, json};

const ZIP: &str = "instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip";

fn assert_failure(task: &Value, want_state: &str, needle: &str) {
    assert_eq!(state(task), want_state, "{task:#}");
    let err = first_error(task);
    let msg = err["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains(needle),
        "message {msg:?} should mention {needle:?}"
    );
    assert!(
        !err["actionableMessage"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{err}"
    );
    assert!(err["hResult"].is_i64(), "hResult is a number: {err}");
}

#[tokio::test]
async fn upload_install_check_from_a_share_with_credentials() {
    let share_dir = tempfile::tempdir().unwrap();
    let zip = driver_zip(Some((19, 19)), true);
    write_file(&share_dir.path().join("oci").join(ZIP), &zip);
    let root = format!(
        "FileServer/Drivers={},user=CONTOSO\\dms,password=right",
        share_dir.path().display()
    );
    let emu = Emu::start(|c| c.share_roots = vec![ShareRoot::parse(&root).unwrap()]).await;

    let denied = emu
        .run("svc", "up0", upload_body(json!({"path": "\\\\fileserver\\drivers\\oci", "userName": "CONTOSO\\dms", "password": "wrong"})))
        .await;
    assert_failure(&denied, "Failed", "denied");
    assert!(
        !denied.to_string().contains("wrong"),
        "the wrong password is not echoed"
    );
    let anonymous = emu
        .run(
            "svc",
            "up0",
            upload_body(json!({"path": "\\\\fileserver\\drivers\\oci"})),
        )
        .await;
    assert_failure(&anonymous, "Failed", "denied");

    // Folder with one zip, credentials right (user name case-insensitive).
    let up = emu
        .run("svc", "up", upload_body(json!({"path": "\\\\FILESERVER\\drivers\\oci", "userName": "contoso\\DMS", "password": "right"})))
        .await;
    assert_eq!(state(&up), "Succeeded", "{up:#}");
    assert_eq!(up["properties"]["output"][0]["driverPackageName"], ZIP);
    assert_eq!(up["properties"]["output"][0]["validationErrors"], json!([]));

    let inst = emu.run("svc", "inst", install_body(ZIP)).await;
    assert_eq!(state(&inst), "Succeeded", "{inst:#}");
    assert_eq!(
        inst["properties"]["output"],
        json!([{"validationErrors": []}])
    );

    let check = emu.run("svc", "check", check_body("19.3.0.0")).await;
    assert_eq!(state(&check), "Succeeded");
    let info = &check["properties"]["output"][0]["installedDriver"];
    assert_eq!(info["driverName"], ZIP);
    assert_eq!(info["driverSize"], zip.len().to_string());
    assert_eq!(info["assemblyVersion"], "19.19.0.0.0");
    use base64::Engine;
    use md5::Digest;
    assert_eq!(
        info["archiveChecksum"],
        base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(&zip))
    );
    assert_eq!(
        check["properties"]["output"][0]["validationErrors"],
        json!([])
    );

    // A server version the driver does not support: Succeeded with a validation error.
    let old = emu.run("svc", "check", check_body("10.2")).await;
    assert_failure(&old, "Succeeded", "does not support Oracle 10.2");
    let bad = emu.run("svc", "check", check_body("nineteen")).await;
    assert_failure(&bad, "FailedInputValidation", "not an Oracle version");

    // Check on another service: no driver installed there.
    let none = emu.run("svc2", "check", check_body("19.0")).await;
    assert_failure(&none, "Succeeded", "No Oracle OCI driver is installed");
    assert!(
        none["properties"]["output"][0]
            .get("installedDriver")
            .is_none()
    );
}

#[tokio::test]
async fn share_without_credentials_and_local_paths() {
    let share_dir = tempfile::tempdir().unwrap();
    let zip_path = write_file(
        &share_dir.path().join(ZIP),
        &driver_zip(Some((21, 3)), true),
    );
    let root = format!("fs/open={}", share_dir.path().display());
    let emu = Emu::start(|c| c.share_roots = vec![ShareRoot::parse(&root).unwrap()]).await;

    let unc = emu.run("svc", "a", upload_body(json!({"path": format!("\\\\fs\\open\\{ZIP}"), "userName": "any", "password": "thing"}))).await;
    assert_eq!(state(&unc), "Succeeded", "{unc:#}");
    let file_url = url::Url::from_file_path(&zip_path).unwrap().to_string();
    let by_url = emu
        .run("svc", "b", upload_body(json!({"path": file_url})))
        .await;
    assert_eq!(state(&by_url), "Succeeded", "{by_url:#}");
    let abs = emu
        .run(
            "svc",
            "c",
            upload_body(json!({"path": share_dir.path().display().to_string()})),
        )
        .await;
    assert_eq!(state(&abs), "Succeeded", "{abs:#}");
    emu.run("svc", "i", install_body(ZIP)).await;
    let check = emu.run("svc", "k", check_body("")).await;
    let info = &check["properties"]["output"][0]["installedDriver"];
    assert_eq!(info["assemblyVersion"], "21.3.0.0.0");
    assert_eq!(
        info["supportedOracleVersions"],
        json!(["12.1", "12.2", "18.0", "19.0", "21.0"])
    );
}

#[tokio::test]
async fn every_wrong_upload_input_has_its_validation_error() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    write_file(&p.join("empty/readme.txt"), b"no zip here");
    write_file(&p.join("two/a.zip"), &driver_zip(Some((19, 3)), true));
    write_file(&p.join("two/b.zip"), &driver_zip(Some((19, 3)), true));
    write_file(
        &p.join("corrupt/instantclient-x-19.3.0.0.0.zip"),
        b"PK\x03\x04 this is not really a zip",
    );
    write_file(
        &p.join("nodll/instantclient-x-19.3.0.0.0.zip"),
        &driver_zip(None, false),
    );
    write_file(&p.join("noversion/driver.zip"), &driver_zip(None, true));
    write_file(
        &p.join("named/instantclient-basic-windows.x64-12.2.0.1.0.zip"),
        &driver_zip(None, true),
    );
    let root = format!("fs/share={}", p.display());
    let emu = Emu::start(|c| c.share_roots = vec![ShareRoot::parse(&root).unwrap()]).await;
    let up = |path: &str| upload_body(json!({"path": path}));

    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "missing",
            up("\\\\fs\\share\\missing"),
            "Failed",
            "could not be found",
        ),
        (
            "noshare",
            up("\\\\otherhost\\share\\x.zip"),
            "Failed",
            "network path",
        ),
        (
            "empty",
            up("\\\\fs\\share\\empty"),
            "FailedInputValidation",
            "no .zip",
        ),
        (
            "two",
            up("\\\\fs\\share\\two"),
            "FailedInputValidation",
            "2 .zip archives",
        ),
        (
            "corrupt",
            up("\\\\fs\\share\\corrupt"),
            "Failed",
            "not a valid zip archive",
        ),
        (
            "nodll",
            up("\\\\fs\\share\\nodll"),
            "Failed",
            "does not contain oci.dll",
        ),
        (
            "noversion",
            up("\\\\fs\\share\\noversion"),
            "Failed",
            "version of oci.dll",
        ),
        (
            "relative",
            up("drivers\\x.zip"),
            "FailedInputValidation",
            "not a share path",
        ),
        (
            "dotdot",
            up("\\\\fs\\share\\..\\etc"),
            "FailedInputValidation",
            "'..'",
        ),
        (
            "noinput",
            json!({"properties": {"taskType": "Service.Upload.OCI"}}),
            "FailedInputValidation",
            "driverShare",
        ),
        (
            "nopath",
            upload_body(json!({"userName": "u"})),
            "FailedInputValidation",
            "driverShare.path",
        ),
        (
            "badsas",
            upload_body(json!({"sasUri": "not a url"})),
            "FailedInputValidation",
            "sasUri",
        ),
        (
            "nosig",
            upload_body(json!({"sasUri": "https://a.blob.core.windows.net/c?sv=1"})),
            "FailedInputValidation",
            "signature",
        ),
        (
            "unreachable",
            upload_body(json!({"sasUri": "http://127.0.0.1:1/devstoreaccount1/c?sv=1&sig=x"})),
            "Failed",
            "could not be reached",
        ),
    ];
    for (name, body, _, _) in &cases {
        emu.put("svc", name, body.clone()).await;
    }
    for (name, _, want_state, needle) in &cases {
        let t = emu.wait("svc", name).await;
        assert_failure(&t, want_state, needle);
    }
    // A version read from the file name when oci.dll has no version resource.
    let named = emu.run("svc", "named", up("\\\\fs\\share\\named")).await;
    assert_eq!(state(&named), "Succeeded", "{named:#}");
}

#[tokio::test]
async fn wrong_install_inputs_conflicts_and_damaged_packages() {
    let d = tempfile::tempdir().unwrap();
    write_file(
        &d.path().join("v1").join(ZIP),
        &driver_zip(Some((19, 19)), true),
    );
    write_file(
        &d.path().join("v2").join(ZIP),
        &driver_zip(Some((19, 20)), true),
    );
    let root = format!("fs/share={}", d.path().display());
    let emu = Emu::start(|c| {
        c.share_roots = vec![ShareRoot::parse(&root).unwrap()];
        c.run_for = std::time::Duration::from_millis(300);
    })
    .await;

    let none = emu
        .run(
            "svc",
            "i0",
            json!({"properties": {"taskType": "Service.Install.OCI", "input": {}}}),
        )
        .await;
    assert_failure(&none, "FailedInputValidation", "driverPackageName");
    let unknown = emu.run("svc", "i1", install_body("nope.zip")).await;
    assert_failure(&unknown, "FailedInputValidation", "has not been uploaded");

    assert_eq!(
        state(
            &emu.run(
                "svc",
                "u1",
                upload_body(json!({"path": "\\\\fs\\share\\v1"}))
            )
            .await
        ),
        "Succeeded"
    );
    // Same name, other bytes: a conflicting package.
    let conflict = emu
        .run(
            "svc",
            "u2",
            upload_body(json!({"path": "\\\\fs\\share\\v2"})),
        )
        .await;
    assert_failure(&conflict, "Failed", "different checksum");
    // Same bytes again: fine.
    assert_eq!(
        state(
            &emu.run(
                "svc",
                "u3",
                upload_body(json!({"path": "\\\\fs\\share\\v1"}))
            )
            .await
        ),
        "Succeeded"
    );

    // Two installs at once on one service: the later one fails.
    emu.put("svc", "ia", install_body(ZIP)).await;
    emu.put("svc", "ib", install_body(ZIP)).await;
    assert_eq!(state(&emu.wait("svc", "ia").await), "Succeeded");
    assert_failure(
        &emu.wait("svc", "ib").await,
        "Failed",
        "Another driver installation is in progress",
    );

    // Damage the stored archive: the next install fails.
    let packages: Vec<_> = walk_files(&emu.dir.path().join("data/services"))
        .into_iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("packages")))
        .collect();
    assert_eq!(packages.len(), 1, "{packages:?}");
    std::fs::write(&packages[0], b"damaged").unwrap();
    assert_failure(
        &emu.run("svc", "ic", install_body(ZIP)).await,
        "Failed",
        "damaged",
    );
}

#[tokio::test]
async fn upload_from_an_azurite_container_with_a_signed_sas() {
    let az = Azurite::start();
    let zip = driver_zip(Some((19, 19)), true);
    az.put_blobs("drivers", &[(ZIP, &zip), ("notes.txt", b"not a driver")])
        .await;
    az.put_blobs("two", &[("a.zip", &zip), ("b.zip", &zip)])
        .await;
    let emu = Emu::start(|_| {}).await;
    let sas = az.account_sas("rl", "2099-01-01T00:00:00Z");

    let up = emu
        .run(
            "svc",
            "blob",
            upload_body(json!({"sasUri": format!("{}/drivers?{sas}", az.blob_base)})),
        )
        .await;
    assert_eq!(state(&up), "Succeeded", "{up:#}");
    assert_eq!(up["properties"]["output"][0]["driverPackageName"], ZIP);
    let direct = emu
        .run(
            "svc",
            "blob2",
            upload_body(json!({"sasUri": format!("{}/drivers/{ZIP}?{sas}", az.blob_base)})),
        )
        .await;
    assert_eq!(state(&direct), "Succeeded", "{direct:#}");
    emu.run("svc", "inst", install_body(ZIP)).await;
    let check = emu.run("svc", "check", check_body("19.0")).await;
    assert_eq!(
        check["properties"]["output"][0]["installedDriver"]["assemblyVersion"],
        "19.19.0.0.0"
    );

    let two = emu
        .run(
            "svc",
            "two",
            upload_body(json!({"sasUri": format!("{}/two?{sas}", az.blob_base)})),
        )
        .await;
    assert_failure(&two, "FailedInputValidation", "2 .zip archives");
    let missing = emu
        .run(
            "svc",
            "missing",
            upload_body(json!({"sasUri": format!("{}/nocontainer?{sas}", az.blob_base)})),
        )
        .await;
    assert_failure(&missing, "Failed", "does not exist");
    let expired_sas = az.account_sas("rl", "2001-01-01T00:00:00Z");
    let expired = emu
        .run(
            "svc",
            "expired",
            upload_body(json!({"sasUri": format!("{}/drivers?{expired_sas}", az.blob_base)})),
        )
        .await;
    assert_failure(&expired, "Failed", "expired");
    let write_only = az.account_sas("w", "2099-01-01T00:00:00Z");
    let denied = emu
        .run(
            "svc",
            "denied",
            upload_body(json!({"sasUri": format!("{}/drivers?{write_only}", az.blob_base)})),
        )
        .await;
    assert_failure(&denied, "Failed", "permissions");
    let all = serde_json::to_string(&emu.requests().await).unwrap();
    assert!(
        !all.contains("sig="),
        "the request log holds no SAS: only the emulator's own API is logged"
    );
}
