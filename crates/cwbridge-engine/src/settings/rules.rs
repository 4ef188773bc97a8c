//! What the engine can tell of a document without asking anyone: every input bounded, no
//! list naming one thing twice, values the engine takes. The document comes back as it
//! would be stored (trimmed, defaults filled in, route types sorted), so comparing it with
//! what is stored compares like with like.

use std::collections::HashMap;

use super::document::{
    BillingSection, ConnectionSection, MappingEntry, PolicyEntry, RouteEntry, SettingsDocument,
    TicketsSection,
};
use crate::alert::{AlertPolicyInput, DEFAULT_SIGNATURE, checked_policy};
use crate::billing::settings::MAX_SCHEDULE_HOURS;
use crate::error::{EngineError, Result};
use crate::forwarding::{self, Route};
use crate::{ConnectionInput, Limits};

/// The most characters of a name or identifier (a product, a board, a company…).
pub const MAX_NAME_CHARS: usize = 200;

/// The most characters of the ticket signature.
pub const MAX_SIGNATURE_CHARS: usize = 100;

/// The most alert-type policies a document sets.
pub const MAX_POLICIES: usize = 1_000;

/// `value` trimmed, refused (naming `field`) when longer than `max` characters or, when
/// `required`, blank.
fn text(field: &str, value: &str, max: usize, required: bool) -> Result<String> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(EngineError::invalid(field, "may not be empty"));
    }
    if value.chars().count() > max {
        return Err(EngineError::invalid(
            field,
            format!("at most {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// An optional name, trimmed; blank is none.
fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    let value = text(field, value.unwrap_or_default(), max, false)?;
    Ok((!value.is_empty()).then_some(value))
}

/// A ConnectWise id: a whole number from 1.
fn id(field: &str, value: Option<i64>) -> Result<Option<i64>> {
    match value {
        Some(n) if n < 1 => Err(EngineError::invalid(
            field,
            "a ConnectWise id is a whole number from 1",
        )),
        other => Ok(other),
    }
}

/// Refuses a list longer than `max`.
fn at_most<T>(field: &str, list: &[T], max: usize, what: &str) -> Result<()> {
    if list.len() > max {
        return Err(EngineError::invalid(
            field,
            format!("at most {max} {what}; this document has {}", list.len()),
        ));
    }
    Ok(())
}

/// Remembers keys met in a list, refusing one met before (naming both places).
struct Once<'a> {
    list: &'a str,
    key: &'a str,
    seen: HashMap<String, usize>,
}

impl<'a> Once<'a> {
    fn new(list: &'a str, key: &'a str) -> Once<'a> {
        Once {
            list,
            key,
            seen: HashMap::new(),
        }
    }

    fn add(&mut self, i: usize, value: &str) -> Result<()> {
        match self.seen.insert(value.to_owned(), i) {
            Some(first) => Err(EngineError::invalid(
                &format!("{}[{i}].{}", self.list, self.key),
                format!(
                    "`{value}` is listed twice (also {}[{first}]); list it once",
                    self.list
                ),
            )),
            None => Ok(()),
        }
    }
}

/// The document checked and as it would be stored; `client_id` is the bridge's own, which
/// a connection without one gets.
pub(crate) fn checked(
    doc: &SettingsDocument,
    limits: &Limits,
    client_id: Option<&str>,
) -> Result<SettingsDocument> {
    Ok(SettingsDocument {
        connection: doc
            .connection
            .as_ref()
            .map(|c| connection(c, client_id))
            .transpose()
            .map_err(|e| e.within("connection"))?,
        billing: doc
            .billing
            .as_ref()
            .map(billing)
            .transpose()
            .map_err(|e| e.within("billing"))?,
        tickets: doc
            .tickets
            .as_ref()
            .map(tickets)
            .transpose()
            .map_err(|e| e.within("tickets"))?,
        mappings: doc
            .mappings
            .as_deref()
            .map(|m| mappings(m, limits))
            .transpose()?,
        alert_routes: doc
            .alert_routes
            .as_deref()
            .map(|r| routes(r, limits))
            .transpose()?,
        alert_policies: doc
            .alert_policies
            .as_deref()
            .map(|p| policies(p, limits))
            .transpose()?,
    })
}

/// The connection checked as the API checks a connection (its private key aside: a document
/// holds none, and the clientId may be the bridge's own).
fn connection(c: &ConnectionSection, default_client_id: Option<&str>) -> Result<ConnectionSection> {
    let input = ConnectionInput {
        site: c.site.clone(),
        company_id: c.company_id.clone(),
        public_key: c.public_key.clone(),
        private_key: String::new(),
        client_id: c.client_id.clone(),
    };
    crate::connection::validate(&input, true, true)?;
    Ok(ConnectionSection {
        site: c.site.trim().to_owned(),
        company_id: c.company_id.trim().to_owned(),
        public_key: c.public_key.trim().to_owned(),
        client_id: match c.client_id.trim() {
            "" => default_client_id.unwrap_or_default().to_owned(),
            given => given.to_owned(),
        },
    })
}

fn billing(b: &BillingSection) -> Result<BillingSection> {
    if b.schedule_hours > MAX_SCHEDULE_HOURS {
        return Err(EngineError::invalid(
            "scheduleHours",
            format!("give whole hours from 0 (on demand only) to {MAX_SCHEDULE_HOURS} (a month)"),
        ));
    }
    Ok(BillingSection {
        product: text("product", &b.product, MAX_NAME_CHARS, true)?,
        product_id: id("productId", b.product_id)?,
        agreement_type: text("agreementType", &b.agreement_type, MAX_NAME_CHARS, true)?,
        agreement_type_id: id("agreementTypeId", b.agreement_type_id)?,
        ..b.clone()
    })
}

fn tickets(t: &TicketsSection) -> Result<TicketsSection> {
    let signature = optional_text("signature", t.signature.as_deref(), MAX_SIGNATURE_CHARS)?;
    let ticket_type = optional_text("type", t.ticket_type.as_deref(), MAX_NAME_CHARS)?;
    if ticket_type.is_none() && t.type_id.is_some() {
        return Err(EngineError::invalid(
            "type",
            "give the ticket type's name beside typeId",
        ));
    }
    Ok(TicketsSection {
        board: text("board", &t.board, MAX_NAME_CHARS, true)?,
        board_id: id("boardId", t.board_id)?,
        status: text("status", &t.status, MAX_NAME_CHARS, true)?,
        status_id: id("statusId", t.status_id)?,
        priority: text("priority", &t.priority, MAX_NAME_CHARS, true)?,
        priority_id: id("priorityId", t.priority_id)?,
        ticket_type,
        type_id: id("typeId", t.type_id)?,
        signature: Some(signature.unwrap_or_else(|| DEFAULT_SIGNATURE.to_owned())),
    })
}

/// An entry's account id, checked as the vendor's pushes are.
fn account(list: &str, i: usize, value: &str) -> Result<String> {
    crate::account::check_id(value)
        .map(str::to_owned)
        .map_err(|e| e.at(&format!("{list}[{i}].account")))
}

fn mappings(list: &[MappingEntry], limits: &Limits) -> Result<Vec<MappingEntry>> {
    at_most("mappings", list, limits.accounts_per_tenant, "mappings")?;
    let mut once = Once::new("mappings", "account");
    let mut out = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        let account = account("mappings", i, &m.account)?;
        once.add(i, &account)?;
        let checked = || -> Result<MappingEntry> {
            Ok(MappingEntry {
                company_id: id("companyId", Some(m.company_id))?.unwrap_or_default(),
                company_name: optional_text(
                    "companyName",
                    m.company_name.as_deref(),
                    MAX_NAME_CHARS,
                )?,
                agreement_id: id("agreementId", m.agreement_id)?,
                account,
            })
        };
        out.push(checked().map_err(|e| e.within(&format!("mappings[{i}]")))?);
    }
    Ok(out)
}

fn routes(list: &[RouteEntry], limits: &Limits) -> Result<Vec<RouteEntry>> {
    at_most("alertRoutes", list, limits.accounts_per_tenant, "routes")?;
    let mut once = Once::new("alertRoutes", "account");
    let mut out = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        let account = account("alertRoutes", i, &r.account)?;
        once.add(i, &account)?;
        let route =
            forwarding::checked(&r.types).map_err(|e| e.within(&format!("alertRoutes[{i}]")))?;
        out.push(RouteEntry {
            account,
            types: route_types(&route),
        });
    }
    Ok(out)
}

/// A route's types as a document lists them: `["*"]` for every type.
pub(crate) fn route_types(route: &Route) -> Vec<String> {
    match route {
        Route::All => vec!["*".to_owned()],
        Route::Only(types) => types.clone(),
    }
}

fn policies(list: &[PolicyEntry], limits: &Limits) -> Result<Vec<PolicyEntry>> {
    at_most("alertPolicies", list, MAX_POLICIES, "alert-type policies")?;
    let mut once = Once::new("alertPolicies", "type");
    let mut out = Vec::with_capacity(list.len());
    for (i, p) in list.iter().enumerate() {
        let at = format!("alertPolicies[{i}]");
        let alert_type = p.alert_type.trim();
        let input = AlertPolicyInput {
            note_on_resolve: p.note_on_resolve,
            recur_after_close: p.recur_after_close.trim().to_owned(),
        };
        let record = checked_policy(alert_type, &input, limits.alert_type_chars)
            .map_err(|e| e.within(&at))?;
        once.add(i, alert_type)?;
        out.push(PolicyEntry {
            alert_type: record.alert_type,
            note_on_resolve: record.note_on_resolve,
            recur_after_close: record.recur_after_close,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(account: &str, types: &[&str]) -> RouteEntry {
        RouteEntry {
            account: account.into(),
            types: types.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    fn refused(doc: SettingsDocument) -> String {
        match checked(&doc, &Limits::default(), None) {
            Err(EngineError::Invalid { field, .. }) => field,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn each_refusal_names_the_field_by_its_path() {
        let policy = |t: &str, recur: &str| PolicyEntry {
            alert_type: t.into(),
            note_on_resolve: false,
            recur_after_close: recur.into(),
        };
        let cases: Vec<(SettingsDocument, &str)> = vec![
            (
                SettingsDocument {
                    mappings: Some(vec![MappingEntry::new("a", 1), MappingEntry::new("b", 0)]),
                    ..Default::default()
                },
                "mappings[1].companyId",
            ),
            (
                SettingsDocument {
                    mappings: Some(vec![MappingEntry::new("a", 1), MappingEntry::new(" a ", 2)]),
                    ..Default::default()
                },
                "mappings[1].account",
            ),
            (
                SettingsDocument {
                    mappings: Some(vec![MappingEntry::new("a/b", 1)]),
                    ..Default::default()
                },
                "mappings[0].account",
            ),
            (
                SettingsDocument {
                    alert_routes: Some(vec![route("a", &["ok", " "])]),
                    ..Default::default()
                },
                "alertRoutes[0].types[1]",
            ),
            (
                SettingsDocument {
                    alert_policies: Some(vec![policy("spf", "new"), policy("dkim", "later")]),
                    ..Default::default()
                },
                "alertPolicies[1].recurAfterClose",
            ),
            (
                SettingsDocument {
                    tickets: Some(TicketsSection {
                        board: "Help Desk".into(),
                        board_id: None,
                        status: " ".into(),
                        status_id: None,
                        priority: "High".into(),
                        priority_id: None,
                        ticket_type: None,
                        type_id: None,
                        signature: None,
                    }),
                    ..Default::default()
                },
                "tickets.status",
            ),
            (
                SettingsDocument {
                    connection: Some(ConnectionSection {
                        site: "x".repeat(crate::connection::MAX_CONNECTION_CHARS + 1),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                "connection.site",
            ),
        ];
        for (doc, field) in cases {
            assert_eq!(refused(doc), field);
        }
    }

    #[test]
    fn a_document_comes_back_as_it_would_be_stored() {
        let doc = SettingsDocument {
            connection: Some(ConnectionSection {
                site: " cw.example ".into(),
                company_id: "acme".into(),
                public_key: "pub".into(),
                client_id: String::new(),
            }),
            alert_routes: Some(vec![route("a", &["b", "a", "b"]), route("c", &["x", "*"])]),
            ..Default::default()
        };
        let stored = checked(&doc, &Limits::default(), Some("vendor-client")).unwrap();
        let connection = stored.connection.unwrap();
        assert_eq!(
            (connection.site.as_str(), connection.client_id.as_str()),
            ("cw.example", "vendor-client")
        );
        assert_eq!(
            stored.alert_routes.unwrap(),
            vec![route("a", &["a", "b"]), route("c", &["*"])]
        );
    }
}
