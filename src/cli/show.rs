//! `dmsform show [-json] [FILE]`: a saved plan, or the state.

use super::common::runtime;
use crate::plan::planfile::PlanFile;
use crate::plan::render::{Style, plan as render_plan};
use crate::plan::render_json::plan_json;
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan file saved with `plan -out`; the state when omitted.
    pub file: Option<PathBuf>,
    /// Print as JSON (Terraform's plan or state representation).
    #[arg(long)]
    pub json: bool,
    /// Do not colour the output.
    #[arg(long = "no-color")]
    pub no_color: bool,
}

pub fn run(a: ShowArgs) -> i32 {
    let color = !a.no_color
        && !a.json
        && std::env::var_os("NO_COLOR").is_none()
        && std::io::stdout().is_terminal();
    if let Some(file) = &a.file {
        let pf = match PlanFile::read(file) {
            Ok(p) => p,
            Err(e) => {
                crate::errln!("Error: {e}");
                return 1;
            }
        };
        if a.json {
            crate::outln!(
                "{}",
                serde_json::to_string_pretty(&plan_json(
                    &pf.plan,
                    &pf.variables,
                    crate::plan::render_json::PlanContext {
                        prior_state: pf.prior_state.clone(),
                        configuration: pf.configuration.clone(),
                        checks: pf.checks.clone(),
                    },
                ))
                .unwrap_or_default()
            );
        } else {
            crate::out!("{}", render_plan(&pf.plan, Style { color }));
        }
        return 0;
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async move {
        let store = match super::common::open_store(color) {
            Ok(s) => s,
            Err(code) => return code,
        };
        let state = match store.read().await {
            Ok(s) => s,
            Err(e) => {
                crate::errln!("Error: Failed to load state\n\n{e}");
                return 1;
            }
        };
        let Some(state) = state else {
            if a.json {
                crate::outln!("{{\"format_version\": \"1.0\"}}");
            } else {
                crate::outln!("No state.");
            }
            return 0;
        };
        if a.json {
            let doc = crate::state::show::state_json(&state);
            crate::outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            return 0;
        }
        for r in &state.resources {
            crate::outln!("{}", crate::state::show::render_resource(r));
        }
        if !state.outputs.is_empty() {
            crate::outln!("Outputs:\n");
            for (k, o) in &state.outputs {
                let v = if o.sensitive {
                    "(sensitive value)".into()
                } else {
                    crate::engine::hcl_value(&o.value, 0)
                };
                crate::outln!("{k} = {v}");
            }
        }
        0
    })
}
