//! Errors as the API answers them: `{"error": {"code", "message", "field"?}}` with a status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cwbridge_engine::EngineError;
use serde::Serialize;
use serde_json::json;
use utoipa::{IntoResponses, ToSchema};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
    /// Seconds for a `Retry-After` header.
    retry_after: Option<u64>,
}

impl ApiError {
    /// An answer with this status and code, naming no field and asking for no wait.
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// The same answer, with `Retry-After: secs`.
    fn retry_after(self, secs: u64) -> Self {
        ApiError {
            retry_after: Some(secs),
            ..self
        }
    }

    /// 400 naming a field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            field: Some(field.into()),
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_field", message)
        }
    }

    /// 400 about the body as a whole.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401: no token, or one nobody holds.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// 413: the body is larger than the API reads.
    pub fn too_large(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            // The body parsed, but a value breaks a rule: 422, naming the field.
            EngineError::Invalid { field, message } => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                ..ApiError::invalid(field, message)
            },
            EngineError::TooMany {
                message,
                retry_after,
            } => ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many", message)
                .retry_after(retry_after),
            EngineError::RunInProgress { retry_after } => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                EngineError::RunInProgress { retry_after }.to_string(),
            )
            .retry_after(retry_after),
            EngineError::Unavailable => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                EngineError::Unavailable.to_string(),
            )
            .retry_after(1),
            EngineError::NotFound(m) => ApiError::not_found(m),
            EngineError::Unauthorized(m) => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_signature", m)
            }
            EngineError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            EngineError::ConnectWise(e) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "connectwise", e.to_string())
            }
            other => {
                tracing::error!(error = %other, "request failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "cwbridge failed to carry out the request; see its log",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED
            && let Ok(v) = "Bearer".parse()
        {
            response.headers_mut().insert("www-authenticate", v);
        }
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from(secs));
        }
        response
    }
}

/// An error as the API answers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong, and where.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code: `invalid_field`, `unauthenticated`, `not_found`, `conflict`,
    /// `too_many_requests`, `connectwise`, …
    pub code: String,
    /// What happened and how to fix it, in words.
    pub message: String,
    /// The field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The errors every route may answer.
#[derive(IntoResponses)]
#[allow(dead_code)] // Only read by the OpenAPI document.
pub enum Errors {
    /// The body, a path segment or a query parameter could not be read.
    #[response(
        status = 400,
        description = "The body, a path segment or the query could not be read; the field is named"
    )]
    BadRequest(ErrorBody),
    /// No token, or one that is not valid.
    #[response(status = 401, description = "No token, or one that is not valid")]
    Unauthenticated(ErrorBody),
    /// The record is not there (or belongs to another tenant).
    #[response(status = 404, description = "Not found")]
    NotFound(ErrorBody),
    /// It conflicts with what is stored (a name taken, a run already going).
    #[response(
        status = 409,
        description = "Conflicts with what is stored, or a billing run is already going"
    )]
    Conflict(ErrorBody),
    /// The body is larger than the bridge reads.
    #[response(status = 413, description = "The body is too large")]
    TooLarge(ErrorBody),
    /// A value was refused; the field is named.
    #[response(
        status = 422,
        description = "A value was refused; the field is named, with the fix"
    )]
    Invalid(ErrorBody),
    /// Too much is queued or asked at once; `Retry-After` says when to send again.
    #[response(
        status = 429,
        description = "Too many requests; Retry-After says when to send again"
    )]
    TooMany(ErrorBody),
    /// Something failed on the bridge's side.
    #[response(status = 500, description = "Something failed on the bridge's side")]
    Internal(ErrorBody),
    /// ConnectWise answered with an error or could not be reached.
    #[response(
        status = 502,
        description = "ConnectWise answered with an error or could not be reached"
    )]
    ConnectWise(ErrorBody),
    /// The bridge is shutting down or its database is away.
    #[response(status = 503, description = "The bridge cannot take it now")]
    Unavailable(ErrorBody),
}
