//! `/api/v1/tenants`: the operator makes and lists tenants.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::{JsonBody, Operator};
use crate::state::AppState;

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
