//! A typed async client for the ConnectWise Manage (PSA) REST API.
//!
//! ```no_run
//! # async fn run() -> connectwise_client::Result<()> {
//! use connectwise_client::{Client, Credentials};
//! use connectwise_client::conditions::field;
//!
//! let client = Client::builder(Credentials {
//!     site: "na.myconnectwise.net".into(),
//!     company_id: "mymsp".into(),
//!     public_key: "…".into(),
//!     private_key: "…".into(),
//!     client_id: "…".into(),
//! })
//! .build()?;
//! let acme = client
//!     .company()
//!     .companies()
//!     .list()
//!     .conditions(field("identifier").eq("AcmeCorp"))
//!     .send()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! What it takes care of: the codebase (asked of `/login/companyinfo` and asked again when
//! an upgrade moves it), the pinned API version, Basic auth with the `clientId` header,
//! retries with jittered backoff that honour `Retry-After` (writes only when asked), a limit
//! on requests in flight and an optional request budget, paging as a stream (forward-only
//! where possible), and errors that say what ConnectWise said and about which request.

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
