//! Bounded never-panic properties of the loader and the formatter: arbitrary bytes and
//! mutated fixtures must give diagnostics (each one located), never a panic.

use dmsform::config::fmt::format_hcl;
use dmsform::config::{LoadOptions, validate_files};
use proptest::prelude::*;
use std::path::Path;

const DESIGN: &str = include_str!("fixtures/valid/design_example/main.hcl");
const COUNT: &str = include_str!("fixtures/valid/count_and_emulator/main.hcl");

const SNIPPETS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "\"",
    "${",
    "%{",
    "<<EOT\n",
    "=",
    "==",
    "=>",
    "...",
    ".",
    ",",
    "#",
    "//",
    "/*",
    "*/",
    "\n",
    "var.",
    "local.",
    "each.",
    "count.",
    "self.",
    "null",
    "-1",
    "1e400",
    "\\",
    "for",
    "if",
    " ? ",
    " : ",
    "*",
    "[*]",
    "toset(",
    "length(",
    "try(",
    "dms_oci_driver_check.before",
    "é",
    "\u{0}",
];

fn check(files: Vec<(String, Vec<u8>)>) -> Result<(), TestCaseError> {
    let text: Vec<String> = files
        .iter()
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .collect();
    let (_, diags) = validate_files(Path::new("no-such-dir"), files, &LoadOptions::default());
    for d in diags.iter() {
        prop_assert!(
            d.span.is_some(),
            "diagnostic without location: {} / {}",
            d.summary,
            d.detail
        );
    }
    for t in text {
        let once = format_hcl(&t);
        if hcl::edit::parser::parse_body(&t).is_ok() {
            prop_assert_eq!(format_hcl(&once), once);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check(vec![("main.hcl".into(), bytes)])?;
    }

    #[test]
    fn mutated_configurations_never_panic(
        base in prop::sample::select(vec![DESIGN, COUNT]),
        edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(SNIPPETS), 0usize..8), 1..6),
    ) {
        let mut s = base.to_string();
        for (at, snippet, delete) in edits {
            let mut i = at.index(s.len() + 1);
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            let mut end = (i + delete).min(s.len());
            while !s.is_char_boundary(end) {
                end += 1;
            }
            s.replace_range(i..end, snippet);
        }
        check(vec![("main.hcl".into(), s.into_bytes()), ("extra.hcl".into(), COUNT.as_bytes().to_vec())])?;
    }
}
