//! Builds the resource graph of a configuration and reports its cycles. Dependencies are
//! between whole resources (references and `depends_on` name resources), so cycles are
//! found on the resource graph: linear in the configuration, not quadratic in its
//! instances. Used by `validate`, `plan` and `graph`; does no I/O.

use super::Dag;
use crate::config::{Config, ResourceInstance};
use crate::diag::{Diagnostic, Diagnostics};
use std::collections::{BTreeMap, BTreeSet};

/// One error per cycle among the resources of `instances` (references and `depends_on`
/// both count), naming every member with its source location; empty when acyclic.
pub fn resource_cycles(config: &Config, instances: &[ResourceInstance]) -> Diagnostics {
    let mut by_res: BTreeMap<String, (&ResourceInstance, BTreeSet<String>)> = BTreeMap::new();
    for i in instances {
        let e = by_res
            .entry(i.addr.resource().to_string())
            .or_insert_with(|| (i, BTreeSet::new()));
        e.1.extend(i.depends_on.iter().map(|d| d.resource().to_string()));
    }
    let nodes: Vec<(String, Vec<String>)> = by_res
        .iter()
        .map(|(k, (_, d))| (k.clone(), d.iter().cloned().collect()))
        .collect();
    match Dag::new(nodes) {
        Ok(_) => Diagnostics::new(),
        Err(c) => {
            let map: BTreeMap<String, ResourceInstance> = by_res
                .into_iter()
                .map(|(k, (i, _))| (k, i.clone()))
                .collect();
            cycle_diagnostics(config, &map, &c.0)
        }
    }
}

/// One error per dependency cycle, naming every member with its source location.
pub fn cycle_diagnostics(
    config: &Config,
    instances: &BTreeMap<String, ResourceInstance>,
    cycles: &[Vec<String>],
) -> Diagnostics {
    let mut d = Diagnostics::new();
    for cycle in cycles {
        let span_of = |a: &String| {
            instances
                .get(a)
                .and_then(|i| i.span.clone().or_else(|| config.decl_span(&i.decl)))
        };
        let members: Vec<String> = cycle
            .iter()
            .map(|a| match span_of(a) {
                Some(s) => format!(
                    "  {a} ({} line {}, column {})",
                    s.file, s.start.line, s.start.column
                ),
                None => format!("  {a}"),
            })
            .collect();
        d.push(
            Diagnostic::error(
                format!("Cycle: {}", cycle.join(", ")),
                format!(
                    "These resources depend on each other, through references or depends_on, so none of them can be applied first:\n{}",
                    members.join("\n")
                ),
            )
            .with_span(cycle.first().and_then(span_of)),
        );
    }
    d
}
