//! dmsform — declarative provisioning of Azure Data Migration Service service tasks.
//!
//! Map of the crate:
//! - [`cli`]: argument parsing (Terraform-style single-dash flags) and one file per command.
//! - [`config`]: the configuration language — loading, decoding, evaluation, formatting.
//! - [`diag`]: diagnostics and their Terraform-style rendering.
//! - [`value`]: dynamic values with unknowns and sensitivity marks.
//! - [`addr`]: resource addresses in user syntax.
//! - [`emulator`]: a local, faithful emulator of the DMS service-task API. It shares no
//!   types with the engine, so a wire-mapping bug cannot hide on both sides.

pub mod addr;
pub mod cli;
pub mod config;
pub mod diag;
pub mod emulator;
pub mod value;
