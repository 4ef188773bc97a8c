#![doc = include_str!("../README.md")]

// Alerts delivered as tickets and notes, exactly once.
pub mod alert;
// The vendor's accounts and their billable units.
pub mod account;
// Agreement billing: settings, plan, apply.
pub mod billing;
// Tenants' ConnectWise connections and their checks.
pub mod connection;
// Errors callers turn into answers.
pub mod error;
// Which alert types each customer forwards.
pub mod forwarding;
// ConnectWise's recent error and rate-limit answers.
pub mod health;
// Group commit of accepted alerts.
mod intake;
// The permission preflight and its manifest.
pub mod preflight;
// Look-ups for the wizard, remembered briefly.
pub mod lookup;
// Accounts to ConnectWise companies, with suggestions.
pub mod mapping;
// What the engine measures, for /metrics.
pub mod measure;
// One page of a long list.
pub mod paging;
pub mod progress;
// Whether this instance can take work.
pub mod ready;
// What runs on its own: daily checks, scheduled billing.
pub mod schedule;
// Sealing secrets at rest.
pub mod secret;
// A tenant's settings as one document: export, difference, apply.
pub mod settings;
// Tenants and tokens.
pub mod tenant;
// ConnectWise's ticket changes sent back to the vendor as signed webhooks.
pub mod ticket_events;
// The delivery pool and the circuit breaker.
pub mod worker;
// Whole numbers read as JSON Schema counts them.
pub mod whole;

use cwbridge_store::Store;

pub use connection::{CheckReport, ConnectionInput, ConnectionView, Step};
pub use error::{EngineError, Result};
pub use preflight::{Feature, PermissionCheck};
pub use secret::Keyring;
pub use tenant::NewTenant;

/// How the engine is set up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Extra CA certificates (PEM) trusted for every ConnectWise connection (the sandbox's,
    /// or an on-premise server's).
    pub connectwise_ca: Option<Vec<u8>>,
    /// The address ConnectWise sees this bridge connect from, for allow-listing hints.
    pub egress_address: Option<String>,
    /// The vendor's clientId from ConnectWise's developer portal, used for connections
    /// saved without one (the MSP admin of seed 004 types only the site, company and keys).
    pub client_id: Option<String>,
    /// The features whose permissions the preflight checks.
    pub features: Vec<Feature>,
    /// How long a worker holds an alert it is delivering before another may take it over
    /// (when the first died); longer than a delivery takes.
    pub alert_lease: std::time::Duration,
    /// How long a billing run's heartbeat may be silent before the run counts as dead (its
    /// process killed) and another may start.
    pub run_stale_after: std::time::Duration,
    /// Where tenants' ConnectWise sites may be: public addresses over https unless the
    /// operator allows networks or plain http.
    pub fence: connectwise_client::Fence,
    /// The most bytes of one ConnectWise answer read.
    pub max_response_bytes: usize,
    /// The most pages of one ConnectWise list read.
    pub max_list_pages: u32,
    /// Alert deliveries in flight at once on this instance.
    pub delivery_concurrency: usize,
    /// Of those, at most this many for one tenant (ConnectWise limits each API member).
    pub deliveries_per_tenant: usize,
    /// One delivery attempt's overall deadline, ConnectWise's retries included.
    pub delivery_deadline: std::time::Duration,
    /// Attempts after which a transiently failing alert is kept `failed`.
    pub max_delivery_attempts: i64,
    /// Age after which a transiently failing alert is kept `failed`.
    pub max_delivery_age: std::time::Duration,
    /// Bounds on what a tenant sends.
    pub limits: Limits,
    /// On stop, how long deliveries in flight may take to finish; those still going then
    /// are stopped and their alerts released for any instance to take at once.
    pub shutdown_grace: std::time::Duration,
    /// The address ConnectWise reaches this bridge at (`--public-url`), for callbacks.
    pub public_url: Option<String>,
    /// Where every tenant's ticket events go unless the operator gives one its own.
    pub webhook: Option<ticket_events::Webhook>,
    /// How often tenants that poll for ticket changes are read.
    pub ticket_poll_interval: std::time::Duration,
}

/// Bounds on what a tenant (or the vendor for it) sends: over one, a request is refused
/// naming the field and the limit, and nothing is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Accounts of one tenant.
    pub accounts_per_tenant: usize,
    /// Units (e.g. sending domains) of one account.
    pub units_per_account: usize,
    /// Alert types one account lists.
    pub alert_types_per_account: usize,
    /// Alerts queued for one tenant; past it, new alerts are answered 429.
    pub queued_alerts_per_tenant: i64,
    /// Characters of an alert's account id.
    pub alert_account_chars: usize,
    /// Characters of an alert's type.
    pub alert_type_chars: usize,
    /// Characters of an alert's key.
    pub alert_key_chars: usize,
    /// Characters of an alert's summary (the ticket's is cut to ConnectWise's 100).
    pub alert_summary_chars: usize,
    /// Characters of an alert's description.
    pub alert_description_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            accounts_per_tenant: 100_000,
            units_per_account: 10_000,
            alert_types_per_account: 200,
            queued_alerts_per_tenant: 100_000,
            alert_account_chars: 200,
            alert_type_chars: 100,
            alert_key_chars: 500,
            alert_summary_chars: 1_000,
            alert_description_chars: 65_536,
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            connectwise_ca: None,
            egress_address: None,
            client_id: None,
            features: vec![Feature::Billing, Feature::Tickets],
            alert_lease: std::time::Duration::from_secs(60),
            run_stale_after: std::time::Duration::from_secs(30),
            fence: connectwise_client::Fence::public_only(),
            max_response_bytes: connectwise_client::DEFAULT_MAX_RESPONSE_BYTES,
            max_list_pages: 500,
            delivery_concurrency: 256,
            deliveries_per_tenant: 4,
            delivery_deadline: std::time::Duration::from_secs(60),
            max_delivery_attempts: 12,
            max_delivery_age: std::time::Duration::from_secs(24 * 3600),
            limits: Limits::default(),
            shutdown_grace: std::time::Duration::from_secs(10),
            public_url: None,
            webhook: None,
            ticket_poll_interval: std::time::Duration::from_secs(60),
        }
    }
}

/// The engine: the store, the keyring and the configuration. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    store: Store,
    keyring: std::sync::Arc<Keyring>,
    config: std::sync::Arc<EngineConfig>,
    /// Wakes the alert worker when an alert is queued.
    alert_queued: std::sync::Arc<tokio::sync::Notify>,
    /// Wakes the webhook sender when a webhook is queued.
    webhook_queued: std::sync::Arc<tokio::sync::Notify>,
    /// Tenants by token hash, remembered briefly so a busy tenant's requests skip the
    /// database lookup.
    tokens: std::sync::Arc<std::sync::Mutex<tenant::TokenCache>>,
    /// Wizard look-ups, remembered for a minute.
    lookups: std::sync::Arc<lookup::LookupCache>,
    /// ConnectWise's failed answers on their way to the store.
    failure_log: std::sync::Arc<health::FailureLog>,
    /// Tenants whose ConnectWise keeps failing, paused (this instance's view).
    breakers: std::sync::Arc<worker::Breakers>,
    /// Each tenant's queued alerts, as last counted.
    queue_counts: std::sync::Arc<alert::QueueCounts>,
    /// The writer that stores accepted alerts in batches.
    intake: std::sync::Arc<intake::Intake>,
    /// Tenants that may have an alert due now, for the worker's next pass.
    due_now: std::sync::Arc<worker::DueNow>,
    /// When the alert worker last went round its loop (Unix ms; 0: not running).
    worker_beat: std::sync::Arc<std::sync::atomic::AtomicI64>,
    /// A tenant's connection not saved yet, which this engine's clients reach instead of
    /// the saved one (settings checked before they are written).
    pending_connection:
        Option<std::sync::Arc<(cwbridge_store::TenantId, cwbridge_store::StoredConnection)>>,
}

impl Engine {
    /// An engine over a store.
    pub fn new(store: Store, keyring: Keyring, config: EngineConfig) -> Engine {
        Engine::with_parts(store, std::sync::Arc::new(keyring), config)
    }

    /// The same store and keyring under other settings (a changed fence, other limits);
    /// caches and queues are its own.
    pub fn with_config(&self, config: EngineConfig) -> Engine {
        Engine::with_parts(self.store.clone(), self.keyring.clone(), config)
    }

    fn with_parts(store: Store, keyring: std::sync::Arc<Keyring>, config: EngineConfig) -> Engine {
        Engine {
            store,
            keyring,
            config: std::sync::Arc::new(config),
            alert_queued: std::sync::Arc::default(),
            webhook_queued: std::sync::Arc::default(),
            tokens: std::sync::Arc::default(),
            lookups: std::sync::Arc::default(),
            failure_log: std::sync::Arc::default(),
            breakers: std::sync::Arc::default(),
            queue_counts: std::sync::Arc::default(),
            intake: std::sync::Arc::default(),
            worker_beat: std::sync::Arc::default(),
            due_now: std::sync::Arc::default(),
            pending_connection: None,
        }
    }

    /// The address ConnectWise sees this bridge connect from, when configured.
    pub fn egress_address(&self) -> Option<&str> {
        self.config.egress_address.as_deref()
    }

    /// Whether connections may leave out the clientId (the bridge has the vendor's).
    pub fn has_client_id(&self) -> bool {
        self.config.client_id.is_some()
    }

    /// The store (for tests and tools that inspect what is kept).
    pub fn store(&self) -> &Store {
        &self.store
    }
}
