//! Apply (design §5): the pure ready-queue and, around it, the executor.

pub mod classify;
pub mod events;
pub mod executor;
pub mod queue;
pub mod recover;
