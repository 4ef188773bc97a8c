//! A billing run, whatever it carries out (a plan, or the undo of an earlier run): the
//! tenant's run lock with its heartbeat, the changes carried out one account at a time in
//! order with each recorded in the audit before the next, and the run's end.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;

use connectwise_client::models::Addition;
use connectwise_client::{Client, ErrorKind};
use cwbridge_store::{NewChange, RunStatus, StoreError, TenantId, now_ms};
use futures_util::StreamExt;
use serde_json::json;

use super::apply::account_of;
use super::effect::Effect;
use super::plan::Change;
use super::settings::BillingView;
use crate::Engine;
use crate::error::{EngineError, Result};
use crate::measure;

/// Agreements written at once (each account's changes stay in order).
const WRITES_AT_ONCE: usize = 16;

/// One change to carry out; for an undo, with the change of the undone run it reverts (its
/// audit id and what it did).
#[derive(Debug, Clone)]
pub(super) struct Step {
    /// The change, as the plan shows it.
    pub change: Change,
    /// What it reverts, when it is part of an undo.
    pub reverts: Option<(i64, Effect)>,
}

/// What a run's changes need besides the client: the billing settings (a plan's creates and
/// drift), and the additions read while planning (what each change found).
pub(super) struct Context {
    /// The tenant's billing settings.
    pub settings: Option<BillingView>,
    /// Additions by agreement, as read while planning.
    pub fetched: HashMap<i64, Vec<Addition>>,
}

impl Context {
    /// An addition as it was read while planning.
    pub fn found(&self, agreement: i64, addition: i64) -> Option<&Addition> {
        self.fetched
            .get(&agreement)?
            .iter()
            .find(|a| a.id == Some(addition))
    }
}

/// What carrying out one change did: its audit kind and its effect on the addition.
#[derive(Debug, Clone)]
pub(super) struct Done {
    /// `create`, `update`, `cancel`, `adopt`, `correct` or `keep-hand-edit`.
    pub kind: &'static str,
    /// What it did to the addition, kept so the run can be undone.
    pub effect: Option<Effect>,
}

impl Done {
    /// A change of this kind that did this to its addition.
    pub fn new(kind: &'static str, effect: Option<Effect>) -> Self {
        Done { kind, effect }
    }
}

/// How carrying out a change went: what it did, or `None` when it was only reported.
pub(super) type Outcome = Result<Option<Done>>;

/// The changes a run carried out, by kind, and those that failed, with why.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// Carried out, by kind.
    pub done: BTreeMap<String, usize>,
    /// Failed, each with why.
    pub failed: Vec<String>,
}

/// A run's report, as [`Engine::locked_run`] finishes it.
pub(super) trait RunReport {
    /// Changes done by kind, and failures.
    fn tally(&self) -> (&BTreeMap<String, usize>, usize);
    /// Sets how many requests the run sent to ConnectWise.
    fn set_requests(&mut self, requests: u64);
}

impl Engine {
    /// Runs `work` under the tenant's run lock (`undoes`: the run it undoes), beating while it
    /// goes, and records how the run ended. `work` gets the run's client and id.
    pub(super) async fn locked_run<R, F, Fut>(
        &self,
        tenant: TenantId,
        undoes: Option<i64>,
        work: F,
    ) -> Result<R>
    where
        R: RunReport,
        F: FnOnce(Client, i64) -> Fut,
        Fut: Future<Output = Result<R>>,
    {
        let client = self.client_for_run(tenant).await?;
        let stale = self.config.run_stale_after;
        let run = match self
            .store
            .start_run(tenant, stale.as_millis() as i64, undoes)
            .await
        {
            Ok(run) => run,
            Err(StoreError::Conflict { .. }) => {
                // A live run beats on; a dead one's lock lapses once its last beat is older
                // than `run_stale_after`: say when, so the caller knows when to try again.
                let beat = self
                    .store
                    .running_run_heartbeat(tenant)
                    .await?
                    .unwrap_or_else(now_ms);
                let lapses_in =
                    ((beat + stale.as_millis() as i64 - now_ms()).max(1) as u64).div_ceil(1_000);
                return Err(EngineError::RunInProgress {
                    retry_after: lapses_in,
                });
            }
            Err(e) => return Err(e.into()),
        };
        tracing::Span::current().record("run.id", run);
        // Beat while this run lives, so a run whose process dies is taken over quickly.
        let beat = {
            let store = self.store.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(stale / 4);
                loop {
                    every.tick().await;
                    let _ = store.heartbeat_run(run).await;
                }
            })
        };
        let before = client.stats().requests;
        let result = work(client.clone(), run).await;
        beat.abort();
        match result {
            Ok(mut report) => {
                let (done, failed) = report.tally();
                let outcome = if failed == 0 { "done" } else { "partial" };
                measure::count(measure::BILLING_RUNS, tenant, &[("outcome", outcome)]);
                let summary = json!({"done": done, "failed": failed}).to_string();
                report.set_requests(client.stats().requests - before);
                self.store
                    .finish_run(run, RunStatus::Done, &summary)
                    .await?;
                Ok(report)
            }
            Err(e) => {
                measure::count(measure::BILLING_RUNS, tenant, &[("outcome", "failed")]);
                let summary = json!({"error": e.to_string()}).to_string();
                self.store
                    .finish_run(run, RunStatus::Failed, &summary)
                    .await?;
                // The role changed since the last check: name what is missing now.
                self.recheck_on_403(tenant, Err(e)).await
            }
        }
    }

    /// Carries `steps` out: one account's in order (a line moving agreements is cancelled
    /// before it is made again, and not made again when that failed), accounts side by side,
    /// each recorded in run `run`'s audit before the next. Tells `progress(done, total)`
    /// after each.
    pub(super) async fn carry_out_steps(
        &self,
        tenant: TenantId,
        client: &Client,
        context: &Context,
        run: i64,
        steps: Vec<Step>,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Tally {
        let total = steps.len();
        let finished = std::sync::atomic::AtomicUsize::new(0);
        progress(0, total);
        let mut groups: BTreeMap<String, Vec<Step>> = BTreeMap::new();
        for step in steps {
            groups
                .entry(account_of(step.change.key()).to_owned())
                .or_default()
                .push(step);
        }
        let outcomes: Vec<Vec<(Change, Outcome)>> =
            futures_util::stream::iter(groups.into_values())
                .map(|steps| {
                    let finished = &finished;
                    async move {
                        let mut out = Vec::with_capacity(steps.len());
                        let mut not_cancelled: BTreeSet<String> = BTreeSet::new();
                        for step in steps {
                            let outcome = match &step.change {
                                // The old line stays: making the new one would bill twice.
                                Change::Create { line, .. }
                                    if not_cancelled.contains(&line.key) =>
                                {
                                    Err(EngineError::Conflict(format!(
                                        "{} was not moved: its old line could not be cancelled",
                                        line.key
                                    )))
                                }
                                _ => self.carry_out_step(tenant, client, context, &step).await,
                            };
                            if let (Change::Cancel { key, .. }, Err(_)) = (&step.change, &outcome) {
                                not_cancelled.insert(key.clone());
                            }
                            // Recorded before the next change, so a crash leaves its audit.
                            let reverts = step.reverts.as_ref().map(|(id, _)| *id);
                            let _ = self.audit(run, &step.change, &outcome, reverts).await;
                            out.push((step.change, outcome));
                            let n = finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                            progress(n, total);
                        }
                        out
                    }
                })
                .buffer_unordered(WRITES_AT_ONCE)
                .collect()
                .await;
        let mut tally = Tally::default();
        let mut refused = false;
        for (change, outcome) in outcomes.into_iter().flatten() {
            let measured = match &outcome {
                Ok(Some(_)) => Some("done"),
                Ok(None) => None,
                Err(_) => Some("failed"),
            };
            if let Some(measured) = measured {
                let labels = [("kind", change.kind()), ("outcome", measured)];
                measure::count(measure::BILLING_CHANGES, tenant, &labels);
            }
            match outcome {
                Ok(Some(done)) => *tally.done.entry(done.kind.to_owned()).or_default() += 1,
                Ok(None) => {}
                Err(e) => {
                    refused |= matches!(&e, EngineError::ConnectWise(c) if c.kind() == ErrorKind::Permission);
                    tally.failed.push(format!("{}: {e}", change.label()));
                }
            }
        }
        if refused {
            // The role changed since the last check: name what is missing now.
            let _ = self.check_connection(tenant).await;
        }
        tally
    }

    /// Carries one step out: a plan's change, or the undo of an earlier one.
    async fn carry_out_step(
        &self,
        tenant: TenantId,
        client: &Client,
        context: &Context,
        step: &Step,
    ) -> Outcome {
        match &step.reverts {
            Some((_, effect)) => self.revert_one(tenant, client, &step.change, effect).await,
            None => {
                self.carry_out_one(tenant, client, context, &step.change)
                    .await
            }
        }
    }

    /// Records one change of a run in its audit, with what it did to its addition.
    async fn audit(
        &self,
        run: i64,
        change: &Change,
        outcome: &Outcome,
        reverts: Option<i64>,
    ) -> Result<()> {
        let (kind, detail, effect) = match outcome {
            Ok(Some(done)) => (
                done.kind,
                serde_json::to_string(change).unwrap_or_default(),
                done.effect
                    .as_ref()
                    .and_then(|e| serde_json::to_string(e).ok()),
            ),
            Ok(None) => return Ok(()),
            Err(e) => (
                "failed",
                json!({"change": change, "error": e.to_string()}).to_string(),
                None,
            ),
        };
        let reverts = reverts.filter(|_| effect.is_some());
        let entry = NewChange {
            kind,
            detail: &detail,
            effect: effect.as_deref(),
            reverts,
        };
        self.store.record_change(run, &entry).await?;
        Ok(())
    }
}
