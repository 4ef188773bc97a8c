//! Ticket defaults, alert routes and policies, the alert outbox and the key → ticket links.

use std::collections::{HashMap, HashSet};

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{
    AlertPolicyRecord, AlertRecord, AlertTicketRecord, Dialect, Result, Store, TenantId,
    TicketSettingsRecord, now_ms,
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

    /// Stores a received alert, queued for delivery; committed before this returns. It joins
    /// its key's lane: due at once when the lane was empty, waiting behind the lane's earlier
    /// alerts otherwise.
    pub async fn insert_alert(&self, a: &AlertRecord) -> Result<i64> {
        match self.insert_alert_once(a, None).await? {
            Accepted::New(id) => Ok(id),
            Accepted::Repeat(existing) => Ok(existing.id),
        }
    }

    /// [`Store::insert_alert`], once per `idempotency_key`: when the tenant already sent an
    /// alert with that key, nothing is stored and that alert is answered.
    pub async fn insert_alert_once(
        &self,
        a: &AlertRecord,
        idempotency_key: Option<&str>,
    ) -> Result<Accepted> {
        let accepted = self.receive_alert_once(a, idempotency_key).await?;
        self.promote_all_received().await?;
        Ok(accepted)
    }

    /// [`Store::insert_alert_once`] for several alerts: [`Store::receive_alerts`], then
    /// [`Store::promote_received`] until none is left.
    pub async fn insert_alerts(
        &self,
        alerts: &[(AlertRecord, Option<String>)],
    ) -> Result<Vec<Accepted>> {
        let accepted = self.receive_alerts(alerts).await?;
        self.promote_all_received().await?;
        Ok(accepted)
    }

    /// Stores accepted alerts in one transaction, synced to disk: one commit for all the
    /// alerts that arrived together, each answered as [`Store::insert_alert_once`] would.
    /// They read as queued at once. On SQLite they join their keys' lanes when
    /// [`Store::promote_received`] next runs (a sync to disk costs by the page, and a lane's
    /// pages are scattered over a long queue); on PostgreSQL, in this transaction. When the
    /// batch cannot be committed because of one alert (a key another instance stored
    /// meanwhile), each is stored on its own instead.
    pub async fn receive_alerts(
        &self,
        alerts: &[(AlertRecord, Option<String>)],
    ) -> Result<Vec<Accepted>> {
        match self.try_receive_alerts(alerts).await {
            Err(crate::StoreError::Database(sqlx::Error::Database(e)))
                if e.is_unique_violation() =>
            {
                let mut out = Vec::with_capacity(alerts.len());
                for (a, key) in alerts {
                    out.push(self.receive_alert_once(a, key.as_deref()).await?);
                }
                Ok(out)
            }
            other => other,
        }
    }

    /// [`Store::receive_alerts`] for one alert.
    async fn receive_alert_once(
        &self,
        a: &AlertRecord,
        idempotency_key: Option<&str>,
    ) -> Result<Accepted> {
        let answer = self
            .try_receive_alerts(&[(a.clone(), idempotency_key.map(str::to_owned))])
            .await;
        match answer {
            // Two sends of one key at once: the one that lost the race answers the winner.
            Err(crate::StoreError::Database(sqlx::Error::Database(e)))
                if e.is_unique_violation() && idempotency_key.is_some() =>
            {
                let existing = self
                    .alert_by_idempotency_key(a.tenant, idempotency_key.unwrap_or_default())
                    .await?
                    .ok_or_else(|| {
                        crate::StoreError::Corrupt("an idempotency key without its alert".into())
                    })?;
                Ok(Accepted::Repeat(Box::new(existing)))
            }
            Err(e) => Err(e),
            Ok(mut answers) => answers
                .pop()
                .ok_or_else(|| crate::StoreError::Corrupt("an alert went unanswered".into())),
        }
    }

    /// The batch in a few statements whatever its size: one look-up of the idempotency
    /// keys, the lanes (PostgreSQL), one insert of the alerts.
    async fn try_receive_alerts(
        &self,
        alerts: &[(AlertRecord, Option<String>)],
    ) -> Result<Vec<Accepted>> {
        let now = now_ms();
        // The write lock first: this transaction reads (idempotency keys) before it writes,
        // and a SQLite transaction that read first cannot write after another connection's
        // commit.
        let mut tx = match self.dialect {
            Dialect::Sqlite => self.intake.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.intake.begin().await?,
        };
        let mut out: Vec<Option<Accepted>> = vec![None; alerts.len()];

        // 1. Keys sent before, and keys repeated within the batch (answered as the first).
        let keyed: Vec<(usize, TenantId, &str)> = alerts
            .iter()
            .enumerate()
            .filter_map(|(i, (a, k))| k.as_deref().map(|k| (i, a.tenant, k)))
            .collect();
        let mut first_of: HashMap<(TenantId, &str), usize> = HashMap::new();
        let mut repeat_of: HashMap<usize, usize> = HashMap::new();
        for &(i, t, k) in &keyed {
            if let Some(&first) = first_of.get(&(t, k)) {
                repeat_of.insert(i, first);
            } else {
                first_of.insert((t, k), i);
            }
        }
        if !first_of.is_empty() {
            let sql = format!(
                "SELECT {ALERT_COLUMNS}, idempotency_key FROM alerts WHERE (tenant_id, idempotency_key) IN (VALUES {})",
                self.dialect.rows("(?, ?)", first_of.len(), 0)
            );
            let mut query = sqlx::query(&sql);
            for (t, k) in first_of.keys() {
                query = query.bind(t.0).bind(*k);
            }
            for row in query.fetch_all(&mut *tx).await? {
                let key: String = row.try_get("idempotency_key")?;
                let existing = alert_from(&row)?;
                if let Some(&i) = first_of.get(&(existing.tenant, key.as_str())) {
                    out[i] = Some(Accepted::Repeat(Box::new(existing)));
                }
            }
        }
        let new: Vec<usize> = (0..alerts.len())
            .filter(|i| out[*i].is_none() && !repeat_of.contains_key(i))
            .collect();

        // 2. PostgreSQL: the lanes now. SQLite: received, laned by the promoter.
        let staged = self.dialect == Dialect::Sqlite;
        let due = if staged {
            vec![false; new.len()]
        } else {
            let members: Vec<(TenantId, &str)> = new
                .iter()
                .map(|&i| (alerts[i].0.tenant, alerts[i].0.alert_key.as_str()))
                .collect();
            join_lanes(&mut tx, self.dialect, &members).await?
        };

        // 3. The alerts, many rows a statement; ids come in the order of the rows.
        let state = if staged { "received" } else { "queued" };
        for (chunk, due) in new
            .chunks(ALERTS_PER_STATEMENT)
            .zip(due.chunks(ALERTS_PER_STATEMENT))
        {
            let sql = format!(
                "INSERT INTO alerts (tenant_id, external_id, alert_type, alert_key, summary, description, resolved, state, attempts, next_attempt_at, created_at, updated_at, idempotency_key) VALUES {} RETURNING id",
                self.dialect
                    .rows("(?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)", chunk.len(), 0)
            );
            let mut query = sqlx::query(&sql);
            for (&i, &due) in chunk.iter().zip(due) {
                let (a, key) = &alerts[i];
                query = query
                    .bind(a.tenant.0)
                    .bind(&a.account)
                    .bind(&a.alert_type)
                    .bind(&a.alert_key)
                    .bind(&a.summary)
                    .bind(&a.description)
                    .bind(i64::from(a.resolved))
                    .bind(state)
                    .bind(if due { now } else { WAITING })
                    .bind(now)
                    .bind(now)
                    .bind(key.as_deref());
            }
            let mut ids: Vec<i64> = query
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get("id"))
                .collect::<std::result::Result<_, _>>()?;
            ids.sort_unstable();
            if ids.len() != chunk.len() {
                return Err(crate::StoreError::Corrupt(format!(
                    "{} alerts inserted, {} ids returned",
                    chunk.len(),
                    ids.len()
                )));
            }
            for (&i, id) in chunk.iter().zip(ids) {
                out[i] = Some(Accepted::New(id));
            }
        }
        tx.commit().await?;

        // Keys repeated within the batch answer what their first answered.
        for (&i, &first) in &repeat_of {
            out[i] = match &out[first] {
                Some(Accepted::New(id)) => Some(Accepted::Repeat(Box::new(AlertRecord {
                    id: *id,
                    created_at: now,
                    updated_at: now,
                    ..alerts[first].0.clone()
                }))),
                other => other.clone(),
            };
        }
        out.into_iter()
            .map(|a| {
                a.ok_or_else(|| {
                    crate::StoreError::Corrupt("an alert of the batch went unanswered".into())
                })
            })
            .collect()
    }

    /// Moves up to `limit` received alerts, oldest first, into their keys' lanes: queued,
    /// and due at once where the lane was empty. Answers how many it moved. One promoter
    /// works at a time across instances; many alerts in one transaction share the pages
    /// they touch, and the commit needs no sync of its own (the alerts are already on disk).
    pub async fn promote_received(&self, limit: usize) -> Result<usize> {
        let mut tx = match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(PROMOTER_LOCK)
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        };
        let rows = sqlx::query(
            "SELECT id, tenant_id, alert_key FROM alerts WHERE state = 'received' ORDER BY id LIMIT $1",
        )
        .bind(limit.min(i64::MAX as usize) as i64)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut received: Vec<(i64, TenantId, String)> = Vec::with_capacity(rows.len());
        for r in &rows {
            received.push((
                r.try_get("id")?,
                TenantId(r.try_get("tenant_id")?),
                r.try_get("alert_key")?,
            ));
        }
        let members: Vec<(TenantId, &str)> =
            received.iter().map(|(_, t, k)| (*t, k.as_str())).collect();
        let due = join_lanes(&mut tx, self.dialect, &members).await?;
        let now = now_ms();
        let (first, rest) = match self.dialect {
            Dialect::Sqlite => ("?", 0),
            Dialect::Postgres => ("$1", 1),
        };
        for (wanted, at) in [(true, now), (false, WAITING)] {
            let ids: Vec<i64> = received
                .iter()
                .zip(&due)
                .filter(|(_, due)| **due == wanted)
                .map(|((id, _, _), _)| *id)
                .collect();
            for chunk in ids.chunks(ALERTS_PER_STATEMENT) {
                let sql = format!(
                    "UPDATE alerts SET state = 'queued', next_attempt_at = {first} WHERE id IN ({}) AND state = 'received'",
                    self.dialect.rows("?", chunk.len(), rest)
                );
                let mut query = sqlx::query(&sql).bind(at);
                for id in chunk {
                    query = query.bind(*id);
                }
                query.execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(received.len())
    }

    /// [`Store::promote_received`] until no received alert is left.
    pub async fn promote_all_received(&self) -> Result<()> {
        while self.promote_received(PROMOTE_BATCH).await? == PROMOTE_BATCH {}
        Ok(())
    }

    /// The tenant's alert sent with this idempotency key.
    pub async fn alert_by_idempotency_key(
        &self,
        tenant: TenantId,
        key: &str,
    ) -> Result<Option<AlertRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE tenant_id = $1 AND idempotency_key = $2"
        ))
        .bind(tenant.0)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(alert_from).transpose()
    }

    /// How many alerts a tenant has queued, counting no further than `upto`: the cost is
    /// bounded by the limit it is checked against, not by the queue.
    pub async fn queued_alerts_upto(&self, tenant: TenantId, upto: i64) -> Result<i64> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM alerts WHERE tenant_id = $1 AND state = 'queued' LIMIT $2) q) \
                  + (SELECT COUNT(*) FROM (SELECT 1 FROM alerts WHERE state = 'received' AND tenant_id = $1 LIMIT $2) r) AS n",
        )
        .bind(tenant.0)
        .bind(upto)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>("n")?.min(upto))
    }

    /// Tenants with queued alerts, in id order after `after`, at most `limit`: one indexed
    /// step per tenant, however many alerts each has queued.
    pub async fn tenants_with_queued_alerts(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<TenantId>> {
        let rows = sqlx::query(
            "WITH RECURSIVE t(id) AS ( \
               SELECT (SELECT MIN(tenant_id) FROM alert_lanes WHERE tenant_id > $1) \
               UNION ALL \
               SELECT (SELECT MIN(l.tenant_id) FROM alert_lanes l WHERE l.tenant_id > t.id) FROM t WHERE t.id IS NOT NULL \
             ) SELECT id FROM t WHERE id IS NOT NULL LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(TenantId(r.try_get("id")?)))
            .collect()
    }

    /// Claims a tenant's next due alert for `lease_ms` (no other worker, here or on another
    /// instance, takes it meanwhile). Only the head of a key's lane is ever due, so alerts
    /// of one key are delivered one at a time, in order.
    pub async fn claim_alert(
        &self,
        tenant: TenantId,
        lease_ms: i64,
        claim: &str,
    ) -> Result<Option<AlertRecord>> {
        self.claim_alert_within(tenant, lease_ms, claim, i64::MAX)
            .await
    }

    /// [`Store::claim_alert`], unless the tenant already has `in_flight` alerts claimed and
    /// not yet finished by any instance: ConnectWise limits each API member, so the limit
    /// holds across instances (two instances claiming at the same moment may pass it by
    /// one each).
    pub async fn claim_alert_within(
        &self,
        tenant: TenantId,
        lease_ms: i64,
        claim: &str,
        in_flight: i64,
    ) -> Result<Option<AlertRecord>> {
        let now = now_ms();
        let lock = match self.dialect {
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let sql = format!(
            "UPDATE alerts SET next_attempt_at = $1, claimed_by = $3, attempts = attempts + 1, updated_at = $2 WHERE id = ( \
               SELECT a.id FROM alerts a WHERE a.tenant_id = $4 AND a.state = 'queued' AND a.next_attempt_at <= $2 \
               AND (SELECT COUNT(*) FROM alerts f WHERE f.tenant_id = $4 AND f.state = 'queued' AND f.claimed_by IS NOT NULL AND f.next_attempt_at > $2) < $5 \
               ORDER BY a.next_attempt_at, a.id LIMIT 1 {lock}) \
             AND state = 'queued' AND next_attempt_at <= $2 RETURNING {ALERT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(now + lease_ms)
            .bind(now)
            .bind(claim)
            .bind(tenant.0)
            .bind(in_flight)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(alert_from).transpose()
    }

    /// Extends a claim while its delivery is going; answers whether the claim still holds.
    pub async fn extend_claim(&self, id: i64, claim: &str, lease_ms: i64) -> Result<bool> {
        let until = now_ms() + lease_ms;
        let done = sqlx::query(
            "UPDATE alerts SET next_attempt_at = $1 WHERE id = $2 AND claimed_by = $3 AND state = 'queued'",
        )
        .bind(until)
        .bind(id)
        .bind(claim)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends an alert's delivery: `delivered`, `skipped` or `failed` — if `claim` still holds
    /// it (answers whether it did). The next alert of its key, if any, comes due.
    pub async fn finish_alert(
        &self,
        id: i64,
        claim: &str,
        state: &str,
        ticket_id: Option<i64>,
        action: Option<&str>,
        error: Option<&str>,
    ) -> Result<bool> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE alerts SET state = $1, ticket_id = $2, action = $3, last_error = $4, updated_at = $5 \
             WHERE id = $6 AND claimed_by = $7 AND state = 'queued' RETURNING tenant_id, alert_key",
        )
        .bind(state)
        .bind(ticket_id)
        .bind(action)
        .bind(error)
        .bind(now)
        .bind(id)
        .bind(claim)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let tenant = TenantId(row.try_get("tenant_id")?);
        let key: String = row.try_get("alert_key")?;
        leave_lane(&mut tx, tenant, &key, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Puts an alert back in the queue to try again at `at` (Unix ms); it stays its lane's
    /// head, so later alerts of its key keep waiting behind it.
    pub async fn retry_alert(&self, id: i64, claim: &str, at: i64, error: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE alerts SET next_attempt_at = $1, last_error = $2, claimed_by = NULL, updated_at = $3 WHERE id = $4 AND claimed_by = $5 AND state = 'queued'",
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

    /// Queues a failed alert again (the retry button): it rejoins its key's lane at the back.
    pub async fn requeue_alert(&self, tenant: TenantId, id: i64) -> Result<bool> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE alerts SET state = 'queued', next_attempt_at = $1, attempts = 0, claimed_by = NULL, updated_at = $2 \
             WHERE id = $3 AND tenant_id = $4 AND state = 'failed' RETURNING alert_key",
        )
        .bind(WAITING)
        .bind(now)
        .bind(id)
        .bind(tenant.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let key: String = row.try_get("alert_key")?;
        if join_lane(&mut tx, tenant, &key).await? == 1 {
            sqlx::query("UPDATE alerts SET next_attempt_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
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
        state: match r.try_get::<String, _>("state")? {
            // Stored, not yet in its lane: queued, as far as anyone outside the store knows.
            s if s == "received" => "queued".to_owned(),
            s => s,
        },
        ticket_id: r.try_get("ticket_id")?,
        action: r.try_get("action")?,
        attempts: r.try_get("attempts")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Adds alerts to their keys' lanes, each lane once by how many join it; answers, for each
/// member in order, whether it is due at once (its lane was empty and it is the lane's first
/// newcomer).
async fn join_lanes(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    dialect: Dialect,
    members: &[(TenantId, &str)],
) -> Result<Vec<bool>> {
    let mut joining: Vec<((TenantId, &str), i64)> = Vec::new();
    let mut position: HashMap<(TenantId, &str), usize> = HashMap::new();
    for &lane in members {
        match position.get(&lane) {
            Some(&at) => joining[at].1 += 1,
            None => {
                position.insert(lane, joining.len());
                joining.push((lane, 1));
            }
        }
    }
    let mut was_empty: HashMap<(TenantId, String), bool> = HashMap::new();
    for chunk in joining.chunks(LANES_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO alert_lanes (tenant_id, alert_key, queued) VALUES {} \
             ON CONFLICT (tenant_id, alert_key) DO UPDATE SET queued = alert_lanes.queued + excluded.queued \
             RETURNING tenant_id, alert_key, queued",
            dialect.rows("(?, ?, ?)", chunk.len(), 0)
        );
        let mut query = sqlx::query(&sql);
        for ((t, k), n) in chunk {
            query = query.bind(t.0).bind(*k).bind(*n);
        }
        for row in query.fetch_all(&mut **tx).await? {
            let tenant = TenantId(row.try_get("tenant_id")?);
            let key: String = row.try_get("alert_key")?;
            let queued: i64 = row.try_get("queued")?;
            let added = position
                .get(&(tenant, key.as_str()))
                .map_or(0, |&at| joining[at].1);
            was_empty.insert((tenant, key), queued == added);
        }
    }
    let mut head_taken: HashSet<(TenantId, &str)> = HashSet::new();
    Ok(members
        .iter()
        .map(|&(t, k)| {
            was_empty.get(&(t, k.to_owned())).copied().unwrap_or(false) && head_taken.insert((t, k))
        })
        .collect())
}

/// Adds one alert to its key's lane; answers how many the lane now holds.
async fn join_lane(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant: TenantId,
    key: &str,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO alert_lanes (tenant_id, alert_key, queued) VALUES ($1, $2, 1) \
         ON CONFLICT (tenant_id, alert_key) DO UPDATE SET queued = alert_lanes.queued + 1 RETURNING queued",
    )
    .bind(tenant.0)
    .bind(key)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("queued")?)
}

/// Takes one alert out of its key's lane and makes the next one due, or drops the lane.
async fn leave_lane(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant: TenantId,
    key: &str,
    now: i64,
) -> Result<()> {
    let left: Option<i64> = sqlx::query(
        "UPDATE alert_lanes SET queued = queued - 1 WHERE tenant_id = $1 AND alert_key = $2 RETURNING queued",
    )
    .bind(tenant.0)
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?
    .map(|r| r.try_get("queued"))
    .transpose()?;
    if left.is_none_or(|n| n <= 0) {
        sqlx::query("DELETE FROM alert_lanes WHERE tenant_id = $1 AND alert_key = $2")
            .bind(tenant.0)
            .bind(key)
            .execute(&mut **tx)
            .await?;
        return Ok(());
    }
    sqlx::query(
        "UPDATE alerts SET next_attempt_at = $1 WHERE id = ( \
           SELECT id FROM alerts WHERE tenant_id = $2 AND alert_key = $3 AND state = 'queued' ORDER BY id LIMIT 1) \
         AND next_attempt_at = $4",
    )
    .bind(now)
    .bind(tenant.0)
    .bind(key)
    .bind(WAITING)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
