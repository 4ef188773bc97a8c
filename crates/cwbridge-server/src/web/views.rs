//! What the wizard and the status pages both show: a plan of billing changes in words, a
//! connection check as a checklist, money. One module both use, so neither page module
//! depends on the other.

use std::collections::HashMap;

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

/// A plan as the pages show it: one page of its changes, and its first problems.
#[derive(Debug, Clone)]
pub struct PlanView {
    /// This page's changes.
    pub changes: Vec<ChangeRow>,
    /// How many changes the whole plan makes.
    pub change_count: usize,
    /// Which page of changes this is, from 1, and how many there are.
    pub page: usize,
    /// How many pages of changes there are.
    pub pages: usize,
    /// The previous and next pages' addresses.
    pub previous: Option<String>,
    /// The next page's address.
    pub next: Option<String>,
    /// The first accounts that cannot be billed, and why.
    pub problems: Vec<(String, String)>,
    /// Accounts not billed beyond those listed.
    pub more_problems: usize,
    /// Accounts not billed because they are not mapped.
    pub unmapped: usize,
    /// The monthly total of the billable lines.
    pub total: String,
    /// How many lines are wanted.
    pub lines: usize,
}

/// Changes shown on one page of a plan.
pub const CHANGES_PER_PAGE: usize = 100;

/// Accounts not billed listed by name; the rest are counted.
pub const PROBLEMS_LISTED: usize = 25;

/// Page `page` (from 1) of a plan for the pages, accounts named; `href` makes a page's
/// address.
pub fn plan_view(
    plan: &Plan,
    accounts: &[AccountView],
    page: usize,
    href: impl Fn(usize) -> String,
) -> PlanView {
    let by_id: HashMap<&str, &AccountView> = accounts.iter().map(|a| (a.id.as_str(), a)).collect();
    let name = |id: &str| {
        by_id
            .get(id)
            .map_or_else(|| id.to_owned(), |a| a.name.clone())
    };
    let pages = plan.changes.len().div_ceil(CHANGES_PER_PAGE).max(1);
    let page = page.clamp(1, pages);
    let changes = plan
        .changes
        .iter()
        .skip((page - 1) * CHANGES_PER_PAGE)
        .take(CHANGES_PER_PAGE)
        .map(|c| change_row(c, &name))
        .collect();
    let unmapped = plan
        .problems
        .iter()
        .filter(|p| {
            by_id
                .get(p.account.as_str())
                .is_some_and(|a| a.mapping.is_none())
        })
        .count();
    PlanView {
        changes,
        change_count: plan.changes.len(),
        page,
        pages,
        previous: (page > 1).then(|| href(page - 1)),
        next: (page < pages).then(|| href(page + 1)),
        problems: plan
            .problems
            .iter()
            .take(PROBLEMS_LISTED)
            .map(|p| (name(&p.account), p.message.clone()))
            .collect(),
        more_problems: plan.problems.len().saturating_sub(PROBLEMS_LISTED),
        unmapped,
        total: money(plan.billable_total),
        lines: plan.lines,
    }
}

/// One change of a plan in words, its account named by `name`.
pub fn change_row(c: &Change, name: &dyn Fn(&str) -> String) -> ChangeRow {
    let account_of_key = |key: &str| name(key.rsplit_once('/').map_or(key, |(a, _)| a));
    match c {
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
                if *needs_update {
                    " and bring it up to date"
                } else {
                    ""
                }
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
                    cwbridge_engine::billing::DriftPolicy::Correct =>
                        "cwbridge's values are written back",
                    cwbridge_engine::billing::DriftPolicy::Adopt => "the edit is kept",
                }
            ),
            amount: String::new(),
        },
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
