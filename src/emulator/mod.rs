//! A local, faithful emulator of the DMS service-task API (design §7, spec §10): all six
//! operations and every api-version, ARM errors, the real service's quirks, a time-driven
//! task lifecycle persisted on disk, real driver work (shares, local paths, blob
//! containers), and fault injection for tests. It imports nothing from the engine.

mod blob;
mod config;
mod drivers;
mod faults;
mod lifecycle;
mod routes;
mod seal;
mod server;
mod store;
mod wire;

pub use config::{API_VERSIONS, EmulatorConfig, ShareRoot, parse_duration};
pub use faults::{FaultKind, FaultRule, Op};
pub use server::{EmulatorError, EmulatorHandle, LoggedRequest, spawn};
