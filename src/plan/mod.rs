//! Plans (design §4): the actions and their reasons, the plan model, and its renderings.

pub mod action;
pub mod change;
pub mod desired;
pub mod diff;
pub mod planfile;
pub mod planner;
pub mod render;
pub mod render_json;

pub use action::{Action, Reason};
pub use change::{OutputChange, Plan, ResourceChange, Summary};

#[cfg(test)]
pub(crate) mod render_tests;

#[cfg(test)]
mod diff_tests;
