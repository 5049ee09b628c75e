//! `dmsform validate [-json] [-no-color]`: check the configuration of the working
//! directory without touching state or the service. Exit 1 when there are errors.

use crate::config::{LoadOptions, validate};
use clap::Args;
use std::io::IsTerminal;
use std::path::Path;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Print the result as Terraform's validate JSON document.
    #[arg(long)]
    pub json: bool,
    /// Do not colour the output.
    #[arg(long = "no-color")]
    pub no_color: bool,
}

pub fn run(args: ValidateArgs) -> i32 {
    let (sources, diags) = validate(Path::new("."), &LoadOptions::default().with_process_env());
    let code = i32::from(diags.has_errors());
    if args.json {
        let doc = sources.validate_json(&diags);
        crate::outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return code;
    }
    let color = !args.no_color && std::io::stdout().is_terminal();
    let text = sources.render(&diags, color);
    if diags.has_errors() {
        crate::err!("{text}");
    } else {
        if !text.is_empty() {
            crate::outln!("{text}");
        }
        let msg = if diags.is_empty() {
            "Success! The configuration is valid."
        } else {
            "Success! The configuration is valid, but there were some validation warnings as shown above."
        };
        if color {
            crate::outln!("\x1b[32m\x1b[1m{msg}\x1b[0m");
        } else {
            crate::outln!("{msg}");
        }
    }
    code
}
