//! The vendor's webhooks, sent until taken: each signed as Stripe and GitHub sign theirs —
//! `Cwbridge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` — with
//! its change's id in `Cwbridge-Event-Id` (the same on every attempt, so a receiver that
//! saw it already can tell), through the operator's outbound fence, no redirect followed.
//! A webhook not taken is tried again with backoff, up to [`MAX_ATTEMPTS`], then kept
//! `failed` in the delivery log. Several instances share the queue through claims.

use std::time::Duration;

use connectwise_client::Fence;
use cwbridge_store::{TenantId, WebhookOutcome, WebhookRecord, now_ms};
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use rand::Rng;
use serde::Serialize;
use sha2::Sha256;

use crate::{Engine, Result};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Cwbridge-Signature";
/// The header carrying the change's id.
pub const EVENT_ID_HEADER: &str = "Cwbridge-Event-Id";
/// The header carrying the change's type.
pub const EVENT_HEADER: &str = "Cwbridge-Event";

/// Attempts before a webhook is kept `failed` (backoff doubling from 5 s to an hour: about
/// nine hours in all).
pub const MAX_ATTEMPTS: i64 = 15;
/// Webhooks sent at once by one instance.
const SENT_AT_ONCE: usize = 16;
/// How long an instance holds a webhook it is sending.
const LEASE_MS: i64 = 60_000;
/// One attempt's deadline.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Characters of a URL.
const URL_CHARS: usize = 2000;

/// The signature header's value for `body` sent at `at` (Unix seconds).
pub fn signature(secret: &str, at: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(at.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={at},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// A webhook URL the fence lets through, or why not.
pub fn checked_url(fence: &Fence, url: &str) -> std::result::Result<url::Url, String> {
    let url = url.trim();
    if url.chars().count() > URL_CHARS {
        return Err(format!("use at most {URL_CHARS} characters"));
    }
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
        return Err("write an https:// URL".into());
    }
    fence.check_url(&parsed).map_err(|r| r.to_string())?;
    Ok(parsed)
}

/// The wait before attempt `attempts + 1`: 5 s doubling to an hour, jittered.
fn backoff(attempts: i64) -> i64 {
    let base = 5_000i64.saturating_mul(1 << attempts.clamp(1, 20).saturating_sub(1));
    let base = base.min(3_600_000);
    base / 2 + rand::thread_rng().gen_range(0..=base / 2)
}

/// A webhook in the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    /// Its id in the log.
    pub id: i64,
    /// The change's id (`Cwbridge-Event-Id`).
    pub event_id: String,
    /// `ticket.closed`, `ticket.reopened` or `ticket.note_added`.
    pub kind: String,
    /// `queued`, `delivered` or `failed`.
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// When it was queued (Unix ms).
    pub created_at: i64,
    /// When the vendor took it (Unix ms).
    pub delivered_at: Option<i64>,
    /// When it is tried next, while queued (Unix ms).
    pub next_attempt_at: Option<i64>,
    /// The vendor's last status code.
    pub last_status: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// What was sent.
    pub body: serde_json::Value,
}

impl From<WebhookRecord> for WebhookView {
    fn from(w: WebhookRecord) -> Self {
        WebhookView {
            id: w.id,
            body: serde_json::from_str(&w.body).unwrap_or_default(),
            next_attempt_at: (w.state == "queued").then_some(w.next_attempt_at),
            event_id: w.event_id,
            kind: w.kind,
            state: w.state,
            attempts: w.attempts,
            created_at: w.created_at,
            delivered_at: w.delivered_at,
            last_status: w.last_status,
            last_error: w.last_error,
        }
    }
}

impl Engine {
    /// A tenant's webhooks older than `before` (the newest when `None`), newest first, at
    /// most `limit` (1 to 500).
    pub async fn webhooks(
        &self,
        tenant: TenantId,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<WebhookView>> {
        let rows = self
            .store
            .webhooks(tenant, before, limit.clamp(1, 500))
            .await?;
        Ok(rows.into_iter().map(WebhookView::from).collect())
    }

    /// The HTTP client webhooks go out through: the operator's fence decides every address
    /// it connects to; no redirect is followed; each attempt has a deadline.
    fn webhook_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .dns_resolver(self.config.fence.resolver())
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(ATTEMPT_TIMEOUT)
            .user_agent(concat!("cwbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default()
    }

    /// Sends the webhooks due now through `http` (up to [`SENT_AT_ONCE`] at a time, until
    /// none is due); answers how many attempts were made.
    async fn send_due(&self, http: &reqwest::Client) -> Result<usize> {
        let claim = format!("{:032x}", rand::random::<u128>());
        let mut sent = 0;
        loop {
            let due = self
                .store
                .claim_webhooks(&claim, LEASE_MS, SENT_AT_ONCE as i64)
                .await?;
            if due.is_empty() {
                return Ok(sent);
            }
            sent += due.len();
            let outcomes: Vec<(i64, WebhookOutcome)> = futures_util::stream::iter(due)
                .map(|w| async move { (w.id, self.attempt_webhook(http, &w).await) })
                .buffer_unordered(SENT_AT_ONCE)
                .collect()
                .await;
            for (id, outcome) in outcomes {
                self.store.finish_webhook(id, &claim, &outcome).await?;
            }
        }
    }

    /// Sends due webhooks whenever some are queued (and every second, for those queued by
    /// other instances or waiting out a backoff) until `stop` resolves.
    pub async fn run_webhook_sender(&self, stop: impl std::future::Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop);
        // One client for the sender's life: its TLS roots and connections are kept.
        let http = self.webhook_client();
        loop {
            if let Err(e) = self.send_due(&http).await {
                tracing::warn!(error = %e, "sending webhooks failed; trying again shortly");
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = self.webhook_queued.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// One attempt at one webhook.
    async fn attempt_webhook(&self, http: &reqwest::Client, w: &WebhookRecord) -> WebhookOutcome {
        let retry_or_fail = |status: Option<i64>, error: String| {
            if w.attempts >= MAX_ATTEMPTS {
                WebhookOutcome::Failed { status, error }
            } else {
                WebhookOutcome::Retry {
                    status,
                    error,
                    at: now_ms() + backoff(w.attempts),
                }
            }
        };
        let tenant = TenantId(w.tenant_id);
        let target = match self.store.ticket_events(tenant).await {
            Ok(Some(r)) => self.webhook_of(&r),
            Ok(None) => Ok(self.config.webhook.clone()),
            Err(e) => return retry_or_fail(None, format!("storage: {e}")),
        };
        let target = match target {
            Ok(Some(t)) => t,
            Ok(None) => {
                return WebhookOutcome::Failed {
                    status: None,
                    error: "no webhook is set for this tenant".into(),
                };
            }
            Err(e) => return retry_or_fail(None, e.to_string()),
        };
        let url = match checked_url(&self.config.fence, &target.url) {
            Ok(url) => url,
            Err(why) => {
                return WebhookOutcome::Failed {
                    status: None,
                    error: format!("the webhook URL is refused: {why}"),
                };
            }
        };
        let at = now_ms() / 1000;
        let sent = http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(EVENT_ID_HEADER, &w.event_id)
            .header(EVENT_HEADER, &w.kind)
            .header(
                SIGNATURE_HEADER,
                signature(&target.secret, at, w.body.as_bytes()),
            )
            .body(w.body.clone())
            .send()
            .await;
        let outcome = match sent {
            Ok(r) if r.status().is_success() => {
                WebhookOutcome::Delivered(i64::from(r.status().as_u16()))
            }
            Ok(r) => retry_or_fail(
                Some(i64::from(r.status().as_u16())),
                format!("the vendor answered {}", r.status()),
            ),
            Err(e) => retry_or_fail(None, format!("no answer: {}", e.without_url())),
        };
        let label = match &outcome {
            WebhookOutcome::Delivered(_) => "delivered",
            WebhookOutcome::Retry { .. } => "retry",
            WebhookOutcome::Failed { .. } => "failed",
        };
        crate::measure::count(crate::measure::WEBHOOKS, tenant, &[("outcome", label)]);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_the_time_and_the_body() {
        let a = signature("s3cret-s3cret-s3cret", 1_700_000_000, b"{}");
        assert!(a.starts_with("t=1700000000,v1="), "{a}");
        assert_eq!(a.len(), "t=1700000000,v1=".len() + 64);
        for other in [
            signature("s3cret-s3cret-s3cret", 1_700_000_001, b"{}"),
            signature("s3cret-s3cret-s3cret", 1_700_000_000, b"{ }"),
            signature("another-secret-here", 1_700_000_000, b"{}"),
        ] {
            assert_ne!(a, other);
        }
    }

    #[test]
    fn webhook_urls_are_fenced_and_bounded() {
        let fence = Fence::public_only();
        assert!(checked_url(&fence, "https://hooks.example.com/cw").is_ok());
        for (url, why) in [
            ("https://127.0.0.1/x", "loopback"),
            ("https://169.254.169.254/latest", "link-local"),
            ("ftp://hooks.example.com/", "https"),
            ("not a url", "URL"),
        ] {
            let e = checked_url(&fence, url).unwrap_err();
            assert!(e.contains(why), "{url}: {e}");
        }
        let long = format!("https://hooks.example.com/{}", "a".repeat(2000));
        assert!(checked_url(&fence, &long).is_err());
    }

    #[test]
    fn backoff_doubles_to_an_hour() {
        for (attempts, low, high) in [
            (1, 2_500, 5_000),
            (2, 5_000, 10_000),
            (20, 1_800_000, 3_600_000),
        ] {
            let wait = backoff(attempts);
            assert!((low..=high).contains(&wait), "{attempts}: {wait}");
        }
    }
}
