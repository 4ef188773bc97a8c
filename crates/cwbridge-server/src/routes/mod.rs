//! The routes, mirroring the URLs: one module per resource. Each handler carries its own
//! OpenAPI description; the router and the document are made together from them.

pub mod accounts;
pub mod alerts;
pub mod billing;
pub mod connection;
pub mod lookups;
pub mod openapi;
pub mod params;
pub mod settings;
pub mod tenants;
pub mod ticket_events;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Every `/api` route, and the document describing them.
pub fn api() -> Router<AppState> {
    let (router, mut document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(tenants::create, tenants::list))
        .routes(routes!(tenants::rotate_token, tenants::revoke_tokens))
        .routes(routes!(tenants::put_networks))
        .routes(routes!(
            ticket_events::put,
            ticket_events::show,
            ticket_events::delete
        ))
        .routes(routes!(ticket_events::log))
        .routes(routes!(connection::show, connection::save))
        .routes(routes!(connection::check, connection::last_check))
        .routes(routes!(connection::failures))
        .routes(routes!(accounts::list))
        .routes(routes!(accounts::put, accounts::delete))
        .routes(routes!(accounts::map, accounts::unmap))
        .routes(routes!(accounts::mappings))
        .routes(routes!(billing::put, billing::show))
        .routes(routes!(billing::plan))
        .routes(routes!(billing::apply))
        .routes(routes!(billing::runs))
        .routes(routes!(billing::run))
        .routes(routes!(billing::undo_plan, billing::undo))
        .routes(routes!(alerts::receive, alerts::list))
        .routes(routes!(alerts::show))
        .routes(routes!(alerts::retry))
        .routes(routes!(alerts::put_settings, alerts::settings))
        .routes(routes!(alerts::put_route))
        .routes(routes!(alerts::put_policy))
        .routes(routes!(settings::export, settings::apply))
        .routes(routes!(lookups::companies))
        .routes(routes!(lookups::agreements))
        .routes(routes!(lookups::agreement_types))
        .routes(routes!(lookups::catalog))
        .routes(routes!(lookups::boards))
        .routes(routes!(lookups::priorities))
        .split_for_parts();
    openapi::tenant_token_by_default(&mut document);
    // Serialised once: every request answers the same bytes.
    let body = axum::body::Bytes::from(serde_json::to_vec(&document).unwrap_or_default());
    router.route(
        "/api/openapi.json",
        get(move || {
            let body = body.clone();
            async move { ([(CONTENT_TYPE, "application/json")], body) }
        }),
    )
}
