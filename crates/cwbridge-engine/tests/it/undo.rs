//! Undoing a billing run against the sandbox: a mistaken run (a customer mapped to the wrong
//! company, a bundle grown) put back line by line, a line edited by hand since left alone
//! and named, the undo undone in turn, and ConnectWise and the bridge agreeing afterwards.

use connectwise_client::models::Addition;
use connectwise_client::{Client, Patch};
use cwbridge_engine::Engine;
use cwbridge_engine::account::AccountInput;
use cwbridge_engine::billing::undo::UndoPlan;
use cwbridge_engine::billing::{Change, Mode};
use cwbridge_store::TenantId;
use cwbridge_testkit::{Site, engines};

use crate::billing::{
    additions, billing_tenant, company_id, lose_next_write, managed_agreement, map,
};
use crate::pool::put_acme;

/// The active additions carrying this tenant's markers on `agreement`.
async fn ours(cw: &Client, engine: &Engine, t: TenantId, agreement: i64) -> Vec<Addition> {
    let installation = engine.store().installation_id().await.unwrap();
    let prefix = format!("cwb-{installation}-{}-", t.0);
    additions(cw, agreement)
        .await
        .into_iter()
        .filter(|a| a.cancelled_date.is_none())
        .filter(|a| {
            a.serial_number
                .as_deref()
                .is_some_and(|s| s.starts_with(&prefix))
        })
        .collect()
}

/// The one active line of ours on `agreement`.
async fn only(cw: &Client, engine: &Engine, t: TenantId, agreement: i64) -> Addition {
    let mut lines = ours(cw, engine, t, agreement).await;
    assert_eq!(lines.len(), 1, "{lines:#?}");
    lines.remove(0)
}

/// What an addition bills, whatever its id.
fn billed(a: &Addition) -> (Option<f64>, Option<String>, Option<String>, Option<f64>) {
    (
        a.quantity,
        a.description.clone(),
        a.bill_customer.clone(),
        a.unit_price,
    )
}

/// The kinds of an undo's changes, in order.
fn kinds(plan: &UndoPlan) -> Vec<&'static str> {
    plan.changes.iter().map(|s| s.change.kind()).collect()
}

#[tokio::test]
async fn a_run_is_undone_line_by_line_and_a_line_edited_since_is_left_alone_and_named() {
    let site = Site::demo().await;
    let cw = site.admin_client();
    let (acme, blue, cedar) = (
        company_id(cw, "AcmeCorp").await,
        company_id(cw, "BlueRidge").await,
        company_id(cw, "CedarLaw").await,
    );
    let acme_agreement = managed_agreement(cw, acme).await;
    let blue_agreement = managed_agreement(cw, blue).await;
    let cedar_agreement = managed_agreement(cw, cedar).await;
    for (engine, db) in engines(&site.config()).await {
        let label = db.label;
        // Acme (two domains) and Blue Ridge (one) billed as bundles.
        let t = billing_tenant(&site, &engine, Mode::Bundled).await;
        let dental = AccountInput {
            alert_types: Vec::new(),
            name: "Blue Ridge Dental Group".into(),
            units: vec!["blueridgedental.example".into()],
        };
        engine.put_account(t, "g-blue", &dental).await.unwrap();
        map(&engine, t, "g-blue", blue, None).await.unwrap();
        engine.billing_apply(t, false).await.unwrap();
        let blue_line = only(cw, &engine, t, blue_agreement).await;

        // The mistake: Blue Ridge mapped to Cedar & Finch, and a third Acme domain.
        map(&engine, t, "g-blue", cedar, None).await.unwrap();
        let three = ["acme.example", "mail.acme.example", "news.acme.example"];
        put_acme(&engine, t, &three).await.unwrap();
        let mistake = engine.billing_apply(t, false).await.unwrap();
        let done = |kind: &str| mistake.done.get(kind).copied();
        assert_eq!(
            (done("update"), done("cancel"), done("create")),
            (Some(1), Some(1), Some(1)),
            "{label}: {mistake:#?}"
        );
        // Someone corrects Acme's line by hand before the mistake is noticed.
        let acme_line = only(cw, &engine, t, acme_agreement).await;
        let edit = Patch::new().replace("quantity", 7);
        let acme_additions = cw.finance().additions(acme_agreement);
        acme_additions
            .patch(acme_line.id.unwrap(), &edit)
            .await
            .unwrap();

        // The plan: Cedar's line cancelled, Blue Ridge's made again; Acme's left alone, named.
        let plan = engine.billing_undo_plan(t, mistake.run_id).await.unwrap();
        assert_eq!(kinds(&plan), ["cancel", "create"], "{label}: {plan:#?}");
        let [skipped] = &plan.skipped[..] else {
            panic!("{label}: one line left alone: {plan:#?}");
        };
        assert_eq!(skipped.key, "g-acme/*");
        assert!(skipped.reason.contains("quantity 3 → 7"), "{skipped:?}");
        assert_eq!(ours(cw, &engine, t, cedar_agreement).await.len(), 1);

        let undo = engine.billing_undo(t, mistake.run_id).await.unwrap();
        assert!(undo.failed.is_empty(), "{label}: {undo:#?}");
        assert_eq!(undo.done.values().sum::<usize>(), 2, "{undo:#?}");
        assert!(ours(cw, &engine, t, cedar_agreement).await.is_empty());
        let again = only(cw, &engine, t, blue_agreement).await;
        assert_ne!(again.id, blue_line.id, "made again, as a new addition");
        assert_eq!(billed(&again), billed(&blue_line), "with what it had");
        assert_eq!(
            again.product.as_ref().and_then(|p| p.id),
            blue_line.product.as_ref().and_then(|p| p.id)
        );
        let acme_now = only(cw, &engine, t, acme_agreement).await;
        assert_eq!(acme_now.quantity, Some(7.0), "the hand edit stays");
        let (run, changes) = engine.billing_run(t, undo.run_id).await.unwrap();
        assert_eq!(run.undoes, Some(mistake.run_id));
        assert!(changes.iter().all(|c| c.reverts.is_some()), "{changes:#?}");

        // Undoing the undo is an ordinary undo: the mistake is back…
        let redo = engine.billing_undo(t, undo.run_id).await.unwrap();
        assert_eq!(redo.done.values().sum::<usize>(), 2, "{label}: {redo:#?}");
        assert!(ours(cw, &engine, t, blue_agreement).await.is_empty());
        assert_eq!(ours(cw, &engine, t, cedar_agreement).await.len(), 1);
        // …and an undo done once is not done twice.
        let twice = engine.billing_undo_plan(t, undo.run_id).await.unwrap();
        assert!(twice.changes.is_empty(), "{twice:#?}");
        assert_eq!(twice.skipped.len(), 2);
        let by = format!("undone already, by run {}", redo.run_id);
        assert!(twice.skipped.iter().all(|s| s.reason == by), "{twice:#?}");

        // Undone again, and the mapping fixed: Blue Ridge's line is what the bridge wants
        // (ConnectWise and the bridge agree); only Acme's hand edit remains, as drift.
        let last = engine.billing_undo(t, redo.run_id).await.unwrap();
        assert!(last.failed.is_empty(), "{last:#?}");
        map(&engine, t, "g-blue", blue, None).await.unwrap();
        let plan = engine.billing_plan(t, true).await.unwrap();
        assert!(
            matches!(&plan.changes[..], [Change::Drift { key, .. }] if key == "g-acme/*"),
            "{label}: {plan:#?}"
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn only_a_finished_run_of_the_tenant_can_be_undone() {
    let site = Site::demo().await;
    let (engine, db) = engines(&site.config()).await.remove(0);
    let t = billing_tenant(&site, &engine, Mode::PerUnit).await;
    let run = engine.billing_apply(t, false).await.unwrap().run_id;
    let other = crate::helpers::tenant(&engine, "Other MSP").await;
    for (tenant, id, want) in [
        (other, run, "no billing run"),
        (t, run + 1000, "no billing run"),
    ] {
        let e = engine.billing_undo_plan(tenant, id).await.unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
        let e = engine.billing_undo(tenant, id).await.unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
    }
    let running = engine.store().start_run(t, 60_000, None).await.unwrap();
    let e = engine.billing_undo(t, running).await.unwrap_err();
    assert!(e.to_string().contains("still running"), "{e}");
    assert_eq!(
        engine.store().runs(t, 10).await.unwrap().len(),
        2,
        "nothing started"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn a_line_made_again_whose_answer_is_lost_is_made_once() {
    let site = Site::demo().await;
    let cw = site.admin_client();
    let agreement = managed_agreement(cw, company_id(cw, "AcmeCorp").await).await;
    let (engine, db) = engines(&site.config()).await.remove(0);
    let t = billing_tenant(&site, &engine, Mode::PerUnit).await;
    engine.billing_apply(t, false).await.unwrap();
    put_acme(&engine, t, &["acme.example"]).await.unwrap();
    let removed = engine.billing_apply(t, false).await.unwrap();
    assert_eq!(removed.done.get("cancel"), Some(&1), "{removed:#?}");
    lose_next_write(&site);

    let undo = engine.billing_undo(t, removed.run_id).await.unwrap();

    assert_eq!(undo.done.get("create"), Some(&1), "{undo:#?}");
    assert_eq!(
        ours(cw, &engine, t, agreement).await.len(),
        2,
        "one line made, not two"
    );
    put_acme(&engine, t, &["acme.example", "mail.acme.example"])
        .await
        .unwrap();
    let plan = engine.billing_plan(t, true).await.unwrap();
    assert!(
        plan.changes.is_empty(),
        "the bridge knows the line: {plan:#?}"
    );
    db.cleanup().await;
}
