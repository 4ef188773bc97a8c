//! What every handler can reach.

use cwbridge_engine::Engine;

/// The server's shared state.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The engine.
    pub engine: Engine,
    /// SHA-256 (hex) of the operator token; `None` turns the operator routes off.
    pub operator_token_hash: Option<String>,
    /// Whether browsers reach the bridge over https (its public URL is `https://…`): the
    /// wizard's cookies are then `Secure` whatever the proxy in front says.
    pub public_https: bool,
}
