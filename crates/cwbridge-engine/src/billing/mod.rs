//! Billing (seed 004's steps 2 and 3 made real): settings, the plan of changes to agreement
//! additions, applying it, and undoing a run.

pub mod apply;
pub mod effect;
pub mod plan;
mod reconcile;
mod run;
pub mod runs;
pub mod settings;
pub mod undo;

pub use plan::{Change, DriftPolicy, Mode};
