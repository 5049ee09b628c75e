//! The pure ready-queue behind apply: which changes may start now, given which have
//! finished or failed. No I/O, no clocks; the executor drives it. A failed node skips
//! every node that depends on it, directly or not; independent nodes go on.

use std::collections::{BTreeMap, BTreeSet};

/// Where a node is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    Waiting,
    Ready,
    Running,
    Done,
    Failed,
    /// Never started because something it depends on failed (or the run was stopped).
    Skipped,
}

/// A node names a dependency that is not a node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{node} depends on {missing}, which is not part of this run")]
pub struct MissingDependency<K: std::fmt::Display + std::fmt::Debug> {
    pub node: K,
    pub missing: K,
}

/// Dependency bookkeeping for one run.
#[derive(Debug, Clone)]
pub struct ReadyQueue<K: Ord + Clone> {
    state: BTreeMap<K, NodeState>,
    /// Unfinished dependencies of each node.
    waiting_on: BTreeMap<K, BTreeSet<K>>,
    dependents: BTreeMap<K, Vec<K>>,
    ready: BTreeSet<K>,
    stopped: bool,
}

impl<K: Ord + Clone + std::fmt::Display + std::fmt::Debug> ReadyQueue<K> {
    /// Builds the queue from each node and the nodes it depends on. The graph must be
    /// acyclic (checked when the graph is built); a cycle leaves its nodes waiting.
    pub fn new(nodes: impl IntoIterator<Item = (K, Vec<K>)>) -> Result<Self, MissingDependency<K>> {
        let nodes: Vec<(K, Vec<K>)> = nodes.into_iter().collect();
        let known: BTreeSet<K> = nodes.iter().map(|(k, _)| k.clone()).collect();
        let mut q = ReadyQueue {
            state: BTreeMap::new(),
            waiting_on: BTreeMap::new(),
            dependents: BTreeMap::new(),
            ready: BTreeSet::new(),
            stopped: false,
        };
        for (node, deps) in nodes {
            let mut set = BTreeSet::new();
            for d in deps {
                if !known.contains(&d) {
                    return Err(MissingDependency { node, missing: d });
                }
                if d != node {
                    q.dependents
                        .entry(d.clone())
                        .or_default()
                        .push(node.clone());
                    set.insert(d);
                }
            }
            if set.is_empty() {
                q.ready.insert(node.clone());
                q.state.insert(node.clone(), NodeState::Ready);
            } else {
                q.state.insert(node.clone(), NodeState::Waiting);
            }
            q.waiting_on.insert(node, set);
        }
        Ok(q)
    }

    /// The next node that may start (in key order), now marked running.
    pub fn dequeue(&mut self) -> Option<K> {
        if self.stopped {
            return None;
        }
        let k = self.ready.pop_first()?;
        self.state.insert(k.clone(), NodeState::Running);
        Some(k)
    }

    /// Marks a running node done; its dependents whose dependencies are all done become ready.
    pub fn finish(&mut self, k: &K) {
        if self.state.get(k) != Some(&NodeState::Running) {
            return;
        }
        self.state.insert(k.clone(), NodeState::Done);
        for d in self.dependents.get(k).cloned().unwrap_or_default() {
            if let Some(w) = self.waiting_on.get_mut(&d) {
                w.remove(k);
                if w.is_empty() && self.state.get(&d) == Some(&NodeState::Waiting) {
                    self.state.insert(d.clone(), NodeState::Ready);
                    self.ready.insert(d);
                }
            }
        }
    }

    /// Marks a running node failed and skips everything that depends on it. Returns the
    /// skipped nodes, in key order.
    pub fn fail(&mut self, k: &K) -> Vec<K> {
        if self.state.get(k) != Some(&NodeState::Running) {
            return vec![];
        }
        self.state.insert(k.clone(), NodeState::Failed);
        let mut skipped = BTreeSet::new();
        let mut stack = self.dependents.get(k).cloned().unwrap_or_default();
        while let Some(d) = stack.pop() {
            if matches!(
                self.state.get(&d),
                Some(NodeState::Waiting | NodeState::Ready)
            ) {
                self.state.insert(d.clone(), NodeState::Skipped);
                self.ready.remove(&d);
                skipped.insert(d.clone());
                stack.extend(self.dependents.get(&d).cloned().unwrap_or_default());
            }
        }
        skipped.into_iter().collect()
    }

    /// Starts nothing more (an interrupt); running nodes may still finish or fail.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    pub fn running(&self) -> usize {
        self.state
            .values()
            .filter(|s| **s == NodeState::Running)
            .count()
    }

    /// Nothing runs and nothing more can start.
    pub fn is_finished(&self) -> bool {
        self.running() == 0 && (self.stopped || self.ready.is_empty())
    }

    pub fn state(&self, k: &K) -> Option<NodeState> {
        self.state.get(k).copied()
    }

    /// Nodes that never ran (skipped, or left waiting by a stop), in key order.
    pub fn not_run(&self) -> Vec<K> {
        self.state
            .iter()
            .filter(|(_, s)| {
                matches!(
                    s,
                    NodeState::Waiting | NodeState::Ready | NodeState::Skipped
                )
            })
            .map(|(k, _)| k.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(edges: &[(&'static str, &[&'static str])]) -> ReadyQueue<&'static str> {
        ReadyQueue::new(edges.iter().map(|(k, d)| (*k, d.to_vec())))
            .expect("invariant: the test graphs are acyclic")
    }

    #[test]
    fn chain_runs_in_order() {
        let mut q = q(&[
            ("install", &["upload"]),
            ("upload", &["check"]),
            ("check", &[]),
        ]);
        assert_eq!(q.dequeue(), Some("check"));
        assert_eq!(q.dequeue(), None);
        q.finish(&"check");
        assert_eq!(q.dequeue(), Some("upload"));
        q.finish(&"upload");
        assert_eq!(q.dequeue(), Some("install"));
        assert!(!q.is_finished());
        q.finish(&"install");
        assert!(q.is_finished());
    }

    #[test]
    fn failure_skips_only_dependents() {
        let mut q = q(&[
            ("a", &[]),
            ("b", &["a"]),
            ("c", &["b"]),
            ("x", &[]),
            ("y", &["x"]),
        ]);
        assert_eq!(q.dequeue(), Some("a"));
        assert_eq!(q.dequeue(), Some("x"));
        assert_eq!(q.fail(&"a"), vec!["b", "c"]);
        q.finish(&"x");
        assert_eq!(q.dequeue(), Some("y"));
        q.finish(&"y");
        assert!(q.is_finished());
        assert_eq!(q.state(&"c"), Some(NodeState::Skipped));
        assert_eq!(q.not_run(), vec!["b", "c"]);
    }

    #[test]
    fn stop_starts_nothing_more() {
        let mut q = q(&[("a", &[]), ("b", &[]), ("c", &["a"])]);
        assert_eq!(q.dequeue(), Some("a"));
        q.stop();
        assert_eq!(q.dequeue(), None);
        assert!(!q.is_finished());
        q.finish(&"a");
        assert_eq!(q.dequeue(), None);
        assert!(q.is_finished());
        assert_eq!(q.not_run(), vec!["b", "c"]);
    }

    #[test]
    fn missing_dependency_is_an_error() {
        let e = ReadyQueue::new(vec![("a", vec!["nope"])]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a depends on nope, which is not part of this run"
        );
    }

    proptest! {
        /// On random DAGs with random failures: every node runs at most once, only after
        /// all its dependencies finished, and a node is skipped iff some dependency failed
        /// or was skipped.
        #[test]
        fn random_dags(n in 1usize..40, edges in proptest::collection::vec((0usize..40, 0usize..40), 0..120), fails in proptest::collection::btree_set(0usize..40, 0..8), order in proptest::collection::vec(0usize..1000, 0..200)) {
            let mut deps: BTreeMap<usize, BTreeSet<usize>> = (0..n).map(|i| (i, BTreeSet::new())).collect();
            for (a, b) in edges {
                let (a, b) = (a % n, b % n);
                if a > b { deps.entry(a).or_default().insert(b); } // edges only point backwards: acyclic
            }
            let mut q = ReadyQueue::new(deps.iter().map(|(k, d)| (*k, d.iter().copied().collect())))
                .expect("invariant: edges only point backwards");
            let mut running: Vec<usize> = Vec::new();
            let mut ran = BTreeSet::new();
            let mut pick = order.into_iter().cycle();
            loop {
                while let Some(k) = q.dequeue() {
                    for d in &deps[&k] { prop_assert_eq!(q.state(d), Some(NodeState::Done)); }
                    prop_assert!(ran.insert(k));
                    running.push(k);
                }
                if running.is_empty() { break; }
                let i = pick.next().unwrap_or(0) % running.len();
                let k = running.swap_remove(i);
                if fails.contains(&k) { q.fail(&k); } else { q.finish(&k); }
            }
            prop_assert!(q.is_finished());
            for k in 0..n {
                let blocked = deps[&k].iter().any(|d| matches!(q.state(d), Some(NodeState::Failed | NodeState::Skipped)));
                prop_assert_eq!(q.state(&k) == Some(NodeState::Skipped), blocked);
            }
        }
    }
}
