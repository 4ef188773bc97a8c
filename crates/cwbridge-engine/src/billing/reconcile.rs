//! Planning against ConnectWise: what each mapped account's lines should be, read against
//! the agreements and additions ConnectWise holds, as a [`Plan`].

use std::collections::{BTreeSet, HashMap};

use connectwise_client::Client;
use connectwise_client::conditions::field;
use connectwise_client::models::{Addition, Agreement};
use cwbridge_store::{LineRecord, TenantId};
use futures_util::{StreamExt, TryStreamExt};

use super::apply::{Plan, Problem, READS_AT_ONCE, account_of, agreements_of, written};
use super::plan::{self, Desired, DriftPolicy, Existing};
use super::settings::BillingView;
use crate::Engine;
use crate::error::{EngineError, Result};

impl Engine {
    /// What billing would change now. `full` reads every agreement the bridge has lines on
    /// (finding hand edits everywhere); otherwise only those whose lines should change.
    pub async fn billing_plan(&self, tenant: TenantId, full: bool) -> Result<Plan> {
        let r = self.billing_plan_inner(tenant, full).await;
        self.recheck_on_403(tenant, r).await
    }

    async fn billing_plan_inner(&self, tenant: TenantId, full: bool) -> Result<Plan> {
        let client = self.client_for(tenant).await?;
        let before = client.stats().requests;
        let settings = self.billing(tenant).await?;
        let (plan, _) = self.make_plan(tenant, &client, &settings, full).await?;
        Ok(Plan {
            requests: client.stats().requests - before,
            ..plan
        })
    }

    pub(super) async fn make_plan(
        &self,
        tenant: TenantId,
        client: &Client,
        settings: &BillingView,
        full: bool,
    ) -> Result<(Plan, HashMap<i64, Vec<Addition>>)> {
        let accounts = self.store.accounts(tenant).await?;
        let mappings = self.mappings_by_account(tenant).await?;
        let lines = self.store.lines(tenant).await?;
        let mut problems = Vec::new();

        // The agreement each account's active lines are on: an incremental plan trusts it
        // (a full plan asks ConnectWise again, which is how a changed default agreement is
        // noticed).
        let mut known_agreement: HashMap<&str, (i64, i64)> = HashMap::new();
        if !full {
            for l in lines.iter().filter(|l| !l.cancelled) {
                known_agreement.insert(account_of(&l.line_key), (l.company_id, l.agreement_id));
            }
        }
        // The default agreement of each mapped company without an override or known agreement.
        let needing: BTreeSet<i64> = accounts
            .iter()
            .filter_map(|a| mappings.get(&a.external_id))
            .filter(|m| m.agreement_id.is_none())
            .filter(|m| {
                known_agreement
                    .get(m.external_id.as_str())
                    .is_none_or(|(company, _)| *company != m.company_id)
            })
            .map(|m| m.company_id)
            .collect();
        let defaults = self.default_agreements(client, settings, &needing).await?;

        let mut desired: Vec<Desired> = Vec::new();
        for a in &accounts {
            let Some(m) = mappings.get(&a.external_id) else {
                if !a.units.is_empty() {
                    problems.push(Problem {
                        account: a.external_id.clone(),
                        message: format!(
                            "`{}` is not mapped to a ConnectWise company, so it is not billed",
                            a.name
                        ),
                    });
                }
                continue;
            };
            let known = known_agreement
                .get(a.external_id.as_str())
                .filter(|(company, _)| *company == m.company_id)
                .map(|(_, agreement)| *agreement);
            let agreement = match (m.agreement_id, known) {
                (Some(id), _) => id,
                (None, Some(id)) => id,
                (None, None) => match defaults.get(&m.company_id).map(Vec::as_slice) {
                    Some([only]) => *only,
                    Some([]) | None => {
                        problems.push(Problem {
                            account: a.external_id.clone(),
                            message: format!(
                                "{} has no active agreement of type `{}`: make one in ConnectWise, or choose an agreement for this account",
                                m.company_name, settings.agreement_type_name
                            ),
                        });
                        continue;
                    }
                    Some(many) => {
                        problems.push(Problem {
                            account: a.external_id.clone(),
                            message: format!(
                                "{} has {} active agreements of type `{}` ({}): choose one for this account",
                                m.company_name,
                                many.len(),
                                settings.agreement_type_name,
                                many.iter().map(|i| format!("#{i}")).collect::<Vec<_>>().join(", ")
                            ),
                        });
                        continue;
                    }
                },
            };
            desired.extend(plan::lines_for(
                settings.mode,
                &a.external_id,
                &a.units,
                &settings.product_description,
                settings.unit_price,
                m.company_id,
                agreement,
            ));
        }
        // Accounts with a problem keep their lines as they are rather than lose them.
        let blocked: BTreeSet<&str> = problems
            .iter()
            .filter(|p| mappings.contains_key(&p.account))
            .map(|p| p.account.as_str())
            .collect();

        // What the bridge believes is in ConnectWise, to find the agreements to read.
        let believed: Vec<Existing> = lines
            .iter()
            .map(|l| Existing {
                key: l.line_key.clone(),
                addition_id: l.addition_id,
                agreement_id: l.agreement_id,
                company_id: l.company_id,
                quantity: l.quantity,
                description: l.description.clone(),
                bill_customer: l.bill_customer.clone(),
                cancelled: l.cancelled,
                last_written: Some(written(l)),
                pinned: l.pinned.clone(),
            })
            .filter(|e| !blocked.contains(account_of(&e.key)))
            .collect();
        let mut to_read: BTreeSet<i64> = BTreeSet::new();
        if full {
            to_read.extend(
                believed
                    .iter()
                    .filter(|e| !e.cancelled)
                    .map(|e| e.agreement_id),
            );
            to_read.extend(desired.iter().map(|d| d.agreement_id));
        } else {
            for c in plan::diff(&desired, &believed, DriftPolicy::Report) {
                to_read.extend(agreements_of(&c));
            }
        }

        // Read those agreements' additions and recognise ours, by id or by marker.
        let by_id: HashMap<i64, &LineRecord> = lines.iter().map(|l| (l.addition_id, l)).collect();
        let mut keys: BTreeSet<String> = desired.iter().map(|d| d.key.clone()).collect();
        keys.extend(lines.iter().map(|l| l.line_key.clone()));
        let installation = self.store.installation_id().await?;
        let our_prefix = format!("cwb-{installation}-{}-", tenant.0);
        let by_marker: HashMap<String, &String> = keys
            .iter()
            .map(|k| (plan::marker(&installation, tenant.0, k), k))
            .collect();
        let mut fetched: HashMap<i64, Vec<Addition>> = HashMap::new();
        let mut existing: Vec<Existing> = believed
            .iter()
            .filter(|e| !to_read.contains(&e.agreement_id))
            .cloned()
            .collect();
        // Read the agreements' additions, up to READS_AT_ONCE at a time.
        let reads: Vec<(i64, Vec<Addition>)> = futures_util::stream::iter(to_read.iter().copied())
            .map(|agreement| {
                let client = client.clone();
                async move {
                    let additions: Vec<Addition> = client
                        .finance()
                        .additions(agreement)
                        .list()
                        .page_size(1000)
                        .stream()
                        .try_collect()
                        .await?;
                    Ok::<_, EngineError>((agreement, additions))
                }
            })
            .buffer_unordered(READS_AT_ONCE)
            .try_collect()
            .await?;
        for (agreement, additions) in reads {
            for a in &additions {
                let Some(id) = a.id else { continue };
                let line = by_id.get(&id).copied();
                let key = match (
                    line,
                    a.serial_number.as_ref().and_then(|s| by_marker.get(s)),
                ) {
                    (Some(l), _) => l.line_key.clone(),
                    (None, Some(k)) => (*k).clone(),
                    // Ours (our marker) but for a line no longer known — e.g. made just before
                    // a crash, its unit removed since: a key nothing wants, so it is cancelled.
                    (None, None)
                        if a.serial_number
                            .as_deref()
                            .is_some_and(|s| s.starts_with(&our_prefix)) =>
                    {
                        format!("?/{}", a.serial_number.as_deref().unwrap_or_default())
                    }
                    (None, None) => continue, // not ours: never touched
                };
                if blocked.contains(account_of(&key)) {
                    continue;
                }
                existing.push(Existing {
                    key,
                    addition_id: id,
                    agreement_id: agreement,
                    company_id: line.map_or(0, |l| l.company_id),
                    quantity: a.quantity.unwrap_or(0.0),
                    description: a.description.clone().unwrap_or_default(),
                    bill_customer: a.bill_customer.clone().unwrap_or_default(),
                    cancelled: a.cancelled_date.is_some()
                        || a.agreement_status.as_deref() == Some("Cancelled"),
                    last_written: line.map(written),
                    pinned: line.and_then(|l| l.pinned.clone()),
                });
            }
            fetched.insert(agreement, additions);
        }
        let desired: Vec<Desired> = desired
            .into_iter()
            .filter(|d| !blocked.contains(d.account.as_str()))
            .collect();
        let billable_total = desired
            .iter()
            .filter(|d| d.bill_customer == "Billable")
            .map(|d| d.quantity * d.unit_price)
            .sum();
        let lines_wanted = desired.len();
        let changes = plan::diff(&desired, &existing, settings.drift_policy);
        Ok((
            Plan {
                changes,
                problems,
                billable_total,
                lines: lines_wanted,
                requests: 0,
            },
            fetched,
        ))
    }

    /// Each company's active agreements of the default type (100 companies a request).
    async fn default_agreements(
        &self,
        client: &Client,
        settings: &BillingView,
        companies: &BTreeSet<i64>,
    ) -> Result<HashMap<i64, Vec<i64>>> {
        let mut out: HashMap<i64, Vec<i64>> = companies.iter().map(|c| (*c, Vec::new())).collect();
        let ids: Vec<i64> = companies.iter().copied().collect();
        let type_id = settings.agreement_type_id;
        let chunks: Vec<Vec<i64>> = ids.chunks(100).map(<[i64]>::to_vec).collect();
        // Owned inputs for each request: the futures run side by side inside handlers that
        // must be `Send` for any lifetime.
        let batches: Vec<Vec<Agreement>> = futures_util::stream::iter(chunks)
            .map(|chunk| {
                let client = client.clone();
                async move {
                    client
                        .finance()
                        .agreements()
                        .list()
                        .conditions(
                            field("company/id")
                                .in_list(chunk)
                                .and(field("type/id").eq(type_id))
                                .and(field("cancelledFlag").eq(false)),
                        )
                        .page_size(1000)
                        .stream()
                        .try_collect::<Vec<Agreement>>()
                        .await
                }
            })
            .buffer_unordered(READS_AT_ONCE)
            .try_collect()
            .await?;
        for a in batches.into_iter().flatten() {
            let active = !matches!(
                a.agreement_status.as_deref(),
                Some("Cancelled" | "Expired" | "Inactive")
            );
            if let (true, Some(id), Some(company)) =
                (active, a.id, a.company.as_ref().and_then(|c| c.id))
            {
                out.entry(company).or_default().push(id);
            }
        }
        Ok(out)
    }
}
