//! The bridge's commands: `serve`, `check`, `tenant create|list`, `secrets rotate`. They
//! share how the engine is opened: database, keyring, ConnectWise CA.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use std::io::IsTerminal;

use anyhow::Context;
use clap::{Args, Subcommand};
use cwbridge_engine::{Engine, EngineConfig, Keyring};
use cwbridge_server::{AppState, Application};
use cwbridge_store::Store;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where the bridge keeps its state and secrets.
#[derive(Clone, Args)]
pub struct EngineArgs {
    /// The database: sqlite://FILE (created if missing) or postgres://…
    #[arg(
        long,
        env = "CWBRIDGE_DATABASE_URL",
        default_value = "sqlite://cwbridge.db",
        hide_env_values = true
    )]
    pub database_url: String,
    /// Keys sealing ConnectWise private keys: base64 32-byte keys, comma-separated, newest
    /// first (older ones only open what they sealed).
    #[arg(long, env = "CWBRIDGE_SECRET_KEYS", hide_env_values = true)]
    pub secret_keys: Option<String>,
    /// Without --secret-keys: the file holding the key, made on first start.
    #[arg(long, env = "CWBRIDGE_SECRET_KEY_FILE", default_value = "cwbridge.key")]
    pub secret_key_file: PathBuf,
    /// A PEM certificate to trust for ConnectWise connections (the sandbox's cert.pem, or an
    /// on-premise server's CA).
    #[arg(long, env = "CWBRIDGE_CONNECTWISE_CA", value_name = "FILE")]
    pub connectwise_ca: Option<PathBuf>,
    /// The address ConnectWise sees this bridge connect from (shown in allow-listing hints).
    #[arg(long, env = "CWBRIDGE_EGRESS_ADDRESS")]
    pub egress_address: Option<String>,
    /// The vendor's clientId from ConnectWise's developer portal, for connections saved
    /// without one (the wizard then asks only for the site, company id and keys).
    #[arg(long, env = "CWBRIDGE_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Seconds a worker holds an alert it delivers before another instance may take it
    /// over (after a crash).
    #[arg(long, env = "CWBRIDGE_ALERT_LEASE_SECS", default_value_t = 60)]
    pub alert_lease_secs: u64,
    /// Seconds a billing run may go without a heartbeat before it counts as dead and
    /// another may start.
    #[arg(long, env = "CWBRIDGE_RUN_STALE_SECS", default_value_t = 30)]
    pub run_stale_secs: u64,
    /// A network tenants' ConnectWise sites may be in beyond public addresses (an
    /// on-premise ConnectWise over a private link): CIDR or one address; repeatable, or
    /// comma-separated in the variable. Everything else private, loopback, link-local or
    /// reserved is refused.
    #[arg(
        long = "allow-network",
        env = "CWBRIDGE_ALLOW_NETWORKS",
        value_name = "CIDR",
        value_delimiter = ',',
        value_parser = parse_network
    )]
    pub allow_networks: Vec<cwbridge_fence::IpNet>,
    /// Lets tenants' sites be plain http (otherwise https only).
    #[arg(long, env = "CWBRIDGE_ALLOW_HTTP")]
    pub allow_http: bool,
    /// A port tenants' sites may use besides 443 (80 with --allow-http), on any host;
    /// repeatable, or comma-separated in the variable. Addresses inside an allowed network
    /// may use any port.
    #[arg(
        long = "allow-port",
        env = "CWBRIDGE_ALLOW_PORTS",
        value_name = "PORT",
        value_delimiter = ','
    )]
    pub allow_ports: Vec<u16>,
    /// The most bytes of one ConnectWise answer read; a larger answer is refused.
    #[arg(long, env = "CWBRIDGE_MAX_RESPONSE_BYTES", default_value_t = connectwise_client::DEFAULT_MAX_RESPONSE_BYTES)]
    pub max_response_bytes: usize,
    /// The most pages of one ConnectWise list read (of up to 1,000 records each).
    #[arg(long, env = "CWBRIDGE_MAX_LIST_PAGES", default_value_t = 500)]
    pub max_list_pages: u32,
    /// Alert deliveries in flight at once on this instance.
    #[arg(long, env = "CWBRIDGE_DELIVERY_CONCURRENCY", default_value_t = 256)]
    pub delivery_concurrency: usize,
    /// Of those, at most this many for one tenant (ConnectWise limits each API member).
    #[arg(long, env = "CWBRIDGE_DELIVERIES_PER_TENANT", default_value_t = 4)]
    pub deliveries_per_tenant: usize,
    /// Seconds one delivery attempt may take in all, ConnectWise's retries included.
    #[arg(long, env = "CWBRIDGE_DELIVERY_DEADLINE_SECS", default_value_t = 60)]
    pub delivery_deadline_secs: u64,
    /// Attempts after which an alert that keeps failing transiently is kept `failed`
    /// (Retry queues it again).
    #[arg(long, env = "CWBRIDGE_MAX_DELIVERY_ATTEMPTS", default_value_t = 12)]
    pub max_delivery_attempts: i64,
    /// Hours after which an alert that keeps failing transiently is kept `failed`.
    #[arg(long, env = "CWBRIDGE_MAX_DELIVERY_AGE_HOURS", default_value_t = 24)]
    pub max_delivery_age_hours: u64,
    /// Alerts queued for one tenant before new ones are answered 429.
    #[arg(long, env = "CWBRIDGE_MAX_QUEUED_ALERTS", default_value_t = 100_000)]
    pub max_queued_alerts: i64,
    /// Accounts one tenant may have.
    #[arg(
        long,
        env = "CWBRIDGE_MAX_ACCOUNTS_PER_TENANT",
        default_value_t = 100_000
    )]
    pub max_accounts_per_tenant: usize,
    /// Units (e.g. sending domains) one account may have.
    #[arg(long, env = "CWBRIDGE_MAX_UNITS_PER_ACCOUNT", default_value_t = 10_000)]
    pub max_units_per_account: usize,
    /// Alert types one account may list.
    #[arg(
        long,
        env = "CWBRIDGE_MAX_ALERT_TYPES_PER_ACCOUNT",
        default_value_t = 200
    )]
    pub max_alert_types_per_account: usize,
    /// Characters of an alert's description.
    #[arg(long, env = "CWBRIDGE_MAX_DESCRIPTION_CHARS", default_value_t = 65_536)]
    pub max_description_chars: usize,
}

fn parse_network(text: &str) -> Result<cwbridge_fence::IpNet, String> {
    cwbridge_fence::Fence::parse_network(text)
}

impl std::fmt::Debug for EngineArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineArgs")
            .field(
                "database_url",
                &cwbridge_store::redact_url(&self.database_url),
            )
            .field(
                "secret_keys",
                &self.secret_keys.as_ref().map(|_| "<redacted>"),
            )
            .field("secret_key_file", &self.secret_key_file)
            .finish_non_exhaustive()
    }
}

impl EngineArgs {
    /// Opens the store and the keyring.
    pub async fn open(&self) -> anyhow::Result<Engine> {
        let store = Store::open(&self.database_url).await.with_context(|| {
            format!(
                "cannot open the database {}",
                cwbridge_store::redact_url(&self.database_url)
            )
        })?;
        let keys: Vec<String> = match &self.secret_keys {
            Some(list) => list.split(',').map(str::trim).map(str::to_owned).collect(),
            None => vec![key_from_file(&self.secret_key_file)?],
        };
        let keyring = Keyring::from_base64(&keys)?;
        let connectwise_ca = match &self.connectwise_ca {
            Some(path) => Some(
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
            ),
            None => None,
        };
        let fence = self
            .allow_networks
            .iter()
            .fold(cwbridge_fence::Fence::public_only(), |f, net| {
                f.allow_network(*net)
            })
            .allow_http(self.allow_http);
        let fence = self
            .allow_ports
            .iter()
            .fold(fence, |f, port| f.allow_port(*port));
        Ok(Engine::new(
            store,
            keyring,
            EngineConfig {
                connectwise_ca,
                egress_address: self.egress_address.clone(),
                client_id: self.client_id.clone(),
                alert_lease: std::time::Duration::from_secs(self.alert_lease_secs.max(1)),
                run_stale_after: std::time::Duration::from_secs(self.run_stale_secs.max(1)),
                fence,
                max_response_bytes: self.max_response_bytes,
                max_list_pages: self.max_list_pages,
                delivery_concurrency: self.delivery_concurrency.max(1),
                deliveries_per_tenant: self.deliveries_per_tenant.max(1),
                delivery_deadline: std::time::Duration::from_secs(
                    self.delivery_deadline_secs.max(1),
                ),
                max_delivery_attempts: self.max_delivery_attempts.max(1),
                max_delivery_age: std::time::Duration::from_secs(
                    self.max_delivery_age_hours.max(1) * 3600,
                ),
                limits: cwbridge_engine::Limits {
                    queued_alerts_per_tenant: self.max_queued_alerts.max(1),
                    accounts_per_tenant: self.max_accounts_per_tenant.max(1),
                    units_per_account: self.max_units_per_account,
                    alert_types_per_account: self.max_alert_types_per_account,
                    alert_description_chars: self.max_description_chars,
                    ..cwbridge_engine::Limits::default()
                },
                ..EngineConfig::default()
            },
        ))
    }
}

/// Reads the key file (refused when others can read it), or makes one readable by its owner
/// only on first start.
fn key_from_file(path: &Path) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(key) => {
            crate::secret_file::check_private(path)?;
            Ok(key.trim().to_owned())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = Keyring::generate_key();
            crate::secret_file::write(path, &format!("{key}\n"))
                .with_context(|| format!("cannot create the key file {}", path.display()))?;
            eprintln!(
                "made a secret key in {} (keep it: without it, saved ConnectWise keys cannot be opened)",
                path.display()
            );
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read the key file {}", path.display())),
    }
}

/// `cwbridge serve`.
#[derive(Args)]
pub struct ServeCmd {
    #[command(flatten)]
    engine: EngineArgs,
    /// Where to listen.
    #[arg(long, env = "CWBRIDGE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The operator token, which makes and lists tenants (without it those routes are off).
    #[arg(long, env = "CWBRIDGE_OPERATOR_TOKEN", hide_env_values = true)]
    operator_token: Option<String>,
    /// The address browsers reach the bridge at, e.g. `https://bridge.vendor.example`. With
    /// https, the wizard's cookies are `Secure` even when a proxy does not say so.
    #[arg(long, env = "CWBRIDGE_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,
}

impl std::fmt::Debug for ServeCmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeCmd")
            .field("engine", &self.engine)
            .field("listen", &self.listen)
            .field(
                "operator_token",
                &self.operator_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Runs `cwbridge serve` until Ctrl-C.
pub async fn serve(cmd: ServeCmd) -> anyhow::Result<()> {
    let engine = cmd.engine.open().await?;
    if cmd.operator_token.is_none() {
        eprintln!(
            "no operator token (CWBRIDGE_OPERATOR_TOKEN): the tenant routes work, making tenants does not"
        );
    }
    let state = AppState {
        engine,
        operator_token_hash: cmd
            .operator_token
            .as_deref()
            .map(cwbridge_engine::tenant::token_hash),
        public_https: cmd
            .public_url
            .as_deref()
            .is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://")),
    };
    let app = Application::bind(cmd.listen, state.clone())
        .await
        .with_context(|| format!("cannot listen on {}", cmd.listen))?;
    let addr = app.local_addr()?;
    println!(
        "cwbridge listening on http://{addr}: the set-up wizard at /, the API described at /api/openapi.json"
    );
    run_bridge(app, state.engine, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

/// Serves a bound application with the alert worker and the scheduler beside it, until
/// `shutdown`; then stops all three.
pub async fn run_bridge(
    app: Application,
    engine: Engine,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // The alert worker delivers what is queued, here and (through the database) what other
    // processes queued.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker_engine = engine.clone();
    let mut worker_stop = stop_rx.clone();
    let worker = tokio::spawn(async move {
        worker_engine
            .run_alert_worker(async move {
                let _ = worker_stop.wait_for(|stop| *stop).await;
            })
            .await;
    });
    // Daily connection checks and scheduled billing runs.
    let scheduler_engine = engine.clone();
    let mut scheduler_stop = stop_rx;
    let scheduler = tokio::spawn(async move {
        scheduler_engine
            .run_scheduler(async move {
                let _ = scheduler_stop.wait_for(|stop| *stop).await;
            })
            .await;
    });
    app.run_until(shutdown).await?;
    let _ = stop_tx.send(true);
    let _ = worker.await;
    let _ = scheduler.await;
    engine.flush_failures().await;
    Ok(())
}

/// `cwbridge alerts send`: queues an alert, as `POST /api/v1/alerts` does; a running
/// `cwbridge serve` on the same database delivers it.
#[derive(Debug, Args)]
pub struct AlertsCmd {
    #[command(flatten)]
    engine: EngineArgs,
    #[command(subcommand)]
    action: AlertsAction,
}

#[derive(Debug, Subcommand)]
enum AlertsAction {
    /// Queue an alert.
    Send {
        /// The tenant, by name.
        #[arg(long)]
        tenant: String,
        /// The account it is about.
        #[arg(long)]
        account: String,
        /// Its type, e.g. dmarc-record-changed.
        #[arg(long = "type")]
        alert_type: String,
        /// What makes repeats the same alert (default: account and type).
        #[arg(long)]
        key: Option<String>,
        /// The ticket summary.
        #[arg(long)]
        summary: String,
        /// The alert's text (the ticket description).
        #[arg(long)]
        description: String,
        /// Report the alert resolved.
        #[arg(long)]
        resolved: bool,
        /// Deliver it now from this process instead of leaving it to `cwbridge serve`.
        #[arg(long)]
        deliver: bool,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's latest alerts.
    List {
        /// The tenant, by name.
        #[arg(long)]
        tenant: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `cwbridge alerts …`.
pub async fn alerts(cmd: AlertsCmd) -> anyhow::Result<()> {
    let engine = cmd.engine.open().await?;
    match cmd.action {
        AlertsAction::Send {
            tenant,
            account,
            alert_type,
            key,
            summary,
            description,
            resolved,
            deliver,
            json,
        } => {
            let t = engine.tenant_named(&tenant).await?;
            let input = cwbridge_engine::alert::AlertInput {
                account,
                alert_type,
                key,
                summary,
                description,
                resolved,
            };
            let queued = engine.receive_alert(t.id, &input).await?;
            if deliver {
                while engine.deliver_next().await? {}
            }
            let now = engine.alert(t.id, queued.id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&now)?);
            } else {
                println!(
                    "alert {} {}{}",
                    now.id,
                    now.state,
                    now.ticket_id
                        .map(|t| format!(" (ticket #{t})"))
                        .unwrap_or_default()
                );
            }
        }
        AlertsAction::List { tenant, json } => {
            let t = engine.tenant_named(&tenant).await?;
            let list = engine.alerts(t.id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for a in list {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        a.id,
                        a.state,
                        a.ticket_id.map(|t| t.to_string()).unwrap_or_default(),
                        a.summary,
                        a.last_error.unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(())
}

/// `cwbridge check`: checks a tenant's ConnectWise connection now.
#[derive(Debug, Args)]
pub struct CheckCmd {
    #[command(flatten)]
    engine: EngineArgs,
    /// The tenant, by name.
    #[arg(long)]
    tenant: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `cwbridge check`; exits non-zero when the check fails.
pub async fn check(cmd: CheckCmd) -> anyhow::Result<()> {
    let engine = cmd.engine.open().await?;
    let tenant = engine.tenant_named(&cmd.tenant).await?;
    let report = engine.check_connection(tenant.id).await?;
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for step in &report.steps {
            println!(
                "{} {}: {}",
                if step.ok { "ok  " } else { "FAIL" },
                step.name,
                step.message
            );
            for hint in &step.hints {
                println!("       - {hint}");
            }
        }
        for p in &report.permissions {
            let mark = match p.status {
                cwbridge_engine::preflight::Status::Granted => "ok  ",
                cwbridge_engine::preflight::Status::Missing => "FAIL",
                cwbridge_engine::preflight::Status::Unverified => "?   ",
            };
            println!(
                "{mark} {} > {}: {:?} {}",
                p.module, p.function, p.action, p.level
            );
        }
    }
    if !report.ok {
        return Err(crate::Unfinished(format!(
            "the connection of tenant `{}` does not pass its check",
            cmd.tenant
        ))
        .into());
    }
    Ok(())
}

/// `cwbridge tenant …`.
#[derive(Debug, Args)]
pub struct TenantCmd {
    #[command(flatten)]
    engine: EngineArgs,
    #[command(subcommand)]
    action: TenantAction,
}

#[derive(Debug, Subcommand)]
enum TenantAction {
    /// Make a tenant and print its token (shown once).
    Create {
        /// Its name.
        name: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List tenants.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Give a tenant a new token (shown once); its old tokens stop working and its wizard
    /// sessions end.
    RotateToken {
        /// The tenant's name.
        name: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke every token of a tenant and end its sessions (its data is kept);
    /// `rotate-token` enables it again.
    Disable {
        /// The tenant's name.
        name: String,
    },
    /// Set the networks this tenant's ConnectWise may be in beyond public addresses (its
    /// on-premise server over a private link), for this tenant alone; none clears them.
    AllowNetworks {
        /// The tenant's name.
        name: String,
        /// CIDRs or single addresses, e.g. 10.20.0.0/16.
        networks: Vec<String>,
    },
}

/// Runs `cwbridge tenant …`.
pub async fn tenant(cmd: TenantCmd) -> anyhow::Result<()> {
    let engine = cmd.engine.open().await?;
    match cmd.action {
        TenantAction::Create { name, json } => {
            let made = engine.create_tenant(&name).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"id": made.tenant.id.0, "name": made.tenant.name, "token": made.token})
                );
            } else {
                println!("tenant {} (id {})", made.tenant.name, made.tenant.id);
                println!("token (shown once): {}", made.token);
            }
        }
        TenantAction::RotateToken { name, json } => {
            let tenant = engine.tenant_named(&name).await?;
            let token = engine.rotate_token(tenant.id).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"id": tenant.id.0, "name": tenant.name, "token": token})
                );
            } else {
                println!("new token of {} (shown once): {token}", tenant.name);
            }
        }
        TenantAction::Disable { name } => {
            let tenant = engine.tenant_named(&name).await?;
            engine.disable_tenant(tenant.id).await?;
            println!(
                "{}: every token revoked and every session ended; `cwbridge tenant rotate-token` enables it again",
                tenant.name
            );
        }
        TenantAction::AllowNetworks { name, networks } => {
            let tenant = engine.tenant_named(&name).await?;
            let set = engine.set_allowed_networks(tenant.id, &networks).await?;
            if set.is_empty() {
                println!("{}: no networks beyond public addresses", tenant.name);
            } else {
                println!("{}: may also reach {}", tenant.name, set.join(", "));
            }
        }
        TenantAction::List { json } => {
            let tenants = engine.tenants().await?;
            if json {
                let list: Vec<_> = tenants
                    .iter()
                    .map(|t| serde_json::json!({"id": t.id.0, "name": t.name, "createdAt": t.created_at}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for t in tenants {
                    println!("{}\t{}", t.id, t.name);
                }
            }
        }
    }
    Ok(())
}

/// `cwbridge secrets rotate`: re-seals every stored ConnectWise private key under the
/// newest key of --secret-keys.
#[derive(Debug, Args)]
pub struct SecretsCmd {
    #[command(flatten)]
    engine: EngineArgs,
    /// Print the count as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `cwbridge secrets-rotate`.
pub async fn rotate(cmd: SecretsCmd) -> anyhow::Result<()> {
    let engine = cmd.engine.open().await?;
    let n = engine.rotate_secrets().await?;
    if cmd.json {
        println!("{}", serde_json::json!({"resealed": n}));
    } else {
        println!("re-sealed {n} private key(s) under the newest key");
    }
    Ok(())
}

/// `cwbridge billing plan|apply`.
#[derive(Debug, Args)]
pub struct BillingCmd {
    #[command(flatten)]
    engine: EngineArgs,
    #[command(subcommand)]
    action: BillingAction,
}

#[derive(Debug, Subcommand)]
enum BillingAction {
    /// Show what apply would change, writing nothing.
    Plan {
        /// The tenant, by name.
        #[arg(long)]
        tenant: String,
        /// Read every agreement with lines (finds hand edits everywhere).
        #[arg(long)]
        full: bool,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Carry the plan out.
    Apply {
        /// The tenant, by name.
        #[arg(long)]
        tenant: String,
        /// Plan from every agreement with lines (carries out drift corrections and follows
        /// replaced agreements).
        #[arg(long)]
        full: bool,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn describe(change: &cwbridge_engine::billing::Change) -> String {
    use cwbridge_engine::billing::Change;
    match change {
        Change::Create { line, amount } => format!(
            "create  {:<40} agreement #{:<6} qty {:>5} {:>10.2}  {}",
            line.key, line.agreement_id, line.quantity, amount, line.bill_customer
        ),
        Change::Update {
            line,
            addition_id,
            from_quantity,
            amount,
            ..
        } => format!(
            "update  {:<40} addition #{addition_id:<6} qty {from_quantity} -> {} {:>10.2}",
            line.key, line.quantity, amount
        ),
        Change::Cancel {
            key,
            addition_id,
            quantity,
            ..
        } => {
            format!("cancel  {key:<40} addition #{addition_id:<6} qty {quantity}")
        }
        Change::Adopt {
            line, addition_id, ..
        } => {
            format!(
                "adopt   {:<40} addition #{addition_id} (found by its marker)",
                line.key
            )
        }
        Change::Drift {
            key,
            addition_id,
            ours,
            theirs,
            resolution,
        } => format!(
            "drift   {key:<40} addition #{addition_id:<6} ours qty {} / ConnectWise qty {} ({resolution:?})",
            ours.0, theirs.0
        ),
    }
}

/// A spinner on standard error while something long runs, when that is a terminal (hidden
/// otherwise, so scripts and logs get no control characters).
fn spinner(message: &'static str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner().with_message(message);
    bar.set_draw_target(ProgressDrawTarget::stderr());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Runs `cwbridge billing …`.
pub async fn billing(cmd: BillingCmd) -> anyhow::Result<()> {
    let engine = cmd.engine.open().await?;
    let result = billing_with(&engine, cmd.action).await;
    // What ConnectWise refused is on the health page, also after this process ends.
    engine.flush_failures().await;
    result
}

async fn billing_with(engine: &Engine, action: BillingAction) -> anyhow::Result<()> {
    match action {
        BillingAction::Plan { tenant, full, json } => {
            let t = engine.tenant_named(&tenant).await?;
            let spinner = spinner("planning: reading ConnectWise");
            let plan = engine.billing_plan(t.id, full).await;
            spinner.finish_and_clear();
            let plan = plan?;
            if json {
                println!("{}", serde_json::to_string_pretty(&plan)?);
                return Ok(());
            }
            for change in &plan.changes {
                println!("{}", describe(change));
            }
            for p in &plan.problems {
                println!("problem {}: {}", p.account, p.message);
            }
            println!(
                "{} change(s); {} line(s) wanted, {:.2} billable; {} request(s) to ConnectWise",
                plan.changes.len(),
                plan.lines,
                plan.billable_total,
                plan.requests
            );
        }
        BillingAction::Apply { tenant, full, json } => {
            let t = engine.tenant_named(&tenant).await?;
            let bar = spinner("planning: reading ConnectWise");
            let report = engine
                .billing_apply_with(t.id, full, &|done, total| {
                    if bar.length() != Some(total as u64) {
                        bar.set_length(total as u64);
                        bar.set_style(
                            ProgressStyle::with_template(
                                "{bar:40} {pos}/{len} changes, {per_sec}, {eta} left",
                            )
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                        );
                    }
                    bar.set_position(done as u64);
                })
                .await;
            bar.finish_and_clear();
            let report = report?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for change in &report.plan.changes {
                    println!("{}", describe(change));
                }
                println!("run {}: {:?}", report.run_id, report.done);
                for f in &report.failed {
                    println!("failed: {f}");
                }
            }
            if !report.failed.is_empty() {
                return Err(crate::Unfinished(format!(
                    "{} change(s) failed; run apply again to retry them",
                    report.failed.len()
                ))
                .into());
            }
        }
    }
    Ok(())
}
