//! The billing diff, pure: the lines that should exist against the additions the bridge owns
//! as ConnectWise has them now, giving creates, updates, cancels and drift. No I/O here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How a tenant bills (seed 004's step 2). Stored, sent and parsed as `per_unit`, `bundled`
/// or `not_billable`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Mode {
    /// Billable, one line per unit.
    PerUnit,
    /// Billable, all of an account's units on one line.
    Bundled,
    /// Lines with ConnectWise's do-not-bill setting: counts and names tracked, not invoiced.
    NotBillable,
}

impl Mode {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What to do with a line of ours that someone edited by hand in ConnectWise. Stored, sent
/// and parsed as `report`, `correct` or `adopt`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DriftPolicy {
    /// Show it in the plan; change nothing.
    Report,
    /// Write our values back.
    Correct,
    /// Keep the hand edit as the line's new state.
    Adopt,
}

impl DriftPolicy {
    /// The spelling stored and sent.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl Change {
    /// Its kind, as the plan's JSON names it.
    pub fn kind(&self) -> &'static str {
        self.into()
    }

    /// The line key it is about.
    pub fn key(&self) -> &str {
        match self {
            Change::Create { line, .. }
            | Change::Update { line, .. }
            | Change::Adopt { line, .. } => &line.key,
            Change::Cancel { key, .. } | Change::Drift { key, .. } => key,
        }
    }

    /// It in a few words, naming the line and its addition.
    pub fn label(&self) -> String {
        match self {
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
}

/// One line that should exist.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Desired {
    /// `{account}/{unit}`, or `{account}/*` for a bundle.
    pub key: String,
    /// The account it bills.
    pub account: String,
    /// The company.
    pub company_id: i64,
    /// The agreement the line belongs on.
    pub agreement_id: i64,
    /// How many units.
    pub quantity: f64,
    /// The line's description.
    pub description: String,
    /// `Billable` or `DoNotBill`.
    pub bill_customer: String,
    /// Price per unit, from the catalog.
    pub unit_price: f64,
}

/// An addition as ConnectWise has it now, that the bridge owns (by its records or marker).
#[derive(Debug, Clone, PartialEq)]
pub struct Existing {
    /// The line key it bills.
    pub key: String,
    /// The addition's id.
    pub addition_id: i64,
    /// Its agreement.
    pub agreement_id: i64,
    /// Its company.
    pub company_id: i64,
    /// Its quantity now.
    pub quantity: f64,
    /// Its description now.
    pub description: String,
    /// Its billing setting now.
    pub bill_customer: String,
    /// Whether it is cancelled in ConnectWise.
    pub cancelled: bool,
    /// What the bridge last wrote (`None` when found by marker only, e.g. after a crash).
    pub last_written: Option<(f64, String, String)>,
    /// A kept hand edit: the wanted state ([`fingerprint`]) it stands in for.
    pub pinned: Option<String>,
}

/// A line's wanted state in one string, to remember which wanted state a kept hand edit
/// stands in for.
pub fn fingerprint(d: &Desired) -> String {
    format!("{}|{}|{}", d.quantity, d.bill_customer, d.description)
}

/// One change of a plan; its kind (`create`, `update`, `cancel`, `adopt`, `drift`) is
/// [`Change::kind`].
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, strum::IntoStaticStr)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[strum(serialize_all = "camelCase")]
pub enum Change {
    /// A new addition.
    #[serde(rename_all = "camelCase")]
    Create {
        /// The line.
        line: Desired,
        /// Quantity × unit price.
        amount: f64,
    },
    /// An addition of ours to change.
    #[serde(rename_all = "camelCase")]
    Update {
        /// The addition.
        addition_id: i64,
        /// The line as it should be.
        line: Desired,
        /// The quantity it has now.
        from_quantity: f64,
        /// The description it has now.
        from_description: String,
        /// The amount after.
        amount: f64,
    },
    /// An addition of ours no longer wanted: given an end date, never deleted.
    #[serde(rename_all = "camelCase")]
    Cancel {
        /// The addition.
        addition_id: i64,
        /// Its line key.
        key: String,
        /// Its agreement.
        agreement_id: i64,
        /// Its company.
        company_id: i64,
        /// Its quantity.
        quantity: f64,
    },
    /// An addition of ours found in ConnectWise that the bridge has no record of (a create
    /// whose answer was lost): recorded as ours instead of made again.
    #[serde(rename_all = "camelCase")]
    Adopt {
        /// The addition.
        addition_id: i64,
        /// Its line.
        line: Desired,
        /// Whether the addition must also be changed to match the line.
        needs_update: bool,
    },
    /// A line of ours edited by hand in ConnectWise.
    #[serde(rename_all = "camelCase")]
    Drift {
        /// The addition.
        addition_id: i64,
        /// Its line key.
        key: String,
        /// What the bridge wrote: quantity, description, billing setting.
        ours: (f64, String, String),
        /// What ConnectWise has now.
        theirs: (f64, String, String),
        /// What the plan does about it.
        resolution: DriftPolicy,
    },
}

/// The marker a line carries in its addition's `serialNumber`, so it is recognised after a
/// crash or a lost answer: `cwb-{installation}-{tenant}-{12 hex digits of the key's
/// SHA-256}`. The installation id keeps two cwbridges on one ConnectWise apart.
pub fn marker(installation: &str, tenant: i64, key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("cwb-{installation}-{tenant}-{}", &hex::encode(digest)[..12])
}

/// The lines an account should have.
pub fn lines_for(
    mode: Mode,
    account: &str,
    units: &[String],
    product_description: &str,
    unit_price: f64,
    company_id: i64,
    agreement_id: i64,
) -> Vec<Desired> {
    let line = |key: String, quantity: f64, description: String, bill: &str| Desired {
        key,
        account: account.to_owned(),
        company_id,
        agreement_id,
        quantity,
        description: truncate(&description, 200),
        bill_customer: bill.to_owned(),
        unit_price,
    };
    match mode {
        Mode::PerUnit | Mode::NotBillable => {
            let bill = if mode == Mode::PerUnit {
                "Billable"
            } else {
                "DoNotBill"
            };
            units
                .iter()
                .map(|u| {
                    line(
                        format!("{account}/{u}"),
                        1.0,
                        format!("{product_description}: {u}"),
                        bill,
                    )
                })
                .collect()
        }
        Mode::Bundled if units.is_empty() => Vec::new(),
        Mode::Bundled => vec![line(
            format!("{account}/*"),
            units.len() as f64,
            format!(
                "{product_description}: {} ({})",
                units.len(),
                units.join(", ")
            ),
            "Billable",
        )],
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// The changes that turn `existing` (the bridge's additions as ConnectWise has them) into
/// `desired`. Lines are matched by key; a line whose agreement changed is cancelled on the
/// old agreement and created on the new one.
pub fn diff(desired: &[Desired], existing: &[Existing], policy: DriftPolicy) -> Vec<Change> {
    // One active addition per key: the one the bridge recorded wins; any other active
    // addition of ours with the same key (a duplicate) is cancelled.
    let mut by_key: BTreeMap<&str, &Existing> = BTreeMap::new();
    let mut changes = Vec::new();
    for e in existing.iter().filter(|e| !e.cancelled) {
        match by_key.get(e.key.as_str()) {
            Some(kept) if kept.last_written.is_some() || e.last_written.is_none() => {
                changes.push(cancel(e));
            }
            Some(kept) => {
                changes.push(cancel(kept));
                by_key.insert(e.key.as_str(), e);
            }
            None => {
                by_key.insert(e.key.as_str(), e);
            }
        }
    }
    for d in desired {
        let amount = d.quantity * d.unit_price;
        match by_key.remove(d.key.as_str()) {
            Some(e) if e.agreement_id == d.agreement_id => {
                let now = (e.quantity, e.description.clone(), e.bill_customer.clone());
                let wanted = (d.quantity, d.description.clone(), d.bill_customer.clone());
                let equal = |a: &(f64, String, String), b: &(f64, String, String)| {
                    same(a.0, b.0) && a.1 == b.1 && a.2 == b.2
                };
                match &e.last_written {
                    None => changes.push(Change::Adopt {
                        addition_id: e.addition_id,
                        line: d.clone(),
                        needs_update: !equal(&now, &wanted),
                    }),
                    Some(_) if equal(&now, &wanted) => {}
                    // A hand edit the tenant kept, for as long as the wanted state is unchanged.
                    Some(last)
                        if equal(&now, last) && e.pinned.as_deref() == Some(&fingerprint(d)) => {}
                    // Edited by hand since we wrote it, while what we wrote is still wanted.
                    Some(last) if !equal(&now, last) && equal(last, &wanted) => {
                        changes.push(Change::Drift {
                            addition_id: e.addition_id,
                            key: e.key.clone(),
                            ours: last.clone(),
                            theirs: now.clone(),
                            resolution: policy,
                        })
                    }
                    Some(_) => changes.push(Change::Update {
                        addition_id: e.addition_id,
                        line: d.clone(),
                        from_quantity: e.quantity,
                        from_description: e.description.clone(),
                        amount,
                    }),
                }
            }
            Some(e) => {
                changes.push(cancel(e));
                changes.push(Change::Create {
                    line: d.clone(),
                    amount,
                });
            }
            None => changes.push(Change::Create {
                line: d.clone(),
                amount,
            }),
        }
    }
    changes.extend(by_key.into_values().map(cancel));
    changes
}

fn cancel(e: &Existing) -> Change {
    Change::Cancel {
        addition_id: e.addition_id,
        key: e.key.clone(),
        agreement_id: e.agreement_id,
        company_id: e.company_id,
        quantity: e.quantity,
    }
}

#[cfg(test)]
mod tests;
