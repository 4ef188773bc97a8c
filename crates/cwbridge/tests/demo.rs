//! `cwbridge demo --auto`, run as a newcomer runs it: everything comes up connected, the
//! wizard's steps are done, tickets and agreement lines appear in the sandbox — and a second
//! run on the same directory picks up where the first left off.

#[path = "support/demo.rs"]
mod demo;

use demo::{Demo, start_in};

/// Asserts that the demo printed a line holding `text`.
fn assert_printed(demo: &Demo, text: &str) {
    let printed = demo.lines.iter().any(|l| l.contains(text));
    assert!(printed, "no {text:?} in {:#?}", demo.lines);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_comes_up_connected_and_fills_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let demo = start_in(dir.path(), true).await;
    assert_printed(&demo, "The four steps are done");
    assert_printed(&demo, "billing applied: {\"create\": 9}");
    let token = demo.token();
    let api = demo.api();
    let alerts = api.get("/api/v1/alerts").await;
    let alerts = alerts.as_array().unwrap();
    assert_eq!(alerts.len(), 3);
    assert!(
        alerts.iter().all(|a| a["state"] == "delivered"),
        "{alerts:#?}"
    );
    assert_eq!(alerts.iter().filter(|a| a["action"] == "ticket").count(), 2);
    let mappings = api.get("/api/v1/mappings").await;
    let mappings = mappings.as_array().unwrap();
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
    let plan = api.get("/api/v1/billing/plan?full=true").await;
    assert_eq!(plan["changes"], serde_json::json!([]), "{plan:#}");
    drop(demo);

    // Again on the same directory: the same tenant and key, nothing billed twice.
    let again = start_in(dir.path(), true).await;
    assert_eq!(again.token(), token);
    assert_printed(&again, "billing applied: {}");
}
