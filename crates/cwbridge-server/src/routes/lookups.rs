//! `/api/v1/lookups/…`: what the wizard's pickers offer, read from the tenant's ConnectWise
//! (remembered for a minute).

use axum::Json;
use axum::extract::State;
use cwbridge_engine::lookup::{
    AgreementOption, BoardOption, CompanyOption, NamedOption, ProductOption,
};
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, CurrentTenant};
use crate::state::AppState;

/// `?search=` for the searchable pickers.
#[derive(Debug, Deserialize)]
pub struct Search {
    #[serde(default)]
    search: Option<String>,
}

/// `GET /api/v1/lookups/companies?search=`.
pub async fn companies(
    CurrentTenant(t): CurrentTenant,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<Search>,
) -> Result<Json<Vec<CompanyOption>>, ApiError> {
    Ok(Json(
        state
            .engine
            .lookup_companies(t.id, q.search.as_deref())
            .await?,
    ))
}

/// `GET /api/v1/lookups/companies/{id}/agreements`.
pub async fn agreements(
    CurrentTenant(t): CurrentTenant,
    State(state): State<AppState>,
    ApiPath(company): ApiPath<i64>,
) -> Result<Json<Vec<AgreementOption>>, ApiError> {
    Ok(Json(state.engine.lookup_agreements(t.id, company).await?))
}

/// `GET /api/v1/lookups/agreement-types`.
pub async fn agreement_types(
    CurrentTenant(t): CurrentTenant,
    State(state): State<AppState>,
) -> Result<Json<Vec<NamedOption>>, ApiError> {
    Ok(Json(state.engine.lookup_agreement_types(t.id).await?))
}

/// `GET /api/v1/lookups/catalog?search=`.
pub async fn catalog(
    CurrentTenant(t): CurrentTenant,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<Search>,
) -> Result<Json<Vec<ProductOption>>, ApiError> {
    Ok(Json(
        state
            .engine
            .lookup_catalog(t.id, q.search.as_deref())
            .await?,
    ))
}

/// `GET /api/v1/lookups/boards`: each with its statuses and types.
pub async fn boards(
    CurrentTenant(t): CurrentTenant,
    State(state): State<AppState>,
) -> Result<Json<Vec<BoardOption>>, ApiError> {
    Ok(Json(state.engine.lookup_boards(t.id).await?))
}

/// `GET /api/v1/lookups/priorities`.
pub async fn priorities(
    CurrentTenant(t): CurrentTenant,
    State(state): State<AppState>,
) -> Result<Json<Vec<NamedOption>>, ApiError> {
    Ok(Json(state.engine.lookup_priorities(t.id).await?))
}
