//! `/api/v1/alerts` and `/api/v1/tickets`: the vendor posts alerts; the tenant sets the
//! ticket defaults, which alert types each account forwards, and per-type policies.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use cwbridge_engine::alert::{AlertInput, AlertPolicyInput, TicketSettingsInput};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, CurrentTenant, JsonBody};
use crate::state::AppState;

/// `POST /api/v1/alerts`: stored durably, then `202` with its id; delivered by the worker.
/// With an `Idempotency-Key` header, a resend answers what the first send answered (the
/// alert, with `Idempotent-Replayed: true`) and stores nothing new.
pub async fn receive(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<AlertInput>,
) -> Result<(StatusCode, HeaderMap, Json<Value>), ApiError> {
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(v.to_str().map_err(|_| {
            ApiError::invalid(
                "Idempotency-Key",
                "an idempotency key is 1 to 255 visible ASCII characters, e.g. a UUID",
            )
        })?),
    };
    let (alert, replayed) = state
        .engine
        .receive_alert_once(tenant.id, &input, key)
        .await?;
    let mut answer = HeaderMap::new();
    if replayed {
        answer.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok((StatusCode::ACCEPTED, answer, Json(json!(alert))))
}

/// The filters and cursor of `GET /api/v1/alerts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    before: Option<i64>,
    state: Option<String>,
    #[serde(rename = "type")]
    alert_type: Option<String>,
    account: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
    limit: Option<i64>,
}

/// `GET /api/v1/alerts`: alerts with their delivery state, newest first, filtered by state,
/// type, account and receipt time; a full page carries `Link: <…>; rel="next"`.
pub async fn list(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<(HeaderMap, Json<Value>), ApiError> {
    let limit = q.limit.unwrap_or(200).clamp(1, 1000);
    let query = cwbridge_store::AlertQuery {
        before: q.before,
        state: q.state.clone(),
        alert_type: q.alert_type.clone(),
        account: q.account.clone(),
        since: q.since,
        until: q.until,
        limit,
    };
    let page = state.engine.alerts_page(tenant.id, &query).await?;
    let mut headers = HeaderMap::new();
    if page.len() as i64 == limit
        && let Some(last) = page.last()
    {
        let mut next = url::form_urlencoded::Serializer::new(String::new());
        next.append_pair("before", &last.id.to_string());
        next.append_pair("limit", &limit.to_string());
        for (k, v) in [
            ("state", &q.state),
            ("type", &q.alert_type),
            ("account", &q.account),
        ] {
            if let Some(v) = v {
                next.append_pair(k, v);
            }
        }
        for (k, v) in [("since", q.since), ("until", q.until)] {
            if let Some(v) = v {
                next.append_pair(k, &v.to_string());
            }
        }
        if let Ok(link) =
            HeaderValue::from_str(&format!("</api/v1/alerts?{}>; rel=\"next\"", next.finish()))
        {
            headers.insert(axum::http::header::LINK, link);
        }
    }
    Ok((headers, Json(json!(page))))
}

/// `GET /api/v1/alerts/{id}`.
pub async fn show(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.engine.alert(tenant.id, id).await?)))
}

/// `POST /api/v1/alerts/{id}/retry`: queues a failed alert again.
pub async fn retry(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.engine.retry_alert(tenant.id, id).await?)))
}

/// `PUT /api/v1/tickets`: board, status, priority, type and signature.
pub async fn put_settings(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<TicketSettingsInput>,
) -> Result<Json<Value>, ApiError> {
    let s = state.engine.set_ticket_settings(tenant.id, &input).await?;
    Ok(Json(settings_json(&s)))
}

/// `GET /api/v1/tickets`.
pub async fn settings(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    match state.engine.ticket_settings(tenant.id).await? {
        Some(s) => Ok(Json(settings_json(&s))),
        None => Err(ApiError::not_found("tickets are not set up yet")),
    }
}

fn settings_json(s: &cwbridge_store::TicketSettingsRecord) -> Value {
    json!({
        "board": {"id": s.board_id, "name": s.board_name},
        "status": {"id": s.status_id, "name": s.status_name},
        "priority": {"id": s.priority_id, "name": s.priority_name},
        "type": s.type_id.map(|id| json!({"id": id, "name": s.type_name})),
        "signature": s.signature,
    })
}

/// The body of `PUT /api/v1/accounts/{id}/alerts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteBody {
    types: Vec<String>,
}

/// `PUT /api/v1/accounts/{id}/alerts`: which alert types this account forwards (`["*"]`: all).
pub async fn put_route(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    ApiPath(account): ApiPath<String>,
    JsonBody(body): JsonBody<RouteBody>,
) -> Result<Json<Value>, ApiError> {
    state
        .engine
        .set_alert_route(tenant.id, &account, &body.types)
        .await?;
    Ok(Json(json!({"account": account, "types": body.types})))
}

/// `PUT /api/v1/alert-types/{type}`: the type's policy.
pub async fn put_policy(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    ApiPath(alert_type): ApiPath<String>,
    JsonBody(input): JsonBody<AlertPolicyInput>,
) -> Result<Json<Value>, ApiError> {
    state
        .engine
        .set_alert_policy(tenant.id, &alert_type, &input)
        .await?;
    Ok(Json(
        json!({"type": alert_type, "noteOnResolve": input.note_on_resolve, "recurAfterClose": input.recur_after_close}),
    ))
}
