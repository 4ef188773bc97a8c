//! Alerts → tickets (seed 004's step 4), exactly once.
//!
//! An alert is stored (committed) before it is acknowledged, then a worker delivers it:
//! a ticket on the default board for a new alert key, a note on the open ticket for a
//! repeat, and what the alert type's policy says for a resolve or a recurrence after the
//! ticket was closed. ConnectWise has no idempotency keys, and a create whose answer was lost
//! may still have happened, so every ticket carries its key's marker in `externalXRef` and
//! every note its alert's marker in its text; the worker looks for them before writing, which
//! makes a retry after a lost answer, a crash or a `kill -9` find the earlier write instead of
//! repeating it. Transient failures retry with backoff; permanent ones are kept with the reason.

use std::time::Duration;

use connectwise_client::conditions::field;
use connectwise_client::models::{
    BoardReference, CompanyReference, PriorityReference, ServiceNote, ServiceStatusReference,
    ServiceTypeReference, Ticket,
};
use connectwise_client::{Client, ErrorKind, Patch};
use cwbridge_store::{
    AlertPolicyRecord, AlertRecord, AlertTicketRecord, TenantId, TicketSettingsRecord, now_ms,
};
use futures_util::TryStreamExt;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Engine;
use crate::error::{EngineError, Result};
use crate::forwarding::Route;
use crate::measure;

mod deliver;
mod settings;

pub(crate) use deliver::{AbortOnDrop, Failed};
pub use settings::DEFAULT_SIGNATURE;
pub(crate) use settings::{checked_policy, checked_ticket_settings};

/// ConnectWise's limit on a ticket summary.
const SUMMARY_MAX: usize = 100;

/// The type of the wizard's test alerts: forwarded whatever an account's alert types say,
/// so an admin can see a ticket arrive before any real alert fires.
pub const TEST_ALERT_TYPE: &str = "cwbridge-test";

/// An alert as the vendor posts it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertInput {
    /// The account it is about.
    #[schema(min_length = 1)]
    pub account: String,
    /// Its type, e.g. `dmarc-record-changed`.
    #[schema(min_length = 1)]
    #[serde(rename = "type")]
    pub alert_type: String,
    /// What makes repeats of it the same alert (default: account and type).
    #[serde(default)]
    pub key: Option<String>,
    /// A one-line summary (cut to ConnectWise's 100 characters on the ticket).
    #[schema(min_length = 1)]
    pub summary: String,
    /// The alert's text, as the vendor's e-mail has it: the ticket's description.
    pub description: String,
    /// Whether this reports the alert resolved.
    #[serde(default)]
    pub resolved: bool,
}

/// An alert as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertView {
    /// Its id.
    pub id: i64,
    /// The account.
    pub account: String,
    /// The type.
    #[serde(rename = "type")]
    pub alert_type: String,
    /// The key.
    pub key: String,
    /// The summary.
    pub summary: String,
    /// Whether it reports a resolve.
    pub resolved: bool,
    /// `queued`, `delivered`, `skipped` or `failed`.
    pub state: String,
    /// The ticket it went to.
    pub ticket_id: Option<i64>,
    /// What delivery did: `ticket`, `note`, `reopen`, or why it was skipped.
    pub action: Option<String>,
    /// Attempts so far.
    pub attempts: i64,
    /// The last failure's reason.
    pub last_error: Option<String>,
    /// When it was received (Unix ms).
    pub created_at: i64,
    /// When its state last changed (Unix ms): for a delivered alert, when its ticket or note
    /// was made.
    pub updated_at: i64,
}

impl From<AlertRecord> for AlertView {
    fn from(a: AlertRecord) -> Self {
        AlertView {
            id: a.id,
            account: a.account,
            alert_type: a.alert_type,
            key: a.alert_key,
            summary: a.summary,
            resolved: a.resolved,
            state: a.state.to_string(),
            ticket_id: a.ticket_id,
            action: a.action,
            attempts: a.attempts,
            last_error: a.last_error,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// Step 4's ticket defaults, by name or id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketSettingsInput {
    /// The service board.
    #[schema(min_length = 1)]
    pub board: String,
    /// The status new tickets get (a status of that board).
    #[schema(min_length = 1)]
    pub status: String,
    /// The priority.
    #[schema(min_length = 1)]
    pub priority: String,
    /// The ticket type (a type of that board), optional.
    #[serde(default, rename = "type")]
    pub ticket_type: Option<String>,
    /// Who notes are written on behalf of (default `cwbridge`): ConnectWise shows the API
    /// member as their author, so the text says who really wrote them.
    #[serde(default)]
    pub signature: Option<String>,
}

/// What happens per alert type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertPolicyInput {
    /// Whether a resolved alert adds a note to its ticket (default: no; statuses stay
    /// independent, as in seed 004).
    #[serde(default)]
    pub note_on_resolve: bool,
    /// When an alert recurs after its ticket was closed: `new` ticket (default) or `reopen`.
    #[serde(default = "new_ticket")]
    pub recur_after_close: String,
}

fn new_ticket() -> String {
    "new".into()
}

fn hash12(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..6])
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

impl Engine {
    /// Queues a test alert for an account, as the wizard's "Send a test alert" does: a new
    /// ticket each time, on the account's company, with the ticket defaults.
    pub async fn send_test_alert(&self, tenant: TenantId, account: &str) -> Result<AlertView> {
        let now = now_ms();
        self.receive_alert(
            tenant,
            &AlertInput {
                account: account.to_owned(),
                alert_type: TEST_ALERT_TYPE.to_owned(),
                key: Some(format!("{TEST_ALERT_TYPE}/{account}/{now}")),
                summary: "Test alert from cwbridge".to_owned(),
                description: format!(
                    "This is a test alert sent from cwbridge's set-up page at {} (Unix ms {now}).\nReal alerts arrive on this board the same way, with the description of the alert e-mail.",
                    time::OffsetDateTime::now_utc().date()
                ),
                resolved: false,
            },
        )
        .await
    }

    /// Stores an alert durably and queues it; answers once it is committed.
    pub async fn receive_alert(&self, tenant: TenantId, input: &AlertInput) -> Result<AlertView> {
        Ok(self.receive_alert_once(tenant, input, None).await?.0)
    }

    /// [`Engine::receive_alert`], once per `idempotency_key`: a resend with a key the tenant
    /// used before stores nothing and answers the alert stored then (and `true`), across
    /// instances and restarts, for as long as the alert is kept. A key reused for a
    /// different alert is a conflict.
    pub async fn receive_alert_once(
        &self,
        tenant: TenantId,
        input: &AlertInput,
        idempotency_key: Option<&str>,
    ) -> Result<(AlertView, bool)> {
        for (field_name, value) in [
            ("account", &input.account),
            ("type", &input.alert_type),
            ("summary", &input.summary),
        ] {
            if value.trim().is_empty() {
                return Err(EngineError::invalid(
                    field_name,
                    format!("give the alert's {field_name}"),
                ));
            }
        }
        let limits = &self.config.limits;
        for (field_name, value, max) in [
            (
                "account",
                input.account.as_str(),
                limits.alert_account_chars,
            ),
            ("type", input.alert_type.as_str(), limits.alert_type_chars),
            (
                "key",
                input.key.as_deref().unwrap_or(""),
                limits.alert_key_chars,
            ),
            (
                "summary",
                input.summary.as_str(),
                limits.alert_summary_chars,
            ),
            (
                "description",
                input.description.as_str(),
                limits.alert_description_chars,
            ),
        ] {
            if value.chars().count() > max {
                return Err(EngineError::invalid(
                    field_name,
                    format!(
                        "the alert's {field_name} is longer than {max} characters, the most cwbridge takes"
                    ),
                ));
            }
        }
        if let Some(k) = idempotency_key
            && (k.is_empty() || k.len() > 255 || !k.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(EngineError::invalid(
                "Idempotency-Key",
                "an idempotency key is 1 to 255 visible ASCII characters, e.g. a UUID",
            ));
        }
        let key = input
            .key
            .clone()
            .filter(|k| !k.trim().is_empty())
            .unwrap_or_else(|| format!("{}:{}", input.account.trim(), input.alert_type.trim()));
        let record = AlertRecord::received(
            tenant,
            input.account.trim(),
            input.alert_type.trim(),
            key,
            input.summary.trim(),
            input.description.clone(),
            input.resolved,
        );
        self.check_queue_room(tenant).await?;
        match self
            .intake
            .store(
                &self.store,
                &self.alert_queued,
                &self.due_now,
                record.clone(),
                idempotency_key.map(str::to_owned),
            )
            .await?
        {
            cwbridge_store::Accepted::New(id) => {
                self.queue_counts.accepted(tenant);
                if self.store.dialect() == cwbridge_store::Dialect::Postgres {
                    // PostgreSQL's intake puts the alert in its lane itself: it may be due.
                    self.due_now.push(tenant);
                }
                self.alert_queued.notify_one();
                measure::count(measure::ALERTS_ACCEPTED, tenant, &[]);
                Ok((AlertView::from(AlertRecord { id, ..record }), false))
            }
            cwbridge_store::Accepted::Repeat(existing) => {
                let same = existing.account == record.account
                    && existing.alert_type == record.alert_type
                    && existing.alert_key == record.alert_key
                    && existing.summary == record.summary
                    && existing.description == record.description
                    && existing.resolved == record.resolved;
                if !same {
                    return Err(EngineError::Conflict(format!(
                        "Idempotency-Key was used for alert {} with other content: use a new key for a new alert",
                        existing.id
                    )));
                }
                Ok((AlertView::from(*existing), true))
            }
        }
    }

    /// Refuses an alert when the tenant's queue is full (429 with `Retry-After`). The count
    /// is read at most once a second per tenant (every ten seconds while it is below half
    /// the limit) and kept up to date with this instance's own accepts in between, so a busy
    /// tenant costs one count, bounded by the limit, a second at most.
    async fn check_queue_room(&self, tenant: TenantId) -> Result<()> {
        let max = self.config.limits.queued_alerts_per_tenant;
        let queued = match self.queue_counts.fresh(tenant, max) {
            Some(n) => n,
            None => {
                let n = self.store.queued_alerts_upto(tenant, max).await?;
                self.queue_counts.set(tenant, n);
                n
            }
        };
        if queued >= max {
            return Err(EngineError::TooMany {
                message: format!(
                    "{queued} alerts are already queued for this tenant, the most cwbridge holds; they are delivered as ConnectWise takes them"
                ),
                retry_after: 30,
            });
        }
        Ok(())
    }

    /// A tenant's latest alerts.
    pub async fn alerts(&self, tenant: TenantId) -> Result<Vec<AlertView>> {
        Ok(self
            .store
            .alerts(tenant, 200)
            .await?
            .into_iter()
            .map(AlertView::from)
            .collect())
    }

    /// A page of a tenant's alerts, newest first, with the filters of `q`; `q.limit` is
    /// kept between 1 and 1,000. The next page is asked for with `before` set to the last
    /// id of this one.
    pub async fn alerts_page(
        &self,
        tenant: TenantId,
        q: &cwbridge_store::AlertQuery,
    ) -> Result<Vec<AlertView>> {
        if let Some(state) = &q.state
            && !["queued", "delivered", "skipped", "failed"].contains(&state.as_str())
        {
            return Err(EngineError::invalid(
                "state",
                "a state is queued, delivered, skipped or failed",
            ));
        }
        let q = cwbridge_store::AlertQuery {
            limit: q.limit.clamp(1, 1000),
            ..q.clone()
        };
        Ok(self
            .store
            .alerts_matching(tenant, &q)
            .await?
            .into_iter()
            .map(AlertView::from)
            .collect())
    }

    /// One alert of a tenant.
    pub async fn alert(&self, tenant: TenantId, id: i64) -> Result<AlertView> {
        self.store
            .alert(tenant, id)
            .await?
            .map(AlertView::from)
            .ok_or_else(|| EngineError::NotFound(format!("no alert {id}")))
    }

    /// Queues a failed alert again.
    pub async fn retry_alert(&self, tenant: TenantId, id: i64) -> Result<AlertView> {
        if !self.store.requeue_alert(tenant, id).await? {
            return Err(EngineError::Conflict(format!(
                "alert {id} has not failed, or does not exist"
            )));
        }
        self.alert_queued.notify_one();
        self.alert(tenant, id).await
    }
}

/// Each tenant's queued alerts as last counted, with when; accepts on this instance are
/// added as they happen.
#[derive(Debug, Default)]
pub(crate) struct QueueCounts(
    std::sync::Mutex<std::collections::HashMap<TenantId, (std::time::Instant, i64)>>,
);

impl QueueCounts {
    /// How long a count near the limit (half of it or more) is trusted.
    const FRESH: Duration = Duration::from_secs(1);

    /// How long a count well below the limit is trusted: counting is bounded by the limit,
    /// and a long queue far from it need not be counted every second.
    const FRESH_WHEN_LOW: Duration = Duration::from_secs(10);

    /// The count when it is fresh. When it is stale, the first caller is told to count
    /// again (`None`) and, meanwhile, the others keep the old count: at most one count a
    /// second per tenant however many alerts arrive at once.
    fn fresh(&self, tenant: TenantId, limit: i64) -> Option<i64> {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (at, n) = map.get_mut(&tenant)?;
        let trusted = if *n < limit / 2 {
            Self::FRESH_WHEN_LOW
        } else {
            Self::FRESH
        };
        if at.elapsed() < trusted {
            return Some(*n);
        }
        *at = std::time::Instant::now();
        None
    }

    fn set(&self, tenant: TenantId, n: i64) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Tenants not heard from lately are forgotten, so the map stays small.
        if map.len() > 10_000 {
            map.retain(|_, (at, _)| at.elapsed() < Self::FRESH_WHEN_LOW);
        }
        map.insert(tenant, (std::time::Instant::now(), n));
    }

    fn accepted(&self, tenant: TenantId) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, n)) = map.get_mut(&tenant) {
            *n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::deliver::backoff;
    use super::*;

    #[test]
    fn summaries_fit_connectwise_and_backoff_grows_to_a_cap() {
        assert_eq!(cut(&"x".repeat(150), SUMMARY_MAX).chars().count(), 100);
        assert_eq!(cut("short", SUMMARY_MAX), "short");
        assert!(backoff(1) <= Duration::from_secs(2));
        assert!(backoff(30) <= Duration::from_secs(600));
        assert!(backoff(30) >= Duration::from_secs(300));
    }
}
