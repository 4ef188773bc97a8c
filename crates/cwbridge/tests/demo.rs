//! `cwbridge demo --auto`, run as a newcomer runs it: everything comes up connected, the
//! wizard's steps are done, tickets and agreement lines appear in the sandbox — and a second
//! run on the same directory picks up where the first left off.

#[path = "support/demo.rs"]
mod demo;

use demo::start;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_comes_up_connected_and_fills_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let demo = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || start(&dir, true)
    })
    .await
    .unwrap();
    assert!(
        demo.lines
            .iter()
            .any(|l| l.contains("The four steps are done")),
        "{:#?}",
        demo.lines
    );
    assert!(
        demo.lines
            .iter()
            .any(|l| l.contains("billing applied: {\"create\": 9}")),
        "{:#?}",
        demo.lines
    );
    let bridge = demo.bridge();
    let token = demo.token();
    let http = reqwest::Client::new();
    let get = |path: &str| {
        http.get(format!("{bridge}{path}"))
            .bearer_auth(&token)
            .send()
    };
    let alerts: Vec<Value> = get("/api/v1/alerts").await.unwrap().json().await.unwrap();
    assert_eq!(alerts.len(), 3);
    assert!(
        alerts.iter().all(|a| a["state"] == "delivered"),
        "{alerts:#?}"
    );
    assert_eq!(alerts.iter().filter(|a| a["action"] == "ticket").count(), 2);
    let mappings: Vec<Value> = get("/api/v1/mappings").await.unwrap().json().await.unwrap();
    assert!(
        mappings.iter().all(|m| !m["account"]["mapping"].is_null()),
        "{mappings:#?}"
    );
    let acme = mappings
        .iter()
        .find(|m| m["account"]["id"] == "grp-acme")
        .unwrap();
    assert_eq!(
        acme["account"]["mapping"]["companyName"],
        "Acme Corporation"
    );
    let plan: Value = get("/api/v1/billing/plan?full=true")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(plan["changes"], serde_json::json!([]), "{plan:#}");
    drop(demo);

    // Again on the same directory: the same tenant and key, nothing billed twice.
    let again = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || start(&dir, true)
    })
    .await
    .unwrap();
    assert_eq!(again.token(), token);
    assert!(
        again
            .lines
            .iter()
            .any(|l| l.contains("billing applied: {}")),
        "{:#?}",
        again.lines
    );
}
