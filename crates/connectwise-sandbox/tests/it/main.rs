//! Integration tests of the ConnectWise Manage sandbox, over real HTTPS through its public
//! interface only: each test starts its own sandbox and talks to it as a ConnectWise client
//! would, checking behaviour ConnectWise has (see `shared/reference/README.md`).

mod auth;
mod callbacks;
mod clients;
mod conditions;
mod conformance;
mod crud;
mod crud_service;
mod faults;
mod helpers;
mod levels;
mod paging;
mod persistence;
mod published;
mod roles;
mod schema;
mod site;
mod validation;
