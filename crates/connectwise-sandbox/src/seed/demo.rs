//! The demo seed: a realistic small MSP — client companies with contacts, sites and
//! configurations, agreements and invoices, a service desk with tickets and notes.

use super::*;

/// The client companies of the demo MSP: (identifier, name, city, state, e-mail domain).
const CLIENTS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "AcmeCorp",
        "Acme Corporation",
        "Tampa",
        "FL",
        "acme.example",
    ),
    (
        "BlueRidge",
        "Blue Ridge Dental Group",
        "Asheville",
        "NC",
        "blueridgedental.example",
    ),
    (
        "CedarLaw",
        "Cedar & Finch Law",
        "Portland",
        "OR",
        "cedarfinch.example",
    ),
    (
        "Contoso",
        "Contoso Manufacturing",
        "Dayton",
        "OH",
        "contoso.example",
    ),
    (
        "Dunmore",
        "Dunmore Veterinary Clinic",
        "Scranton",
        "PA",
        "dunmorevet.example",
    ),
    (
        "Evergreen",
        "Evergreen Property Management",
        "Tacoma",
        "WA",
        "evergreenpm.example",
    ),
    (
        "Fabrikam",
        "Fabrikam Logistics",
        "Memphis",
        "TN",
        "fabrikam.example",
    ),
    (
        "Greenway",
        "Greenway Accounting",
        "Madison",
        "WI",
        "greenwaycpa.example",
    ),
    (
        "Harbor",
        "Harbor Point Marina",
        "Annapolis",
        "MD",
        "harborpoint.example",
    ),
    (
        "Ironwood",
        "Ironwood Construction",
        "Boise",
        "ID",
        "ironwoodbuild.example",
    ),
    (
        "Juniper",
        "Juniper Family Medicine",
        "Santa Fe",
        "NM",
        "junipermed.example",
    ),
    (
        "Keystone",
        "Keystone Insurance Agency",
        "Harrisburg",
        "PA",
        "keystoneins.example",
    ),
    (
        "Lakeside",
        "Lakeside Credit Union",
        "Duluth",
        "MN",
        "lakesidecu.example",
    ),
    (
        "Maple",
        "Maple Street Bakery",
        "Burlington",
        "VT",
        "maplebakery.example",
    ),
    (
        "Northwind",
        "Northwind Traders",
        "Seattle",
        "WA",
        "northwind.example",
    ),
    (
        "Oakridge",
        "Oakridge Schools Foundation",
        "Knoxville",
        "TN",
        "oakridgeschools.example",
    ),
    (
        "Pinnacle",
        "Pinnacle Engineering",
        "Denver",
        "CO",
        "pinnacleeng.example",
    ),
    (
        "Quarry",
        "Quarry Hill Architects",
        "Providence",
        "RI",
        "quarryhill.example",
    ),
    (
        "Riverbend",
        "Riverbend Hotel",
        "Savannah",
        "GA",
        "riverbendhotel.example",
    ),
    (
        "Summit",
        "Summit Physical Therapy",
        "Salt Lake City",
        "UT",
        "summitpt.example",
    ),
    (
        "Tailspin",
        "Tailspin Toys",
        "Burbank",
        "CA",
        "tailspintoys.example",
    ),
    (
        "Umbrella",
        "Umbrella Pharmacy",
        "Raleigh",
        "NC",
        "umbrellarx.example",
    ),
    (
        "Vista",
        "Vista Realty Partners",
        "Phoenix",
        "AZ",
        "vistarealty.example",
    ),
    (
        "Wingtip",
        "Wingtip Travel",
        "Orlando",
        "FL",
        "wingtiptravel.example",
    ),
    (
        "Yellowstone",
        "Yellowstone Outfitters",
        "Bozeman",
        "MT",
        "yellowstoneout.example",
    ),
    (
        "Zephyr",
        "Zephyr Wind Energy",
        "Amarillo",
        "TX",
        "zephyrwind.example",
    ),
    (
        "AdventureWorks",
        "Adventure Works Cycles",
        "Bend",
        "OR",
        "adventureworks.example",
    ),
    (
        "Litware",
        "Litware Publishing",
        "Boston",
        "MA",
        "litware.example",
    ),
];

const FIRST: &[&str] = &[
    "Alice", "Ben", "Carmen", "Dev", "Elena", "Frank", "Grace", "Hiro", "Ines", "Jamal",
];

const LAST: &[&str] = &[
    "Nguyen", "Okafor", "Patel", "Quinn", "Rossi", "Schmidt", "Tanaka", "Usman", "Varga", "Walsh",
];

pub(super) fn demo(w: &mut Writer<'_>) {
    let (client_type, help_desk) = setup_tables(w);
    let mut configuration_types = Vec::new();
    for name in ["Managed Workstation", "Managed Server", "Firewall"] {
        configuration_types.push(insert(w, CONFIGURATION_TYPES, 0, json!({"name": name})));
    }
    let active = insert(
        w,
        CONFIGURATION_STATUSES,
        0,
        json!({"description": "Active", "defaultFlag": true}),
    );
    insert(
        w,
        CONFIGURATION_STATUSES,
        0,
        json!({"description": "Inactive", "closedFlag": true}),
    );
    let managed = insert(
        w,
        res::AGREEMENT_TYPES,
        0,
        agreement_type("Managed Services"),
    );
    let security = insert(
        w,
        res::AGREEMENT_TYPES,
        0,
        agreement_type("Security Services"),
    );
    insert(w, res::AGREEMENT_TYPES, 0, agreement_type("Block Time"));
    for (identifier, description, price, cost) in [
        (
            "DMARC-MONITOR",
            "DMARC Monitoring (per sending domain)",
            12.0,
            4.0,
        ),
        ("M365-BP", "Microsoft 365 Business Premium", 22.0, 19.8),
        ("BACKUP-SRV", "Managed Server Backup", 85.0, 30.0),
        (
            "EDR-ENDPOINT",
            "Endpoint Detection & Response (per device)",
            8.5,
            3.25,
        ),
        ("MSP-SUPPORT", "Managed Support (per user)", 95.0, 0.0),
        (
            "SAT-TRAINING",
            "Security Awareness Training (per user)",
            3.0,
            1.1,
        ),
    ] {
        insert(
            w,
            res::CATALOG,
            0,
            json!({
                "identifier": identifier,
                "description": description,
                "customerDescription": description,
                "price": price,
                "cost": cost,
                "productClass": "Service",
                "recurringFlag": true,
                "taxableFlag": false,
            }),
        );
    }
    for (i, (identifier, name, city, state, domain)) in CLIENTS.iter().enumerate() {
        let company = insert(
            w,
            res::COMPANIES,
            0,
            json!({
                "identifier": identifier,
                "name": name,
                "city": city,
                "state": state,
                "phoneNumber": format!("555{:07}", 1_000_000 + i * 7919),
                "website": format!("www.{domain}"),
                "types": [{"id": client_type}],
            }),
        );
        for j in 0..2 {
            let first = FIRST[(i + j * 3) % FIRST.len()];
            let last = LAST[(i * 7 + j) % LAST.len()];
            let email = format!("{}.{}@{domain}", first.to_lowercase(), last.to_lowercase());
            let contact = insert(
                w,
                res::CONTACTS_KEY,
                0,
                json!({
                    "firstName": first,
                    "lastName": last,
                    "company": {"id": company},
                    "title": if j == 0 { "Office Manager" } else { "IT Contact" },
                    "communicationItems": [{
                        "type": {"id": 1, "name": "Email"},
                        "communicationType": "Email",
                        "value": email,
                        "defaultFlag": true,
                    }],
                }),
            );
            for (ty, name, kind, value) in [
                (1, "Email", "Email", email.clone()),
                (
                    2,
                    "Direct",
                    "Phone",
                    format!("555{:07}", 2_000_000 + i * 131 + j),
                ),
            ] {
                insert(
                    w,
                    CONTACT_COMMUNICATIONS,
                    contact,
                    json!({
                        "type": {"id": ty, "name": name},
                        "communicationType": kind,
                        "value": value,
                        "defaultFlag": true,
                    }),
                );
            }
        }
        for (k, &ty) in configuration_types.iter().enumerate().take(1 + i % 3) {
            insert(
                w,
                CONFIGURATIONS,
                0,
                json!({
                    "name": format!("{}-{}", identifier.to_uppercase(), ["WS01", "SRV01", "FW01"][k]),
                    "type": {"id": ty},
                    "status": {"id": active},
                    "company": {"id": company},
                    "serialNumber": format!("SN{:06}", 100_000 + i * 10 + k),
                    "activeFlag": true,
                }),
            );
        }
        for month in 1..=2 {
            let total = 1500 + 250 * (i % 6);
            insert(
                w,
                INVOICES,
                0,
                json!({
                    "type": "Agreement",
                    "invoiceNumber": format!("{}", 10_000 + i * 2 + month),
                    "company": {"id": company},
                    "billToCompany": {"id": company},
                    "date": format!("2026-{month:02}-01T00:00:00Z"),
                    "dueDate": format!("2026-{month:02}-28T00:00:00Z"),
                    "subtotal": total,
                    "total": total,
                    "balance": if month == 2 { total } else { 0 },
                }),
            );
        }
        insert(
            w,
            res::AGREEMENTS_KEY,
            0,
            json!({
                "name": format!("{name} - Managed Services"),
                "type": {"id": managed},
                "company": {"id": company},
                "startDate": "2025-01-01T00:00:00Z",
                "billAmount": 1500 + 250 * (i % 6),
            }),
        );
        if i % 3 == 0 {
            insert(
                w,
                res::AGREEMENTS_KEY,
                0,
                json!({
                    "name": format!("{name} - Security Services"),
                    "type": {"id": security},
                    "company": {"id": company},
                    "startDate": "2025-06-01T00:00:00Z",
                }),
            );
        }
        if i % 4 == 0 {
            let ticket = insert(
                w,
                res::TICKETS,
                0,
                json!({
                    "summary": format!("Printer offline at {city} office"),
                    "board": {"id": help_desk},
                    "company": {"id": company},
                    "initialDescription": "The front-desk printer shows offline for all users since this morning.",
                }),
            );
            // ConnectWise keeps a ticket's initial description as its first note.
            insert(
                w,
                res::NOTES,
                ticket,
                json!({
                    "text": "The front-desk printer shows offline for all users since this morning.",
                    "detailDescriptionFlag": true,
                }),
            );
            insert(
                w,
                TIME_ENTRIES,
                0,
                json!({
                    "chargeToType": "ServiceTicket",
                    "chargeToId": ticket,
                    "company": {"id": company},
                    "timeStart": "2026-01-15T14:00:00Z",
                    "timeEnd": "2026-01-15T14:45:00Z",
                    "actualHours": 0.75,
                    "billableOption": "Billable",
                    "notes": "Restarted the print spooler and re-added the printer on every workstation.",
                }),
            );
        }
    }
    // The MSP itself, as ConnectWise always has it.
    insert(
        w,
        res::COMPANIES,
        0,
        json!({"identifier": "SandboxMSP", "name": "Sandbox MSP", "city": "Tampa", "state": "FL"}),
    );
}

pub(super) fn agreement_type(name: &str) -> Value {
    json!({
        "name": name,
        "billTime": "Billable",
        "billExpenses": "Billable",
        "billProducts": "Billable",
        "employeeCompNotExceed": "Billing",
        "employeeCompRate": "Actual",
        "invoicingCycle": "CalendarYear",
        "prorateFlag": true,
    })
}
