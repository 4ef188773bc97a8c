//! `/api/v1/accounts`: the vendor pushes its accounts and their units; the tenant maps them.

use axum::Json;
use axum::http::StatusCode;
use cwbridge_engine::account::{AccountInput, AccountView};
use cwbridge_engine::mapping::{MappingInput, MappingRow, MappingView};

use crate::error::{ApiError, Errors};
use crate::extract::{ApiPath, JsonBody, TenantCall};
use crate::routes::params::AccountId;

/// `PUT /api/v1/accounts/{id}`: the account's whole state (idempotent).
#[utoipa::path(put, path = "/api/v1/accounts/{id}", tag = "accounts", params(AccountId),
    request_body = AccountInput,
    responses((status = 200, description = "The account as stored", body = AccountView), Errors))]
pub async fn put(
    t: TenantCall,
    ApiPath(AccountId(id)): ApiPath<AccountId>,
    JsonBody(input): JsonBody<AccountInput>,
) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(t.engine.put_account(t.id, &id, &input).await?))
}

/// `DELETE /api/v1/accounts/{id}`: its lines are cancelled by the next billing run.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}", tag = "accounts", params(AccountId),
    responses((status = 204, description = "Removed"), Errors))]
pub async fn delete(
    t: TenantCall,
    ApiPath(AccountId(id)): ApiPath<AccountId>,
) -> Result<StatusCode, ApiError> {
    t.engine.delete_account(t.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/accounts`.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts",
    responses((status = 200, description = "Every account with its mapping", body = [AccountView]), Errors))]
pub async fn list(t: TenantCall) -> Result<Json<Vec<AccountView>>, ApiError> {
    Ok(Json(t.engine.accounts(t.id).await?))
}

/// `GET /api/v1/mappings`: every account with its mapping, or suggestions with reasons.
#[utoipa::path(get, path = "/api/v1/mappings", tag = "accounts",
    responses((status = 200, description = "Every account, with suggestions for those not mapped", body = [MappingRow]), Errors))]
pub async fn mappings(t: TenantCall) -> Result<Json<Vec<MappingRow>>, ApiError> {
    Ok(Json(t.engine.mapping_overview(t.id).await?))
}

/// `PUT /api/v1/accounts/{id}/mapping`.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/mapping", tag = "accounts", params(AccountId),
    request_body = MappingInput,
    responses((status = 200, description = "The mapping as saved", body = MappingView), Errors))]
pub async fn map(
    t: TenantCall,
    ApiPath(AccountId(id)): ApiPath<AccountId>,
    JsonBody(input): JsonBody<MappingInput>,
) -> Result<Json<MappingView>, ApiError> {
    Ok(Json(t.engine.map_account(t.id, &id, &input).await?))
}

/// `DELETE /api/v1/accounts/{id}/mapping`.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}/mapping", tag = "accounts", params(AccountId),
    responses((status = 204, description = "Unmapped"), Errors))]
pub async fn unmap(
    t: TenantCall,
    ApiPath(AccountId(id)): ApiPath<AccountId>,
) -> Result<StatusCode, ApiError> {
    t.engine.unmap_account(t.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
