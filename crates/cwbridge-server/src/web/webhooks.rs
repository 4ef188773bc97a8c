//! The webhooks page: ticket changes sent back to the vendor, how each delivery went, and
//! whether ticket events are on for this tenant and how they are received.

use askama::Template;
use axum::http::StatusCode;

use super::{Chrome, Page, Visit, frame, or_page, render, when};

/// Webhooks listed a page.
const PER_PAGE: i64 = 50;

/// A webhook as the page lists it.
#[derive(Debug, Clone)]
pub struct WebhookRow {
    /// When it was queued.
    pub queued: String,
    /// `ticket.closed`…
    pub kind: String,
    /// The ticket it is about.
    pub ticket: String,
    /// `queued`, `delivered` or `failed`.
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The vendor's last answer, or why it failed.
    pub last: String,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    chrome: Chrome,
    /// How ticket events are received, when on.
    receive: Option<String>,
    webhooks: Vec<WebhookRow>,
    /// The next (older) page.
    older: Option<String>,
}

/// `GET /webhooks`: the delivery log, newest first.
pub async fn webhooks_page(visit: Visit) -> Page {
    let (state, session, query) = visit.parts();
    let t = session.tenant.id;
    let chrome = frame(&state, &session, "Webhooks", "/webhooks", &query).await?;
    let receive = state
        .engine
        .ticket_events(t)
        .await
        .ok()
        .map(|v| v.receive.to_string());
    let before = query.before.parse::<i64>().ok();
    let listed = or_page(state.engine.webhooks(t, before, PER_PAGE).await)?;
    let older = (listed.len() == PER_PAGE as usize)
        .then(|| listed.last().map(|w| format!("/webhooks?before={}", w.id)))
        .flatten();
    let webhooks = listed
        .into_iter()
        .map(|w| WebhookRow {
            queued: when(w.created_at),
            ticket: w.body["ticket"]["id"].to_string(),
            last: match (w.last_status, w.last_error) {
                (_, Some(error)) => error,
                (Some(status), None) => format!("answered {status}"),
                (None, None) => String::new(),
            },
            kind: w.kind,
            state: w.state,
            attempts: w.attempts,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &WebhooksPage {
            chrome,
            receive,
            webhooks,
            older,
        },
    ))
}
