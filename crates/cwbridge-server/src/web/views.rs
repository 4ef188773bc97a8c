//! What the wizard and the status pages both show: a plan of billing changes in words, a
//! connection check as a checklist, money. One module both use, so neither page module
//! depends on the other.

use cwbridge_engine::CheckReport;
use cwbridge_engine::account::AccountView;
use cwbridge_engine::billing::Change;
use cwbridge_engine::billing::apply::Plan;
use cwbridge_engine::preflight::Status;

use super::when;

/// One change of a plan, in words.
#[derive(Debug, Clone)]
pub struct ChangeRow {
    /// `create`, `update`, `cancel`, `adopt` or `drift`.
    pub kind: &'static str,
    /// The account's name (or id).
    pub account: String,
    /// What happens.
    pub detail: String,
    /// The monthly amount after, when the change has one.
    pub amount: String,
}

/// A plan as the pages show it.
#[derive(Debug, Clone)]
pub struct PlanView {
    /// The changes.
    pub changes: Vec<ChangeRow>,
    /// Accounts that cannot be billed, and why.
    pub problems: Vec<(String, String)>,
    /// The monthly total of the billable lines.
    pub total: String,
    /// How many lines are wanted.
    pub lines: usize,
}

/// A plan for the pages, accounts named.
pub fn plan_view(plan: &Plan, accounts: &[AccountView]) -> PlanView {
    let name = |id: &str| {
        accounts
            .iter()
            .find(|a| a.id == id)
            .map_or_else(|| id.to_owned(), |a| a.name.clone())
    };
    let account_of_key = |key: &str| name(key.rsplit_once('/').map_or(key, |(a, _)| a));
    let changes = plan
        .changes
        .iter()
        .map(|c| match c {
            Change::Create { line, amount } => ChangeRow {
                kind: "create",
                account: name(&line.account),
                detail: format!(
                    "Add “{}”, quantity {}, to agreement #{} ({})",
                    line.description,
                    line.quantity,
                    line.agreement_id,
                    bill_words(&line.bill_customer)
                ),
                amount: money(*amount),
            },
            Change::Update {
                addition_id,
                line,
                from_quantity,
                from_description,
                amount,
            } => ChangeRow {
                kind: "update",
                account: name(&line.account),
                detail: if *from_quantity != line.quantity {
                    format!(
                        "Change addition #{addition_id}: quantity {from_quantity} → {}",
                        line.quantity
                    )
                } else {
                    format!(
                        "Change addition #{addition_id}: “{from_description}” → “{}”",
                        line.description
                    )
                },
                amount: money(*amount),
            },
            Change::Cancel {
                addition_id,
                key,
                agreement_id,
                quantity,
                ..
            } => ChangeRow {
                kind: "cancel",
                account: account_of_key(key),
                detail: format!(
                    "Cancel addition #{addition_id} (quantity {quantity}) on agreement #{agreement_id}: it is given an end date, never deleted"
                ),
                amount: String::new(),
            },
            Change::Adopt {
                addition_id,
                line,
                needs_update,
            } => ChangeRow {
                kind: "adopt",
                account: name(&line.account),
                detail: format!(
                    "Record addition #{addition_id}, found in ConnectWise, as cwbridge's{}",
                    if *needs_update { " and bring it up to date" } else { "" }
                ),
                amount: String::new(),
            },
            Change::Drift {
                addition_id,
                key,
                ours,
                theirs,
                resolution,
            } => ChangeRow {
                kind: "drift",
                account: account_of_key(key),
                detail: format!(
                    "Addition #{addition_id} was edited in ConnectWise (quantity {} → {}, “{}” → “{}”): {}",
                    ours.0,
                    theirs.0,
                    ours.1,
                    theirs.1,
                    match resolution {
                        cwbridge_engine::billing::DriftPolicy::Report => "reported, left alone",
                        cwbridge_engine::billing::DriftPolicy::Correct => "cwbridge's values are written back",
                        cwbridge_engine::billing::DriftPolicy::Adopt => "the edit is kept",
                    }
                ),
                amount: String::new(),
            },
        })
        .collect();
    PlanView {
        changes,
        problems: plan
            .problems
            .iter()
            .map(|p| (name(&p.account), p.message.clone()))
            .collect(),
        total: money(plan.billable_total),
        lines: plan.lines,
    }
}

fn bill_words(bill: &str) -> &'static str {
    if bill == "Billable" {
        "billable"
    } else {
        "not billed"
    }
}

/// A permission of the role, as the checklist shows it.
#[derive(Debug, Clone)]
pub struct PermissionRow {
    /// `Companies → Company Maintenance`.
    pub module: String,
    /// `Inquire Level → All`.
    pub level: String,
    /// `granted`, `missing` or `unverified`.
    pub status: &'static str,
    /// What to change, or why it could not be told.
    pub detail: String,
}

/// A check as the pages show it.
#[derive(Debug, Clone)]
pub struct CheckView {
    /// Whether it passed.
    pub ok: bool,
    /// When.
    pub when: String,
    /// Its steps: name, passed, message, hints.
    pub steps: Vec<(String, bool, String, Vec<String>)>,
    /// The permissions.
    pub permissions: Vec<PermissionRow>,
    /// ConnectWise's codebase.
    pub codebase: String,
    /// ConnectWise's version.
    pub version: String,
}

/// A check report for the pages.
pub fn check_view(c: &CheckReport) -> CheckView {
    CheckView {
        ok: c.ok,
        when: when(c.checked_at),
        steps: c
            .steps
            .iter()
            .map(|s| (s.name.clone(), s.ok, s.message.clone(), s.hints.clone()))
            .collect(),
        permissions: c
            .permissions
            .iter()
            .map(|p| PermissionRow {
                module: format!("{} → {}", p.module, p.function),
                level: format!("{:?} Level → {}", p.action, p.level),
                status: match p.status {
                    Status::Granted => "granted",
                    Status::Missing => "missing",
                    Status::Unverified => "unverified",
                },
                detail: p.detail.clone(),
            })
            .collect(),
        codebase: c.codebase.clone().unwrap_or_default(),
        version: c.version.clone().unwrap_or_default(),
    }
}

/// Money as the pages show it.
pub fn money(v: f64) -> String {
    // Rounded to cents first, so a float sum a hair below zero prints "0.00", not "-0.00".
    let cents = (v * 100.0).round();
    let cents = if cents == 0.0 { 0.0 } else { cents };
    format!("{:.2}", cents / 100.0)
}
