//! Every request is traced, and no credential reaches the log. A test binary of its own:
//! the subscriber is process-wide, so no other test's callsites race it.

// The integration tests' helpers; this binary uses only the sandbox and the client.
#[allow(dead_code)]
#[path = "it/helpers.rs"]
mod helpers;

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::helpers::Site;

/// Collects everything written to the log.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_request_is_logged_in_its_span_without_credentials() {
    // Arrange: log everything, at every level.
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    let site = Site::demo().await;
    let creds = site.credentials();

    // Act
    site.client()
        .service()
        .boards()
        .list()
        .send()
        .await
        .unwrap();

    // Assert
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("connectwise.request"), "{log}");
    assert!(log.contains("http.status=200"), "{log}");
    assert!(
        !log.contains(&creds.private_key),
        "the private key is logged"
    );
    assert!(!log.contains("Basic "), "an Authorization header is logged");
}
