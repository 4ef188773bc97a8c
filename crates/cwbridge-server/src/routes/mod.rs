//! The routes, mirroring the URLs: one module per resource.

pub mod connection;
pub mod openapi;
pub mod tenants;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// Every `/api` route.
pub fn api() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi::document))
        .route("/api/v1/tenants", post(tenants::create).get(tenants::list))
        .route(
            "/api/v1/connection",
            get(connection::show).put(connection::save),
        )
        .route(
            "/api/v1/connection/check",
            post(connection::check).get(connection::last_check),
        )
}
