//! The overview and seed 004's four steps.

use std::collections::{BTreeSet, HashMap};

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use cwbridge_engine::alert::{TEST_ALERT_TYPE, TicketSettingsInput};
use cwbridge_engine::billing::settings::{BillingInput, MAX_SCHEDULE_HOURS};
use cwbridge_engine::billing::{DriftPolicy, Mode};
use cwbridge_engine::mapping::{MappingInput, STRONG_MATCH};
use cwbridge_engine::preflight::{MANIFEST, Status};
use cwbridge_engine::{CheckReport, ConnectionInput, EngineError};
use serde::Deserialize;

use super::progress::{self as steps, SetupStep};
use super::status::{PlanView, plan_view};
use super::{
    Chrome, PageQuery, Progress, Session, SessionForm, either, failure_page, notice_from, or_page,
    progress, render, see_other, when,
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
    fn listed<T: serde::de::DeserializeOwned>(
        &mut self,
        r: Result<serde_json::Value, EngineError>,
    ) -> Result<Vec<T>, Response> {
        match r {
            Ok(v) => parse(v),
            Err(e) => {
                self.take(e)?;
                Ok(Vec::new())
            }
        }
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

/// For a form of step `n`: `Err` with a redirect to the step's page (which says what must
/// come first) when the step is not open, so an old tab cannot skip the order.
async fn require_open(
    state: &AppState,
    session: &Session,
    step: SetupStep,
) -> Result<(), Response> {
    let p = progress(state, session).await?;
    if p.open(step) {
        Ok(())
    } else {
        Err(see_other(steps::page(step)))
    }
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
pub async fn overview(State(state): State<AppState>, session: Session) -> Response {
    either(overview_inner(&state, &session).await)
}

async fn overview_inner(state: &AppState, session: &Session) -> Result<Response, Response> {
    let p = progress(state, session).await?;
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
        chrome: Chrome::new("Overview", "/", session, &p),
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

// ---- step 1: connect -----------------------------------------------------------------------

/// A permission of the role, as the checklist shows it.
#[derive(Debug, Clone)]
pub struct PermissionRow {
    /// `Companies → Company Maintenance`.
    pub module: String,
    /// `Inquire Level → All`.
    pub level: String,
    /// `granted`, `missing` or `unverified`.
    pub status: &'static str,
    /// What to change, or why it could not be told.
    pub detail: String,
}

/// A check as the pages show it.
#[derive(Debug, Clone)]
pub struct CheckView {
    /// Whether it passed.
    pub ok: bool,
    /// When.
    pub when: String,
    /// Its steps: name, passed, message, hints.
    pub steps: Vec<(String, bool, String, Vec<String>)>,
    /// The permissions.
    pub permissions: Vec<PermissionRow>,
    /// ConnectWise's codebase.
    pub codebase: String,
    /// ConnectWise's version.
    pub version: String,
}

/// A check report for the pages.
pub fn check_view(c: &CheckReport) -> CheckView {
    CheckView {
        ok: c.ok,
        when: when(c.checked_at),
        steps: c
            .steps
            .iter()
            .map(|s| (s.name.clone(), s.ok, s.message.clone(), s.hints.clone()))
            .collect(),
        permissions: c
            .permissions
            .iter()
            .map(|p| PermissionRow {
                module: format!("{} → {}", p.module, p.function),
                level: format!("{:?} Level → {}", p.action, p.level),
                status: match p.status {
                    Status::Granted => "granted",
                    Status::Missing => "missing",
                    Status::Unverified => "unverified",
                },
                detail: p.detail.clone(),
            })
            .collect(),
        codebase: c.codebase.clone().unwrap_or_default(),
        version: c.version.clone().unwrap_or_default(),
    }
}

/// Seed 004's role, one line per module function: `(module → function, levels)`.
fn role_lines() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for need in MANIFEST {
        let name = format!("{} → {}", need.module, need.function);
        let level = format!("{:?} Level → All", need.action);
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, levels)) => {
                levels.push_str(", ");
                levels.push_str(&level);
            }
            None => out.push((name, level)),
        }
    }
    out
}

#[derive(Template)]
#[template(path = "connect.html")]
struct ConnectPage {
    chrome: Chrome,
    site: String,
    company_id: String,
    public_key: String,
    client_id: String,
    has_key: bool,
    ask_client_id: bool,
    errors: Errors,
    check: Option<CheckView>,
    role: Vec<(String, String)>,
    egress: Option<String>,
    done: bool,
}

/// `GET /setup/connect`.
pub async fn connect_page(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<PageQuery>,
) -> Response {
    either(
        connect_render(
            &state,
            &session,
            None,
            Errors::default(),
            notice_from(&query.notice),
        )
        .await,
    )
}

async fn connect_render(
    state: &AppState,
    session: &Session,
    typed: Option<&super::Fields>,
    errors: Errors,
    notice: Option<String>,
) -> Result<Response, Response> {
    let t = session.tenant.id;
    let p = progress(state, session).await?;
    let saved = match state.engine.connection(t).await {
        Ok(c) => Some(c),
        Err(EngineError::NotFound(_)) => None,
        Err(e) => return Err(failure_page(&e.to_string())),
    };
    let check = or_page(state.engine.last_check(t).await)?.map(|c| check_view(&c));
    let pick = |name: &str, saved_value: Option<&String>| -> String {
        match typed {
            Some(f) => f.get(name).to_owned(),
            None => saved_value.cloned().unwrap_or_default(),
        }
    };
    let page = ConnectPage {
        chrome: Chrome::new("Step 1: Connect", "/setup/connect", session, &p).notice(notice),
        site: pick("site", saved.as_ref().map(|c| &c.site)),
        company_id: pick("companyId", saved.as_ref().map(|c| &c.company_id)),
        public_key: pick("publicKey", saved.as_ref().map(|c| &c.public_key)),
        client_id: pick("clientId", saved.as_ref().map(|c| &c.client_id)),
        has_key: saved.is_some(),
        ask_client_id: !state.engine.has_client_id(),
        check,
        role: role_lines(),
        egress: state.engine.egress_address().map(str::to_owned),
        done: p.connect,
        errors: errors.clone(),
    };
    let status = errors.status();
    Ok(render(status, &page))
}

/// `POST /setup/connect`: saves the connection and checks it.
pub async fn connect_save(State(state): State<AppState>, form: SessionForm) -> Response {
    let f = &form.fields;
    let input = ConnectionInput {
        site: f.get("site").to_owned(),
        company_id: f.get("companyId").to_owned(),
        public_key: f.get("publicKey").to_owned(),
        private_key: f.get("privateKey").to_owned(),
        client_id: f.get("clientId").to_owned(),
    };
    match state
        .engine
        .save_connection(form.session.tenant.id, &input)
        .await
    {
        Ok((_, report)) if report.ok => see_other("/setup/connect?notice=connection-saved"),
        Ok(_) => see_other("/setup/connect?notice=connection-failed"),
        Err(e) => {
            let mut errors = Errors::default();
            if let Err(r) = errors.take(e) {
                return r;
            }
            either(connect_render(&state, &form.session, Some(f), errors, None).await)
        }
    }
}

/// `POST /setup/connect/check`: checks the saved connection again.
pub async fn connect_check(State(state): State<AppState>, form: SessionForm) -> Response {
    let back = match form.fields.get("back") {
        "/health" => "/health",
        _ => "/setup/connect",
    };
    match state.engine.check_connection(form.session.tenant.id).await {
        Ok(_) => see_other(&format!("{back}?notice=checked")),
        Err(EngineError::NotFound(_)) => see_other("/setup/connect"),
        Err(e) => failure_page(&e.to_string()),
    }
}

// ---- step 2: billing & product -------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct Product {
    id: i64,
    #[serde(default)]
    identifier: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    price: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Named {
    id: i64,
    #[serde(default)]
    name: Option<String>,
}

fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, Response> {
    serde_json::from_value(v)
        .map_err(|e| failure_page(&format!("a look-up was not understood: {e}")))
}

#[derive(Template)]
#[template(path = "billing_setup.html")]
struct BillingSetupPage {
    chrome: Chrome,
    q: String,
    products: Vec<Opt>,
    agreement_types: Vec<Opt>,
    modes: Vec<(Opt, &'static str)>,
    drift: Vec<Opt>,
    schedule_hours: String,
    errors: Errors,
    plan: Option<PlanView>,
    done: bool,
}

/// `GET /setup/billing?q=`: the catalog (searched), the agreement types, the billing type,
/// and the plan the saved choices lead to.
pub async fn billing_page(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<PageQuery>,
) -> Response {
    either(
        billing_render(
            &state,
            &session,
            &query.q,
            None,
            Errors::default(),
            notice_from(&query.notice),
        )
        .await,
    )
}

async fn billing_render(
    state: &AppState,
    session: &Session,
    q: &str,
    typed: Option<&super::Fields>,
    mut errors: Errors,
    notice: Option<String>,
) -> Result<Response, Response> {
    let t = session.tenant.id;
    let p = progress(state, session).await?;
    let chrome =
        Chrome::new("Step 2: Billing & product", "/setup/billing", session, &p).notice(notice);
    gate(SetupStep::Billing, &chrome, &p)?;
    let e = &state.engine;
    let saved = e.billing(t).await.ok();
    let products: Vec<Product> = errors.listed(e.lookup_catalog(t, Some(q)).await)?;
    let types: Vec<Named> = errors.listed(e.lookup_agreement_types(t).await)?;
    let chosen_product = typed
        .map(|f| f.get("product").to_owned())
        .or_else(|| saved.as_ref().map(|b| b.product_id.to_string()))
        .unwrap_or_default();
    let mut product_opts: Vec<Opt> = products
        .iter()
        .map(|pr| {
            Opt::new(
                pr.id,
                format!(
                    "{} — {} ({} each)",
                    pr.identifier.clone().unwrap_or_default(),
                    pr.description.clone().unwrap_or_default(),
                    money(pr.price.unwrap_or_default())
                ),
                pr.id.to_string() == chosen_product,
            )
        })
        .collect();
    if let Some(b) = &saved
        && !product_opts
            .iter()
            .any(|o| o.value == b.product_id.to_string())
        && chosen_product == b.product_id.to_string()
    {
        product_opts.insert(
            0,
            Opt::new(
                b.product_id,
                format!(
                    "{} — {} (saved)",
                    b.product_identifier, b.product_description
                ),
                true,
            ),
        );
    }
    let chosen_type = typed
        .map(|f| f.get("agreementType").to_owned())
        .or_else(|| saved.as_ref().map(|b| b.agreement_type_id.to_string()))
        .unwrap_or_default();
    let agreement_types = types
        .iter()
        .map(|a| {
            Opt::new(
                a.id,
                a.name.clone().unwrap_or_default(),
                a.id.to_string() == chosen_type,
            )
        })
        .collect();
    let mode = typed
        .map(|f| f.get("mode").to_owned())
        .or_else(|| saved.as_ref().map(|b| b.mode.as_str().to_owned()))
        .unwrap_or_else(|| "per_unit".into());
    let modes = [
        (
            Mode::PerUnit,
            "Billable: every sending domain is its own line on the invoice.",
        ),
        (
            Mode::Bundled,
            "Billable: all of a customer's sending domains on one line, quantity = their count.",
        ),
        (
            Mode::NotBillable,
            "Not billable: counts and names are sent for tracking, nothing lands on the invoice.",
        ),
    ]
    .into_iter()
    .map(|(m, help)| {
        let label = match m {
            Mode::PerUnit => "Billable, one line per sending domain",
            Mode::Bundled => "Billable, bundled in one line",
            Mode::NotBillable => "Not billable",
        };
        (Opt::new(m.as_str(), label, m.as_str() == mode), help)
    })
    .collect();
    let drift_now = typed
        .map(|f| f.get("driftPolicy").to_owned())
        .or_else(|| saved.as_ref().map(|b| b.drift_policy.to_string()))
        .unwrap_or_else(|| DriftPolicy::Report.to_string());
    let drift = [
        (DriftPolicy::Report, "Show them in the plan, change nothing"),
        (DriftPolicy::Correct, "Write cwbridge's values back"),
        (DriftPolicy::Adopt, "Keep the hand edit"),
    ]
    .into_iter()
    .map(|(p, l)| Opt::new(p.as_str(), l, p.as_str() == drift_now))
    .collect();
    let schedule_hours = typed
        .map(|f| f.get("scheduleHours").to_owned())
        .or_else(|| saved.as_ref().map(|b| b.schedule_hours.to_string()))
        .unwrap_or_else(|| "24".into());
    let plan = if saved.is_some() && typed.is_none() {
        match e.billing_plan(t, false).await {
            Ok(plan) => Some(plan_view(&plan, &or_page(e.accounts(t).await)?)),
            Err(err) => {
                errors.take(err)?;
                None
            }
        }
    } else {
        None
    };
    let status = errors.status();
    let page = BillingSetupPage {
        chrome,
        q: q.to_owned(),
        products: product_opts,
        agreement_types,
        modes,
        drift,
        schedule_hours,
        errors,
        plan,
        done: p.billing,
    };
    Ok(render(status, &page))
}

/// Money as the pages show it.
pub fn money(v: f64) -> String {
    // Rounded to cents first, so a float sum a hair below zero prints "0.00", not "-0.00".
    let cents = (v * 100.0).round();
    let cents = if cents == 0.0 { 0.0 } else { cents };
    format!("{:.2}", cents / 100.0)
}

/// `POST /setup/billing`.
pub async fn billing_save(State(state): State<AppState>, form: SessionForm) -> Response {
    if let Err(r) = require_open(&state, &form.session, SetupStep::Billing).await {
        return r;
    }
    let f = &form.fields;
    if !f.get("search").is_empty() {
        // The catalog searched from inside the form: shown again with what was chosen.
        let q = f.get("q").to_owned();
        return either(
            billing_render(&state, &form.session, &q, Some(f), Errors::default(), None).await,
        );
    }
    let mut errors = Errors::default();
    let mode = Mode::parse(f.get("mode"));
    if mode.is_none() {
        errors.add("mode", "choose how customers are billed");
    }
    let drift_policy = f.get("driftPolicy").parse().unwrap_or(DriftPolicy::Report);
    let schedule_hours = match f.get("scheduleHours") {
        "" => Some(0),
        h => h.parse::<u32>().ok().filter(|h| *h <= MAX_SCHEDULE_HOURS),
    };
    if schedule_hours.is_none() {
        errors.add(
            "scheduleHours",
            format!("give whole hours from 0 (on demand only) to {MAX_SCHEDULE_HOURS} (a month)"),
        );
    }
    if f.get("product").is_empty() {
        errors.add(
            "product",
            "choose the product from the catalog (search for it if it is not listed)",
        );
    }
    if f.get("agreementType").is_empty() {
        errors.add("agreementType", "choose the default agreement type");
    }
    if let (false, Some(mode), Some(schedule_hours)) = (errors.any(), mode, schedule_hours) {
        let input = BillingInput {
            product: f.get("product").to_owned(),
            agreement_type: f.get("agreementType").to_owned(),
            mode,
            drift_policy,
            schedule_hours,
        };
        match state
            .engine
            .set_billing(form.session.tenant.id, &input)
            .await
        {
            Ok(_) => return see_other("/setup/billing?notice=billing-saved"),
            Err(e) => {
                if let Err(r) = errors.take(e) {
                    return r;
                }
            }
        }
    }
    let q = f.get("q").to_owned();
    either(billing_render(&state, &form.session, &q, Some(f), errors, None).await)
}

// ---- step 3: customer mapping --------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct Company {
    id: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    identifier: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Agreement {
    id: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    company: Option<i64>,
    #[serde(default, rename = "type")]
    agreement_type: Option<Named>,
    #[serde(default)]
    cancelled: bool,
}

/// Customers per page of the mapping step.
const PER_PAGE: usize = 50;

/// Where the mapping page is: the company search, the filter and the page.
#[derive(Debug, Clone)]
pub struct MapView {
    /// The company search.
    pub q: String,
    /// Only unmapped customers.
    pub unmapped_only: bool,
    /// The page, from 1.
    pub page: usize,
}

impl MapView {
    fn from_parts(q: &str, show: &str, page: &str) -> MapView {
        MapView {
            q: q.to_owned(),
            unmapped_only: show == "unmapped",
            page: page.parse::<usize>().ok().filter(|p| *p >= 1).unwrap_or(1),
        }
    }

    /// The page's address with this view, on another page or filter.
    fn href(&self, unmapped_only: bool, page: usize) -> String {
        let q = percent_encoding::utf8_percent_encode(&self.q, percent_encoding::NON_ALPHANUMERIC);
        format!(
            "/setup/mapping?show={}&page={page}&q={q}",
            if unmapped_only { "unmapped" } else { "all" }
        )
    }
}

/// An account in the mapping form.
#[derive(Debug, Clone)]
pub struct MapRow {
    /// The account's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its units, shortened.
    pub units: String,
    /// The company choices.
    pub companies: Vec<Opt>,
    /// The agreement choices (empty until a company is saved).
    pub agreements: Vec<Opt>,
    /// The mapped company's name.
    pub mapped: Option<String>,
    /// The best suggestion and why.
    pub suggestion: Option<String>,
}

#[derive(Template)]
#[template(path = "mapping.html")]
struct MappingPage {
    chrome: Chrome,
    q: String,
    /// `unmapped` or `all`, for the form to keep.
    show: &'static str,
    page: usize,
    pages: usize,
    total: usize,
    all_href: String,
    unmapped_href: String,
    previous: Option<String>,
    next: Option<String>,
    rows: Vec<MapRow>,
    unmapped: usize,
    strong: usize,
    default_type: String,
    errors: Errors,
    done: bool,
}

/// `GET /setup/mapping?q=&show=&page=`.
pub async fn mapping_page(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<PageQuery>,
) -> Response {
    let view = MapView::from_parts(&query.q, &query.show, &query.page);
    either(
        mapping_render(
            &state,
            &session,
            &view,
            None,
            Errors::default(),
            notice_from(&query.notice),
        )
        .await,
    )
}

async fn mapping_render(
    state: &AppState,
    session: &Session,
    view: &MapView,
    typed: Option<&super::Fields>,
    mut errors: Errors,
    notice: Option<String>,
) -> Result<Response, Response> {
    let t = session.tenant.id;
    let p = progress(state, session).await?;
    let chrome =
        Chrome::new("Step 3: Customer mapping", "/setup/mapping", session, &p).notice(notice);
    gate(SetupStep::Mapping, &chrome, &p)?;
    let e = &state.engine;
    let default_type = e
        .billing(t)
        .await
        .map(|b| b.agreement_type_name)
        .unwrap_or_default();
    let overview = match e.mapping_overview(t).await {
        Ok(o) => o,
        Err(err) => {
            errors.take(err)?;
            Vec::new()
        }
    };
    let q = view.q.as_str();
    let unmapped = overview
        .iter()
        .filter(|r| r.account.mapping.is_none())
        .count();
    let strong = overview
        .iter()
        .filter(|r| {
            r.account.mapping.is_none()
                && r.suggestions
                    .first()
                    .is_some_and(|s| s.score >= STRONG_MATCH)
        })
        .count();
    let shown: Vec<_> = overview
        .iter()
        .filter(|r| !view.unmapped_only || r.account.mapping.is_none())
        .collect();
    let total = shown.len();
    let pages = total.div_ceil(PER_PAGE).max(1);
    let page = view.page.min(pages);
    let overview: Vec<_> = shown
        .into_iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .collect();
    let companies: Vec<Company> = errors.listed(e.lookup_companies(t, Some(q)).await)?;
    // Every mapped company's agreements, in one request.
    let mapped_ids: Vec<i64> = overview
        .iter()
        .filter_map(|r| r.account.mapping.as_ref().map(|m| m.company_id))
        .collect();
    let agreements: Vec<Agreement> = errors.listed(e.lookup_agreements_of(t, &mapped_ids).await)?;
    let company_label = |c: &Company| {
        format!(
            "{} ({})",
            c.name.clone().unwrap_or_default(),
            c.identifier.clone().unwrap_or_default()
        )
    };
    let mut rows = Vec::with_capacity(overview.len());
    for row in overview {
        let a = &row.account;
        let saved = a.mapping.as_ref().map(|m| m.company_id);
        // What the form shows chosen: what was just posted for this row, else what is saved
        // (a row the posted page did not have keeps its saved company).
        let company_field = format!("company:{}", a.id);
        let chosen = match typed {
            Some(f) if f.has(&company_field) => f.get(&company_field).to_owned(),
            _ => saved.map(|c| c.to_string()).unwrap_or_default(),
        };
        let mut options = vec![Opt::new("", "— not mapped —", chosen.is_empty())];
        let mut seen = BTreeSet::new();
        if let Some(m) = &a.mapping {
            options.push(Opt::new(
                m.company_id,
                format!("{} (mapped)", m.company_name),
                chosen == m.company_id.to_string(),
            ));
            seen.insert(m.company_id);
        }
        for s in &row.suggestions {
            if seen.insert(s.company_id) {
                options.push(Opt::new(
                    s.company_id,
                    format!(
                        "Suggested: {} ({:.0}% match)",
                        s.company_name,
                        s.score * 100.0
                    ),
                    chosen == s.company_id.to_string(),
                ));
            }
        }
        for c in &companies {
            if seen.insert(c.id) {
                options.push(Opt::new(c.id, company_label(c), chosen == c.id.to_string()));
            }
        }
        if !chosen.is_empty() && !options.iter().any(|o| o.value == chosen) {
            options.push(Opt::new(&chosen, format!("Company #{chosen}"), true));
        }
        let mut agreement_opts = Vec::new();
        if let Some(m) = &a.mapping {
            let agreement_field = format!("agreement:{}", a.id);
            let chosen_agreement = match typed {
                Some(f) if f.has(&agreement_field) => f.get(&agreement_field).to_owned(),
                _ => m.agreement_id.map(|i| i.to_string()).unwrap_or_default(),
            };
            agreement_opts.push(Opt::new(
                "",
                format!("Default ({default_type})"),
                chosen_agreement.is_empty(),
            ));
            for ag in agreements.iter().filter(|ag| {
                ag.company == Some(m.company_id) && (!ag.cancelled || m.agreement_id == Some(ag.id))
            }) {
                agreement_opts.push(Opt::new(
                    ag.id,
                    format!(
                        "{} ({})",
                        ag.name.clone().unwrap_or_default(),
                        ag.agreement_type
                            .as_ref()
                            .and_then(|t| t.name.clone())
                            .unwrap_or_default()
                    ),
                    chosen_agreement == ag.id.to_string(),
                ));
            }
            // The saved choice stays listed (and chosen) even when the list could not load.
            if !chosen_agreement.is_empty()
                && !agreement_opts.iter().any(|o| o.value == chosen_agreement)
            {
                agreement_opts.push(Opt::new(
                    &chosen_agreement,
                    format!("Agreement #{chosen_agreement} (saved)"),
                    true,
                ));
            }
        }
        let suggestion = row
            .suggestions
            .first()
            .map(|s| format!("{} — {}", s.company_name, s.reasons.join("; ")));
        let mut units = a
            .units
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if a.units.len() > 3 {
            units.push_str(&format!(" and {} more", a.units.len() - 3));
        }
        rows.push(MapRow {
            id: a.id.clone(),
            name: a.name.clone(),
            units,
            companies: options,
            agreements: agreement_opts,
            mapped: a.mapping.as_ref().map(|m| m.company_name.clone()),
            suggestion,
        });
    }
    let status = errors.status();
    let page = MappingPage {
        chrome,
        q: q.to_owned(),
        show: if view.unmapped_only {
            "unmapped"
        } else {
            "all"
        },
        page,
        pages,
        total,
        all_href: view.href(false, 1),
        unmapped_href: view.href(true, 1),
        previous: (page > 1).then(|| view.href(view.unmapped_only, page - 1)),
        next: (page < pages).then(|| view.href(view.unmapped_only, page + 1)),
        rows,
        unmapped,
        strong,
        default_type,
        errors,
        done: p.mapping,
    };
    Ok(render(status, &page))
}

/// `POST /setup/mapping`: every row's company and agreement; rows left as they were are not
/// written. Each account is its own record: the rows ConnectWise accepts are saved, the
/// others are shown again as chosen, with why. "Find" shows the form again with the
/// companies found, keeping what was chosen.
pub async fn mapping_save(State(state): State<AppState>, form: SessionForm) -> Response {
    if let Err(r) = require_open(&state, &form.session, SetupStep::Mapping).await {
        return r;
    }
    let f = &form.fields;
    let view = MapView::from_parts(f.get("q"), f.get("show"), f.get("page"));
    if !f.get("find").is_empty() {
        return either(
            mapping_render(
                &state,
                &form.session,
                &view,
                Some(f),
                Errors::default(),
                None,
            )
            .await,
        );
    }
    let t = form.session.tenant.id;
    let e = &state.engine;
    let accounts = match e.accounts(t).await {
        Ok(a) => a,
        Err(err) => return failure_page(&err.to_string()),
    };
    let current: HashMap<&str, _> = accounts
        .iter()
        .map(|a| (a.id.as_str(), a.mapping.as_ref()))
        .collect();
    let mut errors = Errors::default();
    let mut saved = 0;
    for (account, company) in f.with_prefix("company:") {
        let Some(now) = current.get(account) else {
            continue; // removed by the vendor since the page was shown
        };
        let name = accounts
            .iter()
            .find(|a| a.id == account)
            .map_or(account, |a| a.name.as_str());
        if company.is_empty() {
            if now.is_some() {
                match e.unmap_account(t, account).await {
                    Ok(()) => saved += 1,
                    Err(err) => {
                        if let Err(r) = errors.take(err) {
                            return r;
                        }
                    }
                }
            }
            continue;
        }
        let Ok(company_id) = company.parse::<i64>() else {
            errors.add(
                &format!("company:{account}"),
                format!("{name}: choose a company from the list"),
            );
            continue;
        };
        let agreement_field = f.get(&format!("agreement:{account}"));
        // An agreement chosen for the previous company does not carry over to a new one.
        let agreement_id = match (now, agreement_field.parse::<i64>().ok()) {
            (Some(m), Some(a)) if m.company_id == company_id => Some(a),
            _ => None,
        };
        if now.is_some_and(|m| m.company_id == company_id && m.agreement_id == agreement_id) {
            continue;
        }
        let input = MappingInput {
            company_id,
            agreement_id,
        };
        match e.map_account(t, account, &input).await {
            Ok(_) => saved += 1,
            Err(EngineError::Invalid { message, .. }) => {
                errors.add(&format!("company:{account}"), format!("{name}: {message}"));
            }
            Err(other) => {
                if let Err(r) = errors.take(other) {
                    return r;
                }
            }
        }
    }
    if errors.any() {
        if saved > 0 {
            errors.problem = Some(format!(
                "{}{saved} other row(s) were saved.",
                errors
                    .problem
                    .take()
                    .map(|p| format!("{p} "))
                    .unwrap_or_default()
            ));
        }
        return either(mapping_render(&state, &form.session, &view, Some(f), errors, None).await);
    }
    see_other(&format!(
        "{}&notice=mapping-saved",
        view.href(view.unmapped_only, view.page)
    ))
}

/// `POST /setup/mapping/accept`: every unmapped account whose best suggestion is strong
/// (a matching domain, identifier or name) gets it; weaker ones are left to the admin.
pub async fn mapping_accept(State(state): State<AppState>, form: SessionForm) -> Response {
    if let Err(r) = require_open(&state, &form.session, SetupStep::Mapping).await {
        return r;
    }
    let t = form.session.tenant.id;
    let f = &form.fields;
    let view = MapView::from_parts(f.get("q"), f.get("show"), f.get("page"));
    let rows = match state.engine.mapping_overview(t).await {
        Ok(r) => r,
        Err(err) => {
            let mut errors = Errors::default();
            if let Err(r) = errors.take(err) {
                return r;
            }
            return either(mapping_render(&state, &form.session, &view, None, errors, None).await);
        }
    };
    let mut errors = Errors::default();
    for row in rows.iter().filter(|r| r.account.mapping.is_none()) {
        let Some(best) = row.suggestions.first().filter(|s| s.score >= STRONG_MATCH) else {
            continue;
        };
        let input = MappingInput {
            company_id: best.company_id,
            agreement_id: None,
        };
        if let Err(err) = state.engine.map_account(t, &row.account.id, &input).await
            && let Err(r) = errors.take(err)
        {
            return r;
        }
    }
    if errors.any() {
        return either(mapping_render(&state, &form.session, &view, None, errors, None).await);
    }
    see_other(&format!(
        "{}&notice=accepted",
        view.href(view.unmapped_only, view.page)
    ))
}

// ---- step 4: tickets & alerts --------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct Board {
    id: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    statuses: Vec<Named>,
    #[serde(default)]
    types: Vec<Named>,
}

/// A board with its statuses and types, for the grouped lists.
#[derive(Debug, Clone)]
pub struct BoardGroup {
    /// The board's name.
    pub name: String,
    /// Its statuses.
    pub statuses: Vec<Opt>,
    /// Its ticket types.
    pub types: Vec<Opt>,
}

/// An account's alert types in the form.
#[derive(Debug, Clone)]
pub struct AlertRow {
    /// The account's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whether it is mapped (alerts of unmapped accounts are held).
    pub mapped: bool,
    /// Whether every type is forwarded, also ones added later.
    pub all: bool,
    /// The types and whether each is forwarded.
    pub types: Vec<(String, bool)>,
}

#[derive(Template)]
#[template(path = "tickets.html")]
struct TicketsPage {
    chrome: Chrome,
    boards: Vec<Opt>,
    groups: Vec<BoardGroup>,
    priorities: Vec<Opt>,
    signature: String,
    accounts: Vec<AlertRow>,
    errors: Errors,
    done: bool,
}

/// `GET /setup/tickets`.
pub async fn tickets_page(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<PageQuery>,
) -> Response {
    either(
        tickets_render(
            &state,
            &session,
            None,
            Errors::default(),
            notice_from(&query.notice),
        )
        .await,
    )
}

async fn tickets_render(
    state: &AppState,
    session: &Session,
    typed: Option<&super::Fields>,
    mut errors: Errors,
    notice: Option<String>,
) -> Result<Response, Response> {
    let t = session.tenant.id;
    let p = progress(state, session).await?;
    let chrome =
        Chrome::new("Step 4: Tickets & alerts", "/setup/tickets", session, &p).notice(notice);
    gate(SetupStep::Tickets, &chrome, &p)?;
    let e = &state.engine;
    let saved = or_page(e.ticket_settings(t).await)?;
    let boards: Vec<Board> = errors.listed(e.lookup_boards(t).await)?;
    let priorities: Vec<Named> = errors.listed(e.lookup_priorities(t).await)?;
    let chosen = |field: &str, saved_id: Option<i64>| -> String {
        match typed {
            Some(f) => f.get(field).to_owned(),
            None => saved_id.map(|i| i.to_string()).unwrap_or_default(),
        }
    };
    let board = chosen("board", saved.as_ref().map(|s| s.board_id));
    let status = chosen("status", saved.as_ref().map(|s| s.status_id));
    let ticket_type = chosen("type", saved.as_ref().and_then(|s| s.type_id));
    let priority = chosen("priority", saved.as_ref().map(|s| s.priority_id));
    let groups = boards
        .iter()
        .map(|b| BoardGroup {
            name: b.name.clone().unwrap_or_default(),
            statuses: b
                .statuses
                .iter()
                .map(|s| {
                    Opt::new(
                        s.id,
                        s.name.clone().unwrap_or_default(),
                        s.id.to_string() == status,
                    )
                })
                .collect(),
            types: b
                .types
                .iter()
                .map(|s| {
                    Opt::new(
                        s.id,
                        s.name.clone().unwrap_or_default(),
                        s.id.to_string() == ticket_type,
                    )
                })
                .collect(),
        })
        .collect();
    let board_opts = boards
        .iter()
        .map(|b| {
            Opt::new(
                b.id,
                b.name.clone().unwrap_or_default(),
                b.id.to_string() == board,
            )
        })
        .collect();
    let priority_opts = priorities
        .iter()
        .map(|x| {
            Opt::new(
                x.id,
                x.name.clone().unwrap_or_default(),
                x.id.to_string() == priority,
            )
        })
        .collect();
    let signature = match typed {
        Some(f) => f.get("signature").to_owned(),
        None => saved
            .as_ref()
            .map(|s| s.signature.clone())
            .unwrap_or_default(),
    };
    // Per account: the types the vendor configured, and any seen in its alerts.
    let recent = or_page(e.alerts(t).await)?;
    let mut accounts = Vec::new();
    for a in or_page(e.accounts(t).await)? {
        let route = or_page(e.alert_route(t, &a.id).await)?;
        let mut types: BTreeSet<String> = a.alert_types.iter().cloned().collect();
        types.extend(
            recent
                .iter()
                .filter(|x| x.account == a.id && x.alert_type != TEST_ALERT_TYPE)
                .map(|x| x.alert_type.clone()),
        );
        if let Some(r) = &route {
            types.extend(r.iter().cloned());
        }
        accounts.push(AlertRow {
            mapped: a.mapping.is_some(),
            all: route.is_none(),
            types: types
                .into_iter()
                .map(|ty| {
                    let on = route.as_ref().is_none_or(|r| r.contains(&ty));
                    (ty, on)
                })
                .collect(),
            id: a.id,
            name: a.name,
        });
    }
    let status_code = errors.status();
    let page = TicketsPage {
        chrome,
        boards: board_opts,
        groups,
        priorities: priority_opts,
        signature,
        accounts,
        errors,
        done: p.tickets,
    };
    Ok(render(status_code, &page))
}

/// `POST /setup/tickets`: the ticket defaults.
pub async fn tickets_save(State(state): State<AppState>, form: SessionForm) -> Response {
    if let Err(r) = require_open(&state, &form.session, SetupStep::Tickets).await {
        return r;
    }
    let f = &form.fields;
    let mut errors = Errors::default();
    for (field, what) in [
        ("board", "choose the service board new tickets go to"),
        ("status", "choose the status new tickets get"),
        ("priority", "choose the priority new tickets get"),
    ] {
        if f.get(field).is_empty() {
            errors.add(field, what);
        }
    }
    if !errors.any() {
        let input = TicketSettingsInput {
            board: f.get("board").to_owned(),
            status: f.get("status").to_owned(),
            priority: f.get("priority").to_owned(),
            ticket_type: Some(f.get("type").to_owned()).filter(|t| !t.is_empty()),
            signature: Some(f.get("signature").to_owned()),
        };
        match state
            .engine
            .set_ticket_settings(form.session.tenant.id, &input)
            .await
        {
            Ok(_) => return see_other("/setup/tickets?notice=tickets-saved"),
            Err(e) => {
                if let Err(r) = errors.take(e) {
                    return r;
                }
            }
        }
    }
    either(tickets_render(&state, &form.session, Some(f), errors, None).await)
}

/// `POST /setup/tickets/alerts`: which alert types each account forwards.
pub async fn alerts_save(State(state): State<AppState>, form: SessionForm) -> Response {
    if let Err(r) = require_open(&state, &form.session, SetupStep::Tickets).await {
        return r;
    }
    let t = form.session.tenant.id;
    for account in form.fields.all("account") {
        let types = if form.fields.get(&format!("forward:{account}")) == "all" {
            vec!["*".to_owned()]
        } else {
            form.fields.all(&format!("type:{account}"))
        };
        match state.engine.set_alert_route(t, &account, &types).await {
            Ok(()) | Err(EngineError::NotFound(_)) => {}
            Err(e) => return failure_page(&e.to_string()),
        }
    }
    see_other("/setup/tickets?notice=alerts-saved")
}

/// `POST /setup/tickets/test`: a test alert for one account, to see a ticket arrive.
pub async fn test_alert(State(state): State<AppState>, form: SessionForm) -> Response {
    if let Err(r) = require_open(&state, &form.session, SetupStep::Tickets).await {
        return r;
    }
    let account = form.fields.get("account");
    match state
        .engine
        .send_test_alert(form.session.tenant.id, account)
        .await
    {
        Ok(_) => see_other("/alerts?notice=test-sent"),
        Err(e) => {
            let mut errors = Errors::default();
            if let Err(r) = errors.take(e) {
                return r;
            }
            either(tickets_render(&state, &form.session, None, errors, None).await)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_two_decimals_and_no_negative_zero() {
        assert_eq!(money(-0.0), "0.00");
        assert_eq!(money(-0.004), "0.00");
        assert_eq!(money(0.1 + 0.2 - 0.3 - 1e-15), "0.00");
        assert_eq!(money(12.0), "12.00");
        assert_eq!(money(84.5), "84.50");
    }
}
