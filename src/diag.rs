//! Diagnostics: what the user sees when something is wrong (or merely doubtful).
//!
//! A [`Diagnostic`] has a severity, a summary, a detail sentence, an optional source
//! [`Span`] and an optional resource address. They accumulate in [`Diagnostics`]; warnings
//! never abort. [`Sources`] keeps the text of every loaded file so diagnostics can be
//! rendered the way Terraform renders them — as text ([`Sources::render`]) or as the
//! `validate -json` document ([`Sources::validate_json`]).
//!
//! Rendering is pure: it returns strings; printing is the CLI's job.

use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;

/// A position in a source file: 1-based line and column (in characters), 0-based byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
    pub byte: usize,
}

/// A range of source text in one file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// File name as shown to the user (relative to the configuration directory).
    pub file: String,
    pub start: Pos,
    pub end: Pos,
}

impl Span {
    /// Terraform's compact range form: `main.hcl:3,5-17` or `main.hcl:3,5-4,2`.
    pub fn short(&self) -> String {
        if self.start.line == self.end.line {
            format!(
                "{}:{},{}-{}",
                self.file, self.start.line, self.start.column, self.end.column
            )
        } else {
            format!(
                "{}:{},{}-{},{}",
                self.file, self.start.line, self.start.column, self.end.line, self.end.column
            )
        }
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

/// One message for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub span: Option<Span>,
    /// The resource instance the message is about, in user syntax, if any.
    pub address: Option<String>,
}

impl Diagnostic {
    /// An error.
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            span: None,
            address: None,
        }
    }

    /// A warning.
    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(summary, detail)
        }
    }

    /// Attaches a source span.
    pub fn with_span(mut self, span: Option<Span>) -> Diagnostic {
        self.span = span;
        self
    }

    /// Attaches a resource address.
    pub fn with_address(mut self, address: impl Into<String>) -> Diagnostic {
        self.address = Some(address.into());
        self
    }
}

/// An ordered collection of diagnostics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    /// Adds a diagnostic unless the same message at the same place is already there
    /// (the same problem is often found by more than one check).
    pub fn push(&mut self, d: Diagnostic) {
        let same = |x: &Diagnostic| {
            x.severity == d.severity
                && x.summary == d.summary
                && x.detail == d.detail
                && x.span == d.span
        };
        match self.0.iter_mut().find(|x| same(x)) {
            Some(existing) => {
                if existing.address.is_none() {
                    existing.address = d.address;
                }
            }
            None => self.0.push(d),
        }
    }

    pub fn extend(&mut self, other: Diagnostics) {
        for d in other.0 {
            self.push(d);
        }
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn error_count(&self) -> usize {
        self.0
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    pub fn warning_count(&self) -> usize {
        self.0.len() - self.error_count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Diagnostics {
        Diagnostics(vec![d])
    }
}

/// The text of one loaded file plus what rendering needs: line starts and the headers of
/// its top-level blocks (for the `in resource "T" "N"` context).
#[derive(Debug, Clone, Default)]
pub struct SourceFile {
    text: String,
    line_starts: Vec<usize>,
    contexts: Vec<(Range<usize>, String)>,
}

impl SourceFile {
    fn new(text: String) -> SourceFile {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            text,
            line_starts,
            contexts: Vec::new(),
        }
    }

    /// The text of the file.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn pos(&self, byte: usize) -> Pos {
        let mut byte = byte.min(self.text.len());
        while !self.text.is_char_boundary(byte) {
            byte -= 1;
        }
        let line_idx = match self.line_starts.binary_search(&byte) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts[line_idx];
        Pos {
            line: line_idx + 1,
            column: self.text[start..byte].chars().count() + 1,
            byte,
        }
    }

    fn line(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |e| e.saturating_sub(1));
        self.text[start..end.max(start)].trim_end_matches('\r')
    }
}

/// All loaded source files, by the name shown to the user.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: BTreeMap<String, SourceFile>,
}

impl Sources {
    pub fn new() -> Sources {
        Sources::default()
    }

    /// Registers a file's text.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) {
        self.files.insert(name.into(), SourceFile::new(text.into()));
    }

    /// Records a top-level block header (e.g. `resource "T" "N"`) for a byte range.
    pub fn add_context(&mut self, file: &str, range: Range<usize>, header: String) {
        if let Some(f) = self.files.get_mut(file) {
            f.contexts.push((range, header));
        }
    }

    /// A registered file.
    pub fn get(&self, file: &str) -> Option<&SourceFile> {
        self.files.get(file)
    }

    /// Names of all registered files.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Turns a byte range of a registered file into a span; `None` for unknown files.
    pub fn span(&self, file: &str, range: Range<usize>) -> Option<Span> {
        let f = self.files.get(file)?;
        let start = f.pos(range.start);
        let end = f.pos(range.end.max(range.start));
        Some(Span {
            file: file.to_string(),
            start,
            end,
        })
    }

    fn context(&self, span: &Span) -> Option<&str> {
        let f = self.files.get(&span.file)?;
        f.contexts
            .iter()
            .filter(|(r, _)| r.start <= span.start.byte && span.start.byte < r.end.max(r.start + 1))
            .min_by_key(|(r, _)| r.end - r.start)
            .map(|(_, h)| h.as_str())
    }

    /// Renders diagnostics as Terraform does: warnings first, then errors, blank lines
    /// between. With `color`, headings are coloured and the span underlined; without, a
    /// caret line marks the span so the column is visible.
    pub fn render(&self, diags: &Diagnostics, color: bool) -> String {
        let mut out = String::new();
        let mut ordered: Vec<&Diagnostic> = diags.iter().collect();
        ordered.sort_by(|a, b| {
            let key = |d: &Diagnostic| d.span.as_ref().map(|s| (s.file.clone(), s.start.byte));
            b.severity
                .cmp(&a.severity)
                .then_with(|| key(a).cmp(&key(b)))
        });
        for d in ordered {
            if !out.is_empty() {
                out.push('\n');
            }
            self.render_one(&mut out, d, color);
        }
        out
    }

    fn render_one(&self, out: &mut String, d: &Diagnostic, color: bool) {
        let (label, code) = match d.severity {
            Severity::Error => ("Error", "\x1b[1;31m"),
            Severity::Warning => ("Warning", "\x1b[1;33m"),
        };
        if color {
            let _ = writeln!(out, "{code}{label}: \x1b[0m\x1b[1m{}\x1b[0m", d.summary);
        } else {
            let _ = writeln!(out, "{label}: {}", d.summary);
        }
        if let Some(span) = &d.span {
            out.push('\n');
            match self.context(span) {
                Some(ctx) => {
                    let _ = writeln!(
                        out,
                        "  on {} line {}, in {ctx}:",
                        span.file, span.start.line
                    );
                }
                None => {
                    let _ = writeln!(out, "  on {} line {}:", span.file, span.start.line);
                }
            }
            if let Some(f) = self.files.get(&span.file) {
                let line = f.line(span.start.line);
                let prefix = format!("  {}: ", span.start.line);
                let line_chars = line.chars().count();
                let from = span.start.column.saturating_sub(1).min(line_chars);
                let to = if span.end.line == span.start.line {
                    span.end.column.saturating_sub(1).clamp(from, line_chars)
                } else {
                    line_chars
                };
                let width = (to - from).max(1);
                if color {
                    let pre: String = line.chars().take(from).collect();
                    let mid: String = line.chars().skip(from).take(to - from).collect();
                    let post: String = line.chars().skip(to).collect();
                    let _ = writeln!(out, "{prefix}{pre}\x1b[1;4m{mid}\x1b[0m{post}");
                } else {
                    let _ = writeln!(out, "{prefix}{line}");
                    let pad: String = line
                        .chars()
                        .take(from)
                        .map(|c| if c == '\t' { '\t' } else { ' ' })
                        .collect();
                    let _ = writeln!(
                        out,
                        "{}{pad}{}",
                        " ".repeat(prefix.len()),
                        "^".repeat(width)
                    );
                }
            }
        }
        if !d.detail.is_empty() {
            out.push('\n');
            let _ = writeln!(out, "{}", d.detail);
        }
    }

    /// The document `terraform validate -json` prints.
    pub fn validate_json(&self, diags: &Diagnostics) -> serde_json::Value {
        let list: Vec<serde_json::Value> = diags.iter().map(|d| self.diag_json(d)).collect();
        json!({
            "format_version": "1.0",
            "valid": !diags.has_errors(),
            "error_count": diags.error_count(),
            "warning_count": diags.warning_count(),
            "diagnostics": list,
        })
    }

    fn diag_json(&self, d: &Diagnostic) -> serde_json::Value {
        let mut obj = json!({
            "severity": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
            "summary": d.summary,
            "detail": d.detail,
        });
        if let Some(addr) = &d.address {
            obj["address"] = json!(addr);
        }
        if let Some(s) = &d.span {
            let pos = |p: &Pos| json!({"line": p.line, "column": p.column, "byte": p.byte});
            obj["range"] = json!({"filename": s.file, "start": pos(&s.start), "end": pos(&s.end)});
            if let Some(f) = self.files.get(&s.file) {
                let code = f.line(s.start.line);
                let line_start = f
                    .line_starts
                    .get(s.start.line.saturating_sub(1))
                    .copied()
                    .unwrap_or(0);
                let hs = s.start.byte.saturating_sub(line_start).min(code.len());
                let he = if s.end.line == s.start.line {
                    s.end.byte.saturating_sub(line_start).clamp(hs, code.len())
                } else {
                    code.len()
                };
                obj["snippet"] = json!({
                    "context": self.context(s),
                    "code": code,
                    "start_line": s.start.line,
                    "highlight_start_offset": hs,
                    "highlight_end_offset": he,
                    "values": [],
                });
            }
        }
        obj
    }
}

/// "Did you mean" helper: the closest candidate within a small edit distance.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(name, c);
        let limit = (name.chars().count().max(c.chars().count()) / 3).clamp(1, 3);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Appends ` Did you mean "x"?` when a close candidate exists.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    suggest(name, candidates)
        .map(|c| format!(" Did you mean \"{c}\"?"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Sources, Diagnostics) {
        let mut src = Sources::new();
        let text = "resource \"t\" \"n\" {\n  sever_version = \"19.0\"\n}\n";
        src.add("main.hcl", text);
        src.add_context("main.hcl", 0..text.len(), "resource \"t\" \"n\"".into());
        let span = src.span("main.hcl", 21..34);
        let mut d = Diagnostics::new();
        d.push(
            Diagnostic::error(
                "Unsupported argument",
                "An argument named \"sever_version\" is not expected here.",
            )
            .with_span(span),
        );
        d.push(Diagnostic::warning("Something odd", "Just so you know."));
        (src, d)
    }

    #[test]
    fn renders_like_terraform_without_color() {
        let (src, d) = sample();
        let text = src.render(&d, false);
        assert_eq!(
            text,
            "Warning: Something odd\n\nJust so you know.\n\n\
             Error: Unsupported argument\n\n  on main.hcl line 2, in resource \"t\" \"n\":\n\
             \x20 2:   sever_version = \"19.0\"\n\
             \x20      ^^^^^^^^^^^^^\n\n\
             An argument named \"sever_version\" is not expected here.\n"
        );
        assert!(
            src.render(&d, true)
                .contains("\x1b[1;4msever_version\x1b[0m")
        );
    }

    #[test]
    fn validate_json_shape() {
        let (src, d) = sample();
        let j = src.validate_json(&d);
        assert_eq!(j["valid"], false);
        assert_eq!(j["error_count"], 1);
        assert_eq!(j["warning_count"], 1);
        let e = &j["diagnostics"][0];
        assert_eq!(
            e["range"]["start"],
            json!({"line": 2, "column": 3, "byte": 21})
        );
        assert_eq!(e["snippet"]["highlight_start_offset"], 2);
        assert_eq!(e["snippet"]["highlight_end_offset"], 15);
        assert_eq!(e["snippet"]["context"], "resource \"t\" \"n\"");
    }

    #[test]
    fn positions_count_characters_and_clamp() {
        let mut src = Sources::new();
        src.add("a.hcl", "é = 1\nx");
        let s = src.span("a.hcl", 4..100).expect("file exists");
        assert_eq!((s.start.line, s.start.column), (1, 4));
        assert_eq!((s.end.line, s.end.column), (2, 2));
        assert_eq!(s.short(), "a.hcl:1,4-2,2");
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("sever_version", ["server_version", "group_name"]),
            Some("server_version")
        );
        assert_eq!(suggest("zzz", ["server_version"]), None);
        assert_eq!(
            did_you_mean("lenght", ["length"]),
            " Did you mean \"length\"?"
        );
    }
}
