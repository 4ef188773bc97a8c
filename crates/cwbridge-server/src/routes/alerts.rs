//! `/api/v1/alerts` and `/api/v1/tickets`: the vendor posts alerts; the tenant sets the
//! ticket defaults, which alert types each account forwards, and per-type policies.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use cwbridge_engine::alert::{AlertInput, AlertPolicyInput, AlertView, TicketSettingsInput};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, Errors};
use crate::extract::{ApiPath, ApiQuery, JsonBody, TenantCall};
use crate::routes::params::{AccountId, AlertId, AlertType};

/// `POST /api/v1/alerts`: stored durably, then `202` with its id; delivered by the worker.
/// With an `Idempotency-Key` header, a resend answers what the first send answered (the
/// alert, with `Idempotent-Replayed: true`) and stores nothing new.
#[utoipa::path(post, path = "/api/v1/alerts", tag = "alerts",
    request_body = AlertInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Sent again with the same key, the alert is stored once; 1 to 255 visible ASCII characters")),
    responses((status = 202, description = "Stored; delivered as ConnectWise takes it", body = AlertView,
        headers(("Idempotent-Replayed" = String, description = "`true` when the key was seen before"))), Errors))]
pub async fn receive(
    t: TenantCall,
    headers: HeaderMap,
    JsonBody(input): JsonBody<AlertInput>,
) -> Result<(StatusCode, HeaderMap, Json<AlertView>), ApiError> {
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(v.to_str().map_err(|_| {
            ApiError::invalid(
                "Idempotency-Key",
                "an idempotency key is 1 to 255 visible ASCII characters, e.g. a UUID",
            )
        })?),
    };
    let (alert, replayed) = t.engine.receive_alert_once(t.id, &input, key).await?;
    let mut answer = HeaderMap::new();
    if replayed {
        answer.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok((StatusCode::ACCEPTED, answer, Json(alert)))
}

/// The filters and cursor of `GET /api/v1/alerts`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only alerts older than this id (the last id of the page before).
    before: Option<i64>,
    /// Only alerts in this state.
    #[param(pattern = "^(queued|delivered|skipped|failed)$")]
    state: Option<String>,
    /// Only alerts of this type.
    #[serde(rename = "type")]
    alert_type: Option<String>,
    /// Only alerts of this account.
    account: Option<String>,
    /// Only alerts received at or after this time (Unix ms).
    since: Option<i64>,
    /// Only alerts received before this time (Unix ms).
    until: Option<i64>,
    /// Alerts a page, 1 to 1,000 (default 200).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// `GET /api/v1/alerts`: alerts with their delivery state, newest first, filtered by state,
/// type, account and receipt time; a full page carries `Link: <…>; rel="next"`.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(ListQuery),
    responses((status = 200, description = "A page of alerts, newest first", body = [AlertView],
        headers(("Link" = String, description = "The next page, `rel=\"next\"`, when there may be one"))), Errors))]
pub async fn list(
    t: TenantCall,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<(HeaderMap, Json<Vec<AlertView>>), ApiError> {
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "give 1 to 1,000 alerts a page (200 when left out)",
        ));
    }
    let query = cwbridge_store::AlertQuery {
        before: q.before,
        state: q.state.clone(),
        alert_type: q.alert_type.clone(),
        account: q.account.clone(),
        since: q.since,
        until: q.until,
        limit,
    };
    let page = t.engine.alerts_page(t.id, &query).await?;
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
    Ok((headers, Json(page)))
}

/// `GET /api/v1/alerts/{id}`.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts", params(AlertId),
    responses((status = 200, description = "The alert", body = AlertView), Errors))]
pub async fn show(
    t: TenantCall,
    ApiPath(AlertId(id)): ApiPath<AlertId>,
) -> Result<Json<AlertView>, ApiError> {
    Ok(Json(t.engine.alert(t.id, id).await?))
}

/// `POST /api/v1/alerts/{id}/retry`: queues a failed alert again.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/retry", tag = "alerts", params(AlertId),
    responses((status = 200, description = "Queued again", body = AlertView), Errors))]
pub async fn retry(
    t: TenantCall,
    ApiPath(AlertId(id)): ApiPath<AlertId>,
) -> Result<Json<AlertView>, ApiError> {
    Ok(Json(t.engine.retry_alert(t.id, id).await?))
}

/// `PUT /api/v1/tickets`: board, status, priority, type and signature.
#[utoipa::path(put, path = "/api/v1/tickets", tag = "alerts",
    request_body = TicketSettingsInput,
    responses((status = 200, description = "The defaults as saved", body = TicketSettingsView), Errors))]
pub async fn put_settings(
    t: TenantCall,
    JsonBody(input): JsonBody<TicketSettingsInput>,
) -> Result<Json<TicketSettingsView>, ApiError> {
    let s = t.engine.set_ticket_settings(t.id, &input).await?;
    Ok(Json(TicketSettingsView::from(&s)))
}

/// `GET /api/v1/tickets`.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "alerts",
    responses((status = 200, description = "The ticket defaults", body = TicketSettingsView), Errors))]
pub async fn settings(t: TenantCall) -> Result<Json<TicketSettingsView>, ApiError> {
    match t.engine.ticket_settings(t.id).await? {
        Some(s) => Ok(Json(TicketSettingsView::from(&s))),
        None => Err(ApiError::not_found("tickets are not set up yet")),
    }
}

/// Something ConnectWise names, by id and name.
#[derive(Debug, Serialize, ToSchema)]
pub struct Named {
    /// Its id.
    id: i64,
    /// Its name.
    name: Option<String>,
}

/// The ticket defaults, each with its name.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketSettingsView {
    /// The service board.
    board: Named,
    /// The status new tickets get.
    status: Named,
    /// Their priority.
    priority: Named,
    /// Their type, if one was chosen.
    #[serde(rename = "type")]
    ticket_type: Option<Named>,
    /// Who notes are written on behalf of.
    signature: String,
}

impl From<&cwbridge_store::TicketSettingsRecord> for TicketSettingsView {
    fn from(s: &cwbridge_store::TicketSettingsRecord) -> Self {
        let named = |id: i64, name: &str| Named {
            id,
            name: Some(name.to_owned()),
        };
        TicketSettingsView {
            board: named(s.board_id, &s.board_name),
            status: named(s.status_id, &s.status_name),
            priority: named(s.priority_id, &s.priority_name),
            ticket_type: s.type_id.map(|id| Named {
                id,
                name: s.type_name.clone(),
            }),
            signature: s.signature.clone(),
        }
    }
}

/// The body of `PUT /api/v1/accounts/{id}/alerts`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteBody {
    types: Vec<String>,
}

/// `PUT /api/v1/accounts/{id}/alerts`: which alert types this account forwards (`["*"]`: all).
#[utoipa::path(put, path = "/api/v1/accounts/{id}/alerts", tag = "alerts", params(AccountId),
    request_body = RouteBody,
    responses((status = 200, description = "The route as saved", body = RouteView), Errors))]
pub async fn put_route(
    t: TenantCall,
    ApiPath(AccountId(account)): ApiPath<AccountId>,
    JsonBody(body): JsonBody<RouteBody>,
) -> Result<Json<RouteView>, ApiError> {
    t.engine
        .set_alert_route(t.id, &account, &body.types)
        .await?;
    Ok(Json(RouteView {
        account,
        types: body.types,
    }))
}

/// `PUT /api/v1/alert-types/{type}`: the type's policy.
#[utoipa::path(put, path = "/api/v1/alert-types/{type}", tag = "alerts", params(AlertType),
    request_body = AlertPolicyInput,
    responses((status = 200, description = "The policy as saved", body = PolicyView), Errors))]
pub async fn put_policy(
    t: TenantCall,
    ApiPath(AlertType(alert_type)): ApiPath<AlertType>,
    JsonBody(input): JsonBody<AlertPolicyInput>,
) -> Result<Json<PolicyView>, ApiError> {
    t.engine.set_alert_policy(t.id, &alert_type, &input).await?;
    Ok(Json(PolicyView {
        alert_type,
        note_on_resolve: input.note_on_resolve,
        recur_after_close: input.recur_after_close,
    }))
}

/// An account's alert route as saved.
#[derive(Debug, Serialize, ToSchema)]
pub struct RouteView {
    /// The account.
    account: String,
    /// The types it forwards (`["*"]`: all).
    types: Vec<String>,
}

/// An alert type's policy as saved.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyView {
    /// The alert type.
    #[serde(rename = "type")]
    alert_type: String,
    /// Whether a resolved alert adds a note to its ticket.
    note_on_resolve: bool,
    /// `new` ticket or `reopen` when it recurs after its ticket was closed.
    recur_after_close: String,
}
