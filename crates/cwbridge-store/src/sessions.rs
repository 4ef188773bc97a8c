//! The wizard's sign-in sessions. Only a hash of each session id is stored, so a copy of the
//! database cannot be used to sign in.

use sqlx::Row;

use crate::{Result, Store, Tenant, TenantId, now_ms, tenant_from};

/// A live session: whose it is and the token its forms must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The tenant signed in.
    pub tenant: Tenant,
    /// The anti-forgery token every form of this session carries.
    pub csrf: String,
    /// When it ends (Unix ms).
    pub expires_at: i64,
}

impl Store {
    /// Starts a session; expired sessions of every tenant are removed on the way.
    pub async fn create_session(
        &self,
        id_hash: &str,
        tenant: TenantId,
        csrf: &str,
        expires_at: i64,
    ) -> Result<()> {
        let now = now_ms();
        sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO web_sessions (id_hash, tenant_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id_hash)
        .bind(tenant.0)
        .bind(csrf)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The live session with this id hash, if there is one.
    pub async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT t.id, t.name, t.created_at, s.csrf, s.expires_at FROM web_sessions s \
             JOIN tenants t ON t.id = s.tenant_id WHERE s.id_hash = $1 AND s.expires_at > $2",
        )
        .bind(id_hash)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(SessionRecord {
                tenant: tenant_from(&r)?,
                csrf: r.try_get("csrf")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// Ends a session (signing out).
    pub async fn delete_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
