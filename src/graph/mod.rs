//! The dependency graph of a configuration's resource instances.

pub mod build;
pub mod dag;

pub use build::{cycle_diagnostics, resource_cycles};
pub use dag::{Cycles, Dag};
