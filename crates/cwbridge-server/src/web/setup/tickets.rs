//! Step 4: ticket defaults (board, status, type, priority, signature) and which alerts each
//! customer forwards.

use super::*;

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

/// Customers per page of step 4's forwarding list.
const PER_PAGE: usize = 50;

/// The ticket defaults form.
#[derive(Debug, Default, Deserialize)]
struct DefaultsForm {
    #[serde(default)]
    board: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    priority: String,
    #[serde(default, rename = "type")]
    ticket_type: String,
    #[serde(default)]
    signature: String,
}

/// Where the forwarding list is: its search and page, in the address and in the forms.
#[derive(Debug, Default, Clone, Deserialize)]
struct ListView {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: String,
}

impl ListView {
    fn page(&self) -> usize {
        page_number(&self.page)
    }

    /// The page's address with this search, on page `page`.
    fn href(&self, page: usize) -> String {
        format!("/setup/tickets?q={}&page={page}", query_text(&self.q))
    }
}

/// What the forwarding form sends besides each customer's choices.
#[derive(Debug, Default, Deserialize)]
struct ForwardingForm {
    #[serde(flatten)]
    view: ListView,
    /// `all`, `none` or `only`: the choice "Apply to the selected customers" applies.
    #[serde(default)]
    bulk: String,
    /// The types `only` forwards, separated by commas.
    #[serde(default, rename = "bulkTypes")]
    bulk_types: String,
    /// `1`: every customer matching the search, not only those ticked.
    #[serde(default)]
    matching: String,
    /// Set by "Apply to the selected customers".
    #[serde(default)]
    apply: String,
}

/// "Send a test alert": the customer.
#[derive(Debug, Default, Deserialize)]
struct TestAlertForm {
    #[serde(default)]
    account: String,
}

#[derive(Template)]
#[template(path = "tickets.html")]
struct TicketsPage {
    chrome: Chrome,
    boards: Vec<Opt>,
    groups: Vec<BoardGroup>,
    priorities: Vec<Opt>,
    signature: String,
    q: String,
    page: usize,
    pages: usize,
    total: usize,
    previous: Option<String>,
    next: Option<String>,
    accounts: Vec<ForwardingRow>,
    errors: Errors,
    done: bool,
}

/// `GET /setup/tickets?q=&page=`.
pub async fn tickets_page(visit: Visit) -> Page {
    let (state, session, query) = visit.parts();
    let view = ListView {
        q: query.q.clone(),
        page: query.page.clone(),
    };
    tickets_render(&state, &session, &view, Shown::fresh(&query)).await
}

async fn tickets_render(
    state: &AppState,
    session: &Session,
    view: &ListView,
    shown: Shown<'_, DefaultsForm>,
) -> Page {
    let t = session.tenant.id;
    let (chrome, p) = step_frame(state, session, SetupStep::Tickets, shown.notice).await?;
    let (typed, mut errors) = (shown.typed, shown.errors);
    let e = &state.engine;
    let saved = or_page(e.ticket_settings(t).await)?;
    let boards: Vec<BoardOption> = errors.listed(e.lookup_boards(t).await)?;
    let priorities: Vec<NamedOption> = errors.listed(e.lookup_priorities(t).await)?;
    let chosen = |posted: Option<&String>, saved_id: Option<i64>| -> String {
        match posted {
            Some(v) => v.clone(),
            None => saved_id.map(|i| i.to_string()).unwrap_or_default(),
        }
    };
    let board = chosen(typed.map(|f| &f.board), saved.as_ref().map(|s| s.board_id));
    let status = chosen(
        typed.map(|f| &f.status),
        saved.as_ref().map(|s| s.status_id),
    );
    let ticket_type = chosen(
        typed.map(|f| &f.ticket_type),
        saved.as_ref().and_then(|s| s.type_id),
    );
    let priority = chosen(
        typed.map(|f| &f.priority),
        saved.as_ref().map(|s| s.priority_id),
    );
    let options = |items: &[NamedOption], chosen: &str| -> Vec<Opt> {
        items
            .iter()
            .map(|x| Opt::named(x.id, &x.name, chosen))
            .collect()
    };
    let groups = boards
        .iter()
        .map(|b| BoardGroup {
            name: b.name.clone().unwrap_or_default(),
            statuses: b
                .statuses
                .iter()
                .map(|x| Opt::named(x.id, &x.name, &status))
                .collect(),
            types: options(&b.types, &ticket_type),
        })
        .collect();
    let board_opts = boards
        .iter()
        .map(|b| Opt::named(b.id, &b.name, &board))
        .collect();
    let signature = match typed {
        Some(f) => f.signature.clone(),
        None => saved
            .as_ref()
            .map(|s| s.signature.clone())
            .unwrap_or_default(),
    };
    let list = or_page(e.forwarding(t, &view.q, view.page(), PER_PAGE).await)?;
    let status_code = errors.status();
    let page = TicketsPage {
        chrome,
        boards: board_opts,
        groups,
        priorities: options(&priorities, &priority),
        signature,
        q: view.q.clone(),
        page: list.page,
        pages: list.pages,
        total: list.total,
        previous: (list.page > 1).then(|| view.href(list.page - 1)),
        next: (list.page < list.pages).then(|| view.href(list.page + 1)),
        accounts: list.rows,
        errors,
        done: p.tickets,
    };
    Ok(render(status_code, &page))
}

/// `POST /setup/tickets`: the ticket defaults.
pub async fn tickets_save(State(state): State<AppState>, form: SessionForm) -> Page {
    let f: DefaultsForm = open_form(&state, &form, SetupStep::Tickets).await?;
    let mut errors = Errors::default();
    for (value, field, what) in [
        (
            &f.board,
            "board",
            "choose the service board new tickets go to",
        ),
        (&f.status, "status", "choose the status new tickets get"),
        (
            &f.priority,
            "priority",
            "choose the priority new tickets get",
        ),
    ] {
        if value.is_empty() {
            errors.add(field, what);
        }
    }
    if !errors.any() {
        let input = TicketSettingsInput {
            board: f.board.clone(),
            status: f.status.clone(),
            priority: f.priority.clone(),
            ticket_type: Some(f.ticket_type.clone()).filter(|t| !t.is_empty()),
            signature: Some(f.signature.clone()),
        };
        match state
            .engine
            .set_ticket_settings(form.session.tenant.id, &input)
            .await
        {
            Ok(_) => return Ok(see_other("/setup/tickets?notice=tickets-saved")),
            Err(e) => errors.take(e)?,
        }
    }
    let view = ListView::default();
    tickets_render(&state, &form.session, &view, Shown::again(Some(&f), errors)).await
}

/// `POST /setup/tickets/alerts`: which alert types each customer on the page forwards, or
/// ("Apply to the selected customers") one choice for the customers ticked, or for every
/// customer matching the search.
pub async fn alerts_save(State(state): State<AppState>, form: SessionForm) -> Page {
    let f: ForwardingForm = open_form(&state, &form, SetupStep::Tickets).await?;
    let t = form.session.tenant.id;
    let back = |notice: &str| {
        Ok(see_other(&format!(
            "{}&notice={notice}",
            f.view.href(f.view.page())
        )))
    };
    if !f.apply.is_empty() {
        let types: Vec<String> = match f.bulk.as_str() {
            "all" => vec!["*".to_owned()],
            "none" => Vec::new(),
            "only" => f
                .bulk_types
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            _ => return back("bulk-unchosen"),
        };
        let accounts = if f.matching == "1" {
            or_page(state.engine.accounts_matching(t, &f.view.q).await)?
        } else {
            form.fields.all("select")
        };
        if accounts.is_empty() {
            return back("bulk-none-selected");
        }
        return match state.engine.set_alert_routes(t, &accounts, &types).await {
            Ok(_) => back("alerts-saved"),
            Err(EngineError::Invalid { message, .. }) => Err(problem_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Alert types not saved",
                &format!("{message}. Go back and change the choice."),
            )),
            Err(e) => Err(failure_page(&e.to_string())),
        };
    }
    for account in form.fields.all("account") {
        let types = if form.fields.get(&format!("forward:{account}")) == "all" {
            vec!["*".to_owned()]
        } else {
            form.fields.all(&format!("type:{account}"))
        };
        match state.engine.set_alert_route(t, &account, &types).await {
            Ok(()) | Err(EngineError::NotFound(_)) => {}
            Err(e) => return Err(failure_page(&e.to_string())),
        }
    }
    back("alerts-saved")
}

/// `POST /setup/tickets/test`: a test alert for one account, to see a ticket arrive.
pub async fn test_alert(State(state): State<AppState>, form: SessionForm) -> Page {
    let f: TestAlertForm = open_form(&state, &form, SetupStep::Tickets).await?;
    let account = f.account.as_str();
    match state
        .engine
        .send_test_alert(form.session.tenant.id, account)
        .await
    {
        Ok(_) => Ok(see_other("/alerts?notice=test-sent")),
        Err(e) => {
            let shown = Shown::again(None, Errors::refusing(e)?);
            tickets_render(&state, &form.session, &ListView::default(), shown).await
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
