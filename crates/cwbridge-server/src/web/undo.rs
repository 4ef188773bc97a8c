//! Undoing a billing run from its page: the undo's plan (the inverse of each change, and the
//! lines left alone with why), then "Undo this run", which carries it out as a run of its own.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cwbridge_engine::EngineError;
use cwbridge_engine::billing::apply::Plan;
use cwbridge_engine::billing::undo::UndoPlan;

use super::views::{PROBLEMS_LISTED, PlanView, plan_view};
use super::{Chrome, Page, SessionForm, Visit, failure_page, frame, or_page, see_other};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "undo.html")]
struct UndoPage {
    chrome: Chrome,
    /// The run undone.
    run: i64,
    /// The undo's changes in words, paged as a plan's are.
    plan: PlanView,
    /// Lines left alone: key, addition, why (the first few).
    skipped: Vec<(String, String, String)>,
    /// How many more were left alone.
    more_skipped: usize,
}

/// The errors a page says in words rather than as a failure of its own.
fn told(e: &EngineError) -> bool {
    matches!(
        e,
        EngineError::NotFound(_)
            | EngineError::Invalid { .. }
            | EngineError::Conflict(_)
            | EngineError::RunInProgress { .. }
            | EngineError::ConnectWise(_)
    )
}

/// `GET /billing/runs/{id}/undo`: what undoing the run would change, with the button that
/// does it.
pub async fn undo_page(Path(id): Path<i64>, visit: Visit) -> Page {
    let (state, session, query) = visit.parts();
    let t = session.tenant.id;
    let undo: UndoPlan = match state.engine.billing_undo_plan(t, id).await {
        Ok(plan) => plan,
        Err(e) if told(&e) => {
            return Err(super::problem_page(
                StatusCode::CONFLICT,
                "This run cannot be undone now",
                &e.to_string(),
            ));
        }
        Err(e) => return Err(failure_page(&e.to_string())),
    };
    let accounts = or_page(state.engine.accounts(t).await)?;
    let as_plan = Plan {
        changes: undo.changes.iter().map(|s| s.change.clone()).collect(),
        problems: Vec::new(),
        billable_total: 0.0,
        lines: 0,
        requests: undo.requests,
    };
    let href = |n: usize| format!("/billing/runs/{id}/undo?page={n}");
    let plan = plan_view(&as_plan, &accounts, query.page_number(), href);
    let skipped = undo
        .skipped
        .iter()
        .take(PROBLEMS_LISTED)
        .map(|s| {
            let addition = s.addition_id.map(|a| format!("#{a}")).unwrap_or_default();
            (s.key.clone(), addition, s.reason.clone())
        })
        .collect();
    let title = format!("Undo billing run {id}");
    let chrome = frame(&state, &session, &title, "/billing", &query).await?;
    Ok(super::render(
        StatusCode::OK,
        &UndoPage {
            chrome,
            run: id,
            plan,
            skipped,
            more_skipped: undo.skipped.len().saturating_sub(PROBLEMS_LISTED),
        },
    ))
}

/// `POST /billing/runs/{id}/undo`: undoes the run; shows the undo's own run.
pub async fn undo(State(state): State<AppState>, Path(id): Path<i64>, form: SessionForm) -> Page {
    match state.engine.billing_undo(form.session.tenant.id, id).await {
        Ok(report) => {
            let notice = if report.failed.is_empty() {
                "undone"
            } else {
                "undone-partly"
            };
            Ok(see_other(&format!(
                "/billing/runs/{}?notice={notice}",
                report.run_id
            )))
        }
        Err(e) if told(&e) => Err(super::problem_page(
            StatusCode::CONFLICT,
            "The undo did not finish",
            &format!(
                "{e}. Any change made before this is recorded in the undo's run on the Billing page; undoing run {id} again carries out the rest."
            ),
        )),
        Err(e) => Err(failure_page(&e.to_string())),
    }
}
