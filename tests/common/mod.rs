//! Helpers shared by the end-to-end tests: an emulator started in process on a free
//! loopback port with its own data directory, a raw HTTP client, driver archives made on
//! the fly, and Azurite started on a free port and stopped by PID.
#![allow(dead_code)]

use dmsform::emulator::{self, EmulatorConfig, EmulatorHandle};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const SUB: &str = "11111111-2222-3333-4444-555555555555";
pub const GROUP: &str = "rg1";
pub const V: &str = "2025-06-30";

/// One HTTP answer, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The ARM error code of an error envelope.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

pub struct Emu {
    pub handle: Option<EmulatorHandle>,
    pub cfg: EmulatorConfig,
    pub http: reqwest::Client,
    pub base: String,
    pub dir: tempfile::TempDir,
}

pub fn fast_config(data_dir: &Path) -> EmulatorConfig {
    EmulatorConfig {
        data_dir: data_dir.to_path_buf(),
        queued_for: Duration::from_millis(50),
        run_for: Duration::from_millis(100),
        cancel_for: Duration::from_millis(100),
        ..EmulatorConfig::default()
    }
}

impl Emu {
    /// Starts an emulator with fast timings, adjusted by `tweak`.
    pub async fn start(tweak: impl FnOnce(&mut EmulatorConfig)) -> Emu {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cfg = fast_config(&dir.path().join("data"));
        tweak(&mut cfg);
        let handle = emulator::spawn(cfg.clone()).await.expect("emulator starts");
        let base = handle.base_url();
        Emu {
            handle: Some(handle),
            cfg,
            http: reqwest::Client::new(),
            base,
            dir,
        }
    }

    /// Stops the emulator and starts a new one on the same data directory.
    pub async fn restart(&mut self, pause: Duration) {
        self.stop().await;
        tokio::time::sleep(pause).await;
        let handle = emulator::spawn(self.cfg.clone())
            .await
            .expect("emulator restarts");
        self.base = handle.base_url();
        self.handle = Some(handle);
    }

    /// Polls until the task's state satisfies `done`, and returns its body.
    pub async fn wait_for(&self, service: &str, task: &str, done: impl Fn(&str) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let r = self.get(service, task).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let body = r.json();
            let state = body["properties"]["state"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if done(&state) {
                return body;
            }
            assert!(Instant::now() < deadline, "task {task} stuck in {state}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn tasks_url(&self, service: &str) -> String {
        format!(
            "{}/subscriptions/{SUB}/resourceGroups/{GROUP}/providers/Microsoft.DataMigration/services/{service}/serviceTasks",
            self.base
        )
    }

    pub fn task_url(&self, service: &str, task: &str) -> String {
        format!("{}/{task}", self.tasks_url(service))
    }

    /// A request with a bearer token.
    pub async fn req(&self, method: Method, url: &str, body: Option<Value>) -> Resp {
        self.req_with(method, url, body, Some("test-token")).await
    }

    pub async fn req_with(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Resp {
        let mut rb = self.http.request(method, url);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.expect("request is answered");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body is read");
        Resp {
            status,
            headers,
            text,
        }
    }

    pub async fn put(&self, service: &str, task: &str, body: Value) -> Resp {
        self.req(
            Method::PUT,
            &format!("{}?api-version={V}", self.task_url(service, task)),
            Some(body),
        )
        .await
    }

    pub async fn get(&self, service: &str, task: &str) -> Resp {
        self.req(
            Method::GET,
            &format!(
                "{}?api-version={V}&$expand=output",
                self.task_url(service, task)
            ),
            None,
        )
        .await
    }

    /// Polls until the task is terminal and returns its body (with output).
    pub async fn wait(&self, service: &str, task: &str) -> Value {
        const TERMINAL: [&str; 5] = [
            "Succeeded",
            "Failed",
            "FailedInputValidation",
            "Faulted",
            "Canceled",
        ];
        self.wait_for(service, task, |s| TERMINAL.contains(&s))
            .await
    }

    /// PUTs a task and waits for it to finish.
    pub async fn run(&self, service: &str, task: &str, body: Value) -> Value {
        let r = self.put(service, task, body).await;
        assert!(r.status.is_success(), "{} {}", r.status, r.text);
        self.wait(service, task).await
    }

    pub async fn add_fault(&self, rule: Value) {
        let r = self
            .req_with(
                Method::POST,
                &format!("{}/_emulator/faults", self.base),
                Some(rule),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }

    pub async fn requests(&self) -> Vec<Value> {
        let r = self
            .req_with(
                Method::GET,
                &format!("{}/_emulator/requests", self.base),
                None,
                None,
            )
            .await;
        r.json().as_array().cloned().unwrap_or_default()
    }

    pub async fn stop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
    }
}

pub fn check_body(server_version: &str) -> Value {
    json!({"properties": {"taskType": "Service.Check.OCI", "input": {"serverVersion": server_version}}})
}

pub fn upload_body(share: Value) -> Value {
    json!({"properties": {"taskType": "Service.Upload.OCI", "input": {"driverShare": share}}})
}

pub fn install_body(package: &str) -> Value {
    json!({"properties": {"taskType": "Service.Install.OCI", "input": {"driverPackageName": package}}})
}

/// The first validation error of a finished task.
pub fn first_error(task: &Value) -> Value {
    task["properties"]["output"][0]["validationErrors"][0].clone()
}

pub fn state(task: &Value) -> &str {
    task["properties"]["state"].as_str().unwrap_or_default()
}

/// A driver archive; `version` goes into oci.dll's version resource.
pub fn driver_zip(version: Option<(u16, u16)>, with_dll: bool) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    if with_dll {
        w.start_file("instantclient_19_19/oci.dll", opts)
            .expect("zip entry");
        let mut dll = b"MZ stand-in".to_vec();
        if let Some((major, minor)) = version {
            dll.extend_from_slice(&0xFEEF04BDu32.to_le_bytes());
            dll.extend_from_slice(&0x0001_0000u32.to_le_bytes());
            dll.extend_from_slice(&(((major as u32) << 16) | minor as u32).to_le_bytes());
            dll.extend_from_slice(&0u32.to_le_bytes());
        }
        w.write_all(&dll).expect("zip write");
    }
    w.start_file("instantclient_19_19/BASIC_LITE_README", opts)
        .expect("zip entry");
    w.write_all(b"stand-in Instant Client\n")
        .expect("zip write");
    w.finish().expect("zip finish").into_inner()
}

pub fn write_file(path: &Path, bytes: &[u8]) -> PathBuf {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
    path.to_path_buf()
}

/// Azurite's blob service on a free loopback port, stopped (by PID) on drop.
pub struct Azurite {
    child: std::process::Child,
    pub blob_base: String,
    _dir: tempfile::TempDir,
}

pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

impl Azurite {
    pub fn start() -> Azurite {
        use std::io::{BufRead, BufReader};
        let main = std::env::var("AZURITE_BLOB_MAIN")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("node_modules/azurite/dist/src/blob/main.js")
            });
        assert!(
            main.exists(),
            "Azurite is not installed at {}: run scripts/test.sh, which installs it",
            main.display()
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = std::process::Command::new("node")
            .arg(&main)
            .args([
                "--inMemoryPersistence",
                "--disableTelemetry",
                "--extentMemoryLimit",
                "256",
            ])
            .args(["--blobHost", "127.0.0.1", "--blobPort", "0"])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("node starts Azurite");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut blob_base = None;
        while Instant::now() < deadline {
            let Some(Ok(line)) = lines.next() else { break };
            if let Some(i) = line.find("successfully listens on ") {
                blob_base = Some(
                    line[i + "successfully listens on ".len()..]
                        .trim()
                        .to_string(),
                );
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        let Some(blob_base) = blob_base else {
            let _ = child.kill();
            panic!("Azurite did not start");
        };
        Azurite {
            child,
            blob_base: format!("{}/{AZURITE_ACCOUNT}", blob_base.trim_end_matches('/')),
            _dir: dir,
        }
    }

    /// An account SAS (blob service; service, container and object) valid until `expiry`.
    pub fn account_sas(&self, permissions: &str, expiry: &str) -> String {
        use base64::Engine;
        use hmac::{KeyInit, Mac};
        let version = "2021-08-06";
        let sts = [
            AZURITE_ACCOUNT,
            permissions,
            "b",
            "sco",
            "",
            expiry,
            "",
            "https,http",
            version,
            "",
            "",
        ]
        .join("\n");
        let key = base64::engine::general_purpose::STANDARD
            .decode(AZURITE_KEY)
            .expect("key");
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).expect("hmac");
        mac.update(sts.as_bytes());
        let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("sv", version)
            .append_pair("ss", "b")
            .append_pair("srt", "sco")
            .append_pair("sp", permissions)
            .append_pair("se", expiry)
            .append_pair("spr", "https,http")
            .append_pair("sig", &sig)
            .finish()
    }

    /// Creates a container and uploads blobs into it, with a full-permission SAS.
    pub async fn put_blobs(&self, container: &str, blobs: &[(&str, &[u8])]) {
        let sas = self.account_sas("rwdlac", "2099-01-01T00:00:00Z");
        let http = reqwest::Client::new();
        let r = http
            .put(format!(
                "{}/{container}?restype=container&{sas}",
                self.blob_base
            ))
            .header("x-ms-version", "2021-08-06")
            .header("content-length", "0")
            .send()
            .await
            .expect("create container");
        assert!(r.status().is_success(), "create container: {}", r.status());
        for (name, bytes) in blobs {
            let r = http
                .put(format!("{}/{container}/{name}?{sas}", self.blob_base))
                .header("x-ms-version", "2021-08-06")
                .header("x-ms-blob-type", "BlockBlob")
                .body(bytes.to_vec())
                .send()
                .await
                .expect("put blob");
            assert!(
                r.status().is_success(),
                "put blob: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            );
        }
    }
}

impl Azurite {
    /// Settings of an azurerm backend on this Azurite (credentials from `ARM_ACCESS_KEY`).
    pub fn backend(&self, container: &str, key: &str, lease_secs: u64) -> dmsform::config::Backend {
        dmsform::config::Backend::AzureRm {
            storage_account_name: AZURITE_ACCOUNT.into(),
            container_name: container.into(),
            key: key.into(),
            endpoint: Some(self.blob_base.clone()),
            use_azuread_auth: false,
            sas_token: None,
            access_key: None,
            lease_duration: Some(Duration::from_secs(lease_secs)),
        }
    }

    /// The `dmsform { backend "azurerm" { … } }` block for this Azurite.
    pub fn backend_hcl(&self, container: &str, key: &str, lease_secs: u64) -> String {
        format!(
            "dmsform {{\n  backend \"azurerm\" {{\n    storage_account_name = \"{AZURITE_ACCOUNT}\"\n    container_name = \"{container}\"\n    key = \"{key}\"\n    endpoint = \"{}\"\n    lease_duration = \"{lease_secs}s\"\n  }}\n}}\n",
            self.blob_base
        )
    }

    /// The Azurite process id (to pause it with SIGSTOP in tests).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Creates an empty container.
    pub async fn create_container(&self, container: &str) {
        self.put_blobs(container, &[]).await;
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file below `dir`.
pub fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_files(&p))
        } else {
            out.push(p)
        }
    }
    out
}
pub mod engine;
