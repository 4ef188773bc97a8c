#![doc = include_str!("../README.md")]

// The connection: credentials, discovery, sending with retries and limits.
mod client;
// Endpoints grouped by ConnectWise's path: `client.service().tickets()`.
pub mod api;
// The calls on one collection.
pub mod endpoint;
// One error type for every call.
pub mod error;
// List parameters and paging streams.
pub mod list;
// The typed records.
pub mod models;
// PATCH operation arrays.
pub mod patch;
// Backoff between attempts.
pub mod retry;

/// ConnectWise's query language, re-exported: build `conditions` with [`conditions::field`].
pub use connectwise_conditions as conditions;

pub use client::{
    Client, ClientBuilder, Credentials, DEFAULT_API_VERSION, DEFAULT_MAX_RESPONSE_BYTES, Failure,
    FailureObserver, Fence, IpNet, Stats,
};
pub use endpoint::Endpoint;
pub use error::{Error, ErrorKind, FieldError, RequestInfo, Result};
pub use list::List;
pub use patch::Patch;
/// HTTP methods, for [`Client::request_json`].
pub use reqwest::Method;
/// HTTP status codes, as [`Error::status`] answers them.
pub use reqwest::StatusCode;
pub use retry::RetryPolicy;
