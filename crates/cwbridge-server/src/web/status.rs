//! The status pages: billing (the plan, Apply, and the runs), alert deliveries, and the
//! connection's health.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use cwbridge_engine::{ConnectionView, EngineError};
use serde_json::Value;

use super::views::{CheckView, PlanView, check_view, plan_view};
use super::{
    Chrome, Page, SessionForm, Visit, failure_page, found, frame, or_page, render, see_other, when,
};
use crate::state::AppState;

// ---- billing -------------------------------------------------------------------------------

/// A billing run in the history.
#[derive(Debug, Clone)]
pub struct RunRow {
    /// Its id.
    pub id: i64,
    /// When it started.
    pub started: String,
    /// `running`, `done` or `failed`.
    pub status: String,
    /// What it did, in words.
    pub summary: String,
}

#[derive(Template)]
#[template(path = "billing.html")]
struct BillingPage {
    chrome: Chrome,
    plan: Option<PlanView>,
    problem: Option<String>,
    runs: Vec<RunRow>,
    /// The next (older) page of runs.
    older: Option<String>,
    /// Back to the newest runs, when on an older page.
    newest: Option<String>,
}

/// Runs listed a page.
const RUNS_PER_PAGE: i64 = 20;

fn summary_words(v: &Value) -> String {
    if let Value::String(text) = v {
        return text.chars().take(200).collect();
    }
    let mut parts: Vec<String> = Vec::new();
    if let Some(done) = v.get("done").and_then(Value::as_object) {
        for (kind, n) in done {
            parts.push(format!("{kind} {n}"));
        }
    }
    if let Some(failed) = v.get("failed").and_then(Value::as_u64)
        && failed > 0
    {
        parts.push(format!("{failed} failed (retried by the next run)"));
    }
    if let Some(error) = v.get("error").and_then(Value::as_str) {
        parts.push(error.to_owned());
    }
    if parts.is_empty() {
        "no changes".into()
    } else {
        parts.join(", ")
    }
}

/// `GET /billing`: the plan, with Apply, and the latest runs.
pub async fn billing_page(visit: Visit) -> Page {
    let (state, session, query) = visit.parts();
    let t = session.tenant.id;
    let chrome = frame(&state, &session, "Billing", "/billing", &query).await?;
    let before = query.before.parse::<i64>().ok();
    let plan_href = |n: usize| match before {
        Some(id) => format!("/billing?page={n}&before={id}"),
        None => format!("/billing?page={n}"),
    };
    let (plan, problem) = match state.engine.billing_plan(t, false).await {
        Ok(plan) => {
            let accounts = or_page(state.engine.accounts(t).await)?;
            let view = plan_view(&plan, &accounts, query.page_number(), plan_href);
            (Some(view), None)
        }
        Err(
            e @ (EngineError::NotFound(_)
            | EngineError::Invalid { .. }
            | EngineError::ConnectWise(_)),
        ) => (None, Some(e.to_string())),
        Err(e) => return Err(failure_page(&e.to_string())),
    };
    let runs: Vec<RunRow> = or_page(state.engine.billing_runs(t, before, RUNS_PER_PAGE).await)?
        .into_iter()
        .map(|r| RunRow {
            id: r.id,
            started: when(r.started_at),
            status: r.status,
            summary: summary_words(&r.summary),
        })
        .collect();
    let older = (runs.len() == RUNS_PER_PAGE as usize)
        .then(|| runs.last().map(|r| format!("/billing?before={}", r.id)))
        .flatten();
    Ok(render(
        StatusCode::OK,
        &BillingPage {
            chrome,
            plan,
            problem,
            runs,
            older,
            newest: before.is_some().then(|| "/billing".to_owned()),
        },
    ))
}

/// The Apply buttons: `full=1` reads every agreement first.
#[derive(Debug, Default, serde::Deserialize)]
struct ApplyForm {
    #[serde(default)]
    full: String,
}

/// `POST /billing/apply`: carries out the plan (`full=1` reads every agreement first).
pub async fn billing_apply(State(state): State<AppState>, form: SessionForm) -> Page {
    let full = form.fields.parse::<ApplyForm>()?.full == "1";
    match state
        .engine
        .billing_apply(form.session.tenant.id, full)
        .await
    {
        Ok(report) => {
            let notice = if report.failed.is_empty() {
                "applied"
            } else {
                "applied-partly"
            };
            Ok(see_other(&format!(
                "/billing/runs/{}?notice={notice}",
                report.run_id
            )))
        }
        Err(
            e @ (EngineError::NotFound(_)
            | EngineError::Invalid { .. }
            | EngineError::Conflict(_)
            | EngineError::RunInProgress { .. }
            | EngineError::ConnectWise(_)),
        ) => Err(super::problem_page(
            StatusCode::CONFLICT,
            "Billing did not finish",
            &format!(
                "{e}. Any change made before this is recorded in the run on the Billing page; the next Apply carries out the rest."
            ),
        )),
        Err(e) => Err(failure_page(&e.to_string())),
    }
}

/// A change a run made.
#[derive(Debug, Clone)]
pub struct RunChange {
    /// When.
    pub at: String,
    /// Its kind.
    pub kind: String,
    /// What, as the audit recorded it.
    pub detail: String,
}

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    chrome: Chrome,
    id: i64,
    /// The run it undid, when an undo.
    undoes: Option<i64>,
    status: String,
    summary: String,
    changes: Vec<RunChange>,
}

/// `GET /billing/runs/{id}`: one run's changes, in order.
pub async fn run_page(Path(id): Path<i64>, visit: Visit) -> Page {
    let (state, session, query) = visit.parts();
    let t = session.tenant.id;
    let Some((run, changes)) = found(state.engine.billing_run(t, id).await)? else {
        return Err(super::problem_page(
            StatusCode::NOT_FOUND,
            "No such billing run",
            "It may belong to another tenant, or the link is wrong.",
        ));
    };
    let changes = changes
        .into_iter()
        .map(|c| RunChange {
            at: when(c.at),
            kind: c.kind,
            detail: c.detail.to_string(),
        })
        .collect();
    let title = format!("Billing run {id}");
    let chrome = frame(&state, &session, &title, "/billing", &query).await?;
    Ok(render(
        StatusCode::OK,
        &RunPage {
            chrome,
            id,
            undoes: run.undoes,
            status: run.status,
            summary: summary_words(&run.summary),
            changes,
        },
    ))
}

// ---- alerts --------------------------------------------------------------------------------

/// An alert delivery as the page lists it.
#[derive(Debug, Clone)]
pub struct AlertRow {
    /// Its id.
    pub id: i64,
    /// When it came.
    pub received: String,
    /// The account.
    pub account: String,
    /// Its type.
    pub alert_type: String,
    /// Its summary.
    pub summary: String,
    /// `queued`, `delivered`, `skipped` or `failed`.
    pub state: String,
    /// The ticket number.
    pub ticket: String,
    /// What delivery did.
    pub action: String,
    /// Attempts.
    pub attempts: i64,
    /// The last failure.
    pub last_error: String,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    chrome: Chrome,
    alerts: Vec<AlertRow>,
}

/// `GET /alerts`: the latest deliveries.
pub async fn alerts_page(visit: Visit) -> Page {
    let (state, session, query) = visit.parts();
    let t = session.tenant.id;
    let accounts = or_page(state.engine.accounts(t).await)?;
    let alerts = or_page(state.engine.alerts(t).await)?
        .into_iter()
        .map(|a| AlertRow {
            id: a.id,
            received: when(a.created_at),
            account: accounts
                .iter()
                .find(|x| x.id == a.account)
                .map_or(a.account.clone(), |x| x.name.clone()),
            alert_type: a.alert_type,
            summary: a.summary,
            state: a.state,
            ticket: a.ticket_id.map(|t| format!("#{t}")).unwrap_or_default(),
            action: a.action.unwrap_or_default(),
            attempts: a.attempts,
            last_error: a.last_error.unwrap_or_default(),
        })
        .collect();
    let chrome = frame(&state, &session, "Alert deliveries", "/alerts", &query).await?;
    Ok(render(StatusCode::OK, &AlertsPage { chrome, alerts }))
}

/// `POST /alerts/{id}/retry`: queues a failed alert again.
pub async fn alert_retry(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: SessionForm,
) -> Response {
    match state.engine.retry_alert(form.session.tenant.id, id).await {
        Ok(_) => see_other("/alerts?notice=retried"),
        Err(
            e @ (EngineError::NotFound(_) | EngineError::Invalid { .. } | EngineError::Conflict(_)),
        ) => super::problem_page(
            StatusCode::CONFLICT,
            "The alert was not retried",
            &e.to_string(),
        ),
        Err(e) => failure_page(&e.to_string()),
    }
}

// ---- connection health ---------------------------------------------------------------------

/// A failed attempt as the page lists it.
#[derive(Debug, Clone)]
pub struct FailureRow {
    /// When.
    pub at: String,
    /// `GET company/companies`.
    pub request: String,
    /// The status, or `no answer`.
    pub status: String,
    /// `rate limit`, `server error`, `refused`, `no answer`.
    pub kind: &'static str,
    /// The message.
    pub message: String,
    /// Whether it was retried.
    pub retried: bool,
}

#[derive(Template)]
#[template(path = "health.html")]
struct HealthPage {
    chrome: Chrome,
    connection: Option<ConnectionView>,
    check: Option<CheckView>,
    failures: Vec<FailureRow>,
    updated: String,
    /// Alert deliveries paused by the circuit breaker: until when, failures, why.
    paused: Option<(String, u32, String)>,
}

/// `GET /health`: the last preflight, ConnectWise's recent error and rate-limit answers, its
/// version and codebase.
pub async fn health_page(visit: Visit) -> Page {
    let (state, session, query) = visit.parts();
    let t = session.tenant.id;
    let connection = found(state.engine.connection(t).await)?;
    let check = or_page(state.engine.last_check(t).await)?.map(|c| check_view(&c));
    let failures = or_page(state.engine.recent_failures(t).await)?
        .into_iter()
        .map(|f| FailureRow {
            at: when(f.at),
            request: format!("{} {}", f.method, f.path),
            status: f
                .status
                .map_or_else(|| "no answer".to_owned(), |s| s.to_string()),
            kind: match f.status {
                None => "no answer",
                Some(429) => "rate limit",
                Some(s) if s >= 500 => "server error",
                Some(_) => "refused",
            },
            message: f.message,
            retried: f.retrying,
        })
        .collect();
    let updated = connection
        .as_ref()
        .map(|c| when(c.updated_at))
        .unwrap_or_default();
    let chrome = frame(&state, &session, "Connection health", "/health", &query).await?;
    Ok(render(
        StatusCode::OK,
        &HealthPage {
            chrome,
            connection,
            check,
            failures,
            updated,
            paused: state
                .engine
                .delivery_pause(t)
                .map(|p| (when(p.until), p.failures, p.reason)),
        },
    ))
}
