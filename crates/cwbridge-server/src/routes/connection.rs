//! `/api/v1/connection`: the tenant's ConnectWise connection (seed 004's step 1) and its
//! check. The private key goes in and never comes out.

use axum::Json;
use axum::extract::State;
use cwbridge_engine::health::RecentFailure;
use cwbridge_engine::worker::DeliveryPause;
use cwbridge_engine::{CheckReport, ConnectionInput, ConnectionView};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Errors};
use crate::extract::{CurrentTenant, JsonBody};
use crate::state::AppState;

/// A connection just saved, and the check made of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedConnection {
    /// The connection (no private key).
    connection: ConnectionView,
    /// The check made after saving it.
    check: CheckReport,
}

/// The saved connection, its last check, and whether deliveries are paused.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionState {
    /// The connection (no private key).
    connection: ConnectionView,
    /// The last check, if any.
    check: Option<CheckReport>,
    /// Set while alert deliveries wait because ConnectWise keeps failing.
    delivery_pause: Option<DeliveryPause>,
}

/// `PUT /api/v1/connection`: saves the connection, checks it, answers both.
#[utoipa::path(put, path = "/api/v1/connection", tag = "connection",
    security(("tenantToken" = [])), request_body = ConnectionInput,
    responses((status = 200, description = "Saved and checked", body = SavedConnection), Errors))]
pub async fn save(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<ConnectionInput>,
) -> Result<Json<SavedConnection>, ApiError> {
    let (connection, check) = state.engine.save_connection(tenant.id, &input).await?;
    Ok(Json(SavedConnection { connection, check }))
}

/// `GET /api/v1/connection`: the saved connection (no private key), its last check, and
/// whether alert deliveries are paused because ConnectWise keeps failing.
#[utoipa::path(get, path = "/api/v1/connection", tag = "connection",
    security(("tenantToken" = [])),
    responses((status = 200, description = "The connection", body = ConnectionState), Errors))]
pub async fn show(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
) -> Result<Json<ConnectionState>, ApiError> {
    let connection = state.engine.connection(tenant.id).await?;
    let check = state.engine.last_check(tenant.id).await?;
    let delivery_pause = state.engine.delivery_pause(tenant.id);
    Ok(Json(ConnectionState {
        connection,
        check,
        delivery_pause,
    }))
}

/// `POST /api/v1/connection/check`: checks again (after fixing the role in ConnectWise).
#[utoipa::path(post, path = "/api/v1/connection/check", tag = "connection",
    security(("tenantToken" = [])),
    responses((status = 200, description = "The check", body = CheckReport), Errors))]
pub async fn check(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
) -> Result<Json<CheckReport>, ApiError> {
    Ok(Json(state.engine.check_connection(tenant.id).await?))
}

/// `GET /api/v1/connection/check`: the last check.
#[utoipa::path(get, path = "/api/v1/connection/check", tag = "connection",
    security(("tenantToken" = [])),
    responses((status = 200, description = "The last check", body = CheckReport), Errors))]
pub async fn last_check(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
) -> Result<Json<CheckReport>, ApiError> {
    match state.engine.last_check(tenant.id).await? {
        Some(report) => Ok(Json(report)),
        None => Err(ApiError::not_found(
            "the connection has not been checked yet",
        )),
    }
}

/// `GET /api/v1/connection/failures`: ConnectWise's recent error and rate-limit answers.
#[utoipa::path(get, path = "/api/v1/connection/failures", tag = "connection",
    security(("tenantToken" = [])),
    responses((status = 200, description = "The newest failures first", body = [RecentFailure]), Errors))]
pub async fn failures(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
) -> Result<Json<Vec<RecentFailure>>, ApiError> {
    Ok(Json(state.engine.recent_failures(tenant.id).await?))
}
