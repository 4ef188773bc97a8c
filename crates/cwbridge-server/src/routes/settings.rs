//! `/api/v1/settings`: the tenant's settings as one document (the engine's `settings`
//! module): read whole, or applied — checked whole first, then written in one go.

use axum::Json;
use cwbridge_engine::settings::{ApplyOptions, SettingsDiff, SettingsDocument};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, Errors};
use crate::extract::{ApiQuery, JsonBody, TenantCall};

/// `GET /api/v1/settings`: the connection (never its private key), billing, ticket
/// defaults, mappings, alert routes and policies, with names and ids.
#[utoipa::path(get, path = "/api/v1/settings", tag = "settings",
    responses((status = 200, description = "The tenant's settings as a document `PUT` takes back", body = SettingsDocument), Errors))]
pub async fn export(t: TenantCall) -> Result<Json<SettingsDocument>, ApiError> {
    Ok(Json(t.engine.export_settings(t.id).await?))
}

/// `?dryRun=true` answers the difference and writes nothing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ApplyQuery {
    /// Answer the difference without writing.
    #[serde(default)]
    dry_run: bool,
}

/// `PUT /api/v1/settings`: makes the settings what the document says (sections it leaves
/// out stay as they are), all of it or — when any part is refused, named by its path such
/// as `mappings[3].companyId` — none. A connection that changes its site, company or
/// public key needs its private key, which a document never holds: save it with
/// `PUT /api/v1/connection` first.
#[utoipa::path(put, path = "/api/v1/settings", tag = "settings", params(ApplyQuery),
    request_body = SettingsDocument,
    responses((status = 200, description = "The difference, applied unless a dry run", body = SettingsDiff), Errors))]
pub async fn apply(
    t: TenantCall,
    ApiQuery(q): ApiQuery<ApplyQuery>,
    JsonBody(doc): JsonBody<SettingsDocument>,
) -> Result<Json<SettingsDiff>, ApiError> {
    let options = ApplyOptions {
        private_key: None,
        dry_run: q.dry_run,
    };
    Ok(Json(t.engine.apply_settings(t.id, &doc, options).await?))
}
