//! `dmsform plan`: show what would change on the service. With `-detailed-exitcode`:
//! 0 no changes, 1 error, 2 changes.

use super::common::{PlanFlags, RunArgs};
use crate::engine::Session;
use crate::plan::planfile::{self, PlanFile, PlanOptions};
use crate::plan::planner::PlanRequest;
use crate::plan::render::{Style, plan as render_plan};
use crate::plan::render_json::plan_json;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Save the plan to FILE, for `dmsform apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long = "detailed-exitcode")]
    pub detailed_exitcode: bool,
    /// Print the plan as Terraform's JSON plan document.
    #[arg(long)]
    pub json: bool,
}

pub fn request(run: &RunArgs, flags: &PlanFlags) -> PlanRequest {
    PlanRequest {
        destroy: flags.destroy,
        refresh_only: flags.refresh_only,
        refresh: flags.refresh,
        targets: flags.target.clone(),
        replace: flags.replace.iter().cloned().collect(),
        parallelism: run.parallelism,
    }
}

pub fn run(a: PlanArgs) -> i32 {
    let color = a.run.color() && !a.json;
    super::common::with_session("plan", &a.run, color, async |s| plan_in(s, &a).await)
}

async fn plan_in(s: &mut Session, a: &PlanArgs) -> i32 {
    if let Err(e) = s.recover(false).await {
        crate::err!("{}", e.0);
        return 1;
    }
    let mut check_warnings = crate::diag::Diagnostics::new();
    if a.flags.refresh && !a.flags.destroy {
        match s.read_statuses_and_checks(a.run.parallelism).await {
            Ok(w) => check_warnings = w,
            Err(e) => {
                crate::err!("{}", e.0);
                return 1;
            }
        }
    }
    let planned = match s.plan(&request(&a.run, &a.flags)).await {
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
    let (vars, secret_vars) = planfile::variables(&s.ws.config, &s.digester);
    let prior_state = s
        .had_state
        .then(|| crate::plan::render_json::prior_state_json(&planned.refreshed));
    let configuration = crate::config::json::configuration_json(
        &s.ws.config,
        crate::plan::render_json::PROVIDER_NAME,
    );
    let checks = (!s.checks.is_empty()).then(|| crate::drift::checks::checks_json(&s.checks));
    if a.json {
        let doc = plan_json(
            &planned.plan,
            &vars,
            crate::plan::render_json::PlanContext {
                prior_state: prior_state.clone(),
                configuration: Some(configuration.clone()),
                checks: checks.clone(),
            },
        );
        crate::outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        crate::out!("{}", render_plan(&planned.plan, Style { color: s.color }));
    }
    if let Some(out) = &a.out {
        let file = PlanFile {
            format_version: planfile::PLANFILE_VERSION,
            dmsform_version: env!("CARGO_PKG_VERSION").into(),
            lineage: s.had_state.then(|| s.state.lineage.clone()),
            serial: if s.had_state { s.state.serial } else { 0 },
            config_digest: planfile::config_digest(&s.ws.dir),
            variables: vars,
            sensitive_variables: secret_vars,
            options: PlanOptions {
                destroy: a.flags.destroy,
                refresh_only: a.flags.refresh_only,
                targets: a.flags.target.clone(),
                replace: a.flags.replace.iter().cloned().collect(),
            },
            plan: planned.plan.clone(),
            prior_state,
            configuration: Some(configuration),
            checks,
        };
        if let Err(e) = file.write(out) {
            crate::errln!("Error: Failed to write plan file\n\n{}: {e}", out.display());
            return 1;
        }
        if !a.json {
            crate::outln!(
                "\nSaved the plan to: {}\n\nTo perform exactly these actions, run the following command to apply:\n    dmsform apply {}",
                out.display(),
                out.display()
            );
        }
    } else if !a.json && planned.plan.has_changes() && !a.flags.refresh_only {
        crate::outln!(
            "\nNote: You didn't use the -out option to save this plan, so dmsform can't\nguarantee to take exactly these actions if you run \"dmsform apply\" now."
        );
    }
    if !check_warnings.is_empty() && !a.json {
        crate::err!("{}", s.render(&check_warnings));
    }
    if a.detailed_exitcode && planned.plan.has_changes() {
        2
    } else {
        0
    }
}
