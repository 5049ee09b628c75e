//! The fixture configurations: every invalid one must yield located diagnostics (snapshot
//! of the rendered text), never panic; every valid one must validate cleanly.

use dmsform::config::{LoadOptions, validate};
use std::path::{Path, PathBuf};

fn fixture_dirs(kind: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("fixture directory exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn name(dir: &Path) -> String {
    dir.file_name()
        .and_then(|n| n.to_str())
        .expect("utf-8 name")
        .to_string()
}

#[test]
fn invalid_fixtures_report_located_diagnostics() {
    let dirs = fixture_dirs("invalid");
    assert!(dirs.len() >= 40, "only {} invalid fixtures", dirs.len());
    let mut problems = Vec::new();
    for dir in &dirs {
        let fixture = name(dir);
        let result = std::panic::catch_unwind(|| validate(dir, &LoadOptions::default()));
        let Ok((sources, diags)) = result else {
            problems.push(format!("{fixture}: panicked"));
            continue;
        };
        let warning_only = fixture.starts_with("warn_");
        if diags.is_empty() || (!warning_only && !diags.has_errors()) {
            problems.push(format!(
                "{fixture}: expected {} but got none",
                if warning_only { "warnings" } else { "errors" }
            ));
        }
        for d in diags.iter() {
            match &d.span {
                Some(s) if s.start.line >= 1 && s.start.column >= 1 && !s.file.is_empty() => {}
                _ => problems.push(format!(
                    "{fixture}: diagnostic without location: {}",
                    d.summary
                )),
            }
        }
        let text = sources.render(&diags, false);
        insta::assert_snapshot!(format!("invalid__{fixture}"), text);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn valid_fixtures_validate_cleanly() {
    for dir in fixture_dirs("valid") {
        let (sources, diags) = validate(&dir, &LoadOptions::default());
        assert!(
            diags.is_empty(),
            "{}:\n{}",
            name(&dir),
            sources.render(&diags, false)
        );
    }
}

#[test]
fn validate_json_names_ranges_and_snippets() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid/unsupported_argument");
    let (sources, diags) = validate(&dir, &LoadOptions::default());
    let doc = sources.validate_json(&diags);
    insta::assert_json_snapshot!("validate_json_unsupported_argument", doc);
}
