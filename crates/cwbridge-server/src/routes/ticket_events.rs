//! Ticket events: the operator turns them on for a tenant (`/api/v1/tenants/{id}/ticket-events`),
//! the tenant reads its webhooks' delivery log (`/api/v1/webhooks`), and ConnectWise's
//! callbacks arrive at `/connectwise/callbacks/{key}` (outside the API: signed by ConnectWise,
//! no token).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use cwbridge_engine::ticket_events::callback::{CallbackOutcome, MAX_CALLBACK_BYTES};
use cwbridge_engine::ticket_events::webhook::WebhookView;
use cwbridge_engine::ticket_events::{TicketEventsInput, TicketEventsView};
use cwbridge_store::TenantId;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, Errors};
use crate::extract::{ApiPath, ApiQuery, JsonBody, Operator, TenantCall};
use crate::routes::params::TenantNumber;
use crate::state::AppState;

/// `PUT /api/v1/tenants/{id}/ticket-events`: turns ticket events on for a tenant, or changes
/// how they are received and where they go.
#[utoipa::path(put, path = "/api/v1/tenants/{id}/ticket-events", tag = "tenants",
    security(("operatorToken" = [])), params(TenantNumber),
    request_body = TicketEventsInput,
    responses((status = 200, description = "Ticket events as set (never the secret)", body = TicketEventsView), Errors))]
pub async fn put(
    op: Operator,
    ApiPath(TenantNumber(id)): ApiPath<TenantNumber>,
    JsonBody(input): JsonBody<TicketEventsInput>,
) -> Result<Json<TicketEventsView>, ApiError> {
    Ok(Json(
        op.engine.set_ticket_events(TenantId(id), &input).await?,
    ))
}

/// `GET /api/v1/tenants/{id}/ticket-events`.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/ticket-events", tag = "tenants",
    security(("operatorToken" = [])), params(TenantNumber),
    responses((status = 200, description = "Ticket events as set; 404 when off", body = TicketEventsView), Errors))]
pub async fn show(
    op: Operator,
    ApiPath(TenantNumber(id)): ApiPath<TenantNumber>,
) -> Result<Json<TicketEventsView>, ApiError> {
    Ok(Json(op.engine.ticket_events(TenantId(id)).await?))
}

/// `DELETE /api/v1/tenants/{id}/ticket-events`: turns them off (the ConnectWise callback is
/// removed; webhooks already queued are still sent).
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/ticket-events", tag = "tenants",
    security(("operatorToken" = [])), params(TenantNumber),
    responses((status = 204, description = "Off"), Errors))]
pub async fn delete(
    op: Operator,
    ApiPath(TenantNumber(id)): ApiPath<TenantNumber>,
) -> Result<StatusCode, ApiError> {
    op.engine.disable_ticket_events(TenantId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of the delivery log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// Webhooks older than this id (the next page); the newest when absent.
    before: Option<i64>,
    /// How many (1 to 500; 50 when absent).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// `GET /api/v1/webhooks`: the tenant's webhooks to the vendor, newest first, with how each
/// delivery went.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", params(LogQuery),
    responses((status = 200, description = "The delivery log, newest first", body = [WebhookView]), Errors))]
pub async fn log(
    t: TenantCall,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Json<Vec<WebhookView>>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "give 1 to 500 webhooks a page (50 when left out)",
        ));
    }
    Ok(Json(t.engine.webhooks(t.id, q.before, limit).await?))
}

/// `POST /connectwise/callbacks/{key}`: a ConnectWise callback. 200 with what it queued (or
/// why nothing); 401 when its signature is not ConnectWise's; 404 for a key no tenant has.
pub async fn callback(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<CallbackOutcome>, ApiError> {
    if body.len() > MAX_CALLBACK_BYTES {
        return Err(ApiError::too_large(
            "the callback is larger than ConnectWise sends",
        ));
    }
    let signature = headers
        .get("x-content-signature")
        .and_then(|v| v.to_str().ok());
    let outcome = state.engine.receive_callback(&key, signature, &body).await;
    match &outcome {
        Ok(o) => tracing::debug!(queued = o.queued, ignored = ?o.ignored, "callback taken"),
        Err(e) => tracing::info!(error = %e, "callback refused"),
    }
    Ok(Json(outcome?))
}
