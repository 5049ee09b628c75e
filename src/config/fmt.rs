//! The canonical layout `dmsform fmt` writes: two-space indentation by nesting, `=`
//! aligned within runs of consecutive single-line arguments, one space around `=`, no
//! trailing whitespace, no run of blank lines, a blank line after every top-level block,
//! one final newline. Comments are kept where they are; heredoc bodies, multi-line
//! comments and multi-line interpolations are copied verbatim.
//!
//! The formatter works line by line with a small lexer that tracks brackets, strings,
//! interpolations, comments and heredocs, so it never loses or reorders text. It never
//! panics; [`format_source`] additionally refuses to format text that does not parse or
//! whose meaning formatting would change.

use crate::diag::{Diagnostics, Sources};

#[derive(Debug, Clone, PartialEq)]
enum Ctx {
    Bracket,
    Str,
    Interp,
}

#[derive(Default)]
struct Lexer {
    stack: Vec<Ctx>,
    block_comment: bool,
    heredoc: Option<String>,
}

impl Lexer {
    fn depth(&self) -> usize {
        self.stack.iter().filter(|c| **c == Ctx::Bracket).count()
    }

    /// True when a line starting now must be copied verbatim.
    fn verbatim(&self) -> bool {
        self.block_comment
            || self.heredoc.is_some()
            || self.stack.iter().any(|c| *c != Ctx::Bracket)
    }

    /// Scans one line (without its newline), updating the state.
    fn scan(&mut self, line: &str) {
        if let Some(delim) = &self.heredoc {
            if line.trim() == delim {
                self.heredoc = None;
            }
            return;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        let mut pending_heredoc = None;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            if self.block_comment {
                if c == '*' && next == Some('/') {
                    self.block_comment = false;
                    i += 2;
                } else {
                    i += 1;
                }
                continue;
            }
            if self.stack.last() == Some(&Ctx::Str) {
                match (c, next) {
                    ('\\', _) => i += 2,
                    ('"', _) => {
                        self.stack.pop();
                        i += 1;
                    }
                    ('$' | '%', Some('{')) if chars.get(i.wrapping_sub(1)) != Some(&c) => {
                        self.stack.push(Ctx::Interp);
                        i += 2;
                    }
                    _ => i += 1,
                }
                continue;
            }
            match (c, next) {
                ('#', _) | ('/', Some('/')) => break,
                ('/', Some('*')) => {
                    self.block_comment = true;
                    i += 2;
                    continue;
                }
                ('"', _) => self.stack.push(Ctx::Str),
                ('<', Some('<')) => {
                    let rest: String = chars[i + 2..].iter().collect();
                    let rest = rest.strip_prefix('-').unwrap_or(&rest);
                    let ident: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !ident.is_empty() && rest[ident.len()..].trim().is_empty() {
                        pending_heredoc = Some(ident);
                        break;
                    }
                    i += 1;
                }
                ('{' | '[' | '(', _) => self.stack.push(Ctx::Bracket),
                ('}' | ']' | ')', _) => {
                    if matches!(self.stack.last(), Some(Ctx::Bracket | Ctx::Interp)) {
                        self.stack.pop();
                    }
                }
                _ => {}
            }
            i += 1;
        }
        if pending_heredoc.is_some() {
            self.heredoc = pending_heredoc;
        }
    }
}

#[derive(Debug)]
struct Line {
    text: String,
    verbatim: bool,
    depth: usize,
    /// Width of the key when this is a single-line `key = value` argument.
    key: Option<usize>,
}

/// The byte length of the quoted string at the start of `s` (quotes included).
fn quoted_len(s: &str) -> Option<usize> {
    let inner = s.strip_prefix('"')?;
    let mut escaped = false;
    let end = inner.char_indices().find(|(_, c)| {
        let stop = *c == '"' && !escaped;
        escaped = *c == '\\' && !escaped;
        stop
    })?;
    Some(end.0 + 2)
}

/// Splits `key = value` at the top-level `=`; `None` for anything else.
fn split_attribute(content: &str) -> Option<(&str, &str)> {
    let key_len = if content.starts_with('"') {
        quoted_len(content)?
    } else {
        let first = content.chars().next()?;
        if !(first.is_alphabetic() || first == '_') {
            return None;
        }
        content
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '-'))
            .map_or(content.len(), |(i, _)| i)
    };
    let (key, rest) = content.split_at(key_len);
    let rest = rest.trim_start();
    let value = rest.strip_prefix('=')?;
    if value.starts_with('=') || value.starts_with('>') {
        return None;
    }
    Some((key, value.trim_start()))
}

/// Rebuilds `ident "label" ident {…` with single spaces between header tokens.
fn normalize_header(content: &str) -> Option<String> {
    let mut tokens = Vec::new();
    let mut rest = content;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('{') {
            let after = after.trim_start();
            let tail = match after {
                "" => String::new(),
                "}" => "}".to_string(),
                other => format!(" {other}"),
            };
            return (!tokens.is_empty()).then(|| format!("{} {{{tail}", tokens.join(" ")));
        }
        if rest.starts_with('"') {
            let len = quoted_len(rest)?;
            let label = &rest[..len];
            if label.contains("${") || label.contains("%{") {
                return None;
            }
            tokens.push(label);
            rest = &rest[len..];
        } else {
            let len = rest
                .char_indices()
                .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '-'))
                .map_or(rest.len(), |(i, _)| i);
            if len == 0
                || (tokens.is_empty() && !rest.starts_with(|c: char| c.is_alphabetic() || c == '_'))
            {
                return None;
            }
            tokens.push(&rest[..len]);
            rest = &rest[len..];
        }
    }
}

/// Formats HCL text into the canonical layout. Works on any text without panicking;
/// text that does not parse is laid out on a best-effort basis (use [`format_source`]
/// to refuse it instead).
pub fn format_hcl(src: &str) -> String {
    let src = src.replace("\r\n", "\n");
    let mut lexer = Lexer::default();
    let mut lines: Vec<Line> = Vec::new();
    for raw in src.split('\n') {
        if lexer.verbatim() {
            lines.push(Line {
                text: raw.to_string(),
                verbatim: true,
                depth: lexer.depth(),
                key: None,
            });
            lexer.scan(raw);
            continue;
        }
        let content = raw.trim();
        let closers = content
            .chars()
            .take_while(|c| matches!(c, '}' | ']' | ')'))
            .count();
        let depth = lexer.depth().saturating_sub(closers);
        lexer.scan(raw);
        let mut key = None;
        let text = if let Some((k, v)) = split_attribute(content) {
            key = Some(k.chars().count());
            format!("{k} = {v}")
        } else if let Some(h) = normalize_header(content) {
            h
        } else {
            content.to_string()
        };
        // A value that opens a bracket it does not close on this line is not aligned
        // with its neighbours only if it is the last of a run; Terraform aligns it too.
        lines.push(Line {
            text,
            verbatim: false,
            depth,
            key,
        });
    }
    align(&mut lines);
    render(&lines)
}

fn align(lines: &mut [Line]) {
    let mut i = 0;
    while i < lines.len() {
        if lines[i].key.is_none() || lines[i].verbatim {
            i += 1;
            continue;
        }
        let depth = lines[i].depth;
        let mut j = i;
        while j < lines.len()
            && lines[j].key.is_some()
            && !lines[j].verbatim
            && lines[j].depth == depth
        {
            j += 1;
            // A value spilling onto following lines ends the run.
            if j < lines.len() && (lines[j].verbatim || lines[j].depth > depth) {
                break;
            }
        }
        let width = lines[i..j].iter().filter_map(|l| l.key).max().unwrap_or(0);
        for l in &mut lines[i..j] {
            if let Some(k) = l.key {
                let split = l
                    .text
                    .char_indices()
                    .nth(k)
                    .map_or(l.text.len(), |(b, _)| b);
                let (key, rest) = l.text.split_at(split);
                l.text = format!("{key}{}{rest}", " ".repeat(width - k));
            }
        }
        i = j.max(i + 1);
    }
}

fn render(lines: &[Line]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut blank_pending = false;
    let mut after_open = true;
    for (idx, l) in lines.iter().enumerate() {
        if l.verbatim {
            if blank_pending {
                out.push(String::new());
                blank_pending = false;
            }
            out.push(l.text.clone());
            after_open = false;
            continue;
        }
        if l.text.is_empty() {
            blank_pending = !after_open;
            continue;
        }
        let closes = l.text.starts_with(['}', ']', ')']);
        if blank_pending && !closes {
            out.push(String::new());
        }
        blank_pending = false;
        out.push(format!("{}{}", "  ".repeat(l.depth), l.text));
        after_open = l.text.ends_with(['{', '[', '(']);
        let top_level_close = l.depth == 0
            && closes
            && l.text.trim_end_matches(|c: char| c.is_whitespace()).len() <= 1;
        let next_nonblank = lines[idx + 1..]
            .iter()
            .find(|n| n.verbatim || !n.text.is_empty());
        if top_level_close && next_nonblank.is_some() {
            blank_pending = true;
        }
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    if out.is_empty() {
        return String::new();
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// Formats a file's text, refusing text that does not parse (the diagnostics say why)
/// and any result that would not parse back to the same configuration.
pub fn format_source(name: &str, src: &str) -> Result<String, (Sources, Diagnostics)> {
    let mut sources = Sources::new();
    let mut diags = Diagnostics::new();
    let Some(before) = super::parse::parse_text(name, src.to_string(), &mut sources, &mut diags)
    else {
        return Err((sources, diags));
    };
    let out = format_hcl(src);
    match hcl::edit::parser::parse_body(&out) {
        Ok(after) if same_meaning(&before, &after) => Ok(out),
        _ => {
            // Never write something that means something else; keep the file as it is.
            Ok(src.to_string())
        }
    }
}

/// Whether two parsed bodies mean the same, ignoring whitespace and comments.
pub fn same_meaning(a: &hcl::edit::structure::Body, b: &hcl::edit::structure::Body) -> bool {
    hcl::Body::from(a.clone()) == hcl::Body::from(b.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_aligns_and_spaces() {
        let src = "resource \"t\"   \"n\"{\nfor_each=var.x\n    group_name = \"g\"   \n  a   =   1\n\n\n\n  nested {\n  x=1\n  }\n}\nvariable \"v\" {}\n";
        let want = "resource \"t\" \"n\" {\n  for_each   = var.x\n  group_name = \"g\"\n  a          = 1\n\n  nested {\n    x = 1\n  }\n}\n\nvariable \"v\" {}\n";
        assert_eq!(format_hcl(src), want);
        assert_eq!(format_hcl(want), want);
    }

    #[test]
    fn keeps_comments_heredocs_and_strings() {
        let src = "# top\nlocals {\n# inner\n  a = \"{ not a block\" # trailing\n  /* multi\n     line */\n  t = <<-EOT\n      keep   me\n   {\n    EOT\n  b = \"${ {x = 1}.x }\"\n}\n";
        let out = format_hcl(src);
        for needle in [
            "# top",
            "  # inner",
            "# trailing",
            "/* multi\n     line */",
            "      keep   me\n   {\n    EOT",
            "${ {x = 1}.x }",
        ] {
            assert!(out.contains(needle), "{needle:?} missing in\n{out}");
        }
        assert_eq!(format_hcl(&out), out);
    }

    #[test]
    fn equality_operators_are_not_assignments() {
        let src = "locals {\n  x = a == b\n  m = { for k, v in y : k => v }\n}\n";
        assert_eq!(format_hcl(src), src);
    }

    #[test]
    fn format_source_refuses_invalid_text() {
        assert!(format_source("a.hcl", "a = ").is_err());
        assert_eq!(
            format_source("a.hcl", "a=1\n").ok().as_deref(),
            Some("a = 1\n")
        );
    }
}
