//! ConnectWise's recent failed answers per tenant, kept to the newest few.

use sqlx::FromRow;

use crate::{FailureRecord, Result, Store, TenantId};

impl Store {
    /// Records failed answers of a tenant, oldest first, keeping only its newest `keep`.
    pub async fn record_failures(
        &self,
        tenant: TenantId,
        failures: &[FailureRecord],
        keep: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for f in failures {
            sqlx::query(
                "INSERT INTO connectwise_failures (tenant_id, at, method, path, status, message, retrying) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(tenant.0)
            .bind(f.at)
            .bind(&f.method)
            .bind(&f.path)
            .bind(f.status)
            .bind(&f.message)
            .bind(i64::from(f.retrying))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "DELETE FROM connectwise_failures WHERE tenant_id = $1 AND id < ( \
               SELECT MIN(id) FROM (SELECT id FROM connectwise_failures WHERE tenant_id = $1 \
               ORDER BY id DESC LIMIT $2) newest)",
        )
        .bind(tenant.0)
        .bind(keep)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The tenant's newest failed answers, newest first.
    pub async fn failures(&self, tenant: TenantId, limit: i64) -> Result<Vec<FailureRecord>> {
        let rows = sqlx::query(
            "SELECT at, method, path, status, message, retrying FROM connectwise_failures \
             WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(tenant.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(FailureRecord::from_row(r)?))
            .collect()
    }
}
