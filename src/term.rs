//! Terminal output that never panics: `outln!`/`out!` write to stdout and `errln!`/`err!`
//! to stderr like `println!` and friends, but a closed pipe (`dmsform show | head`) or a
//! closed descriptor is ignored instead of aborting the process. An apply whose output
//! reader went away must still wait for its tasks and record them in state.

use std::fmt::Arguments;
use std::io::Write;

/// Writes to stdout, ignoring failures (a closed pipe must not stop the command).
pub fn write_out(args: Arguments<'_>) {
    let _ = std::io::stdout().lock().write_fmt(args);
}

/// Writes to stderr, ignoring failures.
pub fn write_err(args: Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// `println!` to stdout that ignores a closed pipe.
#[macro_export]
macro_rules! outln {
    () => { $crate::term::write_out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::term::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` to stdout that ignores a closed pipe.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::term::write_out(format_args!($($arg)*)) };
}

/// `eprintln!` that ignores a closed stderr.
#[macro_export]
macro_rules! errln {
    () => { $crate::term::write_err(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::term::write_err(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprint!` that ignores a closed stderr.
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => { $crate::term::write_err(format_args!($($arg)*)) };
}

/// Installs a panic hook that reports a bug in one short paragraph instead of Rust's
/// panic message and backtrace (set `DMSFORM_BACKTRACE=1` to get those).
pub fn install_panic_hook() {
    if std::env::var("DMSFORM_BACKTRACE").is_ok_and(|v| !v.is_empty() && v != "0") {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_string());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        write_err(format_args!(
            "\nError: internal error in dmsform: {what}{at}\n\n\
             This is a bug in dmsform, not in the configuration. Any intent recorded in state \
             is resolved by the next run. Run again with DMSFORM_BACKTRACE=1 for a backtrace.\n"
        ));
    }));
}

/// Sends log records to stderr, or to the file `DMSFORM_LOG_PATH` names (appended, mode
/// 0600), at the level `DMSFORM_LOG` names (`trace`, `debug`, `info`, `warn`, `error`, or
/// tracing filter directives such as `dmsform::providers=trace`), as Terraform does with
/// `TF_LOG` and `TF_LOG_PATH`. Without `DMSFORM_LOG`, only dmsform's own warnings and
/// errors are shown. Log records never carry a token, password or SAS URI: the client
/// logs request lines and outcomes, not headers or bodies.
pub fn install_logging() {
    use tracing_subscriber::EnvFilter;
    let level = std::env::var("DMSFORM_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let filter = match &level {
        Some(l) => match l.to_ascii_lowercase().as_str() {
            "trace" | "debug" | "info" | "warn" | "error" => EnvFilter::new(format!("dmsform={l}")),
            _ => EnvFilter::try_new(l).unwrap_or_else(|e| {
                write_err(format_args!(
                    "Warning: DMSFORM_LOG={l:?} is not a level or filter ({e}); logging warnings only.\n"
                ));
                EnvFilter::new("dmsform=warn")
            }),
        },
        None => EnvFilter::new("dmsform=warn"),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true);
    let path = std::env::var_os("DMSFORM_LOG_PATH").filter(|p| !p.is_empty());
    let result = match path {
        Some(path) if level.is_some() => {
            let mut opts = std::fs::OpenOptions::new();
            opts.create(true).append(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            match opts.open(&path) {
                Ok(file) => builder
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(file))
                    .try_init(),
                Err(e) => {
                    write_err(format_args!(
                        "Warning: cannot open DMSFORM_LOG_PATH {}: {e}; logging to stderr.\n",
                        std::path::Path::new(&path).display()
                    ));
                    builder
                        .with_ansi(false)
                        .with_writer(std::io::stderr)
                        .try_init()
                }
            }
        }
        _ => {
            use std::io::IsTerminal;
            builder
                .with_ansi(std::io::stderr().is_terminal())
                .with_writer(std::io::stderr)
                .try_init()
        }
    };
    let _ = result;
}
