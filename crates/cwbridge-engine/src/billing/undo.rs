//! Undoing a billing run: the inverse of each change it made — a line it made cancelled, a
//! line it cancelled made again with what it had, a line it changed put back — planned first,
//! then carried out as a run of its own under the same lock and audit as any apply. A line
//! ConnectWise no longer holds as the run left it is not touched; the plan names it and why.
//! An undo is a run like any other, so undoing it is an ordinary undo.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use connectwise_client::Client;
use connectwise_client::models::Addition;
use cwbridge_store::{ChangeRecord, LineRecord, RunStatus, TenantId};
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::Value;

use super::apply::{READS_AT_ONCE, addition_of, cancel_addition, create_addition, record};
use super::effect::{Effect, LineState, Revert, revert};
use super::plan::Change;
use super::run::{Context, Done, Outcome, RunReport, Step};
use crate::Engine;
use crate::error::{EngineError, Result};

/// One change of an undo: the inverse of a change the undone run made.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UndoStep {
    /// The id of the undone run's change it reverts (as the run's changes list it).
    pub reverts: i64,
    /// What it does, as a plan shows a change.
    pub change: Change,
}

/// A change of the undone run that the undo leaves alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    /// The id of the run's change.
    pub change_id: i64,
    /// The line key it was about.
    pub key: String,
    /// The addition it was about, when known.
    pub addition_id: Option<i64>,
    /// Why it is left alone, and what to do.
    pub reason: String,
}

/// What undoing a run would do.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UndoPlan {
    /// The run it undoes.
    pub run_id: i64,
    /// The changes, in the order they would be made (the run's, last first).
    pub changes: Vec<UndoStep>,
    /// Changes of the run left alone, each with why.
    pub skipped: Vec<Skipped>,
    /// Requests sent to ConnectWise to make the plan.
    pub requests: u64,
}

/// What an undo did.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UndoReport {
    /// The undo's own run (undo it to make the changes again).
    pub run_id: i64,
    /// The run it undid.
    pub undoes: i64,
    /// Changes carried out, by kind.
    pub done: BTreeMap<String, usize>,
    /// Changes that failed, with why (undoing the run again retries them).
    pub failed: Vec<String>,
    /// The plan that was carried out.
    pub plan: UndoPlan,
}

impl RunReport for UndoReport {
    fn tally(&self) -> (&BTreeMap<String, usize>, usize) {
        (&self.done, self.failed.len())
    }

    fn set_requests(&mut self, requests: u64) {
        self.plan.requests = requests;
    }
}

/// The line key and addition a recorded change was about, read from its detail.
fn subject(c: &ChangeRecord) -> (String, Option<i64>) {
    let detail: Value = serde_json::from_str(&c.detail).unwrap_or_default();
    let key = detail
        .pointer("/line/key")
        .or_else(|| detail.get("key"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    (
        key.to_owned(),
        detail.get("additionId").and_then(Value::as_i64),
    )
}

impl Engine {
    /// What undoing billing run `run` would change now, writing nothing.
    pub async fn billing_undo_plan(&self, tenant: TenantId, run: i64) -> Result<UndoPlan> {
        let r = async {
            self.undoable(tenant, run).await?;
            let client = self.client_for(tenant).await?;
            let before = client.stats().requests;
            let (plan, _) = self.make_undo_plan(tenant, &client, run).await?;
            Ok(UndoPlan {
                requests: client.stats().requests - before,
                ..plan
            })
        }
        .await;
        self.recheck_on_403(tenant, r).await
    }

    /// Undoes billing run `run`: plans again under the tenant's run lock and carries the
    /// plan out as a run of its own, each change recorded in its audit.
    pub async fn billing_undo(&self, tenant: TenantId, run: i64) -> Result<UndoReport> {
        self.billing_undo_with(tenant, run, &|_, _| {}).await
    }

    /// [`Engine::billing_undo`], telling `progress(done, total)` after every change.
    #[tracing::instrument(name = "billing.undo", skip_all, fields(tenant.id = tenant.0, undoes = run, run.id = tracing::field::Empty))]
    pub async fn billing_undo_with(
        &self,
        tenant: TenantId,
        run: i64,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<UndoReport> {
        self.undoable(tenant, run).await?;
        self.locked_run(tenant, Some(run), |client, id| async move {
            let (plan, steps) = self.make_undo_plan(tenant, &client, run).await?;
            let context = Context {
                settings: None,
                fetched: HashMap::new(),
            };
            let tally = self
                .carry_out_steps(tenant, &client, &context, id, steps, progress)
                .await;
            Ok(UndoReport {
                run_id: id,
                undoes: run,
                done: tally.done,
                failed: tally.failed,
                plan,
            })
        })
        .await
    }

    /// Refuses a run that is not this tenant's, or is still going.
    async fn undoable(&self, tenant: TenantId, run: i64) -> Result<()> {
        match self.store.run(tenant, run).await? {
            None => Err(EngineError::NotFound(format!("no billing run {run}"))),
            Some(r) if r.status == RunStatus::Running => Err(EngineError::Conflict(format!(
                "billing run {run} is still running: undo it once it has finished"
            ))),
            Some(_) => Ok(()),
        }
    }

    /// The undo of `run` as things stand: its recorded changes, last first, each reverted
    /// while ConnectWise holds its addition as the change left it.
    async fn make_undo_plan(
        &self,
        tenant: TenantId,
        client: &Client,
        run: i64,
    ) -> Result<(UndoPlan, Vec<Step>)> {
        let changes = self.store.run_changes(tenant, run).await?;
        let reverted: HashMap<i64, i64> = self
            .store
            .reverted_changes(tenant, run)
            .await?
            .into_iter()
            .collect();
        let mut skipped = Vec::new();
        let mut pending: Vec<(i64, Effect)> = Vec::new();
        for c in changes.iter().rev() {
            if matches!(c.kind.as_str(), "failed" | "keep-hand-edit") {
                continue; // nothing was written to ConnectWise
            }
            let skip = |reason: String| {
                let (key, addition_id) = subject(c);
                Skipped {
                    change_id: c.id,
                    key,
                    addition_id,
                    reason,
                }
            };
            if let Some(by) = reverted.get(&c.id) {
                skipped.push(skip(format!("undone already, by run {by}")));
                continue;
            }
            match c.effect.as_deref().map(serde_json::from_str::<Effect>) {
                Some(Ok(effect)) => pending.push((c.id, effect)),
                _ => skipped.push(skip(
                    "recorded before cwbridge kept what each change replaced: check this line in ConnectWise by hand".into(),
                )),
            }
        }

        // The additions as ConnectWise holds them now, on every agreement involved.
        let agreements: BTreeSet<i64> = pending.iter().map(|(_, e)| e.agreement_id).collect();
        let read: Vec<Vec<Addition>> = futures_util::stream::iter(agreements)
            .map(|agreement| async move {
                client
                    .finance()
                    .additions(agreement)
                    .list()
                    .page_size(1000)
                    .stream()
                    .try_collect::<Vec<Addition>>()
                    .await
            })
            .buffer_unordered(READS_AT_ONCE)
            .try_collect()
            .await?;
        let mut now: HashMap<i64, LineState> = HashMap::new();
        let mut active_by_marker: HashMap<String, Vec<i64>> = HashMap::new();
        for a in read.iter().flatten() {
            let Some(id) = a.id else { continue };
            let state = LineState::of(a);
            if let (false, Some(marker)) = (state.cancelled, a.serial_number.clone()) {
                active_by_marker.entry(marker).or_default().push(id);
            }
            now.insert(id, state);
        }
        let lines: HashMap<String, LineRecord> = self
            .store
            .lines(tenant)
            .await?
            .into_iter()
            .map(|l| (l.line_key.clone(), l))
            .collect();

        let mut steps = Vec::new();
        let mut cancelling: HashSet<i64> = HashSet::new();
        let mut made_again: HashSet<String> = HashSet::new();
        let installation = self.store.installation_id().await?;
        for (id, effect) in pending {
            let marker = super::plan::marker(&installation, tenant.0, &effect.key);
            // An active addition billing the key besides this one, that the undo does not
            // cancel first: the bridge's record of the key, or one carrying its marker.
            let billed_by = lines
                .get(&effect.key)
                .filter(|l| !l.cancelled)
                .map(|l| l.addition_id)
                .into_iter()
                .chain(active_by_marker.get(&marker).into_iter().flatten().copied())
                .find(|a| *a != effect.addition_id && !cancelling.contains(a));
            let verdict = match revert(&effect, now.get(&effect.addition_id), billed_by) {
                Revert::Do(Change::Create { .. }) if made_again.contains(&effect.key) => {
                    Revert::Skip(format!(
                        "{} is made again by an earlier change of this undo",
                        effect.key
                    ))
                }
                verdict => verdict,
            };
            match verdict {
                Revert::Do(change) => {
                    match &change {
                        Change::Cancel { addition_id, .. } => {
                            cancelling.insert(*addition_id);
                        }
                        Change::Create { line, .. } => {
                            made_again.insert(line.key.clone());
                        }
                        _ => {}
                    }
                    steps.push(Step {
                        change,
                        reverts: Some((id, effect)),
                    });
                }
                Revert::Skip(reason) => skipped.push(Skipped {
                    change_id: id,
                    key: effect.key.clone(),
                    addition_id: Some(effect.addition_id),
                    reason,
                }),
                Revert::Nothing => {}
            }
        }
        skipped.sort_by_key(|s| std::cmp::Reverse(s.change_id));
        let plan = UndoPlan {
            run_id: run,
            changes: steps
                .iter()
                .filter_map(|s| {
                    let (reverts, _) = s.reverts.as_ref()?;
                    Some(UndoStep {
                        reverts: *reverts,
                        change: s.change.clone(),
                    })
                })
                .collect(),
            skipped,
            requests: 0,
        };
        Ok((plan, steps))
    }

    /// Carries out one change of an undo, reverting `effect`; the bridge's record of the
    /// line follows when it followed the change undone.
    pub(super) async fn revert_one(
        &self,
        tenant: TenantId,
        client: &Client,
        change: &Change,
        effect: &Effect,
    ) -> Outcome {
        // The bridge's record of the line, when it is of this addition.
        let stored = || async {
            let line = self.store.line(tenant, &effect.key).await?;
            Ok::<_, EngineError>(
                line.filter(|l| effect.recorded && l.addition_id == effect.addition_id),
            )
        };
        let done = |kind, before: Option<LineState>, after: LineState, addition_id| {
            let effect = Effect {
                addition_id,
                before,
                after,
                ..effect.clone()
            };
            Ok(Some(Done::new(kind, Some(effect))))
        };
        match (change, &effect.before) {
            (Change::Cancel { .. }, _) => {
                cancel_addition(client, effect.agreement_id, effect.addition_id).await?;
                if let Some(line) = stored().await? {
                    let line = LineRecord {
                        cancelled: true,
                        ..line
                    };
                    self.store.put_line(tenant, &line).await?;
                }
                let after = effect.after.cancelled(true);
                done(
                    "cancel",
                    Some(effect.after.clone()),
                    after,
                    effect.addition_id,
                )
            }
            (Change::Create { line, .. }, Some(before)) => {
                let marker = self.marker(tenant, &effect.key).await?;
                let state = before.cancelled(false);
                let body = addition_of(&state, marker);
                let (id, _) = create_addition(client, effect.agreement_id, &body).await?;
                if effect.recorded {
                    self.store.put_line(tenant, &record(line, id)).await?;
                }
                done("create", None, state, id)
            }
            (Change::Update { line, .. }, Some(before)) => {
                let mut patch = connectwise_client::Patch::new()
                    .replace("quantity", before.quantity)
                    .replace("description", &before.description)
                    .replace("billCustomer", &before.bill_customer);
                if let Some(price) = before.unit_price {
                    patch = patch.replace("unitPrice", price);
                }
                client
                    .finance()
                    .additions(effect.agreement_id)
                    .patch(effect.addition_id, &patch)
                    .await?;
                if stored().await?.is_some() {
                    self.store
                        .put_line(tenant, &record(line, effect.addition_id))
                        .await?;
                }
                let after = before.clone();
                done(
                    "update",
                    Some(effect.after.clone()),
                    after,
                    effect.addition_id,
                )
            }
            _ => Ok(None),
        }
    }
}
