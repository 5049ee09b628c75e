//! State (design §6): the model, its versioned file format, the lock, and the backends.

pub mod backend;
pub mod file;
pub mod lock;
pub mod model;
pub mod ops;
pub mod show;

pub use model::{CheckResult, Intent, OutputState, ResourceState, STATE_VERSION, State, Status};
