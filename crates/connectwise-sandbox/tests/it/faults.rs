//! Faults on demand, as integrators meet them in the field: 5xx, 429 with `Retry-After`, a
//! per-member rate limit, latency, lost write responses and a codebase upgrade.

use std::time::{Duration, Instant};

use connectwise_sandbox::LostMode;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{Api, TestSandbox, demo};

#[tokio::test]
async fn fail_next_answers_503_once_then_recovers() {
    // Arrange
    let (sb, api) = demo().await;
    sb.set_faults(|f| f.fail_next = 1);

    // Act
    let failed = api.get("service/boards").await;
    let retried = api.get("service/boards").await;

    // Assert
    assert_eq!(failed.status, 503, "{}", failed.text);
    assert!(
        failed.body["message"].is_string(),
        "ConnectWise error JSON: {}",
        failed.text
    );
    retried.expect_status(200);
}

#[tokio::test]
async fn throttle_next_answers_429_with_retry_after() {
    let (sb, api) = demo().await;
    sb.set_faults(|f| {
        f.throttle_next = 1;
        f.retry_after_secs = 3;
    });

    let throttled = api.get("service/boards").await;
    let next = api.get("service/boards").await;

    assert_eq!(throttled.status, 429, "{}", throttled.text);
    assert_eq!(throttled.header("retry-after"), Some("3"));
    next.expect_status(200);
}

#[tokio::test]
async fn a_member_rate_limit_throttles_the_request_past_it() {
    let (sb, api) = demo().await;
    sb.set_faults(|f| f.member_rate_limit = Some(2));

    let first = api.get("system/info").await;
    let second = api.get("system/info").await;
    let third = api.get("system/info").await;

    first.expect_status(200);
    second.expect_status(200);
    assert_eq!(third.status, 429, "{}", third.text);
    assert!(third.header("retry-after").is_some(), "{:?}", third.headers);
}

#[tokio::test]
async fn latency_delays_a_request() {
    // A behaviour check, not a benchmark: one request, a generous lower bound only.
    let (sb, api) = demo().await;
    api.get("system/info").await.expect_status(200); // connection already open
    sb.set_faults(|f| f.latency_ms = 200);

    let started = Instant::now();
    api.get("system/info").await.expect_status(200);

    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
}

/// Loses the response to one company create and checks that the client saw no answer while
/// the company was created, once.
async fn assert_lost_write_is_applied_once(sb: &TestSandbox, api: &Api, identifier: &str) {
    // Arrange
    sb.set_faults(|f| {
        f.lose_next_writes = 1;
        f.lost_response_mode = LostMode::Drop;
    });

    // Act
    let company = json!({"identifier": identifier, "name": "Lost Response Co"});
    let sent = api
        .try_call(Method::POST, "company/companies", Some(&company))
        .await;

    // Assert: no answer reached the client…
    assert!(
        sent.is_err(),
        "expected a transport error, got {:?}",
        sent.map(|r| r.status)
    );
    // …yet the company exists, and only once.
    let conditions = format!("identifier = \"{identifier}\"");
    let found = api
        .list_query("company/companies", &[("conditions", &conditions)])
        .await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["name"], "Lost Response Co");
}

#[tokio::test]
async fn a_lost_write_response_fails_the_request_but_the_write_happened() {
    let sb = TestSandbox::demo().await;
    assert_lost_write_is_applied_once(&sb, &sb.api(), "LostCo").await;
}

#[tokio::test]
async fn a_lost_write_response_over_http1_fails_the_request_but_the_write_happened() {
    // Many ConnectWise clients speak HTTP/1.1 only.
    let sb = TestSandbox::demo().await;
    assert_lost_write_is_applied_once(&sb, &sb.api_http1(), "LostOne").await;
}

#[tokio::test]
async fn an_upgrade_moves_the_api_to_the_new_codebase() {
    // Arrange
    let (sb, old) = demo().await;
    old.get("service/boards").await.expect_status(200);

    // Act
    sb.sandbox.upgrade("v2026_1/");

    // Assert: the old path is gone…
    old.get("service/boards").await.expect_status(404);
    // …companyinfo reports the new codebase…
    let info = sb.companyinfo("sandbox").await;
    assert_eq!(info.body["Codebase"], "v2026_1/");
    // …and the new path works.
    let new = old.with_base(format!("{}/v2026_1/apis/3.0/", sb.origin()));
    let boards = new.list("service/boards").await;
    assert_eq!(sb.api().base(), new.base(), "api_url follows the upgrade");
    // Links in answers point at the new codebase.
    let tickets = new.list("service/tickets").await;
    let href = tickets[0]["board"]["_info"]["board_href"].as_str().unwrap();
    assert!(href.contains("/v2026_1/apis/3.0/"), "{href}");
    assert!(!boards.is_empty());
}
