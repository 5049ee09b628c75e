//! The dependency graph of a configuration's resource instances.

pub mod dag;

pub use dag::{Cycles, Dag};
