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

/// Where progress goes: plain lines when stdout is a pipe or file (CI logs, tests), and on
/// a terminal a live view with one spinner line per running task above the log.
pub struct Printer {
    pub color: bool,
    /// Machine-readable mode (`apply -json`): every line is a JSON object.
    pub json: bool,
    live: Option<indicatif::MultiProgress>,
    bars: std::sync::Mutex<std::collections::BTreeMap<String, indicatif::ProgressBar>>,
}

impl Printer {
    /// A printer; `live` turns on the multi-line view (only meaningful on a terminal).
    pub fn new(color: bool, live: bool) -> Printer {
        Printer {
            color,
            json: false,
            live: live.then(|| {
                indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stdout())
            }),
            bars: std::sync::Mutex::new(std::collections::BTreeMap::new()),
        }
    }

    pub fn is_live(&self) -> bool {
        self.live.is_some()
    }

    /// A machine-readable printer: each line a JSON object like Terraform's `-json` UI.
    pub fn json() -> Printer {
        Printer {
            color: false,
            json: true,
            live: None,
            bars: std::sync::Mutex::new(std::collections::BTreeMap::new()),
        }
    }

    pub fn line(&self, s: &str) {
        if self.json {
            let trimmed = s.trim();
            if !trimmed.is_empty() {
                self.emit(
                    serde_json::json!({"@level": "info", "@message": trimmed, "type": "log"}),
                );
            }
            return;
        }
        if let Some(mp) = &self.live {
            let _ = mp.println(s);
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{s}");
        let _ = out.flush();
    }

    /// Writes one JSON object as a line.
    pub fn emit(&self, v: serde_json::Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{v}");
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

    /// Shows or updates the live line of a running change.
    pub fn status(&self, addr: &str, message: &str) {
        let Some(mp) = &self.live else { return };
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        let bar = bars.entry(addr.to_string()).or_insert_with(|| {
            let b = mp.add(indicatif::ProgressBar::new_spinner());
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{spinner} {prefix}: {msg} [{elapsed}]")
            {
                b.set_style(style);
            }
            b.set_prefix(addr.to_string());
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        bar.set_message(message.to_string());
    }

    /// Removes the live line of a finished change.
    pub fn done(&self, addr: &str) {
        if let Ok(mut bars) = self.bars.lock()
            && let Some(b) = bars.remove(addr)
        {
            b.finish_and_clear();
        }
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
