//! ConnectWise's ticket changes sent back to the vendor: each tenant's choice, the tickets
//! the bridge made as last seen, and the webhooks waiting to be sent or already sent.

use sqlx::FromRow;
use sqlx::Row;

use crate::{Dialect, Result, Store, TenantId, now_ms};

/// A tenant's ticket events, as the operator set them.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct TicketEventsRecord {
    /// The tenant.
    pub tenant_id: i64,
    /// `callback` or `poll`.
    pub receive: String,
    /// The vendor's URL for this tenant (none: the service-wide one).
    pub webhook_url: Option<String>,
    /// Its secret, sealed (none: the service-wide one).
    pub webhook_secret: Option<String>,
    /// SHA-256 (hex) of the key in the callback URL.
    pub callback_key: Option<String>,
    /// The callback's id in ConnectWise.
    pub callback_id: Option<i64>,
    /// Polling: ConnectWise's `lastUpdated` read up to (Unix ms).
    pub polled_to: Option<i64>,
    /// When they were turned on (Unix ms).
    pub enabled_at: i64,
}

/// A ticket the bridge made, as last seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchedTicket {
    /// Whether it was closed.
    pub closed: bool,
    /// The newest note seen.
    pub last_note_id: i64,
    /// Bumped by every recorded change.
    pub version: i64,
}

/// A webhook to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// One per change: a second with the same id is not queued.
    pub event_id: String,
    /// `ticket.closed`, `ticket.reopened`, `ticket.note_added`.
    pub kind: String,
    /// The JSON sent.
    pub body: String,
}

/// A webhook, queued or sent.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct WebhookRecord {
    /// Its id.
    pub id: i64,
    /// The tenant.
    pub tenant_id: i64,
    /// The change's id (sent in the body and a header).
    pub event_id: String,
    /// Its kind.
    pub kind: String,
    /// The JSON sent.
    pub body: String,
    /// When it was queued (Unix ms).
    pub created_at: i64,
    /// `queued`, `delivered` or `failed`.
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// When it is next due (Unix ms).
    pub next_attempt_at: i64,
    /// The vendor's last status code.
    pub last_status: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the vendor took it (Unix ms).
    pub delivered_at: Option<i64>,
}

/// How a webhook's attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The vendor answered 2xx with this status.
    Delivered(i64),
    /// Not taken (a status, or none); try again at this time.
    Retry {
        /// The status, when the vendor answered.
        status: Option<i64>,
        /// Why.
        error: String,
        /// When (Unix ms).
        at: i64,
    },
    /// Not taken, and given up.
    Failed {
        /// The status, when the vendor answered.
        status: Option<i64>,
        /// Why.
        error: String,
    },
}

const WEBHOOK_COLUMNS: &str = "id, tenant_id, event_id, kind, body, created_at, state, attempts, next_attempt_at, last_status, last_error, delivered_at";

impl Store {
    /// Sets a tenant's ticket events (replacing what was set).
    pub async fn put_ticket_events(&self, r: &TicketEventsRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO ticket_events (tenant_id, receive, webhook_url, webhook_secret, callback_key, callback_id, polled_to, enabled_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id) DO UPDATE SET receive = $2, webhook_url = $3, \
             webhook_secret = $4, callback_key = $5, callback_id = $6, polled_to = $7, enabled_at = $8",
        )
        .bind(r.tenant_id)
        .bind(&r.receive)
        .bind(&r.webhook_url)
        .bind(&r.webhook_secret)
        .bind(&r.callback_key)
        .bind(r.callback_id)
        .bind(r.polled_to)
        .bind(r.enabled_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A tenant's ticket events, when turned on.
    pub async fn ticket_events(&self, tenant: TenantId) -> Result<Option<TicketEventsRecord>> {
        let sql = "SELECT * FROM ticket_events WHERE tenant_id = $1";
        Ok(sqlx::query_as(sql)
            .bind(tenant.0)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The ticket events whose callback URL carries the key with this SHA-256 (hex).
    pub async fn ticket_events_by_key(&self, key_hash: &str) -> Result<Option<TicketEventsRecord>> {
        let sql = "SELECT * FROM ticket_events WHERE callback_key = $1";
        Ok(sqlx::query_as(sql)
            .bind(key_hash)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Turns a tenant's ticket events off; answers whether they were on. Tickets already
    /// watched and webhooks already queued stay (turned on again, they go on).
    pub async fn delete_ticket_events(&self, tenant: TenantId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM ticket_events WHERE tenant_id = $1")
            .bind(tenant.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Every tenant that polls for ticket changes.
    pub async fn polling_tenants(&self) -> Result<Vec<TicketEventsRecord>> {
        let sql = "SELECT * FROM ticket_events WHERE receive = 'poll' ORDER BY tenant_id";
        Ok(sqlx::query_as(sql).fetch_all(&self.pool).await?)
    }

    /// Records how far polling has read.
    pub async fn set_polled_to(&self, tenant: TenantId, to: i64) -> Result<()> {
        sqlx::query("UPDATE ticket_events SET polled_to = $1 WHERE tenant_id = $2")
            .bind(to)
            .bind(tenant.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A ticket the bridge made, as last seen; `None` when not seen yet.
    pub async fn watched_ticket(
        &self,
        tenant: TenantId,
        ticket: i64,
    ) -> Result<Option<WatchedTicket>> {
        let row = sqlx::query(
            "SELECT closed, last_note_id, version FROM watched_tickets WHERE tenant_id = $1 AND ticket_id = $2",
        )
        .bind(tenant.0)
        .bind(ticket)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(WatchedTicket {
                closed: r.try_get::<i64, _>("closed")? != 0,
                last_note_id: r.try_get("last_note_id")?,
                version: r.try_get("version")?,
            })
        })
        .transpose()
    }

    /// Records what a ticket is now and queues the webhooks its change makes, in one
    /// transaction, if the ticket is still as `seen` (`None`: not seen before); answers
    /// false, writing nothing, when another writer recorded it first (read it again).
    pub async fn record_ticket(
        &self,
        tenant: TenantId,
        ticket: i64,
        seen: Option<WatchedTicket>,
        now: (bool, i64),
        webhooks: &[NewWebhook],
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let (closed, last_note_id) = (i64::from(now.0), now.1);
        let written = match seen {
            None => sqlx::query(
                "INSERT INTO watched_tickets (tenant_id, ticket_id, closed, last_note_id, version) VALUES ($1, $2, $3, $4, 1) \
                 ON CONFLICT (tenant_id, ticket_id) DO NOTHING",
            )
            .bind(tenant.0)
            .bind(ticket)
            .bind(closed)
            .bind(last_note_id)
            .execute(&mut *tx)
            .await?,
            Some(seen) => sqlx::query(
                "UPDATE watched_tickets SET closed = $1, last_note_id = $2, version = version + 1 \
                 WHERE tenant_id = $3 AND ticket_id = $4 AND version = $5",
            )
            .bind(closed)
            .bind(last_note_id)
            .bind(tenant.0)
            .bind(ticket)
            .bind(seen.version)
            .execute(&mut *tx)
            .await?,
        };
        if written.rows_affected() != 1 {
            return Ok(false);
        }
        let at = now_ms();
        for w in webhooks {
            sqlx::query(
                "INSERT INTO webhooks (tenant_id, event_id, kind, body, created_at, state, attempts, next_attempt_at) \
                 VALUES ($1, $2, $3, $4, $5, 'queued', 0, $5) ON CONFLICT (tenant_id, event_id) DO NOTHING",
            )
            .bind(tenant.0)
            .bind(&w.event_id)
            .bind(&w.kind)
            .bind(&w.body)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Claims up to `limit` due webhooks for `lease_ms` (an attempt counted); a claim whose
    /// instance died comes due again when its lease ends.
    pub async fn claim_webhooks(
        &self,
        claim: &str,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<WebhookRecord>> {
        let now = now_ms();
        let lock = match self.dialect {
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let sql = format!(
            "UPDATE webhooks SET next_attempt_at = $1, claimed_by = $2, attempts = attempts + 1 WHERE id IN ( \
               SELECT id FROM webhooks WHERE state = 'queued' AND next_attempt_at <= $3 ORDER BY next_attempt_at, id LIMIT $4 {lock}) \
             AND state = 'queued' AND next_attempt_at <= $3 RETURNING {WEBHOOK_COLUMNS}"
        );
        Ok(sqlx::query_as(&sql)
            .bind(now + lease_ms)
            .bind(claim)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Records how a claimed webhook's attempt ended; answers whether the claim still held.
    pub async fn finish_webhook(
        &self,
        id: i64,
        claim: &str,
        outcome: &WebhookOutcome,
    ) -> Result<bool> {
        let (state, status, error, at, delivered) = match outcome {
            WebhookOutcome::Delivered(status) => {
                ("delivered", Some(*status), None, 0, Some(now_ms()))
            }
            WebhookOutcome::Retry { status, error, at } => {
                ("queued", *status, Some(error.as_str()), *at, None)
            }
            WebhookOutcome::Failed { status, error } => {
                ("failed", *status, Some(error.as_str()), 0, None)
            }
        };
        let done = sqlx::query(
            "UPDATE webhooks SET state = $1, last_status = $2, last_error = $3, next_attempt_at = $4, delivered_at = $5, claimed_by = NULL \
             WHERE id = $6 AND claimed_by = $7 AND state = 'queued'",
        )
        .bind(state)
        .bind(status)
        .bind(error)
        .bind(at)
        .bind(delivered)
        .bind(id)
        .bind(claim)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A tenant's webhooks older than `before` (the newest when `None`), newest first.
    pub async fn webhooks(
        &self,
        tenant: TenantId,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<WebhookRecord>> {
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE tenant_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
        );
        Ok(sqlx::query_as(&sql)
            .bind(tenant.0)
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }
}
