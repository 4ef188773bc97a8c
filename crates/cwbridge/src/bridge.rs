//! The bridge's commands: `serve` here, and `alerts`, `billing`, `check`, `tenant …`
//! (with `tenant export|apply` in `settings.rs`), `secrets rotate` in `bridge/`. They share how the engine is opened: database, keyring,
//! ConnectWise CA.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use std::io::IsTerminal;

use anyhow::Context;
use clap::{Args, Subcommand};
use cwbridge_engine::ticket_events::Webhook;
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
    /// Seconds deliveries in flight may take to finish when the bridge is told to stop
    /// (SIGTERM, Ctrl-C); those still going then are stopped and their alerts released for
    /// another instance to take at once.
    #[arg(long, env = "CWBRIDGE_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    /// The vendor's webhook for ticket events (closed, reopened, note added), for every
    /// tenant the operator gives none of its own.
    #[arg(long, env = "CWBRIDGE_WEBHOOK_URL", value_name = "URL")]
    pub webhook_url: Option<String>,
    /// A file holding that webhook's signing secret (16 to 200 characters; readable by its
    /// owner only).
    #[arg(long, env = "CWBRIDGE_WEBHOOK_SECRET_FILE", value_name = "FILE")]
    pub webhook_secret_file: Option<PathBuf>,
    /// Seconds between reads of ticket changes, for tenants whose ConnectWise cannot call
    /// the bridge back.
    #[arg(long, env = "CWBRIDGE_TICKET_POLL_SECS", default_value_t = 60)]
    pub ticket_poll_secs: u64,
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
        self.open_at(None).await
    }

    /// The service-wide webhook, read from its flags.
    fn webhook(&self, fence: &cwbridge_fence::Fence) -> anyhow::Result<Option<Webhook>> {
        let Some(url) = &self.webhook_url else {
            return Ok(None);
        };
        cwbridge_engine::ticket_events::webhook::checked_url(fence, url)
            .map_err(|why| anyhow::anyhow!("--webhook-url {url}: {why}"))?;
        let path = self.webhook_secret_file.as_ref().context(
            "--webhook-url needs --webhook-secret-file: the secret its signatures are made with",
        )?;
        crate::secret_file::check_private(path)?;
        let secret = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .trim()
            .to_owned();
        if !(16..=200).contains(&secret.chars().count()) {
            anyhow::bail!(
                "{}: the webhook secret must be 16 to 200 characters",
                path.display()
            );
        }
        Ok(Some(Webhook {
            url: url.trim().to_owned(),
            secret,
        }))
    }

    /// Opens the store and the keyring, for a bridge ConnectWise reaches at `public_url`.
    pub async fn open_at(&self, public_url: Option<String>) -> anyhow::Result<Engine> {
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
        let webhook = self.webhook(&fence)?;
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
                shutdown_grace: std::time::Duration::from_secs(self.shutdown_grace_secs),
                public_url,
                webhook,
                ticket_poll_interval: std::time::Duration::from_secs(self.ticket_poll_secs.max(1)),
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
    /// A TOML file of serve settings under their flags' names (`database_url = "…"`,
    /// `listen = "0.0.0.0:8080"`); flags and environment variables override it.
    #[arg(long, env = "CWBRIDGE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
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
    #[command(flatten)]
    metrics: MetricsArgs,
}

/// How the bridge's measurements are served.
#[derive(Debug, Clone, Args)]
pub struct MetricsArgs {
    /// Keep measurements and serve them at /metrics (Prometheus' text format), behind the
    /// operator token on the main listener.
    #[arg(long, env = "CWBRIDGE_METRICS", default_value_t = true, action = clap::ArgAction::Set)]
    pub metrics: bool,
    /// Also serve /metrics (without a token), /healthz and /readyz on this address, for a
    /// scraper on a private network.
    #[arg(long, env = "CWBRIDGE_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Label alert, billing and ConnectWise series with the tenant (one series per tenant:
    /// for a few tenants, or while looking into one).
    #[arg(long, env = "CWBRIDGE_METRICS_PER_TENANT")]
    pub metrics_per_tenant: bool,
}

impl MetricsArgs {
    /// Installs the recorder when metrics are on.
    pub fn install(&self) -> anyhow::Result<Option<cwbridge_server::PrometheusHandle>> {
        if !self.metrics {
            return Ok(None);
        }
        cwbridge_engine::measure::per_tenant(self.metrics_per_tenant);
        let handle = cwbridge_server::ops::install_recorder().map_err(anyhow::Error::msg)?;
        Ok(Some(handle))
    }
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

/// Runs `cwbridge serve` until SIGTERM or Ctrl-C.
pub async fn serve(cmd: ServeCmd) -> anyhow::Result<()> {
    let metrics = cmd.metrics.install()?;
    let engine = cmd.engine.open_at(cmd.public_url.clone()).await?;
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
        metrics,
        runs_worker: true,
    };
    let app = Application::bind(cmd.listen, state.clone())
        .await
        .with_context(|| format!("cannot listen on {}", cmd.listen))?;
    let addr = app.local_addr()?;
    println!(
        "cwbridge listening on http://{addr}: the set-up wizard at /, the API described at /api/openapi.json"
    );
    if let Some(listen) = cmd.metrics.metrics_listen {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen} for metrics"))?;
        println!("metrics at http://{}/metrics", listener.local_addr()?);
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = cwbridge_server::ops::serve_metrics(listener, state).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    run_bridge(app, state.engine, stop_signal()).await
}

/// Resolves on SIGTERM (what systemd, Kubernetes and `docker stop` send) or Ctrl-C.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    println!("stopping: no new work taken; deliveries in flight are finishing");
}

/// Serves a bound application with the alert worker and the scheduler beside it, until
/// `shutdown`; then stops all three at once: the server takes no new connection and
/// finishes the requests it has, the worker claims nothing more and finishes (or, past the
/// grace, releases) its deliveries.
pub async fn run_bridge(
    app: Application,
    engine: Engine,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // The alert worker delivers what is queued, here and (through the database) what other
    // processes queued.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut server_stop = stop_rx.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let worker_engine = engine.clone();
    let mut worker_stop = stop_rx.clone();
    let worker = tokio::spawn(async move {
        worker_engine
            .run_alert_worker(async move {
                let _ = worker_stop.wait_for(|stop| *stop).await;
            })
            .await;
    });
    // Webhooks to the vendor, and the ticket changes of tenants that poll.
    let sender_engine = engine.clone();
    let mut sender_stop = stop_rx.clone();
    let sender = tokio::spawn(async move {
        sender_engine
            .run_webhook_sender(async move {
                let _ = sender_stop.wait_for(|stop| *stop).await;
            })
            .await;
    });
    let poller_engine = engine.clone();
    let mut poller_stop = stop_rx.clone();
    let poller = tokio::spawn(async move {
        poller_engine
            .run_ticket_poller(async move {
                let _ = poller_stop.wait_for(|stop| *stop).await;
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
    app.run_until(async move {
        let _ = server_stop.wait_for(|stop| *stop).await;
    })
    .await?;
    let _ = worker.await;
    let _ = scheduler.await;
    let _ = sender.await;
    let _ = poller.await;
    engine.flush_failures().await;
    Ok(())
}

mod alerts;
mod billing;
mod settings;
mod tenants;

pub use alerts::{AlertsCmd, alerts};
pub use billing::{BillingCmd, billing};
pub use tenants::{CheckCmd, SecretsCmd, TenantCmd, check, rotate, tenant};
