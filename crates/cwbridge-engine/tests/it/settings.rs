//! Settings as code (issue 14) against the sandbox: a tenant set up through the engine's own
//! calls is exported, applied to a fresh tenant on the same ConnectWise and exported again the
//! same; a refused document and a dry run write nothing.

use cwbridge_engine::account::AccountInput;
use cwbridge_engine::alert::{AlertPolicyInput, TicketSettingsInput};
use cwbridge_engine::billing::Mode;
use cwbridge_engine::mapping::MappingInput;
use cwbridge_engine::settings::{ApplyOptions, MappingEntry, SettingsDocument};
use cwbridge_engine::{ConnectionInput, Engine, EngineError};
use cwbridge_store::TenantId;
use cwbridge_testkit::{Site, connected_tenant, engines, help_desk_tickets};

use crate::helpers::tenant;

/// Pushes accounts g-acme and g-blue, as the vendor's platform does.
async fn push_accounts(engine: &Engine, t: TenantId) {
    for (id, name) in [("g-acme", "Acme Corporation"), ("g-blue", "Blue Ridge")] {
        let account = AccountInput {
            name: name.into(),
            units: vec![format!("{id}.example")],
            alert_types: vec!["dmarc-failure".into(), "spf-failing".into()],
        };
        engine.put_account(t, id, &account).await.unwrap();
    }
}

/// Acme MSP as the wizard leaves it: connected and billed per unit; g-acme mapped to
/// company 1 on its Security Services agreement, g-blue to company 2; tickets of type Alert
/// on the Help Desk; g-acme forwarding DMARC failures only, which reopen their ticket.
async fn set_up(engine: &Engine, input: &ConnectionInput) -> TenantId {
    let t = connected_tenant(engine, "Acme MSP", input).await.tenant.id;
    push_accounts(engine, t).await;
    let security = engine.lookup_agreements(t, 1).await.unwrap();
    let security = security.iter().find(|a| {
        a.agreement_type.as_ref().and_then(|t| t.name.as_deref()) == Some("Security Services")
    });
    for (account, company_id, agreement_id) in
        [("g-acme", 1, security.map(|a| a.id)), ("g-blue", 2, None)]
    {
        let mapping = MappingInput {
            company_id,
            agreement_id,
        };
        engine.map_account(t, account, &mapping).await.unwrap();
    }
    let tickets = TicketSettingsInput {
        ticket_type: Some("Alert".into()),
        signature: Some("EasyDMARC".into()),
        ..help_desk_tickets()
    };
    engine.set_ticket_settings(t, &tickets).await.unwrap();
    let dmarc = ["dmarc-failure".to_owned()];
    engine.set_alert_route(t, "g-acme", &dmarc).await.unwrap();
    let reopen = AlertPolicyInput {
        note_on_resolve: true,
        recur_after_close: "reopen".into(),
    };
    engine
        .set_alert_policy(t, &dmarc[0], &reopen)
        .await
        .unwrap();
    t
}

/// A change made to a document.
type Edit = fn(&mut SettingsDocument);

/// The field an apply was refused on.
fn refused_field(r: cwbridge_engine::Result<impl std::fmt::Debug>) -> String {
    match r {
        Err(EngineError::Invalid { field, .. }) => field,
        other => panic!("not refused: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_exported_and_applied_to_a_fresh_tenant_export_the_same() {
    let site = Site::demo().await;
    let input = site.seed_member("EasyDMARC").await;
    for (engine, db) in engines(&site.config()).await {
        // Arrange: Acme set up through the wizard's calls, its settings kept as a TOML file.
        let acme = set_up(&engine, &input).await;
        let exported = engine.export_settings(acme).await.unwrap();
        let doc = SettingsDocument::parse(&exported.to_toml().unwrap()).unwrap();
        assert_eq!(doc, exported, "{}: TOML keeps the document", db.label);
        assert_eq!(doc.mappings.as_ref().map(Vec::len), Some(2));
        let beta = tenant(&engine, "Beta MSP").await;
        push_accounts(&engine, beta).await;
        let with_key = ApplyOptions {
            private_key: Some(&input.private_key),
            dry_run: false,
        };

        // A document is never enough for a new connection: the key goes beside it.
        let no_key = engine.apply_settings(beta, &doc, ApplyOptions::default());
        assert_eq!(refused_field(no_key.await), "connection.privateKey");
        // A product ConnectWise lacks, found through the connection not yet saved: refused,
        // and the connection is not saved either.
        let mut missing_product = doc.clone();
        let billing = missing_product.billing.as_mut().unwrap();
        (billing.product, billing.product_id) = ("NO-SUCH-PRODUCT".into(), None);
        let refused = engine.apply_settings(beta, &missing_product, with_key);
        assert_eq!(refused_field(refused.await), "billing.product");
        let untouched = engine.export_settings(beta).await.unwrap();
        assert!(untouched.connection.is_none() && untouched.billing.is_none());

        // Act
        let applied = engine.apply_settings(beta, &doc, with_key).await.unwrap();

        // Assert
        assert!(applied.applied, "{}: {applied}", db.label);
        assert!(applied.check.as_ref().is_some_and(|c| c.ok), "{applied:?}");
        assert_eq!(
            engine.export_settings(beta).await.unwrap(),
            doc,
            "{}",
            db.label
        );
        let again = engine.apply_settings(beta, &doc, ApplyOptions::default());
        let again = again.await.unwrap();
        assert_eq!((again.applied, again.changes()), (false, 0), "{again}");
        // Sections a document leaves out stay as they are.
        let mut bundled = doc.clone();
        bundled.billing.as_mut().unwrap().mode = Mode::Bundled;
        let billing_only = SettingsDocument {
            billing: bundled.billing.clone(),
            ..SettingsDocument::default()
        };
        let applied = engine.apply_settings(beta, &billing_only, ApplyOptions::default());
        assert_eq!(applied.await.unwrap().changes(), 1);
        assert_eq!(engine.export_settings(beta).await.unwrap(), bundled);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_document_or_a_dry_run_writes_nothing() {
    let site = Site::demo().await;
    let input = site.seed_member("EasyDMARC").await;
    for (engine, db) in engines(&site.config()).await {
        let acme = set_up(&engine, &input).await;
        let before = engine.export_settings(acme).await.unwrap();
        // Changes that would pass on their own, beside each refused part.
        let mut changed = before.clone();
        changed.billing.as_mut().unwrap().mode = Mode::Bundled;
        changed.alert_routes = Some(Vec::new());
        changed.alert_policies.as_mut().unwrap()[0].note_on_resolve = false;
        changed.mappings.as_mut().unwrap().pop();
        let cases: [(&str, Edit); 5] = [
            ("billing.product", |d| {
                let billing = d.billing.as_mut().unwrap();
                (billing.product, billing.product_id) = ("NO-SUCH-PRODUCT".into(), None);
            }),
            ("mappings[1].account", |d| {
                d.mappings
                    .as_mut()
                    .unwrap()
                    .push(MappingEntry::new("g-nobody", 1));
            }),
            ("mappings[0].companyId", |d| {
                let mapping = &mut d.mappings.as_mut().unwrap()[0];
                (mapping.company_id, mapping.agreement_id) = (999_999, None);
            }),
            ("tickets.board", |d| {
                let tickets = d.tickets.as_mut().unwrap();
                (tickets.board, tickets.board_id) = ("No Such Board".into(), None);
            }),
            ("alertPolicies[0].recurAfterClose", |d| {
                d.alert_policies.as_mut().unwrap()[0].recur_after_close = "later".into();
            }),
        ];
        for (field, edit) in cases {
            let mut doc = changed.clone();
            edit(&mut doc);
            let refused = engine.apply_settings(acme, &doc, ApplyOptions::default());
            assert_eq!(refused_field(refused.await), field, "{}", db.label);
            let after = engine.export_settings(acme).await.unwrap();
            assert_eq!(
                after, before,
                "{}: refused at {field}, nothing written",
                db.label
            );
        }

        let dry_run = ApplyOptions {
            private_key: None,
            dry_run: true,
        };
        let diff = engine
            .apply_settings(acme, &changed, dry_run)
            .await
            .unwrap();
        assert_eq!((diff.applied, diff.changes()), (false, 4), "{diff}");
        assert!(diff.to_string().contains("mappings: - g-blue"), "{diff}");
        assert_eq!(engine.export_settings(acme).await.unwrap(), before);
        db.cleanup().await;
    }
}
