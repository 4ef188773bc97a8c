//! Carrying a plan out (the plan itself is made in `reconcile.rs`).
//!
//! A plan reads only what it must: the agreements of the companies involved (in batches of
//! 100 companies a request) and the additions of the agreements whose lines may change —
//! every agreement with lines on a full run, only those where the wanted lines differ from
//! what the bridge last wrote otherwise. Applying plans again under the tenant's run lock and
//! carries each change out, recording it before moving on; a create whose answer is lost is
//! found again by its marker instead of made twice, so a crash or a re-run never duplicates
//! a line.

use std::collections::BTreeMap;

use connectwise_client::Client;
use connectwise_client::Patch;
use connectwise_client::conditions::field;
use connectwise_client::models::{Addition, IvItemReference};
use cwbridge_store::{LineRecord, TenantId};
use serde::Serialize;

use super::effect::{Effect, LineState};
use super::plan::{self, Change, Desired, DriftPolicy};
use super::run::{Context, Done, Outcome, RunReport, Step};
use crate::Engine;
use crate::error::{EngineError, Result};

/// Agreements read from ConnectWise at once while planning.
pub(super) const READS_AT_ONCE: usize = 16;

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

impl RunReport for ApplyReport {
    fn tally(&self) -> (&BTreeMap<String, usize>, usize) {
        (&self.done, self.failed.len())
    }

    fn set_requests(&mut self, requests: u64) {
        self.plan.requests = requests;
    }
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
        let settings = self.billing(tenant).await?;
        self.locked_run(tenant, None, |client, run| async move {
            let (plan, fetched) = self.make_plan(tenant, &client, &settings, full).await?;
            let steps = plan
                .changes
                .iter()
                .map(|change| Step {
                    change: change.clone(),
                    reverts: None,
                })
                .collect();
            let context = Context {
                settings: Some(settings),
                fetched,
            };
            let tally = self
                .carry_out_steps(tenant, &client, &context, run, steps, progress)
                .await;
            Ok(ApplyReport {
                run_id: run,
                done: tally.done,
                failed: tally.failed,
                plan,
            })
        })
        .await
    }

    /// Carries one change of a plan out; answers what it did, or `None` for a change only
    /// reported.
    pub(super) async fn carry_out_one(
        &self,
        tenant: TenantId,
        client: &Client,
        context: &Context,
        change: &Change,
    ) -> Outcome {
        let settings = context
            .settings
            .as_ref()
            .ok_or_else(|| EngineError::NotFound("no billing settings".into()))?;
        let additions = |agreement: i64| client.finance().additions(agreement);
        // What the change found: the addition as read while planning.
        let found = |agreement: i64, id: i64| context.found(agreement, id).map(LineState::of);
        match change {
            Change::Create { line, .. } => {
                let marker = self.marker(tenant, &line.key).await?;
                let fresh = LineState {
                    product_id: Some(settings.product_id),
                    quantity: line.quantity,
                    description: line.description.clone(),
                    bill_customer: line.bill_customer.clone(),
                    unit_price: Some(line.unit_price),
                    cancelled: false,
                };
                let (id, adopted) =
                    create_addition(client, line.agreement_id, &addition_of(&fresh, marker))
                        .await?;
                self.store.put_line(tenant, &record(line, id)).await?;
                let made = Effect::new(
                    &line.key,
                    (id, line.agreement_id, line.company_id),
                    None,
                    fresh,
                );
                let kind = if adopted { "adopt" } else { "create" };
                Ok(Some(Done::new(kind, Some(made))))
            }
            Change::Update {
                addition_id, line, ..
            }
            | Change::Adopt {
                addition_id,
                line,
                needs_update: true,
            } => {
                let before = found(line.agreement_id, *addition_id);
                let patch = Patch::new()
                    .replace("quantity", line.quantity)
                    .replace("description", &line.description)
                    .replace("billCustomer", &line.bill_customer)
                    .replace("unitPrice", line.unit_price);
                additions(line.agreement_id)
                    .patch(*addition_id, &patch)
                    .await?;
                self.store
                    .put_line(tenant, &record(line, *addition_id))
                    .await?;
                let kind = if matches!(change, Change::Adopt { .. }) {
                    "adopt"
                } else {
                    "update"
                };
                let made = before.map(|b| {
                    let after = b.billing(line);
                    Effect::new(
                        &line.key,
                        (*addition_id, line.agreement_id, line.company_id),
                        Some(b),
                        after,
                    )
                });
                Ok(Some(Done::new(kind, made)))
            }
            Change::Adopt {
                addition_id, line, ..
            } => {
                self.store
                    .put_line(tenant, &record(line, *addition_id))
                    .await?;
                // Nothing written to ConnectWise: an undo has nothing to put back.
                let made = found(line.agreement_id, *addition_id).map(|b| {
                    Effect::new(
                        &line.key,
                        (*addition_id, line.agreement_id, line.company_id),
                        Some(b.clone()),
                        b,
                    )
                });
                Ok(Some(Done::new("adopt", made)))
            }
            Change::Cancel {
                addition_id,
                key,
                agreement_id,
                company_id,
                quantity,
            } => {
                let before = found(*agreement_id, *addition_id);
                cancel_addition(client, *agreement_id, *addition_id).await?;
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
                let made = before.map(|b| {
                    let after = b.cancelled(true);
                    Effect::new(
                        key,
                        (*addition_id, *agreement_id, *company_id),
                        Some(b),
                        after,
                    )
                });
                Ok(Some(Done::new("cancel", made)))
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
                        let before = found(stored.agreement_id, *addition_id);
                        let patch = Patch::new()
                            .replace("quantity", ours.0)
                            .replace("description", &ours.1)
                            .replace("billCustomer", &ours.2);
                        additions(stored.agreement_id)
                            .patch(*addition_id, &patch)
                            .await?;
                        // The bridge's record stays at what it wrote: undone, the hand edit
                        // shows as drift again.
                        let made = before.map(|b| {
                            let after = LineState {
                                quantity: ours.0,
                                description: ours.1.clone(),
                                bill_customer: ours.2.clone(),
                                ..b.clone()
                            };
                            Effect {
                                recorded: false,
                                ..Effect::new(
                                    key,
                                    (*addition_id, stored.agreement_id, stored.company_id),
                                    Some(b),
                                    after,
                                )
                            }
                        });
                        Ok(Some(Done::new("correct", made)))
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
                        Ok(Some(Done::new("keep-hand-edit", None)))
                    }
                }
            }
        }
    }

    /// The marker a line of this tenant carries in its addition's `serialNumber`.
    pub(super) async fn marker(&self, tenant: TenantId, key: &str) -> Result<String> {
        let installation = self.store.installation_id().await?;
        Ok(plan::marker(&installation, tenant.0, key))
    }
}

/// The bridge's record of a line it has just written.
pub(super) fn record(d: &Desired, addition_id: i64) -> LineRecord {
    LineRecord {
        line_key: d.key.clone(),
        addition_id,
        agreement_id: d.agreement_id,
        company_id: d.company_id,
        quantity: d.quantity,
        description: d.description.clone(),
        bill_customer: d.bill_customer.clone(),
        cancelled: false,
        pinned: None,
    }
}

/// A new addition with `state`'s values, carrying `marker`.
pub(super) fn addition_of(state: &LineState, marker: String) -> Addition {
    Addition {
        product: state.product_id.map(|id| IvItemReference {
            id: Some(id),
            ..Default::default()
        }),
        quantity: Some(state.quantity),
        description: Some(state.description.clone()),
        bill_customer: Some(state.bill_customer.clone()),
        unit_price: state.unit_price,
        serial_number: Some(marker),
        ..Default::default()
    }
}

/// Makes `body` (which carries its line's marker) on an agreement; answers its id and whether
/// it was found rather than made: a create whose answer is lost is looked for by its marker
/// instead of made twice.
pub(super) async fn create_addition(
    client: &Client,
    agreement: i64,
    body: &Addition,
) -> Result<(i64, bool)> {
    let additions = client.finance().additions(agreement);
    match additions.create(body).await {
        Ok(made) => Ok((made.id.unwrap_or_default(), false)),
        Err(e) if e.maybe_applied() => {
            let marker = body.serial_number.as_deref().unwrap_or_default();
            let found: Vec<Addition> = additions
                .list()
                .conditions(field("serialNumber").eq(marker))
                .send()
                .await?;
            let active = found.iter().find(|a| a.cancelled_date.is_none());
            match active.and_then(|a| a.id) {
                Some(id) => Ok((id, true)),
                None => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Gives an addition an end date (never deleted); one deleted by hand already is left so.
pub(super) async fn cancel_addition(client: &Client, agreement: i64, addition: i64) -> Result<()> {
    let now = connectwise_now();
    let patch = Patch::new().replace("cancelledDate", &now);
    match client
        .finance()
        .additions(agreement)
        .patch(addition, &patch)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == connectwise_client::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

pub(super) fn account_of(key: &str) -> &str {
    key.split_once('/').map_or(key, |(account, _)| account)
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
