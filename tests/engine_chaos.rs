//! Crash safety: the binary is killed with SIGKILL at random moments of a 30-task apply,
//! then apply runs again. Every trial must converge with a state that parses, no task PUT
//! twice (so none was re-created while it ran), and every remote task recorded in state.
//! `DMSFORM_CHAOS_TRIALS` raises the number of trials (default 25), `DMSFORM_CHAOS_SEED`
//! changes the kill moments.

mod common;

use common::engine::*;
use std::collections::BTreeMap;
use std::time::Duration;

const SERVICES: usize = 10;

fn config(base: &str) -> String {
    let names: Vec<String> = (0..SERVICES).map(|i| format!("\"s{i}\"")).collect();
    provider(base)
        + &format!(
            r#"
variable "services" {{
  type    = set(string)
  default = [{}]
}}

resource "dms_oci_driver_check" "before" {{
  for_each       = var.services
  group_name     = "rg"
  service_name   = each.key
  task_name      = "checkOCIDriver"
  server_version = "19.0"
}}

resource "dms_oci_driver_upload" "driver" {{
  for_each     = var.services
  group_name   = "rg"
  service_name = each.key
  task_name    = "uploadOCIDriver"
  driver_share {{
    path = "\\\\fs\\drivers"
  }}
  depends_on = [dms_oci_driver_check.before]
}}

resource "dms_oci_driver_install" "driver" {{
  for_each            = var.services
  group_name          = "rg"
  service_name        = each.key
  task_name           = "installOCIDriver"
  driver_package_name = dms_oci_driver_upload.driver[each.key].output[0].driver_package_name
}}
"#,
            names.join(", ")
        )
}

/// A small deterministic generator for kill moments.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn sigkill_at_random_moments_never_loses_or_duplicates_a_task() {
    let trials: usize = std::env::var("DMSFORM_CHAOS_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25);
    let seed: u64 = std::env::var("DMSFORM_CHAOS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20261203);
    let mut rng = Lcg(seed);
    let share = share_with_driver();
    let emulator = || {
        EmulatorProc::start(&[
            "--share-root",
            &format!("fs/drivers={}", share.path().display()),
            "--queued-for",
            "50ms",
            "--run-for",
            "150ms",
        ])
    };
    // How long an uninterrupted apply takes here, so that the kills land inside one.
    let full_run = {
        let emu = emulator();
        let wd = Workdir::new(&config(&emu.base));
        let started = std::time::Instant::now();
        let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
        assert_eq!(code, 0, "{out}\n{err}");
        started.elapsed()
    };
    let window_ms = (full_run.as_millis() as u64 * 9 / 10).max(100);
    let mut killed_mid_run = 0;
    for trial in 0..trials {
        let emu = emulator();
        let wd = Workdir::new(&config(&emu.base));
        let kill_after = Duration::from_millis(20 + rng.next() % window_ms);
        let mut child = wd
            .cmd(&["apply", "-auto-approve"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(kill_after);
        let finished_before_kill = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        if !finished_before_kill {
            killed_mid_run += 1;
        }
        let state_path = wd.path().join("dmsform.state.json");
        if state_path.exists() {
            let bytes = std::fs::read(&state_path).unwrap();
            dmsform::state::file::decode(&bytes).unwrap_or_else(|e| {
                panic!("trial {trial}: state after SIGKILL does not parse: {e}")
            });
        }
        // The first run after the kill must converge: it resolves the journal's intents by
        // reading the tasks, waits for those still running and creates only what never arrived.
        let (code, out, err) = wd.run(&["apply", "-auto-approve"]);
        assert_eq!(
            code, 0,
            "trial {trial} (killed after {kill_after:?}) did not converge on the next apply:\n{out}\n{err}"
        );
        let (code, out, _) = wd.run(&["plan", "-detailed-exitcode"]);
        assert_eq!(code, 0, "trial {trial}: not converged:\n{out}");

        let state = wd.state();
        let recorded: Vec<String> = state["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_lowercase())
            .collect();
        assert_eq!(recorded.len(), 3 * SERVICES, "trial {trial}");
        let mut puts: BTreeMap<String, usize> = BTreeMap::new();
        for r in emu.requests() {
            if r["method"] == "PUT" && r["status"].as_u64().is_some_and(|s| s < 300) {
                *puts
                    .entry(r["path"].as_str().unwrap().to_lowercase())
                    .or_default() += 1;
            }
        }
        for (path, n) in &puts {
            assert_eq!(
                *n, 1,
                "trial {trial} (killed after {kill_after:?}): {path} was PUT {n} times"
            );
        }
        assert_eq!(
            puts.len(),
            3 * SERVICES,
            "trial {trial}: every task created once"
        );
        for i in 0..SERVICES {
            for t in emu.list("rg", &format!("s{i}")) {
                let id = t["id"].as_str().unwrap().to_lowercase();
                assert!(
                    recorded.contains(&id),
                    "trial {trial}: remote task {id} is missing from state"
                );
                assert_eq!(t["properties"]["state"], "Succeeded", "trial {trial}: {id}");
            }
        }
    }
    eprintln!(
        "{killed_mid_run} of {trials} trials killed a running apply (a full one takes {full_run:?})"
    );
    assert!(
        killed_mid_run * 4 >= trials * 3,
        "most trials must kill a running apply ({killed_mid_run} of {trials}; a full apply takes {full_run:?})"
    );
}
