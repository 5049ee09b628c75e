//! The formatter: idempotent on every fixture, keeps every comment, never changes
//! meaning (checked on generated configurations too), and the `fmt` command's flags.

use assert_cmd::Command;
use dmsform::config::fmt::{format_hcl, format_source, same_meaning};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn fixture_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for kind in ["valid", "invalid"] {
        for dir in std::fs::read_dir(root.join(kind))
            .expect("fixtures")
            .filter_map(Result::ok)
        {
            for f in std::fs::read_dir(dir.path())
                .expect("fixture dir")
                .filter_map(Result::ok)
            {
                if f.path().extension().is_some_and(|e| e == "hcl") {
                    out.push(f.path());
                }
            }
        }
    }
    out.sort();
    out
}

/// The text of every comment in `src` (`#`, `//` to the end of the line, `/* … */`),
/// outside strings.
fn comments(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut in_str = false;
    while i < chars.len() {
        let c = chars[i];
        if in_str {
            if c == '\\' {
                i += 1;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
        } else if c == '#' || (c == '/' && chars.get(i + 1) == Some(&'/')) {
            let end = chars[i..]
                .iter()
                .position(|c| *c == '\n')
                .map_or(chars.len(), |p| i + p);
            out.push(
                chars[i..end]
                    .iter()
                    .collect::<String>()
                    .trim_end()
                    .to_string(),
            );
            i = end;
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            let end = (i + 2..chars.len().saturating_sub(1))
                .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
                .map_or(chars.len(), |j| j + 2);
            out.push(chars[i..end].iter().collect());
            i = end;
            continue;
        }
        i += 1;
    }
    out
}

#[test]
fn formatting_is_idempotent_and_meaning_preserving_on_every_fixture() {
    let files = fixture_files();
    assert!(files.len() > 80);
    let mut checked = 0;
    for f in files {
        let Ok(src) = std::fs::read_to_string(&f) else {
            continue;
        };
        let Ok(before) = hcl::edit::parser::parse_body(&src) else {
            continue;
        };
        let once = format_hcl(&src);
        let after = hcl::edit::parser::parse_body(&once).unwrap_or_else(|e| {
            panic!(
                "{}: formatted text does not parse: {e}\n{once}",
                f.display()
            )
        });
        assert!(
            same_meaning(&before, &after),
            "{}: formatting changed the meaning",
            f.display()
        );
        assert_eq!(format_hcl(&once), once, "{}: not idempotent", f.display());
        assert_eq!(
            format_source("x.hcl", &src).ok().as_deref(),
            Some(once.as_str()),
            "{}",
            f.display()
        );
        for c in comments(&src) {
            assert!(once.contains(&c), "{}: comment {c:?} lost", f.display());
        }
        checked += 1;
    }
    assert!(checked > 70, "only {checked} fixtures parsed");
}

#[test]
fn valid_fixtures_are_already_formatted() {
    for f in fixture_files()
        .into_iter()
        .filter(|f| f.to_string_lossy().contains("/valid/"))
    {
        let src = std::fs::read_to_string(&f).expect("read");
        assert_eq!(
            format_hcl(&src),
            src,
            "{} is not in canonical layout",
            f.display()
        );
    }
}

#[test]
fn comment_extraction_sees_all_kinds() {
    assert_eq!(
        comments("a = \"#x\" # one\n// two\n/* three */ b = 1\n"),
        ["# one", "// two", "/* three */"]
    );
}

fn ws() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["", " ", "  ", "\t", "    "]).prop_map(str::to_string)
}

fn ident() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}"
}

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 {}#/=-]{0,12}".prop_map(|s| format!("{s:?}")),
        any::<u16>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        ident().prop_map(|i| format!("var.{i}")),
        ident().prop_map(|i| format!("upper(\"{i}\")")),
        Just("\"${var.a}-x\"".to_string()),
        Just("a == b ? 1 : 2".to_string()),
        Just("[for x in var.l : x => x]".replace(" => x", "")),
    ]
}

fn value() -> impl Strategy<Value = String> {
    leaf().prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((ident(), inner.clone()), 0..3).prop_map(|v| {
                let items: Vec<String> = v.iter().map(|(k, x)| format!("{k} = {x}")).collect();
                format!("{{ {} }}", items.join(", "))
            }),
            prop::collection::vec((ident(), inner), 1..3).prop_map(|v| {
                let items: Vec<String> = v.iter().map(|(k, x)| format!("{k}   =  {x}")).collect();
                format!("{{\n{}\n}}", items.join("\n"))
            }),
        ]
    })
}

fn item(depth: u32) -> BoxedStrategy<String> {
    let attr = (ws(), ident(), ws(), ws(), value())
        .prop_map(|(a, k, b, c, v)| format!("{a}{k}{b}={c}{v}"));
    let comment = (ws(), "[a-z ]{0,10}", prop::sample::select(vec!["#", "//"]))
        .prop_map(|(a, t, m)| format!("{a}{m} {t}"));
    let heredoc =
        (ident(), "[a-z {}]{0,10}").prop_map(|(k, t)| format!("{k} = <<-EOT\n    {t}\n  EOT"));
    if depth == 0 {
        return prop_oneof![4 => attr, 1 => comment, 1 => Just(String::new()), 1 => heredoc]
            .boxed();
    }
    let block = (
        ws(),
        ident(),
        prop::collection::vec("[a-z]{1,6}", 0..3),
        prop::collection::vec(item(depth - 1), 0..5),
    )
        .prop_map(|(a, name, labels, body)| {
            let labels: String = labels.iter().map(|l| format!(" \"{l}\"")).collect();
            format!("{a}{name}{labels}   {{\n{}\n}}", body.join("\n"))
        });
    prop_oneof![3 => attr, 1 => comment, 1 => Just(String::new()), 2 => block].boxed()
}

fn config() -> impl Strategy<Value = String> {
    prop::collection::vec(item(2), 0..8).prop_map(|items| items.join("\n") + "\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generated_configurations_round_trip(src in config()) {
        let parsed = hcl::edit::parser::parse_body(&src);
        prop_assume!(parsed.is_ok());
        let before = parsed.expect("checked");
        let once = format_hcl(&src);
        let after = hcl::edit::parser::parse_body(&once);
        prop_assert!(after.is_ok(), "formatted text does not parse:\n{}", once);
        prop_assert!(same_meaning(&before, &after.expect("checked")), "meaning changed:\n{}", once);
        prop_assert_eq!(format_hcl(&once), once.clone());
        for c in comments(&src) {
            prop_assert!(once.contains(&c), "comment {:?} lost", c);
        }
    }
}

fn bin() -> Command {
    Command::cargo_bin("dmsform").expect("binary")
}

#[test]
fn fmt_command_check_diff_write_and_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let messy = "locals {\na=1\n  bb = 2\n}\n";
    let tidy = "locals {\n  a  = 1\n  bb = 2\n}\n";
    std::fs::write(dir.path().join("main.hcl"), messy).expect("write");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    std::fs::write(dir.path().join("sub/x.hcl"), messy).expect("write");
    let chdir = format!("-chdir={}", dir.path().display());

    let out = bin()
        .args([&chdir, "fmt", "-check"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "main.hcl\n");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("main.hcl")).expect("read"),
        messy
    );

    let out = bin()
        .args([&chdir, "fmt", "-write=false", "-diff"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("-a=1") && text.contains("+  a  = 1"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("main.hcl")).expect("read"),
        messy
    );

    let out = bin()
        .args([&chdir, "fmt", "-recursive"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("main.hcl")).expect("read"),
        tidy
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("sub/x.hcl")).expect("read"),
        tidy
    );
    let out = bin()
        .args([&chdir, "fmt", "-check", "-recursive"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));

    let out = bin()
        .args(["fmt", "-"])
        .write_stdin(messy)
        .output()
        .expect("runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout), tidy);

    std::fs::write(dir.path().join("bad.hcl"), "a = \n").expect("write");
    let out = bin()
        .args([&chdir, "fmt", "-no-color"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("on bad.hcl line"));
}
