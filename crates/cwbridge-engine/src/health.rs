//! What ConnectWise has been answering lately, per tenant: the error and rate-limit answers
//! (and attempts that got no answer) that the connection-health page shows. Every instance
//! writes what its clients get to the store, so each instance's page shows them all.
//!
//! A failing ConnectWise can fail many requests at once, and the requests must not wait for
//! the database: clients hand failures to one writer task through a bounded queue (a full
//! queue drops them, counted), and the writer stores them in batches.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use connectwise_client::Failure;
use cwbridge_store::{FailureRecord, Store, TenantId, now_ms};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::Engine;
use crate::error::Result;

/// How many failed attempts are kept per tenant.
pub const KEPT: i64 = 50;
/// How old a kept failure may be and still be shown as recent.
pub const RECENT_MS: i64 = 7 * 24 * 3600 * 1000;
/// Failures waiting for the writer before more are dropped.
const QUEUE: usize = 1024;
/// Failures the writer stores in one go at most.
const BATCH: usize = 256;

/// A failed attempt against a tenant's ConnectWise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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

enum Note {
    Failure(TenantId, FailureRecord),
    Flush(oneshot::Sender<()>),
}

/// The queue to the writer task, started with the first client.
#[derive(Debug, Default)]
pub struct FailureLog {
    queue: OnceLock<mpsc::Sender<Note>>,
    dropped: AtomicU64,
}

impl std::fmt::Debug for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Note::Failure(..) => "Failure",
            Note::Flush(_) => "Flush",
        })
    }
}

async fn write(store: Store, mut queue: mpsc::Receiver<Note>) {
    while let Some(first) = queue.recv().await {
        let mut batch: Vec<(TenantId, Vec<FailureRecord>)> = Vec::new();
        let mut flushes = Vec::new();
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(note) = next.take() {
            match note {
                Note::Failure(tenant, record) => {
                    match batch.iter_mut().find(|(t, _)| *t == tenant) {
                        Some((_, list)) => list.push(record),
                        None => batch.push((tenant, vec![record])),
                    }
                    taken += 1;
                }
                Note::Flush(done) => flushes.push(done),
            }
            if taken < BATCH {
                next = queue.try_recv().ok();
            }
        }
        for (tenant, records) in batch {
            if let Err(e) = store.record_failures(tenant, &records, KEPT).await {
                tracing::warn!(error = %e, tenant.id = %tenant, "ConnectWise failures were not recorded");
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

impl Engine {
    fn failure_queue(&self) -> &mpsc::Sender<Note> {
        self.failure_log.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(write(self.store.clone(), rx));
            tx
        })
    }

    /// The observer a tenant's clients report failed attempts to (needs the runtime).
    pub(crate) fn failure_observer(
        &self,
        tenant: TenantId,
    ) -> impl Fn(&Failure) + Send + Sync + 'static {
        let queue = self.failure_queue().clone();
        let log = self.failure_log.clone();
        move |f: &Failure| {
            let record = FailureRecord {
                at: now_ms(),
                method: f.method.clone(),
                path: f.path.chars().take(500).collect(),
                status: f.status.map(i64::from),
                message: f.message.chars().take(300).collect(),
                retrying: f.retrying,
            };
            if queue.try_send(Note::Failure(tenant, record)).is_err()
                && log
                    .dropped
                    .fetch_add(1, Ordering::Relaxed)
                    .is_multiple_of(1000)
            {
                tracing::warn!(
                    "ConnectWise failures come faster than they are recorded; some are dropped"
                );
            }
        }
    }

    /// Waits until every failure reported so far is stored (before a command exits).
    pub async fn flush_failures(&self) {
        let Some(queue) = self.failure_log.queue.get() else {
            return;
        };
        let (done, stored) = oneshot::channel();
        if queue.send(Note::Flush(done)).await.is_ok() {
            let _ = stored.await;
        }
    }

    /// The tenant's failed attempts against ConnectWise of the last week, as any instance
    /// saw them, newest first.
    pub async fn recent_failures(&self, tenant: TenantId) -> Result<Vec<RecentFailure>> {
        let since = now_ms() - RECENT_MS;
        Ok(self
            .store
            .failures(tenant, KEPT)
            .await?
            .into_iter()
            .filter(|f| f.at >= since)
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
