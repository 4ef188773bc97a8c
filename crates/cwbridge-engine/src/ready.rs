//! Whether this instance can take work: its database answers and holds this build's
//! schema, and its alert worker goes round. What `/readyz` tells a load balancer.

use std::time::Duration;

use serde::Serialize;

use crate::Engine;

/// How long the database may take to answer a readiness check.
const DATABASE_WAIT: Duration = Duration::from_secs(2);

/// One instance's readiness, part by part. Holds no tenant data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    /// Whether every part is ready.
    pub ready: bool,
    /// `ok` or `unreachable` (the reason goes to the log, not to whoever asks).
    pub database: String,
    /// `current`, `behind` (this build knows newer migrations than the database holds, or
    /// older), or `unknown` when the database did not answer.
    pub migrations: String,
    /// `running`, `stopped`, or `off` on an instance that runs no alert worker.
    pub worker: String,
}

impl Engine {
    /// Checks the database (within two seconds), its migrations, and, when `expects_worker`,
    /// the alert worker.
    pub async fn readiness(&self, expects_worker: bool) -> Readiness {
        let (database, migrations) =
            match tokio::time::timeout(DATABASE_WAIT, self.store.ready()).await {
                Ok(Ok(true)) => ("ok", "current"),
                Ok(Ok(false)) => ("ok", "behind"),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "readiness: the database failed");
                    ("unreachable", "unknown")
                }
                Err(_) => {
                    tracing::warn!(
                        wait_s = DATABASE_WAIT.as_secs(),
                        "readiness: the database did not answer"
                    );
                    ("unreachable", "unknown")
                }
            };
        let worker = match (expects_worker, self.worker_running()) {
            (false, _) => "off",
            (true, true) => "running",
            (true, false) => "stopped",
        };
        Readiness {
            ready: database == "ok" && migrations == "current" && worker != "stopped",
            database: database.to_owned(),
            migrations: migrations.to_owned(),
            worker: worker.to_owned(),
        }
    }
}
