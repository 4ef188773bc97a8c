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

use crate::helpers::{Api, TestSandbox};

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
}

async fn register(api: &Api, url: &str, kind: &str, level: &str, object_id: i64) -> i64 {
    api.create(
        "system/callbacks",
        json!({"url": url, "type": kind, "level": level, "objectId": object_id, "description": "t"}),
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

fn ticket_body(summary: &str) -> Value {
    json!({"summary": summary, "board": {"name": "Help Desk"}, "company": {"identifier": "AcmeCorp"}})
}

#[tokio::test]
async fn a_created_ticket_is_announced_with_connectwise_s_payload() {
    // Arrange
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let mut receiver = Receiver::start().await;
    register(&api, &receiver.url, "ticket", "owner", 0).await;

    // Act
    let ticket = api
        .create("service/tickets", ticket_body("Callback me"))
        .await;
    let (_, body) = receiver.next().await;

    // Assert
    let payload: Value = serde_json::from_slice(&body).unwrap();
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
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let mut receiver = Receiver::start().await;
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
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let mut receiver = Receiver::start().await;
    let id = api
        .create("service/tickets", ticket_body("Lifecycle"))
        .await["id"]
        .as_i64()
        .unwrap();
    register(&api, &receiver.url, "ticket", "owner", id).await;

    api.patch(
        &format!("service/tickets/{id}"),
        json!([{"op": "replace", "path": "summary", "value": "Changed"}]),
    )
    .await
    .expect_status(200);
    let (_, updated) = receiver.next().await;
    api.delete(&format!("service/tickets/{id}"))
        .await
        .expect_status(204);
    let (_, deleted) = receiver.next().await;

    let updated: Value = serde_json::from_slice(&updated).unwrap();
    let deleted: Value = serde_json::from_slice(&deleted).unwrap();
    assert_eq!(
        (updated["Action"].as_str(), updated["ID"].as_i64()),
        (Some("updated"), Some(id))
    );
    assert_eq!(
        (deleted["Action"].as_str(), deleted["ID"].as_i64()),
        (Some("deleted"), Some(id))
    );
}

#[tokio::test]
async fn a_registration_for_one_object_or_another_type_hears_nothing_else() {
    // Arrange: one registration for another ticket, one for companies, one inactive.
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let mut receiver = Receiver::start().await;
    let other = api.create("service/tickets", ticket_body("Other")).await["id"]
        .as_i64()
        .unwrap();
    register(&api, &receiver.url, "ticket", "owner", other).await;
    register(&api, &receiver.url, "company", "owner", 0).await;
    let inactive = register(&api, &receiver.url, "ticket", "owner", 0).await;
    api.patch(
        &format!("system/callbacks/{inactive}"),
        json!([{"op": "replace", "path": "inactiveFlag", "value": true}]),
    )
    .await
    .expect_status(200);

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
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let mut receiver = Receiver::start().await;
    let acme = api
        .find_id("company/companies", "identifier = \"AcmeCorp\"")
        .await;
    register(&api, &receiver.url, "ticket", "company", acme).await;

    // Act: a ticket for another company, then one for Acme.
    api.create(
        "service/tickets",
        json!({"summary": "Elsewhere", "board": {"name": "Help Desk"}, "company": {"identifier": "Contoso"}}),
    )
    .await;
    let ticket = api.create("service/tickets", ticket_body("At Acme")).await;

    // Assert: only Acme's ticket is announced.
    let (_, body) = receiver.next().await;
    let payload: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(payload["ID"], ticket["id"]);
    assert!(!receiver.anything_within(Duration::from_millis(300)).await);
}
