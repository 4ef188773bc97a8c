//! Each hand-written resource's rules — the defaults and checks ConnectWise applies when a
//! record is made or changed — named by its entry in the resource table
//! (`Resource::rules`).

use serde_json::{Value, json};

use crate::entity::{Actor, reference_to};
use crate::error::FieldError;
use crate::record::Val;
use crate::resources::{self as res, Resource};
use crate::store::{Data, Entity};

/// A resource's rules.
pub type Rules = fn(&mut Ctx<'_>);

/// What rules read and write while a record is made or changed.
pub struct Ctx<'a> {
    /// Every collection, to read defaults and referenced records.
    pub data: &'a Data,
    /// The resource written.
    pub resource: &'a Resource,
    /// The parent's id (0 for top-level collections).
    pub parent: i64,
    /// The record being made.
    pub out: &'a mut Entity,
    /// The stored record, on PUT and PATCH.
    pub existing: Option<&'a Entity>,
    /// Who writes.
    pub actor: &'a Actor,
    /// Problems found, each naming its field.
    pub errors: &'a mut Vec<FieldError>,
    /// Now, as ConnectWise writes dates.
    pub now: String,
}

impl Ctx<'_> {
    /// Copies `field` from the stored record, when there is one.
    fn keep(&mut self, field: &str) {
        if let Some(v) = self.existing.and_then(|e| e.get(field)) {
            self.out.insert(field.to_owned(), v.clone());
        }
    }

    /// Refuses `field` with `message`.
    fn invalid(&mut self, field: &str, message: &str) {
        self.errors.push(FieldError::new(
            "InvalidField",
            self.resource.resource,
            field,
            message,
        ));
    }
}

/// Sets `field` when the record has no value for it.
fn set_default(out: &mut Entity, field: &str, value: Value) {
    if crate::entity::is_empty(out.get(field)) {
        out.insert(field.to_owned(), value);
    }
}

/// The collection's record marked default (else the first by sort order, then id).
fn find_default<'d>(
    data: &'d Data,
    key: &str,
    parent: i64,
) -> Option<(i64, &'d crate::record::Record)> {
    data.children(key, parent).min_by_key(|(id, e)| {
        (
            e.get("defaultFlag") != Some(&Val::Bool(true)),
            e.get("sortOrder").and_then(Val::as_i64).unwrap_or(i64::MAX),
            *id,
        )
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A company gets the default status, and is neither deleted nor a lead.
pub fn companies(c: &mut Ctx<'_>) {
    if c.out.get("status").is_none()
        && let Some((id, e)) = find_default(c.data, res::COMPANY_STATUSES, 0)
    {
        c.out
            .insert("status".into(), reference_to(res::COMPANY_STATUSES, id, e));
    }
    set_default(c.out, "deletedFlag", json!(false));
    set_default(c.out, "leadFlag", json!(false));
}

/// An agreement starts active today, with no end, billed to its company, billing what its type
/// bills.
pub fn agreements(c: &mut Ctx<'_>) {
    set_default(c.out, "agreementStatus", json!("Active"));
    set_default(c.out, "cancelledFlag", json!(false));
    set_default(c.out, "startDate", json!(c.now));
    set_default(c.out, "noEndingDateFlag", json!(true));
    if let Some(company) = c.out.get("company").cloned() {
        set_default(c.out, "billToCompany", company);
    }
    if let Some(t) = c
        .out
        .get("type")
        .and_then(|t| t.get("id"))
        .and_then(Value::as_i64)
        .and_then(|id| c.data.get(res::AGREEMENT_TYPES, 0, id))
    {
        for k in ["billTime", "billExpenses", "billProducts"] {
            if let Some(v) = t.get(k) {
                set_default(c.out, k, v.to_value());
            }
        }
    }
}

/// An addition takes its product's prices and descriptions, its extended price, cost and
/// margin, and its agreement's status; it cannot be cancelled before it took effect.
pub fn additions(c: &mut Ctx<'_>) {
    let product = c
        .out
        .get("product")
        .and_then(|p| p.get("id"))
        .and_then(Value::as_i64)
        .and_then(|id| c.data.get(res::CATALOG, 0, id));
    if let Some(p) = product {
        for (to, from) in [
            ("unitPrice", "price"),
            ("unitCost", "cost"),
            ("description", "description"),
            ("invoiceDescription", "customerDescription"),
        ] {
            if let Some(v) = p.get(from) {
                set_default(c.out, to, v.to_value());
            }
        }
    }
    set_default(c.out, "quantity", json!(1));
    set_default(c.out, "lessIncluded", json!(0));
    set_default(c.out, "effectiveDate", json!(c.now));
    set_default(c.out, "taxableFlag", json!(false));
    let num = |k: &str| c.out.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let billable = num("quantity") - num("lessIncluded");
    let ext_price = billable * num("unitPrice");
    let ext_cost = billable * num("unitCost");
    c.out.insert("extPrice".into(), json!(round2(ext_price)));
    c.out.insert("extCost".into(), json!(round2(ext_cost)));
    c.out
        .insert("margin".into(), json!(round2(ext_price - ext_cost)));
    let status = c
        .data
        .get(res::AGREEMENTS_KEY, 0, c.parent)
        .and_then(|a| a.get("agreementStatus").map(Val::to_value))
        .unwrap_or(json!("Active"));
    c.out.insert("agreementStatus".into(), status);
    if let (Some(eff), Some(cancel)) = (
        c.out.get("effectiveDate").and_then(Value::as_str),
        c.out.get("cancelledDate").and_then(Value::as_str),
    ) && cancel < eff
    {
        c.invalid(
            "cancelledDate",
            "cancelledDate must not be before effectiveDate",
        );
    }
}

/// A ticket: summaries of at most 100 characters, the board's default status and the default
/// priority, closed with its status (who and when kept while it stays closed), and its first
/// note only on create.
pub fn tickets(c: &mut Ctx<'_>) {
    if let Some(s) = c.out.get("summary").and_then(Value::as_str)
        && s.chars().count() > 100
    {
        c.invalid("summary", "summary must be at most 100 characters");
    }
    let board = c
        .out
        .get("board")
        .and_then(|b| b.get("id"))
        .and_then(Value::as_i64);
    if let Some(board) = board {
        if c.out.get("status").is_none()
            && let Some((id, e)) = find_default(c.data, res::BOARD_STATUSES, board)
        {
            c.out
                .insert("status".into(), reference_to(res::BOARD_STATUSES, id, e));
        }
        let closed = c
            .out
            .get("status")
            .and_then(|s| s.get("id"))
            .and_then(Value::as_i64)
            .and_then(|id| c.data.get(res::BOARD_STATUSES, board, id))
            .and_then(|s| s.get("closedStatus"))
            .and_then(Val::as_bool)
            .unwrap_or(false);
        let was_closed = c
            .existing
            .and_then(|e| e.get("closedFlag"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        c.out.insert("closedFlag".into(), json!(closed));
        if closed && was_closed {
            c.keep("closedDate");
            c.keep("closedBy");
        } else if closed {
            c.out.insert("closedDate".into(), json!(c.now));
            c.out.insert("closedBy".into(), json!(c.actor.identifier));
        }
    }
    if c.out.get("priority").is_none()
        && let Some((id, e)) = find_default(c.data, res::PRIORITIES, 0)
    {
        c.out
            .insert("priority".into(), reference_to(res::PRIORITIES, id, e));
    }
    set_default(c.out, "recordType", json!("ServiceTicket"));
    set_default(c.out, "severity", json!("Medium"));
    set_default(c.out, "impact", json!("Medium"));
    if c.existing.is_some() {
        // The first note is made once, on create.
        c.out.remove("initialDescription");
        c.out.remove("initialInternalAnalysis");
        c.out.remove("initialResolution");
    }
}

/// A note shows in at least one place, and is the API member's unless a member or contact is
/// named on it (seed 000's quirk).
pub fn notes(c: &mut Ctx<'_>) {
    let flags = [
        "detailDescriptionFlag",
        "internalAnalysisFlag",
        "resolutionFlag",
    ];
    if !flags
        .iter()
        .any(|f| c.out.get(*f).and_then(Value::as_bool) == Some(true))
    {
        c.invalid("detailDescriptionFlag", "At least one of detailDescriptionFlag, internalAnalysisFlag or resolutionFlag must be true");
    }
    for f in flags {
        set_default(c.out, f, json!(false));
    }
    set_default(c.out, "internalFlag", json!(false));
    set_default(c.out, "externalFlag", json!(false));
    // Seed 000's quirk: a note written through the API is the API member's unless
    // a member or contact is named on it.
    if c.out.get("member").is_none()
        && c.out.get("contact").is_none()
        && let Some(m) = c.data.get(res::MEMBERS, 0, c.actor.member_id)
    {
        c.out.insert(
            "member".into(),
            reference_to(res::MEMBERS, c.actor.member_id, m),
        );
    }
    match c.existing {
        Some(_) => {
            c.keep("createdBy");
            c.keep("dateCreated");
        }
        None => {
            c.out.insert("createdBy".into(), json!(c.actor.identifier));
            c.out.insert("dateCreated".into(), json!(c.now));
        }
    }
}

/// A member's display defaults, license class and level.
pub fn members(c: &mut Ctx<'_>) {
    for (k, v) in [
        (
            "agreementInvoicingDisplayOptions",
            "RemainOnInvoicingScreen",
        ),
        ("invoicingDisplayOptions", "RemainOnInvoicingScreen"),
        ("defaultEmail", "Office"),
        ("defaultPhone", "Office"),
        ("invoiceScreenDefaultTabFormat", "ShowInvoicingTab"),
        ("licenseClass", "F"),
    ] {
        set_default(c.out, k, json!(v));
    }
    set_default(
        c.out,
        "structureLevel",
        json!({"id": 1, "name": "Corporate"}),
    );
    set_default(c.out, "inactiveFlag", json!(false));
    set_default(c.out, "adminFlag", json!(false));
}

/// A role is neither an admin role nor inactive unless said.
pub fn roles(c: &mut Ctx<'_>) {
    set_default(c.out, "adminFlag", json!(false));
    set_default(c.out, "inactiveFlag", json!(false));
}

/// A role setting keeps what names its module and function; levels not given are None.
pub fn role_settings(c: &mut Ctx<'_>) {
    for k in [
        "moduleName",
        "moduleFunctionName",
        "moduleIdentifier",
        "moduleFunctionIdentifier",
        "moduleDescription",
        "moduleFunctionDescription",
        "sortOrder",
        "customFlag",
        "myAllFlag",
        "reportFlag",
        "restrictFlag",
    ] {
        c.keep(k);
    }
    for k in ["addLevel", "editLevel", "deleteLevel", "inquireLevel"] {
        set_default(c.out, k, json!("None"));
    }
}

/// A callback belongs to the member who registers it, for a ticket, company or agreement.
pub fn callbacks(c: &mut Ctx<'_>) {
    set_default(c.out, "objectId", json!(0));
    set_default(c.out, "level", json!("owner"));
    set_default(c.out, "inactiveFlag", json!(false));
    set_default(c.out, "payloadVersion", json!("2.0"));
    c.out.insert("memberId".into(), json!(c.actor.member_id));
    if let Some(t) = c.out.get("type").and_then(Value::as_str)
        && !["ticket", "company", "agreement"].contains(&t.to_ascii_lowercase().as_str())
    {
        c.invalid("type", "type must be ticket, company or agreement");
    }
}

/// Boards, catalog items, agreement types and company types are active unless said.
pub fn active_by_default(c: &mut Ctx<'_>) {
    set_default(c.out, "inactiveFlag", json!(false));
}

/// A board status is open, active and not the default unless said.
pub fn board_statuses(c: &mut Ctx<'_>) {
    set_default(c.out, "closedStatus", json!(false));
    set_default(c.out, "inactive", json!(false));
    set_default(c.out, "defaultFlag", json!(false));
}
