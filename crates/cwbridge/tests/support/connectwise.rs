//! What the bridge left in the sandbox, read as the MSP's admin: tickets, notes and
//! agreement lines, checked for exactly once.

use std::collections::BTreeMap;

use connectwise_sandbox::Sandbox;
use cwbridge_testkit::sandbox_get;
use serde_json::Value;

/// Every key's delivered alerts went to one ticket, there is one ticket per key sent, and
/// each ticket has one note per repeat: `sent[key] - 1`.
pub async fn assert_one_ticket_per_key_one_note_per_repeat(
    sandbox: &Sandbox,
    alerts: &[Value],
    sent: &BTreeMap<&str, usize>,
) {
    let mut tickets_by_key: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for a in alerts {
        tickets_by_key
            .entry(a["key"].as_str().unwrap().to_owned())
            .or_default()
            .push(a["ticketId"].as_i64().unwrap());
    }
    let tickets = sandbox_get(
        sandbox,
        "service/tickets?pageSize=1000&conditions=externalXRef%20like%20%22cwb-%25%22",
    )
    .await;
    assert_eq!(
        tickets.as_array().unwrap().len(),
        sent.len(),
        "one ticket per alert key: {tickets:#?}"
    );
    for (key, ids) in &tickets_by_key {
        let ticket = ids[0];
        assert!(
            ids.iter().all(|t| *t == ticket),
            "{key}: every repeat went to one ticket"
        );
        let notes = sandbox_get(
            sandbox,
            &format!("service/tickets/{ticket}/notes?pageSize=1000"),
        )
        .await;
        let repeats = notes
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["text"].as_str().is_some_and(|t| t.contains("[cwb-alert")))
            .count();
        assert_eq!(
            repeats,
            sent[key.as_str()] - 1,
            "{key}: one note per repeat, none doubled: {notes:#?}"
        );
    }
}

/// The agreement additions the bridge made (serial number `cwb-…`) on the "Managed
/// Services" agreement of each of companies `1..=companies`, cancelled ones included.
pub async fn bridge_lines(sandbox: &Sandbox, companies: i64) -> Vec<Value> {
    let mut lines = Vec::new();
    for company in 1..=companies {
        let agreements = sandbox_get(
            sandbox,
            &format!(
                "finance/agreements?conditions=company/id={company}%20and%20type/name=%22Managed%20Services%22"
            ),
        )
        .await;
        let agreement = agreements[0]["id"].as_i64().unwrap();
        let additions = sandbox_get(
            sandbox,
            &format!("finance/agreements/{agreement}/additions?pageSize=1000"),
        )
        .await;
        lines.extend(
            additions
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| {
                    a["serialNumber"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("cwb-"))
                })
                .cloned(),
        );
    }
    lines
}

/// How many times each line (by description) is there.
pub fn count_by_description<'a>(
    lines: impl IntoIterator<Item = &'a Value>,
) -> BTreeMap<String, usize> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for a in lines {
        *counts
            .entry(a["description"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    counts
}
