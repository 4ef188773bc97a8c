//! Connect (seed 004 step 1): saved sealed, checked, and every problem named.

use connectwise_sandbox::roles::Action;
use cwbridge_engine::preflight::{Action as Need, Status};
use cwbridge_engine::ticket_events::{Receive, TicketEventsInput};
use cwbridge_engine::{Engine, EngineError, Keyring};

use crate::helpers::{changed, connected_tenant, keyed_engine, tenant};
use cwbridge_testkit::{Site, engines};

#[tokio::test]
async fn seed_004s_role_passes_the_check() {
    let site = Site::demo().await;
    let input = site.seed_member("EasyDMARC").await;
    for (engine, db) in engines(&site.config()).await {
        let t = tenant(&engine, "Acme MSP").await;

        let (view, report) = engine.save_connection(t, &input).await.unwrap();

        assert!(report.ok, "{}: {report:#?}", db.label);
        assert_eq!(report.codebase.as_deref(), Some("v4_6_release/"));
        assert!(report.version.is_some());
        let names: Vec<&str> = report.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["reach", "authenticate", "permissions"]);
        assert_eq!(report.missing().count(), 0);
        assert_eq!(
            report.permissions.len(),
            12,
            "seed 004's role, permission by permission"
        );
        // Every permission is told, Finance > Invoicing too (the sandbox serves invoices).
        for p in &report.permissions {
            assert_eq!(p.status, Status::Granted, "{p:?}");
        }
        assert_eq!(view.public_key, input.public_key);
        assert_eq!(engine.last_check(t).await.unwrap(), Some(report));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_role_lacking_one_permission_is_told_exactly_which_and_how_to_fix_it() {
    let site = Site::demo().await;
    let input = site
        .member_lacking("NoTicketAdd", "Service Tickets", Action::Add)
        .await;
    for (engine, db) in engines(&site.config()).await {
        let t = tenant(&engine, "Acme MSP").await;

        let (_, report) = engine.save_connection(t, &input).await.unwrap();

        assert!(!report.ok);
        let missing: Vec<_> = report.missing().collect();
        assert_eq!(missing.len(), 1, "{}: {missing:#?}", db.label);
        assert_eq!(missing[0].module, "Service Desk");
        assert_eq!(missing[0].function, "Service Tickets");
        assert_eq!(missing[0].action, Need::Add);
        assert!(
            missing[0]
                .detail
                .contains("Service Desk > Service Tickets: set Add Level to All"),
            "{}",
            missing[0].detail
        );
        let step = report.steps.last().unwrap();
        assert!(!step.ok && step.hints == vec![missing[0].detail.clone()]);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_wrong_key_an_unknown_company_and_an_unreachable_site_each_get_their_hints() {
    let site = Site::demo().await;
    let good = site.seed_member("Hints").await;
    let (engine, db) = engines(&site.config()).await.remove(0);
    let t = tenant(&engine, "Acme MSP").await;

    let wrong_key = changed(&good, |c| c.private_key = "NotTheRightKey12".into());
    let (_, report) = engine.save_connection(t, &wrong_key).await.unwrap();
    let step = report.steps.last().unwrap();
    assert_eq!(
        (step.name.as_str(), step.ok),
        ("authenticate", false),
        "{report:#?}"
    );
    assert!(step.hints.iter().any(|h| h.contains("API Keys")));

    let wrong_company = changed(&good, |c| c.company_id = "nosuchmsp".into());
    let (_, report) = engine.save_connection(t, &wrong_company).await.unwrap();
    let step = &report.steps[0];
    assert_eq!((step.name.as_str(), step.ok), ("reach", false));
    assert!(
        step.hints.iter().any(|h| h.contains("nosuchmsp")),
        "{step:#?}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let unreachable = changed(&good, |c| c.site = format!("127.0.0.1:{port}"));
    let (_, report) = engine.save_connection(t, &unreachable).await.unwrap();
    let step = &report.steps[0];
    assert!(!step.ok);
    assert!(
        step.hints
            .iter()
            .any(|h| h.contains("203.0.113.7") && h.contains("allow-listed")),
        "{step:#?}"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn fields_are_checked_before_anything_is_saved() {
    let site = Site::demo().await;
    let good = site.seed_member("Fields").await;
    let (engine, db) = engines(&site.config()).await.remove(0);
    let t = tenant(&engine, "Acme MSP").await;
    let api_url = "https://na.myconnectwise.net/v4_6_release/apis/3.0";
    let cases = [
        (changed(&good, |c| c.site = api_url.into()), "site"),
        (changed(&good, |c| c.site = " ".into()), "site"),
        (changed(&good, |c| c.company_id = "".into()), "companyId"),
        (
            changed(&good, |c| c.private_key = "two words".into()),
            "privateKey",
        ),
        (changed(&good, |c| c.client_id = "".into()), "clientId"),
    ];
    for (input, field) in cases {
        let err = engine.save_connection(t, &input).await.unwrap_err();
        assert!(
            matches!(&err, EngineError::Invalid { field: f, .. } if f == field),
            "{err}"
        );
    }
    assert!(engine.connection(t).await.is_err(), "nothing was saved");
    db.cleanup().await;
}

#[tokio::test]
async fn the_private_key_is_sealed_at_rest_and_survives_a_key_rotation() {
    let site = Site::demo().await;
    let input = site.seed_member("Sealed").await;
    for (engine, db) in engines(&site.config()).await {
        let t = connected_tenant(&engine, &input).await;
        let stored = engine.store().connection(t).await.unwrap().unwrap();
        assert!(!stored.private_key_sealed.contains(&input.private_key));

        // Rotate: a new key in front, the old one kept to open what it sealed.
        let old = Keyring::generate_key();
        let new = Keyring::generate_key();
        let sealed_old = keyed_engine(&db, &[&old], site.config());
        sealed_old.save_connection(t, &input).await.unwrap();
        // The tenant's own webhook secret is sealed the same way, and rotated with the key.
        let events = TicketEventsInput {
            receive: Receive::Poll,
            webhook_url: Some("https://hooks.example.com/cwbridge".into()),
            webhook_secret: Some("a-webhook-secret-of-32-characters".into()),
        };
        sealed_old.set_ticket_events(t, &events).await.unwrap();
        let secret = |engine: &Engine| {
            let store = engine.store().clone();
            async move {
                store
                    .ticket_events(t)
                    .await
                    .unwrap()
                    .unwrap()
                    .webhook_secret
            }
        };
        let before = secret(&sealed_old).await.unwrap();
        assert!(!before.contains("a-webhook-secret"), "sealed at rest");
        let rotated = keyed_engine(&db, &[&new, &old], site.config());
        assert_eq!(rotated.rotate_secrets().await.unwrap(), 2);
        assert_ne!(secret(&rotated).await.unwrap(), before);
        assert_eq!(
            rotated.rotate_secrets().await.unwrap(),
            0,
            "nothing left to re-seal"
        );
        let only_new = keyed_engine(&db, &[&new], site.config());
        assert!(only_new.check_connection(t).await.unwrap().ok);
        assert!(
            sealed_old.client_for(t).await.is_err(),
            "the old keyring alone no longer opens it"
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_403_on_any_call_checks_the_connection_again() {
    let site = Site::demo().await;
    let input = site
        .member_lacking("NoCompanies", "Company Maintenance", Action::Inquire)
        .await;
    let (engine, db) = engines(&site.config()).await.remove(0);
    let t = connected_tenant(&engine, &input).await;
    let first = engine.last_check(t).await.unwrap().unwrap().checked_at;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    // A look-up ConnectWise refuses…
    let err = engine.lookup_companies(t, None).await.unwrap_err();
    assert!(
        matches!(&err, EngineError::ConnectWise(e) if e.kind() == connectwise_client::ErrorKind::Permission),
        "{err}"
    );

    // …re-checked the connection, which names the missing permission.
    let again = engine.last_check(t).await.unwrap().unwrap();
    assert!(again.checked_at > first);
    assert!(again.missing().any(|p| p.function == "Company Maintenance"));
    db.cleanup().await;
}

#[tokio::test]
async fn an_empty_private_key_keeps_the_saved_one_only_for_the_same_site_and_key() {
    let site = Site::demo().await;
    let input = site.seed_member("Kept").await;
    for (engine, db) in engines(&site.config()).await {
        let t = connected_tenant(&engine, &input).await;
        let sealed = engine.store().connection(t).await.unwrap().unwrap();

        // Saved again from the wizard, the private key left empty: kept, and it still works.
        let again = changed(&input, |c| c.private_key = String::new());
        let (_, report) = engine.save_connection(t, &again).await.unwrap();
        assert!(report.ok, "{}: {report:#?}", db.label);
        let now = engine.store().connection(t).await.unwrap().unwrap();
        assert_eq!(now.private_key_sealed, sealed.private_key_sealed);

        // Another site (or company, or public key) never gets the saved key.
        for elsewhere in [
            changed(&again, |c| c.site = "cw.elsewhere.example".into()),
            changed(&again, |c| c.company_id = "other".into()),
            changed(&again, |c| c.public_key = "AnotherPublicKey".into()),
        ] {
            match engine.save_connection(t, &elsewhere).await {
                Err(EngineError::Invalid { field, .. }) => assert_eq!(field, "privateKey"),
                other => panic!("{}: {other:?}", db.label),
            }
        }
        let kept = engine.store().connection(t).await.unwrap().unwrap();
        assert_eq!(kept.site, input.site, "a refused save changes nothing");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn connectwise_failures_are_shared_by_every_instance_and_checks_add_none() {
    let site = Site::demo().await;
    let input = site.seed_member("Shared").await;
    for (engine, db) in engines(&site.config()).await {
        let t = tenant(&engine, "Acme MSP").await;
        let (_, report) = engine.save_connection(t, &input).await.unwrap();
        assert!(report.ok);
        engine.lookup_priorities(t).await.unwrap(); // starts the writer, as any call does
        engine.flush_failures().await;
        assert_eq!(
            engine.recent_failures(t).await.unwrap(),
            [],
            "{}: the check's probes are not failures",
            db.label
        );

        // ConnectWise throttles one request of this instance…
        site.admin
            .set_faults(&connectwise_sandbox::Faults {
                throttle_next: 1,
                ..Default::default()
            })
            .await
            .unwrap();
        engine.lookup_boards(t).await.unwrap();
        engine.flush_failures().await;

        // …and another instance on the same database sees it.
        let other = keyed_engine(&db, &[Keyring::generate_key()], site.config());
        let seen = other.recent_failures(t).await.unwrap();
        assert_eq!(seen.len(), 1, "{}: {seen:#?}", db.label);
        assert_eq!(seen[0].status, Some(429));
        assert!(seen[0].retrying);
        assert!(seen[0].path.starts_with("service/boards"), "{seen:#?}");
        db.cleanup().await;
    }
}
