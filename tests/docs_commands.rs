//! docs/commands.md holds the `--help` of every command the binary accepts; this test
//! regenerates it from the binary and compares, so the documented flags can't drift from
//! the real ones. `DMSFORM_UPDATE_DOCS=1` rewrites the reference part of the file.

use clap::CommandFactory;
use std::process::Command;

const MARKER: &str =
    "<!-- generated reference below: DMSFORM_UPDATE_DOCS=1 cargo test --test docs_commands -->";

fn paths(cmd: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let mut p = prefix.clone();
        p.push(sub.get_name().to_string());
        out.push(p.clone());
        paths(sub, p, out);
    }
}

fn reference() -> String {
    let cmd = dmsform::cli::Cli::command();
    let mut all = vec![vec![]];
    paths(&cmd, vec![], &mut all);
    let mut out = String::new();
    for p in all {
        let mut args = p.clone();
        args.push("--help".into());
        let o = Command::new(assert_cmd::cargo::cargo_bin("dmsform"))
            .args(&args)
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}");
        let title = if p.is_empty() {
            "dmsform".to_string()
        } else {
            format!("dmsform {}", p.join(" "))
        };
        out.push_str(&format!(
            "### `{title}`\n\n```text\n{}```\n\n",
            String::from_utf8_lossy(&o.stdout)
        ));
    }
    out
}

#[test]
fn every_command_and_flag_is_documented() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/commands.md");
    let doc = std::fs::read_to_string(path).unwrap_or_default();
    let (head, _) = doc.split_once(MARKER).unwrap_or((doc.as_str(), ""));
    let want = format!("{head}{MARKER}\n\n{}", reference());
    if std::env::var_os("DMSFORM_UPDATE_DOCS").is_some() {
        std::fs::write(path, &want).unwrap();
        return;
    }
    if doc != want {
        let diff = similar::TextDiff::from_lines(&doc, &want)
            .unified_diff()
            .header("docs/commands.md", "dmsform --help")
            .to_string();
        panic!(
            "docs/commands.md is out of date with the binary's --help; regenerate with DMSFORM_UPDATE_DOCS=1:\n{diff}"
        );
    }
    // Every long flag of every command appears in the hand-written part too (as -flag).
    let cmd = dmsform::cli::Cli::command();
    let mut missing = Vec::new();
    let mut stack = vec![cmd];
    while let Some(c) = stack.pop() {
        for a in c.get_arguments() {
            if let Some(l) = a.get_long()
                && !["help", "version"].contains(&l)
                && !head.contains(&format!("-{l}"))
            {
                missing.push(format!("{} -{l}", c.get_name()));
            }
        }
        stack.extend(c.get_subcommands().cloned());
    }
    assert!(
        missing.is_empty(),
        "flags not described in docs/commands.md: {missing:?}"
    );
}

#[test]
fn help_prints_a_manual_page_per_command() {
    let run = |args: &[&str]| {
        let o = Command::new(assert_cmd::cargo::cargo_bin("dmsform"))
            .args(args)
            .output()
            .expect("runs");
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, out, _) = run(&["help", "drift"]);
    assert_eq!(code, Some(0));
    for head in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "EXIT STATUS",
        "EXAMPLES",
    ] {
        assert!(out.contains(&format!("\n{head}\n")), "{head}\n{out}");
    }
    // The description is the command's section of docs/commands.md.
    assert!(out.contains("refreshes every managed task"), "{out}");
    assert!(out.contains("    -format=FORMAT\n"), "{out}");
    assert!(
        out.contains("3 only configuration changes are pending"),
        "{out}"
    );
    let (code, out, _) = run(&["help", "task", "create"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("dmsform task create - "), "{out}");
    assert!(out.contains("-share-password-env=VAR"), "{out}");
    let (code, _, err) = run(&["help", "plna"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no command \"plna\""), "{err}");
}
