#![doc = include_str!("../README.md")]
// The OpenAPI document is one `json!` literal, deeper than the default limit allows.
#![recursion_limit = "256"]

// JSON error answers.
pub mod error;
// Who is calling, and bodies that name their bad field.
pub mod extract;
// The routes, by URL.
pub mod routes;
// Probes, metrics and the request span.
pub mod ops;
// Shared state.
pub mod state;
// The web wizard and status pages.
pub mod web;

use std::net::SocketAddr;

use axum::Router;
use axum::http::{StatusCode, Uri};
use tokio::net::TcpListener;

pub use metrics_exporter_prometheus::PrometheusHandle;
pub use state::AppState;

use crate::error::ApiError;

/// The largest request body the API reads; a larger one is answered 413.
pub const MAX_BODY_BYTES: usize = 2 << 20;

/// The router with every route and JSON 404s.
pub fn router(state: AppState) -> Router {
    routes::api()
        .merge(web::routes())
        .merge(ops::routes())
        .route(
            "/connectwise/callbacks/{key}",
            axum::routing::post(routes::ticket_events::callback),
        )
        .route_layer(axum::middleware::from_fn(ops::name_route))
        .fallback(|uri: Uri| async move {
            ApiError::not_found(format!("no route {}: see /api/openapi.json", uri.path()))
        })
        .method_not_allowed_fallback(|| async {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                axum::Json(serde_json::json!({"error": {"code": "method_not_allowed", "message": "this route does not take that method: see /api/openapi.json"}})),
            )
        })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(ops::request_span))
        .with_state(state)
}

/// A bound, not yet serving, server (zero2prod's `Application`): bind first, so tests can
/// use port 0 and read the port.
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Binds `addr` and builds the routes.
    pub async fn bind(addr: SocketAddr, state: AppState) -> std::io::Result<Application> {
        Ok(Application {
            listener: TcpListener::bind(addr).await?,
            router: router(state),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}
