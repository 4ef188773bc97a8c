//! Callbacks: a registration under `system/callbacks` gets ConnectWise's payload, signed with
//! HMAC-SHA256 in `x-content-signature` under the key served at `Metadata.key_url`.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::helpers::{Api, TestSandbox, demo, replace, ticket_body};

/// One delivery: its headers and raw body.
type Delivery = (HeaderMap, Bytes);

/// A plain-HTTP listener on 127.0.0.1 that passes every POST to `/hook` to the test.
struct Receiver {
    url: String,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
}

impl Receiver {
    async fn start() -> Self {
        let (tx, deliveries) = mpsc::unbounded_channel::<Delivery>();
        let app = Router::new()
            .route(
                "/hook",
                post(
                    |State(tx): State<mpsc::UnboundedSender<Delivery>>,
                     headers: HeaderMap,
                     body: Bytes| async move {
                        let _ = tx.send((headers, body));
                        "ok"
                    },
                ),
            )
            .with_state(tx);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, deliveries }
    }

    async fn next(&mut self) -> Delivery {
        tokio::time::timeout(Duration::from_secs(10), self.deliveries.recv())
            .await
            .expect("a callback arrives within 10 s")
            .expect("the listener is running")
    }

    /// Waits briefly and answers whether anything arrived.
    async fn anything_within(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.deliveries.recv())
            .await
            .is_ok()
    }

    /// Waits for the next delivery and reads its body as JSON.
    async fn next_payload(&mut self) -> Value {
        let (_, body) = self.next().await;
        serde_json::from_slice(&body).expect("the payload is JSON")
    }
}

/// A demo sandbox, an admin client and a listener for callbacks.
async fn demo_with_receiver() -> (TestSandbox, Api, Receiver) {
    let (sb, api) = demo().await;
    (sb, api, Receiver::start().await)
}

async fn register(api: &Api, url: &str, kind: &str, level: &str, object_id: i64) -> i64 {
    let callback = json!({"url": url, "type": kind, "level": level, "objectId": object_id, "description": "t"});
    api.create_id("system/callbacks", callback).await
}

#[tokio::test]
async fn a_created_ticket_is_announced_with_connectwise_s_payload() {
    // Arrange
    let (_sb, api, mut receiver) = demo_with_receiver().await;
    register(&api, &receiver.url, "ticket", "owner", 0).await;

    // Act
    let ticket = api
        .create("service/tickets", ticket_body("Callback me"))
        .await;
    let payload = receiver.next_payload().await;

    // Assert
    assert_eq!(payload["Action"], "added");
    assert_eq!(payload["Type"], "ticket");
    assert_eq!(payload["ID"], ticket["id"]);
    assert!(payload["MemberId"].is_string(), "{payload}");
    let entity: Value = serde_json::from_str(
        payload["Entity"]
            .as_str()
            .expect("Entity is the record as a JSON string"),
    )
    .unwrap();
    assert_eq!(entity["id"], ticket["id"]);
    assert_eq!(entity["summary"], "Callback me");
    let key_url = payload["Metadata"]["key_url"]
        .as_str()
        .expect("Metadata.key_url");
    assert!(key_url.starts_with("https://"), "{key_url}");
}

#[tokio::test]
async fn the_payload_signature_is_the_hmac_of_the_body_under_the_published_key() {
    // Arrange
    let (sb, api, mut receiver) = demo_with_receiver().await;
    register(&api, &receiver.url, "ticket", "owner", 0).await;
    api.create("service/tickets", ticket_body("Signed")).await;

    // Act
    let (headers, body) = receiver.next().await;
    let payload: Value = serde_json::from_slice(&body).unwrap();
    let key_url = payload["Metadata"]["key_url"].as_str().unwrap();
    let key = sb.anonymous().fetch(key_url).await;
    let key = key["signing_key"]
        .as_str()
        .expect("{\"signing_key\": \"…\"}");

    // Assert: what connectwise-rest's `Callback.verifyMessage` computes.
    let derived = Sha256::digest(key.as_bytes());
    let mut mac = Hmac::<Sha256>::new_from_slice(&derived).unwrap();
    mac.update(&body);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    let signature = headers
        .get("x-content-signature")
        .expect("an x-content-signature header")
        .to_str()
        .unwrap();
    assert_eq!(signature, expected);
}

#[tokio::test]
async fn updates_and_deletes_are_announced_too() {
    let (_sb, api, mut receiver) = demo_with_receiver().await;
    let id = api
        .create_id("service/tickets", ticket_body("Lifecycle"))
        .await;
    register(&api, &receiver.url, "ticket", "owner", id).await;
    let ticket = format!("service/tickets/{id}");

    api.update(&ticket, replace("summary", json!("Changed")))
        .await;
    let updated = receiver.next_payload().await;
    api.remove(&ticket).await;
    let deleted = receiver.next_payload().await;

    for (payload, action) in [(updated, "updated"), (deleted, "deleted")] {
        assert_eq!(
            (payload["Action"].as_str(), payload["ID"].as_i64()),
            (Some(action), Some(id))
        );
    }
}

#[tokio::test]
async fn a_registration_for_one_object_or_another_type_hears_nothing_else() {
    // Arrange: one registration for another ticket, one for companies, one inactive.
    let (_sb, api, mut receiver) = demo_with_receiver().await;
    let other = api.create_id("service/tickets", ticket_body("Other")).await;
    register(&api, &receiver.url, "ticket", "owner", other).await;
    register(&api, &receiver.url, "company", "owner", 0).await;
    let inactive = register(&api, &receiver.url, "ticket", "owner", 0).await;
    let deactivate = replace("inactiveFlag", json!(true));
    api.update(&format!("system/callbacks/{inactive}"), deactivate)
        .await;

    // Act
    api.create("service/tickets", ticket_body("Unwatched"))
        .await;

    // Assert
    assert!(
        !receiver.anything_within(Duration::from_millis(500)).await,
        "no registration matches the new ticket"
    );
}

#[tokio::test]
async fn a_company_level_registration_hears_tickets_of_that_company() {
    // Arrange
    let (_sb, api, mut receiver) = demo_with_receiver().await;
    let acme = api.company_id("AcmeCorp").await;
    register(&api, &receiver.url, "ticket", "company", acme).await;

    // Act: a ticket for another company, then one for Acme.
    let mut elsewhere = ticket_body("Elsewhere");
    elsewhere["company"] = json!({"identifier": "Contoso"});
    api.create("service/tickets", elsewhere).await;
    let ticket = api.create("service/tickets", ticket_body("At Acme")).await;

    // Assert: only Acme's ticket is announced.
    let payload = receiver.next_payload().await;
    assert_eq!(payload["ID"], ticket["id"]);
    assert!(!receiver.anything_within(Duration::from_millis(300)).await);
}
