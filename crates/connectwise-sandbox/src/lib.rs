#![doc = include_str!("../README.md")]

pub mod admin;
pub mod app;
pub mod auth;
pub mod bootstrap;
pub mod callbacks;
pub mod clock;
pub mod entity;
pub mod error;
pub mod faults;
pub mod functions;
pub mod index;
pub mod patch;
pub mod published;
pub mod query;
pub mod record;
pub mod resources;
pub mod roles;
pub mod rules;
pub mod schema;
pub mod seed;
pub mod server;
pub mod store;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use faults::{Faults, LostMode};
pub use roles::{Grant, Level, Levels, Preset};

/// How the sandbox speaks HTTP.
#[derive(Debug, Clone, Default)]
pub enum TlsMode {
    /// HTTPS with a self-signed certificate for `localhost` and `127.0.0.1`, made on first
    /// start and kept as `cert.pem`/`key.pem` in the state directory.
    #[default]
    SelfSigned,
    /// HTTPS with the operator's certificate chain and key (PEM files).
    Files {
        /// The certificate chain.
        cert: PathBuf,
        /// The private key.
        key: PathBuf,
    },
    /// Plain HTTP.
    Plain,
}

/// Data to start with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seed {
    /// A realistic small MSP: companies, contacts, agreements, catalog, boards, priorities.
    Demo,
    /// Many records, for benchmarks.
    Bench {
        /// How many companies.
        companies: usize,
        /// How many tickets.
        tickets: usize,
    },
}

/// Everything the sandbox needs to start.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where state, certificate and credentials live; `None` keeps everything in memory.
    pub state_dir: Option<PathBuf>,
    /// The address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// HTTPS or HTTP.
    pub tls: TlsMode,
    /// The company id members log in with.
    pub company_id: String,
    /// The company's name, as `/login/companyinfo` reports it.
    pub company_name: String,
    /// The codebase the API is served under, e.g. `v4_6_release/`.
    pub codebase: String,
    /// Data to load on first start (ignored when the state already holds companies).
    pub seed: Option<Seed>,
    /// Faults in force from the start.
    pub faults: Faults,
}

impl SandboxConfig {
    /// In memory, HTTPS, on a free port of 127.0.0.1, no seed, no faults.
    pub fn ephemeral() -> Self {
        SandboxConfig {
            state_dir: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: TlsMode::SelfSigned,
            company_id: "sandbox".into(),
            company_name: "Sandbox MSP".into(),
            codebase: "v4_6_release/".into(),
            seed: None,
            faults: Faults::default(),
        }
    }
}

/// What a client needs to call the sandbox, in the format of `credentials.json`: the
/// client's own type, so the sandbox's admin and a client read the same file the same way.
/// The site is `host:port` for HTTPS (as ConnectWise clients expect), `http://host:port` for
/// plain HTTP.
pub use connectwise_client::Credentials;

/// A running sandbox.
pub struct Sandbox {
    addr: SocketAddr,
    url: String,
    credentials: Credentials,
    ca_pem: Option<String>,
    shared: Arc<app::Shared>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("url", &self.url).finish()
    }
}

impl Sandbox {
    /// Opens the state, binds the listener and serves until [`Sandbox::stop`].
    pub async fn start(config: SandboxConfig) -> anyhow::Result<Sandbox> {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("Failed to listen on {}", config.listen))?;
        Self::start_on(config, listener).await
    }

    /// Like [`Sandbox::start`], on a listener the caller bound.
    pub async fn start_on(config: SandboxConfig, listener: TcpListener) -> anyhow::Result<Sandbox> {
        faults_valid(&config.faults)?;
        let addr = listener.local_addr()?;
        let store = Arc::new(match &config.state_dir {
            Some(dir) => store::Store::open(dir)?,
            None => store::Store::in_memory(),
        });
        let (tls_config, ca_pem) = match &config.tls {
            TlsMode::Plain => (None, None),
            TlsMode::SelfSigned => {
                let pair = match &config.state_dir {
                    Some(dir) => tls::load_or_create(dir)?,
                    None => tls::self_signed()?,
                };
                (Some(tls::server_config(&pair)?), Some(pair.cert_pem))
            }
            TlsMode::Files { cert, key } => {
                let pair = tls::read_files(cert, key)?;
                (Some(tls::server_config(&pair)?), Some(pair.cert_pem))
            }
        };
        let scheme = if tls_config.is_some() {
            "https"
        } else {
            "http"
        };
        let url = format!("{scheme}://{addr}");
        let site = if tls_config.is_some() {
            addr.to_string()
        } else {
            url.clone()
        };

        let admin = bootstrap::ensure_admin(&store)?;
        if let Some(seed) = &config.seed {
            seed::load(&store, seed)?;
        }
        let credentials = credentials(&config, &store, admin, &site)?;
        let signing_key = bootstrap::signing_key(&store)?;
        let callbacks = callbacks::Dispatcher::start(callbacks::Delivery {
            store: store.clone(),
            signing_key: signing_key.clone(),
            key_url: format!("{url}/_sandbox/callback-key"),
            from_url: site.clone(),
            company_id: config.company_id.clone(),
        });
        let shared = Arc::new(app::Shared {
            store,
            site: app::Site {
                company_id: config.company_id.clone(),
                company_name: config.company_name.clone(),
                version_code: format!("v{}", app::CURRENT_API_VERSION),
                version_number: format!("v{}.10000", app::CURRENT_API_VERSION),
                is_cloud: false,
            },
            codebase: RwLock::new(String::new()),
            faults: Mutex::new(faults::Injector::new(config.faults.clone())),
            base_url: url.clone(),
            callbacks,
            signing_key,
        });
        shared.upgrade(&config.codebase);
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn(server::serve(
            listener,
            tls_config,
            app::router(shared.clone()),
            rx,
        ));
        tracing::info!(url = %url, "sandbox listening");
        Ok(Sandbox {
            addr,
            url,
            credentials,
            ca_pem,
            shared,
            shutdown,
            task,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT` (or `http://…`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The API base for the current codebase, e.g. `https://127.0.0.1:PORT/v4_6_release/apis/3.0/`.
    pub fn api_url(&self) -> String {
        self.shared.api_base()
    }

    /// The key callbacks are signed with, as published at the payloads' `key_url`.
    pub fn callback_signing_key(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&self.shared.signing_key)
    }

    /// The built-in admin API member's credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The certificate (PEM) clients should trust, when serving HTTPS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Replaces the fault settings while running.
    pub fn set_faults(&self, faults: Faults) -> anyhow::Result<()> {
        faults_valid(&faults)?;
        self.shared.set_faults(faults);
        Ok(())
    }

    /// The fault settings in force.
    pub fn faults(&self) -> Faults {
        self.shared.faults()
    }

    /// Moves the API to a new codebase; the old one answers 404 from now on.
    pub fn upgrade(&self, codebase: &str) {
        self.shared.upgrade(codebase);
    }

    /// Stops serving and writes a snapshot of the state.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
        if let Err(e) = self.shared.store.compact() {
            tracing::warn!(error = %e, "could not write the final snapshot");
        }
    }

    /// Serves until Ctrl-C (or SIGTERM), then stops.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        shutdown_signal().await;
        self.stop().await;
        Ok(())
    }
}

fn faults_valid(f: &Faults) -> anyhow::Result<()> {
    f.validate()
        .map_err(|m| anyhow::anyhow!("Invalid fault settings: {m}"))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = ctrl_c => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Reads `credentials.json` (updating its site) or makes a new admin key and writes it.
fn credentials(
    config: &SandboxConfig,
    store: &store::Store,
    admin: i64,
    site: &str,
) -> anyhow::Result<Credentials> {
    let path = config
        .state_dir
        .as_ref()
        .map(|d| d.join("credentials.json"));
    if let Some(path) = &path
        && let Ok(text) = std::fs::read_to_string(path)
        && let Ok(mut creds) = serde_json::from_str::<Credentials>(&text)
    {
        creds.site = site.to_owned();
        creds.company_id = config.company_id.clone();
        tls::write_private(path, &serde_json::to_string_pretty(&creds)?)?;
        return Ok(creds);
    }
    let key = bootstrap::new_key(store, admin, "sandbox admin")?;
    let client_id = {
        let b: [u8; 16] = rand::random();
        let h = hex::encode(b);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    };
    let creds = Credentials {
        site: site.to_owned(),
        company_id: config.company_id.clone(),
        public_key: key.public_key,
        private_key: key.private_key,
        client_id,
    };
    if let Some(path) = &path {
        tls::write_private(path, &serde_json::to_string_pretty(&creds)?)?;
    }
    Ok(creds)
}
