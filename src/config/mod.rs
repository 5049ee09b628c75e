//! The configuration language (design §3): HCL files in, a decoded and evaluable
//! [`Config`] out.
//!
//! Pipeline: [`parse`] (files → `hcl::edit` bodies with spans) → [`decode`] /
//! [`decode_resource`] (bodies → [`model`], checked against [`schema`]) → [`vars`]
//! (variable values with Terraform's precedence, validation blocks) → [`eval`]
//! (expressions with unknown values and sensitivity marks, functions in [`funcs`]) →
//! [`expand`] (resource instances from `count` / `for_each`).
//!
//! What the rest of the engine uses:
//! - [`load`]`(dir, &LoadOptions) -> Result<(Config, Diagnostics), LoadFailure>`: parsed,
//!   decoded, variables resolved, references checked; warnings alongside.
//! - [`validate`]`(dir, &LoadOptions) -> (Sources, Diagnostics)`: what `dmsform validate`
//!   reports.
//! - [`Evaluator::new`]`(&config, &known, mode)` with a [`AttrLookup`] of attributes
//!   already known (state or finished tasks; anything missing is unknown), then
//!   [`Evaluator::instances`] (expanded [`ResourceInstance`]s with arguments,
//!   dependencies, lifecycle, timeouts, postconditions, span),
//!   [`Evaluator::outputs`] and [`Evaluator::check_postconditions`].
//!
//! Everything here is pure apart from reading the configuration files and `file()`: no
//! network, no state.

pub mod checks;
pub mod decode;
pub mod decode_resource;
pub mod decode_settings;
pub mod duration;
pub mod eval;
pub mod expand;
pub mod fmt;
pub mod format;
pub mod funcs;
pub mod json;
pub mod load;
pub mod model;
pub mod parse;
pub mod refs;
pub mod schema;
pub mod traverse;
pub mod types;
pub mod vars;
pub mod version;

pub use eval::{AttrLookup, Evaluator, Known, Mode, NoState, Scope};
pub use expand::{OutputValue, ResourceInstance};
pub use load::{LoadFailure, load, load_files, validate, validate_files};
pub use model::*;
pub use schema::ResourceKind;
pub use types::Type;
pub use vars::{LoadOptions, VarArg};
