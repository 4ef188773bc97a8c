//! The web wizard and status pages, served at `/` for one signed-in tenant at a time: seed
//! 004's four steps in order (each saves, can be revisited, and opens once the steps before
//! it are complete), then billing, alert deliveries and connection health.
//!
//! Pages are rendered on the server from askama templates (compiled in, HTML auto-escaped);
//! every form works without JavaScript, which only filters long lists as the user types.
//! Forms follow post/redirect/get: a saved form redirects, a refused one is shown again with
//! the field named and what was typed kept.

// Handlers return `Result<_, Response>` so any step can end with the page to answer (the
// sign-in redirect, the failure page); boxing those would only add noise.
#![allow(clippy::result_large_err)]

mod progress;
mod session;
mod setup;
mod status;
mod undo;
mod views;
mod webhooks;

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use progress::Progress;
pub use session::{SESSION_COOKIE, Session, SessionForm};
pub use setup::Opt;

use crate::state::AppState;

/// Every page and form of the wizard.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(setup::overview))
        .route(
            "/sign-in",
            get(session::sign_in_form).post(session::sign_in),
        )
        .route("/sign-out", post(session::sign_out))
        .route(
            "/setup/connect",
            get(setup::connect_page).post(setup::connect_save),
        )
        .route("/setup/connect/check", post(setup::connect_check))
        .route(
            "/setup/billing",
            get(setup::billing_page).post(setup::billing_save),
        )
        .route(
            "/setup/mapping",
            get(setup::mapping_page).post(setup::mapping_save),
        )
        .route("/setup/mapping/accept", post(setup::mapping_accept))
        .route(
            "/setup/tickets",
            get(setup::tickets_page).post(setup::tickets_save),
        )
        .route("/setup/tickets/alerts", post(setup::alerts_save))
        .route("/setup/tickets/test", post(setup::test_alert))
        .route("/billing", get(status::billing_page))
        .route("/billing/apply", post(status::billing_apply))
        .route("/billing/runs/{id}", get(status::run_page))
        .route(
            "/billing/runs/{id}/undo",
            get(undo::undo_page).post(undo::undo),
        )
        .route("/alerts", get(status::alerts_page))
        .route("/alerts/{id}/retry", post(status::alert_retry))
        .route("/health", get(status::health_page))
        .route("/webhooks", get(webhooks::webhooks_page))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .layer(axum::middleware::map_response(page_headers))
}

async fn css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../static/app.css"),
    )
}

async fn js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../static/app.js"),
    )
}

fn asset(kind: &'static str, text: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        text,
    )
        .into_response()
}

/// Headers on every page: no framing, no caching of tenant data, scripts and styles from
/// this origin only, forms posted here only.
async fn page_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "same-origin");
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::CACHE_CONTROL, "no-store");
    response
}

/// Renders a page.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
                .into_response()
        }
    }
}

/// A page that only says what went wrong.
#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage {
    chrome: Chrome,
    detail: String,
}

/// A page saying what went wrong and what to do.
pub fn problem_page(status: StatusCode, title: &str, detail: &str) -> Response {
    render(
        status,
        &ProblemPage {
            chrome: Chrome::signed_out(title),
            detail: detail.to_owned(),
        },
    )
}

/// The page for a failure the user cannot fix here (the database is down, say).
pub fn failure_page(detail: &str) -> Response {
    tracing::error!(error = %detail, "a wizard page failed");
    problem_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something failed on our side",
        &format!("{detail}. Nothing you typed was lost: go back and try again."),
    )
}

/// Reads a tenant's progress, or answers the failure page.
async fn progress(state: &AppState, session: &Session) -> Result<Progress, Response> {
    state
        .engine
        .progress(session.tenant.id)
        .await
        .map_err(|e| failure_page(&e.to_string()))
}

/// The frame of a page outside the steps, with the notice its address names.
async fn frame(
    state: &AppState,
    session: &Session,
    title: &str,
    path: &str,
    query: &PageQuery,
) -> Result<Chrome, Response> {
    let p = progress(state, session).await?;
    Ok(Chrome::new(title, path, session, &p).notice(notice_from(&query.notice)))
}

/// An engine result, or the failure page.
fn or_page<T>(r: Result<T, cwbridge_engine::EngineError>) -> Result<T, Response> {
    r.map_err(|e| failure_page(&e.to_string()))
}

/// An engine result that may be missing: `None` when the engine found nothing, the failure
/// page for any other failure.
fn found<T>(r: Result<T, cwbridge_engine::EngineError>) -> Result<Option<T>, Response> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(cwbridge_engine::EngineError::NotFound(_)) => Ok(None),
        Err(e) => Err(failure_page(&e.to_string())),
    }
}

/// What a page handler answers: the page, or (`Err`) the page for what stopped it — the sign-in
/// redirect, the locked step, the failure page. axum sends either.
type Page = Result<Response, Response>;

/// A fresh random token (session ids, anti-forgery tokens).
pub fn random_token() -> String {
    cwbridge_engine::tenant::new_token()
}

/// What every page's frame shows: the title, who is signed in, the steps and where they
/// stand.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The page's title.
    pub title: String,
    /// The tenant's name; empty when signed out.
    pub tenant: String,
    /// The anti-forgery token for the page's forms.
    pub csrf: String,
    /// The four steps.
    pub steps: Vec<StepLink>,
    /// The path of the page, to mark it current in the navigation.
    pub path: String,
    /// A message about what just happened (e.g. "Saved").
    pub notice: Option<String>,
    /// Whether ConnectWise's last check failed (every page warns).
    pub check_failed: bool,
}

/// One step in the navigation.
#[derive(Debug, Clone)]
pub struct StepLink {
    /// 1 to 4.
    pub number: u8,
    /// Its name.
    pub name: &'static str,
    /// Its page.
    pub href: &'static str,
    /// `done`, `open` or `locked`.
    pub state: &'static str,
    /// Whether it is the page shown.
    pub current: bool,
}

impl Chrome {
    /// The frame of a page nobody is signed in to.
    pub fn signed_out(title: &str) -> Chrome {
        Chrome {
            title: title.to_owned(),
            tenant: String::new(),
            csrf: String::new(),
            steps: Vec::new(),
            path: String::new(),
            notice: None,
            check_failed: false,
        }
    }

    /// The frame of a signed-in page.
    pub fn new(title: &str, path: &str, session: &Session, progress: &Progress) -> Chrome {
        Chrome {
            title: title.to_owned(),
            tenant: session.tenant.name.clone(),
            csrf: session.csrf.clone(),
            steps: progress::links(progress)
                .into_iter()
                .map(|l| StepLink {
                    current: l.href == path,
                    ..l
                })
                .collect(),
            path: path.to_owned(),
            notice: None,
            check_failed: progress.check_failed,
        }
    }

    /// With a notice.
    pub fn notice(mut self, notice: Option<String>) -> Chrome {
        self.notice = notice;
        self
    }
}

/// A posted form's fields, in order (repeated names kept, as checkboxes send them).
#[derive(Debug, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    /// Whether the form has a field `name` at all.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// Every value of `name`, trimmed.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }

    /// The form as a typed struct: each field's first value, trimmed (fields the struct does
    /// not name are left to [`Fields::all`] and [`Fields::with_prefix`]). A field missing or
    /// not of its type is a 400 page naming it.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, Response> {
        let mut firsts: Vec<(&str, &str)> = Vec::new();
        for (k, v) in &self.0 {
            if !firsts.iter().any(|(seen, _)| seen == k) {
                firsts.push((k, v.trim()));
            }
        }
        let text = serde_urlencoded::to_string(&firsts).unwrap_or_default();
        serde_urlencoded::from_str(&text).map_err(|e| {
            problem_page(
                StatusCode::BAD_REQUEST,
                "The form was not understood",
                &format!("{e}. Reload the page and send the form again."),
            )
        })
    }

    /// Every `(rest, value)` of the fields named `{prefix}{rest}`, in order.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0
            .iter()
            .filter_map(move |(k, v)| k.strip_prefix(prefix).map(|rest| (rest, v.trim())))
    }
}

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = Response;

    async fn from_request(req: Request<Body>, state: &S) -> Result<Self, Response> {
        match axum::Form::<Vec<(String, String)>>::from_request(req, state).await {
            Ok(axum::Form(pairs)) => Ok(Fields(pairs)),
            Err(e) => Err(problem_page(
                StatusCode::BAD_REQUEST,
                "That form could not be read",
                &format!("{e}. Go back and send it again."),
            )),
        }
    }
}

/// A redirect after a form (303, so the browser follows it with a GET).
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

/// What a page's GET reads: the state, the signed-in tenant (or the sign-in redirect) and
/// the address's query.
pub struct Visit {
    /// The server's state.
    pub state: AppState,
    /// Who is signed in.
    pub session: Session,
    /// The address's query.
    pub query: PageQuery,
}

impl Visit {
    /// The state, the session and the query, to name at once.
    pub fn parts(self) -> (AppState, Session, PageQuery) {
        (self.state, self.session, self.query)
    }
}

impl FromRequestParts<AppState> for Visit {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Response> {
        let session = Session::from_request_parts(parts, state).await?;
        let axum::extract::Query(query) =
            axum::extract::Query::<PageQuery>::from_request_parts(parts, state)
                .await
                .map_err(|e| {
                    problem_page(
                        StatusCode::BAD_REQUEST,
                        "The address could not be read",
                        &e.body_text(),
                    )
                })?;
        Ok(Visit {
            state: state.clone(),
            session,
            query,
        })
    }
}

/// What a page's query may carry.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    /// A search.
    #[serde(default)]
    pub q: String,
    /// What just happened, by name (see [`notice_from`]).
    #[serde(default)]
    pub notice: String,
    /// Set when a session ended.
    #[serde(default)]
    pub expired: String,
    /// A page of a long list, from 1.
    #[serde(default)]
    pub page: String,
    /// Which rows a list shows (`unmapped`, or all).
    #[serde(default)]
    pub show: String,
    /// A cursor: rows older than this id.
    #[serde(default)]
    pub before: String,
}

impl PageQuery {
    /// The page asked for, from 1 (1 when none or not a number).
    pub fn page_number(&self) -> usize {
        page_number(&self.page)
    }
}

/// A page number as a form or query sends it, from 1 (1 when none or not a number).
pub fn page_number(text: &str) -> usize {
    text.parse::<usize>().ok().filter(|p| *p >= 1).unwrap_or(1)
}

/// `text` for a query string.
pub fn query_text(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The text of a notice named in a query (only known names become text, so nothing typed
/// into a URL reaches the page).
pub fn notice_from(name: &str) -> Option<String> {
    let text = match name {
        "connection-saved" => "Connection saved and checked: it works.",
        "connection-failed" => "Connection saved, but the check failed: below is what to change.",
        "checked" => "Connection checked again.",
        "billing-saved" => "Billing & product saved. Below is the plan it leads to.",
        "mapping-saved" => "Mapping saved.",
        "accepted" => "Suggestions accepted.",
        "tickets-saved" => "Ticket defaults saved.",
        "alerts-saved" => "Alert types saved.",
        "bulk-unchosen" => {
            "Nothing was changed: choose what the selected customers forward, then apply it."
        }
        "bulk-none-selected" => {
            "Nothing was changed: tick the customers to change, or choose every customer matching the search."
        }
        "applied" => "Billing applied: the run and its changes are below.",
        "applied-partly" => {
            "Billing applied, but some changes failed: they are below, and the next Apply retries them."
        }
        "undone" => "The run is undone: this is the undo's own run and its changes.",
        "undone-partly" => {
            "The run is undone in part: the changes that failed are below; undo the run again to retry them."
        }
        "retried" => "The alert is queued again.",
        "test-sent" => "Test alert sent: its ticket number appears here once ConnectWise has it.",
        _ => return None,
    };
    Some(text.to_owned())
}

/// A Unix-ms time as the pages show it, in UTC.
pub fn when(ms: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_notices_are_shown() {
        assert_eq!(
            notice_from("mapping-saved").as_deref(),
            Some("Mapping saved.")
        );
        assert_eq!(notice_from("<script>"), None);
        assert_eq!(notice_from(""), None);
        assert_eq!(when(0), "1970-01-01 00:00:00 UTC");
    }

    #[test]
    fn fields_keep_repeats_and_trim() {
        let f = Fields(vec![
            ("a".into(), " x ".into()),
            ("t:g1".into(), "dmarc".into()),
            ("t:g1".into(), "spf".into()),
        ]);
        assert_eq!(f.get("a"), "x");
        assert_eq!(f.get("missing"), "");
        assert_eq!(f.all("t:g1"), ["dmarc", "spf"]);
        assert_eq!(f.with_prefix("t:").count(), 2);
    }

    #[test]
    fn a_form_reads_as_its_struct() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Form {
            company_id: String,
            #[serde(default)]
            page: u32,
        }
        let f = Fields(vec![
            ("companyId".into(), " 19 ".into()),
            ("companyId".into(), "20".into()),
            ("csrf".into(), "token".into()),
            ("page".into(), "3".into()),
        ]);
        let form: Form = f.parse().unwrap();
        assert_eq!((form.company_id.as_str(), form.page), ("19", 3));
        let wrong = Fields(vec![
            ("companyId".into(), "x".into()),
            ("page".into(), "two".into()),
        ]);
        assert_eq!(
            wrong.parse::<Form>().unwrap_err().status(),
            StatusCode::BAD_REQUEST
        );
        assert!(
            Fields(Vec::new()).parse::<Form>().is_err(),
            "a required field is missing"
        );
    }
}
