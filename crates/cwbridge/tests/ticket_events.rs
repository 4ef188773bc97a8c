//! ConnectWise's ticket changes back to the vendor, on the process: the operator turns ticket
//! events on, ConnectWise (the sandbox) calls the bridge back when the MSP closes a ticket the
//! bridge made, and the vendor's receiver gets one signed `ticket.closed` — through a
//! `kill -9` of the bridge between taking the callback and sending the webhook. Forged
//! callbacks, a key URL on another host and a ticket the bridge did not make are refused.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use common::{Serving, World, acme_token, api, free_port, kill_9};
use connectwise_sandbox::{Grant, Preset};
use cwbridge_testkit::{Remote, Site, sandbox_get};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "vendor-webhook-secret-1234";

/// What the vendor's receiver saw: every request, and whether it took them.
#[derive(Default)]
struct Receiver {
    /// Answer 503 while set.
    refusing: bool,
    /// (event id, type, body) of every request answered 2xx.
    taken: Vec<(String, String, Value)>,
    /// Requests answered 503.
    refused: usize,
    /// Requests whose signature did not verify.
    forged: usize,
}

type Shared = Arc<Mutex<Receiver>>;

/// Whether `header` is `t=…,v1=…` over `body` with the secret.
fn signed(header: &str, body: &[u8]) -> bool {
    let Some((t, v1)) = header
        .split_once(',')
        .and_then(|(t, v)| Some((t.strip_prefix("t=")?, v.strip_prefix("v1=")?)))
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    hex::decode(v1).is_ok_and(|sig| mac.verify_slice(&sig).is_ok())
}

/// The vendor's webhook receiver on a free port.
async fn receiver() -> (String, Shared) {
    let shared = Shared::default();
    let state = shared.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move {
                let mut r = state.lock().unwrap();
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                if !signed(&header("cwbridge-signature"), &body) {
                    r.forged += 1;
                    return StatusCode::BAD_REQUEST;
                }
                if r.refusing {
                    r.refused += 1;
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let value = serde_json::from_slice(&body).unwrap_or_default();
                r.taken
                    .push((header("cwbridge-event-id"), header("cwbridge-event"), value));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, shared)
}

/// A world whose API member's role also adds and removes ConnectWise callbacks (System >
/// Table Setup: Add and Delete), as the MSP admin grants it to receive by callback.
async fn world_with_callbacks() -> World {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::demo_in(&dir.path().join("sandbox")).await;
    let mut grants = Preset::BillingTickets.grants();
    let table_setup: Grant = "System/Table Setup: inquire=All, add=All, delete=All"
        .parse()
        .unwrap();
    grants.retain(|g| g.function != table_setup.function);
    grants.push(table_setup);
    let key = site.key_for("EasyDMARC", &grants).await;
    World { dir, site, key }
}

/// `cwbridge serve` reachable at `api`'s address, sending webhooks to `hook`.
fn bridge(dir: &Path, api: &Remote, hook: &str) -> Command {
    let secret = dir.join("webhook.secret");
    std::fs::write(&secret, SECRET).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut cmd = common::cwbridge(dir);
    cmd.env("CWBRIDGE_OPERATOR_TOKEN", "op")
        .env("CWBRIDGE_PUBLIC_URL", &api.base)
        .env("CWBRIDGE_WEBHOOK_URL", hook)
        .env("CWBRIDGE_WEBHOOK_SECRET_FILE", &secret)
        .env("CWBRIDGE_ALLOW_HTTP", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

async fn serve(dir: &Path, api: &Remote, hook: &str) -> Child {
    common::serve(&mut bridge(dir, api, hook), api).await
}

/// Polls `check` every 100 ms until it holds, for up to `within`.
async fn eventually(within: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The ticket the bridge made for an alert sent now.
async fn ticket_for_alert(w: &World, api: &Remote) -> i64 {
    let alert = json!({"account": "g-acme", "type": "spf", "summary": "SPF failing", "description": "SPF fails for acme.example"});
    let res = api.send(Method::POST, "/api/v1/alerts", &alert).await;
    assert_eq!(res.status().as_u16(), 202);
    let sent: Value = res.json().await.unwrap();
    let path = format!("/api/v1/alerts/{}", sent["id"]);
    let mut ticket = 0;
    eventually(Duration::from_secs(20), "the ticket is made", async || {
        ticket = api.get(&path).await["ticketId"].as_i64().unwrap_or(0);
        ticket > 0
    })
    .await;
    let _ = w;
    ticket
}

/// The key in the callback URL the bridge registered in ConnectWise.
async fn callback_key(w: &World) -> String {
    let callbacks = sandbox_get(w.sandbox(), "system/callbacks").await;
    let url = callbacks.as_array().unwrap().last().unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    url.rsplit('/').next().unwrap().to_owned()
}

/// Closes a ticket in ConnectWise, as the MSP does.
async fn close(w: &World, ticket: i64) {
    let patch = connectwise_client::Patch::new().replace("status", json!({"name": "Closed"}));
    w.site
        .admin_client()
        .service()
        .tickets()
        .patch(ticket, &patch)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_ticket_reaches_the_vendor_once_through_kill_9() {
    let w = world_with_callbacks().await;
    let dir = w.dir.path();
    let token = acme_token(common::cwbridge(dir)).await;
    let api = api(free_port(), &token, Duration::from_secs(20));
    let (hook, received) = receiver().await;
    let mut serving = Serving(Some(serve(dir, &api, &hook).await));
    common::alerts_set_up(&w, &api).await;
    let operator = Remote::new(api.http.clone(), api.base.clone(), "op");
    let on = json!({"receive": "callback"});
    let res = operator
        .send(Method::PUT, "/api/v1/tenants/1/ticket-events", &on)
        .await;
    let status = res.status().as_u16();
    let on: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{on}");
    assert!(on["callbackId"].is_i64(), "{on}");
    let ticket = ticket_for_alert(&w, &api).await;

    // The vendor is down when the MSP closes the ticket: the callback is taken and the
    // webhook queued, but not delivered.
    received.lock().unwrap().refusing = true;
    close(&w, ticket).await;
    eventually(Duration::from_secs(20), "a first attempt", async || {
        received.lock().unwrap().refused > 0
    })
    .await;
    // The bridge is killed between taking the callback and sending the webhook; the vendor
    // comes back; the bridge starts again.
    kill_9(serving.0.take().unwrap());
    received.lock().unwrap().refusing = false;
    serving.0 = Some(serve(dir, &api, &hook).await);
    eventually(
        Duration::from_secs(60),
        "the webhook is delivered",
        async || !received.lock().unwrap().taken.is_empty(),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    {
        let r = received.lock().unwrap();
        assert_eq!(r.taken.len(), 1, "once: {:?}", r.taken);
        assert_eq!(r.forged, 0);
        let (id, kind, body) = &r.taken[0];
        assert_eq!(kind, "ticket.closed");
        assert_eq!(&body["id"], id);
        assert_eq!(body["ticket"]["id"], ticket);
        assert_eq!(body["ticket"]["closed"], true, "{body}");
    }
    let log = api.get("/api/v1/webhooks").await;
    assert_eq!(log[0]["state"], "delivered", "{log}");
    assert!(log[0]["attempts"].as_i64().unwrap() >= 2, "{log}");

    // Reopened with a note: the note, then the reopen.
    let note = connectwise_client::models::ServiceNote {
        text: Some("Customer says it is back".into()),
        detail_description_flag: Some(true),
        ..Default::default()
    };
    let admin = w.site.admin_client().service();
    admin.ticket_notes(ticket).create(&note).await.unwrap();
    let reopen = connectwise_client::Patch::new().replace("status", json!({"name": "New"}));
    admin.tickets().patch(ticket, &reopen).await.unwrap();
    eventually(
        Duration::from_secs(20),
        "the note and the reopen",
        async || received.lock().unwrap().taken.len() >= 3,
    )
    .await;
    let kinds: Vec<String> = received.lock().unwrap().taken[1..]
        .iter()
        .map(|(_, k, _)| k.clone())
        .collect();
    assert!(kinds.contains(&"ticket.note_added".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"ticket.reopened".to_owned()), "{kinds:?}");

    // Refused: a forged signature, a key URL on another host; ignored: a ticket the bridge
    // did not make, and an internal note. None reaches the vendor.
    let key = callback_key(&w).await;
    let url = format!("{}/connectwise/callbacks/{key}", api.base);
    let key_url = format!("{}/_sandbox/callback-key", w.sandbox().url());
    let payload = |id: i64, key_url: &str| {
        json!({"Type": "ticket", "Action": "updated", "ID": id, "Metadata": {"key_url": key_url}})
            .to_string()
    };
    let signing_key = w.sandbox().callback_signing_key();
    let cases = [
        (
            "forged",
            payload(ticket, &key_url),
            "bm90LXRoZS1zaWduYXR1cmU=".to_owned(),
            401,
        ),
        (
            "a foreign key URL",
            payload(ticket, "https://keys.example.net/key"),
            connectwise_sandbox::callbacks::sign(
                &signing_key,
                payload(ticket, "https://keys.example.net/key").as_bytes(),
            ),
            401,
        ),
        (
            "a ticket the bridge did not make",
            payload(1, &key_url),
            connectwise_sandbox::callbacks::sign(&signing_key, payload(1, &key_url).as_bytes()),
            200,
        ),
    ];
    let before = received.lock().unwrap().taken.len();
    // An internal note is the MSP's own: it never reaches the vendor.
    let internal = connectwise_client::models::ServiceNote {
        text: Some("Internal: the customer's DNS host is slow to answer".into()),
        internal_analysis_flag: Some(true),
        ..Default::default()
    };
    admin.ticket_notes(ticket).create(&internal).await.unwrap();
    for (label, body, signature, want) in cases {
        let res = api
            .http
            .post(&url)
            .header("x-content-signature", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let answer: Value = res.json().await.unwrap_or_default();
        assert_eq!(status, want, "{label}: {answer}");
        if want == 200 {
            assert_eq!(answer["queued"], 0, "{label}: {answer}");
        }
    }
    let unknown = format!("{}/connectwise/callbacks/{}", api.base, "0".repeat(64));
    let res = api.http.post(&unknown).body("{}").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(received.lock().unwrap().taken.len(), before);
    w.site.sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_connectwise_cannot_call_back_the_bridge_polls() {
    let w = common::world().await;
    let dir = w.dir.path();
    let token = acme_token(common::cwbridge(dir)).await;
    let api = api(free_port(), &token, Duration::from_secs(20));
    let (hook, received) = receiver().await;
    let mut cmd = bridge(dir, &api, &hook);
    cmd.env("CWBRIDGE_TICKET_POLL_SECS", "1");
    let _serving = Serving(Some(common::serve(&mut cmd, &api).await));
    common::alerts_set_up(&w, &api).await;
    // Seed 004's role cannot register callbacks; polling needs nothing more than it has.
    let operator = Remote::new(api.http.clone(), api.base.clone(), "op");
    let path = "/api/v1/tenants/1/ticket-events";
    let refused = operator
        .send(Method::PUT, path, &json!({"receive": "callback"}))
        .await;
    let answer: Value = refused.json().await.unwrap();
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Table Setup")),
        "{answer}"
    );
    let on = operator
        .send(Method::PUT, path, &json!({"receive": "poll"}))
        .await;
    assert_eq!(on.status().as_u16(), 200);
    let ticket = ticket_for_alert(&w, &api).await;

    close(&w, ticket).await;

    eventually(Duration::from_secs(20), "the close is polled", async || {
        !received.lock().unwrap().taken.is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let kinds: Vec<String> = received
        .lock()
        .unwrap()
        .taken
        .iter()
        .map(|(_, k, _)| k.clone())
        .collect();
    assert_eq!(kinds, ["ticket.closed"], "once, however many polls see it");
    w.site.sandbox.stop().await;
}
