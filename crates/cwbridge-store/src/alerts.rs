//! Ticket defaults, alert routes and policies, the alert outbox and the key → ticket links.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{
    AlertPolicyRecord, AlertRecord, AlertTicketRecord, Dialect, Result, Store, TenantId,
    TicketSettingsRecord, now_ms,
};

const ALERT_COLUMNS: &str = "id, tenant_id, external_id, alert_type, alert_key, summary, description, resolved, state, ticket_id, action, attempts, last_error, created_at";

impl Store {
    /// Saves a tenant's ticket defaults.
    pub async fn put_ticket_settings(
        &self,
        tenant: TenantId,
        s: &TicketSettingsRecord,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO ticket_settings (tenant_id, board_id, board_name, status_id, status_name, priority_id, priority_name, type_id, type_name, signature, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (tenant_id) DO UPDATE SET board_id = excluded.board_id, board_name = excluded.board_name, \
             status_id = excluded.status_id, status_name = excluded.status_name, priority_id = excluded.priority_id, \
             priority_name = excluded.priority_name, type_id = excluded.type_id, type_name = excluded.type_name, \
             signature = excluded.signature, updated_at = excluded.updated_at",
        )
        .bind(tenant.0)
        .bind(s.board_id)
        .bind(&s.board_name)
        .bind(s.status_id)
        .bind(&s.status_name)
        .bind(s.priority_id)
        .bind(&s.priority_name)
        .bind(s.type_id)
        .bind(&s.type_name)
        .bind(&s.signature)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A tenant's ticket defaults.
    pub async fn ticket_settings(&self, tenant: TenantId) -> Result<Option<TicketSettingsRecord>> {
        let row = sqlx::query(
            "SELECT board_id, board_name, status_id, status_name, priority_id, priority_name, type_id, type_name, signature FROM ticket_settings WHERE tenant_id = $1",
        )
        .bind(tenant.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(TicketSettingsRecord {
                board_id: r.try_get("board_id")?,
                board_name: r.try_get("board_name")?,
                status_id: r.try_get("status_id")?,
                status_name: r.try_get("status_name")?,
                priority_id: r.try_get("priority_id")?,
                priority_name: r.try_get("priority_name")?,
                type_id: r.try_get("type_id")?,
                type_name: r.try_get("type_name")?,
                signature: r.try_get("signature")?,
            })
        })
        .transpose()
    }

    /// Sets which alert types an account forwards (`*` for all).
    pub async fn put_alert_route(
        &self,
        tenant: TenantId,
        account: &str,
        types: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO alert_routes (tenant_id, external_id, alert_types) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, external_id) DO UPDATE SET alert_types = excluded.alert_types",
        )
        .bind(tenant.0)
        .bind(account)
        .bind(types)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Which alert types an account forwards, if it was set.
    pub async fn alert_route(&self, tenant: TenantId, account: &str) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT alert_types FROM alert_routes WHERE tenant_id = $1 AND external_id = $2",
        )
        .bind(tenant.0)
        .bind(account)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("alert_types")).transpose()?)
    }

    /// Sets the policy of an alert type.
    pub async fn put_alert_policy(&self, tenant: TenantId, p: &AlertPolicyRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO alert_policies (tenant_id, alert_type, note_on_resolve, recur_after_close) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, alert_type) DO UPDATE SET note_on_resolve = excluded.note_on_resolve, recur_after_close = excluded.recur_after_close",
        )
        .bind(tenant.0)
        .bind(&p.alert_type)
        .bind(i64::from(p.note_on_resolve))
        .bind(&p.recur_after_close)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The policy of an alert type, if set.
    pub async fn alert_policy(
        &self,
        tenant: TenantId,
        alert_type: &str,
    ) -> Result<Option<AlertPolicyRecord>> {
        let row = sqlx::query(
            "SELECT alert_type, note_on_resolve, recur_after_close FROM alert_policies WHERE tenant_id = $1 AND alert_type = $2",
        )
        .bind(tenant.0)
        .bind(alert_type)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(AlertPolicyRecord {
                alert_type: r.try_get("alert_type")?,
                note_on_resolve: r.try_get::<i64, _>("note_on_resolve")? != 0,
                recur_after_close: r.try_get("recur_after_close")?,
            })
        })
        .transpose()
    }

    /// Stores a received alert, queued for delivery; committed before this returns.
    pub async fn insert_alert(&self, a: &AlertRecord) -> Result<i64> {
        let now = now_ms();
        let row = sqlx::query(
            "INSERT INTO alerts (tenant_id, external_id, alert_type, alert_key, summary, description, resolved, state, attempts, next_attempt_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', 0, $8, $8, $8) RETURNING id",
        )
        .bind(a.tenant.0)
        .bind(&a.account)
        .bind(&a.alert_type)
        .bind(&a.alert_key)
        .bind(&a.summary)
        .bind(&a.description)
        .bind(i64::from(a.resolved))
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("id")?)
    }

    /// Claims the oldest due alert for `lease_ms` (no other worker, here or on another
    /// instance, takes it meanwhile). Alerts of one key are delivered in order: an alert
    /// whose key has an older undelivered alert waits.
    pub async fn claim_alert(&self, lease_ms: i64, claim: &str) -> Result<Option<AlertRecord>> {
        let now = now_ms();
        let lock = match self.dialect {
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let sql = format!(
            "UPDATE alerts SET claimed_until = $1, claimed_by = $3, attempts = attempts + 1, updated_at = $2 WHERE id = ( \
               SELECT a.id FROM alerts a WHERE a.state = 'queued' AND a.next_attempt_at <= $2 \
               AND (a.claimed_until IS NULL OR a.claimed_until < $2) \
               AND NOT EXISTS (SELECT 1 FROM alerts b WHERE b.tenant_id = a.tenant_id AND b.alert_key = a.alert_key AND b.state = 'queued' AND b.id < a.id) \
               AND NOT EXISTS (SELECT 1 FROM alerts c WHERE c.tenant_id = a.tenant_id AND c.alert_key = a.alert_key AND c.state = 'queued' AND c.id <> a.id AND c.claimed_until >= $2) \
               ORDER BY a.id LIMIT 1 {lock}) \
             AND state = 'queued' RETURNING {ALERT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(now + lease_ms)
            .bind(now)
            .bind(claim)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(alert_from).transpose()
    }

    /// Extends a claim while its delivery is going; answers whether the claim still holds.
    pub async fn extend_claim(&self, id: i64, claim: &str, lease_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE alerts SET claimed_until = $1 WHERE id = $2 AND claimed_by = $3 AND state = 'queued'",
        )
        .bind(now_ms() + lease_ms)
        .bind(id)
        .bind(claim)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends an alert's delivery: `delivered`, `skipped` or `failed` — if `claim` still holds
    /// it (answers whether it did).
    pub async fn finish_alert(
        &self,
        id: i64,
        claim: &str,
        state: &str,
        ticket_id: Option<i64>,
        action: Option<&str>,
        error: Option<&str>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE alerts SET state = $1, ticket_id = $2, action = $3, last_error = $4, claimed_until = NULL, updated_at = $5 WHERE id = $6 AND claimed_by = $7",
        )
        .bind(state)
        .bind(ticket_id)
        .bind(action)
        .bind(error)
        .bind(now_ms())
        .bind(id)
        .bind(claim)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Puts an alert back in the queue to try again at `at` (Unix ms).
    pub async fn retry_alert(&self, id: i64, claim: &str, at: i64, error: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE alerts SET next_attempt_at = $1, last_error = $2, claimed_until = NULL, updated_at = $3 WHERE id = $4 AND claimed_by = $5",
        )
        .bind(at)
        .bind(error)
        .bind(now_ms())
        .bind(id)
        .bind(claim)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Queues a failed alert again (the retry button).
    pub async fn requeue_alert(&self, tenant: TenantId, id: i64) -> Result<bool> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE alerts SET state = 'queued', next_attempt_at = $1, claimed_until = NULL, updated_at = $1 WHERE id = $2 AND tenant_id = $3 AND state = 'failed'",
        )
        .bind(now)
        .bind(id)
        .bind(tenant.0)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A tenant's alert.
    pub async fn alert(&self, tenant: TenantId, id: i64) -> Result<Option<AlertRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(alert_from).transpose()
    }

    /// A tenant's latest alerts, newest first.
    pub async fn alerts(&self, tenant: TenantId, limit: i64) -> Result<Vec<AlertRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(tenant.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(alert_from).collect()
    }

    /// How many alerts are still queued (all tenants).
    pub async fn queued_alerts(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM alerts WHERE state = 'queued'")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// The ticket an alert key has, if any.
    pub async fn alert_ticket(
        &self,
        tenant: TenantId,
        key: &str,
    ) -> Result<Option<AlertTicketRecord>> {
        let row = sqlx::query("SELECT generation, ticket_id, created_by FROM alert_tickets WHERE tenant_id = $1 AND alert_key = $2")
            .bind(tenant.0)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(AlertTicketRecord {
                generation: r.try_get("generation")?,
                ticket_id: r.try_get("ticket_id")?,
                created_by: r.try_get("created_by")?,
            })
        })
        .transpose()
    }

    /// Records the ticket an alert key has (and its generation).
    pub async fn put_alert_ticket(
        &self,
        tenant: TenantId,
        key: &str,
        t: AlertTicketRecord,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO alert_tickets (tenant_id, alert_key, generation, ticket_id, created_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (tenant_id, alert_key) DO UPDATE SET generation = excluded.generation, ticket_id = excluded.ticket_id, created_by = excluded.created_by, updated_at = excluded.updated_at",
        )
        .bind(tenant.0)
        .bind(key)
        .bind(t.generation)
        .bind(t.ticket_id)
        .bind(t.created_by)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

fn alert_from(r: &AnyRow) -> Result<AlertRecord> {
    Ok(AlertRecord {
        id: r.try_get("id")?,
        tenant: TenantId(r.try_get("tenant_id")?),
        account: r.try_get("external_id")?,
        alert_type: r.try_get("alert_type")?,
        alert_key: r.try_get("alert_key")?,
        summary: r.try_get("summary")?,
        description: r.try_get("description")?,
        resolved: r.try_get::<i64, _>("resolved")? != 0,
        state: r.try_get("state")?,
        ticket_id: r.try_get("ticket_id")?,
        action: r.try_get("action")?,
        attempts: r.try_get("attempts")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
    })
}
