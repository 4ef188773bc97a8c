//! `/api/v1/billing`: settings (step 2), the plan, apply, the history of runs, and undoing
//! one.

use axum::Json;
use cwbridge_engine::billing::apply::{ApplyReport, Plan};
use cwbridge_engine::billing::runs::{ChangeView, RunView};
use cwbridge_engine::billing::settings::{BillingInput, BillingView};
use cwbridge_engine::billing::undo::{UndoPlan, UndoReport};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, Errors};
use crate::extract::{ApiPath, ApiQuery, JsonBody, TenantCall};
use crate::routes::params::RunId;

/// `PUT /api/v1/billing`.
#[utoipa::path(put, path = "/api/v1/billing", tag = "billing",
    request_body = BillingInput,
    responses((status = 200, description = "The settings as saved, with the product's details", body = BillingView), Errors))]
pub async fn put(
    t: TenantCall,
    JsonBody(input): JsonBody<BillingInput>,
) -> Result<Json<BillingView>, ApiError> {
    Ok(Json(t.engine.set_billing(t.id, &input).await?))
}

/// `GET /api/v1/billing`.
#[utoipa::path(get, path = "/api/v1/billing", tag = "billing",
    responses((status = 200, description = "The billing settings", body = BillingView), Errors))]
pub async fn show(t: TenantCall) -> Result<Json<BillingView>, ApiError> {
    Ok(Json(t.engine.billing(t.id).await?))
}

/// `?full=true` reads every agreement with lines (finding hand edits everywhere).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlanQuery {
    /// Read every agreement the bridge has lines on first, to catch hand edits.
    #[serde(default)]
    full: bool,
}

/// `GET /api/v1/billing/plan`: what apply would change, before anything is written.
#[utoipa::path(get, path = "/api/v1/billing/plan", tag = "billing", params(PlanQuery),
    responses((status = 200, description = "The changes Apply would make", body = Plan), Errors))]
pub async fn plan(t: TenantCall, ApiQuery(q): ApiQuery<PlanQuery>) -> Result<Json<Plan>, ApiError> {
    Ok(Json(t.engine.billing_plan(t.id, q.full).await?))
}

/// `POST /api/v1/billing/apply?full=true`: carries out the plan (`full` as for the plan).
#[utoipa::path(post, path = "/api/v1/billing/apply", tag = "billing", params(PlanQuery),
    responses((status = 200, description = "What the run did", body = ApplyReport), Errors))]
pub async fn apply(
    t: TenantCall,
    ApiQuery(q): ApiQuery<PlanQuery>,
) -> Result<Json<ApplyReport>, ApiError> {
    Ok(Json(t.engine.billing_apply(t.id, q.full).await?))
}

/// `GET /api/v1/billing/runs`: the latest runs, newest first.
#[utoipa::path(get, path = "/api/v1/billing/runs", tag = "billing",
    responses((status = 200, description = "The latest 50 runs, newest first", body = [RunView]), Errors))]
pub async fn runs(t: TenantCall) -> Result<Json<Vec<RunView>>, ApiError> {
    Ok(Json(t.engine.billing_runs(t.id, None, 50).await?))
}

/// `GET /api/v1/billing/runs/{id}`: one run's changes, in order.
#[utoipa::path(get, path = "/api/v1/billing/runs/{id}", tag = "billing", params(RunId),
    responses((status = 200, description = "The run's changes, in order", body = RunChanges), Errors))]
pub async fn run(
    t: TenantCall,
    ApiPath(RunId(id)): ApiPath<RunId>,
) -> Result<Json<RunChanges>, ApiError> {
    let (_, changes) = t.engine.billing_run(t.id, id).await?;
    Ok(Json(RunChanges { id, changes }))
}

/// A run's changes, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunChanges {
    /// The run's id.
    id: i64,
    /// What it did, one change at a time.
    changes: Vec<ChangeView>,
}

/// `GET /api/v1/billing/runs/{id}/undo`: what undoing the run would change, before anything
/// is written.
#[utoipa::path(get, path = "/api/v1/billing/runs/{id}/undo", tag = "billing", params(RunId),
    responses((status = 200, description = "The inverse of each change the run made, and the lines left alone with why", body = UndoPlan), Errors))]
pub async fn undo_plan(
    t: TenantCall,
    ApiPath(RunId(id)): ApiPath<RunId>,
) -> Result<Json<UndoPlan>, ApiError> {
    Ok(Json(t.engine.billing_undo_plan(t.id, id).await?))
}

/// `POST /api/v1/billing/runs/{id}/undo`: undoes the run, as a run of its own (undo that
/// run to make the changes again).
#[utoipa::path(post, path = "/api/v1/billing/runs/{id}/undo", tag = "billing", params(RunId),
    responses((status = 200, description = "What the undo did; its own run is `runId`", body = UndoReport), Errors))]
pub async fn undo(
    t: TenantCall,
    ApiPath(RunId(id)): ApiPath<RunId>,
) -> Result<Json<UndoReport>, ApiError> {
    Ok(Json(t.engine.billing_undo(t.id, id).await?))
}
