//! `dmsform fmt [-check] [-diff] [-recursive] [-write=false] [-list=false] [FILES…]`:
//! rewrite configuration files in the canonical layout. Exit 3 with `-check` when a file
//! would change, 2 when a file does not parse, as Terraform does.

use crate::config::fmt::format_source;
use clap::{ArgAction, Args};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Only check: exit 3 if any file is not formatted; write nothing.
    #[arg(long)]
    pub check: bool,
    /// Print the differences.
    #[arg(long)]
    pub diff: bool,
    /// Also process subdirectories.
    #[arg(long)]
    pub recursive: bool,
    /// Write the result back to the files (`-write=false` to not).
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub write: bool,
    /// List the files whose formatting changes (`-list=false` to not).
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub list: bool,
    /// Do not colour the output.
    #[arg(long = "no-color")]
    pub no_color: bool,
    /// Files or directories (default: the working directory); `-` reads standard input.
    pub targets: Vec<PathBuf>,
}

fn collect(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if p.is_dir() {
            if recursive && !hidden {
                collect(&p, recursive, out)?;
            }
        } else if !hidden && p.extension().is_some_and(|e| e == "hcl") {
            out.push(p);
        }
    }
    Ok(())
}

fn display(p: &Path) -> String {
    p.strip_prefix(".").unwrap_or(p).display().to_string()
}

pub fn run(args: FmtArgs) -> i32 {
    let color = !args.no_color && std::io::stderr().is_terminal();
    if args.targets.len() == 1 && args.targets[0] == Path::new("-") {
        let mut src = String::new();
        if std::io::stdin().read_to_string(&mut src).is_err() {
            crate::errln!("Error: Failed to read standard input");
            return 1;
        }
        return match format_source("<stdin>", &src) {
            Ok(out) => {
                if args.check {
                    return if out == src { 0 } else { 3 };
                }
                crate::out!("{out}");
                0
            }
            Err((sources, diags)) => {
                crate::err!("{}", sources.render(&diags, color));
                2
            }
        };
    }
    let targets = if args.targets.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.targets.clone()
    };
    let mut files = Vec::new();
    for t in &targets {
        if t.is_dir() {
            if let Err(e) = collect(t, args.recursive, &mut files) {
                crate::errln!("Error: Failed to read directory {}: {e}", t.display());
                return 1;
            }
        } else if t.is_file() {
            files.push(t.clone());
        } else {
            crate::errln!("Error: No file or directory at {}", t.display());
            return 1;
        }
    }
    let write = args.write && !args.check;
    let mut changed = false;
    let mut failed = false;
    for f in files {
        let name = display(&f);
        let Ok(src) = std::fs::read_to_string(&f) else {
            crate::errln!("Error: Failed to read file {name}");
            failed = true;
            continue;
        };
        let out = match format_source(&name, &src) {
            Ok(out) => out,
            Err((sources, diags)) => {
                crate::err!("{}", sources.render(&diags, color));
                failed = true;
                continue;
            }
        };
        if out == src {
            continue;
        }
        changed = true;
        if args.list {
            crate::outln!("{name}");
        }
        if args.diff {
            let diff = similar::TextDiff::from_lines(&src, &out);
            crate::out!(
                "{}",
                diff.unified_diff()
                    .context_radius(3)
                    .header(&format!("old/{name}"), &format!("new/{name}"))
            );
        }
        if write && let Err(e) = std::fs::write(&f, &out) {
            crate::errln!("Error: Failed to write {name}: {e}");
            failed = true;
        }
    }
    if failed {
        2
    } else if args.check && changed {
        3
    } else {
        0
    }
}
