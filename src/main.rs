//! The `dmsform` binary: run the CLI and turn its outcome into a process exit code.

fn main() {
    dmsform::term::install_panic_hook();
    dmsform::term::install_logging();
    let code = dmsform::cli::main_with_args(std::env::args_os().collect());
    std::process::exit(code);
}
