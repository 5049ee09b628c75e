//! `dmsform completions bash|zsh|fish|powershell|elvish`: a shell completion script on stdout.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(a: CompletionsArgs) -> i32 {
    let mut cmd = super::Cli::command();
    // Into a buffer first: clap_complete panics when its writer fails (`| head`).
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "dmsform", &mut script);
    crate::out!("{}", String::from_utf8_lossy(&script));
    0
}
