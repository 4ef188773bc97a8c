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

/// Account `g1`'s lines billed by `mode` for these units: product "P" at 1.00, company 7,
/// agreement 9.
fn lines(mode: Mode, u: &[&str]) -> Vec<Desired> {
    lines_for(mode, "g1", &units(u), "P", 1.0, 7, 9)
}

/// The line `d` as addition `id`: as the bridge last wrote it, and so ConnectWise has it.
fn existing(d: &Desired, id: i64) -> Existing {
    let written = (d.quantity, d.description.clone(), d.bill_customer.clone());
    let (quantity, description, bill_customer) = written.clone();
    Existing {
        key: d.key.clone(),
        addition_id: id,
        agreement_id: d.agreement_id,
        company_id: d.company_id,
        last_written: Some(written),
        quantity,
        description,
        bill_customer,
        cancelled: false,
        pinned: None,
    }
}

/// Account `g1`'s one per-unit line (a.com), and addition 100 carrying that line as `edit`
/// leaves it (unedited: as the bridge wrote it).
fn a_com(edit: impl FnOnce(&mut Existing)) -> (Vec<Desired>, Existing) {
    let d = lines(Mode::PerUnit, &["a.com"]);
    let mut line = existing(&d[0], 100);
    edit(&mut line);
    (d, line)
}

#[test]
fn per_unit_lines_bundles_and_not_billable_lines() {
    let dmarc = |mode: Mode, u: &[&str]| lines_for(mode, "g1", &units(u), "DMARC", 2.5, 7, 9);
    let per = dmarc(Mode::PerUnit, &["a.com", "b.com"]);
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
    let bundle = dmarc(Mode::Bundled, &["a.com", "b.com"]);
    assert_eq!(bundle.len(), 1);
    assert_eq!((bundle[0].key.as_str(), bundle[0].quantity), ("g1/*", 2.0));
    assert_eq!(bundle[0].description, "DMARC: 2 (a.com, b.com)");
    let free = dmarc(Mode::NotBillable, &["a.com"]);
    assert_eq!(free[0].bill_customer, "DoNotBill");
    assert!(dmarc(Mode::Bundled, &[]).is_empty());
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
    let (d, same) = a_com(|_| {});
    assert!(diff(&d, &[same], DriftPolicy::Report).is_empty());
}

#[test]
fn new_units_are_created_gone_ones_cancelled_and_bundles_updated() {
    let before = lines(Mode::PerUnit, &["a.com", "b.com"]);
    let have: Vec<Existing> = before
        .iter()
        .enumerate()
        .map(|(i, d)| existing(d, 100 + i as i64))
        .collect();
    let after = lines(Mode::PerUnit, &["b.com", "c.com"]);
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

    let bundle_at_3 = |u: &[&str]| lines_for(Mode::Bundled, "g1", &units(u), "P", 3.0, 7, 9);
    let bundle = bundle_at_3(&["a.com"]);
    let have = vec![existing(&bundle[0], 200)];
    let grown = bundle_at_3(&["a.com", "b.com"]);
    let changes = diff(&grown, &have, DriftPolicy::Report);
    assert!(
        matches!(&changes[..], [Change::Update { addition_id: 200, from_quantity, amount, .. }] if *from_quantity == 1.0 && *amount == 6.0)
    );
}

#[test]
fn a_new_agreement_moves_the_line_and_a_cancelled_one_is_made_again() {
    let (old, on_9) = a_com(|_| {});
    let moved = lines_for(Mode::PerUnit, "g1", &units(&["a.com"]), "P", 1.0, 7, 10);
    let changes = diff(&moved, std::slice::from_ref(&on_9), DriftPolicy::Report);
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
    let gone = Existing {
        cancelled: true,
        ..on_9
    };
    assert!(matches!(
        &diff(&old, &[gone], DriftPolicy::Report)[..],
        [Change::Create { .. }]
    ));
}

#[test]
fn a_line_found_by_marker_only_is_adopted_not_made_again() {
    let (d, found) = a_com(|e| e.last_written = None);
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
    let (d, edited) = a_com(|e| e.quantity = 5.0);
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
    let (d, mut kept) = a_com(|e| {
        e.quantity = 5.0;
        e.last_written = Some((5.0, e.description.clone(), e.bill_customer.clone()));
    });
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
    let (d, ours) = a_com(|_| {});
    let twin = Existing {
        addition_id: 101,
        last_written: None,
        ..ours.clone()
    };
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
