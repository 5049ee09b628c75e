//! `dmsform apply [-auto-approve] [PLANFILE]`, `destroy`, `refresh` and `force-unlock`.

use super::common::{PlanFlags, RunArgs, ordered_vars, runtime};
use crate::engine::{Session, failures, render_outputs};
use crate::plan::Plan;
use crate::plan::planfile::PlanFile;
use crate::plan::render::{Style, plan as render_plan};
use clap::Args;
use std::io::{BufRead, Write};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Apply without asking for confirmation.
    #[arg(long = "auto-approve")]
    pub auto_approve: bool,
    /// Machine-readable output: one JSON object per line (needs -auto-approve or a plan file).
    #[arg(long)]
    pub json: bool,
    /// A plan saved with `dmsform plan -out FILE`.
    #[arg(value_name = "PLANFILE")]
    pub plan_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Destroy without asking for confirmation.
    #[arg(long = "auto-approve")]
    pub auto_approve: bool,
    /// Limit the destroy to this resource. Repeatable.
    #[arg(long = "target", value_name = "ADDRESS")]
    pub target: Vec<String>,
    /// Read the remote tasks first (-refresh=false to skip).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub refresh: bool,
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Limit the refresh to this resource. Repeatable.
    #[arg(long = "target", value_name = "ADDRESS")]
    pub target: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    /// The lock ID, as the lock error names it.
    #[arg(value_name = "LOCK_ID")]
    pub id: String,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub force: bool,
}

pub fn run(a: ApplyArgs) -> i32 {
    execute(a.run, a.flags, a.auto_approve, a.plan_file, "apply", a.json)
}

pub fn run_destroy(a: DestroyArgs) -> i32 {
    let flags = PlanFlags {
        destroy: true,
        refresh_only: false,
        refresh: a.refresh,
        target: a.target,
        replace: vec![],
    };
    execute(a.run, flags, a.auto_approve, None, "destroy", false)
}

pub fn run_refresh(a: RefreshArgs) -> i32 {
    let flags = PlanFlags {
        destroy: false,
        refresh_only: true,
        refresh: true,
        target: a.target,
        replace: vec![],
    };
    execute(a.run, flags, true, None, "refresh", false)
}

fn confirm(destroy: bool) -> bool {
    let (q, what) = if destroy {
        (
            "Do you really want to destroy all resources?",
            "dmsform will destroy all your managed tasks, as shown above.\n  There is no undo. Only 'yes' will be accepted to confirm.",
        )
    } else {
        (
            "Do you want to perform these actions?",
            "dmsform will perform the actions described above.\n  Only 'yes' will be accepted to approve.",
        )
    };
    crate::out!("\n{q}\n  {what}\n\n  Enter a value: ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    crate::outln!();
    line.trim() == "yes"
}

fn execute(
    run: RunArgs,
    flags: PlanFlags,
    auto_approve: bool,
    plan_file: Option<PathBuf>,
    op: &str,
    json: bool,
) -> i32 {
    if json && !auto_approve && plan_file.is_none() {
        crate::errln!("Error: Plan file or auto-approve required

dmsform cannot ask for interactive approval when -json is set. Use -auto-approve or give a saved plan file.");
        return 1;
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let op = op.to_string();
    rt.block_on(async move {
        let color = run.color() && !json;
        let mut s =
            match Session::open(&op, ordered_vars(), run.lock, run.lock_timeout, color).await {
                Ok(s) => s,
                Err(e) => {
                    crate::err!("{}", e.0);
                    return 1;
                }
            };
        s.json = json;
        if json {
            s.printer().emit(serde_json::json!({"@level": "info", "@message": format!("dmsform {}", env!("CARGO_PKG_VERSION")), "type": "version", "dmsform": env!("CARGO_PKG_VERSION"), "ui": "1.2"}));
        }
        let code = execute_in(&mut s, &run, &flags, auto_approve, plan_file, &op).await;
        s.close().await;
        code
    })
}

async fn execute_in(
    s: &mut Session,
    run: &RunArgs,
    flags: &PlanFlags,
    auto_approve: bool,
    plan_file: Option<PathBuf>,
    op: &str,
) -> i32 {
    if let Err(e) = s.recover(true).await {
        crate::err!("{}", e.0);
        return 1;
    }
    let destroy = flags.destroy;
    let (plan, instances): (Plan, _) = match &plan_file {
        Some(path) => {
            let pf = match PlanFile::read(path) {
                Ok(p) => p,
                Err(e) => {
                    crate::errln!("Error: {e}");
                    return 1;
                }
            };
            if let Err(e) = pf.check(
                s.had_state.then_some(&s.state),
                &s.ws.dir,
                &s.ws.config,
                &s.digester,
            ) {
                crate::errln!("Error: {e}");
                return 1;
            }
            let instances = s.instances();
            (pf.plan, instances)
        }
        None => {
            let planned = match s.plan(&super::plan::request(run, flags)).await {
                Ok(p) => p,
                Err(e) => {
                    crate::err!("{}", e.0);
                    return 1;
                }
            };
            if !planned.warnings.is_empty() {
                crate::err!("{}", s.render(&planned.warnings));
                if planned.warnings.has_errors() {
                    return 1;
                }
            }
            if s.json {
                let sm = planned.plan.summary();
                s.printer().emit(serde_json::json!({"@level": "info", "@message": format!("Plan: {} to add, {} to change, {} to destroy.", sm.add, sm.change, sm.destroy), "type": "change_summary", "changes": {"add": sm.add, "change": sm.change, "remove": sm.destroy, "import": sm.adopt, "operation": "plan"}}));
            } else {
                crate::out!("{}", render_plan(&planned.plan, Style { color: s.color }));
            }
            if !planned.plan.has_changes() {
                // Nothing to change, but the checks still run, as after any apply.
                if !destroy && flags.refresh {
                    match s.run_and_record_checks(run.parallelism).await {
                        Ok(w) if !w.is_empty() => crate::err!("{}", s.render(&w)),
                        Ok(_) => {}
                        Err(e) => {
                            // The checks could not be read (service unreachable, Ctrl-C)
                            // or recorded: an error, as a failed data source read is in
                            // Terraform.
                            crate::err!("{}", e.0);
                            return 1;
                        }
                    }
                }
                if let Err(e) = s.record_outputs().await {
                    crate::err!("{}", e.0);
                    return 1;
                }
                let verb = if destroy { "Destroy" } else { "Apply" };
                if s.json {
                    emit_result(
                        s,
                        format!("{verb} complete! Resources: 0 added, 0 changed, 0 destroyed."),
                        [0; 4],
                        op,
                    );
                } else {
                    crate::outln!("\n{verb} complete! Resources: 0 added, 0 changed, 0 destroyed.");
                    crate::out!("{}", render_outputs(&s.state));
                }
                return 0;
            }
            if !auto_approve && !confirm(destroy) {
                crate::errln!(
                    "\nError: {} cancelled.",
                    if destroy { "Destroy" } else { "Apply" }
                );
                return 1;
            }
            if auto_approve && !s.json {
                // Terraform separates the plan from the progress lines with a blank line.
                crate::outln!();
            }
            (planned.plan, planned.instances)
        }
    };
    if plan.refresh_only {
        // Record what refresh found; nothing remote changes.
        let refreshed = match s
            .plan(&crate::plan::planner::PlanRequest {
                refresh: true,
                parallelism: run.parallelism,
                ..Default::default()
            })
            .await
        {
            Ok(p) => p.refreshed,
            Err(e) => {
                crate::err!("{}", e.0);
                return 1;
            }
        };
        s.state.resources = refreshed.resources;
        if let Err(e) = s.ws.store.write(&mut s.state).await {
            crate::errln!("Error: Failed to persist state\n\n{e}");
            return 1;
        }
        crate::outln!("\nApply complete! Resources: 0 added, 0 changed, 0 destroyed.");
        return 0;
    }
    let outcome = s.apply(&plan, instances, run.parallelism).await;
    let mut diags = failures(&outcome);
    // Errors after the changes (reading the checks, recording them or the outputs): the
    // changes are done, but the run did not finish cleanly.
    let mut after_error = false;
    if !destroy && !outcome.interrupted && outcome.state_error.is_none() && flags.refresh {
        // Checks are evaluated after apply too, with fresh driver statuses.
        match s.run_and_record_checks(run.parallelism).await {
            Ok(w) => diags.extend(w),
            Err(e) => {
                crate::err!("{}", e.0);
                after_error = true;
            }
        }
    }
    if !destroy && outcome.state_error.is_none() {
        match s.record_outputs().await {
            Ok(d) => diags.extend(d),
            Err(e) => {
                crate::err!("{}", e.0);
                after_error = true;
            }
        }
    } else if destroy && outcome.failures.is_empty() {
        s.state.outputs.clear();
        let _ = s.ws.store.write(&mut s.state).await;
    }
    if s.json {
        let p = s.printer();
        for f in &outcome.failures {
            p.emit(crate::engine::diagnostic_json(
                &f.diagnostic,
                Some(f.category),
            ));
        }
        let failed: std::collections::BTreeSet<&str> = outcome
            .failures
            .iter()
            .map(|f| f.address.as_str())
            .collect();
        for d in diags
            .iter()
            .filter(|d| d.address.as_deref().is_none_or(|a| !failed.contains(a)))
        {
            p.emit(crate::engine::diagnostic_json(d, None));
        }
        emit_result(
            s,
            format!(
                "Apply: {} added, {} changed, {} destroyed.",
                outcome.added, outcome.changed, outcome.destroyed
            ),
            [
                outcome.added,
                outcome.changed,
                outcome.destroyed,
                outcome.adopted,
            ],
            op,
        );
        return if outcome.interrupted {
            130
        } else if outcome.failures.is_empty() && outcome.state_error.is_none() && !after_error {
            0
        } else {
            1
        };
    }
    if !diags.is_empty() {
        crate::err!("{}", s.render(&diags));
    }
    if !outcome.skipped.is_empty() {
        crate::errln!(
            "\nNot applied because something they depend on failed or the run was interrupted: {}",
            outcome.skipped.join(", ")
        );
    }
    let adopted = if outcome.adopted > 0 {
        format!("{} adopted, ", outcome.adopted)
    } else {
        String::new()
    };
    let verb = if op == "destroy" { "Destroy" } else { "Apply" };
    if outcome.failures.is_empty() && outcome.state_error.is_none() && !outcome.interrupted {
        crate::outln!(
            "\n{verb} complete! Resources: {adopted}{} added, {} changed, {} destroyed.",
            outcome.added,
            outcome.changed,
            outcome.destroyed
        );
        if !destroy {
            crate::out!("{}", render_outputs(&s.state));
        }
        i32::from(after_error)
    } else {
        crate::outln!(
            "\n{verb} incomplete. Resources: {adopted}{} added, {} changed, {} destroyed; {} failed.",
            outcome.added,
            outcome.changed,
            outcome.destroyed,
            outcome.failures.len()
        );
        if outcome.interrupted { 130 } else { 1 }
    }
}

/// The closing events of an apply's JSON stream: the `change_summary` (`counts` are
/// added, changed, destroyed, adopted) and the `outputs`, sensitive ones without value.
fn emit_result(s: &Session, message: String, counts: [usize; 4], op: &str) {
    let [add, change, remove, import] = counts;
    let p = s.printer();
    p.emit(serde_json::json!({"@level": "info", "@message": message, "type": "change_summary", "changes": {"add": add, "change": change, "remove": remove, "import": import, "operation": op}}));
    let outputs: serde_json::Map<String, serde_json::Value> = s
        .state
        .outputs
        .iter()
        .map(|(k, o)| {
            let value = if o.sensitive {
                serde_json::Value::Null
            } else {
                o.value.clone()
            };
            (
                k.clone(),
                serde_json::json!({"sensitive": o.sensitive, "value": value}),
            )
        })
        .collect();
    p.emit(serde_json::json!({"@level": "info", "@message": "Outputs", "type": "outputs", "outputs": outputs}));
}

pub fn run_force_unlock(a: ForceUnlockArgs) -> i32 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async move {
        let store = match super::common::open_store(false) {
            Ok(s) => s,
            Err(code) => return code,
        };
        if !a.force {
            crate::out!("Do you really want to force-unlock?\n  dmsform will remove the lock on the state.\n  This will allow local dmsform commands to modify this state, even though it\n  may still be in use. Only 'yes' will be accepted to confirm.\n\n  Enter a value: ");
            let _ = std::io::stdout().flush();
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
            if line.trim() != "yes" {
                crate::errln!("force-unlock cancelled.");
                return 1;
            }
        }
        match store.force_unlock(&a.id).await {
            Ok(info) => {
                crate::outln!("dmsform state has been successfully unlocked!\n\nThe lock {} ({} by {}) was removed.", info.id, info.operation, info.who);
                0
            }
            Err(e) => {
                crate::errln!("Error: Failed to unlock state\n\n{e}");
                1
            }
        }
    })
}
