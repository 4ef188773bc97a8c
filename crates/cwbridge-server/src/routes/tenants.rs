//! `/api/v1/tenants`: the operator makes and lists tenants.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::{ApiPath, JsonBody, Operator};
use crate::state::AppState;
use cwbridge_store::TenantId;

/// The body of `POST /api/v1/tenants`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTenantBody {
    name: String,
}

/// `POST /api/v1/tenants`: a tenant and its token (shown this once).
pub async fn create(
    _: Operator,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewTenantBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let made = state.engine.create_tenant(&body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": made.tenant.id.0,
            "name": made.tenant.name,
            "createdAt": made.tenant.created_at,
            "token": made.token,
        })),
    ))
}

/// `GET /api/v1/tenants`.
pub async fn list(_: Operator, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let tenants = state.engine.tenants().await?;
    Ok(Json(Value::Array(
        tenants
            .into_iter()
            .map(|t| json!({"id": t.id.0, "name": t.name, "createdAt": t.created_at}))
            .collect(),
    )))
}

/// `POST /api/v1/tenants/{id}/token`: a new token for the tenant (shown this once); its
/// other tokens stop working and its wizard sessions end.
pub async fn rotate_token(
    _: Operator,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let token = state.engine.rotate_token(TenantId(id)).await?;
    Ok(Json(json!({"id": id, "token": token})))
}

/// `DELETE /api/v1/tenants/{id}/token`: revokes every token of the tenant and ends its
/// sessions (a new token, from `POST`, enables it again).
pub async fn revoke_tokens(
    _: Operator,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state.engine.disable_tenant(TenantId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of `PUT /api/v1/tenants/{id}/networks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworksBody {
    networks: Vec<String>,
}

/// `PUT /api/v1/tenants/{id}/networks`: the networks this tenant's ConnectWise may be in
/// beyond public addresses (its on-premise server over a private link), for it alone.
pub async fn put_networks(
    _: Operator,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    JsonBody(body): JsonBody<NetworksBody>,
) -> Result<Json<Value>, ApiError> {
    let networks = state
        .engine
        .set_allowed_networks(TenantId(id), &body.networks)
        .await?;
    Ok(Json(json!({"id": id, "networks": networks})))
}
