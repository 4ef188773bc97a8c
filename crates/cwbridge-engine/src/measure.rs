//! What the engine measures, through the `metrics` facade (nothing is kept unless the program
//! installs a recorder): alerts counted where they are accepted and delivered, billing runs
//! and changes where they end, and the gauges (queue depth, the oldest due alert, paused
//! tenants, database connections) read when [`Engine::measure_gauges`] is called, on each
//! scrape. Series carry a `tenant` label only when [`per_tenant`] is turned on: thousands of
//! tenants must not mean thousands of series by default.

use std::sync::atomic::{AtomicBool, Ordering};

use cwbridge_store::{TenantId, now_ms};
use metrics::Label;

use crate::{Engine, Result};

/// Alerts accepted (answered 202), resends of an idempotency key not counted.
pub const ALERTS_ACCEPTED: &str = "cwbridge_alerts_accepted_total";
/// Delivery attempts by `outcome`: `delivered`, `skipped`, `retried` (back in the queue) or
/// `failed` (given up).
pub const ALERT_DELIVERIES: &str = "cwbridge_alert_deliveries_total";
/// From an alert's 202 to its ticket or note written.
pub const ALERT_TICKET_SECONDS: &str = "cwbridge_alert_to_ticket_seconds";
/// Alerts queued, every tenant's, every instance's.
pub const ALERT_QUEUE_DEPTH: &str = "cwbridge_alert_queue_depth";
/// Queued alerts a worker holds: in flight, on any instance.
pub const ALERTS_IN_FLIGHT: &str = "cwbridge_alerts_in_flight";
/// How long the alert due longest has been waiting for a worker (0 when none is due).
pub const ALERT_OLDEST_DUE_SECONDS: &str = "cwbridge_alert_oldest_due_seconds";
/// Tenants whose deliveries the circuit breaker has paused, on this instance.
pub const TENANTS_PAUSED: &str = "cwbridge_tenants_paused";
/// Billing runs by `outcome`: `done`, `partial` (some changes failed) or `failed`.
pub const BILLING_RUNS: &str = "cwbridge_billing_runs_total";
/// Billing changes carried out, by `kind` (`create`, `update`, `cancel`, `adopt`) and
/// `outcome` (`done` or `failed`).
pub const BILLING_CHANGES: &str = "cwbridge_billing_changes_total";
/// Wizard sign-ins by `outcome`: `ok` or `refused` (a token not valid).
pub const SIGN_INS: &str = "cwbridge_wizard_sign_ins_total";
/// Webhooks to the vendor by attempt `outcome` (`delivered`, `retry`, `failed`).
pub const WEBHOOKS: &str = "cwbridge_webhooks_total";
/// The database pool's connections by `state`: `idle` or `busy`.
pub const DB_CONNECTIONS: &str = "cwbridge_db_connections";

static PER_TENANT: AtomicBool = AtomicBool::new(false);

/// Adds a `tenant` label to alert, billing and ConnectWise series (off by default).
pub fn per_tenant(on: bool) {
    PER_TENANT.store(on, Ordering::Relaxed);
}

/// Whether series carry the tenant.
pub fn is_per_tenant() -> bool {
    PER_TENANT.load(Ordering::Relaxed)
}

/// The labels a tenant's measurements carry: the tenant when asked for, else none.
pub(crate) fn tenant_labels(tenant: TenantId) -> Vec<Label> {
    if is_per_tenant() {
        vec![Label::new("tenant", tenant.0.to_string())]
    } else {
        Vec::new()
    }
}

/// Counts one of `tenant`'s events in `name`, with `more` labels.
pub(crate) fn count(name: &'static str, tenant: TenantId, more: &[(&'static str, &str)]) {
    let mut labels = tenant_labels(tenant);
    labels.extend(more.iter().map(|(k, v)| Label::new(*k, (*v).to_owned())));
    metrics::counter!(name, labels).increment(1);
}

/// Records how long after its 202 a tenant's alert reached ConnectWise.
pub(crate) fn alert_reached_connectwise(tenant: TenantId, received_at_ms: i64) {
    let seconds = (now_ms() - received_at_ms).max(0) as f64 / 1000.0;
    metrics::histogram!(ALERT_TICKET_SECONDS, tenant_labels(tenant)).record(seconds);
}

impl Engine {
    /// Reads the gauges measured on demand: the queue (depth, in flight and the oldest due
    /// alert, in one read of the database), the tenants paused here, and the database pool.
    pub async fn measure_gauges(&self) -> Result<()> {
        let queue = self.store.queue_gauges().await?;
        metrics::gauge!(ALERT_QUEUE_DEPTH).set(queue.depth as f64);
        metrics::gauge!(ALERTS_IN_FLIGHT).set(queue.in_flight as f64);
        let waited = queue.oldest_due.map_or(0, |at| (now_ms() - at).max(0));
        metrics::gauge!(ALERT_OLDEST_DUE_SECONDS).set(waited as f64 / 1000.0);
        metrics::gauge!(TENANTS_PAUSED).set(self.breakers.paused() as f64);
        let (open, idle) = self.store.pool_use();
        metrics::gauge!(DB_CONNECTIONS, "state" => "idle").set(idle as f64);
        let busy = (open as usize).saturating_sub(idle);
        metrics::gauge!(DB_CONNECTIONS, "state" => "busy").set(busy as f64);
        Ok(())
    }
}
