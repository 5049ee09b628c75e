//! `dmsform emulator`: serve the DMS service-task API locally.

use clap::Args;

#[derive(Debug, Args)]
pub struct EmulatorArgs {}

pub fn run(_args: EmulatorArgs) -> i32 {
    0
}
