//! The DMS provider: wire models, an HTTP client with retries, polling and credentials
//! for the `Microsoft.DataMigration/services/serviceTasks` API. The engine and the
//! `task` command reach the service only through [`client::DmsClient`]. No logic here.

pub mod api;
pub mod auth;
pub mod client;
pub mod error;
pub mod models;
pub mod poll;
pub mod resources;
pub mod retry;
pub mod secret;

pub use api::ServiceTasks;
pub use auth::{AuthMode, TokenSource};
pub use client::{ClientOptions, DeleteOutcome, DmsClient, Expand, PutOutcome, ServiceRef};
pub use error::DmsError;
pub use models::{ProjectTask, TaskRequest, TaskState, TaskType};
pub use poll::{PollOptions, StateChange, WaitOutcome, wait_until_terminal};
pub use retry::RetryPolicy;
