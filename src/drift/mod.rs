//! Drift that old tasks cannot show (design §8): live driver status through short-lived
//! check tasks, `check` block assertions, and the `dmsform drift` report.

pub mod checks;
pub mod report;
pub mod status;
