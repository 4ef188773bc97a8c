//! What operations reach: `/healthz` (the process serves), `/readyz` (database, migrations
//! and alert worker), `/metrics` (Prometheus text), and a span per request carrying its
//! request id — taken from the caller's `X-Request-Id` when it is short and plain, made up
//! otherwise, and returned in the answer's `X-Request-Id`.
//!
//! The id and span are one small middleware rather than tower-http's request-id and trace
//! layers: those keep whatever id a caller sends, and an id from outside must be bounded
//! before it reaches every log line.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;

use crate::extract::Operator;
use crate::state::AppState;

/// The header carrying a request's id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id taken from a caller.
const MAX_REQUEST_ID: usize = 128;

/// API requests answered, by `route` (the route's pattern, `unmatched` for none), `method`
/// and `status` class.
pub const HTTP_REQUESTS: &str = "cwbridge_http_requests_total";
/// Each API request's time to its answer, by `route`.
pub const HTTP_SECONDS: &str = "cwbridge_http_request_duration_seconds";

/// Histogram buckets, in seconds, for every latency this service measures: from a fast
/// local answer to a delivery that waited out retries.
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Installs the process's Prometheus recorder; every `metrics` call in the process reaches
/// it from then on. Call once, before serving.
pub fn install_recorder() -> Result<PrometheusHandle, String> {
    PrometheusBuilder::new()
        .set_buckets(&BUCKETS)
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))
}

/// `/healthz` and `/readyz`, open to anyone (they tell nothing of tenants), and `/metrics`
/// behind the operator token.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_with_token))
}

/// Serves a separate metrics listener (`--metrics-listen`): `/metrics` without a token, for
/// a scraper on a private network, and the probes.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    state: AppState,
) -> std::io::Result<()> {
    let router = Router::new()
        .route("/metrics", get(metrics_open))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state);
    axum::serve(listener, router).await
}

/// `GET /healthz`: 200 while the process serves.
async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

/// `GET /readyz`: 200 when the database answers with this build's schema and the alert
/// worker runs; 503 (with the part that is not) otherwise.
async fn readyz(State(state): State<AppState>) -> Response {
    let readiness = state.engine.readiness(state.runs_worker).await;
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(readiness)).into_response()
}

async fn metrics_with_token(State(state): State<AppState>, _operator: Operator) -> Response {
    render_metrics(&state).await
}

async fn metrics_open(State(state): State<AppState>) -> Response {
    render_metrics(&state).await
}

/// The measurements in Prometheus' text format, the gauges read now.
async fn render_metrics(state: &AppState) -> Response {
    let Some(handle) = &state.metrics else {
        return crate::error::ApiError::not_found("metrics are not turned on for this instance")
            .into_response();
    };
    if let Err(e) = state.engine.measure_gauges().await {
        tracing::warn!(error = %e, "reading the queue gauges failed");
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        handle.render(),
    )
        .into_response()
}

/// A caller's request id, when it is 1 to 128 letters, digits and `-_.:`.
fn acceptable_id(value: &HeaderValue) -> Option<&str> {
    let id = value.to_str().ok()?;
    let plain = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    (!id.is_empty() && id.len() <= MAX_REQUEST_ID && plain).then_some(id)
}

/// The outer middleware: the request's id and span, its measurements, and the id in the
/// answer.
pub async fn request_span(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(acceptable_id)
        .map_or_else(|| format!("{:016x}", rand::random::<u64>()), str::to_owned);
    let method = request.method().clone();
    let span = tracing::info_span!(
        "http.request",
        request.id = %id,
        http.method = %method,
        http.route = tracing::field::Empty,
        tenant.id = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let took = started.elapsed();
    let status = response.status();
    let route = response
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    // At debug, as tower-http's access lines are: at thousands of requests a second, one
    // info line each would cost more than the request (docs/BENCHMARKS.md).
    span.in_scope(|| {
        tracing::debug!(
            http.status = status.as_u16(),
            duration_ms = took.as_millis() as u64,
            "answered"
        )
    });
    let class = match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics::counter!(HTTP_REQUESTS, "route" => route.clone(), "method" => method.to_string(), "status" => class)
        .increment(1);
    metrics::histogram!(HTTP_SECONDS, "route" => route).record(took.as_secs_f64());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The inner middleware, on matched routes only: names the route in the span and hands its
/// pattern out to [`request_span`].
pub async fn name_route(request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().cloned();
    if let Some(path) = &matched {
        tracing::Span::current().record("http.route", path.as_str());
    }
    let mut response = next.run(request).await;
    if let Some(path) = matched {
        response.extensions_mut().insert(path);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callers_id_is_kept_only_when_short_and_plain() {
        let ok = HeaderValue::from_static("3f2a-77.b:c_d");
        assert_eq!(acceptable_id(&ok), Some("3f2a-77.b:c_d"));
        for bad in ["", "has space", "semi;colon", "ü"] {
            let value = HeaderValue::from_bytes(bad.as_bytes()).unwrap();
            assert_eq!(acceptable_id(&value), None, "{bad:?}");
        }
        let long = HeaderValue::from_str(&"a".repeat(MAX_REQUEST_ID + 1)).unwrap();
        assert_eq!(acceptable_id(&long), None);
        let longest = HeaderValue::from_str(&"a".repeat(MAX_REQUEST_ID)).unwrap();
        assert!(acceptable_id(&longest).is_some());
    }
}
