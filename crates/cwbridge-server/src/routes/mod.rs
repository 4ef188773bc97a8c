//! The routes, mirroring the URLs: one module per resource.

pub mod accounts;
pub mod alerts;
pub mod billing;
pub mod connection;
pub mod lookups;
pub mod openapi;
pub mod tenants;

use axum::Router;
use axum::routing::{get, post, put};

use crate::state::AppState;

/// Every `/api` route.
pub fn api() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi::document))
        .route("/api/v1/tenants", post(tenants::create).get(tenants::list))
        .route(
            "/api/v1/tenants/{id}/token",
            post(tenants::rotate_token).delete(tenants::revoke_tokens),
        )
        .route("/api/v1/tenants/{id}/networks", put(tenants::put_networks))
        .route(
            "/api/v1/connection",
            get(connection::show).put(connection::save),
        )
        .route(
            "/api/v1/connection/check",
            post(connection::check).get(connection::last_check),
        )
        .route("/api/v1/connection/failures", get(connection::failures))
        .route("/api/v1/accounts", get(accounts::list))
        .route(
            "/api/v1/accounts/{id}",
            put(accounts::put).delete(accounts::delete),
        )
        .route(
            "/api/v1/accounts/{id}/mapping",
            put(accounts::map).delete(accounts::unmap),
        )
        .route("/api/v1/mappings", get(accounts::mappings))
        .route("/api/v1/billing", put(billing::put).get(billing::show))
        .route("/api/v1/billing/plan", get(billing::plan))
        .route("/api/v1/billing/apply", post(billing::apply))
        .route("/api/v1/billing/runs", get(billing::runs))
        .route("/api/v1/billing/runs/{id}", get(billing::run))
        .route("/api/v1/alerts", post(alerts::receive).get(alerts::list))
        .route("/api/v1/alerts/{id}", get(alerts::show))
        .route("/api/v1/alerts/{id}/retry", post(alerts::retry))
        .route(
            "/api/v1/tickets",
            put(alerts::put_settings).get(alerts::settings),
        )
        .route("/api/v1/accounts/{id}/alerts", put(alerts::put_route))
        .route("/api/v1/alert-types/{type}", put(alerts::put_policy))
        .route("/api/v1/lookups/companies", get(lookups::companies))
        .route(
            "/api/v1/lookups/companies/{id}/agreements",
            get(lookups::agreements),
        )
        .route(
            "/api/v1/lookups/agreement-types",
            get(lookups::agreement_types),
        )
        .route("/api/v1/lookups/catalog", get(lookups::catalog))
        .route("/api/v1/lookups/boards", get(lookups::boards))
        .route("/api/v1/lookups/priorities", get(lookups::priorities))
}
