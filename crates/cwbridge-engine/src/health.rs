//! What ConnectWise has been answering lately, per tenant: the error and rate-limit answers
//! (and attempts that got no answer) that the connection-health page shows. Every instance
//! records what its clients get into the store, so each instance's page shows them all.

use connectwise_client::Failure;
use cwbridge_store::{FailureRecord, TenantId, now_ms};
use serde::Serialize;

use crate::Engine;
use crate::error::Result;

/// How many failed attempts are kept per tenant.
pub const KEPT: i64 = 50;

/// A failed attempt against a tenant's ConnectWise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentFailure {
    /// When (Unix ms).
    pub at: i64,
    /// The method.
    pub method: String,
    /// The path, with its query.
    pub path: String,
    /// The status; `None` when no answer came.
    pub status: Option<u16>,
    /// ConnectWise's message, or what went wrong.
    pub message: String,
    /// Whether the client retried it.
    pub retrying: bool,
}

impl Engine {
    /// The observer a tenant's clients report failed attempts to. It must not hold up the
    /// request, so each one is written by a task of its own (a failure to write is logged).
    pub(crate) fn failure_observer(
        &self,
        tenant: TenantId,
    ) -> impl Fn(&Failure) + Send + Sync + 'static {
        let store = self.store.clone();
        move |f: &Failure| {
            let record = FailureRecord {
                at: now_ms(),
                method: f.method.clone(),
                path: f.path.chars().take(500).collect(),
                status: f.status.map(i64::from),
                message: f.message.chars().take(300).collect(),
                retrying: f.retrying,
            };
            let store = store.clone();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Err(e) = store.record_failure(tenant, &record, KEPT).await {
                        tracing::warn!(error = %e, "a ConnectWise failure was not recorded");
                    }
                });
            }
        }
    }

    /// The tenant's latest failed attempts against ConnectWise, newest first.
    pub async fn recent_failures(&self, tenant: TenantId) -> Result<Vec<RecentFailure>> {
        Ok(self
            .store
            .failures(tenant, KEPT)
            .await?
            .into_iter()
            .map(|f| RecentFailure {
                at: f.at,
                method: f.method,
                path: f.path,
                status: f.status.and_then(|s| u16::try_from(s).ok()),
                message: f.message,
                retrying: f.retrying,
            })
            .collect())
    }
}
