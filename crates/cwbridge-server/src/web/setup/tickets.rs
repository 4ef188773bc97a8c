//! Step 4: ticket defaults (board, status, type, priority, signature) and which alerts each
//! customer forwards.

use super::*;

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
    typed: Option<&crate::web::Fields>,
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
