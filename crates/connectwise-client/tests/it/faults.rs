//! The sandbox's faults: what is retried, what is not, and that nothing is written twice.

use std::time::{Duration, Instant};

use connectwise_client::conditions::field;
use connectwise_client::{Error, ErrorKind, RetryPolicy};
use connectwise_sandbox::LostMode;

use crate::helpers::{Site, create_ticket};

/// How many tickets have this summary.
async fn tickets_named(site: &Site, summary: &str) -> u64 {
    let tickets = site.client().service().tickets();
    let named = tickets.list().conditions(field("summary").eq(summary));
    named.count().await.unwrap()
}

/// Asserts at least `at_least` has passed since `started`, for `why`.
fn assert_took(started: Instant, at_least: Duration, why: &str) {
    let took = started.elapsed();
    assert!(
        took >= at_least,
        "{why}: {took:?}, not at least {at_least:?}"
    );
}

#[tokio::test]
async fn reads_are_retried_through_server_errors() {
    let site = Site::demo().await;
    let client = site.client();
    site.faults(|f| f.fail_next = 3);
    let boards = client.service().boards().list().send().await.unwrap();
    assert!(!boards.is_empty());
    assert_eq!(client.stats().retries, 3);
}

#[tokio::test]
async fn a_throttled_create_waits_out_retry_after_and_is_made_once() {
    // Arrange: a 429 was never carried out, so even a create is retried.
    let site = Site::demo().await;
    let client = site.client();
    site.faults(|f| {
        f.throttle_next = 1;
        f.retry_after_secs = 1;
    });

    // Act
    let started = Instant::now();
    create_ticket(&client, "Throttled").await.unwrap();

    // Assert
    assert_took(started, Duration::from_secs(1), "Retry-After honoured");
    assert_eq!(client.stats().requests, 2);
    assert_eq!(tickets_named(&site, "Throttled").await, 1);
}

#[tokio::test]
async fn a_create_is_not_retried_after_a_server_error_unless_asked() {
    let site = Site::demo().await;
    site.faults(|f| f.fail_next = 1);
    let err = create_ticket(&site.client(), "Not retried")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);

    site.faults(|f| f.fail_next = 1);
    site.client()
        .service()
        .tickets()
        .retry_writes(true)
        .create(&crate::helpers::ticket("Retried"))
        .await
        .unwrap();
    assert_eq!(tickets_named(&site, "Retried").await, 1);
}

#[tokio::test]
async fn a_write_whose_answer_is_lost_is_reported_as_maybe_applied_and_not_repeated() {
    // Arrange: the sandbox writes the ticket, then drops the connection.
    let site = Site::demo().await;
    site.lose_next_write(LostMode::Drop);

    // Act
    let err = create_ticket(&site.client(), "Lost answer")
        .await
        .unwrap_err();

    // Assert
    assert!(err.maybe_applied(), "{err}");
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(tickets_named(&site, "Lost answer").await, 1);
}

#[tokio::test]
async fn a_stalled_write_answer_times_out_and_is_reported_as_maybe_applied() {
    let site = Site::demo().await;
    site.faults(|f| {
        f.lose_next_writes = 1;
        f.lost_response_mode = LostMode::Stall;
        f.stall_secs = 5;
    });
    let client = site.client_with(|b| b.timeout(Duration::from_millis(700)));
    let err = create_ticket(&client, "Stalled").await.unwrap_err();
    assert!(
        matches!(err, Error::Transport { timeout: true, .. }),
        "{err}"
    );
    assert!(err.maybe_applied());
    assert_eq!(tickets_named(&site, "Stalled").await, 1);
}

#[tokio::test]
async fn latency_beyond_the_timeout_fails_reads_after_the_retries() {
    let site = Site::demo().await;
    site.faults(|f| f.latency_ms = 800);
    let client = site.client_with(|b| b.timeout(Duration::from_millis(200)));
    let err = client.service().boards().list().send().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                timeout: true,
                maybe_applied: false,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        client.stats().requests,
        6,
        "the first attempt and five retries"
    );
}

#[tokio::test]
async fn the_request_budget_spaces_requests_evenly() {
    let site = Site::demo().await;
    let client = site.client_with(|b| b.requests_per_second(10.0));
    let started = Instant::now();
    for _ in 0..6 {
        client.service().priorities().list().send().await.unwrap();
    }
    // Six requests at ten a second: the sixth may leave half a second after the first.
    assert_took(started, Duration::from_millis(500), "ten a second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_concurrency_limit_holds_requests_back() {
    let site = Site::demo().await;
    site.faults(|f| f.latency_ms = 300);
    let client = site.client_with(|b| b.max_concurrency(1));
    let priorities = client.service().priorities();
    let started = Instant::now();
    let (a, b, c) = tokio::join!(
        priorities.list().send(),
        priorities.list().send(),
        priorities.list().send()
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    // One at a time: three 300 ms requests take at least 900 ms.
    assert_took(started, Duration::from_millis(900), "one at a time");
}

#[tokio::test]
async fn a_delete_whose_answer_is_lost_still_reports_success() {
    // Arrange
    let site = Site::demo().await;
    let client = site.client();
    let id = create_ticket(&client, "Doomed").await.unwrap().id.unwrap();
    site.lose_next_write(LostMode::Drop);

    // Act: the first DELETE is carried out but its answer lost; the retry finds nothing.
    client.service().tickets().delete(id).await.unwrap();

    // Assert
    assert_eq!(client.stats().retries, 1);
    let gone = client.service().tickets().get(id).await.unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn throttling_that_outlasts_the_retries_is_a_rate_limit_error() {
    let site = Site::demo().await;
    site.faults(|f| {
        f.throttle_next = 10;
        f.retry_after_secs = 0;
    });
    let client = site.client_with(|b| {
        b.retry(RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(10),
        })
    });
    let err = client.service().boards().list().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(err.is_retryable());
    assert_eq!(client.stats().requests, 3);
}

#[tokio::test]
async fn a_create_answered_by_a_server_error_is_reported_as_maybe_applied() {
    let site = Site::demo().await;
    site.faults(|f| f.fail_next = 1);
    let err = create_ticket(&site.client(), "Unsure").await.unwrap_err();
    assert!(err.maybe_applied(), "{err}");
    assert!(!err.is_retryable());
}
