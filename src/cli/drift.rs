//! `dmsform drift [-json] [-format=text|github]`: refresh, live driver statuses and checks,
//! changing nothing. Exit 0 no drift; 2 drift (a managed task changed remotely, failed or
//! vanished, or an assertion failed); 3 only configuration changes pending; 1 error.

use super::common::RunArgs;
use crate::drift::report;
use crate::engine::Session;
use crate::plan::planner::PlanRequest;
use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Github,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Print the versioned JSON report.
    #[arg(long)]
    pub json: bool,
    /// text, or github for GitHub Actions annotations at the source lines.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

pub fn run(a: DriftArgs) -> i32 {
    let color = a.run.color() && !a.json && a.format == Format::Text;
    super::common::with_session("drift", &a.run, color, async |s| drift(s, &a).await)
}

async fn drift(s: &mut Session, a: &DriftArgs) -> i32 {
    if let Err(e) = s.recover(false).await {
        crate::err!("{}", e.0);
        return 1;
    }
    let warnings = match s.read_statuses_and_checks(a.run.parallelism).await {
        Ok(w) => w,
        Err(e) => {
            crate::err!("{}", e.0);
            return 1;
        }
    };
    let planned = match s
        .plan(&PlanRequest {
            refresh: true,
            parallelism: a.run.parallelism,
            ..Default::default()
        })
        .await
    {
        Ok(p) => p,
        Err(e) => {
            crate::err!("{}", e.0);
            return 1;
        }
    };
    let instances = planned.instances.clone();
    let config = &s.ws.config;
    let state = &s.state;
    let span_of = |addr: &str| {
        instances
            .get(addr)
            .and_then(|i| i.span.clone().or_else(|| config.decl_span(&i.decl)))
            .or_else(|| {
                let r = addr.parse::<crate::addr::ResourceAddr>().ok()?.resource();
                config
                    .resources
                    .get(&r)
                    .and_then(|res| config.decl_span(&res.decl))
            })
            .or_else(|| state.resource(addr).and(None))
    };
    let rep = report::build(&planned.plan, s.checks.clone(), &span_of);
    if a.json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&rep.json()).unwrap_or_default()
        );
    } else if a.format == Format::Github {
        crate::out!("{}", rep.github(&workspace_prefix()));
    } else {
        if !warnings.is_empty() {
            crate::err!("{}", s.render(&warnings));
        }
        crate::out!("{}", rep.text());
    }
    rep.exit_code()
}

/// The working directory's path from `GITHUB_WORKSPACE` (the repository root in a GitHub
/// Actions job), which annotation file names are resolved against; "" elsewhere.
fn workspace_prefix() -> String {
    let Some(ws) = std::env::var_os("GITHUB_WORKSPACE").filter(|w| !w.is_empty()) else {
        return String::new();
    };
    let (Ok(ws), Ok(cwd)) = (
        std::fs::canonicalize(ws),
        std::env::current_dir().and_then(std::fs::canonicalize),
    ) else {
        return String::new();
    };
    cwd.strip_prefix(&ws)
        .map(|rel| {
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_default()
}
