//! ConnectWise's ticket changes sent back to the vendor, opt-in per tenant: when the MSP
//! closes, reopens or adds a note to a ticket the bridge made, the vendor gets a signed
//! webhook (`ticket.closed`, `ticket.reopened`, `ticket.note_added`), once per change.
//!
//! The bridge hears of changes by a ConnectWise callback (`callback`: verified, then the
//! ticket read again) or, where ConnectWise cannot reach it, by polling the tickets it made
//! (`watch`); each change is recorded with its webhooks in one transaction, and the webhooks
//! are sent until the vendor takes them (`webhook`). Alert and ticket states stay
//! independent otherwise: nothing here changes an alert.

pub mod callback;
pub mod watch;
pub mod webhook;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use connectwise_client::models::CallbackEntry;
use cwbridge_store::{TenantId, TicketEventsRecord};

use crate::{Engine, EngineError, Result};

/// How the bridge hears of a tenant's ticket changes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Receive {
    /// A ConnectWise callback to the bridge's public URL (`--public-url`), on the board
    /// tickets are made on.
    Callback,
    /// Reading the tickets the bridge made, changed since the last read, every poll interval.
    Poll,
}

/// The service-wide webhook: where every tenant's ticket events go unless the operator
/// gives a tenant its own.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    /// The vendor's URL.
    pub url: String,
    /// The secret its signatures are made with.
    pub secret: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Ticket events for a tenant, as the operator turns them on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketEventsInput {
    /// How the bridge hears of changes.
    pub receive: Receive,
    /// The vendor's URL for this tenant; none: the service-wide one (`--webhook-url`).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub webhook_url: Option<String>,
    /// Its secret (16 to 200 characters), with `webhookUrl`.
    #[serde(default)]
    #[schema(min_length = 16, max_length = 200)]
    pub webhook_secret: Option<String>,
}

/// A tenant's ticket events, as the API shows them (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketEventsView {
    /// How the bridge hears of changes.
    pub receive: Receive,
    /// Where the webhooks go.
    pub webhook_url: String,
    /// Whether that is this tenant's own URL (else the service-wide one).
    pub own_webhook: bool,
    /// The callback's id in the tenant's ConnectWise, when receiving by callback.
    pub callback_id: Option<i64>,
    /// When they were turned on (Unix ms).
    pub enabled_at: i64,
}

/// The sealed-secret context of a tenant's webhook secret.
fn secret_context(tenant: TenantId) -> String {
    crate::connection::sealed_context(cwbridge_store::Sealed::WebhookSecret, tenant)
}

/// SHA-256 (hex) of a callback key, as stored.
pub(crate) fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Engine {
    /// Turns a tenant's ticket events on (or changes them): checks the webhook, and for
    /// `callback` registers a ConnectWise callback on the board tickets are made on
    /// (replacing one registered before).
    pub async fn set_ticket_events(
        &self,
        tenant: TenantId,
        input: &TicketEventsInput,
    ) -> Result<TicketEventsView> {
        let r = self.set_ticket_events_inner(tenant, input).await;
        self.recheck_on_403(tenant, r).await
    }

    async fn set_ticket_events_inner(
        &self,
        tenant: TenantId,
        input: &TicketEventsInput,
    ) -> Result<TicketEventsView> {
        let own = self.checked_webhook(input)?;
        let client = self.client_for(tenant).await?;
        let before = self.store.ticket_events(tenant).await?;
        let mut record = TicketEventsRecord {
            tenant_id: tenant.0,
            receive: input.receive.to_string(),
            webhook_url: own.as_ref().map(|w| w.url.clone()),
            webhook_secret: own
                .as_ref()
                .map(|w| self.keyring.seal(&w.secret, &secret_context(tenant))),
            callback_key: None,
            callback_id: None,
            polled_to: Some(cwbridge_store::now_ms()),
            enabled_at: before
                .as_ref()
                .map_or_else(cwbridge_store::now_ms, |b| b.enabled_at),
        };
        if input.receive == Receive::Callback {
            let public = self.config.public_url.as_deref().ok_or_else(|| EngineError::Invalid {
                field: "receive".into(),
                message: "callbacks need the address ConnectWise reaches this bridge at: start it with --public-url, or receive by `poll`".into(),
            })?;
            let board = self
                .store
                .ticket_settings(tenant)
                .await?
                .ok_or_else(|| EngineError::Invalid {
                    field: "receive".into(),
                    message: "save ticket defaults first: the callback watches the board tickets are made on".into(),
                })?
                .board_id;
            let mut key = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut key);
            let key = hex::encode(key);
            let entry = CallbackEntry {
                url: Some(format!(
                    "{}/connectwise/callbacks/{key}",
                    public.trim_end_matches('/')
                )),
                object_id: Some(board),
                r#type: Some("ticket".into()),
                level: Some("board".into()),
                description: Some(format!("cwbridge ticket events (tenant {tenant})")),
                inactive_flag: Some(false),
                ..Default::default()
            };
            let made = client.system().callbacks().create(&entry).await?;
            record.callback_key = Some(key_hash(&key));
            record.callback_id = made.id;
        }
        self.store.put_ticket_events(&record).await?;
        // The registration this one replaces, if any, is removed once the new one is stored.
        if let Some(old) = before.and_then(|b| b.callback_id) {
            let _ = client.system().callbacks().delete(old).await;
        }
        self.ticket_events(tenant).await
    }

    /// The tenant's webhook from `input`, checked; `None` when it uses the service-wide one.
    fn checked_webhook(&self, input: &TicketEventsInput) -> Result<Option<Webhook>> {
        let invalid = |field: &str, message: &str| EngineError::Invalid {
            field: field.into(),
            message: message.into(),
        };
        match (&input.webhook_url, &input.webhook_secret) {
            (None, None) if self.config.webhook.is_some() => Ok(None),
            (None, None) => Err(invalid(
                "webhookUrl",
                "no service-wide webhook is set (--webhook-url): give this tenant's webhookUrl and webhookSecret",
            )),
            (Some(_), None) => Err(invalid(
                "webhookSecret",
                "give the secret the vendor checks signatures with (16 to 200 characters)",
            )),
            (None, Some(_)) => Err(invalid("webhookUrl", "give the URL the secret is for")),
            (Some(url), Some(secret)) => {
                if !(16..=200).contains(&secret.chars().count()) {
                    return Err(invalid("webhookSecret", "use 16 to 200 characters"));
                }
                webhook::checked_url(&self.config.fence, url)
                    .map_err(|m| invalid("webhookUrl", &m))?;
                Ok(Some(Webhook {
                    url: url.trim().to_owned(),
                    secret: secret.clone(),
                }))
            }
        }
    }

    /// A tenant's ticket events; not found when they are off.
    pub async fn ticket_events(&self, tenant: TenantId) -> Result<TicketEventsView> {
        let r = self.store.ticket_events(tenant).await?.ok_or_else(off)?;
        let receive = r.receive.parse().unwrap_or(Receive::Poll);
        let webhook_url = match (&r.webhook_url, &self.config.webhook) {
            (Some(own), _) => own.clone(),
            (None, Some(wide)) => wide.url.clone(),
            (None, None) => String::new(),
        };
        Ok(TicketEventsView {
            receive,
            own_webhook: r.webhook_url.is_some(),
            webhook_url,
            callback_id: r.callback_id,
            enabled_at: r.enabled_at,
        })
    }

    /// Turns a tenant's ticket events off, removing its ConnectWise callback (best effort:
    /// a callback left behind is answered 404 and changes nothing).
    pub async fn disable_ticket_events(&self, tenant: TenantId) -> Result<()> {
        let r = self.store.ticket_events(tenant).await?.ok_or_else(off)?;
        if let Some(id) = r.callback_id
            && let Ok(client) = self.client_for(tenant).await
        {
            let _ = client.system().callbacks().delete(id).await;
        }
        self.store.delete_ticket_events(tenant).await?;
        Ok(())
    }

    /// Where a tenant's webhooks go, with the secret: its own, or the service-wide one.
    pub(crate) fn webhook_of(&self, r: &TicketEventsRecord) -> Result<Option<Webhook>> {
        match (&r.webhook_url, &r.webhook_secret) {
            (Some(url), Some(sealed)) => {
                let tenant = TenantId(r.tenant_id);
                let secret = self.keyring.open(sealed, &secret_context(tenant))?;
                Ok(Some(Webhook {
                    url: url.clone(),
                    secret,
                }))
            }
            _ => Ok(self.config.webhook.clone()),
        }
    }
}

fn off() -> EngineError {
    EngineError::NotFound("ticket events are off for this tenant".into())
}
