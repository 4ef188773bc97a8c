//! A tenant's settings written together: what applying a settings document changes, in one
//! transaction, so a document is stored whole or not at all.

use sqlx::Row;

use crate::alerts::{policy_upsert, route_upsert, ticket_settings_upsert};
use crate::billing::billing_settings_upsert;
use crate::{
    AlertPolicyRecord, BillingSettingsRecord, MappingRecord, Result, Store, StoredConnection,
    TenantId, TicketSettingsRecord, connection_upsert, now_ms,
};

/// Mappings saved by one statement (6 parameters each).
const MAPPINGS_PER_STATEMENT: usize = 500;

/// What one settings document changes, written by [`Store::put_settings`] in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsWrite {
    /// The connection to save (its private key sealed), replacing the previous one.
    pub connection: Option<StoredConnection>,
    /// The billing settings to save.
    pub billing: Option<BillingSettingsRecord>,
    /// The ticket defaults to save.
    pub tickets: Option<TicketSettingsRecord>,
    /// Mappings to save (new, or replacing the account's earlier one).
    pub mappings: Vec<MappingRecord>,
    /// Accounts to unmap.
    pub unmapped: Vec<String>,
    /// Alert routes to save: `(account, alert types as stored)`.
    pub routes: Vec<(String, String)>,
    /// Accounts whose route goes back to the default (every type).
    pub unrouted: Vec<String>,
    /// Alert-type policies to save.
    pub policies: Vec<AlertPolicyRecord>,
    /// Alert types whose policy goes back to the default.
    pub unset_policies: Vec<String>,
}

impl Store {
    /// Writes every change of a settings document in one transaction: all or nothing.
    pub async fn put_settings(&self, tenant: TenantId, w: &SettingsWrite) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        if let Some(c) = &w.connection {
            connection_upsert(tenant, c).execute(&mut *tx).await?;
        }
        if let Some(b) = &w.billing {
            billing_settings_upsert(tenant, b).execute(&mut *tx).await?;
        }
        if let Some(t) = &w.tickets {
            ticket_settings_upsert(tenant, t).execute(&mut *tx).await?;
        }
        for (table, key, gone) in [
            ("mappings", "external_id", &w.unmapped),
            ("alert_routes", "external_id", &w.unrouted),
            ("alert_policies", "alert_type", &w.unset_policies),
        ] {
            let sql = format!("DELETE FROM {table} WHERE tenant_id = $1 AND {key} = $2");
            for value in gone {
                sqlx::query(&sql)
                    .bind(tenant.0)
                    .bind(value)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        // Many mappings a statement: a document mapping thousands of accounts is a few
        // statements, so the write lock is held briefly.
        let now = now_ms();
        for chunk in w.mappings.chunks(MAPPINGS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO mappings (tenant_id, external_id, company_id, company_name, agreement_id, updated_at) VALUES {} \
                 ON CONFLICT (tenant_id, external_id) DO UPDATE SET company_id = excluded.company_id, \
                 company_name = excluded.company_name, agreement_id = excluded.agreement_id, updated_at = excluded.updated_at",
                self.dialect.rows("(?, ?, ?, ?, ?, ?)", chunk.len(), 0)
            );
            let mut query = sqlx::query(&sql);
            for m in chunk {
                query = query
                    .bind(tenant.0)
                    .bind(&m.external_id)
                    .bind(m.company_id)
                    .bind(&m.company_name)
                    .bind(m.agreement_id)
                    .bind(now);
            }
            query.execute(&mut *tx).await?;
        }
        for (account, types) in &w.routes {
            route_upsert(tenant, account, types)
                .execute(&mut *tx)
                .await?;
        }
        for p in &w.policies {
            policy_upsert(tenant, p).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The ids of a tenant's accounts, in order (without their units).
    pub async fn account_ids(&self, tenant: TenantId) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT external_id FROM accounts WHERE tenant_id = $1 ORDER BY external_id",
        )
        .bind(tenant.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("external_id")?)).collect()
    }
}
