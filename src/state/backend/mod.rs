//! Where state is stored: the `StateStore` trait and its backends.

pub mod local;
