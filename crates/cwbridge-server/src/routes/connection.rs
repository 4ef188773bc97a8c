//! `/api/v1/connection`: the tenant's ConnectWise connection (seed 004's step 1) and its
//! check. The private key goes in and never comes out.

use axum::Json;
use axum::extract::State;
use cwbridge_engine::ConnectionInput;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::{CurrentTenant, JsonBody};
use crate::state::AppState;

/// `PUT /api/v1/connection`: saves the connection, checks it, answers both.
pub async fn save(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<ConnectionInput>,
) -> Result<Json<Value>, ApiError> {
    let (connection, check) = state.engine.save_connection(tenant.id, &input).await?;
    Ok(Json(json!({"connection": connection, "check": check})))
}

/// `GET /api/v1/connection`: the saved connection (no private key), its last check, and
/// whether alert deliveries are paused because ConnectWise keeps failing.
pub async fn show(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let connection = state.engine.connection(tenant.id).await?;
    let check = state.engine.last_check(tenant.id).await?;
    let pause = state.engine.delivery_pause(tenant.id);
    Ok(Json(
        json!({"connection": connection, "check": check, "deliveryPause": pause}),
    ))
}

/// `POST /api/v1/connection/check`: checks again (after fixing the role in ConnectWise).
pub async fn check(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let report = state.engine.check_connection(tenant.id).await?;
    Ok(Json(json!(report)))
}

/// `GET /api/v1/connection/check`: the last check.
pub async fn last_check(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    match state.engine.last_check(tenant.id).await? {
        Some(report) => Ok(Json(json!(report))),
        None => Err(ApiError::not_found(
            "the connection has not been checked yet",
        )),
    }
}

/// `GET /api/v1/connection/failures`: ConnectWise's recent error and rate-limit answers.
pub async fn failures(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.engine.recent_failures(tenant.id).await?)))
}
