//! Accepting alerts: inserted once per idempotency key, group-committed into a received
//! table, then promoted into their tenant's lane by one promoter at a time.

use super::queue::join_lanes;
use super::*;

impl Store {
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
        Ok(self.promote_received_to(limit).await?.0)
    }

    /// [`Store::promote_received`], answering also the tenants that have an alert due now
    /// (so a worker can go to them at once).
    pub async fn promote_received_to(&self, limit: usize) -> Result<(usize, Vec<TenantId>)> {
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
            return Ok((0, Vec::new()));
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
        let mut due_tenants: Vec<TenantId> = received
            .iter()
            .zip(&due)
            .filter(|(_, due)| **due)
            .map(|((_, tenant, _), _)| *tenant)
            .collect();
        due_tenants.sort_unstable();
        due_tenants.dedup();
        Ok((received.len(), due_tenants))
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
}
