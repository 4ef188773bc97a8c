#![doc = include_str!("../README.md")]

/// Metrics and logs switched on and off while a benchmark runs.
pub mod observing;
/// A `cwbridge` process's API.
mod remote;

pub use remote::Remote;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};

use connectwise_sandbox::admin::AdminClient;
use connectwise_sandbox::roles::Action;
use connectwise_sandbox::{Faults, Grant, Level, LostMode, Preset, Sandbox, SandboxConfig, Seed};
use cwbridge_engine::alert::TicketSettingsInput;
use cwbridge_engine::billing::settings::BillingInput;
use cwbridge_engine::billing::{DriftPolicy, Mode};
use cwbridge_engine::{ConnectionInput, Engine, EngineConfig, Keyring, NewTenant};
use cwbridge_server::{AppState, Application};
pub use cwbridge_store::testing::{TestDb, databases};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A demo sandbox and its admin.
pub struct Site {
    /// The running sandbox.
    pub sandbox: Sandbox,
    /// Its built-in admin, for seed 004's steps.
    pub admin: AdminClient,
}

/// An API key made for a member: what step 1 asks for besides the site.
#[derive(Debug, Clone)]
pub struct ApiKey {
    /// The public key.
    pub public_key: String,
    /// The private key (shown once by ConnectWise).
    pub private_key: String,
}

impl Site {
    /// A sandbox with the demo seed, kept in memory.
    pub async fn demo() -> Site {
        Site::start(SandboxConfig::ephemeral()).await
    }

    /// A sandbox with the demo seed, its state (`credentials.json`, `cert.pem`) in `dir`, for
    /// tests that run `cwbridge` as a process.
    pub async fn demo_in(dir: &Path) -> Site {
        Site::start(SandboxConfig {
            state_dir: Some(dir.to_owned()),
            ..SandboxConfig::ephemeral()
        })
        .await
    }

    async fn start(config: SandboxConfig) -> Site {
        let sandbox = Sandbox::start(SandboxConfig {
            seed: Some(Seed::Demo),
            ..config
        })
        .await
        .expect("the sandbox starts");
        let admin = AdminClient::new(sandbox.credentials().clone(), sandbox.ca_pem())
            .expect("the admin client");
        Site { sandbox, admin }
    }

    /// Seed 004's steps: a role named `name` with these grants, an API member holding it, a
    /// key for that member.
    pub async fn key_for(&self, name: &str, grants: &[Grant]) -> ApiKey {
        self.admin
            .create_role(name, grants)
            .await
            .expect("the role");
        let member = self
            .admin
            .create_member(
                name,
                name,
                Some("Integration"),
                &format!("{}@msp.example", name.to_lowercase().replace(' ', "-")),
                name,
            )
            .await
            .expect("the member");
        let (public_key, private_key) = self
            .admin
            .create_key(member, "cwbridge")
            .await
            .expect("a key");
        ApiKey {
            public_key,
            private_key,
        }
    }

    /// Seed 004's steps with its role (billing and tickets); answers what the tenant types in
    /// step 1.
    pub async fn seed_member(&self, name: &str) -> ConnectionInput {
        self.api_member(name, &Preset::BillingTickets.grants())
            .await
    }

    /// Seed 004's steps with these grants; answers what the tenant types in step 1.
    pub async fn api_member(&self, name: &str, grants: &[Grant]) -> ConnectionInput {
        let key = self.key_for(name, grants).await;
        let c = self.sandbox.credentials();
        ConnectionInput {
            site: c.site.clone(),
            company_id: c.company_id.clone(),
            public_key: key.public_key,
            private_key: key.private_key,
            client_id: c.client_id.clone(),
        }
    }

    /// Seed 004's role, with one level lowered to None.
    pub async fn member_lacking(
        &self,
        name: &str,
        function: &str,
        action: Action,
    ) -> ConnectionInput {
        let mut grants = Preset::BillingTickets.grants();
        grants
            .iter_mut()
            .find(|g| g.function.function == function)
            .expect("the preset grants that function")
            .levels
            .set(action, Level::None);
        self.api_member(name, &grants).await
    }

    /// Step 1's form as the API takes it (`PUT /api/v1/connection`), for this key.
    pub fn connection_json(&self, key: &ApiKey) -> Value {
        let c = self.sandbox.credentials();
        json!({
            "site": c.site, "companyId": c.company_id, "publicKey": key.public_key,
            "privateKey": key.private_key, "clientId": c.client_id,
        })
    }

    /// The sandbox's admin as a typed client, to look at (and meddle with) what the bridge
    /// wrote.
    pub fn admin_client(&self) -> &connectwise_client::Client {
        self.admin.client()
    }

    /// Engine settings that reach this sandbox: its certificate trusted, 127.0.0.1 allowed
    /// through the fence (as an operator allows an on-premise ConnectWise), nothing else.
    pub fn config(&self) -> EngineConfig {
        EngineConfig {
            connectwise_ca: self.sandbox.ca_pem().map(|p| p.as_bytes().to_vec()),
            egress_address: Some("203.0.113.7".into()),
            fence: local_fence(),
            ..EngineConfig::default()
        }
    }
}

/// The public internet and 127.0.0.1, where the sandbox listens.
pub fn local_fence() -> connectwise_client::Fence {
    connectwise_client::Fence::public_only().allow_network("127.0.0.1/32".parse().expect("a net"))
}

/// An engine over `db` with a fresh keyring.
pub fn engine(db: &TestDb, config: &EngineConfig) -> Engine {
    let keyring = Keyring::from_base64(&[Keyring::generate_key()]).expect("a keyring");
    Engine::new(db.store.clone(), keyring, config.clone())
}

/// An engine per test database, each with a fresh keyring.
pub async fn engines(config: &EngineConfig) -> Vec<(Engine, TestDb)> {
    let mut out = Vec::new();
    for db in databases().await {
        out.push((engine(&db, config), db));
    }
    out
}

/// Step 2 as seed 004's walkthrough fills it in: product `DMARC-MONITOR` on "Managed
/// Services" agreements, a line per unit, hand edits reported, applied on demand only.
pub fn billing_per_unit() -> BillingInput {
    BillingInput {
        product: "DMARC-MONITOR".into(),
        agreement_type: "Managed Services".into(),
        mode: Mode::PerUnit,
        drift_policy: DriftPolicy::Report,
        schedule_hours: 0,
    }
}

/// Step 4 as seed 004's walkthrough fills it in: the Help Desk board, status New, priority 3;
/// no ticket type, no signature.
pub fn help_desk_tickets() -> TicketSettingsInput {
    TicketSettingsInput {
        board: "Help Desk".into(),
        status: "New".into(),
        priority: "Priority 3 - Normal Response".into(),
        ticket_type: None,
        signature: None,
    }
}

/// A tenant named `name` made through `engine`, connected with `input` (its check passing)
/// and billed per unit ([`billing_per_unit`]).
pub async fn connected_tenant(engine: &Engine, name: &str, input: &ConnectionInput) -> NewTenant {
    let msp = engine.create_tenant(name).await.expect("the tenant");
    let (_, check) = engine
        .save_connection(msp.tenant.id, input)
        .await
        .expect("the connection is saved");
    assert!(check.ok, "{check:#?}");
    engine
        .set_billing(msp.tenant.id, &billing_per_unit())
        .await
        .expect("billing is set");
    msp
}

/// ConnectWise losing `rate` of its write answers (each write is carried out), as `mode`
/// says, and answering every request `latency_ms` late.
pub fn losing_answers(rate: f64, mode: LostMode, latency_ms: u64) -> Faults {
    Faults {
        lost_response_rate: rate,
        lost_response_mode: mode,
        latency_ms,
        ..Faults::default()
    }
}

/// The operator token [`Served`] is started with when one is asked for.
pub const OPERATOR: &str = "operator-secret";

/// How [`serve`] runs the server.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServeOptions {
    /// Whether the operator API is on, with [`OPERATOR`] as its token.
    pub operator: bool,
    /// Whether browsers reach it over https (`--public-url https://…`): cookies are `Secure`.
    pub public_https: bool,
}

/// A server on a local port, stopped when dropped.
pub struct Served {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// A client that does not follow redirects (the tests read them).
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Serves the REST API and the wizard for `engine` on a free local port.
pub async fn serve(engine: Engine, options: ServeOptions) -> Served {
    let state = AppState {
        engine,
        operator_token_hash: options
            .operator
            .then(|| hex::encode(Sha256::digest(OPERATOR.as_bytes()))),
        public_https: options.public_https,
        metrics: None,
        runs_worker: false,
    };
    let app = Application::bind(SocketAddr::from(([127, 0, 0, 1], 0)), state)
        .await
        .expect("the server binds");
    let addr = app.local_addr().expect("its address");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    Served {
        base: format!("http://{addr}"),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client"),
        stop: Some(tx),
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

impl Served {
    /// Calls the API with an optional bearer token and JSON body; answers the status, the
    /// body as JSON (`null` when it is not) and as text.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value, String) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("the server answers");
        let status = res.status();
        let text = res.text().await.expect("a body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        )
    }

    /// The API as the holder of `token` calls it.
    pub fn bearer<'a>(&'a self, token: &'a str) -> Bearer<'a> {
        Bearer {
            served: self,
            token,
        }
    }

    /// Makes a tenant through the operator API; answers its token.
    pub async fn tenant(&self, name: &str) -> String {
        let (status, body, _) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/tenants",
                Some(OPERATOR),
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().expect("a token").to_owned()
    }

    /// Opens the sign-in page, as a browser does before signing in.
    pub async fn sign_in_page(&self) -> SignInPage {
        let page = self
            .http
            .get(format!("{}/sign-in", self.base))
            .send()
            .await
            .expect("the sign-in page");
        let (cookie, cookie_line) = cookie(&page, "cwb_sign_in").expect("a sign-in cookie");
        let csrf = csrf(&page.text().await.expect("a page"));
        SignInPage {
            cookie,
            cookie_line,
            csrf,
        }
    }

    /// Posts the sign-in form of `page` with `token`; answers the response (redirects are
    /// not followed).
    pub async fn post_sign_in(&self, page: &SignInPage, token: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/sign-in", self.base))
            .header(COOKIE, &page.cookie)
            .form(&[("csrf", page.csrf.as_str()), ("token", token)])
            .send()
            .await
            .expect("the sign-in form posts")
    }

    /// Signs in to the wizard with `token`, as a browser does; answers the session cookie
    /// (`cwb_session=…`).
    pub async fn sign_in(&self, token: &str) -> String {
        let page = self.sign_in_page().await;
        let res = self.post_sign_in(&page, token).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()[LOCATION], "/");
        let (session, line) = cookie(&res, "cwb_session").expect("a session cookie");
        assert!(
            line.contains("HttpOnly") && line.contains("SameSite=Lax"),
            "{line}"
        );
        assert!(!line.contains(token));
        session
    }

    /// Asks for a page of the wizard with a session cookie; answers the response (redirects
    /// are not followed).
    pub async fn open(&self, path: &str, session: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, session)
            .send()
            .await
            .expect("the page")
    }

    /// A page of the wizard with a session cookie: its status and HTML.
    pub async fn get(&self, path: &str, session: &str) -> (StatusCode, String) {
        let res = self.open(path, session).await;
        (res.status(), res.text().await.expect("a body"))
    }

    /// Posts a wizard form with a session cookie and the page's forgery token; answers the
    /// response (redirects are not followed).
    pub async fn post_form(
        &self,
        path: &str,
        session: &str,
        csrf_token: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form = vec![("csrf", csrf_token)];
        form.extend_from_slice(fields);
        self.http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, session)
            .header(reqwest::header::ORIGIN, &self.base)
            .form(&form)
            .send()
            .await
            .expect("the form posts")
    }
}

/// The sign-in page as a browser holds it: its cookie and its form's forgery token.
#[derive(Debug, Clone)]
pub struct SignInPage {
    /// The `cwb_sign_in=…` cookie to send back.
    pub cookie: String,
    /// That cookie's whole `Set-Cookie` line.
    pub cookie_line: String,
    /// The form's hidden `csrf` field.
    pub csrf: String,
}

/// The API called with one bearer token ([`Served::bearer`]); each call answers the status,
/// the body as JSON (`null` when it is not) and as text.
#[derive(Clone, Copy)]
pub struct Bearer<'a> {
    served: &'a Served,
    token: &'a str,
}

impl Bearer<'_> {
    /// `method path`, with a JSON body when one is given.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value, String) {
        self.served.call(method, path, Some(self.token), body).await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> (StatusCode, Value, String) {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value, String) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    /// `POST path` without a body.
    pub async fn post(&self, path: &str) -> (StatusCode, Value, String) {
        self.send(reqwest::Method::POST, path, None).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> (StatusCode, Value, String) {
        self.send(reqwest::Method::DELETE, path, None).await
    }
}

/// The `name=value` of a response's cookie, and its whole `Set-Cookie` line.
pub fn cookie(res: &reqwest::Response, name: &str) -> Option<(String, String)> {
    res.headers().get_all(SET_COOKIE).iter().find_map(|v| {
        let line = v.to_str().ok()?.to_owned();
        let pair = line.split(';').next()?.trim().to_owned();
        pair.starts_with(&format!("{name}="))
            .then_some((pair, line))
    })
}

/// The value of the first hidden `csrf` field of a page.
pub fn csrf(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a csrf field") + 19;
    html[at..].split('"').next().unwrap_or_default().to_owned()
}

/// A JSON answer of a sandbox's API to `GET {path}` (`path` after `…/apis/3.0/`), asked with
/// the sandbox's own credentials, as the MSP's admin reads it.
pub async fn sandbox_get(sandbox: &Sandbox, path: &str) -> Value {
    let c = sandbox.credentials();
    let ca = sandbox.ca_pem().expect("the sandbox's certificate");
    let admin = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).expect("a PEM"))
        .build()
        .expect("an HTTP client");
    admin
        .get(format!("{}{path}", sandbox.api_url()))
        .header("Authorization", c.authorization())
        .header("clientId", &c.client_id)
        .send()
        .await
        .expect("the sandbox answers")
        .json()
        .await
        .expect("a JSON answer")
}

/// Runs `cmd` to its end on a blocking thread; answers what it printed and how it ended.
pub async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("the command runs"))
        .await
        .expect("the command's thread")
}

/// What a finished process printed: its standard output, then its standard error.
pub fn printed(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The API calls (path and body, each a `PUT`) that push `customers` accounts `g1`, `g2`, …
/// of `units` sending domains each (`a.g1.example`, `b.g1.example`, …) and map account `gN`
/// to company `N`.
pub fn mapped_accounts(customers: i64, units: u8) -> Vec<(String, Value)> {
    let mut calls = Vec::new();
    for i in 1..=customers {
        let units: Vec<String> = (b'a'..b'a' + units)
            .map(|u| format!("{}.g{i}.example", u as char))
            .collect();
        let account = json!({"name": format!("Group {i}"), "units": units});
        calls.push((format!("/api/v1/accounts/g{i}"), account));
        let mapping = json!({"companyId": i});
        calls.push((format!("/api/v1/accounts/g{i}/mapping"), mapping));
    }
    calls
}
