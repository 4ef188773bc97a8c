//! Step 2: billing and the product — the catalog product, the agreement type, the mode, the
//! drift policy and the schedule, with the plan they make.

use super::*;

/// Step 2's form.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BillingForm {
    #[serde(default)]
    product: String,
    #[serde(default)]
    agreement_type: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    drift_policy: String,
    #[serde(default)]
    schedule_hours: String,
    /// The catalog search typed in the form.
    #[serde(default)]
    q: String,
    /// Set by the catalog's "Search" button: show the form again, save nothing.
    #[serde(default)]
    search: String,
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
pub async fn billing_page(visit: Visit) -> Page {
    let (state, session, query) = visit.parts();
    let plan_page = query.page_number();
    billing_render(&state, &session, &query.q, plan_page, Shown::fresh(&query)).await
}

async fn billing_render(
    state: &AppState,
    session: &Session,
    q: &str,
    plan_page: usize,
    shown: Shown<'_, BillingForm>,
) -> Page {
    let t = session.tenant.id;
    let (chrome, p) = step_frame(state, session, SetupStep::Billing, shown.notice).await?;
    let (typed, mut errors) = (shown.typed, shown.errors);
    let e = &state.engine;
    let saved = e.billing(t).await.ok();
    let products: Vec<ProductOption> = errors.listed(e.lookup_catalog(t, Some(q)).await)?;
    let types: Vec<NamedOption> = errors.listed(e.lookup_agreement_types(t).await)?;
    let chosen_product = typed
        .map(|f| f.product.clone())
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
        .map(|f| f.agreement_type.clone())
        .or_else(|| saved.as_ref().map(|b| b.agreement_type_id.to_string()))
        .unwrap_or_default();
    let agreement_types = types
        .iter()
        .map(|a| Opt::named(a.id, &a.name, &chosen_type))
        .collect();
    let mode = typed
        .map(|f| f.mode.clone())
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
        .map(|f| f.drift_policy.clone())
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
        .map(|f| f.schedule_hours.clone())
        .or_else(|| saved.as_ref().map(|b| b.schedule_hours.to_string()))
        .unwrap_or_else(|| "24".into());
    let plan = if saved.is_some() && typed.is_none() {
        match e.billing_plan(t, false).await {
            Ok(plan) => {
                let href = |n: usize| format!("/setup/billing?q={}&page={n}", query_text(q));
                Some(plan_view(
                    &plan,
                    &or_page(e.accounts(t).await)?,
                    plan_page,
                    href,
                ))
            }
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

/// `POST /setup/billing`.
pub async fn billing_save(State(state): State<AppState>, form: SessionForm) -> Page {
    let f: BillingForm = open_form(&state, &form, SetupStep::Billing).await?;
    if !f.search.is_empty() {
        // The catalog searched from inside the form: shown again with what was chosen.
        let shown = Shown::again(Some(&f), Errors::default());
        return billing_render(&state, &form.session, &f.q, 1, shown).await;
    }
    let mut errors = Errors::default();
    let mode: Option<Mode> = f.mode.parse().ok();
    if mode.is_none() {
        errors.add("mode", "choose how customers are billed");
    }
    let drift_policy = f.drift_policy.parse().unwrap_or(DriftPolicy::Report);
    let schedule_hours = match f.schedule_hours.as_str() {
        "" => Some(0),
        h => h.parse::<u32>().ok().filter(|h| *h <= MAX_SCHEDULE_HOURS),
    };
    if schedule_hours.is_none() {
        errors.add(
            "scheduleHours",
            format!("give whole hours from 0 (on demand only) to {MAX_SCHEDULE_HOURS} (a month)"),
        );
    }
    if f.product.is_empty() {
        errors.add(
            "product",
            "choose the product from the catalog (search for it if it is not listed)",
        );
    }
    if f.agreement_type.is_empty() {
        errors.add("agreementType", "choose the default agreement type");
    }
    if let (false, Some(mode), Some(schedule_hours)) = (errors.any(), mode, schedule_hours) {
        let input = BillingInput {
            product: f.product.clone(),
            agreement_type: f.agreement_type.clone(),
            mode,
            drift_policy,
            schedule_hours,
        };
        match state
            .engine
            .set_billing(form.session.tenant.id, &input)
            .await
        {
            Ok(_) => return Ok(see_other("/setup/billing?notice=billing-saved")),
            Err(e) => errors.take(e)?,
        }
    }
    billing_render(
        &state,
        &form.session,
        &f.q,
        1,
        Shown::again(Some(&f), errors),
    )
    .await
}
