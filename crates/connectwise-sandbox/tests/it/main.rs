//! Integration tests of the ConnectWise Manage sandbox, over real HTTPS through its public
//! interface only: each test starts its own sandbox and talks to it as a ConnectWise client
//! would, checking behaviour ConnectWise has (see `shared/reference/README.md`).

mod auth;
mod callbacks;
mod clients;
mod conditions;
mod crud;
mod faults;
mod helpers;
mod paging;
mod persistence;
mod published;
mod roles;
mod schema;
mod site;
mod validation;
