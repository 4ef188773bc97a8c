//! `/api/v1/lookups/…`: what the wizard's pickers offer, read from the tenant's ConnectWise
//! (remembered for a minute).

use axum::Json;
use cwbridge_engine::lookup::{
    AgreementOption, BoardOption, CompanyOption, NamedOption, ProductOption,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, Errors};
use crate::extract::{ApiPath, ApiQuery, TenantCall};
use crate::routes::params::CompanyId;

/// `?search=` for the searchable pickers.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Search {
    /// Text the name or identifier contains (any case).
    #[serde(default)]
    search: Option<String>,
}

/// `GET /api/v1/lookups/companies?search=`.
#[utoipa::path(get, path = "/api/v1/lookups/companies", tag = "lookups", params(Search),
    responses((status = 200, description = "Up to 50 companies", body = [CompanyOption]), Errors))]
pub async fn companies(
    t: TenantCall,
    ApiQuery(q): ApiQuery<Search>,
) -> Result<Json<Vec<CompanyOption>>, ApiError> {
    Ok(Json(
        t.engine.lookup_companies(t.id, q.search.as_deref()).await?,
    ))
}

/// `GET /api/v1/lookups/companies/{id}/agreements`.
#[utoipa::path(get, path = "/api/v1/lookups/companies/{id}/agreements", tag = "lookups", params(CompanyId),
    responses((status = 200, description = "The company's agreements", body = [AgreementOption]), Errors))]
pub async fn agreements(
    t: TenantCall,
    ApiPath(CompanyId(company)): ApiPath<CompanyId>,
) -> Result<Json<Vec<AgreementOption>>, ApiError> {
    Ok(Json(t.engine.lookup_agreements(t.id, company).await?))
}

/// `GET /api/v1/lookups/agreement-types`.
#[utoipa::path(get, path = "/api/v1/lookups/agreement-types", tag = "lookups",
    responses((status = 200, description = "Agreement types", body = [NamedOption]), Errors))]
pub async fn agreement_types(t: TenantCall) -> Result<Json<Vec<NamedOption>>, ApiError> {
    Ok(Json(t.engine.lookup_agreement_types(t.id).await?))
}

/// `GET /api/v1/lookups/catalog?search=`.
#[utoipa::path(get, path = "/api/v1/lookups/catalog", tag = "lookups", params(Search),
    responses((status = 200, description = "Up to 50 active products", body = [ProductOption]), Errors))]
pub async fn catalog(
    t: TenantCall,
    ApiQuery(q): ApiQuery<Search>,
) -> Result<Json<Vec<ProductOption>>, ApiError> {
    Ok(Json(
        t.engine.lookup_catalog(t.id, q.search.as_deref()).await?,
    ))
}

/// `GET /api/v1/lookups/boards`: each with its statuses and types.
#[utoipa::path(get, path = "/api/v1/lookups/boards", tag = "lookups",
    responses((status = 200, description = "Boards with their statuses and types", body = [BoardOption]), Errors))]
pub async fn boards(t: TenantCall) -> Result<Json<Vec<BoardOption>>, ApiError> {
    Ok(Json(t.engine.lookup_boards(t.id).await?))
}

/// `GET /api/v1/lookups/priorities`.
#[utoipa::path(get, path = "/api/v1/lookups/priorities", tag = "lookups",
    responses((status = 200, description = "Priorities", body = [NamedOption]), Errors))]
pub async fn priorities(t: TenantCall) -> Result<Json<Vec<NamedOption>>, ApiError> {
    Ok(Json(t.engine.lookup_priorities(t.id).await?))
}
