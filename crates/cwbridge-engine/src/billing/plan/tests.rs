//! The plan's rules, case by case: lines wanted per mode, and the changes that reach them.

use super::*;

#[test]
fn modes_and_drift_policies_read_back_as_written() {
    for m in [Mode::PerUnit, Mode::Bundled, Mode::NotBillable] {
        assert_eq!(m.to_string().parse::<Mode>(), Ok(m));
    }
    for p in [
        DriftPolicy::Report,
        DriftPolicy::Correct,
        DriftPolicy::Adopt,
    ] {
        assert_eq!(p.to_string().parse::<DriftPolicy>(), Ok(p));
        assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
    }
    assert!("sometimes".parse::<DriftPolicy>().is_err());
    assert!("per-unit".parse::<Mode>().is_err());
}

fn units(u: &[&str]) -> Vec<String> {
    u.iter().map(|s| s.to_string()).collect()
}

fn existing(d: &Desired, id: i64) -> Existing {
    Existing {
        key: d.key.clone(),
        addition_id: id,
        agreement_id: d.agreement_id,
        company_id: d.company_id,
        quantity: d.quantity,
        description: d.description.clone(),
        bill_customer: d.bill_customer.clone(),
        cancelled: false,
        last_written: Some((d.quantity, d.description.clone(), d.bill_customer.clone())),
        pinned: None,
    }
}

#[test]
fn per_unit_lines_bundles_and_not_billable_lines() {
    let per = lines_for(
        Mode::PerUnit,
        "g1",
        &units(&["a.com", "b.com"]),
        "DMARC",
        2.5,
        7,
        9,
    );
    assert_eq!(per.len(), 2);
    assert_eq!(
        (
            per[0].key.as_str(),
            per[0].quantity,
            per[0].bill_customer.as_str()
        ),
        ("g1/a.com", 1.0, "Billable")
    );
    assert_eq!(per[1].description, "DMARC: b.com");
    let bundle = lines_for(
        Mode::Bundled,
        "g1",
        &units(&["a.com", "b.com"]),
        "DMARC",
        2.5,
        7,
        9,
    );
    assert_eq!(bundle.len(), 1);
    assert_eq!((bundle[0].key.as_str(), bundle[0].quantity), ("g1/*", 2.0));
    assert_eq!(bundle[0].description, "DMARC: 2 (a.com, b.com)");
    let free = lines_for(
        Mode::NotBillable,
        "g1",
        &units(&["a.com"]),
        "DMARC",
        2.5,
        7,
        9,
    );
    assert_eq!(free[0].bill_customer, "DoNotBill");
    assert!(lines_for(Mode::Bundled, "g1", &[], "DMARC", 2.5, 7, 9).is_empty());
    let long = lines_for(
        Mode::Bundled,
        "g",
        &units(&["x".repeat(300).as_str()]),
        "P",
        1.0,
        1,
        1,
    );
    assert_eq!(long[0].description.chars().count(), 200);
}

#[test]
fn nothing_changes_when_all_is_as_wanted() {
    let d = lines_for(Mode::PerUnit, "g1", &units(&["a.com"]), "P", 1.0, 7, 9);
    assert!(diff(&d, &[existing(&d[0], 100)], DriftPolicy::Report).is_empty());
}

#[test]
fn new_units_are_created_gone_ones_cancelled_and_bundles_updated() {
    let before = lines_for(
        Mode::PerUnit,
        "g1",
        &units(&["a.com", "b.com"]),
        "P",
        1.0,
        7,
        9,
    );
    let have: Vec<Existing> = before
        .iter()
        .enumerate()
        .map(|(i, d)| existing(d, 100 + i as i64))
        .collect();
    let after = lines_for(
        Mode::PerUnit,
        "g1",
        &units(&["b.com", "c.com"]),
        "P",
        1.0,
        7,
        9,
    );
    let changes = diff(&after, &have, DriftPolicy::Report);
    assert!(matches!(&changes[0], Change::Create { line, .. } if line.key == "g1/c.com"));
    assert!(matches!(
        &changes[1],
        Change::Cancel {
            addition_id: 100,
            ..
        }
    ));
    assert_eq!(changes.len(), 2);

    let bundle = lines_for(Mode::Bundled, "g1", &units(&["a.com"]), "P", 3.0, 7, 9);
    let have = vec![existing(&bundle[0], 200)];
    let grown = lines_for(
        Mode::Bundled,
        "g1",
        &units(&["a.com", "b.com"]),
        "P",
        3.0,
        7,
        9,
    );
    let changes = diff(&grown, &have, DriftPolicy::Report);
    assert!(
        matches!(&changes[..], [Change::Update { addition_id: 200, from_quantity, amount, .. }] if *from_quantity == 1.0 && *amount == 6.0)
    );
}

#[test]
fn a_new_agreement_moves_the_line_and_a_cancelled_one_is_made_again() {
    let old = lines_for(Mode::PerUnit, "g1", &units(&["a.com"]), "P", 1.0, 7, 9);
    let moved = lines_for(Mode::PerUnit, "g1", &units(&["a.com"]), "P", 1.0, 7, 10);
    let changes = diff(&moved, &[existing(&old[0], 100)], DriftPolicy::Report);
    assert!(matches!(
        &changes[..],
        [
            Change::Cancel {
                addition_id: 100,
                ..
            },
            Change::Create { .. }
        ]
    ));
    let mut gone = existing(&old[0], 100);
    gone.cancelled = true;
    assert!(matches!(
        &diff(&old, &[gone], DriftPolicy::Report)[..],
        [Change::Create { .. }]
    ));
}

#[test]
fn a_line_found_by_marker_only_is_adopted_not_made_again() {
    let d = lines_for(Mode::PerUnit, "g1", &units(&["a.com"]), "P", 1.0, 7, 9);
    let mut found = existing(&d[0], 100);
    found.last_written = None;
    assert!(matches!(
        &diff(&d, &[found], DriftPolicy::Report)[..],
        [Change::Adopt {
            addition_id: 100,
            ..
        }]
    ));
}

#[test]
fn a_hand_edit_is_drift_resolved_by_the_policy() {
    let d = lines_for(Mode::PerUnit, "g1", &units(&["a.com"]), "P", 1.0, 7, 9);
    let mut edited = existing(&d[0], 100);
    edited.quantity = 5.0;
    for policy in [
        DriftPolicy::Report,
        DriftPolicy::Correct,
        DriftPolicy::Adopt,
    ] {
        let changes = diff(&d, std::slice::from_ref(&edited), policy);
        assert!(
            matches!(&changes[..], [Change::Drift { theirs: (q, _, _), resolution, .. }] if *q == 5.0 && *resolution == policy),
            "{changes:?}"
        );
    }
}

#[test]
fn a_kept_hand_edit_stays_until_the_wanted_state_changes() {
    let d = lines_for(Mode::PerUnit, "g1", &units(&["a.com"]), "P", 1.0, 7, 9);
    let mut kept = existing(&d[0], 100);
    kept.quantity = 5.0;
    kept.last_written = Some((5.0, kept.description.clone(), kept.bill_customer.clone()));
    kept.pinned = Some(fingerprint(&d[0]));
    assert!(diff(&d, std::slice::from_ref(&kept), DriftPolicy::Adopt).is_empty());
    let renamed = lines_for(Mode::PerUnit, "g1", &units(&["a.com"]), "Q", 1.0, 7, 9);
    assert!(matches!(
        &diff(&renamed, &[kept], DriftPolicy::Adopt)[..],
        [Change::Update { .. }]
    ));
}

#[test]
fn a_duplicate_of_a_line_is_cancelled() {
    let d = lines_for(Mode::PerUnit, "g1", &units(&["a.com"]), "P", 1.0, 7, 9);
    let ours = existing(&d[0], 100);
    let mut twin = existing(&d[0], 101);
    twin.last_written = None;
    let changes = diff(&d, &[twin, ours], DriftPolicy::Report);
    assert!(
        matches!(
            &changes[..],
            [Change::Cancel {
                addition_id: 101,
                ..
            }]
        ),
        "{changes:?}"
    );
}

#[test]
fn markers_are_stable_and_differ_per_line() {
    assert_eq!(marker("i1", 3, "g1/a.com"), marker("i1", 3, "g1/a.com"));
    assert_ne!(marker("i1", 3, "g1/a.com"), marker("i1", 3, "g1/b.com"));
    assert_ne!(marker("i1", 3, "g1/a.com"), marker("i1", 4, "g1/a.com"));
    assert_ne!(marker("i1", 3, "g1/a.com"), marker("i2", 3, "g1/a.com"));
    assert!(marker("i1", 3, "g1/a.com").starts_with("cwb-i1-3-"));
}
