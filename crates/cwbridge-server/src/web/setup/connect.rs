//! Step 1: the ConnectWise connection — save, check, and the permissions report.

use super::*;

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
    typed: Option<&crate::web::Fields>,
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
