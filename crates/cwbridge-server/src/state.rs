//! What every handler can reach.

use cwbridge_engine::Engine;

/// The server's shared state.
#[derive(Clone)]
pub struct AppState {
    /// The engine.
    pub engine: Engine,
    /// SHA-256 (hex) of the operator token; `None` turns the operator routes off.
    pub operator_token_hash: Option<String>,
    /// Whether browsers reach the bridge over https (its public URL is `https://…`): the
    /// wizard's cookies are then `Secure` whatever the proxy in front says.
    pub public_https: bool,
    /// The process's Prometheus recorder, when metrics are on.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Whether this process runs the alert worker (readiness then requires it).
    pub runs_worker: bool,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("engine", &self.engine)
            .field(
                "operator_token",
                &self.operator_token_hash.as_ref().map(|_| "<set>"),
            )
            .field("public_https", &self.public_https)
            .field("metrics", &self.metrics.is_some())
            .field("runs_worker", &self.runs_worker)
            .finish()
    }
}
