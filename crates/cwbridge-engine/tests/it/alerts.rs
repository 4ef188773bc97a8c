//! Alerts → tickets against the sandbox: one ticket per alert key, notes for repeats,
//! policies for resolves and recurrences, and exactly once across lost answers.

use std::time::Duration;

use connectwise_client::conditions::field;
use connectwise_client::models::{ServiceNote, ServiceStatusReference, Ticket};
use connectwise_client::{Client, Patch};
use connectwise_sandbox::{Faults, LostMode, Preset};
use cwbridge_engine::Engine;
use cwbridge_engine::account::AccountInput;
use cwbridge_engine::alert::{AlertInput, AlertPolicyInput, AlertView, TicketSettingsInput};
use cwbridge_engine::mapping::MappingInput;
use cwbridge_store::TenantId;

use crate::helpers::{Site, engines};

/// A tenant with tickets set up (Help Desk, New, Priority 3, Alert type) and Acme mapped.
async fn alert_tenant(site: &Site, engine: &Engine, name: &str) -> TenantId {
    let input = site
        .api_member(name, &Preset::BillingTickets.grants())
        .await;
    let t = engine.create_tenant(name).await.unwrap().tenant.id;
    engine.save_connection(t, &input).await.unwrap();
    engine
        .put_account(
            t,
            "g-acme",
            &AccountInput {
                alert_types: Vec::new(),
                name: "Acme Corporation".into(),
                units: vec!["acme.example".into()],
            },
        )
        .await
        .unwrap();
    engine
        .map_account(
            t,
            "g-acme",
            &MappingInput {
                company_id: 1,
                agreement_id: None,
            },
        )
        .await
        .unwrap();
    engine
        .set_ticket_settings(
            t,
            &TicketSettingsInput {
                board: "Help Desk".into(),
                status: "New".into(),
                priority: "Priority 3 - Normal Response".into(),
                ticket_type: Some("Alert".into()),
                signature: Some("EasyDMARC".into()),
            },
        )
        .await
        .unwrap();
    t
}

fn alert(key: &str, summary: &str, resolved: bool) -> AlertInput {
    AlertInput {
        account: "g-acme".into(),
        alert_type: "dmarc-record-changed".into(),
        key: Some(key.into()),
        summary: summary.into(),
        description: format!(
            "The DMARC record of acme.example changed.\nOld: p=none\nNew: p=reject\n({summary})"
        ),
        resolved,
    }
}

/// Delivers everything due; waits for retries to come due, up to 20 s.
async fn drain(engine: &Engine, tenant: TenantId) -> Vec<AlertView> {
    for _ in 0..200 {
        while engine.deliver_next().await.unwrap() {}
        let alerts = engine.alerts(tenant).await.unwrap();
        if alerts.iter().all(|a| a.state != "queued") {
            return alerts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "alerts still queued: {:#?}",
        engine.alerts(tenant).await.unwrap()
    );
}

async fn tickets_with(cw: &Client, marker_prefix: &str) -> Vec<Ticket> {
    cw.service()
        .tickets()
        .list()
        .conditions(field("externalXRef").like(format!("{marker_prefix}%")))
        .page_size(1000)
        .send()
        .await
        .unwrap()
}

async fn notes(cw: &Client, ticket: i64) -> Vec<ServiceNote> {
    cw.service()
        .ticket_notes(ticket)
        .list()
        .page_size(1000)
        .send()
        .await
        .unwrap()
}

async fn close(cw: &Client, ticket: i64) {
    let t = cw.service().tickets().get(ticket).await.unwrap();
    let board = t.board.unwrap().id.unwrap();
    let closed = cw
        .service()
        .board_statuses(board)
        .list()
        .conditions(field("name").eq("Closed"))
        .send()
        .await
        .unwrap()[0]
        .id;
    cw.service()
        .tickets()
        .patch(
            ticket,
            &Patch::new().replace(
                "status",
                ServiceStatusReference {
                    id: closed,
                    ..Default::default()
                },
            ),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn an_alert_becomes_one_ticket_and_its_repeats_become_notes() {
    let site = Site::demo().await;
    let cw = site.admin_client();
    for (n, (engine, db)) in engines(&site.config()).await.into_iter().enumerate() {
        let t = alert_tenant(&site, &engine, &format!("Alerts{n}")).await;
        let prefix = format!(
            "cwb-{}-{}-",
            engine.store().installation_id().await.unwrap(),
            t
        );

        let first = engine
            .receive_alert(
                t,
                &alert(
                    "acme.example/dmarc",
                    "DMARC record changed for acme.example",
                    false,
                ),
            )
            .await
            .unwrap();
        assert_eq!(first.state, "queued", "stored, not yet delivered");
        engine
            .receive_alert(
                t,
                &alert("acme.example/dmarc", "DMARC record changed again", false),
            )
            .await
            .unwrap();
        let done = drain(&engine, t).await;

        assert!(
            done.iter().all(|a| a.state == "delivered"),
            "{}: {done:#?}",
            db.label
        );
        let tickets = tickets_with(&cw, &prefix).await;
        assert_eq!(tickets.len(), 1, "one ticket for one alert key");
        let ticket = &tickets[0];
        assert_eq!(
            ticket.summary.as_deref(),
            Some("DMARC record changed for acme.example")
        );
        assert_eq!(ticket.company.as_ref().and_then(|c| c.id), Some(1));
        assert_eq!(
            ticket.board.as_ref().and_then(|b| b.name.as_deref()),
            Some("Help Desk")
        );
        assert_eq!(
            ticket.r#type.as_ref().and_then(|b| b.name.as_deref()),
            Some("Alert")
        );
        let id = ticket.id.unwrap();
        let notes = notes(&cw, id).await;
        // The description, as ConnectWise keeps it (the initial description note), is the
        // alert's text exactly; the repeat is one note, signed.
        assert!(
            notes.iter().any(|n| n.text.as_deref()
                == Some(
                    alert("", "DMARC record changed for acme.example", false)
                        .description
                        .as_str()
                )),
            "{notes:#?}"
        );
        let repeats: Vec<_> = notes
            .iter()
            .filter(|n| {
                n.text
                    .as_deref()
                    .is_some_and(|t| t.contains("on behalf of EasyDMARC"))
            })
            .collect();
        assert_eq!(repeats.len(), 1, "{notes:#?}");
        assert_eq!(
            done.iter()
                .map(|a| a.action.as_deref().unwrap())
                .collect::<Vec<_>>(),
            ["note", "ticket"]
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn resolves_and_recurrences_follow_the_alert_types_policy() {
    let site = Site::demo().await;
    let cw = site.admin_client();
    let (engine, db) = engines(&site.config()).await.remove(0);
    let t = alert_tenant(&site, &engine, "Policies").await;
    let prefix = format!(
        "cwb-{}-{}-",
        engine.store().installation_id().await.unwrap(),
        t
    );
    engine
        .receive_alert(t, &alert("k1", "SPF failing", false))
        .await
        .unwrap();
    drain(&engine, t).await;
    let ticket = tickets_with(&cw, &prefix).await[0].id.unwrap();

    // By default a resolve changes nothing in ConnectWise (statuses stay independent).
    engine
        .receive_alert(t, &alert("k1", "SPF passing again", true))
        .await
        .unwrap();
    let latest = drain(&engine, t).await;
    assert_eq!(
        (latest[0].state.as_str(), latest[0].action.as_deref()),
        (
            "skipped",
            Some("alert and ticket statuses stay independent")
        )
    );
    let before = notes(&cw, ticket).await.len();

    // With the policy, a resolve adds a note…
    engine
        .set_alert_policy(
            t,
            "dmarc-record-changed",
            &AlertPolicyInput {
                note_on_resolve: true,
                recur_after_close: "new".into(),
            },
        )
        .await
        .unwrap();
    engine
        .receive_alert(t, &alert("k1", "SPF passing", true))
        .await
        .unwrap();
    drain(&engine, t).await;
    assert_eq!(notes(&cw, ticket).await.len(), before + 1);

    // …a recurrence after the ticket was closed opens a new ticket (policy `new`)…
    close(&cw, ticket).await;
    engine
        .receive_alert(t, &alert("k1", "SPF failing again", false))
        .await
        .unwrap();
    drain(&engine, t).await;
    let tickets = tickets_with(&cw, &prefix).await;
    assert_eq!(tickets.len(), 2);
    let second = tickets.iter().map(|t| t.id.unwrap()).max().unwrap();

    // …or reopens it (policy `reopen`).
    engine
        .set_alert_policy(
            t,
            "dmarc-record-changed",
            &AlertPolicyInput {
                note_on_resolve: false,
                recur_after_close: "reopen".into(),
            },
        )
        .await
        .unwrap();
    close(&cw, second).await;
    engine
        .receive_alert(t, &alert("k1", "SPF failing once more", false))
        .await
        .unwrap();
    let latest = drain(&engine, t).await;
    assert_eq!(latest[0].action.as_deref(), Some("reopen"));
    assert_eq!(tickets_with(&cw, &prefix).await.len(), 2);
    let reopened = cw.service().tickets().get(second).await.unwrap();
    assert_eq!(reopened.closed_flag, Some(false));
    db.cleanup().await;
}

#[tokio::test]
async fn lost_answers_never_duplicate_a_ticket_or_a_note() {
    let site = Site::demo().await;
    let cw = site.admin_client();
    for (n, (engine, db)) in engines(&site.config()).await.into_iter().enumerate() {
        let t = alert_tenant(&site, &engine, &format!("Lossy{n}")).await;
        let prefix = format!(
            "cwb-{}-{}-",
            engine.store().installation_id().await.unwrap(),
            t
        );
        engine
            .receive_alert(t, &alert("lossy", "First", false))
            .await
            .unwrap();
        engine
            .receive_alert(t, &alert("lossy", "Second", false))
            .await
            .unwrap();
        // The ticket's create and the note's create are both carried out, answers lost.
        site.sandbox
            .set_faults(Faults {
                lose_next_writes: 2,
                lost_response_mode: LostMode::Drop,
                ..Faults::default()
            })
            .unwrap();

        let done = drain(&engine, t).await;

        assert!(
            done.iter().all(|a| a.state == "delivered"),
            "{}: {done:#?}",
            db.label
        );
        assert!(
            done.iter().any(|a| a.attempts > 1),
            "a retry happened: {done:#?}"
        );
        let tickets = tickets_with(&cw, &prefix).await;
        assert_eq!(tickets.len(), 1, "{}", db.label);
        let signed = notes(&cw, tickets[0].id.unwrap())
            .await
            .into_iter()
            .filter(|n| {
                n.text
                    .as_deref()
                    .is_some_and(|t| t.contains("on behalf of"))
            })
            .count();
        assert_eq!(signed, 1, "one note for the one repeat");
        site.sandbox.set_faults(Faults::default()).unwrap();
        db.cleanup().await;
    }
}

#[tokio::test]
async fn alerts_not_forwarded_are_skipped_and_permanent_failures_kept_with_their_reason() {
    let site = Site::demo().await;
    let (engine, db) = engines(&site.config()).await.remove(0);
    let t = alert_tenant(&site, &engine, "Routes").await;
    engine
        .set_alert_route(t, "g-acme", &["spf-failing".into()])
        .await
        .unwrap();
    engine
        .receive_alert(t, &alert("x", "Not forwarded", false))
        .await
        .unwrap();
    engine
        .put_account(
            t,
            "g-unmapped",
            &AccountInput {
                alert_types: Vec::new(),
                name: "Nobody".into(),
                units: vec![],
            },
        )
        .await
        .unwrap();
    let mut unmapped = alert("y", "No company", false);
    unmapped.account = "g-unmapped".into();
    let failing = engine.receive_alert(t, &unmapped).await.unwrap();

    let done = drain(&engine, t).await;

    let by_summary = |s: &str| done.iter().find(|a| a.summary == s).unwrap().clone();
    assert_eq!(by_summary("Not forwarded").state, "skipped");
    let failed = by_summary("No company");
    assert_eq!(failed.state, "failed");
    assert!(failed.last_error.unwrap().contains("not mapped"));
    // Mapped now: the retry button delivers it.
    engine
        .map_account(
            t,
            "g-unmapped",
            &MappingInput {
                company_id: 2,
                agreement_id: None,
            },
        )
        .await
        .unwrap();
    engine.retry_alert(t, failing.id).await.unwrap();
    let done = drain(&engine, t).await;
    assert_eq!(
        done.iter().find(|a| a.id == failing.id).unwrap().state,
        "delivered"
    );
    db.cleanup().await;
}
