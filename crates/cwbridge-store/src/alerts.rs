//! Ticket defaults, alert routes and policies, the alert outbox and the key → ticket links.

use std::collections::{HashMap, HashSet};

use sqlx::FromRow;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{
    AlertPolicyRecord, AlertRecord, AlertState, AlertTicketRecord, Dialect, QueueGauges, Result,
    Statement, Store, TenantId, TicketSettingsRecord, now_ms,
};

/// Which of a tenant's alerts to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertQuery {
    /// Only alerts with ids below this (the cursor: the last id of the previous page).
    pub before: Option<i64>,
    /// Only this state.
    pub state: Option<String>,
    /// Only this alert type.
    pub alert_type: Option<String>,
    /// Only this account.
    pub account: Option<String>,
    /// Only alerts received at or after this (Unix ms).
    pub since: Option<i64>,
    /// Only alerts received before this (Unix ms).
    pub until: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// What storing an alert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Stored and queued, with this id.
    New(i64),
    /// Its idempotency key was seen before: this is the alert stored then.
    Repeat(Box<AlertRecord>),
}

/// Lanes upserted by one statement (3 parameters each).
const LANES_PER_STATEMENT: usize = 500;

/// Alerts inserted by one statement (11 parameters each).
const ALERTS_PER_STATEMENT: usize = 500;

/// Received alerts moved into their lanes by one transaction.
pub const PROMOTE_BATCH: usize = 4096;

/// The PostgreSQL advisory lock held by the one promoter at work.
const PROMOTER_LOCK: i64 = 0x6377_6272_0001;

/// `next_attempt_at` of an alert waiting behind an earlier one of its key.
const WAITING: i64 = i64::MAX;

const ALERT_COLUMNS: &str = "id, tenant_id, external_id, alert_type, alert_key, summary, description, resolved, state, ticket_id, action, attempts, last_error, created_at, updated_at";

/// The statement saving a tenant's ticket defaults.
pub(crate) fn ticket_settings_upsert(tenant: TenantId, s: &TicketSettingsRecord) -> Statement<'_> {
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
}

/// The statement setting which alert types an account forwards (`*` for all).
pub(crate) fn route_upsert<'q>(
    tenant: TenantId,
    account: &'q str,
    types: &'q str,
) -> Statement<'q> {
    sqlx::query(
        "INSERT INTO alert_routes (tenant_id, external_id, alert_types) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id, external_id) DO UPDATE SET alert_types = excluded.alert_types",
    )
    .bind(tenant.0)
    .bind(account)
    .bind(types)
}

/// The statement setting an alert type's policy.
pub(crate) fn policy_upsert(tenant: TenantId, p: &AlertPolicyRecord) -> Statement<'_> {
    sqlx::query(
        "INSERT INTO alert_policies (tenant_id, alert_type, note_on_resolve, recur_after_close) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id, alert_type) DO UPDATE SET note_on_resolve = excluded.note_on_resolve, recur_after_close = excluded.recur_after_close",
    )
    .bind(tenant.0)
    .bind(&p.alert_type)
    .bind(i64::from(p.note_on_resolve))
    .bind(&p.recur_after_close)
}

mod intake;
mod queue;

impl Store {
    /// Saves a tenant's ticket defaults.
    pub async fn put_ticket_settings(
        &self,
        tenant: TenantId,
        s: &TicketSettingsRecord,
    ) -> Result<()> {
        ticket_settings_upsert(tenant, s)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A tenant's ticket defaults.
    pub async fn ticket_settings(&self, tenant: TenantId) -> Result<Option<TicketSettingsRecord>> {
        Ok(sqlx::query_as::<_, TicketSettingsRecord>(
            "SELECT board_id, board_name, status_id, status_name, priority_id, priority_name, type_id, type_name, signature FROM ticket_settings WHERE tenant_id = $1",
        )
        .bind(tenant.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Sets which alert types an account forwards (`*` for all).
    pub async fn put_alert_route(
        &self,
        tenant: TenantId,
        account: &str,
        types: &str,
    ) -> Result<()> {
        route_upsert(tenant, account, types)
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

    /// Every account's alert route that was set: `(account, alert types)`.
    pub async fn alert_routes(&self, tenant: TenantId) -> Result<Vec<(String, String)>> {
        let rows =
            sqlx::query("SELECT external_id, alert_types FROM alert_routes WHERE tenant_id = $1")
                .bind(tenant.0)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("external_id")?, r.try_get("alert_types")?)))
            .collect()
    }

    /// Sets the same alert route for several accounts of a tenant, in one transaction (all or
    /// none); accounts the tenant does not have are skipped. Answers how many were set.
    pub async fn put_alert_routes(
        &self,
        tenant: TenantId,
        accounts: &[String],
        types: &str,
    ) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let mut set = 0;
        for account in accounts {
            set += sqlx::query(
                "INSERT INTO alert_routes (tenant_id, external_id, alert_types) \
                 SELECT tenant_id, external_id, $3 FROM accounts WHERE tenant_id = $1 AND external_id = $2 \
                 ON CONFLICT (tenant_id, external_id) DO UPDATE SET alert_types = excluded.alert_types",
            )
            .bind(tenant.0)
            .bind(account)
            .bind(types)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(set)
    }

    /// Sets the policy of an alert type.
    pub async fn put_alert_policy(&self, tenant: TenantId, p: &AlertPolicyRecord) -> Result<()> {
        policy_upsert(tenant, p).execute(&self.pool).await?;
        Ok(())
    }

    /// Every alert type's policy that was set, by type.
    pub async fn alert_policies(&self, tenant: TenantId) -> Result<Vec<AlertPolicyRecord>> {
        Ok(sqlx::query_as::<_, AlertPolicyRecord>(
            "SELECT alert_type, note_on_resolve, recur_after_close FROM alert_policies WHERE tenant_id = $1 ORDER BY alert_type",
        )
        .bind(tenant.0)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The policy of an alert type, if set.
    pub async fn alert_policy(
        &self,
        tenant: TenantId,
        alert_type: &str,
    ) -> Result<Option<AlertPolicyRecord>> {
        Ok(sqlx::query_as::<_, AlertPolicyRecord>(
            "SELECT alert_type, note_on_resolve, recur_after_close FROM alert_policies WHERE tenant_id = $1 AND alert_type = $2",
        )
        .bind(tenant.0)
        .bind(alert_type)
        .fetch_optional(&self.pool)
        .await?)
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

    /// A tenant's alerts, newest first, filtered: ids below `q.before` (the cursor), and
    /// the state, type, account and receipt time asked for; at most `q.limit`.
    pub async fn alerts_matching(
        &self,
        tenant: TenantId,
        q: &AlertQuery,
    ) -> Result<Vec<AlertRecord>> {
        // Integers are bound first, then texts: the placeholders are numbered to match, and
        // both halves of the query below share them.
        let mut n = 1;
        let mut next = |column: &str, op: &str| {
            n += 1;
            format!(" AND {column} {op} ${n}")
        };
        let mut filters = String::new();
        let mut ints: Vec<i64> = Vec::new();
        for (column, op, value) in [
            ("id", "<", q.before),
            ("created_at", ">=", q.since),
            ("created_at", "<", q.until),
        ] {
            if let Some(v) = value {
                filters.push_str(&next(column, op));
                ints.push(v);
            }
        }
        let mut texts: Vec<&str> = Vec::new();
        for (column, value) in [
            ("alert_type", q.alert_type.as_deref()),
            ("external_id", q.account.as_deref()),
        ] {
            if let Some(v) = value {
                filters.push_str(&next(column, "="));
                texts.push(v);
            }
        }
        // Received alerts (queued, not yet in their lanes) are read from their own index.
        let (state, received) = match q.state.as_deref() {
            None => (String::new(), true),
            Some("queued") => (" AND state = 'queued'".to_owned(), true),
            Some(other) => {
                texts.push(other);
                (next("state", "="), false)
            }
        };
        n += 1;
        let mut sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE tenant_id = $1 AND state <> 'received'{state}{filters}"
        );
        if received {
            sql.push_str(&format!(
                " UNION ALL SELECT {ALERT_COLUMNS} FROM alerts WHERE state = 'received' AND tenant_id = $1{filters}"
            ));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${n}"));
        let mut query = sqlx::query(&sql).bind(tenant.0);
        for v in ints {
            query = query.bind(v);
        }
        for v in texts {
            query = query.bind(v);
        }
        let rows = query.bind(q.limit).fetch_all(&self.pool).await?;
        rows.iter().map(alert_from).collect()
    }

    /// A tenant's latest alerts, newest first.
    pub async fn alerts(&self, tenant: TenantId, limit: i64) -> Result<Vec<AlertRecord>> {
        self.alerts_matching(
            tenant,
            &AlertQuery {
                limit,
                ..AlertQuery::default()
            },
        )
        .await
    }

    /// How many alerts are still queued (all tenants).
    pub async fn queued_alerts(&self) -> Result<i64> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM alerts WHERE state IN ('queued', 'received')")
                .fetch_one(&self.pool)
                .await?;
        Ok(row.try_get("n")?)
    }

    /// The queue in one read, every tenant's and every instance's: what the gauges show.
    pub async fn queue_gauges(&self) -> Result<QueueGauges> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS depth, \
               COALESCE(SUM(CASE WHEN state = 'queued' AND claimed_by IS NOT NULL THEN 1 ELSE 0 END), 0) AS in_flight, \
               MIN(CASE WHEN state = 'queued' AND next_attempt_at <= $1 THEN next_attempt_at END) AS oldest_due \
             FROM alerts WHERE state IN ('queued', 'received')",
        )
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await?;
        Ok(QueueGauges::from_row(&row)?)
    }

    /// How many alerts are received and not yet in their keys' lanes (all tenants): the
    /// promoter's backlog.
    pub async fn received_alerts(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM alerts WHERE state = 'received'")
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
        Ok(sqlx::query_as::<_, AlertTicketRecord>("SELECT generation, ticket_id, created_by FROM alert_tickets WHERE tenant_id = $1 AND alert_key = $2")
            .bind(tenant.0)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
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
    Ok(AlertRecord::from_row(r)?)
}
