//! One error type for every call, carrying what ConnectWise said and which request it was.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;

/// A field ConnectWise rejected, from the `errors` array of its error JSON.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FieldError {
    /// ConnectWise's code for the problem, e.g. `NullOrEmpty` or `ObjectExists`.
    #[serde(default)]
    pub code: String,
    /// What is wrong, in ConnectWise's words.
    #[serde(default)]
    pub message: String,
    /// The record type, e.g. `Ticket`.
    #[serde(default)]
    pub resource: String,
    /// The field, e.g. `summary`.
    #[serde(default)]
    pub field: String,
}

/// The request an error belongs to (never its credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    /// The HTTP method.
    pub method: String,
    /// The path below the API root, with its query, e.g. `service/tickets?page=2`.
    pub path: String,
    /// ConnectWise's `x-cw-request-id`, to quote when reporting the failure.
    pub request_id: Option<String>,
    /// How many times the request was sent.
    pub attempts: u32,
}

impl std::fmt::Display for RequestInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

/// What kind of failure an [`Error`] is, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 401: the keys, company id or clientId are wrong.
    Authentication,
    /// 403: the API member's security role lacks a permission (the message names it).
    Permission,
    /// 404: no such record (or path).
    NotFound,
    /// 400: ConnectWise rejected the request or record; see the field errors.
    Validation,
    /// 429: throttled, still after the retries allowed.
    RateLimited,
    /// 5xx, a timeout or a broken connection, still after the retries allowed.
    Transient,
    /// The response arrived but was not what the model expects.
    Decode,
    /// The client's own set-up: a bad site URL, an unknown company id, an unreadable CA.
    Config,
    /// Paging did not advance (the server kept answering the same page).
    Paging,
    /// The outbound fence refused the address or scheme: nothing was sent.
    Refused,
    /// The server answered with a redirect, which is never followed.
    Redirect,
    /// An answer, or a list, larger than the client reads.
    TooLarge,
}

/// Everything that can go wrong calling ConnectWise.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// ConnectWise answered with an error status.
    #[error(
        "{request}: HTTP {status}{}: {message}{}",
        code_suffix(code),
        field_suffix(errors)
    )]
    Api {
        /// The HTTP status.
        status: StatusCode,
        /// ConnectWise's error code, e.g. `InvalidObject`, when the body had one.
        code: Option<String>,
        /// ConnectWise's message (or the start of the body when it was not error JSON).
        message: String,
        /// The rejected fields, for validation errors.
        errors: Vec<FieldError>,
        /// `Retry-After`, for 429 and 503.
        retry_after: Option<Duration>,
        /// Whether a write answered by a server error may still have been carried out.
        maybe_applied: bool,
        /// The request.
        request: Box<RequestInfo>,
    },
    /// No response: a timeout, a refused or dropped connection, a TLS failure.
    #[error("{request}: {message}{}", if *.maybe_applied { " (the write may have been carried out: check before sending it again)" } else { "" })]
    Transport {
        /// What happened.
        message: String,
        /// Whether it was a timeout.
        timeout: bool,
        /// Whether a write was sent and may have been carried out although no answer came.
        maybe_applied: bool,
        /// The request.
        request: Box<RequestInfo>,
    },
    /// A response body that does not match the expected type.
    #[error("{request}: the response does not match the {expected} model at `{path}`: {message}")]
    Decode {
        /// The model, e.g. `Ticket`.
        expected: &'static str,
        /// Where in the body decoding failed, e.g. `[3].company.id`.
        path: String,
        /// What was wrong there.
        message: String,
        /// The request.
        request: Box<RequestInfo>,
    },
    /// The client's set-up is wrong.
    #[error("{0}")]
    Config(String),
    /// Paging stopped advancing.
    #[error("{request}: paging did not advance ({message}); stopped to avoid reading forever")]
    Paging {
        /// What was seen.
        message: String,
        /// The request of the page that repeated.
        request: Box<RequestInfo>,
    },
    /// The outbound fence refused the site's address or scheme; nothing was sent.
    #[error("{0}")]
    Refused(String),
    /// The server answered with a redirect. Redirects are never followed: a site that
    /// moved is given its new address.
    #[error(
        "{request}: ConnectWise answered with a redirect to {host}; use that address as the ConnectWise URL"
    )]
    Redirect {
        /// The host the redirect points at (or the `Location` as sent, when it has none).
        host: String,
        /// The request that was redirected.
        request: Box<RequestInfo>,
    },
    /// An answer larger than the client reads, or a list running past the page cap.
    #[error("{request}: {what}")]
    TooLarge {
        /// What was too large, and the limit.
        what: String,
        /// The request.
        request: Box<RequestInfo>,
    },
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default()
}

fn field_suffix(errors: &[FieldError]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let fields: Vec<String> = errors
        .iter()
        .map(|e| format!("{} ({})", e.field, e.message))
        .collect();
    format!("; fields: {}", fields.join(", "))
}

impl Error {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Api { status, .. } => match status.as_u16() {
                401 => ErrorKind::Authentication,
                408 => ErrorKind::Transient,
                403 => ErrorKind::Permission,
                404 => ErrorKind::NotFound,
                429 => ErrorKind::RateLimited,
                s if s >= 500 => ErrorKind::Transient,
                _ => ErrorKind::Validation,
            },
            Error::Transport { .. } => ErrorKind::Transient,
            Error::Decode { .. } => ErrorKind::Decode,
            Error::Config(_) => ErrorKind::Config,
            Error::Paging { .. } => ErrorKind::Paging,
            Error::Refused(_) => ErrorKind::Refused,
            Error::Redirect { .. } => ErrorKind::Redirect,
            Error::TooLarge { .. } => ErrorKind::TooLarge,
        }
    }

    /// The HTTP status, when ConnectWise answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The field errors of a validation failure (empty otherwise).
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Error::Api { errors, .. } => errors,
            _ => &[],
        }
    }

    /// ConnectWise's error code, when it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The request the error belongs to.
    pub fn request(&self) -> Option<&RequestInfo> {
        match self {
            Error::Api { request, .. }
            | Error::Transport { request, .. }
            | Error::Decode { request, .. }
            | Error::Paging { request, .. }
            | Error::Redirect { request, .. }
            | Error::TooLarge { request, .. } => Some(request),
            Error::Config(_) | Error::Refused(_) => None,
        }
    }

    /// Whether a write was sent but its answer never arrived, so it may have been carried
    /// out: look for the record before sending it again.
    pub fn maybe_applied(&self) -> bool {
        matches!(
            self,
            Error::Transport {
                maybe_applied: true,
                ..
            } | Error::Api {
                maybe_applied: true,
                ..
            }
        )
    }

    /// Whether sending the same request again later may succeed and is safe: a rate limit or
    /// a transient failure, and not a write that may already have been carried out.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind(), ErrorKind::RateLimited | ErrorKind::Transient)
            && !self.maybe_applied()
    }
}

/// ConnectWise's error JSON: `{"code", "message", "errors": [...]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub errors: Option<Vec<FieldError>>,
}

/// A specialised `Result` for client calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;
