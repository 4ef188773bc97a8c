//! A tenant's settings as code (issue 14): the connection without its private key, billing,
//! ticket defaults, mappings, alert routes and alert-type policies as one document — TOML
//! for people and `cwbridge tenant export|apply`, JSON for `GET|PUT /api/v1/settings`.
//!
//! One job a file: `document` (the types and reading them), `rules` (what the engine can
//! tell alone), `export` (the stored settings as a document), `compare` (how two lists
//! differ, entry by entry), `diff` (how two documents differ, in words) and `apply` (checked
//! whole, then written in one go).

mod apply;
mod compare;
mod diff;
mod document;
mod export;
mod rules;

pub use apply::ApplyOptions;
pub use diff::{
    SectionDiff, SectionState, SettingChange, SettingChangeKind, SettingsDiff, SettingsSection,
};
pub use document::{
    BillingSection, ConnectionSection, MAX_DOCUMENT_BYTES, MappingEntry, PolicyEntry, RouteEntry,
    SettingsDocument, TicketsSection,
};
pub use rules::{MAX_NAME_CHARS, MAX_POLICIES, MAX_SIGNATURE_CHARS};
