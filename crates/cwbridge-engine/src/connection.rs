//! A tenant's ConnectWise connection: saved with its private key sealed, and checked —
//! reachable, the keys accepted, the role's permissions — with a report an MSP admin can act on.

use std::time::Duration;

use connectwise_client::{Client, Credentials, ErrorKind, RetryPolicy};
use cwbridge_store::{Sealed, StoredConnection, TenantId, now_ms};
use serde::{Deserialize, Serialize};

use crate::Engine;
use crate::error::{EngineError, Result};
use crate::preflight::{self, PermissionCheck, Status};

mod check;

/// What a tenant enters in step 1 (seed 004): the site, the company id and the API key.
#[derive(Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionInput {
    /// The ConnectWise site, e.g. `na.myconnectwise.net` or `cw.msp.example:8443`.
    #[schema(min_length = 1)]
    pub site: String,
    /// The company id typed at ConnectWise's login.
    #[schema(min_length = 1)]
    pub company_id: String,
    /// The API key's public half.
    #[schema(min_length = 1)]
    pub public_key: String,
    /// The API key's private half (shown once by ConnectWise; sealed here). Left empty,
    /// the saved private key is kept, when the site, company and public key are unchanged.
    #[serde(default)]
    pub private_key: String,
    /// The clientId from ConnectWise's developer portal; left empty, the bridge's own
    /// (`EngineConfig::client_id`).
    #[serde(default)]
    pub client_id: String,
}

impl std::fmt::Debug for ConnectionInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionInput")
            .field("site", &self.site)
            .field("company_id", &self.company_id)
            .field("public_key", &self.public_key)
            .field("private_key", &"<redacted>")
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// A saved connection as the API shows it: never the private key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    /// The site.
    pub site: String,
    /// The company id.
    pub company_id: String,
    /// The public key.
    pub public_key: String,
    /// The clientId.
    pub client_id: String,
    /// When it was saved (Unix ms).
    pub updated_at: i64,
}

/// One step of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Step {
    /// `reach`, `authenticate` or `permissions`.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What happened, in words.
    pub message: String,
    /// What to try when it failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
}

/// The result of checking a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// Whether everything passed (permissions that could not be verified do not fail it).
    pub ok: bool,
    /// When (Unix ms).
    pub checked_at: i64,
    /// The steps, in order; later steps are absent when an earlier one failed.
    pub steps: Vec<Step>,
    /// The codebase ConnectWise reported.
    pub codebase: Option<String>,
    /// ConnectWise's version.
    pub version: Option<String>,
    /// Every permission the enabled features need.
    pub permissions: Vec<PermissionCheck>,
}

impl CheckReport {
    /// The permissions the role lacks.
    pub fn missing(&self) -> impl Iterator<Item = &PermissionCheck> {
        self.permissions
            .iter()
            .filter(|p| p.status == Status::Missing)
    }
}

/// Retries for calls someone is waiting on (the wizard, the API, a delivery).
const QUICK_RETRIES: RetryPolicy = RetryPolicy {
    max_retries: 2,
    base_delay: Duration::from_millis(200),
    max_delay: Duration::from_secs(10),
};

/// Retries for a billing run's calls: about two minutes of patience for one read.
const RUN_RETRIES: RetryPolicy = RetryPolicy {
    max_retries: 6,
    base_delay: Duration::from_millis(500),
    max_delay: Duration::from_secs(30),
};

fn context(tenant: TenantId) -> String {
    format!("tenant:{tenant}")
}

/// What a sealed secret of `kind` is bound to: its tenant, and for a webhook secret its use.
pub(crate) fn sealed_context(kind: Sealed, tenant: TenantId) -> String {
    match kind {
        Sealed::ConnectionKey => context(tenant),
        Sealed::WebhookSecret => format!("tenant:{tenant}:webhook"),
    }
}

/// Whether a name (as a URL holds it: lower case, international names in punycode) is one
/// DNS can hold: labels of letters, digits and inner hyphens, 1 to 63 characters each, at
/// most 253 in all. A URL takes more (`!`, `_`, …); a TLS connection to such a name fails.
fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The most characters of each field of a connection.
pub const MAX_CONNECTION_CHARS: usize = 255;

/// Checks the fields a person typed, naming the first wrong one; `keeps_key` when an empty
/// private key keeps the saved one.
pub(crate) fn validate(
    input: &ConnectionInput,
    keeps_key: bool,
    has_client_id: bool,
) -> Result<()> {
    for (field, value) in [
        ("site", &input.site),
        ("companyId", &input.company_id),
        ("publicKey", &input.public_key),
        ("privateKey", &input.private_key),
        ("clientId", &input.client_id),
    ] {
        if value.trim().chars().count() > MAX_CONNECTION_CHARS {
            return Err(EngineError::invalid(
                field,
                format!("at most {MAX_CONNECTION_CHARS} characters; check the copy"),
            ));
        }
    }
    let site = input.site.trim();
    if site.is_empty() {
        return Err(EngineError::invalid(
            "site",
            "give the ConnectWise site, e.g. na.myconnectwise.net",
        ));
    }
    let host_part = site
        .split_once("://")
        .map_or(site, |(_, rest)| rest)
        .trim_end_matches('/');
    if host_part.contains('/') {
        return Err(EngineError::invalid(
            "site",
            format!(
                "give just the host, e.g. {} (without the path: the codebase is found automatically)",
                host_part
                    .split('/')
                    .next()
                    .unwrap_or("na.myconnectwise.net")
            ),
        ));
    }
    if host_part.is_empty() || host_part.contains(char::is_whitespace) {
        return Err(EngineError::invalid(
            "site",
            "write the site as a host name, e.g. na.myconnectwise.net",
        ));
    }
    for (field, value, what) in [
        (
            "companyId",
            &input.company_id,
            "the company id you type at ConnectWise's login",
        ),
        ("publicKey", &input.public_key, "the API key's public key"),
        (
            "privateKey",
            &input.private_key,
            "the API key's private key (shown once, when the key was made)",
        ),
        (
            "clientId",
            &input.client_id,
            "the clientId from ConnectWise's developer portal",
        ),
    ] {
        let v = value.trim();
        if v.is_empty()
            && ((field == "privateKey" && keeps_key) || (field == "clientId" && has_client_id))
        {
            continue;
        }
        if v.is_empty() {
            return Err(EngineError::invalid(field, format!("give {what}")));
        }
        if v.contains(char::is_whitespace) {
            return Err(EngineError::invalid(
                field,
                format!("{what} has no spaces; check the copy"),
            ));
        }
    }
    Ok(())
}

impl Engine {
    /// Saves a tenant's connection (replacing any earlier one), then checks it. The
    /// connection is kept even when the check fails, so the admin can fix ConnectWise and
    /// check again.
    pub async fn save_connection(
        &self,
        tenant: TenantId,
        input: &ConnectionInput,
    ) -> Result<(ConnectionView, CheckReport)> {
        let stored = self.sealed_connection(tenant, input).await?;
        self.store.put_connection(tenant, &stored).await?;
        tracing::info!(tenant.id = %tenant, "connection saved");
        let report = self.check_connection(tenant).await?;
        Ok((view(&stored), report))
    }

    /// A connection as it would be saved, nothing stored: its fields checked (naming the
    /// first wrong one), its site refused when the fence would refuse it, its private key
    /// sealed — or the saved one kept when none is given for the same site, company and
    /// public key.
    pub(crate) async fn sealed_connection(
        &self,
        tenant: TenantId,
        input: &ConnectionInput,
    ) -> Result<StoredConnection> {
        // The saved private key is kept only for the same site, company and public key: a
        // changed site must never receive a key typed for another.
        let saved = self.store.connection(tenant).await?.filter(|s| {
            s.site == input.site.trim()
                && s.company_id == input.company_id.trim()
                && s.public_key == input.public_key.trim()
        });
        validate(input, saved.is_some(), self.config.client_id.is_some())?;
        self.check_site_allowed(tenant, input.site.trim()).await?;
        let private_key_sealed = match saved {
            Some(saved) if input.private_key.trim().is_empty() => saved.private_key_sealed,
            _ => self
                .keyring
                .seal(input.private_key.trim(), &context(tenant)),
        };
        Ok(StoredConnection {
            site: input.site.trim().to_owned(),
            company_id: input.company_id.trim().to_owned(),
            public_key: input.public_key.trim().to_owned(),
            private_key_sealed,
            client_id: match input.client_id.trim() {
                "" => self.config.client_id.clone().unwrap_or_default(),
                given => given.to_owned(),
            },
            updated_at: now_ms(),
        })
    }

    /// This engine as if `connection` were the tenant's saved one, nothing stored: its
    /// clients reach that connection and keep no failed answers, and a 403 re-checks
    /// nothing (no check is recorded of a connection not saved). For checking settings
    /// against a connection before anything is written.
    pub(crate) fn with_pending_connection(
        &self,
        tenant: TenantId,
        connection: StoredConnection,
    ) -> Engine {
        Engine {
            pending_connection: Some(std::sync::Arc::new((tenant, connection))),
            ..self.clone()
        }
    }

    /// Whether the saved private key of the tenant is `private_key` (an unreadable one is
    /// not).
    pub(crate) async fn has_private_key(
        &self,
        tenant: TenantId,
        private_key: &str,
    ) -> Result<bool> {
        let Some(saved) = self.store.connection(tenant).await? else {
            return Ok(false);
        };
        Ok(self
            .keyring
            .open(&saved.private_key_sealed, &context(tenant))
            .is_ok_and(|key| key == private_key.trim()))
    }

    /// Refuses a site the outbound fence would not connect to, naming the rule, before
    /// anything is stored.
    async fn check_site_allowed(&self, tenant: TenantId, site: &str) -> Result<()> {
        let fence = &self.fence_for(tenant).await?;
        let with_scheme = if site.contains("://") {
            site.to_owned()
        } else {
            format!("https://{site}")
        };
        let url = connectwise_client::Fence::parse_url(&with_scheme).map_err(|e| {
            EngineError::invalid(
                "site",
                format!("`{site}` is not a host name ({e}); write it like na.myconnectwise.net"),
            )
        })?;
        if let Some(url::Host::Domain(name)) = url.host()
            && !is_dns_name(name)
        {
            return Err(EngineError::invalid(
                "site",
                format!("`{site}` is not a host name; write it like na.myconnectwise.net"),
            ));
        }
        fence
            .check_url(&url)
            .map_err(|r| EngineError::invalid("site", r.to_string()))?;
        if let Some(host) = url.host_str() {
            fence
                .check_host(host)
                .await
                .map_err(|r| EngineError::invalid("site", r.to_string()))?;
        }
        Ok(())
    }

    /// The fence a tenant's requests go through: the operator's, plus the networks the
    /// operator allowed for this tenant alone.
    async fn fence_for(&self, tenant: TenantId) -> Result<connectwise_client::Fence> {
        Ok(self
            .allowed_networks(tenant)
            .await?
            .into_iter()
            .fold(self.config.fence.clone(), |f, net| f.allow_network(net)))
    }

    /// The networks the operator allowed for this tenant alone (an on-premise ConnectWise
    /// over a private link), beyond public addresses and the networks allowed for all.
    pub async fn allowed_networks(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<connectwise_client::IpNet>> {
        let Some(text) = self.store.tenant_networks(tenant).await? else {
            return Ok(Vec::new());
        };
        let list: Vec<String> = serde_json::from_str(&text)
            .map_err(|e| EngineError::Store(cwbridge_store::StoreError::Corrupt(e.to_string())))?;
        list.iter()
            .map(|n| {
                connectwise_client::Fence::parse_network(n)
                    .map_err(|e| EngineError::Store(cwbridge_store::StoreError::Corrupt(e)))
            })
            .collect()
    }

    /// Sets the networks allowed for this tenant alone (replacing the earlier ones; empty
    /// clears them). Each is a CIDR or one address; at most 16.
    pub async fn set_allowed_networks(
        &self,
        tenant: TenantId,
        networks: &[String],
    ) -> Result<Vec<String>> {
        if networks.len() > 16 {
            return Err(EngineError::invalid(
                "networks",
                "at most 16 networks a tenant",
            ));
        }
        let mut parsed = Vec::with_capacity(networks.len());
        for (i, n) in networks.iter().enumerate() {
            let net = connectwise_client::Fence::parse_network(n)
                .map_err(|e| EngineError::invalid(&format!("networks[{i}]"), e))?;
            parsed.push(net.to_string());
        }
        let stored =
            (!parsed.is_empty()).then(|| serde_json::to_string(&parsed).unwrap_or_default());
        if !self
            .store
            .set_tenant_networks(tenant, stored.as_deref())
            .await?
        {
            return Err(EngineError::NotFound(format!("no tenant {tenant}")));
        }
        tracing::info!(tenant.id = %tenant, networks = ?parsed, "tenant networks set");
        Ok(parsed)
    }

    /// A tenant's saved connection.
    pub async fn connection(&self, tenant: TenantId) -> Result<ConnectionView> {
        let stored = self.stored_connection(tenant).await?;
        Ok(view(&stored))
    }

    async fn stored_connection(&self, tenant: TenantId) -> Result<StoredConnection> {
        if let Some((pending_tenant, pending)) = self.pending_connection.as_deref()
            && *pending_tenant == tenant
        {
            return Ok(pending.clone());
        }
        self.store.connection(tenant).await?.ok_or_else(|| {
            EngineError::NotFound("no ConnectWise connection is saved yet: save one first".into())
        })
    }

    /// A ConnectWise client for the tenant's connection. Its failed answers are kept for the
    /// connection-health page.
    pub async fn client_for(&self, tenant: TenantId) -> Result<Client> {
        let keep_failures = self.pending_connection.is_none();
        self.client_with(tenant, keep_failures, QUICK_RETRIES).await
    }

    /// A client for a billing run: its reads ride out a passing ConnectWise failure with
    /// more, longer retries (a run is not waited on by a person), instead of failing whole.
    pub(crate) async fn client_for_run(&self, tenant: TenantId) -> Result<Client> {
        self.client_with(tenant, true, RUN_RETRIES).await
    }

    /// A client, keeping its failed answers or not: the check's probes expect refusals (a
    /// 400 proves a permission), and its report says what failed, so they are not kept.
    async fn client_with(
        &self,
        tenant: TenantId,
        keep_failures: bool,
        retry: RetryPolicy,
    ) -> Result<Client> {
        let c = self.stored_connection(tenant).await?;
        let private_key = self.keyring.open(&c.private_key_sealed, &context(tenant))?;
        let mut builder = Client::builder(Credentials {
            site: c.site,
            company_id: c.company_id,
            public_key: c.public_key,
            private_key,
            client_id: c.client_id,
        });
        if keep_failures {
            builder = builder.on_failure(self.failure_observer(tenant));
        }
        if crate::measure::is_per_tenant() {
            builder = builder.metric_label("tenant", tenant.0.to_string());
        }
        let mut builder = builder
            .fence(self.fence_for(tenant).await?)
            .max_response_bytes(self.config.max_response_bytes)
            .max_pages(self.config.max_list_pages)
            .timeout(Duration::from_secs(30))
            .max_concurrency(16)
            .retry(retry);
        if let Some(pem) = &self.config.connectwise_ca {
            builder = builder.extra_ca_pem(pem.clone());
        }
        Ok(builder.build()?)
    }

    /// Passes a result through; a 403 from ConnectWise first re-checks the connection, so
    /// the permission now missing is named where the admin looks.
    pub(crate) async fn recheck_on_403<T>(&self, tenant: TenantId, r: Result<T>) -> Result<T> {
        if let Err(EngineError::ConnectWise(e)) = &r
            && e.kind() == ErrorKind::Permission
            && self.pending_connection.is_none()
        {
            let _ = self.check_connection(tenant).await;
        }
        r
    }

    /// Re-seals every stored secret (ConnectWise private keys, tenants' webhook secrets)
    /// under the keyring's current key; answers how many changed. Run after adding a new key
    /// in front of the keyring.
    pub async fn rotate_secrets(&self) -> Result<usize> {
        let mut changed = 0;
        for kind in Sealed::ALL {
            for (tenant, sealed) in self.store.sealed(kind).await? {
                if self.keyring.is_current(&sealed) {
                    continue;
                }
                let context = sealed_context(kind, tenant);
                let plain = self.keyring.open(&sealed, &context)?;
                let resealed = self.keyring.seal(&plain, &context);
                if self.store.reseal(kind, tenant, &sealed, &resealed).await? {
                    changed += 1;
                }
            }
        }
        Ok(changed)
    }
}

fn view(c: &StoredConnection) -> ConnectionView {
    ConnectionView {
        site: c.site.clone(),
        company_id: c.company_id.clone(),
        public_key: c.public_key.clone(),
        client_id: c.client_id.clone(),
        updated_at: c.updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_dns_can_hold_are_host_names() {
        for good in [
            "na.myconnectwise.net",
            "cw.example.com.",
            "xn--bcher-kva.example",
            "localhost",
        ] {
            assert!(is_dns_name(good), "{good}");
        }
        let long_label = format!("{}.example", "a".repeat(64));
        for bad in [
            "xn--a!o-nla70862h",
            "under_score.example",
            "-lead.example",
            "a..b",
            "",
            long_label.as_str(),
        ] {
            assert!(!is_dns_name(bad), "{bad}");
        }
    }
}
