//! dmsform — declarative provisioning of Azure Data Migration Service service tasks.
//!
//! Map of the crate:
//! - [`apply`]: the dependency-ordered executor of a plan, starting with its pure ready-queue.
//! - [`cli`]: argument parsing (Terraform-style single-dash flags) and one file per command.
//! - [`config`]: the configuration language — loading, decoding, evaluation, formatting.
//! - [`diag`]: diagnostics and their Terraform-style rendering.
//! - [`value`]: dynamic values with unknowns and sensitivity marks.
//! - [`addr`]: resource addresses in user syntax.
//! - [`drift`]: live driver status, `check` assertions and the drift report.
//! - [`emulator`]: a local, faithful emulator of the DMS service-task API. It shares no
//!   types with the engine, so a wire-mapping bug cannot hide on both sides.
//! - [`engine`]: the commands' library side: sessions, recovery, plan, apply, outputs.
//! - [`graph`]: generic DAG helpers (cycles with all members, orders, targets, DOT).
//! - [`plan`]: actions and reasons, the plan model, and its human and JSON renderings.
//! - [`providers`]: clients of remote services; `providers::dms` talks to the DMS API.
//! - [`secret`]: salted slow digests that stand in for secrets in state and plan files.
//! - [`workspace`]: what a plan or apply opens: configuration, state store, DMS client.
//! - [`state`]: the state model, its versioned file, the lock and the storage backends.
//! - [`term`]: terminal output that ignores a closed pipe, and the panic hook of the binary.

pub mod addr;
pub mod apply;
pub mod cli;
pub mod config;
pub mod diag;
pub mod drift;
pub mod emulator;
pub mod engine;
pub mod graph;
pub mod plan;
pub mod providers;
pub mod secret;
pub mod state;
pub mod term;
pub mod value;
pub mod workspace;
