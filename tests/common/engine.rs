//! Helpers for end-to-end tests of the engine: an emulator process on a free port, a
//! working directory with a configuration pointing at it, and the dmsform binary run in it.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const SUB: &str = "00000000-0000-0000-0000-000000000000";

pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("dmsform")
}

/// A `dmsform emulator` process, killed on drop.
pub struct EmulatorProc {
    pub child: Child,
    pub base: String,
    pub data: tempfile::TempDir,
}

impl EmulatorProc {
    pub fn start(extra: &[&str]) -> EmulatorProc {
        let data = tempfile::tempdir().expect("temp dir");
        let mut args: Vec<String> =
            vec!["emulator".into(), "--listen".into(), "127.0.0.1:0".into()];
        for (flag, default) in [
            ("--queued-for", "100ms"),
            ("--run-for", "250ms"),
            ("--cancel-for", "200ms"),
        ] {
            if !extra.contains(&flag) {
                args.push(flag.into());
                args.push(default.into());
            }
        }
        let mut child = Command::new(bin())
            .args(&args)
            .arg("--data-dir")
            .arg(data.path().join("emu"))
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("emulator starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("emulator prints its address");
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("address")
            .to_string();
        EmulatorProc { child, base, data }
    }

    pub fn tasks_url(&self, group: &str, service: &str) -> String {
        format!(
            "{}/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.DataMigration/services/{service}/serviceTasks",
            self.base
        )
    }

    /// A raw HTTP call to the emulator.
    pub fn http(&self, method: &str, url: &str, body: Option<Value>) -> (u16, String) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let c = reqwest::Client::new();
            let mut rb = c
                .request(
                    reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                    url,
                )
                .bearer_auth("test");
            if let Some(b) = body {
                rb = rb.json(&b);
            }
            let r = rb.send().await.expect("emulator answers");
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        })
    }

    pub fn task(&self, group: &str, service: &str, task: &str) -> Option<Value> {
        let (status, text) = self.http(
            "GET",
            &format!(
                "{}/{task}?api-version=2025-06-30&$expand=output",
                self.tasks_url(group, service)
            ),
            None,
        );
        (status == 200).then(|| serde_json::from_str(&text).expect("json"))
    }

    pub fn list(&self, group: &str, service: &str) -> Vec<Value> {
        let (_, text) = self.http(
            "GET",
            &format!("{}?api-version=2025-06-30", self.tasks_url(group, service)),
            None,
        );
        serde_json::from_str::<Value>(&text).expect("json")["value"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn requests(&self) -> Vec<Value> {
        let (_, text) = self.http("GET", &format!("{}/_emulator/requests", self.base), None);
        serde_json::from_str::<Value>(&text)
            .expect("json")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn fault(&self, rule: Value) {
        let (status, text) = self.http(
            "POST",
            &format!("{}/_emulator/faults", self.base),
            Some(rule),
        );
        assert_eq!(status, 201, "{text}");
    }

    /// Waits until a task reaches a terminal state.
    pub fn wait_terminal(&self, group: &str, service: &str, task: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let t = self.task(group, service, task).expect("task exists");
            let s = t["properties"]["state"].as_str().unwrap_or("").to_string();
            if [
                "Succeeded",
                "Failed",
                "FailedInputValidation",
                "Faulted",
                "Canceled",
            ]
            .contains(&s.as_str())
            {
                return t;
            }
            assert!(Instant::now() < deadline, "{task} stuck in {s}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for EmulatorProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The provider block for an emulator at `base`.
pub fn provider(base: &str) -> String {
    format!(
        "provider \"dms\" {{\n  endpoint          = \"{base}\"\n  poll_interval     = \"100ms\"\n  max_poll_interval = \"300ms\"\n}}\n"
    )
}

/// The seed workflow (check → upload → install) for one service, the upload reading
/// `share_path` with `password`.
pub fn seed(service: &str, share_path: &str) -> String {
    format!(
        r#"
variable "share_password" {{
  type      = string
  sensitive = true
  default   = "Sh4re-Passw0rd-never-stored"
}}

resource "dms_oci_driver_check" "before" {{
  group_name     = "rg"
  service_name   = "{service}"
  task_name      = "checkOCIDriver"
  server_version = "19.0"
}}

resource "dms_oci_driver_upload" "driver" {{
  group_name   = "rg"
  service_name = "{service}"
  task_name    = "uploadOCIDriver"
  driver_share {{
    path      = "{share_path}"
    user_name = "CONTOSO\\dms"
    password  = var.share_password
  }}
  depends_on = [dms_oci_driver_check.before]
}}

resource "dms_oci_driver_install" "driver" {{
  group_name          = "rg"
  service_name        = "{service}"
  task_name           = "installOCIDriver"
  driver_package_name = dms_oci_driver_upload.driver.output[0].driver_package_name
}}

output "package" {{
  value = dms_oci_driver_upload.driver.output[0].driver_package_name
}}
"#
    )
}

/// A working directory with a configuration.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new(config: &str) -> Workdir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("main.hcl"), config).expect("write config");
        Workdir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path().join(name), text).expect("write");
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.current_dir(self.path())
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("DMSFORM_VAR_share_password");
        c
    }

    /// Runs dmsform and returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out: Output = self
            .cmd(args)
            .stdin(Stdio::null())
            .output()
            .expect("dmsform runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn state(&self) -> Value {
        serde_json::from_slice(
            &std::fs::read(self.path().join("dmsform.state.json")).expect("state exists"),
        )
        .expect("state parses")
    }
}

/// A driver archive in a fresh share directory; returns the directory.
pub fn share_with_driver() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("temp dir");
    let zip = super::driver_zip(Some((19, 19)), true);
    std::fs::write(
        d.path()
            .join("instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip"),
        zip,
    )
    .expect("write zip");
    d
}

pub fn resource_names(state: &Value) -> Vec<String> {
    state["resources"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|x| x["address"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

pub fn json_body(v: &Value) -> Value {
    json!(v)
}
