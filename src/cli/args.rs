//! Terraform spells long flags with one dash (`-auto-approve`, `-chdir=DIR`); clap wants two.
//! This rewrites `-word…` into `--word…` before parsing, leaving short flags (`-o`),
//! negative numbers and everything after `--` alone.

use std::ffi::OsString;

/// Rewrites single-dash long flags into the double-dash form clap understands.
pub fn normalize(argv: Vec<OsString>) -> Vec<OsString> {
    let mut out = Vec::with_capacity(argv.len());
    let mut passthrough = false;
    for (i, arg) in argv.into_iter().enumerate() {
        if i == 0 || passthrough {
            out.push(arg);
            continue;
        }
        let Some(s) = arg.to_str() else {
            out.push(arg);
            continue;
        };
        if s == "--" {
            passthrough = true;
            out.push(arg);
            continue;
        }
        if is_single_dash_long(s) {
            out.push(OsString::from(format!("-{s}")));
        } else {
            out.push(arg);
        }
    }
    out
}

fn is_single_dash_long(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('-') else {
        return false;
    };
    if rest.starts_with('-') {
        return false;
    }
    let name = rest.split('=').next().unwrap_or("");
    name.len() > 1
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Vec<String> {
        let v = args.iter().map(OsString::from).collect();
        normalize(v)
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect()
    }

    #[test]
    fn rewrites_single_dash_long_flags() {
        assert_eq!(
            norm(&[
                "dmsform",
                "-chdir=x",
                "plan",
                "-auto-approve",
                "-var",
                "a=1"
            ]),
            [
                "dmsform",
                "--chdir=x",
                "plan",
                "--auto-approve",
                "--var",
                "a=1"
            ]
        );
    }

    #[test]
    fn leaves_short_flags_numbers_and_passthrough() {
        assert_eq!(
            norm(&["dmsform", "task", "-o", "json", "-5", "--", "-lock"]),
            ["dmsform", "task", "-o", "json", "-5", "--", "-lock"]
        );
        assert_eq!(norm(&["x", "--already"]), ["x", "--already"]);
    }
}
