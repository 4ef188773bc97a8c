//! Step 3: customers mapped to ConnectWise companies, paged and searched, with suggestions
//! and "accept every strong match".

use super::*;

/// Customers per page of the mapping step.
const PER_PAGE: usize = 50;

/// Companies each row offers when nothing was searched (a search offers up to 50).
const UNSEARCHED_COMPANIES: usize = 25;

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
            page: page_number(page),
        }
    }

    /// The page's address with this view, on another page or filter.
    fn href(&self, unmapped_only: bool, page: usize) -> String {
        let q = query_text(&self.q);
        format!(
            "/setup/mapping?show={}&page={page}&q={q}",
            if unmapped_only { "unmapped" } else { "all" }
        )
    }
}

/// What the mapping forms send besides each row's choices (`company:{id}`,
/// `agreement:{id}`): where the page was, and whether "Find" was pressed.
#[derive(Debug, Default, Deserialize)]
struct MapForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    show: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    find: String,
}

impl MapForm {
    fn view(&self) -> MapView {
        MapView::from_parts(&self.q, &self.show, &self.page)
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
pub async fn mapping_page(visit: Visit) -> Page {
    let (state, session, query) = visit.parts();
    let view = MapView::from_parts(&query.q, &query.show, &query.page);
    mapping_render(&state, &session, &view, Shown::fresh(&query)).await
}

async fn mapping_render(
    state: &AppState,
    session: &Session,
    view: &MapView,
    shown: Shown<'_, crate::web::Fields>,
) -> Page {
    let t = session.tenant.id;
    let (chrome, p) = step_frame(state, session, SetupStep::Mapping, shown.notice).await?;
    let (typed, mut errors) = (shown.typed, shown.errors);
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
    let mut companies: Vec<CompanyOption> = errors.listed(e.lookup_companies(t, Some(q)).await)?;
    if q.trim().is_empty() {
        // Every row lists these: without a search, fewer, so a page stays small.
        companies.truncate(UNSEARCHED_COMPANIES);
    }
    // Every mapped company's agreements, in one request.
    let mapped_ids: Vec<i64> = overview
        .iter()
        .filter_map(|r| r.account.mapping.as_ref().map(|m| m.company_id))
        .collect();
    let agreements: Vec<AgreementOption> =
        errors.listed(e.lookup_agreements_of(t, &mapped_ids).await)?;
    let company_label = |c: &CompanyOption| {
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
pub async fn mapping_save(State(state): State<AppState>, form: SessionForm) -> Page {
    let posted: MapForm = open_form(&state, &form, SetupStep::Mapping).await?;
    let f = &form.fields;
    let view = posted.view();
    if !posted.find.is_empty() {
        let shown = Shown::again(Some(f), Errors::default());
        return mapping_render(&state, &form.session, &view, shown).await;
    }
    let t = form.session.tenant.id;
    let e = &state.engine;
    let accounts = or_page(e.accounts(t).await)?;
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
                    Err(err) => errors.take(err)?,
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
            Err(other) => errors.take(other)?,
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
        return mapping_render(&state, &form.session, &view, Shown::again(Some(f), errors)).await;
    }
    Ok(see_other(&format!(
        "{}&notice=mapping-saved",
        view.href(view.unmapped_only, view.page)
    )))
}

/// `POST /setup/mapping/accept`: every unmapped account whose best suggestion is strong
/// (a matching domain, identifier or name) gets it; weaker ones are left to the admin.
pub async fn mapping_accept(State(state): State<AppState>, form: SessionForm) -> Page {
    let view = open_form::<MapForm>(&state, &form, SetupStep::Mapping)
        .await?
        .view();
    let t = form.session.tenant.id;
    let mut errors = Errors::default();
    let rows = match state.engine.mapping_overview(t).await {
        Ok(r) => r,
        Err(err) => {
            errors.take(err)?;
            Vec::new()
        }
    };
    for row in rows.iter().filter(|r| r.account.mapping.is_none()) {
        let Some(best) = row.suggestions.first().filter(|s| s.score >= STRONG_MATCH) else {
            continue;
        };
        let input = MappingInput {
            company_id: best.company_id,
            agreement_id: None,
        };
        if let Err(err) = state.engine.map_account(t, &row.account.id, &input).await {
            errors.take(err)?;
        }
    }
    if errors.any() {
        return mapping_render(&state, &form.session, &view, Shown::again(None, errors)).await;
    }
    Ok(see_other(&format!(
        "{}&notice=accepted",
        view.href(view.unmapped_only, view.page)
    )))
}
