//! Spans exported over OpenTelemetry's OTLP (the `otel` feature): `cwbridge serve` with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a local receiver sends it the API request's span
//! (with its request id) and the ConnectWise calls made inside it, flushed when it stops.
//!
//! Run with `cargo test -p cwbridge --features otel --test otel` (`.ci/run` does).
#![cfg(feature = "otel")]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Serving, acme_token, api, free_port, world};
use reqwest::Method;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// What the receiver was sent: each request's path and body.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// An OTLP/HTTP collector as far as the exporter can tell: it answers every POST 200 and
/// keeps what it was sent. (HTTP/1.1 with `Content-Length`, as the exporter sends.)
async fn receiver() -> (u16, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received: Received = Arc::default();
    let kept = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                loop {
                    let mut request_line = String::new();
                    if stream.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let path = request_line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or_default()
                        .to_owned();
                    let mut length = 0usize;
                    loop {
                        let mut header = String::new();
                        stream.read_line(&mut header).await.unwrap();
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    stream.read_exact(&mut body).await.unwrap();
                    kept.lock().unwrap().push((path, body));
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                    stream.get_mut().write_all(answer).await.unwrap();
                }
            });
        }
    });
    (port, received)
}

/// Whether `haystack` holds `needle` (protobuf keeps strings as they are).
fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_an_otlp_collector_with_the_request_id_and_the_connectwise_calls() {
    // Arrange: a tenant, and `cwbridge serve` exporting to the receiver.
    let (collector, received) = receiver().await;
    let w = world().await;
    let token = acme_token(common::cwbridge(w.dir.path())).await;
    let api = api(free_port(), &token, Duration::from_secs(30));
    let mut cmd = common::cwbridge(w.dir.path());
    cmd.env(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("http://127.0.0.1:{collector}"),
    )
    .env("OTEL_SERVICE_NAME", "cwbridge-under-test")
    .env_remove("CWBRIDGE_LOG")
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    let mut server = Serving(Some(common::serve(&mut cmd, &api).await));

    // Act: saving the connection checks it (ConnectWise calls inside the request), then the
    // bridge is stopped, which flushes what is batched.
    let saved = api
        .request(Method::PUT, "/api/v1/connection")
        .header("X-Request-Id", "otel-trace-1")
        .json(&w.connection())
        .send()
        .await
        .unwrap();
    assert!(saved.status().is_success());
    assert!(server.stop().await.success());

    // Assert: the spans were posted to /v1/traces, with the service, the request's span and
    // id, and the ConnectWise calls (logs at the default `warn` change nothing).
    let received = received.lock().unwrap().clone();
    assert!(!received.is_empty(), "nothing was exported");
    assert!(received.iter().all(|(path, _)| path == "/v1/traces"));
    let everything: Vec<u8> = received.into_iter().flat_map(|(_, body)| body).collect();
    for needle in [
        "cwbridge-under-test",
        "http.request",
        "otel-trace-1",
        "/api/v1/connection",
        "connectwise.request",
        "company/companies",
    ] {
        assert!(
            holds(&everything, needle),
            "no `{needle}` in what was exported"
        );
    }
    w.site.sandbox.stop().await;
}
