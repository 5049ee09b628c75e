//! The azurerm backend against Azurite (started per test, stopped by PID): conditional
//! writes, backups, lease locking, lock info, force-unlock, lost leases, credentials, and
//! a lock holder killed with SIGKILL.

mod common;

use common::{AZURITE_ACCOUNT, AZURITE_KEY, Azurite};
use dmsform::state::backend::azurerm::{AzureRmBackend, AzureRmConfig, AzureRmError};
use dmsform::state::backend::{StateError, StateStore};
use dmsform::state::lock::LockError;
use dmsform::state::{ResourceState, State, Status};
use std::io::BufRead;
use std::path::Path;
use std::time::{Duration, Instant};

fn az_err(e: &StateError) -> Option<&AzureRmError> {
    match e {
        StateError::AzureRm(e) => Some(e),
        _ => None,
    }
}

fn key_env(n: &str) -> Option<String> {
    (n == "ARM_ACCESS_KEY").then(|| AZURITE_KEY.to_string())
}

fn store(az: &Azurite, container: &str, key: &str, lease: u64, dir: &Path) -> AzureRmBackend {
    let cfg = AzureRmConfig::from_settings(&az.backend(container, key, lease), &key_env).unwrap();
    AzureRmBackend::new(cfg, dir).unwrap()
}

fn resource(addr: &str) -> ResourceState {
    ResourceState {
        address: addr.into(),
        kind: "dms_oci_driver_check".into(),
        id: format!(
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.DataMigration/services/svc/serviceTasks/{addr}"
        ),
        status: Status::Ready,
        pending: None,
        attributes: serde_json::json!({"server_version": "19.0"}),
        sensitive_digests: Default::default(),
        dependencies: vec![],
    }
}

/// The raw bytes of a blob, read with an account SAS.
async fn raw_blob(az: &Azurite, container: &str, name: &str) -> Option<Vec<u8>> {
    let sas = az.account_sas("rwdlac", "2099-01-01T00:00:00Z");
    let r = reqwest::Client::new()
        .get(format!("{}/{container}/{name}?{sas}", az.blob_base))
        .header("x-ms-version", "2021-08-06")
        .send()
        .await
        .unwrap();
    if r.status() == 404 {
        return None;
    }
    assert!(r.status().is_success(), "{}", r.status());
    Some(r.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_conditional_with_a_backup_blob() {
    let az = Azurite::start();
    az.create_container("tfstate").await;
    let dir = tempfile::tempdir().unwrap();
    let a = store(&az, "tfstate", "env/prod.dmsform.json", 15, dir.path());
    let b = store(&az, "tfstate", "env/prod.dmsform.json", 15, dir.path());
    assert_eq!(a.read().await.unwrap(), None);
    let mut s = State::new();
    s.upsert(resource("dms_oci_driver_check.a"));
    a.write(&mut s).await.unwrap();
    a.write(&mut s).await.unwrap();
    assert_eq!(s.serial, 2);
    let backup = raw_blob(&az, "tfstate", "env/prod.dmsform.json.backup")
        .await
        .unwrap();
    let backup = dmsform::state::file::decode(&backup).unwrap();
    assert_eq!(backup.serial, 1);
    let stored = b.read().await.unwrap().unwrap();
    assert_eq!(stored, {
        let mut x = s.clone();
        x.dmsform_version = stored.dmsform_version.clone();
        x
    });

    // A writes after B read: B's write is refused and A's update survives.
    s.upsert(resource("dms_oci_driver_check.b"));
    a.write(&mut s).await.unwrap();
    let mut theirs = stored.clone();
    theirs.upsert(resource("dms_oci_driver_check.c"));
    let err = b.write(&mut theirs).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(az_err(&err), Some(AzureRmError::Conflict { .. })),
        "{msg}"
    );
    assert!(
        msg.contains("HTTP 412")
            && msg.contains("tfstate")
            && msg.contains("env/prod.dmsform.json"),
        "{msg}"
    );
    assert!(msg.contains("errored.state.json"), "{msg}");
    let dumped = std::fs::read(dir.path().join("errored.state.json")).unwrap();
    assert!(
        dmsform::state::file::decode(&dumped)
            .unwrap()
            .resource("dms_oci_driver_check.c")
            .is_some()
    );
    let now = b.read().await.unwrap().unwrap();
    assert_eq!(now.serial, 3);
    assert!(now.resource("dms_oci_driver_check.b").is_some());
    assert!(now.resource("dms_oci_driver_check.c").is_none());
    // Having read again, B may write.
    let mut again = now.clone();
    b.write(&mut again).await.unwrap();
    assert_eq!(again.serial, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_first_writes_race_and_one_is_refused() {
    let az = Azurite::start();
    az.create_container("tfstate").await;
    let dir = tempfile::tempdir().unwrap();
    let a = store(&az, "tfstate", "k", 15, dir.path());
    let b = store(&az, "tfstate", "k", 15, dir.path());
    assert!(a.read().await.unwrap().is_none());
    assert!(b.read().await.unwrap().is_none());
    let mut sa = State::new();
    a.write(&mut sa).await.unwrap();
    let mut sb = State::new();
    let err = b.write(&mut sb).await.unwrap_err();
    assert!(
        matches!(az_err(&err), Some(AzureRmError::Conflict { .. })),
        "{err}"
    );
    assert_eq!(a.read().await.unwrap().unwrap().lineage, sa.lineage);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_holder_at_a_time_named_to_waiters_and_writes_need_the_lease() {
    let az = Azurite::start();
    az.create_container("tfstate").await;
    let dir = tempfile::tempdir().unwrap();
    let a = store(&az, "tfstate", "k", 15, dir.path());
    let b = store(&az, "tfstate", "k", 15, dir.path());
    // No state yet: the lock creates an empty placeholder, read as no state.
    let la = a.lock("apply", Duration::ZERO).await.unwrap();
    assert!(la.is_held());
    assert!(a.read().await.unwrap().is_none());
    let mut s = State::new();
    a.write(&mut s).await.unwrap();

    let t = Instant::now();
    let err = b
        .lock("plan", Duration::from_millis(1200))
        .await
        .unwrap_err();
    assert!(t.elapsed() >= Duration::from_millis(1100));
    let msg = err.to_string();
    match &err {
        StateError::Lock(LockError::Held(info)) => {
            assert_eq!(info.id, la.info().id);
            assert_eq!(info.operation, "apply");
        }
        other => panic!("{other}"),
    }
    assert!(
        msg.contains(&la.info().id) && msg.contains("force-unlock"),
        "{msg}"
    );

    // A writer without the lease is refused, naming the holder.
    let mut theirs = b.read().await.unwrap().unwrap();
    let err = b.write(&mut theirs).await.unwrap_err();
    assert!(
        matches!(&err, StateError::Lock(LockError::Held(i)) if i.id == la.info().id),
        "{err}"
    );

    // The holder's writes keep the lock info; B waits and gets the lock after release.
    a.write(&mut s).await.unwrap();
    let waiter = tokio::spawn(async move {
        let l = b.lock("plan", Duration::from_secs(10)).await;
        (b, l)
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!waiter.is_finished());
    la.release().await;
    let (b, lb) = waiter.await.unwrap();
    let lb = lb.unwrap();
    assert!(
        lb.took_over().is_none(),
        "a released lock leaves no info behind"
    );
    // B read before A's last write: its write is refused until it reads again.
    let mut mine = b.read().await.unwrap().unwrap();
    assert_eq!(mine.serial, 2);
    b.write(&mut mine).await.unwrap();
    lb.release().await;
    // Unlocked: anyone may write again.
    let mut x = a.read().await.unwrap().unwrap();
    a.write(&mut x).await.unwrap();
    assert_eq!(x.serial, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_unlock_breaks_the_lease_and_the_old_holder_fails_loudly() {
    let az = Azurite::start();
    az.create_container("tfstate").await;
    let dir = tempfile::tempdir().unwrap();
    let a = store(&az, "tfstate", "k", 15, dir.path());
    let b = store(&az, "tfstate", "k", 15, dir.path());
    let mut s = State::new();
    a.read().await.unwrap();
    a.write(&mut s).await.unwrap();
    let err = b.force_unlock("nope").await.unwrap_err();
    assert!(
        matches!(az_err(&err), Some(AzureRmError::NotLocked { .. })),
        "{err}"
    );
    let la = a.lock("apply", Duration::ZERO).await.unwrap();
    let id = la.info().id.clone();
    assert!(matches!(
        b.force_unlock("wrong-id").await,
        Err(StateError::Lock(LockError::WrongId { .. }))
    ));
    let info = b.force_unlock(&id).await.unwrap();
    assert_eq!(info.id, id);
    let lb = b.lock("apply", Duration::ZERO).await.unwrap();
    assert!(
        lb.took_over().is_none(),
        "force-unlock clears the lock info"
    );

    // A still believes it holds the lock; the service refuses its lease id.
    let err = a.write(&mut s).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(az_err(&err), Some(AzureRmError::LeaseLost { .. })),
        "{msg}"
    );
    assert!(
        msg.contains("lost its lock") && msg.contains("tfstate"),
        "{msg}"
    );
    // Its renewal notices within a third of the lease period.
    let deadline = Instant::now() + Duration::from_secs(8);
    while la.is_held() {
        assert!(
            Instant::now() < deadline,
            "renewal did not notice the lost lease"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Known lost: refused before anything is sent.
    let err = a.write(&mut s).await.unwrap_err();
    assert!(
        matches!(az_err(&err), Some(AzureRmError::LeaseLost { .. })),
        "{err}"
    );
    la.release().await;
    assert!(
        lb.is_held(),
        "releasing a lost lock leaves the new holder alone"
    );
    lb.release().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sas_works_and_bad_credentials_name_the_blob_but_never_the_secret() {
    let az = Azurite::start();
    az.create_container("tfstate").await;
    let dir = tempfile::tempdir().unwrap();
    let sas = az.account_sas("rwdlac", "2099-01-01T00:00:00Z");
    let env = |n: &str| (n == "ARM_SAS_TOKEN").then(|| sas.clone());
    let cfg = AzureRmConfig::from_settings(&az.backend("tfstate", "k", 15), &env).unwrap();
    let s = AzureRmBackend::new(cfg, dir.path()).unwrap();
    let mut st = State::new();
    s.read().await.unwrap();
    s.write(&mut st).await.unwrap();
    let l = s.lock("apply", Duration::ZERO).await.unwrap();
    s.write(&mut st).await.unwrap();
    l.release().await;
    assert_eq!(s.read().await.unwrap().unwrap().serial, 2);

    let bad_sig = sas.replace("sig=", "sig=AAAA");
    let env = |n: &str| (n == "ARM_SAS_TOKEN").then(|| bad_sig.clone());
    let cfg = AzureRmConfig::from_settings(&az.backend("tfstate", "k", 15), &env).unwrap();
    let s = AzureRmBackend::new(cfg, dir.path()).unwrap();
    let msg = s.read().await.unwrap_err().to_string();
    assert!(
        msg.contains("HTTP 403") && msg.contains("\"tfstate\"") && msg.contains("\"k\""),
        "{msg}"
    );
    assert!(!msg.contains("sig=") && !msg.contains("AAAA"), "{msg}");

    let wrong_key = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=";
    let env = |n: &str| (n == "ARM_ACCESS_KEY").then(|| wrong_key.to_string());
    let cfg = AzureRmConfig::from_settings(&az.backend("tfstate", "k", 15), &env).unwrap();
    let s = AzureRmBackend::new(cfg, dir.path()).unwrap();
    let msg = s.read().await.unwrap_err().to_string();
    assert!(
        msg.contains("HTTP 403") && !msg.contains(wrong_key),
        "{msg}"
    );

    let s = store(&az, "missing", "k", 15, dir.path());
    let msg = s.read().await.unwrap_err().to_string();
    assert!(
        msg.contains("ContainerNotFound") && msg.contains("Create the container"),
        "{msg}"
    );
    assert!(msg.contains(AZURITE_ACCOUNT), "{msg}");
}

/// Kills (by PID) and reaps a helper process when the test ends, pass or fail.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_that_cannot_be_renewed_for_a_whole_period_is_lost() {
    let az = Azurite::start();
    az.create_container("tfstate").await;
    let dir = tempfile::tempdir().unwrap();
    let a = store(&az, "tfstate", "k", 15, dir.path());
    let mut s = State::new();
    a.read().await.unwrap();
    let l = a.lock("apply", Duration::ZERO).await.unwrap();
    a.write(&mut s).await.unwrap();
    let signal = |sig: &str| {
        let ok = std::process::Command::new("kill")
            .args([sig, &az.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    };
    // The service stops answering: renewals time out until the lease period is over.
    signal("-STOP");
    let t = Instant::now();
    while l.is_held() {
        if t.elapsed() > Duration::from_secs(20) {
            signal("-CONT");
            panic!("the lock still claims to be held");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    signal("-CONT");
    assert!(t.elapsed() >= Duration::from_secs(9), "{:?}", t.elapsed());
    let err = a.write(&mut s).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(az_err(&err), Some(AzureRmError::LeaseLost { .. })),
        "{msg}"
    );
    assert!(msg.contains("renewed within 15s"), "{msg}");
    l.release().await;
    // Nothing was written after the loss; another run takes over cleanly.
    let b = store(&az, "tfstate", "k", 15, dir.path());
    let lb = b.lock("plan", Duration::from_secs(5)).await.unwrap();
    assert_eq!(b.read().await.unwrap().unwrap().serial, 1);
    lb.release().await;
}

const HOLDER_ENV: &str = "DMSFORM_TEST_LOCK_HOLDER";

/// Not a test on its own: when started by `killed_holder_frees_the_lock_within_one_lease`
/// with `DMSFORM_TEST_LOCK_HOLDER=endpoint|container|key|lease`, it takes the lock, says
/// so, and holds it (renewing) until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_holder_process() {
    let Ok(spec) = std::env::var(HOLDER_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split('|').collect();
    let backend = dmsform::config::Backend::AzureRm {
        storage_account_name: AZURITE_ACCOUNT.into(),
        container_name: parts[1].into(),
        key: parts[2].into(),
        endpoint: Some(parts[0].into()),
        use_azuread_auth: false,
        sas_token: None,
        access_key: None,
        lease_duration: Some(Duration::from_secs(parts[3].parse().unwrap())),
    };
    let cfg = AzureRmConfig::from_settings(&backend, &key_env).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = AzureRmBackend::new(cfg, dir.path()).unwrap();
    let l = s.lock("apply", Duration::ZERO).await.unwrap();
    println!("LOCKED {}", l.info().id);
    tokio::time::sleep(Duration::from_secs(600)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_holder_frees_the_lock_within_one_lease() {
    if std::env::var(HOLDER_ENV).is_ok() {
        return;
    }
    let az = Azurite::start();
    az.create_container("tfstate").await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = KillOnDrop(
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "lock_holder_process",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(HOLDER_ENV, format!("{}|tfstate|k|15", az.blob_base))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = std::io::BufReader::new(child.0.stdout.take().unwrap()).lines();
    let id = loop {
        let line = lines.next().expect("holder output").unwrap();
        if let Some((_, id)) = line.split_once("LOCKED ") {
            break id.trim().to_string();
        }
    };
    let s = store(&az, "tfstate", "k", 15, dir.path());
    // Held past one lease period: the holder renews.
    let err = s.lock("plan", Duration::from_secs(17)).await.unwrap_err();
    assert!(
        matches!(&err, StateError::Lock(LockError::Held(i)) if i.id == id),
        "{err}"
    );
    let pid = child.0.id();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = child.0.wait();
    let t = Instant::now();
    let l = s.lock("plan", Duration::from_secs(25)).await.unwrap();
    let waited = t.elapsed();
    assert!(waited <= Duration::from_secs(15 + 3), "took {waited:?}");
    assert_eq!(
        l.took_over().map(|i| i.id.clone()),
        Some(id),
        "the dead holder's info is reported"
    );
    l.release().await;
}
