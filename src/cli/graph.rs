//! `dmsform graph [-type=plan|apply|destroy] [-draw-cycles]`: the dependency graph of the
//! configuration's resource instances and outputs in DOT, edges from dependent to
//! dependency. The plan and apply graphs are the same graph here (dmsform has no provider
//! or variable nodes to add); the destroy graph reverses the edges and has no outputs.

use super::common::{ordered_vars, runtime};
use crate::graph::Dag;
use crate::graph::cycle_diagnostics;
use crate::plan::planner::{dependency_dag, known_from_state};
use clap::{Args, ValueEnum};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphType {
    Plan,
    Apply,
    Destroy,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Which graph: plan and apply order dependencies first; destroy reverses the edges.
    #[arg(long = "type", value_enum, default_value = "plan")]
    pub kind: GraphType,
    /// Draw the graph even when it has cycles, with the cycles' edges in red.
    #[arg(long = "draw-cycles")]
    pub draw_cycles: bool,
    /// Set a variable: -var 'name=value'.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub var: Vec<String>,
    /// Read variables from a file.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_file: Vec<std::path::PathBuf>,
}

pub fn run(a: GraphArgs) -> i32 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async move {
        let dir = Path::new(".");
        let (config, _) = match crate::workspace::load_config(dir, ordered_vars(), false) {
            Ok(c) => c,
            Err(e) => {
                crate::err!("{}", e.0);
                return 1;
            }
        };
        let state = match crate::workspace::open_store(&config, dir) {
            Ok(store) => store.read().await.ok().flatten().unwrap_or_default(),
            Err(e) => {
                crate::err!("{}", e.0);
                return 1;
            }
        };
        let known = known_from_state(&state);
        let ev = crate::config::Evaluator::new(&config, &known, crate::config::Mode::Plan);
        let (instances, diags) = ev.instances();
        if diags.has_errors() {
            crate::err!("{}", config.sources.render(&diags, false));
            return 1;
        }
        let instances: std::collections::BTreeMap<String, _> = instances
            .into_iter()
            .map(|i| (i.addr.to_string(), i))
            .collect();
        let state_for_graph = if a.kind == GraphType::Destroy {
            state.clone()
        } else {
            crate::state::State::new()
        };
        let nodes: Vec<(String, Vec<String>)> = match dependency_dag(&instances, &state_for_graph) {
            Ok(d) => d
                .create_order()
                .into_iter()
                .map(|k| {
                    let deps = d.dependencies(&k);
                    (k, deps)
                })
                .collect(),
            Err(c) if !a.draw_cycles => {
                crate::err!(
                    "{}",
                    config
                        .sources
                        .render(&cycle_diagnostics(&config, &instances, &c.0), false)
                );
                return 1;
            }
            Err(_) => instances
                .iter()
                .map(|(k, i)| {
                    let deps = i
                        .depends_on
                        .iter()
                        .flat_map(|d| {
                            instances
                                .keys()
                                .filter(move |x| {
                                    x.parse::<crate::addr::ResourceAddr>()
                                        .is_ok_and(|p| p.resource() == d.resource())
                                })
                                .cloned()
                        })
                        .collect();
                    (k.clone(), deps)
                })
                .collect(),
        };
        let nodes: Vec<(String, Vec<String>)> = if a.kind == GraphType::Destroy {
            let mut rev: std::collections::BTreeMap<String, Vec<String>> =
                nodes.iter().map(|(k, _)| (k.clone(), vec![])).collect();
            for (k, deps) in &nodes {
                for d in deps {
                    rev.entry(d.clone()).or_default().push(k.clone());
                }
            }
            rev.into_iter().collect()
        } else {
            let mut nodes = nodes;
            nodes.extend(output_nodes(&config, &instances));
            nodes
        };
        let (dag, cycles) = Dag::with_cycles(nodes);
        crate::out!("{}", dag.to_dot_highlighting("dmsform", &cycles));
        0
    })
}

/// One `output.NAME` node per output, depending on every instance of each resource its
/// value references or its `depends_on` names.
fn output_nodes(
    config: &crate::config::Config,
    instances: &std::collections::BTreeMap<String, crate::config::ResourceInstance>,
) -> Vec<(String, Vec<String>)> {
    config
        .outputs
        .values()
        .map(|o| {
            // References written in the value, and those reached through locals.
            let mut resources = std::collections::BTreeSet::new();
            crate::config::refs::expr_resource_refs(
                config,
                &o.value.expr,
                &mut std::collections::BTreeSet::new(),
                &mut resources,
            );
            resources.extend(o.depends_on.iter().map(|(a, _)| a.clone()));
            let deps: Vec<String> = instances
                .iter()
                .filter(|(_, i)| resources.contains(&i.addr.resource()))
                .map(|(k, _)| k.clone())
                .collect();
            (format!("output.{}", o.name), deps)
        })
        .collect()
}
