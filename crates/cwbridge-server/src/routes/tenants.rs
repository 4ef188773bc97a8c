//! `/api/v1/tenants`: the operator makes and lists tenants.

use axum::Json;
use axum::http::StatusCode;
use cwbridge_store::TenantId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, Errors};
use crate::extract::{ApiPath, JsonBody, Operator};
use crate::routes::params::TenantNumber;

/// The body of `POST /api/v1/tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenantBody {
    /// Its unique name, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
}

/// A tenant as the operator sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    /// Its id.
    id: i64,
    /// Its name.
    name: String,
    /// When it was made (Unix ms).
    created_at: i64,
}

impl From<cwbridge_store::Tenant> for TenantView {
    fn from(t: cwbridge_store::Tenant) -> Self {
        TenantView {
            id: t.id.0,
            name: t.name,
            created_at: t.created_at,
        }
    }
}

/// A tenant just made, with its token (shown this once).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewTenantView {
    /// The tenant.
    #[serde(flatten)]
    tenant: TenantView,
    /// Its API token: give it to the tenant; it is not stored.
    token: String,
}

/// A tenant's new token (shown this once).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// The tenant's id.
    id: i64,
    /// The new token.
    token: String,
}

/// The networks a tenant's ConnectWise may be in.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworksBody {
    /// CIDR networks, e.g. `10.20.0.0/16`.
    networks: Vec<String>,
}

/// A tenant's networks as saved.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworksView {
    /// The tenant's id.
    id: i64,
    /// The networks, normalised.
    networks: Vec<String>,
}

/// `POST /api/v1/tenants`: a tenant and its token (shown this once).
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants",
    security(("operatorToken" = [])), request_body = NewTenantBody,
    responses((status = 201, description = "The tenant and its token", body = NewTenantView), Errors))]
pub async fn create(
    op: Operator,
    JsonBody(body): JsonBody<NewTenantBody>,
) -> Result<(StatusCode, Json<NewTenantView>), ApiError> {
    let made = op.engine.create_tenant(&body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(NewTenantView {
            tenant: made.tenant.into(),
            token: made.token,
        }),
    ))
}

/// `GET /api/v1/tenants`.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants",
    security(("operatorToken" = [])),
    responses((status = 200, description = "Every tenant", body = [TenantView]), Errors))]
pub async fn list(op: Operator) -> Result<Json<Vec<TenantView>>, ApiError> {
    let tenants = op.engine.tenants().await?;
    Ok(Json(tenants.into_iter().map(TenantView::from).collect()))
}

/// `POST /api/v1/tenants/{id}/token`: a new token for the tenant (shown this once); its
/// other tokens stop working and its wizard sessions end.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/token", tag = "tenants",
    security(("operatorToken" = [])), params(TenantNumber),
    responses((status = 200, description = "The new token", body = TokenView), Errors))]
pub async fn rotate_token(
    op: Operator,
    ApiPath(TenantNumber(id)): ApiPath<TenantNumber>,
) -> Result<Json<TokenView>, ApiError> {
    let token = op.engine.rotate_token(TenantId(id)).await?;
    Ok(Json(TokenView { id, token }))
}

/// `DELETE /api/v1/tenants/{id}/token`: revokes every token of the tenant and ends its
/// sessions (a new token, from `POST`, enables it again).
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/token", tag = "tenants",
    security(("operatorToken" = [])), params(TenantNumber),
    responses((status = 204, description = "Every token revoked"), Errors))]
pub async fn revoke_tokens(
    op: Operator,
    ApiPath(TenantNumber(id)): ApiPath<TenantNumber>,
) -> Result<StatusCode, ApiError> {
    op.engine.disable_tenant(TenantId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/tenants/{id}/networks`: the networks this tenant's ConnectWise may be in
/// beyond public addresses (its on-premise server over a private link), for it alone.
#[utoipa::path(put, path = "/api/v1/tenants/{id}/networks", tag = "tenants",
    security(("operatorToken" = [])), params(TenantNumber),
    request_body = NetworksBody,
    responses((status = 200, description = "The networks as saved", body = NetworksView), Errors))]
pub async fn put_networks(
    op: Operator,
    ApiPath(TenantNumber(id)): ApiPath<TenantNumber>,
    JsonBody(body): JsonBody<NetworksBody>,
) -> Result<Json<NetworksView>, ApiError> {
    let networks = op
        .engine
        .set_allowed_networks(TenantId(id), &body.networks)
        .await?;
    Ok(Json(NetworksView { id, networks }))
}
