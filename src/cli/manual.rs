//! `dmsform help [COMMAND [SUBCOMMAND]]`: a manual page per command — NAME, SYNOPSIS,
//! DESCRIPTION, OPTIONS, EXIT STATUS, EXAMPLES, SEE ALSO. NAME, SYNOPSIS and OPTIONS come
//! from the clap definitions, DESCRIPTION from the command's section of docs/commands.md
//! (compiled in), so the manual, `--help` and the docs cannot tell different stories.

use clap::{Args, CommandFactory};

/// The hand-written part of docs/commands.md: one `## name` section per command.
const COMMANDS_MD: &str = include_str!("../../docs/commands.md");
const WIDTH: usize = 88;

#[derive(Debug, Args)]
pub struct HelpArgs {
    /// The command (and subcommand) to show the manual page of.
    #[arg(value_name = "COMMAND")]
    pub command: Vec<String>,
}

pub fn run(a: HelpArgs) -> i32 {
    let mut root = super::Cli::command();
    root.build();
    if a.command.is_empty() {
        crate::outln!("{}", root.render_long_help());
        crate::outln!("`dmsform help COMMAND` shows the manual page of a command.");
        return 0;
    }
    let mut cmd = &root;
    for (i, name) in a.command.iter().enumerate() {
        match cmd.find_subcommand(name) {
            Some(sub) => cmd = sub,
            None => {
                let known: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
                crate::errln!(
                    "Error: no command \"{}\"\n\nThe commands{} are: {}.",
                    a.command[..=i].join(" "),
                    if i == 0 { "" } else { " there" },
                    known.join(", ")
                );
                return 1;
            }
        }
    }
    crate::out!("{}", page(&a.command, cmd));
    0
}

/// The whole manual page of the command at `path`.
pub fn page(path: &[String], cmd: &clap::Command) -> String {
    let full = format!("dmsform {}", path.join(" "));
    let title = format!("DMSFORM-{}(1)", path.join("-").to_uppercase());
    let mut out = format!(
        "{title}{:>w$}\n\n",
        title,
        w = WIDTH.saturating_sub(title.len())
    );
    let about = strip_markdown(&cmd.get_about().map(|s| s.to_string()).unwrap_or_default())
        .trim_end_matches('.')
        .to_string();
    section(&mut out, "NAME", &format!("{full} - {about}"));
    let usage = cmd.clone().render_usage().to_string();
    let usage = usage.trim_start_matches("Usage: ").trim().to_string();
    section(&mut out, "SYNOPSIS", &usage.replace(" --", " -"));
    let description = path
        .iter()
        .take(1)
        .find_map(|top| docs_section(top))
        .unwrap_or_else(|| about.clone() + ".");
    out.push_str("DESCRIPTION\n");
    out.push_str(&markdown_to_text(&description));
    out.push('\n');
    let subs: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .collect();
    if !subs.is_empty() {
        out.push_str("COMMANDS\n");
        for s in subs {
            let about = strip_markdown(&s.get_about().map(|a| a.to_string()).unwrap_or_default());
            out.push_str(&format!("    {}\n", s.get_name()));
            out.push_str(&wrap(&about, 8));
        }
        out.push('\n');
    }
    let positionals: Vec<&clap::Arg> = cmd.get_positionals().filter(|a| !a.is_hide_set()).collect();
    if !positionals.is_empty() {
        out.push_str("ARGUMENTS\n");
        for arg in positionals {
            out.push_str(&format!("    {}\n", option_head(arg)));
            out.push_str(&wrap(&help_text(arg), 8));
        }
        out.push('\n');
    }
    out.push_str("OPTIONS\n");
    for arg in cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_positional())
    {
        let id = arg.get_id().as_str();
        if id == "help" || id == "version" {
            continue;
        }
        out.push_str(&format!("    {}\n", option_head(arg)));
        let mut text = help_text(arg);
        if id == "chdir" {
            text.push_str(" Given before the command: dmsform -chdir=DIR plan.");
        }
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
        if !defaults.is_empty() && !arg.is_positional() && takes_value {
            text.push_str(&format!(" Default: {}.", defaults.join(", ")));
        }
        out.push_str(&wrap(&text, 8));
    }
    out.push_str("    -help\n");
    out.push_str(&wrap("Print the short help (-h) or the long help.", 8));
    out.push('\n');
    section(&mut out, "EXIT STATUS", exit_status(path));
    let examples = examples(path);
    if !examples.is_empty() {
        out.push_str("EXAMPLES\n");
        for e in examples {
            out.push_str(&format!("    {e}\n"));
        }
        out.push('\n');
    }
    let see: Vec<String> = see_also(path)
        .iter()
        .map(|s| format!("dmsform help {s}"))
        .collect();
    let mut refs = see.join(", ");
    if !refs.is_empty() {
        refs.push_str("; ");
    }
    refs.push_str("docs/commands.md and docs/guide.md in the source distribution.");
    section(&mut out, "SEE ALSO", &refs);
    out
}

fn section(out: &mut String, head: &str, body: &str) {
    out.push_str(head);
    out.push('\n');
    out.push_str(&wrap(body, 4));
    out.push('\n');
}

/// `-name=VALUE`, `-name[=BOOL]` or `-name`, with the short form, Terraform's spelling.
fn option_head(arg: &clap::Arg) -> String {
    let value = arg
        .get_value_names()
        .and_then(|v| v.first())
        .map(|v| v.to_string());
    if arg.is_positional() {
        return value.unwrap_or_else(|| arg.get_id().to_string().to_uppercase());
    }
    let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
    let optional = arg.get_num_args().is_some_and(|n| n.min_values() == 0);
    let mut head = match arg.get_long() {
        Some(l) => format!("-{l}"),
        None => String::new(),
    };
    if takes_value && let Some(v) = value {
        if optional {
            head.push_str(&format!("[={v}]"));
        } else {
            head.push_str(&format!("={v}"));
        }
    }
    if let Some(s) = arg.get_short() {
        head = format!("-{s}, {head}");
    }
    head
}

/// An argument's help as a plain sentence.
fn help_text(arg: &clap::Arg) -> String {
    let help = arg
        .get_long_help()
        .or_else(|| arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let mut text = strip_markdown(help.trim());
    if !text.is_empty() && !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    text
}

/// The body of `## name` in docs/commands.md, if there is one.
fn docs_section(name: &str) -> Option<String> {
    let (hand, _) = COMMANDS_MD
        .split_once("<!-- generated reference")
        .unwrap_or((COMMANDS_MD, ""));
    let head = format!("## {name}\n");
    let start = hand.find(&head)? + head.len();
    let rest = &hand[start..];
    let end = rest.find("\n## ").map_or(rest.len(), |e| e + 1);
    Some(rest[..end].trim().to_string())
}

/// Markdown paragraphs and bullet lists as indented, wrapped plain text.
fn markdown_to_text(md: &str) -> String {
    let plain = strip_markdown(md);
    let mut out = String::new();
    let mut para: Vec<String> = Vec::new();
    let mut bullet = false;
    let flush = |para: &mut Vec<String>, bullet: bool, out: &mut String| {
        if para.is_empty() {
            return;
        }
        let text = para.join(" ");
        if bullet {
            let w = wrap(&text, 6);
            out.push_str("    - ");
            out.push_str(w.trim_start());
        } else {
            out.push_str(&wrap(&text, 4));
        }
        para.clear();
    };
    for line in plain.lines() {
        let t = line.trim();
        if t.is_empty() {
            flush(&mut para, bullet, &mut out);
            bullet = false;
            out.push('\n');
        } else if let Some(item) = t.strip_prefix("- ") {
            flush(&mut para, bullet, &mut out);
            bullet = true;
            para.push(item.to_string());
        } else {
            para.push(t.to_string());
        }
    }
    flush(&mut para, bullet, &mut out);
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Drops backticks and turns `[text](link)` into `text`.
fn strip_markdown(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    let mut rest = md;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        match after
            .find("](")
            .and_then(|close| after[close..].find(')').map(|end| (close, close + end)))
        {
            Some((close, end)) if !after[..close].contains('\n') => {
                out.push_str(&rest[..open]);
                out.push_str(&after[..close]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.replace('`', "")
}

/// Wraps `text` at [`WIDTH`] columns, every line indented by `indent` spaces.
fn wrap(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent + line.len() + 1 + word.len() > WIDTH {
            out.push_str(&pad);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&pad);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn exit_status(path: &[String]) -> &'static str {
    match path.first().map(String::as_str).unwrap_or("") {
        "plan" => {
            "0 success (with -detailed-exitcode: no changes); 1 an error; 2 with -detailed-exitcode: changes are planned (with -refresh-only, only when something really changed remotely)."
        }
        "apply" | "destroy" | "refresh" => {
            "0 every change succeeded; 1 an error or a failed change (independent changes still ran); 130 interrupted by Ctrl-C or SIGTERM, with running tasks waited for (first signal) or cancelled on the service (second), and state recorded."
        }
        "drift" => {
            "0 no drift; 1 an error (unreachable service, invalid configuration); 2 drift: a managed task changed remotely, failed or vanished, or a check assertion failed; 3 only configuration changes are pending."
        }
        "fmt" => {
            "0 success; 1 a target does not exist or a directory cannot be read; 2 a file does not parse, cannot be read or cannot be written; 3 with -check: a file would change."
        }
        "validate" => "0 the configuration is valid (warnings may be shown); 1 it has errors.",
        "emulator" => {
            "0 stopped by Ctrl-C or SIGTERM after finishing the requests in flight; 1 it could not start (address in use, unreadable data directory, bad flag value)."
        }
        _ => "0 success; 1 an error.",
    }
}

fn examples(path: &[String]) -> &'static [&'static str] {
    match path.first().map(String::as_str).unwrap_or("") {
        "plan" => &[
            "dmsform plan",
            "dmsform plan -out=driver.plan -var-file=prod.vars.hcl",
            "dmsform plan -detailed-exitcode -refresh-only   # in CI: exit 2 on drift",
            "dmsform plan -json | jq '.resource_changes[].change.actions'",
        ],
        "apply" => &[
            "dmsform apply",
            "dmsform apply -auto-approve -parallelism=50",
            "dmsform apply driver.plan",
            "dmsform apply -replace='dms_oci_driver_upload.driver[\"dms-east\"]'",
        ],
        "destroy" => &[
            "dmsform destroy",
            "dmsform destroy -auto-approve -target=dms_oci_driver_check.before",
        ],
        "refresh" => &["dmsform refresh"],
        "show" => &["dmsform show", "dmsform show -json driver.plan"],
        "output" => &["dmsform output", "dmsform output -raw driver_package"],
        "drift" => &[
            "dmsform drift",
            "dmsform drift -format=github   # annotations in a GitHub Actions job",
            "dmsform drift -json > drift.json",
        ],
        "graph" => &["dmsform graph | dot -Tsvg > graph.svg"],
        "import" => &[
            "dmsform import dms_oci_driver_check.before /subscriptions/SUB/resourceGroups/rg/providers/Microsoft.DataMigration/services/dms1/serviceTasks/checkOCIDriver",
        ],
        "init" => &["dmsform init", "dmsform init -migrate-state"],
        "state" => &[
            "dmsform state list",
            "dmsform state show 'dms_oci_driver_upload.driver[\"dms-east\"]'",
            "dmsform state mv dms_oci_driver_check.before dms_oci_driver_check.first",
            "dmsform state pull > backup.json",
        ],
        "force-unlock" => &["dmsform force-unlock 9f1c0b3e-6a0e-4c55-bb2a-0d7e4c3f2a11"],
        "task" => &[
            "dmsform task list -endpoint=embedded -g migration-rg -service=dms1",
            "dmsform task create checkOCIDriver -g migration-rg -service=dms1 -task-type=Service.Check.OCI -server-version=19.0 -wait",
            "dmsform task get uploadOCIDriver -g migration-rg -service=dms1 -expand=output -o json",
        ],
        "validate" => &["dmsform validate", "dmsform validate -json"],
        "fmt" => &["dmsform fmt", "dmsform fmt -check -diff -recursive"],
        "emulator" => &[
            "dmsform emulator -listen=127.0.0.1:7070 -data-dir=/tmp/dms -share-root=fileserver/drivers=./drivers",
            "dmsform emulator -fault='kind=status,status=429,retry_after=2,op=put,count=1'",
        ],
        "completions" => &[
            "dmsform completions bash > /etc/bash_completion.d/dmsform",
            "dmsform completions zsh > \"${fpath[1]}/_dmsform\"",
        ],
        _ => &[],
    }
}

fn see_also(path: &[String]) -> &'static [&'static str] {
    match path.first().map(String::as_str).unwrap_or("") {
        "plan" => &["apply", "show", "drift"],
        "apply" => &["plan", "destroy", "refresh"],
        "destroy" => &["apply", "plan"],
        "refresh" => &["plan", "drift"],
        "show" => &["plan", "state"],
        "output" => &["apply", "show"],
        "drift" => &["plan", "refresh"],
        "graph" => &["plan", "validate"],
        "import" => &["state", "plan"],
        "init" => &["state"],
        "state" => &["init", "import", "force-unlock"],
        "force-unlock" => &["state"],
        "task" => &["emulator", "apply"],
        "validate" => &["fmt", "plan"],
        "fmt" => &["validate"],
        "emulator" => &["task"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_of(path: &[&str]) -> String {
        let mut root = crate::cli::Cli::command();
        root.build();
        let mut cmd = &root;
        for p in path {
            cmd = cmd.find_subcommand(p).expect("command exists");
        }
        let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        page(&path, cmd)
    }

    #[test]
    fn every_command_has_a_page_with_every_section_and_a_description_from_the_docs() {
        let mut root = crate::cli::Cli::command();
        root.build();
        for sub in root.get_subcommands() {
            let name = sub.get_name();
            let text = page_of(&[name]);
            for head in [
                "NAME",
                "SYNOPSIS",
                "DESCRIPTION",
                "OPTIONS",
                "EXIT STATUS",
                "SEE ALSO",
            ] {
                assert!(
                    text.contains(&format!("\n{head}\n")),
                    "{name}: {head}\n{text}"
                );
            }
            assert!(
                docs_section(name).is_some(),
                "docs/commands.md has no \"## {name}\" section"
            );
            assert!(!text.contains('`'), "{name}: markdown left in\n{text}");
            assert!(
                text.lines()
                    .all(|l| l.chars().count() <= WIDTH || l.starts_with("    dmsform ")),
                "{name}: a line past {WIDTH} columns\n{text}"
            );
        }
    }

    #[test]
    fn plan_page_names_its_flags_in_terraform_spelling() {
        let text = page_of(&["plan"]);
        assert!(text.starts_with("DMSFORM-PLAN(1)"), "{text}");
        assert!(text.contains("dmsform plan - Show what would change on the service"));
        assert!(text.contains("    -detailed-exitcode\n"), "{text}");
        assert!(text.contains("    -out=FILE\n"), "{text}");
        assert!(text.contains("    -lock[=BOOL]\n"), "{text}");
        assert!(text.contains("Default: 10."), "{text}");
        assert!(text.contains("changes are planned"), "{text}");
        assert!(text.contains("dmsform plan -out=driver.plan"), "{text}");
    }

    #[test]
    fn subcommand_pages_list_their_own_options_and_group_pages_their_commands() {
        let rm = page_of(&["state", "rm"]);
        assert!(rm.contains("dmsform state rm - "), "{rm}");
        assert!(rm.contains("-dry-run"), "{rm}");
        let task = page_of(&["task"]);
        assert!(task.contains("\nCOMMANDS\n    list\n"), "{task}");
    }

    #[test]
    fn markdown_becomes_plain_wrapped_text() {
        let t = markdown_to_text(
            "See [the guide](guide.md) and `-out FILE`.\n\n- one `a`\n  continued\n- two",
        );
        assert_eq!(
            t,
            "    See the guide and -out FILE.\n\n    - one a continued\n    - two\n"
        );
    }
}
