//! Command-line entry: normalises Terraform-style flags, parses with clap, dispatches to
//! one function per command and maps outcomes to exit codes. Holds no command logic.

mod apply;
mod args;
mod common;
mod completions;
mod drift;
mod emulator;
mod fmt;
mod graph;
mod import;
mod init;
mod manual;
mod output;
mod plan;
mod show;
mod state;
mod task;
mod validate;

use clap::{Parser, Subcommand};
use std::ffi::OsString;

/// dmsform: plan and apply Azure Data Migration Service tasks the way Terraform does.
#[derive(Debug, Parser)]
#[command(name = "dmsform", version, about, long_about = None, disable_help_subcommand = true)]
pub struct Cli {
    /// Switch to this working directory before running the command.
    #[arg(long, global = true, value_name = "DIR")]
    pub chdir: Option<std::path::PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the local DMS service-task emulator (a sandbox, like Azurite for storage).
    Emulator(emulator::EmulatorArgs),
    /// Show what would change on the service.
    Plan(Box<plan::PlanArgs>),
    /// Make the planned changes: create, update, replace or delete tasks, waiting for each.
    Apply(Box<apply::ApplyArgs>),
    /// Delete every task this configuration manages.
    Destroy(Box<apply::DestroyArgs>),
    /// Update state with what changed remotely (apply -refresh-only -auto-approve).
    Refresh(Box<apply::RefreshArgs>),
    /// Show a saved plan or the state.
    Show(show::ShowArgs),
    /// Show output values from the state.
    Output(output::OutputArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(completions::CompletionsArgs),
    /// Report drift: remote changes, failed or vanished tasks, live driver status, checks.
    Drift(Box<drift::DriftArgs>),
    /// Print the dependency graph in DOT.
    Graph(graph::GraphArgs),
    /// Record an existing service task in state.
    Import(Box<import::ImportArgs>),
    /// Prepare the working directory: check and reach the backend, migrate state.
    Init(init::InitArgs),
    /// Inspect and edit the state: list, show, rm, mv, pull, push.
    State(state::StateArgs),
    /// Remove a stuck state lock.
    #[command(name = "force-unlock")]
    ForceUnlock(apply::ForceUnlockArgs),
    /// Run one service-task operation directly: list, get, create, update, cancel, delete.
    Task(task::TaskArgs),
    /// Check whether the configuration is valid.
    Validate(validate::ValidateArgs),
    /// Rewrite configuration files in the canonical layout.
    Fmt(fmt::FmtArgs),
    /// Show the manual page of a command: synopsis, description, options, exit status, examples.
    Help(manual::HelpArgs),
}

/// Runs the CLI with the given arguments (program name first) and returns the exit code.
pub fn main_with_args(argv: Vec<OsString>) -> i32 {
    let argv = args::normalize(argv);
    common::remember_argv(&argv);
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    if let Some(dir) = &cli.chdir
        && let Err(e) = std::env::set_current_dir(dir)
    {
        crate::errln!("Error: cannot change to directory {}: {e}", dir.display());
        return 1;
    }
    match cli.command {
        Command::Emulator(a) => emulator::run(a),
        Command::Plan(a) => plan::run(*a),
        Command::Apply(a) => apply::run(*a),
        Command::Destroy(a) => apply::run_destroy(*a),
        Command::Refresh(a) => apply::run_refresh(*a),
        Command::Show(a) => show::run(a),
        Command::Output(a) => output::run(a),
        Command::ForceUnlock(a) => apply::run_force_unlock(a),
        Command::Graph(a) => graph::run(a),
        Command::Drift(a) => drift::run(*a),
        Command::Completions(a) => completions::run(a),
        Command::Import(a) => import::run(*a),
        Command::Init(a) => init::run(a),
        Command::State(a) => state::run(a),
        Command::Task(a) => task::run(a),
        Command::Validate(a) => validate::run(a),
        Command::Fmt(a) => fmt::run(a),
        Command::Help(a) => manual::run(a),
    }
}
