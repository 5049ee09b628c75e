//! Helpers shared by the client tests: a real emulator on 127.0.0.1:0 with short timings,
//! a client pointed at it, fault rules and the emulator's request log.
#![allow(dead_code)]

use dmsform::emulator::{EmulatorConfig, EmulatorHandle, ShareRoot, spawn};
use dmsform::providers::dms::auth::StaticToken;
use dmsform::providers::dms::secret::SecretString;
use dmsform::providers::dms::{ClientOptions, DmsClient, RetryPolicy, ServiceRef};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub const SHARE_PASSWORD: &str = "Sh4re-Pa55word-Zq9";
pub const SHARE_USER: &str = "CONTOSO\\dms";
pub const DRIVER_ZIP: &str = "instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip";

pub struct Env {
    pub emu: Option<EmulatorHandle>,
    pub base: String,
    pub dir: tempfile::TempDir,
    pub client: DmsClient,
    pub svc: ServiceRef,
    control: reqwest::Client,
}

pub struct Timings {
    pub queued_ms: u64,
    pub run_ms: u64,
    pub cancel_ms: u64,
    pub page_size: usize,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            queued_ms: 100,
            run_ms: 300,
            cancel_ms: 200,
            page_size: 100,
        }
    }
}

/// Retries fast enough for tests.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(40),
        max_backoff: Duration::from_millis(200),
        max_total_delay: Duration::from_secs(5),
    }
}

/// Writes a small driver archive (a zip holding an `oci.dll`) into `dir/drivers`.
pub fn driver_dir(dir: &Path) -> PathBuf {
    let d = dir.join("drivers");
    std::fs::create_dir_all(&d).unwrap();
    let f = std::fs::File::create(d.join(DRIVER_ZIP)).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default();
    z.start_file("instantclient_19_19/oci.dll", opts).unwrap();
    z.write_all(b"MZ not really a dll").unwrap();
    z.finish().unwrap();
    d
}

pub async fn start(t: Timings) -> Env {
    start_with(t, None, fast_retry()).await
}

pub async fn start_with(t: Timings, token: Option<&str>, retry: RetryPolicy) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let drivers = driver_dir(dir.path());
    let root = ShareRoot::parse(&format!(
        "fileserver/drivers={},user={},password={}",
        drivers.display(),
        SHARE_USER,
        SHARE_PASSWORD
    ))
    .unwrap();
    let cfg = EmulatorConfig {
        data_dir: dir.path().join("data"),
        queued_for: Duration::from_millis(t.queued_ms),
        run_for: Duration::from_millis(t.run_ms),
        cancel_for: Duration::from_millis(t.cancel_ms),
        page_size: t.page_size,
        share_roots: vec![root],
        token: token.map(str::to_string),
        ..EmulatorConfig::default()
    };
    let emu = spawn(cfg).await.unwrap();
    let base = emu.base_url();
    let client = client_for(&base, token.unwrap_or("test-token"), retry);
    Env {
        emu: Some(emu),
        base,
        dir,
        client,
        svc: ServiceRef::new("11111111-2222-3333-4444-555555555555", "rg", "svc"),
        control: reqwest::Client::new(),
    }
}

pub fn client_for(base: &str, token: &str, retry: RetryPolicy) -> DmsClient {
    DmsClient::new(
        ClientOptions {
            endpoint: base.to_string(),
            retry,
            request_timeout: Duration::from_secs(10),
            ..ClientOptions::default()
        },
        Arc::new(StaticToken::new(SecretString::new(token))),
    )
    .unwrap()
}

impl Env {
    pub async fn fault(&self, rule: Value) {
        let r = self
            .control
            .post(format!("{}/_emulator/faults", self.base))
            .json(&rule)
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "fault rule refused: {}",
            r.text().await.unwrap()
        );
    }

    pub async fn clear_faults(&self) {
        self.control
            .delete(format!("{}/_emulator/faults", self.base))
            .send()
            .await
            .unwrap();
    }

    /// The emulator's request log (service routes only).
    pub async fn requests(&self) -> Vec<Value> {
        self.control
            .get(format!("{}/_emulator/requests", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn clear_requests(&self) {
        self.control
            .delete(format!("{}/_emulator/requests", self.base))
            .send()
            .await
            .unwrap();
    }

    /// Logged requests of one method whose path ends with `suffix`.
    pub async fn logged(&self, method: &str, suffix: &str) -> Vec<Value> {
        self.requests()
            .await
            .into_iter()
            .filter(|r| r["method"] == method && r["path"].as_str().unwrap_or("").ends_with(suffix))
            .collect()
    }

    pub fn share_path(&self) -> String {
        format!("\\\\fileserver\\drivers\\{DRIVER_ZIP}")
    }

    pub async fn shutdown(mut self) {
        if let Some(e) = self.emu.take() {
            e.shutdown().await;
        }
    }
}
