//! Fuzz target for the configuration loader and the formatter: any input must produce
//! located diagnostics or a configuration, never a panic; formatting must be idempotent.
//!
//! Run with `cargo fuzz run loader` from the repository root (nightly toolchain).

#![no_main]

use dmsform::config::fmt::format_hcl;
use dmsform::config::{LoadOptions, validate_files};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let files = vec![("main.hcl".to_string(), data.to_vec())];
    let (_, diags) = validate_files(Path::new("fuzz-no-such-dir"), files, &LoadOptions::default());
    for d in diags.iter() {
        assert!(d.span.is_some(), "diagnostic without location: {}", d.summary);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && hcl::edit::parser::parse_body(text).is_ok()
    {
        let once = format_hcl(text);
        assert_eq!(format_hcl(&once), once, "formatting is not idempotent");
    }
});
