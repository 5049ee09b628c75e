//! `dmsform output [-json] [-raw] [NAME]`: output values recorded in the state.

use super::common::runtime;
use crate::engine::hcl_value;
use clap::Args;

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// One output's name; all outputs when omitted.
    pub name: Option<String>,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
    /// Print a string output's raw value.
    #[arg(long)]
    pub raw: bool,
}

pub fn run(a: OutputArgs) -> i32 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async move {
        let store = match super::common::open_store(false) {
            Ok(s) => s,
            Err(code) => return code,
        };
        let state = match store.read().await {
            Ok(s) => s.unwrap_or_default(),
            Err(e) => {
                crate::errln!("Error: Failed to load state\n\n{e}");
                return 1;
            }
        };
        match &a.name {
            Some(name) => {
                let Some(o) = state.outputs.get(name) else {
                    crate::errln!("Error: Output \"{name}\" not found\n\nThe output variable requested could not be found in the state. Run dmsform apply first.");
                    return 1;
                };
                if o.sensitive && o.value.is_null() {
                    crate::errln!("Error: Output \"{name}\" is sensitive\n\ndmsform does not store sensitive output values, so it cannot print them.");
                    return 1;
                }
                if a.json {
                    crate::outln!("{}", serde_json::to_string_pretty(&o.value).unwrap_or_default());
                } else if a.raw {
                    match &o.value {
                        serde_json::Value::String(s) => crate::out!("{s}"),
                        serde_json::Value::Number(_) | serde_json::Value::Bool(_) => crate::out!("{}", o.value),
                        _ => {
                            crate::errln!("Error: Unsupported value for raw output\n\nThe -raw option only supports strings, numbers, and boolean values.");
                            return 1;
                        }
                    }
                } else {
                    crate::outln!("{}", hcl_value(&o.value, 0));
                }
            }
            None => {
                if a.json {
                    let doc: serde_json::Map<String, serde_json::Value> = state
                        .outputs
                        .iter()
                        .map(|(k, o)| (k.clone(), serde_json::json!({"sensitive": o.sensitive, "value": o.value})))
                        .collect();
                    crate::outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
                } else if state.outputs.is_empty() {
                    crate::errln!("Warning: No outputs found\n\nThe state has no outputs defined yet; run dmsform apply.");
                } else {
                    for (k, o) in &state.outputs {
                        let v = if o.sensitive { "<sensitive>".into() } else { hcl_value(&o.value, 0) };
                        crate::outln!("{k} = {v}");
                    }
                }
            }
        }
        0
    })
}
