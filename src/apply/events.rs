//! Progress output of an apply: a line per start, state change and completion, and a
//! `Still creating... [1m30s elapsed, Running]` line on a timer, as Terraform prints them.

use std::io::Write;
use std::time::Duration;

/// `1m30s`, `45s`, `2h0m5s`.
pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{}s", s / 60, s % 60),
        _ => format!("{}h{}m{}s", s / 3600, (s % 3600) / 60, s % 60),
    }
}

/// The verbs Terraform uses for each kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Create,
    Destroy,
    Modify,
    Adopt,
}

impl Phase {
    pub fn starting(self) -> &'static str {
        match self {
            Phase::Create => "Creating...",
            Phase::Destroy => "Destroying...",
            Phase::Modify => "Modifying...",
            Phase::Adopt => "Adopting...",
        }
    }
    pub fn still(self) -> &'static str {
        match self {
            Phase::Create => "Still creating...",
            Phase::Destroy => "Still destroying...",
            Phase::Modify => "Still modifying...",
            Phase::Adopt => "Still adopting...",
        }
    }
    pub fn complete(self) -> &'static str {
        match self {
            Phase::Create => "Creation complete",
            Phase::Destroy => "Destruction complete",
            Phase::Modify => "Modifications complete",
            Phase::Adopt => "Adoption complete",
        }
    }
}

/// Where progress goes: plain lines on stdout (a pipe or a terminal alike).
pub struct Printer {
    pub color: bool,
}

impl Printer {
    pub fn line(&self, s: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{s}");
        let _ = out.flush();
    }

    pub fn bold(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    pub fn addr(&self, a: &str) -> String {
        self.bold(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_like_terraform() {
        assert_eq!(elapsed(Duration::from_secs(5)), "5s");
        assert_eq!(elapsed(Duration::from_secs(90)), "1m30s");
        assert_eq!(elapsed(Duration::from_secs(3605)), "1h0m5s");
    }
}
