//! Extractors: who is calling (the operator, or a tenant by its token) and JSON bodies whose
//! errors name the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use cwbridge_engine::Engine;
use cwbridge_store::TenantId;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// The request's bearer token, or a 401 saying how to send one.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let how = || ApiError::unauthenticated("send `Authorization: Bearer <token>`");
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(how)?;
    let (scheme, token) = value.split_once(' ').ok_or_else(how)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(how());
    }
    Ok(token)
}

/// The operator, proven by the operator token from the configuration, with the engine to act
/// for it.
#[derive(Debug)]
pub struct Operator {
    /// The engine.
    pub engine: Engine,
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let given = cwbridge_engine::tenant::token_hash(bearer(parts)?);
        let expected = state.operator_token_hash.as_ref().ok_or_else(|| {
            ApiError::unauthenticated(
                "no operator token is configured (set CWBRIDGE_OPERATOR_TOKEN)",
            )
        })?;
        if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(ApiError::unauthenticated("the operator token is not valid"));
        }
        Ok(Operator {
            engine: state.engine.clone(),
        })
    }
}

/// A tenant's call, proven by its token: the tenant, and the engine to act for it. Every
/// tenant route takes one, so no route can reach another tenant's data.
#[derive(Debug)]
pub struct TenantCall {
    /// The tenant whose token came with the request.
    pub id: TenantId,
    /// The engine.
    pub engine: Engine,
}

impl FromRequestParts<AppState> for TenantCall {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let tenant = state
            .engine
            .authenticate(bearer(parts)?)
            .await?
            .ok_or_else(|| ApiError::unauthenticated("the tenant token is not valid"))?;
        tracing::Span::current().record("tenant.id", tenant.id.0);
        Ok(TenantCall {
            id: tenant.id,
            engine: state.engine.clone(),
        })
    }
}

/// A JSON body; a bad one is refused naming the field at fault.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::bad_request(
                "send the body as JSON (Content-Type: application/json)",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(format!(
                    "the body is larger than {} bytes, the most the API reads",
                    crate::MAX_BODY_BYTES
                ))
            } else {
                ApiError::bad_request(format!("cannot read the body: {e}"))
            }
        })?;
        // Every body of this API is an object; serde would also read a struct from an array
        // of its fields in order, which is not what the document says nor what a client means.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::bad_request(
                "send the body as a JSON object ({\"field\": value, …})",
            ));
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut de)
            .map(JsonBody)
            .map_err(|e| {
                let full = e.inner().to_string();
                let message = cwbridge_engine::error::without_position(&full).to_owned();
                let field = cwbridge_engine::error::failed_field(&e.path().to_string(), &message);
                match field {
                    Some(field) => ApiError::invalid(field, message),
                    None => ApiError::bad_request(format!(
                        "the body is not valid JSON for this call: {message}"
                    )),
                }
            })
    }
}

/// A path parameter; a malformed one is refused as JSON naming it.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e| {
                ApiError::invalid(
                    "path",
                    format!("the URL's id is not valid here: {}", e.body_text()),
                )
            })
    }
}

/// Query parameters; malformed ones are refused as JSON naming the problem.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e| ApiError::invalid("query", e.body_text()))
    }
}
