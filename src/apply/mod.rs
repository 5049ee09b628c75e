//! Apply (design §5): the pure ready-queue and, around it, the executor.

pub mod queue;
