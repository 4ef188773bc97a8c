//! The overview, what the four steps share (options, field errors, the gate on step order, look-up
//! parsing), and the steps themselves in `setup/{connect,billing,mapping,tickets}.rs`.

use std::collections::{BTreeSet, HashMap};

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use cwbridge_engine::alert::TicketSettingsInput;
use cwbridge_engine::billing::settings::{BillingInput, MAX_SCHEDULE_HOURS};
use cwbridge_engine::billing::{DriftPolicy, Mode};
use cwbridge_engine::forwarding::ForwardingRow;
use cwbridge_engine::lookup::{
    AgreementOption, BoardOption, CompanyOption, NamedOption, ProductOption,
};
use cwbridge_engine::mapping::{MappingInput, STRONG_MATCH};
use cwbridge_engine::preflight::MANIFEST;
use cwbridge_engine::{ConnectionInput, EngineError};
use serde::Deserialize;

use super::progress::{self as steps, SetupStep};
use super::views::{CheckView, PlanView, check_view, money, plan_view};
use super::{
    Chrome, Page, PageQuery, Progress, Session, SessionForm, Visit, failure_page, found,
    notice_from, or_page, page_number, problem_page, progress, query_text, render, see_other, when,
};
use crate::state::AppState;

/// A choice in a list.
#[derive(Debug, Clone)]
pub struct Opt {
    /// What the form sends.
    pub value: String,
    /// What the user reads.
    pub label: String,
    /// Whether it is chosen.
    pub selected: bool,
}

impl Opt {
    /// A choice of something ConnectWise names, chosen when its id is `chosen`.
    fn named(id: i64, name: &Option<String>, chosen: &str) -> Opt {
        Opt::new(
            id,
            name.clone().unwrap_or_default(),
            id.to_string() == chosen,
        )
    }

    fn new(value: impl ToString, label: impl Into<String>, selected: bool) -> Opt {
        Opt {
            value: value.to_string(),
            label: label.into(),
            selected,
        }
    }
}

/// What is wrong with a refused form: per field, and as a whole.
#[derive(Debug, Clone, Default)]
pub struct Errors {
    fields: Vec<(String, String)>,
    /// A problem not about one field (ConnectWise refused, say).
    pub problem: Option<String>,
}

impl Errors {
    /// The message for `field`, if it was refused.
    pub fn of(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    /// Whether anything was refused.
    pub fn any(&self) -> bool {
        !self.fields.is_empty() || self.problem.is_some()
    }

    /// Every message, for the summary at the top of the form.
    pub fn all(&self) -> Vec<String> {
        let mut out: Vec<String> = self.fields.iter().map(|(_, m)| m.clone()).collect();
        out.extend(self.problem.clone());
        out
    }

    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.fields.push((field.to_owned(), message.into()));
    }

    /// The status of a page showing these errors: 422 when something was refused.
    pub fn status(&self) -> StatusCode {
        if self.any() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        }
    }

    /// A look-up's list, or an empty one with its failure filed (the page still shows).
    fn listed<T>(&mut self, r: Result<Vec<T>, EngineError>) -> Result<Vec<T>, Response> {
        match r {
            Ok(list) => Ok(list),
            Err(e) => {
                self.take(e)?;
                Ok(Vec::new())
            }
        }
    }

    /// The errors of a form the engine refused; `Err` when the failure is not the user's to fix.
    fn refusing(e: EngineError) -> Result<Errors, Response> {
        let mut errors = Errors::default();
        errors.take(e)?;
        Ok(errors)
    }

    /// Files an engine error under its field (the engine names fields as the forms do), or
    /// as the problem. Failures that are not the user's to fix are `Err`.
    fn take(&mut self, e: EngineError) -> Result<(), Response> {
        match e {
            EngineError::Invalid { field, message } => {
                self.fields.push((field, message));
                Ok(())
            }
            EngineError::NotFound(m) | EngineError::Conflict(m) => {
                self.problem = Some(m);
                Ok(())
            }
            EngineError::ConnectWise(e) => {
                self.problem = Some(format!("ConnectWise answered: {e}"));
                Ok(())
            }
            other => Err(failure_page(&other.to_string())),
        }
    }
}

/// The page shown for a step whose earlier steps are not complete.
#[derive(Template)]
#[template(path = "locked.html")]
struct LockedPage {
    chrome: Chrome,
    step: u8,
    needs: &'static str,
    needs_href: &'static str,
}

/// `Err` with the locked page when step `n` is not open yet.
fn gate(step: SetupStep, chrome: &Chrome, p: &Progress) -> Result<(), Response> {
    if p.open(step) {
        return Ok(());
    }
    let first = p.next().unwrap_or(SetupStep::Connect);
    Err(render(
        StatusCode::OK,
        &LockedPage {
            chrome: chrome.clone(),
            step: step.number(),
            needs: first.name(),
            needs_href: steps::page(first),
        },
    ))
}

/// What a step's page shows beside what is stored: the form as it was sent (when it is shown
/// again), what was wrong with it, and a notice.
struct Shown<'a, F> {
    typed: Option<&'a F>,
    errors: Errors,
    notice: Option<String>,
}

impl<'a, F> Shown<'a, F> {
    /// The page as a GET asks for it: what is stored, with the notice the address names.
    fn fresh(query: &PageQuery) -> Self {
        Shown {
            typed: None,
            errors: Errors::default(),
            notice: notice_from(&query.notice),
        }
    }

    /// The page shown again after a POST, with the form as sent (if it is to be kept) and
    /// what was wrong.
    fn again(typed: Option<&'a F>, errors: Errors) -> Self {
        Shown {
            typed,
            errors,
            notice: None,
        }
    }
}

/// Step `step`'s frame and the tenant's progress; `Err` with the locked page when the step is
/// not open yet.
async fn step_frame(
    state: &AppState,
    session: &Session,
    step: SetupStep,
    notice: Option<String>,
) -> Result<(Chrome, Progress), Response> {
    let p = progress(state, session).await?;
    let title = format!("Step {}: {}", step.number(), step.name());
    let chrome = Chrome::new(&title, steps::page(step), session, &p).notice(notice);
    gate(step, &chrome, &p)?;
    Ok((chrome, p))
}

/// A form of `step` read into its struct. `Err` with the answer to send: a redirect to the
/// step's page (which says what must come first) when the step is not open, so an old tab
/// cannot skip the order, or a 400 page when the form cannot be read.
async fn open_form<T: serde::de::DeserializeOwned>(
    state: &AppState,
    form: &SessionForm,
    step: SetupStep,
) -> Result<T, Response> {
    let p = progress(state, &form.session).await?;
    if !p.open(step) {
        return Err(see_other(steps::page(step)));
    }
    form.fields.parse()
}

// ---- overview ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    chrome: Chrome,
    next: Option<(u8, &'static str, &'static str)>,
    summaries: Vec<StepSummary>,
}

/// A step on the overview.
struct StepSummary {
    n: u8,
    name: &'static str,
    href: &'static str,
    state: &'static str,
    text: String,
}

/// `GET /`: where the tenant stands, and what comes next.
pub async fn overview(State(state): State<AppState>, session: Session) -> Page {
    let p = progress(&state, &session).await?;
    let t = session.tenant.id;
    let e = &state.engine;
    let connect = match or_page(e.last_check(t).await)? {
        Some(c) if c.ok => format!("Connected; last checked {}.", when(c.checked_at)),
        Some(c) => format!(
            "The last check ({}) failed: open the step to see why.",
            when(c.checked_at)
        ),
        None => "Not connected yet.".to_owned(),
    };
    let billing = match e.billing(t).await {
        Ok(b) => format!(
            "{} ({}), {}, on each company's “{}” agreement.",
            b.product_identifier,
            b.product_description,
            mode_words(b.mode),
            b.agreement_type_name
        ),
        Err(_) => "Not chosen yet.".to_owned(),
    };
    let accounts = or_page(e.accounts(t).await)?;
    let mapped = accounts.iter().filter(|a| a.mapping.is_some()).count();
    let mapping = format!("{mapped} of {} accounts mapped.", accounts.len());
    let tickets = match or_page(e.ticket_settings(t).await)? {
        Some(s) => format!(
            "New tickets go to {} as {}, {}.",
            s.board_name, s.status_name, s.priority_name
        ),
        None => "Not set up yet.".to_owned(),
    };
    let texts = [connect, billing, mapping, tickets];
    let summaries = steps::links(&p)
        .into_iter()
        .zip(texts)
        .map(|(link, text)| StepSummary {
            n: link.number,
            name: link.name,
            href: link.href,
            state: link.state,
            text,
        })
        .collect();
    let page = OverviewPage {
        chrome: Chrome::new("Overview", "/", &session, &p),
        next: p.next().map(|s| (s.number(), s.name(), steps::page(s))),
        summaries,
    };
    Ok(render(StatusCode::OK, &page))
}

/// How a mode reads.
pub fn mode_words(mode: Mode) -> &'static str {
    match mode {
        Mode::PerUnit => "billable, one line per sending domain",
        Mode::Bundled => "billable, all sending domains on one line",
        Mode::NotBillable => "not billable (tracked only)",
    }
}

mod billing;
mod connect;
mod mapping;
mod tickets;

pub use billing::*;
pub use connect::*;
pub use mapping::*;
pub use tickets::*;
