//! `/api/v1/connection`: the tenant's ConnectWise connection (seed 004's step 1) and its
//! check. The private key goes in and never comes out.

use axum::Json;
use cwbridge_engine::health::RecentFailure;
use cwbridge_engine::worker::DeliveryPause;
use cwbridge_engine::{CheckReport, ConnectionInput, ConnectionView};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Errors};
use crate::extract::{JsonBody, TenantCall};

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
    request_body = ConnectionInput,
    responses((status = 200, description = "Saved and checked", body = SavedConnection), Errors))]
pub async fn save(
    t: TenantCall,
    JsonBody(input): JsonBody<ConnectionInput>,
) -> Result<Json<SavedConnection>, ApiError> {
    let (connection, check) = t.engine.save_connection(t.id, &input).await?;
    Ok(Json(SavedConnection { connection, check }))
}

/// `GET /api/v1/connection`: the saved connection (no private key), its last check, and
/// whether alert deliveries are paused because ConnectWise keeps failing.
#[utoipa::path(get, path = "/api/v1/connection", tag = "connection",
    responses((status = 200, description = "The connection", body = ConnectionState), Errors))]
pub async fn show(t: TenantCall) -> Result<Json<ConnectionState>, ApiError> {
    let connection = t.engine.connection(t.id).await?;
    let check = t.engine.last_check(t.id).await?;
    let delivery_pause = t.engine.delivery_pause(t.id);
    Ok(Json(ConnectionState {
        connection,
        check,
        delivery_pause,
    }))
}

/// `POST /api/v1/connection/check`: checks again (after fixing the role in ConnectWise).
#[utoipa::path(post, path = "/api/v1/connection/check", tag = "connection",
    responses((status = 200, description = "The check", body = CheckReport), Errors))]
pub async fn check(t: TenantCall) -> Result<Json<CheckReport>, ApiError> {
    Ok(Json(t.engine.check_connection(t.id).await?))
}

/// `GET /api/v1/connection/check`: the last check.
#[utoipa::path(get, path = "/api/v1/connection/check", tag = "connection",
    responses((status = 200, description = "The last check", body = CheckReport), Errors))]
pub async fn last_check(t: TenantCall) -> Result<Json<CheckReport>, ApiError> {
    match t.engine.last_check(t.id).await? {
        Some(report) => Ok(Json(report)),
        None => Err(ApiError::not_found(
            "the connection has not been checked yet",
        )),
    }
}

/// `GET /api/v1/connection/failures`: ConnectWise's recent error and rate-limit answers.
#[utoipa::path(get, path = "/api/v1/connection/failures", tag = "connection",
    responses((status = 200, description = "The newest failures first", body = [RecentFailure]), Errors))]
pub async fn failures(t: TenantCall) -> Result<Json<Vec<RecentFailure>>, ApiError> {
    Ok(Json(t.engine.recent_failures(t.id).await?))
}
