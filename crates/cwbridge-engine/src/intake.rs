//! Group commit for accepted alerts: requests that arrive together are stored by one writer
//! in one transaction, so one sync to disk covers them all and every alert is on disk
//! before its 202 goes out. A promoter then moves what was received into the keys' lanes,
//! many alerts a transaction, and wakes the delivery workers.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use cwbridge_store::{Accepted, AlertRecord, Store};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::error::{EngineError, Result};
use crate::worker::DueNow;

/// Alerts stored in one transaction at most.
const BATCH: usize = 512;

/// Alerts waiting for the writer; senders wait when it is full.
const QUEUE: usize = 8192;

type Job = (
    AlertRecord,
    Option<String>,
    oneshot::Sender<Result<Accepted>>,
);

/// How often the promoter looks for received alerts nobody told it about (stored by an
/// instance that stopped before promoting them).
const PROMOTE_EVERY: Duration = Duration::from_secs(1);

/// The promoter's rest after moving alerts, while more arrive: a burst is moved in batches
/// of what arrived meanwhile, whose scattered lane pages are shared by many alerts, and a
/// lone alert is moved at once.
const PROMOTE_GATHER: Duration = Duration::from_millis(25);

/// The writer's queue and the promoter, started on first use.
#[derive(Debug, Default)]
pub(crate) struct Intake {
    queue: OnceLock<mpsc::Sender<Job>>,
    received: OnceLock<Arc<Notify>>,
}

impl Intake {
    /// Starts the promoter (once), which wakes `queued` whenever it has moved alerts into
    /// their lanes. Called before the first alert is stored.
    pub(crate) fn start_promoter(
        &self,
        store: &Store,
        queued: &Arc<Notify>,
        due_now: &Arc<DueNow>,
    ) {
        self.received.get_or_init(|| {
            let received = Arc::new(Notify::new());
            tokio::spawn(promote(
                store.clone(),
                Arc::downgrade(&received),
                queued.clone(),
                due_now.clone(),
            ));
            received
        });
    }

    /// Stores an alert (once per idempotency key) together with whatever else is waiting,
    /// answering once the transaction holding it is committed.
    pub(crate) async fn store(
        &self,
        store: &Store,
        queued: &Arc<Notify>,
        due_now: &Arc<DueNow>,
        alert: AlertRecord,
        idempotency_key: Option<String>,
    ) -> Result<Accepted> {
        self.start_promoter(store, queued, due_now);
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(write(store.clone(), rx, self.received.get().cloned()));
            tx
        });
        let (answer, answered) = oneshot::channel();
        queue
            .send((alert, idempotency_key, answer))
            .await
            .map_err(|_| EngineError::Unavailable)?;
        answered.await.map_err(|_| EngineError::Unavailable)?
    }
}

/// The writer: takes what is waiting (up to [`BATCH`]), stores it in one transaction, answers
/// each sender.
async fn write(store: Store, mut rx: mpsc::Receiver<Job>, received: Option<Arc<Notify>>) {
    let staged = store.dialect() == cwbridge_store::Dialect::Sqlite;
    let mut jobs = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut jobs, BATCH).await > 0 {
        let alerts: Vec<(AlertRecord, Option<String>)> = jobs
            .iter()
            .map(|(a, key, _)| (a.clone(), key.clone()))
            .collect();
        match store.receive_alerts(&alerts).await {
            Ok(results) => {
                // PostgreSQL's intake puts alerts in their lanes itself (see
                // `Store::receive_alerts`): nothing for the promoter to do.
                if let Some(received) = received.as_ref().filter(|_| staged) {
                    received.notify_one();
                }
                for ((_, _, answer), accepted) in jobs.drain(..).zip(results) {
                    let _ = answer.send(Ok(accepted));
                }
            }
            Err(e) => {
                // Nothing of the batch was stored: each sender may try again.
                tracing::error!(error = %e, alerts = jobs.len(), "storing accepted alerts failed");
                for (_, _, answer) in jobs.drain(..) {
                    let _ = answer.send(Err(EngineError::Unavailable));
                }
            }
        }
    }
}

/// The promoter: moves received alerts into their lanes, as many a transaction as have
/// arrived (up to [`cwbridge_store::PROMOTE_BATCH`]), when the writer says it stored some and
/// every [`PROMOTE_EVERY`]; wakes the delivery workers after each move.
/// Ends when the engine that started it is gone.
async fn promote(
    store: Store,
    received: std::sync::Weak<Notify>,
    queued: Arc<Notify>,
    due_now: Arc<DueNow>,
) {
    loop {
        let Some(told) = received.upgrade() else {
            return;
        };
        tokio::select! {
            _ = told.notified() => {}
            _ = tokio::time::sleep(PROMOTE_EVERY) => {}
        }
        drop(told);
        loop {
            match store
                .promote_received_to(cwbridge_store::PROMOTE_BATCH)
                .await
            {
                Ok((moved, due_tenants)) => {
                    for tenant in due_tenants {
                        due_now.push(tenant);
                    }
                    if moved > 0 {
                        queued.notify_one();
                    }
                    if moved < cwbridge_store::PROMOTE_BATCH {
                        if moved > 0 {
                            tokio::time::sleep(PROMOTE_GATHER).await;
                        }
                        break;
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "queueing received alerts failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    break;
                }
            }
        }
    }
}
