//! ConnectWise's error JSON, reproduced: `{"code", "message", "errors": [{code, message, resource, field}]}`.
//!
//! This is the sandbox's own error type: it mirrors what ConnectWise answers, not what the
//! bridge's API answers.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One field at fault in a rejected write.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    /// ConnectWise's field error code, e.g. `NullOrEmpty`, `ObjectExists`, `InvalidField`.
    pub code: String,
    /// A sentence a developer can act on.
    pub message: String,
    /// The resource name ConnectWise uses in errors (`ticket`, `company`, …).
    pub resource: String,
    /// The field at fault, as named on the wire.
    pub field: String,
}

impl FieldError {
    /// A field error with the given code.
    pub fn new(code: &str, resource: &str, field: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            resource: resource.to_owned(),
            field: field.to_owned(),
        }
    }
}

/// An error answer in ConnectWise's shape.
#[derive(Debug, Clone, Serialize)]
pub struct CwError {
    #[serde(skip)]
    status: StatusCode,
    #[serde(skip)]
    retry_after: Option<u64>,
    code: String,
    message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldError>,
}

impl CwError {
    /// An error with a status, a code and a message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            retry_after: None,
            code: code.to_owned(),
            message: message.into(),
            errors: Vec::new(),
        }
    }

    /// 401: credentials missing or wrong.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
    }

    /// 403: the member's security role lacks a permission.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", message)
    }

    /// 404 for a record, worded as ConnectWise does: `Ticket Id 123 not found`.
    pub fn record_not_found(label: &str, id: i64) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{label} Id {id} not found"),
        )
    }

    /// 404 for a path the API does not serve.
    pub fn no_route(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("No HTTP resource was found that matches the request URI '{path}'"),
        )
    }

    /// 405 for a method a resource does not support.
    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("The requested resource does not support http method '{method}'"),
        )
    }

    /// 501 for a published operation the sandbox does not carry out (an action such as a
    /// merge, a copy or a report, rather than a collection), in ConnectWise's error shape.
    pub fn not_simulated(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotSimulated",
            format!(
                "{method} /{path} is part of ConnectWise's published API, but an action the sandbox does not simulate; it serves the API's collections"
            ),
        )
    }

    /// 400 for a malformed request (bad conditions, bad JSON, bad paging).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidObject", message)
    }

    /// 400 `InvalidObject` with the fields at fault.
    pub fn invalid_object(resource: &str, errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidObject",
            format!("{resource} object is invalid"),
        );
        e.errors = errors;
        e
    }

    /// 429 with a `Retry-After` header.
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests. Retry after the number of seconds in the Retry-After header.",
        );
        e.retry_after = Some(retry_after_secs);
        e
    }

    /// 500 (or another 5xx) for a server fault.
    pub fn server_fault(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, "UnexpectedServerError", message)
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The error code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The field errors.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }
}

impl std::fmt::Display for CwError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for CwError {}

impl IntoResponse for CwError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut res = (self.status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}
