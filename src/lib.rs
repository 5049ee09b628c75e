//! dmsform — declarative provisioning of Azure Data Migration Service service tasks.
//!
//! Map of the crate:
//! - [`cli`]: argument parsing (Terraform-style single-dash flags) and one file per command.
//! - [`emulator`]: a local, faithful emulator of the DMS service-task API. It shares no
//!   types with the engine, so a wire-mapping bug cannot hide on both sides.
//! - [`providers`]: clients of remote services; `providers::dms` talks to the DMS API.
//! - [`state`]: the state model, its versioned file, the lock and the storage backends.

pub mod cli;
pub mod emulator;
pub mod providers;
pub mod state;
