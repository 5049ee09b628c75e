//! Generic DAG helpers over petgraph: build from nodes and their dependencies, find every
//! cycle (each with all its members), order for create and for destroy, select a target
//! with what it depends on, and print DOT.

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

/// A directed acyclic graph of `K`s; an edge `a → b` means *a depends on b*.
#[derive(Debug, Clone)]
pub struct Dag<K: Ord + Clone + Display> {
    graph: DiGraph<K, ()>,
    index: BTreeMap<K, NodeIndex>,
}

/// The cycles found while building a graph: each is the full set of its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycles<K>(pub Vec<Vec<K>>);

impl<K: Ord + Clone + Display> Dag<K> {
    /// Builds the graph; dependencies on unknown nodes are ignored (the config checker
    /// reports them). Fails with every cycle, members sorted, cycles sorted.
    pub fn new(nodes: impl IntoIterator<Item = (K, Vec<K>)>) -> Result<Dag<K>, Cycles<K>> {
        let nodes: Vec<(K, Vec<K>)> = nodes.into_iter().collect();
        let mut graph = DiGraph::new();
        let mut index = BTreeMap::new();
        for (k, _) in &nodes {
            if !index.contains_key(k) {
                index.insert(k.clone(), graph.add_node(k.clone()));
            }
        }
        for (k, deps) in &nodes {
            for d in deps {
                if let (Some(&a), Some(&b)) = (index.get(k), index.get(d)) {
                    graph.update_edge(a, b, ());
                }
            }
        }
        let dag = Dag { graph, index };
        let cycles = dag.cycles();
        if cycles.is_empty() {
            Ok(dag)
        } else {
            Err(Cycles(cycles))
        }
    }

    /// Builds the graph even when it has cycles (for drawing them), with the cycles found.
    pub fn with_cycles(nodes: impl IntoIterator<Item = (K, Vec<K>)>) -> (Dag<K>, Vec<Vec<K>>) {
        let mut graph = DiGraph::new();
        let mut index = BTreeMap::new();
        let nodes: Vec<(K, Vec<K>)> = nodes.into_iter().collect();
        for (k, _) in &nodes {
            if !index.contains_key(k) {
                index.insert(k.clone(), graph.add_node(k.clone()));
            }
        }
        for (k, deps) in &nodes {
            for d in deps {
                if let (Some(&a), Some(&b)) = (index.get(k), index.get(d)) {
                    graph.update_edge(a, b, ());
                }
            }
        }
        let dag = Dag { graph, index };
        let cycles = dag.cycles();
        (dag, cycles)
    }

    fn cycles(&self) -> Vec<Vec<K>> {
        let mut out: Vec<Vec<K>> = tarjan_scc(&self.graph)
            .into_iter()
            .filter(|scc| scc.len() > 1 || self.graph.contains_edge(scc[0], scc[0]))
            .map(|scc| {
                let mut v: Vec<K> = scc.into_iter().map(|i| self.graph[i].clone()).collect();
                v.sort();
                v
            })
            .collect();
        out.sort();
        out
    }

    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// Direct dependencies of `k`, sorted.
    pub fn dependencies(&self, k: &K) -> Vec<K> {
        let Some(&i) = self.index.get(k) else {
            return vec![];
        };
        let mut v: Vec<K> = self
            .graph
            .neighbors(i)
            .map(|j| self.graph[j].clone())
            .collect();
        v.sort();
        v
    }

    /// Nodes that depend directly on `k`, sorted.
    pub fn dependents(&self, k: &K) -> Vec<K> {
        let Some(&i) = self.index.get(k) else {
            return vec![];
        };
        let mut v: Vec<K> = self
            .graph
            .neighbors_directed(i, petgraph::Direction::Incoming)
            .map(|j| self.graph[j].clone())
            .collect();
        v.sort();
        v
    }

    /// Dependencies before dependents (create order).
    pub fn create_order(&self) -> Vec<K> {
        let mut order: Vec<K> = toposort(&self.graph, None)
            .map(|v| v.into_iter().map(|i| self.graph[i].clone()).collect())
            .unwrap_or_default();
        order.reverse();
        order
    }

    /// Dependents before dependencies (destroy order).
    pub fn destroy_order(&self) -> Vec<K> {
        let mut v = self.create_order();
        v.reverse();
        v
    }

    /// The targets and everything they depend on, transitively.
    pub fn with_dependencies(&self, targets: &[K]) -> BTreeSet<K> {
        self.closure(targets, petgraph::Direction::Outgoing)
    }

    /// The targets and everything that depends on them, transitively.
    pub fn with_dependents(&self, targets: &[K]) -> BTreeSet<K> {
        self.closure(targets, petgraph::Direction::Incoming)
    }

    fn closure(&self, targets: &[K], dir: petgraph::Direction) -> BTreeSet<K> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<NodeIndex> = targets
            .iter()
            .filter_map(|t| self.index.get(t).copied())
            .collect();
        while let Some(i) = stack.pop() {
            if seen.insert(self.graph[i].clone()) {
                stack.extend(self.graph.neighbors_directed(i, dir));
            }
        }
        seen
    }

    /// DOT text: one node per line, edges from dependent to dependency.
    pub fn to_dot(&self, name: &str) -> String {
        self.to_dot_highlighting(name, &[])
    }

    /// DOT text with the edges inside the given cycles drawn in red.
    pub fn to_dot_highlighting(&self, name: &str, cycles: &[Vec<K>]) -> String {
        let in_cycle = |a: &K, b: &K| cycles.iter().any(|c| c.contains(a) && c.contains(b));
        let mut out = format!(
            "digraph \"{name}\" {{\n  compound = \"true\"\n  newrank = \"true\"\n  rankdir = \"RL\"\n"
        );
        for k in self.index.keys() {
            out.push_str(&format!(
                "  \"{}\" [label = \"{}\", shape = \"box\"]\n",
                dot_escape(k),
                dot_escape(k)
            ));
        }
        let mut edges: Vec<(String, String, bool)> = self
            .graph
            .edge_indices()
            .filter_map(|e| self.graph.edge_endpoints(e))
            .map(|(a, b)| {
                let red = in_cycle(&self.graph[a], &self.graph[b]);
                (dot_escape(&self.graph[a]), dot_escape(&self.graph[b]), red)
            })
            .collect();
        edges.sort();
        for (a, b, red) in edges {
            let attr = if red { " [color = \"red\"]" } else { "" };
            out.push_str(&format!("  \"{a}\" -> \"{b}\"{attr}\n"));
        }
        out.push_str("}\n");
        out
    }
}

fn dot_escape(k: &impl Display) -> String {
    k.to_string().replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dag(
        edges: &[(&'static str, &[&'static str])],
    ) -> Result<Dag<&'static str>, Cycles<&'static str>> {
        Dag::new(edges.iter().map(|(k, d)| (*k, d.to_vec())))
    }

    #[test]
    fn orders_and_targets() {
        let g = dag(&[
            ("install", &["upload"]),
            ("upload", &["check"]),
            ("check", &[]),
            ("other", &[]),
        ])
        .unwrap();
        let order = g.create_order();
        let pos = |k| order.iter().position(|x| *x == k).unwrap();
        assert!(pos("check") < pos("upload") && pos("upload") < pos("install"));
        let d = g.destroy_order();
        assert!(d.iter().position(|x| *x == "install") < d.iter().position(|x| *x == "check"));
        assert_eq!(
            g.with_dependencies(&["upload"])
                .into_iter()
                .collect::<Vec<_>>(),
            ["check", "upload"]
        );
        assert_eq!(
            g.with_dependents(&["upload"])
                .into_iter()
                .collect::<Vec<_>>(),
            ["install", "upload"]
        );
        assert_eq!(g.dependencies(&"install"), ["upload"]);
        assert_eq!(g.dependents(&"check"), ["upload"]);
        let dot = g.to_dot("plan");
        assert!(dot.contains("\"install\" -> \"upload\""));
    }

    #[test]
    fn cycles_can_be_drawn() {
        let (g, cycles) =
            Dag::with_cycles(vec![("a", vec!["b"]), ("b", vec!["a"]), ("c", vec!["a"])]);
        assert_eq!(cycles, vec![vec!["a", "b"]]);
        let dot = g.to_dot_highlighting("g", &cycles);
        assert!(dot.contains("\"a\" -> \"b\" [color = \"red\"]"), "{dot}");
        assert!(dot.contains("\"c\" -> \"a\"\n"), "{dot}");
    }

    #[test]
    fn every_cycle_with_every_member() {
        let err = dag(&[
            ("a", &["b"]),
            ("b", &["c"]),
            ("c", &["a"]),
            ("d", &["d"]),
            ("e", &["a"]),
        ])
        .unwrap_err();
        assert_eq!(err.0, vec![vec!["a", "b", "c"], vec!["d"]]);
    }
}
