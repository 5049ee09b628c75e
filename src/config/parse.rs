//! Reading and parsing configuration files: which files make up a configuration, and HCL
//! syntax errors turned into located diagnostics. Keeps every file's text in
//! [`Sources`] so later diagnostics can quote it.

use crate::diag::{Diagnostic, Diagnostics, Sources};
use hcl::edit::structure::Body;
use std::path::{Path, PathBuf};

/// Configuration files of a directory: every `*.hcl` except `*.vars.hcl`, sorted by name.
pub fn config_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.ends_with(".hcl") && !n.ends_with(".vars.hcl") && !n.starts_with('.')
            })
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Auto-loaded variable files of a directory: `dmsform.vars.hcl`, then `*.auto.vars.hcl`
/// in name order.
pub fn auto_var_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let main = dir.join("dmsform.vars.hcl");
    if main.is_file() {
        out.push(main);
    }
    let mut autos: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(".auto.vars.hcl"))
        })
        .collect();
    autos.sort();
    out.extend(autos);
    out
}

/// Reads a file into `sources` under `name` and parses it; problems become diagnostics.
pub fn read_and_parse(
    path: &Path,
    name: &str,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> Option<Body> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            diags.push(Diagnostic::error(
                "Failed to read file",
                format!("The file \"{name}\" could not be read: {e}."),
            ));
            return None;
        }
    };
    parse_bytes(name, bytes, sources, diags)
}

/// Parses a file's raw bytes (which must be UTF-8) as the file `name`.
pub fn parse_bytes(
    name: &str,
    bytes: Vec<u8>,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> Option<Body> {
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            sources.add(name, lossy);
            diags.push(
                Diagnostic::error("Invalid character encoding", "All input files must be UTF-8 encoded. Ensure that UTF-8 encoding is selected in your editor.")
                    .with_span(sources.span(name, valid..valid + 1)),
            );
            return None;
        }
    };
    parse_text(name, text, sources, diags)
}

/// Parses `text` as the file `name`; registers it in `sources`.
pub fn parse_text(
    name: &str,
    text: String,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> Option<Body> {
    sources.add(name, text.clone());
    match hcl::edit::parser::parse_body(&text) {
        Ok(body) => Some(body),
        Err(e) => {
            let loc = e.location();
            let start = loc.offset().min(text.len());
            let end = text[start..]
                .chars()
                .next()
                .map_or(start, |c| start + c.len_utf8());
            diags.push(syntax_error(e.message()).with_span(sources.span(name, start..end)));
            None
        }
    }
}

fn syntax_error(message: &str) -> Diagnostic {
    if message.contains("redefined attribute") {
        return Diagnostic::error(
            "Attribute redefined",
            "This argument was already set earlier in the same block. Each argument may be set only once.",
        );
    }
    let mut msg = message.trim().to_string();
    if let Some(first) = msg.get(..1) {
        let upper = first.to_uppercase();
        msg.replace_range(..1, &upper);
    }
    if !msg.ends_with('.') {
        msg.push('.');
    }
    Diagnostic::error("Invalid syntax", msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_are_located() {
        let mut sources = Sources::new();
        let mut diags = Diagnostics::new();
        let body = parse_text("main.hcl", "a = 1\nb = \n".into(), &mut sources, &mut diags);
        assert!(body.is_none());
        let d = diags.iter().next().expect("one diagnostic");
        let span = d.span.as_ref().expect("located");
        assert_eq!(span.file, "main.hcl");
        assert!(span.start.line >= 2, "{span:?}");
        assert_eq!(d.summary, "Invalid syntax");
    }

    #[test]
    fn selects_config_and_var_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        for n in [
            "b.hcl",
            "a.hcl",
            "x.vars.hcl",
            "dmsform.vars.hcl",
            "z.auto.vars.hcl",
            "c.auto.vars.hcl",
            "note.txt",
        ] {
            std::fs::write(dir.path().join(n), "").expect("write");
        }
        let names = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter()
                .map(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or("")
                        .to_string()
                })
                .collect()
        };
        assert_eq!(
            names(config_files(dir.path()).expect("lists")),
            ["a.hcl", "b.hcl"]
        );
        assert_eq!(
            names(auto_var_files(dir.path())),
            ["dmsform.vars.hcl", "c.auto.vars.hcl", "z.auto.vars.hcl"]
        );
    }
}
