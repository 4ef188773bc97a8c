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

/// Step 1's form: what seed 004 tells the MSP admin to copy from ConnectWise.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectForm {
    #[serde(default)]
    site: String,
    #[serde(default)]
    company_id: String,
    #[serde(default)]
    public_key: String,
    #[serde(default)]
    private_key: String,
    #[serde(default)]
    client_id: String,
}

/// "Check again", from step 1 or from the health page.
#[derive(Debug, Default, Deserialize)]
struct CheckForm {
    /// The page to come back to.
    #[serde(default)]
    back: String,
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
pub async fn connect_page(visit: Visit) -> Page {
    let (state, session, query) = visit.parts();
    connect_render(&state, &session, Shown::fresh(&query)).await
}

async fn connect_render(
    state: &AppState,
    session: &Session,
    shown: Shown<'_, ConnectForm>,
) -> Page {
    let t = session.tenant.id;
    let (chrome, p) = step_frame(state, session, SetupStep::Connect, shown.notice).await?;
    let (typed, errors) = (shown.typed, shown.errors);
    let saved = found(state.engine.connection(t).await)?;
    let check = or_page(state.engine.last_check(t).await)?.map(|c| check_view(&c));
    let pick = |posted: fn(&ConnectForm) -> &String, saved_value: Option<&String>| -> String {
        match typed {
            Some(f) => posted(f).clone(),
            None => saved_value.cloned().unwrap_or_default(),
        }
    };
    let page = ConnectPage {
        chrome,
        site: pick(|f| &f.site, saved.as_ref().map(|c| &c.site)),
        company_id: pick(|f| &f.company_id, saved.as_ref().map(|c| &c.company_id)),
        public_key: pick(|f| &f.public_key, saved.as_ref().map(|c| &c.public_key)),
        client_id: pick(|f| &f.client_id, saved.as_ref().map(|c| &c.client_id)),
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
pub async fn connect_save(State(state): State<AppState>, form: SessionForm) -> Page {
    let f: ConnectForm = form.fields.parse()?;
    let input = ConnectionInput {
        site: f.site.clone(),
        company_id: f.company_id.clone(),
        public_key: f.public_key.clone(),
        private_key: f.private_key.clone(),
        client_id: f.client_id.clone(),
    };
    match state
        .engine
        .save_connection(form.session.tenant.id, &input)
        .await
    {
        Ok((_, report)) if report.ok => Ok(see_other("/setup/connect?notice=connection-saved")),
        Ok(_) => Ok(see_other("/setup/connect?notice=connection-failed")),
        Err(e) => {
            let shown = Shown::again(Some(&f), Errors::refusing(e)?);
            connect_render(&state, &form.session, shown).await
        }
    }
}

/// `POST /setup/connect/check`: checks the saved connection again.
pub async fn connect_check(State(state): State<AppState>, form: SessionForm) -> Page {
    let f: CheckForm = form.fields.parse()?;
    let back = match f.back.as_str() {
        "/health" => "/health",
        _ => "/setup/connect",
    };
    match state.engine.check_connection(form.session.tenant.id).await {
        Ok(_) => Ok(see_other(&format!("{back}?notice=checked"))),
        Err(EngineError::NotFound(_)) => Ok(see_other("/setup/connect")),
        Err(e) => Err(failure_page(&e.to_string())),
    }
}
