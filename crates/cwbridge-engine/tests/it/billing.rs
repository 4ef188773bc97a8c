//! Billing against the sandbox: plan before apply, re-runs that change nothing, cancels
//! instead of deletes, foreign lines untouched, hand edits reported or corrected, and a create
//! whose answer is lost found again instead of made twice.

use connectwise_client::conditions::field;
use connectwise_client::models::{Addition, IvItemReference};
use connectwise_client::{Client, Patch};
use connectwise_sandbox::{Faults, LostMode};
use cwbridge_engine::billing::settings::BillingInput;
use cwbridge_engine::billing::{Change, DriftPolicy, Mode};
use cwbridge_engine::mapping::MappingInput;
use cwbridge_engine::{Engine, EngineError};
use cwbridge_store::TenantId;

use crate::helpers::connected_tenant;
use crate::pool::put_acme;
use cwbridge_testkit::{Site, TestDb, engines};

pub(crate) async fn company_id(cw: &Client, identifier: &str) -> i64 {
    cw.company()
        .companies()
        .list()
        .conditions(field("identifier").eq(identifier))
        .send()
        .await
        .unwrap()[0]
        .id
        .unwrap()
}

pub(crate) async fn managed_agreement(cw: &Client, company: i64) -> i64 {
    cw.finance()
        .agreements()
        .list()
        .conditions(
            field("company/id")
                .eq(company)
                .and(field("type/name").eq("Managed Services")),
        )
        .send()
        .await
        .unwrap()[0]
        .id
        .unwrap()
}

pub(crate) async fn additions(cw: &Client, agreement: i64) -> Vec<Addition> {
    cw.finance()
        .additions(agreement)
        .list()
        .page_size(1000)
        .send()
        .await
        .unwrap()
}

/// ConnectWise carries out the next write but its answer is lost (the connection dropped).
pub(crate) fn lose_next_write(site: &Site) {
    let faults = Faults {
        lose_next_writes: 1,
        lost_response_mode: LostMode::Drop,
        ..Faults::default()
    };
    site.sandbox.set_faults(faults).unwrap();
}

/// Step 2's settings: DMARC monitoring on Managed Services agreements, billed by `mode`,
/// hand edits reported, on demand only.
pub(crate) fn billing(mode: Mode) -> BillingInput {
    BillingInput {
        product: "DMARC-MONITOR".into(),
        agreement_type: "Managed Services".into(),
        mode,
        drift_policy: DriftPolicy::Report,
        schedule_hours: 0,
    }
}

/// Maps the account `account` to `company_id` (on its default agreement unless one is named).
pub(crate) async fn map(
    engine: &Engine,
    t: TenantId,
    account: &str,
    company_id: i64,
    agreement_id: Option<i64>,
) -> cwbridge_engine::Result<()> {
    let mapping = MappingInput {
        company_id,
        agreement_id,
    };
    engine.map_account(t, account, &mapping).await.map(drop)
}

/// A tenant connected with seed 004's role, billing by `mode`, with Acme (two domains)
/// mapped as suggested.
pub(crate) async fn billing_tenant(site: &Site, engine: &Engine, mode: Mode) -> TenantId {
    let input = site.seed_member(&format!("Billing{}", rand_suffix())).await;
    let t = connected_tenant(engine, &input).await;
    engine.set_billing(t, &billing(mode)).await.unwrap();
    put_acme(engine, t, &["acme.example", "mail.acme.example"])
        .await
        .unwrap();
    let rows = engine.mapping_overview(t).await.unwrap();
    let suggestion = &rows[0].suggestions[0];
    assert_eq!(suggestion.company_name, "Acme Corporation", "{rows:#?}");
    assert!(!suggestion.reasons.is_empty());
    assert!(
        rows[0].account.mapping.is_none(),
        "suggestions are never applied on their own"
    );
    map(engine, t, "g-acme", suggestion.company_id, None)
        .await
        .unwrap();
    t
}

/// An engine on the first test database whose tenant bills Acme bundled, applied once;
/// answers it, its database, the tenant, Acme's company id and the Managed Services agreement
/// the bundle is on.
async fn bundled(site: &Site) -> (Engine, TestDb, TenantId, i64, i64) {
    let cw = site.admin_client();
    let acme = company_id(cw, "AcmeCorp").await;
    let agreement = managed_agreement(cw, acme).await;
    let (engine, db) = engines(&site.config()).await.remove(0);
    let t = billing_tenant(site, &engine, Mode::Bundled).await;
    engine.billing_apply(t, false).await.unwrap();
    (engine, db, t, acme, agreement)
}

/// Asserts a full plan finds nothing left to change.
async fn assert_settled(engine: &Engine, t: TenantId) {
    let plan = engine.billing_plan(t, true).await.unwrap();
    assert!(plan.changes.is_empty(), "{plan:#?}");
}

pub(crate) fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Whether `a` carries one of our markers (`prefix` names the installation).
fn is_ours(a: &Addition, prefix: &str) -> bool {
    a.serial_number
        .as_deref()
        .is_some_and(|s| s.starts_with(prefix))
}

/// The line `id` (as ConnectWise has it now) on `agreement`.
async fn line(cw: &Client, agreement: i64, id: Option<i64>) -> Addition {
    let all = additions(cw, agreement).await;
    all.into_iter().find(|a| a.id == id).unwrap()
}

fn kinds(changes: &[Change]) -> Vec<&'static str> {
    changes
        .iter()
        .map(|c| match c {
            Change::Create { .. } => "create",
            Change::Update { .. } => "update",
            Change::Cancel { .. } => "cancel",
            Change::Adopt { .. } => "adopt",
            Change::Drift { .. } => "drift",
        })
        .collect()
}

#[tokio::test]
async fn lines_are_planned_applied_once_and_cancelled_never_deleted() {
    let site = Site::demo().await;
    let cw = site.admin_client();
    let acme = company_id(cw, "AcmeCorp").await;
    let agreement = managed_agreement(cw, acme).await;
    // A line somebody else made on the same agreement: never touched.
    let foreign = cw
        .finance()
        .additions(agreement)
        .create(&Addition {
            product: Some(IvItemReference {
                identifier: Some("DMARC-MONITOR".into()),
                ..Default::default()
            }),
            quantity: Some(3.0),
            bill_customer: Some("Billable".into()),
            description: Some("Added by hand".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    for (engine, db) in engines(&site.config()).await {
        let t = billing_tenant(&site, &engine, Mode::PerUnit).await;

        // Plan first: two lines, nothing written yet.
        let plan = engine.billing_plan(t, false).await.unwrap();
        assert_eq!(
            kinds(&plan.changes),
            ["create", "create"],
            "{}: {plan:#?}",
            db.label
        );
        assert_eq!(plan.billable_total, 24.0, "two domains at 12.00");
        let before = additions(cw, agreement).await.len();

        let applied = engine.billing_apply(t, false).await.unwrap();
        assert_eq!(applied.done.get("create"), Some(&2), "{applied:#?}");
        let after = additions(cw, agreement).await;
        assert_eq!(after.len(), before + 2);
        let prefix = format!("cwb-{}-", engine.store().installation_id().await.unwrap());
        let ours: Vec<&Addition> = after.iter().filter(|a| is_ours(a, &prefix)).collect();
        assert_eq!(ours.len(), 2);
        assert!(ours.iter().any(|a| a.description.as_deref()
            == Some("DMARC Monitoring (per sending domain): mail.acme.example")));

        // A re-run changes nothing, and the incremental plan reads little.
        let again = engine.billing_plan(t, false).await.unwrap();
        assert!(again.changes.is_empty(), "{again:#?}");
        let full = engine.billing_plan(t, true).await.unwrap();
        assert!(full.changes.is_empty(), "{full:#?}");
        assert!(
            again.requests < full.requests,
            "{} vs {}",
            again.requests,
            full.requests
        );

        // A unit goes away: its line is cancelled (an end date), not deleted.
        put_acme(&engine, t, &["acme.example"]).await.unwrap();
        let applied = engine.billing_apply(t, false).await.unwrap();
        assert_eq!(applied.done.get("cancel"), Some(&1), "{applied:#?}");
        let after = additions(cw, agreement).await;
        let cancelled = after
            .iter()
            .find(|a| {
                is_ours(a, &prefix)
                    && a.description
                        .as_deref()
                        .is_some_and(|d| d.ends_with("mail.acme.example"))
            })
            .unwrap();
        assert!(cancelled.cancelled_date.is_some(), "{cancelled:?}");
        let foreign_now = after.iter().find(|a| a.id == foreign.id).unwrap();
        assert_eq!(
            (foreign_now.quantity, foreign_now.cancelled_date.as_deref()),
            (Some(3.0), None)
        );
        assert_settled(&engine, t).await;
        let runs = engine.store().runs(t, 10).await.unwrap();
        assert_eq!(runs.len(), 2);
        assert!(
            runs.iter()
                .all(|r| r.status == cwbridge_store::RunStatus::Done)
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_hand_edit_is_reported_then_corrected_and_a_bundle_follows_its_units() {
    let site = Site::demo().await;
    let cw = site.admin_client();
    let (engine, db, t, _, agreement) = bundled(&site).await;
    let bundle = additions(cw, agreement)
        .await
        .into_iter()
        .find(|a| a.serial_number.is_some())
        .unwrap();
    assert_eq!(bundle.quantity, Some(2.0));

    // Someone changes our line by hand in ConnectWise.
    cw.finance()
        .additions(agreement)
        .patch(
            bundle.id.unwrap(),
            &connectwise_client::Patch::new().replace("quantity", 9),
        )
        .await
        .unwrap();
    let plan = engine.billing_plan(t, true).await.unwrap();
    assert!(
        matches!(&plan.changes[..], [Change::Drift { theirs, resolution: DriftPolicy::Report, .. }] if theirs.0 == 9.0),
        "{plan:#?}"
    );

    // The tenant chooses to correct hand edits.
    let correct = BillingInput {
        drift_policy: DriftPolicy::Correct,
        ..billing(Mode::Bundled)
    };
    engine.set_billing(t, &correct).await.unwrap();
    let plan = engine.billing_plan(t, true).await.unwrap();
    assert!(matches!(
        &plan.changes[..],
        [Change::Drift {
            resolution: DriftPolicy::Correct,
            ..
        }]
    ));
    // A full apply corrects the hand edit…
    let applied = engine.billing_apply(t, true).await.unwrap();
    assert_eq!(applied.done.get("correct"), Some(&1), "{applied:#?}");
    let corrected = line(cw, agreement, bundle.id).await;
    assert_eq!(corrected.quantity, Some(2.0));
    // …and a new unit updates the bundle.
    let three = ["acme.example", "mail.acme.example", "news.acme.example"];
    put_acme(&engine, t, &three).await.unwrap();
    engine.billing_apply(t, false).await.unwrap();
    let now = line(cw, agreement, bundle.id).await;
    assert_eq!(now.quantity, Some(3.0));
    assert!(now.description.unwrap().contains("news.acme.example"));
    db.cleanup().await;
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_found_by_its_marker_not_made_twice() {
    let site = Site::demo().await;
    let cw = site.admin_client();
    let agreement = managed_agreement(cw, company_id(cw, "AcmeCorp").await).await;
    for (engine, db) in engines(&site.config()).await {
        let t = billing_tenant(&site, &engine, Mode::Bundled).await;
        let before = additions(cw, agreement).await.len();
        lose_next_write(&site);

        let applied = engine.billing_apply(t, false).await.unwrap();

        assert_eq!(
            applied.done.get("adopt"),
            Some(&1),
            "{}: {applied:#?}",
            db.label
        );
        assert_eq!(
            additions(cw, agreement).await.len(),
            before + 1,
            "one line, not two"
        );
        assert_settled(&engine, t).await;
        // Put the agreement back as it was for the next database's run.
        for a in additions(cw, agreement)
            .await
            .into_iter()
            .filter(|a| a.serial_number.is_some())
        {
            cw.finance()
                .additions(agreement)
                .delete(a.id.unwrap())
                .await
                .unwrap();
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn billing_settings_name_what_is_wrong() {
    let site = Site::demo().await;
    let (engine, db) = engines(&site.config()).await.remove(0);
    let t = billing_tenant(&site, &engine, Mode::PerUnit).await;
    let wrong = |product: &str, agreement_type: &str| BillingInput {
        product: product.into(),
        agreement_type: agreement_type.into(),
        ..billing(Mode::PerUnit)
    };
    let err = engine
        .set_billing(t, &wrong("EASYDMARC", "Managed Services"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EngineError::Invalid { field, message } if field == "product" && message.contains("Product Catalog")),
        "{err}"
    );
    let err = engine
        .set_billing(t, &wrong("DMARC-MONITOR", "Platinum"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EngineError::Invalid { field, .. } if field == "agreementType"),
        "{err}"
    );
    // The API and the wizard share the engine's bound on scheduled runs.
    let err = engine
        .set_billing(
            t,
            &BillingInput {
                schedule_hours: 100_000,
                ..wrong("DMARC-MONITOR", "Managed Services")
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EngineError::Invalid { field, message } if field == "scheduleHours" && message.contains("744")),
        "{err}"
    );
    let err = map(&engine, t, "g-acme", 1, Some(999_999))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EngineError::Invalid { field, .. } if field == "agreementId"),
        "{err}"
    );
    let err = map(&engine, t, "nobody", 1, None).await.unwrap_err();
    assert!(matches!(err, EngineError::NotFound(_)));
    db.cleanup().await;
}

#[tokio::test]
async fn scheduled_billing_runs_when_due_and_checks_are_renewed_daily() {
    use cwbridge_engine::schedule::CHECK_EVERY_MS;
    let site = Site::demo().await;
    let (engine, db) = engines(&site.config()).await.remove(0);
    let t = billing_tenant(&site, &engine, Mode::Bundled).await;
    let now = cwbridge_store::now_ms();

    // On demand only: nothing runs on its own, and the check made on save is fresh.
    let work = engine.run_scheduled(now).await.unwrap();
    assert_eq!((work.checks, work.billing_runs), (0, 0));

    // Every 24 hours: the first pass applies, the next does not until a day has passed.
    let daily = BillingInput {
        schedule_hours: 24,
        ..billing(Mode::Bundled)
    };
    engine.set_billing(t, &daily).await.unwrap();
    assert_eq!(engine.run_scheduled(now).await.unwrap().billing_runs, 1);
    assert_eq!(
        engine
            .run_scheduled(now + 60_000)
            .await
            .unwrap()
            .billing_runs,
        0
    );
    let tomorrow = now + CHECK_EVERY_MS + 60_000;
    let work = engine.run_scheduled(tomorrow).await.unwrap();
    assert_eq!((work.checks, work.billing_runs), (1, 1));
    assert_eq!(engine.store().runs(t, 10).await.unwrap().len(), 2);
    db.cleanup().await;
}

#[tokio::test]
async fn a_full_plan_follows_a_company_to_its_new_default_agreement() {
    let site = Site::demo().await;
    let cw = site.admin_client();
    let (engine, db, t, acme, old) = bundled(&site).await;

    // The MSP replaces Acme's agreement: the old one cancelled, a new one of the same type.
    cw.finance()
        .agreements()
        .patch(old, &Patch::new().replace("cancelledFlag", true))
        .await
        .unwrap();
    let new = cw
        .finance()
        .agreements()
        .create(&connectwise_client::models::Agreement {
            name: Some("Acme - Managed Services 2027".into()),
            company: Some(connectwise_client::models::CompanyReference {
                id: Some(acme),
                ..Default::default()
            }),
            r#type: Some(connectwise_client::models::AgreementTypeReference {
                name: Some("Managed Services".into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .id
        .unwrap();

    // An incremental plan trusts the agreement the lines are on; a full plan asks again.
    let incremental = engine.billing_plan(t, false).await.unwrap();
    assert!(incremental.changes.is_empty(), "{incremental:#?}");
    let full = engine.billing_plan(t, true).await.unwrap();
    assert!(
        matches!(&full.changes[..], [Change::Cancel { agreement_id, .. }, Change::Create { line, .. }] if *agreement_id == old && line.agreement_id == new),
        "{full:#?}"
    );
    let applied = engine.billing_apply(t, true).await.unwrap();
    assert_eq!(
        (applied.done.get("cancel"), applied.done.get("create")),
        (Some(&1), Some(&1)),
        "{applied:#?}"
    );
    assert_settled(&engine, t).await;
    db.cleanup().await;
}
