//! Billing (seed 004's steps 2 and 3 made real): settings, the plan of changes to agreement
//! additions, and applying it.

pub mod apply;
pub mod plan;
mod reconcile;
pub mod runs;
pub mod settings;

pub use plan::{Change, DriftPolicy, Mode};
