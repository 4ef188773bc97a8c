//! The delivery queue: per-tenant lanes taken in turn, claims under a lease, retries and
//! requeues, and the counts the queue limit and the pages read.

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use super::*;

impl Store {
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
        let sql = "UPDATE alerts SET next_attempt_at = $1 WHERE id = $2 AND claimed_by = $3 AND state = 'queued'";
        let query = sqlx::query(sql).bind(now_ms() + lease_ms);
        self.update_claimed(query.bind(id).bind(claim)).await
    }

    /// Runs an update of one alert that names its claim; answers whether the claim still
    /// held it.
    async fn update_claimed<'q>(&self, query: Query<'q, Any, AnyArguments<'q>>) -> Result<bool> {
        Ok(query.execute(&self.pool).await?.rows_affected() == 1)
    }

    /// Takes an alert back from its claim: due at `at`, with `error` as its last (when
    /// given), its attempt counted or (`refund`) not.
    async fn unclaim(
        &self,
        (id, claim): (i64, &str),
        at: i64,
        error: Option<&str>,
        refund: bool,
    ) -> Result<bool> {
        let sql = "UPDATE alerts SET next_attempt_at = $1, last_error = COALESCE($2, last_error), \
                   attempts = attempts - $3, claimed_by = NULL, updated_at = $4 \
                   WHERE id = $5 AND claimed_by = $6 AND state = 'queued'";
        let query = sqlx::query(sql).bind(at).bind(error);
        let query = query.bind(i64::from(refund)).bind(now_ms());
        self.update_claimed(query.bind(id).bind(claim)).await
    }

    /// Ends an alert's delivery: `delivered`, `skipped` or `failed` — if `claim` still holds
    /// it (answers whether it did). The next alert of its key, if any, comes due.
    pub async fn finish_alert(
        &self,
        id: i64,
        claim: &str,
        state: AlertState,
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
        .bind(state.as_str())
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

    /// Gives up a claim whose delivery was stopped (the instance is shutting down): the alert
    /// is due again at once for any instance, the attempt not counted. Answers whether the
    /// claim still held it.
    pub async fn release_claim(&self, id: i64, claim: &str) -> Result<bool> {
        self.unclaim((id, claim), now_ms(), None, true).await
    }

    /// Puts an alert back in the queue to try again at `at` (Unix ms); it stays its lane's
    /// head, so later alerts of its key keep waiting behind it.
    pub async fn retry_alert(&self, id: i64, claim: &str, at: i64, error: &str) -> Result<bool> {
        self.unclaim((id, claim), at, Some(error), false).await
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
}

/// Adds alerts to their keys' lanes, each lane once by how many join it; answers, for each
/// member in order, whether it is due at once (its lane was empty and it is the lane's first
/// newcomer).
pub(super) async fn join_lanes(
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
