//! Carrying a plan out (the plan itself is made in `reconcile.rs`).
//!
//! A plan reads only what it must: the agreements of the companies involved (in batches of
//! 100 companies a request) and the additions of the agreements whose lines may change —
//! every agreement with lines on a full run, only those where the wanted lines differ from
//! what the bridge last wrote otherwise. Applying plans again under the tenant's run lock and
//! carries each change out, recording it before moving on; a create whose answer is lost is
//! found again by its marker instead of made twice, so a crash or a re-run never duplicates
//! a line.

use std::collections::{BTreeMap, BTreeSet};

use connectwise_client::Client;
use connectwise_client::Patch;
use connectwise_client::conditions::field;
use connectwise_client::models::{Addition, IvItemReference};
use cwbridge_store::{LineRecord, TenantId};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::json;

use super::plan::{self, Change, Desired, DriftPolicy};
use super::settings::BillingView;
use crate::Engine;
use crate::error::{EngineError, Result};
use crate::measure;

/// A change and how carrying it out went (the audit kind, or `None` when only reported).
type Outcome = (Change, Result<Option<&'static str>>);

/// Agreements read from ConnectWise at once while planning.
pub(super) const READS_AT_ONCE: usize = 16;
/// Agreements written at once while applying (each agreement's changes stay in order).
const WRITES_AT_ONCE: usize = 16;

/// An account the plan cannot bill, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// The account.
    pub account: String,
    /// Why, and what to do.
    pub message: String,
}

/// What a plan would do.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The changes, in the order they would be made.
    pub changes: Vec<Change>,
    /// Accounts that cannot be billed as things stand.
    pub problems: Vec<Problem>,
    /// The monthly amount of every wanted billable line.
    pub billable_total: f64,
    /// How many wanted lines there are.
    pub lines: usize,
    /// Requests sent to ConnectWise to make the plan.
    pub requests: u64,
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    /// The run's id (its changes are in the audit).
    pub run_id: i64,
    /// Changes carried out, by kind.
    pub done: BTreeMap<String, usize>,
    /// Changes that failed, with why (a later run retries them).
    pub failed: Vec<String>,
    /// The plan that was carried out.
    pub plan: Plan,
}

/// The last-written state of a stored line.
pub(super) fn written(l: &LineRecord) -> (f64, String, String) {
    (l.quantity, l.description.clone(), l.bill_customer.clone())
}

impl Engine {
    /// Plans and carries the plan out, one change at a time, each recorded in the audit.
    pub async fn billing_apply(&self, tenant: TenantId, full: bool) -> Result<ApplyReport> {
        self.billing_apply_with(tenant, full, &|_, _| {}).await
    }

    /// [`Engine::billing_apply`], telling `progress(done, total)` after every change (for a
    /// progress bar).
    #[tracing::instrument(name = "billing.run", skip_all, fields(tenant.id = tenant.0, full, run.id = tracing::field::Empty))]
    pub async fn billing_apply_with(
        &self,
        tenant: TenantId,
        full: bool,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<ApplyReport> {
        let client = self.client_for_run(tenant).await?;
        let settings = self.billing(tenant).await?;
        let stale = self.config.run_stale_after;
        let run = match self.store.start_run(tenant, stale.as_millis() as i64).await {
            Ok(run) => run,
            Err(cwbridge_store::StoreError::Conflict { .. }) => {
                // A live run beats on; a dead one's lock lapses once its last beat is older
                // than `run_stale_after`: say when, so the caller knows when to try again.
                let beat = self
                    .store
                    .running_run_heartbeat(tenant)
                    .await?
                    .unwrap_or_else(cwbridge_store::now_ms);
                let lapses_in =
                    ((beat + stale.as_millis() as i64 - cwbridge_store::now_ms()).max(1) as u64)
                        .div_ceil(1_000);
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
        let result = self
            .carry_out(tenant, &client, &settings, run, full, progress)
            .await;
        beat.abort();
        match result {
            Ok(mut report) => {
                let outcome = if report.failed.is_empty() {
                    "done"
                } else {
                    "partial"
                };
                measure::count(measure::BILLING_RUNS, tenant, &[("outcome", outcome)]);
                report.plan.requests = client.stats().requests - before;
                let summary =
                    json!({"done": report.done, "failed": report.failed.len()}).to_string();
                self.store
                    .finish_run(run, cwbridge_store::RunStatus::Done, &summary)
                    .await?;
                Ok(report)
            }
            Err(e) => {
                measure::count(measure::BILLING_RUNS, tenant, &[("outcome", "failed")]);
                let summary = json!({"error": e.to_string()}).to_string();
                self.store
                    .finish_run(run, cwbridge_store::RunStatus::Failed, &summary)
                    .await?;
                if matches!(&e, EngineError::ConnectWise(c) if c.kind() == connectwise_client::ErrorKind::Permission)
                {
                    // The role changed since the last check: name what is missing now.
                    let _ = self.check_connection(tenant).await;
                }
                Err(e)
            }
        }
    }

    async fn carry_out(
        &self,
        tenant: TenantId,
        client: &Client,
        settings: &BillingView,
        run: i64,
        full: bool,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<ApplyReport> {
        let (plan, _) = self.make_plan(tenant, client, settings, full).await?;
        let total = plan.changes.len();
        let finished = std::sync::atomic::AtomicUsize::new(0);
        progress(0, total);
        // One account's changes in order (a line moving agreements is cancelled before it
        // is made again); accounts side by side.
        let mut groups: BTreeMap<String, Vec<Change>> = BTreeMap::new();
        for change in &plan.changes {
            groups
                .entry(account_of(change_key(change)).to_owned())
                .or_default()
                .push(change.clone());
        }
        let outcomes: Vec<Vec<Outcome>> = futures_util::stream::iter(groups.into_values())
            .map(|changes| {
                let (engine, client, settings) = (self.clone(), client.clone(), settings.clone());
                let finished = &finished;
                async move {
                    let mut out = Vec::with_capacity(changes.len());
                    let mut not_cancelled: BTreeSet<String> = BTreeSet::new();
                    for change in changes {
                        let outcome = match &change {
                            // The old line stays: making the new one would bill twice.
                            Change::Create { line, .. } if not_cancelled.contains(&line.key) => {
                                Err(EngineError::Conflict(format!(
                                    "{} was not moved: its old line could not be cancelled",
                                    line.key
                                )))
                            }
                            _ => {
                                engine
                                    .carry_out_one(tenant, &client, &settings, &change)
                                    .await
                            }
                        };
                        if let (Change::Cancel { key, .. }, Err(_)) = (&change, &outcome) {
                            not_cancelled.insert(key.clone());
                        }
                        // Recorded before the next change, so a crash leaves its audit.
                        let _ = engine.audit(run, &change, &outcome).await;
                        out.push((change, outcome));
                        let n = finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                        progress(n, total);
                    }
                    out
                }
            })
            .buffer_unordered(WRITES_AT_ONCE)
            .collect()
            .await;
        let mut done: BTreeMap<String, usize> = BTreeMap::new();
        let mut failed = Vec::new();
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
                Ok(Some(kind)) => *done.entry(kind.to_owned()).or_default() += 1,
                Ok(None) => {}
                Err(e) => {
                    refused |= matches!(&e, EngineError::ConnectWise(c) if c.kind() == connectwise_client::ErrorKind::Permission);
                    failed.push(format!("{}: {e}", change_label(&change)));
                }
            }
        }
        if refused {
            // The role changed since the last check: name what is missing now.
            let _ = self.check_connection(tenant).await;
        }
        Ok(ApplyReport {
            run_id: run,
            done,
            failed,
            plan,
        })
    }

    /// Records one change of a run in its audit.
    async fn audit(
        &self,
        run: i64,
        change: &Change,
        outcome: &Result<Option<&'static str>>,
    ) -> Result<()> {
        match outcome {
            Ok(Some(kind)) => {
                let detail = serde_json::to_string(change).unwrap_or_default();
                self.store.record_change(run, kind, &detail).await?;
            }
            Ok(None) => {}
            Err(e) => {
                let detail = json!({"change": change, "error": e.to_string()}).to_string();
                self.store.record_change(run, "failed", &detail).await?;
            }
        }
        Ok(())
    }

    /// Carries one change out; answers the audit kind, or `None` for a change only reported.
    async fn carry_out_one(
        &self,
        tenant: TenantId,
        client: &Client,
        settings: &BillingView,
        change: &Change,
    ) -> Result<Option<&'static str>> {
        let additions = |agreement: i64| client.finance().additions(agreement);
        let record = |d: &Desired, addition_id: i64, pinned: Option<String>| LineRecord {
            line_key: d.key.clone(),
            addition_id,
            agreement_id: d.agreement_id,
            company_id: d.company_id,
            quantity: d.quantity,
            description: d.description.clone(),
            bill_customer: d.bill_customer.clone(),
            cancelled: false,
            pinned,
        };
        match change {
            Change::Create { line, .. } => {
                let installation = self.store.installation_id().await?;
                let marker = plan::marker(&installation, tenant.0, &line.key);
                let body = Addition {
                    product: Some(IvItemReference {
                        id: Some(settings.product_id),
                        ..Default::default()
                    }),
                    quantity: Some(line.quantity),
                    description: Some(line.description.clone()),
                    bill_customer: Some(line.bill_customer.clone()),
                    unit_price: Some(line.unit_price),
                    serial_number: Some(marker.clone()),
                    ..Default::default()
                };
                match additions(line.agreement_id).create(&body).await {
                    Ok(made) => {
                        let id = made.id.unwrap_or_default();
                        self.store.put_line(tenant, &record(line, id, None)).await?;
                        Ok(Some("create"))
                    }
                    // The answer was lost: the addition may exist. Look for its marker.
                    Err(e) if e.maybe_applied() => {
                        let found: Vec<Addition> = additions(line.agreement_id)
                            .list()
                            .conditions(field("serialNumber").eq(marker.as_str()))
                            .send()
                            .await?;
                        let active = found.iter().find(|a| a.cancelled_date.is_none());
                        match active.and_then(|a| a.id) {
                            Some(id) => {
                                self.store.put_line(tenant, &record(line, id, None)).await?;
                                Ok(Some("adopt"))
                            }
                            None => Err(e.into()),
                        }
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Change::Update {
                addition_id, line, ..
            }
            | Change::Adopt {
                addition_id,
                line,
                needs_update: true,
            } => {
                let patch = Patch::new()
                    .replace("quantity", line.quantity)
                    .replace("description", &line.description)
                    .replace("billCustomer", &line.bill_customer)
                    .replace("unitPrice", line.unit_price);
                additions(line.agreement_id)
                    .patch(*addition_id, &patch)
                    .await?;
                self.store
                    .put_line(tenant, &record(line, *addition_id, None))
                    .await?;
                Ok(Some(if matches!(change, Change::Adopt { .. }) {
                    "adopt"
                } else {
                    "update"
                }))
            }
            Change::Adopt {
                addition_id, line, ..
            } => {
                self.store
                    .put_line(tenant, &record(line, *addition_id, None))
                    .await?;
                Ok(Some("adopt"))
            }
            Change::Cancel {
                addition_id,
                key,
                agreement_id,
                company_id,
                quantity,
            } => {
                let now = connectwise_now();
                match additions(*agreement_id)
                    .patch(*addition_id, &Patch::new().replace("cancelledDate", &now))
                    .await
                {
                    Ok(_) => {}
                    // Deleted by hand already: nothing left to cancel.
                    Err(e) if e.kind() == connectwise_client::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
                let stored = self.store.line(tenant, key).await?;
                let line = LineRecord {
                    line_key: key.clone(),
                    addition_id: *addition_id,
                    agreement_id: *agreement_id,
                    company_id: *company_id,
                    quantity: *quantity,
                    description: stored
                        .as_ref()
                        .map(|l| l.description.clone())
                        .unwrap_or_default(),
                    bill_customer: stored
                        .as_ref()
                        .map(|l| l.bill_customer.clone())
                        .unwrap_or_default(),
                    cancelled: true,
                    pinned: None,
                };
                self.store.put_line(tenant, &line).await?;
                Ok(Some("cancel"))
            }
            Change::Drift {
                addition_id,
                key,
                ours,
                theirs,
                resolution,
            } => {
                let Some(stored) = self.store.line(tenant, key).await? else {
                    return Ok(None);
                };
                match resolution {
                    DriftPolicy::Report => Ok(None),
                    DriftPolicy::Correct => {
                        let patch = Patch::new()
                            .replace("quantity", ours.0)
                            .replace("description", &ours.1)
                            .replace("billCustomer", &ours.2);
                        additions(stored.agreement_id)
                            .patch(*addition_id, &patch)
                            .await?;
                        Ok(Some("correct"))
                    }
                    DriftPolicy::Adopt => {
                        let wanted = Desired {
                            key: key.clone(),
                            account: account_of(key).to_owned(),
                            company_id: stored.company_id,
                            agreement_id: stored.agreement_id,
                            quantity: ours.0,
                            description: ours.1.clone(),
                            bill_customer: ours.2.clone(),
                            unit_price: settings.unit_price,
                        };
                        let kept = LineRecord {
                            quantity: theirs.0,
                            description: theirs.1.clone(),
                            bill_customer: theirs.2.clone(),
                            pinned: Some(plan::fingerprint(&wanted)),
                            ..stored
                        };
                        self.store.put_line(tenant, &kept).await?;
                        Ok(Some("keep-hand-edit"))
                    }
                }
            }
        }
    }
}

pub(super) fn account_of(key: &str) -> &str {
    key.split_once('/').map_or(key, |(account, _)| account)
}

/// The line key a change is about.
fn change_key(c: &Change) -> &str {
    match c {
        Change::Create { line, .. } | Change::Update { line, .. } | Change::Adopt { line, .. } => {
            &line.key
        }
        Change::Cancel { key, .. } | Change::Drift { key, .. } => key,
    }
}

pub(super) fn agreements_of(c: &Change) -> Vec<i64> {
    match c {
        Change::Create { line, .. } | Change::Update { line, .. } | Change::Adopt { line, .. } => {
            vec![line.agreement_id]
        }
        Change::Cancel { agreement_id, .. } => vec![*agreement_id],
        Change::Drift { .. } => Vec::new(),
    }
}

fn change_label(c: &Change) -> String {
    match c {
        Change::Create { line, .. } => {
            format!("create {} on agreement #{}", line.key, line.agreement_id)
        }
        Change::Update {
            line, addition_id, ..
        } => format!("update {} (addition #{addition_id})", line.key),
        Change::Cancel {
            key, addition_id, ..
        } => format!("cancel {key} (addition #{addition_id})"),
        Change::Adopt {
            line, addition_id, ..
        } => format!("adopt {} (addition #{addition_id})", line.key),
        Change::Drift { key, .. } => format!("drift on {key}"),
    }
}

/// Now, as ConnectWise writes dates: UTC, whole seconds (`2026-01-31T14:05:09Z`).
fn connectwise_now() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_the_way_connectwise_does() {
        let now = connectwise_now();
        assert_eq!(now.len(), "2026-01-31T14:05:09Z".len(), "{now}");
        assert!(now.ends_with('Z'));
    }
}
