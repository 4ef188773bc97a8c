//! `/api/v1/accounts`: the vendor pushes its accounts and their units; the tenant maps them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cwbridge_engine::account::{AccountInput, AccountView};
use cwbridge_engine::mapping::{MappingInput, MappingRow, MappingView};

use crate::error::{ApiError, Errors};
use crate::extract::{ApiPath, CurrentTenant, JsonBody};
use crate::state::AppState;

/// `PUT /api/v1/accounts/{id}`: the account's whole state (idempotent).
#[utoipa::path(put, path = "/api/v1/accounts/{id}", tag = "accounts",
    security(("tenantToken" = [])), params(("id" = String, Path, description = "The vendor's id for the account")),
    request_body = AccountInput,
    responses((status = 200, description = "The account as stored", body = AccountView), Errors))]
pub async fn put(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(input): JsonBody<AccountInput>,
) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(
        state.engine.put_account(tenant.id, &id, &input).await?,
    ))
}

/// `DELETE /api/v1/accounts/{id}`: its lines are cancelled by the next billing run.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}", tag = "accounts",
    security(("tenantToken" = [])), params(("id" = String, Path, description = "The vendor's id for the account")),
    responses((status = 204, description = "Removed"), Errors))]
pub async fn delete(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.engine.delete_account(tenant.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/accounts`.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts",
    security(("tenantToken" = [])),
    responses((status = 200, description = "Every account with its mapping", body = [AccountView]), Errors))]
pub async fn list(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
) -> Result<Json<Vec<AccountView>>, ApiError> {
    Ok(Json(state.engine.accounts(tenant.id).await?))
}

/// `GET /api/v1/mappings`: every account with its mapping, or suggestions with reasons.
#[utoipa::path(get, path = "/api/v1/mappings", tag = "accounts",
    security(("tenantToken" = [])),
    responses((status = 200, description = "Every account, with suggestions for those not mapped", body = [MappingRow]), Errors))]
pub async fn mappings(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
) -> Result<Json<Vec<MappingRow>>, ApiError> {
    Ok(Json(state.engine.mapping_overview(tenant.id).await?))
}

/// `PUT /api/v1/accounts/{id}/mapping`.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/mapping", tag = "accounts",
    security(("tenantToken" = [])), params(("id" = String, Path, description = "The vendor's id for the account")),
    request_body = MappingInput,
    responses((status = 200, description = "The mapping as saved", body = MappingView), Errors))]
pub async fn map(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(input): JsonBody<MappingInput>,
) -> Result<Json<MappingView>, ApiError> {
    Ok(Json(
        state.engine.map_account(tenant.id, &id, &input).await?,
    ))
}

/// `DELETE /api/v1/accounts/{id}/mapping`.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}/mapping", tag = "accounts",
    security(("tenantToken" = [])), params(("id" = String, Path, description = "The vendor's id for the account")),
    responses((status = 204, description = "Unmapped"), Errors))]
pub async fn unmap(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.engine.unmap_account(tenant.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
