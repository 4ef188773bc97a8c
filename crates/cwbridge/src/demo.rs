//! `cwbridge demo`: the whole system on one machine. A sandboxed ConnectWise with a demo MSP;
//! the seeds' admin steps done through its API (security role, API member, API key); the
//! bridge on SQLite with a tenant and the vendor's sample accounts pushed. The user then signs
//! in to the wizard and walks its four steps with the printed key. `--auto` walks them itself
//! — connect, billing, mapping (the suggestions accepted), tickets — then applies billing and
//! fires sample alerts, so tickets and agreement lines appear in the sandbox.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use connectwise_sandbox::admin::AdminClient;
use connectwise_sandbox::{Preset, Sandbox, SandboxConfig, Seed};
use cwbridge_engine::account::AccountInput;
use cwbridge_engine::alert::{AlertInput, TicketSettingsInput};
use cwbridge_engine::billing::settings::BillingInput;
use cwbridge_engine::billing::{DriftPolicy, Mode};
use cwbridge_engine::mapping::MappingInput;
use cwbridge_engine::{ConnectionInput, Engine, EngineConfig, Keyring};
use cwbridge_server::{AppState, Application};
use cwbridge_store::{Store, TenantId};
use serde::{Deserialize, Serialize};

/// Run the demo: a sandboxed ConnectWise and the bridge, connected.
#[derive(Debug, Args)]
pub struct DemoCmd {
    /// Where the demo keeps its state (kept between runs).
    #[arg(long, default_value = ".demo")]
    dir: PathBuf,
    /// Where the sandboxed ConnectWise listens (HTTPS).
    #[arg(long, default_value = "127.0.0.1:8443")]
    sandbox_listen: SocketAddr,
    /// Where the bridge listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Also complete the wizard's steps, apply billing and fire sample alerts.
    #[arg(long)]
    auto: bool,
    /// Print the addresses, the token and the key as one line of JSON (for scripts).
    #[arg(long)]
    json: bool,
}

/// The vendor's sample customers ("domain groups") and their sending domains; their names
/// differ from the ConnectWise companies', as in life.
const ACCOUNTS: &[(&str, &str, &[&str])] = &[
    (
        "grp-acme",
        "Acme Corp",
        &["acme.example", "mail.acme.example"],
    ),
    (
        "grp-blueridge",
        "Blue Ridge Dental",
        &["blueridgedental.example"],
    ),
    (
        "grp-cedar",
        "Cedar & Finch",
        &["cedarfinch.example", "news.cedarfinch.example"],
    ),
    ("grp-contoso", "Contoso", &["contoso.example"]),
    ("grp-dunmore", "Dunmore Vet Clinic", &["dunmorevet.example"]),
    (
        "grp-evergreen",
        "Evergreen PM",
        &["evergreenpm.example", "tenants.evergreenpm.example"],
    ),
];

/// The alerts the vendor lets each customer configure (step 4 offers them per customer).
const ALERT_TYPES: &[&str] = &[
    "blocklisted",
    "dkim-record-missing",
    "dmarc-record-changed",
    "spf-record-failing",
];

/// What the demo remembers between runs.
#[derive(Debug, Default, Serialize, Deserialize)]
struct DemoState {
    tenant_token: Option<String>,
    operator_token: Option<String>,
    public_key: Option<String>,
    private_key: Option<String>,
}

fn load(path: &Path) -> DemoState {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Runs `cwbridge demo` until Ctrl-C.
pub async fn run(cmd: DemoCmd) -> anyhow::Result<()> {
    std::fs::create_dir_all(&cmd.dir)
        .with_context(|| format!("cannot create {}", cmd.dir.display()))?;
    let state_path = cmd.dir.join("demo.json");
    // Measured from the start, so /metrics counts what --auto does too.
    let metrics = cwbridge_server::ops::install_recorder().ok();
    let mut state = load(&state_path);

    // 1. ConnectWise, sandboxed, with the demo MSP.
    let sandbox = Sandbox::start(SandboxConfig {
        state_dir: Some(cmd.dir.join("sandbox")),
        listen: cmd.sandbox_listen,
        seed: Some(Seed::Demo),
        ..SandboxConfig::ephemeral()
    })
    .await
    .context("the sandbox did not start")?;
    let ca = sandbox.ca_pem().unwrap_or_default().to_owned();

    // 2. The seeds' admin steps: a security role with seed 004's permissions, an API member
    //    holding it, an API key (its private key shown once, so kept in demo.json).
    let admin = AdminClient::new(sandbox.credentials().clone(), Some(&ca))?;
    let (public_key, private_key) = match (&state.public_key, &state.private_key) {
        (Some(p), Some(k)) => (p.clone(), k.clone()),
        _ => {
            let role = "EasyDMARC Integration";
            admin
                .create_role(role, &Preset::BillingTickets.grants())
                .await?;
            let member = admin
                .create_member(
                    "EasyDMARC",
                    "EasyDMARC",
                    Some("API"),
                    "dmarc@sandboxmsp.example",
                    role,
                )
                .await?;
            admin.create_key(member, "cwbridge demo").await?
        }
    };
    state.public_key = Some(public_key.clone());
    state.private_key = Some(private_key.clone());

    // 3. The bridge on SQLite, trusting the sandbox's certificate.
    let store = Store::open(&format!(
        "sqlite://{}",
        cmd.dir.join("cwbridge.db").display()
    ))
    .await?;
    let key_path = cmd.dir.join("cwbridge.key");
    let key = match std::fs::read_to_string(&key_path) {
        Ok(k) => {
            crate::secret_file::check_private(&key_path)?;
            k.trim().to_owned()
        }
        Err(_) => {
            let k = Keyring::generate_key();
            crate::secret_file::write(&key_path, &format!("{k}\n"))?;
            k
        }
    };
    let engine = Engine::new(
        store,
        Keyring::from_base64(&[key])?,
        EngineConfig {
            connectwise_ca: Some(ca.as_bytes().to_vec()),
            // The vendor's clientId, as a real deployment configures it: the MSP admin types
            // only the site, company id and keys.
            client_id: Some(sandbox.credentials().client_id.clone()),
            // Exactly the sandbox's address, as an operator allows an on-premise
            // ConnectWise; every other private address stays refused.
            fence: cwbridge_fence::Fence::public_only()
                .allow_network(cwbridge_fence::IpNet::from(sandbox.addr().ip())),
            ..EngineConfig::default()
        },
    );

    // 4. A tenant (the MSP), connected with the member's key; the vendor's accounts.
    let tenant = match &state.tenant_token {
        Some(token) => engine
            .authenticate(token)
            .await?
            .context(
                "demo.json names a tenant this database does not have: remove the demo directory",
            )?
            .id,
        None => {
            let made = engine.create_tenant("Sandbox MSP").await?;
            state.tenant_token = Some(made.token);
            made.tenant.id
        }
    };
    let operator = state
        .operator_token
        .clone()
        .unwrap_or_else(cwbridge_engine::tenant::new_token);
    state.operator_token = Some(operator.clone());
    // It holds the API member's private key and the tenant's token.
    crate::secret_file::write(&state_path, &serde_json::to_string_pretty(&state)?)?;
    let c = sandbox.credentials();
    for (id, name, units) in ACCOUNTS {
        let units = units.iter().map(|u| u.to_string()).collect();
        let alert_types = ALERT_TYPES.iter().map(|t| t.to_string()).collect();
        engine
            .put_account(
                tenant,
                id,
                &AccountInput {
                    alert_types,
                    name: (*name).into(),
                    units,
                },
            )
            .await?;
    }
    let step_one = ConnectionInput {
        site: c.site.clone(),
        company_id: c.company_id.clone(),
        public_key: public_key.clone(),
        private_key: private_key.clone(),
        client_id: String::new(),
    };
    let billed = if cmd.auto {
        Some(walk_the_wizard(&engine, tenant, &step_one).await?)
    } else {
        None
    };

    // 5. Serve.
    let app = Application::bind(
        cmd.listen,
        AppState {
            engine: engine.clone(),
            operator_token_hash: Some(cwbridge_engine::tenant::token_hash(&operator)),
            public_https: false,
            metrics,
            runs_worker: true,
        },
    )
    .await
    .with_context(|| format!("cannot listen on {}", cmd.listen))?;
    let bridge = format!("http://{}", app.local_addr()?);
    let token = state.tenant_token.clone().unwrap_or_default();
    if cmd.json {
        println!(
            "{}",
            serde_json::json!({
                "wizard": format!("{bridge}/"),
                "token": token,
                "connectwise": {
                    "site": step_one.site, "companyId": step_one.company_id,
                    "publicKey": step_one.public_key, "privateKey": step_one.private_key,
                },
                "sandbox": {
                    "url": sandbox.url(),
                    "credentials": cmd.dir.join("sandbox/credentials.json"),
                    "certificate": cmd.dir.join("sandbox/cert.pem"),
                },
                "billingApplied": billed,
            })
        );
        return serve_until_stopped(app, engine, sandbox).await;
    }
    if let Some(done) = &billed {
        println!("billing applied: {done:?}");
    }
    println!("cwbridge demo is up.");
    println!();
    println!("  Wizard:        {bridge}/");
    println!("  Sign in with:  {token}");
    println!();
    if cmd.auto {
        println!("  The four steps are done (--auto): see {bridge}/billing and {bridge}/alerts.");
    } else {
        println!("  Step 1 asks for what the ConnectWise admin made (role, API member, key):");
        println!("    ConnectWise URL:  {}", step_one.site);
        println!("    Company ID:       {}", step_one.company_id);
        println!("    Public key:       {}", step_one.public_key);
        println!("    Private key:      {}", step_one.private_key);
    }
    println!();
    println!(
        "  ConnectWise (sandbox): {}  admin credentials {}, certificate {}",
        sandbox.url(),
        cmd.dir.join("sandbox/credentials.json").display(),
        cmd.dir.join("sandbox/cert.pem").display()
    );
    println!(
        "  REST API:              {bridge}/api/openapi.json (Authorization: Bearer <the token above>)"
    );
    println!(
        "  What ConnectWise got:  cwbridge api GET /service/tickets --all --credentials {} --ca {}",
        cmd.dir.join("sandbox/credentials.json").display(),
        cmd.dir.join("sandbox/cert.pem").display()
    );
    println!(
        "  An alert, as the vendor sends it (a ticket once step 4 is done):\n    curl -X POST {bridge}/api/v1/alerts -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\n      -d '{{\"account\": \"grp-acme\", \"type\": \"dmarc-record-changed\", \"summary\": \"DMARC record changed for acme.example\", \"description\": \"The DMARC record of acme.example changed.\"}}'"
    );
    println!();
    println!("Ctrl-C stops both.");
    serve_until_stopped(app, engine, sandbox).await
}

async fn serve_until_stopped(
    app: Application,
    engine: Engine,
    sandbox: Sandbox,
) -> anyhow::Result<()> {
    crate::bridge::run_bridge(app, engine, crate::bridge::stop_signal()).await?;
    sandbox.stop().await;
    Ok(())
}

/// Seed 004's four steps as a user would click them, then billing applied (what it did is
/// answered) and alerts fired.
async fn walk_the_wizard(
    engine: &Engine,
    tenant: TenantId,
    step_one: &ConnectionInput,
) -> anyhow::Result<std::collections::BTreeMap<String, usize>> {
    let (_, check) = engine.save_connection(tenant, step_one).await?;
    anyhow::ensure!(
        check.ok,
        "the demo's connection check failed: {:?}",
        check.steps
    );
    engine
        .set_billing(
            tenant,
            &BillingInput {
                product: "DMARC-MONITOR".into(),
                agreement_type: "Managed Services".into(),
                mode: Mode::PerUnit,
                drift_policy: DriftPolicy::Report,
                schedule_hours: 24,
            },
        )
        .await?;
    for row in engine.mapping_overview(tenant).await? {
        if row.account.mapping.is_some() {
            continue;
        }
        // The user accepts the best suggestion (the demo's data makes it the right one).
        if let Some(best) = row.suggestions.first() {
            engine
                .map_account(
                    tenant,
                    &row.account.id,
                    &MappingInput {
                        company_id: best.company_id,
                        agreement_id: None,
                    },
                )
                .await?;
        }
    }
    engine
        .set_ticket_settings(
            tenant,
            &TicketSettingsInput {
                board: "Help Desk".into(),
                status: "New".into(),
                priority: "Priority 3 - Normal Response".into(),
                ticket_type: Some("Alert".into()),
                signature: Some("EasyDMARC".into()),
            },
        )
        .await?;
    let applied = engine.billing_apply(tenant, false).await?;
    for (account, domain, alert_type, what) in [
        (
            "grp-acme",
            "acme.example",
            "dmarc-record-changed",
            "DMARC record changed",
        ),
        (
            "grp-contoso",
            "contoso.example",
            "spf-record-failing",
            "SPF record fails",
        ),
        (
            "grp-acme",
            "acme.example",
            "dmarc-record-changed",
            "DMARC record changed",
        ),
    ] {
        engine
            .receive_alert(
                tenant,
                &AlertInput {
                    account: account.into(),
                    alert_type: alert_type.into(),
                    key: Some(format!("{domain}/{what}")),
                    summary: format!("{what} for {domain}"),
                    description: format!(
                        "EasyDMARC detected: {what} for {domain}.\nCheck the domain's DNS records."
                    ),
                    resolved: false,
                },
            )
            .await?;
    }
    while engine.deliver_next().await? {}
    Ok(applied.done)
}
