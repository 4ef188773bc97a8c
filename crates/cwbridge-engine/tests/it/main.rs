//! The engine against the real sandbox over HTTPS, on every database this machine offers.

mod alerts;
mod billing;
mod connection;
mod fence;
mod helpers;
mod pool;
mod settings;
mod tenants;
mod undo;
