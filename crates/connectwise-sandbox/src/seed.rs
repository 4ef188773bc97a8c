//! Starting data: `demo`, a realistic small MSP, and `bench`, many records for benchmarks.
//!
//! Seeding happens once: a state that already holds companies is left as it is.

use serde_json::{Value, json};

use crate::Seed;
use crate::bootstrap::insert;
use crate::resources as res;
use crate::store::{Entity, Store, Writer};

mod demo;

use demo::{agreement_type, demo};

/// Loads a seed into the state unless it already holds companies.
pub fn load(store: &Store, seed: &Seed) -> anyhow::Result<()> {
    let has_companies = store
        .read()
        .collection(res::COMPANIES)
        .is_some_and(|c| !c.is_empty());
    if has_companies {
        return Ok(());
    }
    store.write(|w| match seed {
        Seed::Demo => demo(w),
        Seed::Bench { companies, tickets } => bench(w, *companies, *tickets),
    })?;
    store.compact()
}

/// Collections of the published API the seeds fill (made from the schema; see
/// [`crate::published`]).
const COMMUNICATION_TYPES: &str = "company/communicationtypes";
const CONFIGURATION_TYPES: &str = "company/configurations/types";
const CONFIGURATION_STATUSES: &str = "company/configurations/statuses";
const CONFIGURATIONS: &str = "company/configurations";
const CONTACT_COMMUNICATIONS: &str = "company/contacts/{id}/communications";
const INVOICES: &str = "finance/invoices";
const TIME_ENTRIES: &str = "time/entries";

/// The setup lists a new ConnectWise comes with (sales, schedule, project and time), so
/// that integrations which filter by them (`status/id in (…)`) find what they expect.
fn default_lists(w: &mut Writer<'_>) {
    let rows: &[(&str, Value)] = &[
        (
            "sales/activities/statuses",
            json!({"name": "Open", "defaultFlag": true}),
        ),
        (
            "sales/activities/statuses",
            json!({"name": "Closed", "closedFlag": true}),
        ),
        (
            "sales/activities/types",
            json!({"name": "Call", "points": 1, "defaultFlag": true}),
        ),
        (
            "sales/activities/types",
            json!({"name": "Email", "points": 1, "emailFlag": true}),
        ),
        (
            "sales/activities/types",
            json!({"name": "Meeting", "points": 2}),
        ),
        (
            "sales/opportunities/statuses",
            json!({"name": "Open", "defaultFlag": true}),
        ),
        (
            "sales/opportunities/statuses",
            json!({"name": "Won", "wonFlag": true, "closedFlag": true}),
        ),
        (
            "sales/opportunities/statuses",
            json!({"name": "Lost", "lostFlag": true, "closedFlag": true}),
        ),
        (
            "sales/stages",
            json!({"name": "Qualify", "sequenceNumber": 1}),
        ),
        (
            "sales/stages",
            json!({"name": "Propose", "sequenceNumber": 2}),
        ),
        (
            "sales/opportunities/types",
            json!({"description": "New Business"}),
        ),
        ("sales/probabilities", json!({"probability": 50})),
        (
            "schedule/types",
            json!({"identifier": "S", "name": "Service"}),
        ),
        (
            "schedule/types",
            json!({"identifier": "C", "name": "Activity"}),
        ),
        (
            "schedule/statuses",
            json!({"name": "Firm", "defaultFlag": true}),
        ),
        (
            "schedule/statuses",
            json!({"name": "Tentative", "showAsTentativeFlag": true}),
        ),
        (
            "project/statuses",
            json!({"name": "Open", "defaultFlag": true}),
        ),
        (
            "project/statuses",
            json!({"name": "Closed", "closedFlag": true}),
        ),
        (
            "project/phaseStatuses",
            json!({"name": "Open", "defaultFlag": true}),
        ),
        (
            "project/projectTypes",
            json!({"name": "Implementation", "defaultFlag": true}),
        ),
        (
            "time/workTypes",
            json!({"name": "Regular", "billTime": "Billable", "rate": 1, "rateType": "Multiplier", "overallDefaultFlag": true}),
        ),
        ("time/workRoles", json!({"name": "Engineer"})),
        (
            "service/sources",
            json!({"name": "Email Connector", "defaultFlag": true}),
        ),
        ("service/sources", json!({"name": "Phone"})),
        (
            "company/noteTypes",
            json!({"name": "General", "identifier": "General", "defaultFlag": true}),
        ),
        (
            "company/teamRoles",
            json!({"name": "Account Manager", "accountManagerFlag": true}),
        ),
        (
            "company/contacts/types",
            json!({"description": "Decision Maker", "defaultFlag": true}),
        ),
        (
            "system/departments",
            json!({"identifier": "SRV", "name": "Service"}),
        ),
        (
            "system/locations",
            json!({"name": "Main Office", "locationFlag": true}),
        ),
    ];
    for (key, body) in rows {
        insert(w, &key.to_ascii_lowercase(), 0, body.clone());
    }
}

fn setup_tables(w: &mut Writer<'_>) -> (i64, i64) {
    default_lists(w);
    // Email first: contacts' communication items name type 1.
    for (description, kind, default) in [
        ("Email", "email", true),
        ("Direct", "phone", true),
        ("Mobile", "phone", false),
        ("Fax", "fax", true),
        ("Home", "phone", false),
        ("Pager", "phone", false),
    ] {
        insert(
            w,
            COMMUNICATION_TYPES,
            0,
            json!({
                "description": description,
                "emailFlag": kind == "email",
                "phoneFlag": kind == "phone",
                "faxFlag": kind == "fax",
                "defaultFlag": default,
            }),
        );
    }
    for (name, default) in [
        ("Active", true),
        ("Inactive", false),
        ("Not Approved", false),
    ] {
        insert(
            w,
            res::COMPANY_STATUSES,
            0,
            json!({"name": name, "defaultFlag": default}),
        );
    }
    let mut client_type = 0;
    for (name, vendor) in [
        ("Client", false),
        ("Prospect", false),
        ("Vendor", true),
        ("Partner", false),
    ] {
        let id = insert(
            w,
            res::COMPANY_TYPES,
            0,
            json!({"name": name, "vendorFlag": vendor, "defaultFlag": name == "Client"}),
        );
        if name == "Client" {
            client_type = id;
        }
    }
    for (i, (name, color)) in [
        ("Priority 1 - Emergency Response", "Red"),
        ("Priority 2 - Quick Response", "Orange"),
        ("Priority 3 - Normal Response", "Yellow"),
        ("Priority 4 - Schedule Maintenance", "Green"),
    ]
    .into_iter()
    .enumerate()
    {
        insert(
            w,
            res::PRIORITIES,
            0,
            json!({"name": name, "color": color, "sortOrder": i + 1, "defaultFlag": i == 2}),
        );
    }
    let mut help_desk = 0;
    for board in ["Help Desk", "Security Operations", "Alerts"] {
        let id = insert(w, res::BOARDS, 0, json!({"name": board}));
        if board == "Help Desk" {
            help_desk = id;
        }
        for (i, (status, closed, default)) in [
            ("New", false, true),
            ("In Progress", false, false),
            ("Waiting on Customer", false, false),
            ("Resolved", true, false),
            ("Closed", true, false),
        ]
        .into_iter()
        .enumerate()
        {
            insert(
                w,
                res::BOARD_STATUSES,
                id,
                json!({"name": status, "closedStatus": closed, "defaultFlag": default, "sortOrder": i}),
            );
        }
        for (ty, default) in [
            ("Incident", true),
            ("Problem", false),
            ("Service Request", false),
            ("Alert", false),
        ] {
            insert(
                w,
                res::BOARD_TYPES,
                id,
                json!({"name": ty, "defaultFlag": default, "category": "Reactive"}),
            );
        }
    }
    (client_type, help_desk)
}

/// Many records, written directly (without per-record checks) so large seeds load quickly;
/// the shapes match what the API writes.
fn bench(w: &mut Writer<'_>, companies: usize, tickets: usize) {
    let (_, board) = setup_tables(w);
    let statuses: Vec<(i64, crate::record::Record)> = w
        .data()
        .children(res::BOARD_STATUSES, board)
        .map(|(id, e)| (id, e.clone()))
        .collect();
    let priority = w
        .data()
        .children(res::PRIORITIES, 0)
        .next()
        .map(|(id, e)| (id, e.clone()));
    let now = crate::clock::now();
    let info = json!({"dateEntered": now, "enteredBy": "system", "lastUpdated": now, "updatedBy": "system"});
    let mut company_refs = Vec::with_capacity(companies);
    for i in 0..companies {
        let id = w.next_id(res::COMPANIES);
        let mut e = Entity::new();
        e.insert("id".into(), json!(id));
        e.insert("identifier".into(), json!(format!("Company{i:06}")));
        e.insert("name".into(), json!(format!("Bench Company {i:06}")));
        e.insert(
            "city".into(),
            json!(["Tampa", "Denver", "Boston", "Austin"][i % 4]),
        );
        e.insert("deletedFlag".into(), json!(false));
        e.insert("leadFlag".into(), json!(false));
        e.insert("_info".into(), info.clone());
        let stored = w.put(res::COMPANIES, 0, id, e);
        company_refs.push(crate::entity::reference_to(res::COMPANIES, id, stored));
    }
    // What billing needs: an agreement type, one active agreement of it per company, and
    // the DMARC-monitoring product in the catalog.
    let managed = insert(
        w,
        res::AGREEMENT_TYPES,
        0,
        agreement_type("Managed Services"),
    );
    insert(
        w,
        res::CATALOG,
        0,
        json!({
            "identifier": "DMARC-MONITOR",
            "description": "DMARC Monitoring (per sending domain)",
            "customerDescription": "DMARC Monitoring (per sending domain)",
            "price": 12.0,
            "cost": 4.0,
            "productClass": "Service",
            "recurringFlag": true,
            "taxableFlag": false,
        }),
    );
    let type_ref = json!({"id": managed, "name": "Managed Services"});
    for company in &company_refs {
        let id = w.next_id(res::AGREEMENTS_KEY);
        let mut e = Entity::new();
        e.insert("id".into(), json!(id));
        e.insert(
            "name".into(),
            json!(format!(
                "{} - Managed Services",
                company["name"].as_str().unwrap_or_default()
            )),
        );
        e.insert("type".into(), type_ref.clone());
        e.insert("company".into(), company.clone());
        e.insert("agreementStatus".into(), json!("Active"));
        e.insert("cancelledFlag".into(), json!(false));
        e.insert("startDate".into(), json!("2025-01-01T00:00:00Z"));
        e.insert("noEndingDateFlag".into(), json!(true));
        e.insert("_info".into(), info.clone());
        w.put(res::AGREEMENTS_KEY, 0, id, e);
    }
    let board_ref = json!({"id": board, "name": "Help Desk"});
    for i in 0..tickets {
        let id = w.next_id(res::TICKETS);
        let (status_id, status) = &statuses[i % statuses.len()];
        let closed = status.get("closedStatus") == Some(&crate::record::Val::Bool(true));
        let mut e = Entity::new();
        e.insert("id".into(), json!(id));
        e.insert("summary".into(), json!(format!("Bench ticket {i}")));
        e.insert("board".into(), board_ref.clone());
        e.insert(
            "status".into(),
            crate::entity::reference_to(res::BOARD_STATUSES, *status_id, status),
        );
        if let Some((pid, p)) = &priority {
            e.insert(
                "priority".into(),
                crate::entity::reference_to(res::PRIORITIES, *pid, p),
            );
        }
        if !company_refs.is_empty() {
            e.insert(
                "company".into(),
                company_refs[i % company_refs.len()].clone(),
            );
        }
        e.insert("closedFlag".into(), json!(closed));
        e.insert("recordType".into(), json!("ServiceTicket"));
        e.insert("_info".into(), info.clone());
        w.put(res::TICKETS, 0, id, e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_seed_is_a_realistic_msp() {
        let store = Store::in_memory();
        load(&store, &Seed::Demo).unwrap();
        let data = store.read();
        let count = |k: &str| data.collection(k).map_or(0, |c| c.len());
        assert!(count(res::COMPANIES) >= 25);
        assert!(count(res::CONTACTS_KEY) >= 50);
        assert!(count(res::AGREEMENTS_KEY) >= 25);
        let dmarc = data
            .children(res::CATALOG, 0)
            .any(|(_, e)| e["identifier"] == "DMARC-MONITOR");
        assert!(dmarc, "the catalog offers a DMARC-monitoring product");
        let email = data.get(COMMUNICATION_TYPES, 0, 1).unwrap();
        assert_eq!(email["description"], "Email");
        assert!(count(INVOICES) >= 50, "two invoices a company");
        assert!(count(CONFIGURATIONS) >= 25);
        assert!(count(TIME_ENTRIES) >= 5);
        assert_eq!(
            count(CONTACT_COMMUNICATIONS),
            2 * count(res::CONTACTS_KEY),
            "an email and a phone number per contact"
        );
    }
}
