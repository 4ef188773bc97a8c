//! The client against the real sandbox over HTTPS: discovery and upgrades, every call,
//! errors, models against the reference schema, paging, and the sandbox's faults.

mod connection;
mod crud;
mod faults;
mod helpers;
mod models;
mod paging;
