//! Tenants and their API tokens. A token is 32 random bytes shown once; only its SHA-256 is
//! stored (a token is random enough that a plain hash cannot be guessed back).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cwbridge_store::{SessionRecord, Tenant, TenantId};
use rand::RngCore;
use sha2::{Digest, Sha256};

use std::collections::HashMap;
use std::sync::PoisonError;
use std::time::{Duration, Instant};

use crate::Engine;
use crate::error::{EngineError, Result};

/// How long a token's tenant is remembered without asking the database again.
pub const TOKEN_TTL: Duration = Duration::from_secs(30);

/// How long a wizard sign-in lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// Tenants by token hash with when they were looked up; only found tokens are kept, so a
/// flood of wrong tokens does not grow it.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: HashMap<String, (Tenant, Instant)>,
}

impl TokenCache {
    fn get(&self, hash: &str) -> Option<Tenant> {
        self.entries
            .get(hash)
            .filter(|(_, at)| at.elapsed() < TOKEN_TTL)
            .map(|(t, _)| t.clone())
    }

    fn put(&mut self, hash: String, tenant: Tenant) {
        if self.entries.len() >= 10_000 {
            self.entries.retain(|_, (_, at)| at.elapsed() < TOKEN_TTL);
        }
        self.entries.insert(hash, (tenant, Instant::now()));
    }

    /// Forgets a tenant's tokens (they were rotated or revoked).
    fn forget(&mut self, tenant: TenantId) {
        self.entries.retain(|_, (t, _)| t.id != tenant);
    }
}

/// A new tenant and its token, which exists only here.
#[derive(Debug, Clone)]
pub struct NewTenant {
    /// The tenant.
    pub tenant: Tenant,
    /// Its API token: give it to the tenant; it is not stored.
    pub token: String,
}

/// A fresh token, `cwb_` and 43 URL-safe characters.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("cwb_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

impl Engine {
    /// Makes a tenant with a token. Names are 1 to 100 characters, unique.
    pub async fn create_tenant(&self, name: &str) -> Result<NewTenant> {
        // Counted as sent (what the API's document bounds), stored trimmed.
        let too_long = name.chars().count() > 100;
        let name = name.trim();
        if name.is_empty() || too_long {
            return Err(EngineError::invalid(
                "name",
                "give the tenant a name of 1 to 100 characters",
            ));
        }
        let token = new_token();
        let tenant = self.store.create_tenant(name, &token_hash(&token)).await?;
        tracing::info!(tenant.id = %tenant.id, "tenant created");
        Ok(NewTenant { tenant, token })
    }

    /// Every tenant.
    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        Ok(self.store.tenants().await?)
    }

    /// The tenant a token belongs to, if any (remembered for [`TOKEN_TTL`]).
    pub async fn authenticate(&self, token: &str) -> Result<Option<Tenant>> {
        let hash = token_hash(token);
        if let Some(t) = self
            .tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&hash)
        {
            return Ok(Some(t));
        }
        let found = self.store.tenant_by_token_hash(&hash).await?;
        if let Some(t) = &found {
            self.tokens
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .put(hash, t.clone());
        }
        Ok(found)
    }

    /// Signs a tenant in to the wizard with its token: a new session's id (for the cookie;
    /// only its hash is stored) and the session's anti-forgery token. `None` when nobody
    /// holds the token.
    pub async fn sign_in(&self, token: &str) -> Result<Option<(String, String)>> {
        let Some(tenant) = self.authenticate(token).await? else {
            metrics::counter!(crate::measure::SIGN_INS, "outcome" => "refused").increment(1);
            return Ok(None);
        };
        metrics::counter!(crate::measure::SIGN_INS, "outcome" => "ok").increment(1);
        let id = new_token();
        let csrf = new_token();
        let expires_at = cwbridge_store::now_ms() + SESSION_TTL.as_millis() as i64;
        self.store
            .create_session(&token_hash(&id), tenant.id, &csrf, expires_at)
            .await?;
        tracing::info!(tenant.id = %tenant.id, "signed in to the wizard");
        Ok(Some((id, csrf)))
    }

    /// The live session with this id, if any.
    pub async fn session(&self, id: &str) -> Result<Option<SessionRecord>> {
        Ok(self.store.session(&token_hash(id)).await?)
    }

    /// Ends a session.
    pub async fn sign_out(&self, id: &str) -> Result<()> {
        Ok(self.store.delete_session(&token_hash(id)).await?)
    }

    /// Gives a tenant a new token, revoking its others and ending its wizard sessions; the
    /// new token is answered once. Other instances stop taking an old token within
    /// [`TOKEN_TTL`].
    pub async fn rotate_token(&self, tenant: TenantId) -> Result<String> {
        let token = new_token();
        self.replace_tokens(tenant, Some(&token_hash(&token)))
            .await?;
        tracing::info!(tenant.id = %tenant, "tenant token rotated");
        Ok(token)
    }

    /// Revokes every token of a tenant and ends its sessions: nobody can use the API or the
    /// wizard as the tenant until [`Engine::rotate_token`] gives it a new token. Its data
    /// and queued alerts are kept.
    pub async fn disable_tenant(&self, tenant: TenantId) -> Result<()> {
        self.replace_tokens(tenant, None).await?;
        tracing::info!(tenant.id = %tenant, "tenant disabled");
        Ok(())
    }

    async fn replace_tokens(&self, tenant: TenantId, new_hash: Option<&str>) -> Result<()> {
        if !self.store.replace_tenant_tokens(tenant, new_hash).await? {
            return Err(EngineError::NotFound(format!("no tenant {tenant}")));
        }
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .forget(tenant);
        Ok(())
    }

    /// A tenant by name (for the CLI's `--tenant`).
    pub async fn tenant_named(&self, name: &str) -> Result<Tenant> {
        self.tenants()
            .await?
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| EngineError::NotFound(format!("no tenant is named `{name}`")))
    }
}
