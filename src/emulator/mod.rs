//! The local DMS service-task emulator (under construction).
