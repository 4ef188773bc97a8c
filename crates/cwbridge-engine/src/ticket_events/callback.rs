//! ConnectWise's callbacks, received: the URL's key names the tenant; the delivery's
//! `x-content-signature` is checked against the key published at the payload's
//! `Metadata.key_url` — fetched only from the tenant's own ConnectWise site, compared in
//! constant time — and then the ticket is read again rather than the payload trusted.
//!
//! The key is fetched for every delivery (ConnectWise rotates it; callbacks come at the pace
//! tickets change), so nothing stale is ever trusted.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use cwbridge_store::TenantId;

use super::{Receive, key_hash};
use crate::{Engine, EngineError, Result};

/// The most bytes of a callback read (ConnectWise's carry one ticket).
pub const MAX_CALLBACK_BYTES: usize = 256 * 1024;

/// What a callback did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallbackOutcome {
    /// Webhooks the change queued for the vendor.
    pub queued: usize,
    /// Why nothing was queued, when nothing was.
    pub ignored: Option<String>,
}

impl CallbackOutcome {
    /// Nothing to do, for this reason.
    pub fn ignored(reason: impl Into<String>) -> Self {
        CallbackOutcome {
            queued: 0,
            ignored: Some(reason.into()),
        }
    }
}

/// The parts of ConnectWise's payload the bridge reads.
#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "Action", default)]
    action: String,
    #[serde(rename = "ID")]
    id: i64,
    #[serde(rename = "Metadata")]
    metadata: Metadata,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    key_url: String,
}

/// Whether `signature` (base64, as `x-content-signature` carries it) is ConnectWise's over
/// `body` with the published `key`: HMAC-SHA256 keyed by the SHA-256 of the key as
/// published, compared in constant time.
pub fn verify(published_key: &str, body: &[u8], signature: &str) -> bool {
    let Ok(signature) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    let derived = Sha256::digest(published_key.as_bytes());
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&derived) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

fn refused(message: impl Into<String>) -> EngineError {
    EngineError::Unauthorized(message.into())
}

impl Engine {
    /// Takes a ConnectWise callback sent to the URL carrying `key`: not found unless it is a
    /// tenant's; refused unless its signature is ConnectWise's; then the ticket it names is
    /// read again and any change recorded with its webhooks.
    pub async fn receive_callback(
        &self,
        key: &str,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<CallbackOutcome> {
        let unknown = || EngineError::NotFound("no such callback".into());
        if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(unknown());
        }
        let events = self
            .store
            .ticket_events_by_key(&key_hash(key))
            .await?
            .filter(|r| r.receive == Receive::Callback.to_string())
            .ok_or_else(unknown)?;
        let tenant = TenantId(events.tenant_id);
        if body.len() > MAX_CALLBACK_BYTES {
            return Err(refused("the callback is larger than ConnectWise sends"));
        }
        let signature = signature.ok_or_else(|| refused("the callback is not signed"))?;
        let payload: Payload = serde_json::from_slice(body)
            .map_err(|_| refused("the callback is not ConnectWise's payload"))?;
        let client = self.client_for(tenant).await?;
        let published = client
            .callback_signing_key(&payload.metadata.key_url)
            .await
            .map_err(|e| refused(e.to_string()))?;
        if !verify(&published, body, signature) {
            return Err(refused("the callback's signature does not match"));
        }
        if !payload.kind.eq_ignore_ascii_case("ticket") {
            return Ok(CallbackOutcome::ignored("not a ticket"));
        }
        if payload.action.eq_ignore_ascii_case("deleted") {
            return Ok(CallbackOutcome::ignored("the ticket was deleted"));
        }
        self.observe_ticket(tenant, &client, payload.id, &events)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signs as ConnectWise does.
    fn sign(key: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&Sha256::digest(key.as_bytes())).unwrap();
        mac.update(body);
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    #[test]
    fn only_connectwises_signature_over_these_bytes_verifies() {
        let body = br#"{"Type":"ticket","ID":7}"#;
        let good = sign("published", body);
        assert!(verify("published", body, &good));
        for (label, key, body, signature) in [
            ("another key", "other", &body[..], good.clone()),
            (
                "another body",
                "published",
                &br#"{"Type":"ticket","ID":8}"#[..],
                good.clone(),
            ),
            ("not base64", "published", &body[..], "%%%".to_owned()),
            ("empty", "published", &body[..], String::new()),
            ("cut short", "published", &body[..], good[..20].to_owned()),
        ] {
            assert!(!verify(key, body, &signature), "{label}");
        }
    }
}
