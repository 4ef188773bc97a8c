//! Accounts and units, billing settings, mappings, the lines the bridge owns, and runs.

use sqlx::FromRow;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{
    AccountRecord, BillingSettingsRecord, ChangeRecord, LineRecord, MappingRecord, NewChange,
    Result, RunRecord, RunStatus, Store, TenantId, now_ms,
};

/// Units inserted by one statement.
const UNITS_PER_STATEMENT: usize = 500;

impl Store {
    /// Sets an account's name, its whole unit list and the alert types the vendor has
    /// configured for it, in one transaction.
    pub async fn put_account(
        &self,
        tenant: TenantId,
        external_id: &str,
        name: &str,
        units: &[String],
        alert_types: &[String],
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let types = serde_json::to_string(alert_types).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO accounts (tenant_id, external_id, name, updated_at, alert_types) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, external_id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at, \
             alert_types = excluded.alert_types",
        )
        .bind(tenant.0)
        .bind(external_id)
        .bind(name)
        .bind(now_ms())
        .bind(types)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM units WHERE tenant_id = $1 AND external_id = $2")
            .bind(tenant.0)
            .bind(external_id)
            .execute(&mut *tx)
            .await?;
        // Many rows a statement: an account's 10,000 units are 20 statements, so the write
        // lock is held for milliseconds, not seconds.
        for chunk in units.chunks(UNITS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO units (tenant_id, external_id, name) VALUES {}",
                self.dialect.rows("(?, ?, ?)", chunk.len(), 0)
            );
            let mut query = sqlx::query(&sql);
            for unit in chunk {
                query = query.bind(tenant.0).bind(external_id).bind(unit);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether the tenant has this account.
    pub async fn has_account(&self, tenant: TenantId, external_id: &str) -> Result<bool> {
        Ok(
            sqlx::query("SELECT 1 AS one FROM accounts WHERE tenant_id = $1 AND external_id = $2")
                .bind(tenant.0)
                .bind(external_id)
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }

    /// How many accounts the tenant has, counting no further than `upto`.
    pub async fn accounts_upto(&self, tenant: TenantId, upto: i64) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM accounts WHERE tenant_id = $1 LIMIT $2) q",
        )
        .bind(tenant.0)
        .bind(upto)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Removes an account (its units and mapping go with it); answers whether it existed.
    pub async fn delete_account(&self, tenant: TenantId, external_id: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        for table in ["units", "mappings"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE tenant_id = $1 AND external_id = $2"
            ))
            .bind(tenant.0)
            .bind(external_id)
            .execute(&mut *tx)
            .await?;
        }
        let done = sqlx::query("DELETE FROM accounts WHERE tenant_id = $1 AND external_id = $2")
            .bind(tenant.0)
            .bind(external_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every account of a tenant with its units, by external id.
    pub async fn accounts(&self, tenant: TenantId) -> Result<Vec<AccountRecord>> {
        let rows = sqlx::query(
            "SELECT a.external_id, a.name, a.alert_types, u.name AS unit FROM accounts a \
             LEFT JOIN units u ON u.tenant_id = a.tenant_id AND u.external_id = a.external_id \
             WHERE a.tenant_id = $1 ORDER BY a.external_id, u.name",
        )
        .bind(tenant.0)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<AccountRecord> = Vec::new();
        for r in rows {
            let id: String = r.try_get("external_id")?;
            let unit: Option<String> = r.try_get("unit")?;
            if out.last().is_none_or(|a| a.external_id != id) {
                out.push(AccountRecord {
                    external_id: id,
                    name: r.try_get("name")?,
                    units: Vec::new(),
                    alert_types: r
                        .try_get::<Option<String>, _>("alert_types")?
                        .and_then(|t| serde_json::from_str(&t).ok())
                        .unwrap_or_default(),
                });
            }
            if let (Some(unit), Some(last)) = (unit, out.last_mut()) {
                last.units.push(unit);
            }
        }
        Ok(out)
    }

    /// Saves a tenant's billing settings.
    pub async fn put_billing_settings(
        &self,
        tenant: TenantId,
        s: &BillingSettingsRecord,
    ) -> Result<()> {
        billing_settings_upsert(tenant, s)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A tenant's billing settings.
    pub async fn billing_settings(
        &self,
        tenant: TenantId,
    ) -> Result<Option<BillingSettingsRecord>> {
        Ok(sqlx::query_as::<_, BillingSettingsRecord>(
            "SELECT product_id, product_identifier, product_description, unit_price, agreement_type_id, agreement_type_name, mode, drift_policy, schedule_hours \
             FROM billing_settings WHERE tenant_id = $1",
        )
        .bind(tenant.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Maps an account to a company (replacing an earlier mapping).
    pub async fn put_mapping(&self, tenant: TenantId, m: &MappingRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO mappings (tenant_id, external_id, company_id, company_name, agreement_id, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (tenant_id, external_id) DO UPDATE SET company_id = excluded.company_id, \
             company_name = excluded.company_name, agreement_id = excluded.agreement_id, updated_at = excluded.updated_at",
        )
        .bind(tenant.0)
        .bind(&m.external_id)
        .bind(m.company_id)
        .bind(&m.company_name)
        .bind(m.agreement_id)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Unmaps an account.
    pub async fn delete_mapping(&self, tenant: TenantId, external_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM mappings WHERE tenant_id = $1 AND external_id = $2")
            .bind(tenant.0)
            .bind(external_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// One account's mapping.
    pub async fn mapping(
        &self,
        tenant: TenantId,
        external_id: &str,
    ) -> Result<Option<MappingRecord>> {
        Ok(sqlx::query_as::<_, MappingRecord>(
            "SELECT external_id, company_id, company_name, agreement_id FROM mappings WHERE tenant_id = $1 AND external_id = $2",
        )
        .bind(tenant.0)
        .bind(external_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Whether any account of a tenant is mapped (mappings go with their accounts).
    pub async fn has_mapping(&self, tenant: TenantId) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM mappings WHERE tenant_id = $1 LIMIT 1")
            .bind(tenant.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Every mapping of a tenant.
    pub async fn mappings(&self, tenant: TenantId) -> Result<Vec<MappingRecord>> {
        let rows = sqlx::query(
            "SELECT external_id, company_id, company_name, agreement_id FROM mappings WHERE tenant_id = $1 ORDER BY external_id",
        )
        .bind(tenant.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(MappingRecord::from_row(r)?))
            .collect()
    }

    /// The lines the bridge owns, by key.
    pub async fn lines(&self, tenant: TenantId) -> Result<Vec<LineRecord>> {
        let rows = sqlx::query(
            "SELECT line_key, addition_id, agreement_id, company_id, quantity, description, bill_customer, cancelled, pinned \
             FROM billing_lines WHERE tenant_id = $1 ORDER BY line_key",
        )
        .bind(tenant.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(line_from).collect()
    }

    /// One line the bridge owns, by key.
    pub async fn line(&self, tenant: TenantId, key: &str) -> Result<Option<LineRecord>> {
        let row = sqlx::query(
            "SELECT line_key, addition_id, agreement_id, company_id, quantity, description, bill_customer, cancelled, pinned \
             FROM billing_lines WHERE tenant_id = $1 AND line_key = $2",
        )
        .bind(tenant.0)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(line_from).transpose()
    }

    /// Records a line the bridge owns (as it now is in ConnectWise).
    pub async fn put_line(&self, tenant: TenantId, l: &LineRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO billing_lines (tenant_id, line_key, addition_id, agreement_id, company_id, quantity, description, bill_customer, cancelled, pinned, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (tenant_id, line_key) DO UPDATE SET addition_id = excluded.addition_id, agreement_id = excluded.agreement_id, \
             company_id = excluded.company_id, quantity = excluded.quantity, description = excluded.description, \
             bill_customer = excluded.bill_customer, cancelled = excluded.cancelled, pinned = excluded.pinned, updated_at = excluded.updated_at",
        )
        .bind(tenant.0)
        .bind(&l.line_key)
        .bind(l.addition_id)
        .bind(l.agreement_id)
        .bind(l.company_id)
        .bind(l.quantity)
        .bind(&l.description)
        .bind(&l.bill_customer)
        .bind(i64::from(l.cancelled))
        .bind(&l.pinned)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Starts a billing run (one undoing run `undoes`, when given); answers its id, or
    /// [`crate::StoreError::Conflict`] while another run of the tenant is going (on any
    /// instance). A run whose heartbeat is older than `stale_ms` (its process died) is marked
    /// `abandoned` first.
    pub async fn start_run(
        &self,
        tenant: TenantId,
        stale_ms: i64,
        undoes: Option<i64>,
    ) -> Result<i64> {
        let now = now_ms();
        sqlx::query(
            "UPDATE billing_runs SET status = 'abandoned', finished_at = $1 WHERE tenant_id = $2 AND status = 'running' AND COALESCE(heartbeat_at, started_at) < $3",
        )
        .bind(now)
        .bind(tenant.0)
        .bind(now - stale_ms)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(
            "INSERT INTO billing_runs (tenant_id, started_at, heartbeat_at, status, summary, undoes) VALUES ($1, $2, $2, 'running', '{}', $3) RETURNING id",
        )
        .bind(tenant.0)
        .bind(now)
        .bind(undoes)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| crate::conflict(e, || "a running billing run of this tenant".to_owned()))?;
        Ok(row.try_get("id")?)
    }

    /// When the tenant's running billing run last beat (Unix ms), if one is running.
    pub async fn running_run_heartbeat(&self, tenant: TenantId) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT COALESCE(heartbeat_at, started_at) AS beat FROM billing_runs WHERE tenant_id = $1 AND status = 'running'",
        )
        .bind(tenant.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("beat")).transpose()?)
    }

    /// Says a run is still alive.
    pub async fn heartbeat_run(&self, run: i64) -> Result<()> {
        sqlx::query(
            "UPDATE billing_runs SET heartbeat_at = $1 WHERE id = $2 AND status = 'running'",
        )
        .bind(now_ms())
        .bind(run)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records one change of a run.
    pub async fn record_change(&self, run: i64, change: &NewChange<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO billing_changes (run_id, at, kind, detail, effect, reverts) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(run)
        .bind(now_ms())
        .bind(change.kind)
        .bind(change.detail)
        .bind(change.effect)
        .bind(change.reverts)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends a run.
    pub async fn finish_run(&self, run: i64, status: RunStatus, summary: &str) -> Result<()> {
        sqlx::query(
            "UPDATE billing_runs SET finished_at = $1, status = $2, summary = $3 WHERE id = $4",
        )
        .bind(now_ms())
        .bind(status.as_str())
        .bind(summary)
        .bind(run)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A tenant's latest runs, newest first.
    pub async fn runs(&self, tenant: TenantId, limit: i64) -> Result<Vec<RunRecord>> {
        self.runs_before(tenant, None, limit).await
    }

    /// A tenant's latest runs older than run `before` (all when `None`), newest first.
    pub async fn runs_before(
        &self,
        tenant: TenantId,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<RunRecord>> {
        let rows = sqlx::query(
            "SELECT id, started_at, finished_at, status, summary, undoes FROM billing_runs WHERE tenant_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(tenant.0)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(run_from).collect()
    }

    /// One run of this tenant.
    pub async fn run(&self, tenant: TenantId, run: i64) -> Result<Option<RunRecord>> {
        let row = sqlx::query(
            "SELECT id, started_at, finished_at, status, summary, undoes FROM billing_runs WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.0)
        .bind(run)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(run_from).transpose()
    }

    /// The changes of a run of this tenant, in order.
    pub async fn run_changes(&self, tenant: TenantId, run: i64) -> Result<Vec<ChangeRecord>> {
        let rows = sqlx::query(
            "SELECT c.id, c.at, c.kind, c.detail, c.effect, c.reverts FROM billing_changes c JOIN billing_runs r ON r.id = c.run_id \
             WHERE r.tenant_id = $1 AND c.run_id = $2 ORDER BY c.id",
        )
        .bind(tenant.0)
        .bind(run)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(ChangeRecord::from_row(r)?))
            .collect()
    }

    /// The changes of run `run` that runs undoing it have reverted: each change's id and the
    /// run that reverted it.
    pub async fn reverted_changes(&self, tenant: TenantId, run: i64) -> Result<Vec<(i64, i64)>> {
        let rows = sqlx::query(
            "SELECT c.reverts, c.run_id FROM billing_changes c JOIN billing_runs r ON r.id = c.run_id \
             WHERE r.tenant_id = $1 AND r.undoes = $2 AND c.reverts IS NOT NULL ORDER BY c.id",
        )
        .bind(tenant.0)
        .bind(run)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("reverts")?, r.try_get("run_id")?)))
            .collect()
    }
}

/// The statement saving a tenant's billing settings, for the pool or a transaction.
pub(crate) fn billing_settings_upsert(
    tenant: TenantId,
    s: &BillingSettingsRecord,
) -> crate::Statement<'_> {
    sqlx::query(
        "INSERT INTO billing_settings (tenant_id, product_id, product_identifier, product_description, unit_price, agreement_type_id, agreement_type_name, mode, drift_policy, schedule_hours, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (tenant_id) DO UPDATE SET product_id = excluded.product_id, product_identifier = excluded.product_identifier, \
         product_description = excluded.product_description, unit_price = excluded.unit_price, \
         agreement_type_id = excluded.agreement_type_id, agreement_type_name = excluded.agreement_type_name, \
         mode = excluded.mode, drift_policy = excluded.drift_policy, schedule_hours = excluded.schedule_hours, updated_at = excluded.updated_at",
    )
    .bind(tenant.0)
    .bind(s.product_id)
    .bind(&s.product_identifier)
    .bind(&s.product_description)
    .bind(s.unit_price)
    .bind(s.agreement_type_id)
    .bind(&s.agreement_type_name)
    .bind(&s.mode)
    .bind(&s.drift_policy)
    .bind(s.schedule_hours)
    .bind(now_ms())
}

fn line_from(r: &AnyRow) -> Result<LineRecord> {
    Ok(LineRecord::from_row(r)?)
}

fn run_from(r: &AnyRow) -> Result<RunRecord> {
    Ok(RunRecord::from_row(r)?)
}
