//! `/api/v1/billing`: settings (step 2), the plan, apply, and the history of runs.

use axum::Json;
use axum::extract::State;
use cwbridge_engine::billing::runs::RunView;
use cwbridge_engine::billing::settings::BillingInput;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, CurrentTenant, JsonBody};
use crate::state::AppState;

/// `PUT /api/v1/billing`.
pub async fn put(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<BillingInput>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        state.engine.set_billing(tenant.id, &input).await?
    )))
}

/// `GET /api/v1/billing`.
pub async fn show(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.engine.billing(tenant.id).await?)))
}

/// `?full=true` reads every agreement with lines (finding hand edits everywhere).
#[derive(Debug, Deserialize)]
pub struct PlanQuery {
    #[serde(default)]
    full: bool,
}

/// `GET /api/v1/billing/plan`: what apply would change, before anything is written.
pub async fn plan(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PlanQuery>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        state.engine.billing_plan(tenant.id, q.full).await?
    )))
}

/// `POST /api/v1/billing/apply?full=true`: carries out the plan (`full` as for the plan).
pub async fn apply(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PlanQuery>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        state.engine.billing_apply(tenant.id, q.full).await?
    )))
}

/// `GET /api/v1/billing/runs`: the latest runs, newest first.
pub async fn runs(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
) -> Result<Json<Vec<RunView>>, ApiError> {
    Ok(Json(state.engine.billing_runs(tenant.id, None, 50).await?))
}

/// `GET /api/v1/billing/runs/{id}`: one run's changes, in order.
pub async fn run(
    CurrentTenant(tenant): CurrentTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let (_, changes) = state.engine.billing_run(tenant.id, id).await?;
    Ok(Json(json!({ "id": id, "changes": changes })))
}
