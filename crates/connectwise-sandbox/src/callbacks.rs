//! Callbacks: when a ticket, company or agreement changes, every active registration that
//! matches is sent ConnectWise's payload, signed with HMAC-SHA256 in `x-content-signature`.
//! The signing key is served at the payload's `Metadata.key_url`.

use std::sync::Arc;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::record::Val;
use crate::resources::CALLBACKS;
use crate::store::Store;

/// One change to announce.
#[derive(Debug, Clone)]
pub struct Event {
    /// `ticket`, `company` or `agreement`.
    pub kind: &'static str,
    /// `added`, `updated` or `deleted`.
    pub action: &'static str,
    /// The record's id.
    pub id: i64,
    /// The record as the API renders it (null when deleted).
    pub entity: Value,
    /// The board/company ids a `level` other than `owner` can filter on.
    pub board_id: Option<i64>,
    /// The company id of the record (its own id for a company).
    pub company_id: Option<i64>,
    /// The Member ID that made the change.
    pub member: String,
}

/// Changes waiting to be announced; past this, new changes are dropped (with a warning)
/// rather than held in memory without end.
pub const QUEUE_CAPACITY: usize = 10_000;

/// Deliveries in flight at once.
const IN_FLIGHT: usize = 32;

/// Where callbacks are sent from.
#[derive(Clone)]
pub struct Dispatcher {
    tx: mpsc::Sender<Event>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dispatcher")
    }
}

/// Settings the delivery task needs.
pub struct Delivery {
    /// The state, to read registrations.
    pub store: Arc<Store>,
    /// The key payloads are signed with.
    pub signing_key: Vec<u8>,
    /// Where the key is served.
    pub key_url: String,
    /// The site's URL (`FromUrl`).
    pub from_url: String,
    /// The company id.
    pub company_id: String,
}

impl Dispatcher {
    /// Starts the delivery task.
    pub fn start(delivery: Delivery) -> Dispatcher {
        let (tx, mut rx) = mpsc::channel::<Event>(QUEUE_CAPACITY);
        let in_flight = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
        let http = reqwest::Client::builder()
            // A callback URL that redirects is not followed: the payload goes where it was
            // registered, nowhere else.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                for (callback_id, url) in matching(&delivery.store, &event) {
                    let body = payload(&delivery, &event, callback_id);
                    let bytes = serde_json::to_vec(&body).unwrap_or_default();
                    let signature = sign(
                        &base64::engine::general_purpose::STANDARD.encode(&delivery.signing_key),
                        &bytes,
                    );
                    let http = http.clone();
                    let Ok(permit) = in_flight.clone().acquire_owned().await else {
                        return;
                    };
                    tokio::spawn(async move {
                        let _permit = permit;
                        let sent = http
                            .post(&url)
                            .header("content-type", "application/json")
                            .header("x-content-signature", signature)
                            .body(bytes)
                            .send()
                            .await;
                        if let Err(e) = sent {
                            tracing::warn!(callback.id = callback_id, error = %e, "callback delivery failed");
                        }
                    });
                }
            }
        });
        Dispatcher { tx }
    }

    /// Queues a change for delivery; a full queue drops it.
    pub fn send(&self, event: Event) {
        if let Err(mpsc::error::TrySendError::Full(event)) = self.tx.try_send(event) {
            tracing::warn!(
                kind = event.kind,
                id = event.id,
                "the callback queue is full; this change is not announced"
            );
        }
    }
}

fn matching(store: &Store, event: &Event) -> Vec<(i64, String)> {
    let data = store.read();
    data.children(CALLBACKS, 0)
        .filter(|(_, c)| c.get("inactiveFlag") != Some(&Val::Bool(true)))
        .filter(|(_, c)| {
            c.get("type")
                .and_then(Val::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case(event.kind))
        })
        .filter(|(_, c)| {
            let object = c.get("objectId").and_then(Val::as_i64).unwrap_or(0);
            if object == 0 {
                return true;
            }
            let level = c
                .get("level")
                .and_then(Val::as_str)
                .unwrap_or("owner")
                .to_ascii_lowercase();
            match level.as_str() {
                "board" => event.board_id == Some(object),
                "company" => event.company_id == Some(object),
                _ => event.id == object,
            }
        })
        .filter_map(|(id, c)| {
            c.get("url")
                .and_then(Val::as_str)
                .map(|u| (id, u.to_owned()))
        })
        .collect()
}

fn payload(d: &Delivery, event: &Event, callback_id: i64) -> Value {
    json!({
        "MessageId": format!("{:032x}", rand::random::<u128>()),
        "FromUrl": d.from_url,
        "CompanyId": d.company_id,
        "MemberId": event.member,
        "Action": event.action,
        "Type": event.kind,
        "ID": event.id,
        "CallbackObjectRecId": callback_id,
        "ProductInstanceId": null,
        "PartnerId": null,
        "Entity": if event.entity.is_null() { Value::Null } else { Value::String(event.entity.to_string()) },
        "Metadata": { "key_url": d.key_url },
    })
}

/// The value of `x-content-signature`: `base64(HMAC-SHA256(SHA-256(key), body))`, where `key`
/// is the signing key exactly as published at `Metadata.key_url`. That is how ConnectWise's
/// clients verify a delivery (connectwise-rest's `Callback.verifyMessage`, for one).
pub fn sign(published_key: &str, body: &[u8]) -> String {
    let derived = Sha256::digest(published_key.as_bytes());
    let mut mac = Hmac::<Sha256>::new_from_slice(&derived).expect("HMAC takes keys of any length");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}
