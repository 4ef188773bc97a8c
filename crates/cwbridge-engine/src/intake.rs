//! Group commit for accepted alerts: requests that arrive together are stored by one writer
//! in one transaction, so one sync to disk covers them all and every alert is on disk
//! before its 202 goes out.

use std::sync::OnceLock;

use cwbridge_store::{Accepted, AlertRecord, Store};
use tokio::sync::{mpsc, oneshot};

use crate::error::{EngineError, Result};

/// Alerts stored in one transaction at most.
const BATCH: usize = 512;

/// Alerts waiting for the writer; senders wait when it is full.
const QUEUE: usize = 8192;

type Job = (
    AlertRecord,
    Option<String>,
    oneshot::Sender<Result<Accepted>>,
);

/// The writer's queue, started on first use.
#[derive(Debug, Default)]
pub(crate) struct Intake {
    queue: OnceLock<mpsc::Sender<Job>>,
}

impl Intake {
    /// Stores an alert (once per idempotency key) together with whatever else is waiting,
    /// answering once the transaction holding it is committed.
    pub(crate) async fn store(
        &self,
        store: &Store,
        alert: AlertRecord,
        idempotency_key: Option<String>,
    ) -> Result<Accepted> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(write(store.clone(), rx));
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
async fn write(store: Store, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut jobs, BATCH).await > 0 {
        let alerts: Vec<(AlertRecord, Option<String>)> = jobs
            .iter()
            .map(|(a, key, _)| (a.clone(), key.clone()))
            .collect();
        match store.insert_alerts(&alerts).await {
            Ok(results) => {
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
