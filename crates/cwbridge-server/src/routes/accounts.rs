//! `/api/v1/accounts`: the vendor pushes its accounts and their units; the tenant maps them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cwbridge_engine::account::AccountInput;
use cwbridge_engine::mapping::MappingInput;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::{ApiPath, CurrentTenant, JsonBody};
use crate::state::AppState;

/// `PUT /api/v1/accounts/{id}`: the account's whole state (idempotent).
pub async fn put(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(input): JsonBody<AccountInput>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        state.engine.put_account(tenant.id, &id, &input).await?
    )))
}

/// `DELETE /api/v1/accounts/{id}`: its lines are cancelled by the next billing run.
pub async fn delete(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.engine.delete_account(tenant.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/accounts`.
pub async fn list(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.engine.accounts(tenant.id).await?)))
}

/// `GET /api/v1/mappings`: every account with its mapping, or suggestions with reasons.
pub async fn mappings(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.engine.mapping_overview(tenant.id).await?)))
}

/// `PUT /api/v1/accounts/{id}/mapping`.
pub async fn map(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(input): JsonBody<MappingInput>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        state.engine.map_account(tenant.id, &id, &input).await?
    )))
}

/// `DELETE /api/v1/accounts/{id}/mapping`.
pub async fn unmap(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.engine.unmap_account(tenant.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
