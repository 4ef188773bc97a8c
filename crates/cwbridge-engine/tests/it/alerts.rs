//! Alerts → tickets against the sandbox: one ticket per alert key, notes for repeats,
//! policies for resolves and recurrences, and exactly once across lost answers.

use std::time::Duration;

use connectwise_client::conditions::field;
use connectwise_client::models::{ServiceNote, ServiceStatusReference, Ticket};
use connectwise_client::{Client, Patch};
use connectwise_sandbox::{Faults, LostMode};
use cwbridge_engine::Engine;
use cwbridge_engine::account::AccountInput;
use cwbridge_engine::alert::{AlertInput, AlertPolicyInput, AlertView};
use cwbridge_engine::mapping::MappingInput;
use cwbridge_store::TenantId;

use crate::pool::Worker;
use cwbridge_testkit::{Site, engines};

/// A tenant with tickets set up (Help Desk, New, Priority 3, Alert type) and Acme mapped.
async fn alert_tenant(site: &Site, engine: &Engine, name: &str) -> TenantId {
    let input = site.seed_member(name).await;
    crate::pool::alert_tenant(engine, name, &input, "EasyDMARC")
        .await
        .unwrap()
}

/// A tenant as [`alert_tenant`] makes it, and the start of its tickets' markers
/// (`externalXRef`).
async fn marked_tenant(site: &Site, engine: &Engine, name: &str) -> (TenantId, String) {
    let t = alert_tenant(site, engine, name).await;
    let installation = engine.store().installation_id().await.unwrap();
    (t, format!("cwb-{installation}-{t}-"))
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

/// Receives `alert(key, summary, resolved)` for tenant `t`.
async fn receive(
    engine: &Engine,
    t: TenantId,
    key: &str,
    summary: &str,
    resolved: bool,
) -> AlertView {
    let input = alert(key, summary, resolved);
    engine.receive_alert(t, &input).await.unwrap()
}

/// Receives `count` open alerts `summary` for tenant `t`, keyed `{keys}-0`, `{keys}-1`…
async fn receive_many(
    engine: &Engine,
    t: TenantId,
    keys: &str,
    count: usize,
    summary: &str,
) -> Vec<AlertView> {
    let mut received = Vec::new();
    for i in 0..count {
        received.push(receive(engine, t, &format!("{keys}-{i}"), summary, false).await);
    }
    received
}

/// Sets the sandbox's faults: the defaults, as `set` changes them.
fn faults(site: &Site, set: impl FnOnce(&mut Faults)) {
    let mut faults = Faults::default();
    set(&mut faults);
    site.sandbox.set_faults(faults).unwrap();
}

/// Sets what `dmarc-record-changed` alerts do on resolve and after their ticket is closed.
async fn set_policy(engine: &Engine, t: TenantId, note_on_resolve: bool, recur_after_close: &str) {
    let policy = AlertPolicyInput {
        note_on_resolve,
        recur_after_close: recur_after_close.into(),
    };
    engine
        .set_alert_policy(t, "dmarc-record-changed", &policy)
        .await
        .unwrap();
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
    let status = ServiceStatusReference {
        id: closed,
        ..Default::default()
    };
    let patch = Patch::new().replace("status", status);
    cw.service().tickets().patch(ticket, &patch).await.unwrap();
}

#[tokio::test]
async fn an_alert_becomes_one_ticket_and_its_repeats_become_notes() {
    let site = Site::demo().await;
    let cw = site.admin_client();
    for (engine, db) in engines(&site.config()).await {
        let (t, prefix) = marked_tenant(&site, &engine, &format!("Alerts{}", db.label)).await;
        let (key, summary) = (
            "acme.example/dmarc",
            "DMARC record changed for acme.example",
        );

        let first = receive(&engine, t, key, summary, false).await;
        assert_eq!(first.state, "queued", "stored, not yet delivered");
        receive(&engine, t, key, "DMARC record changed again", false).await;
        let done = drain(&engine, t).await;

        assert!(
            done.iter().all(|a| a.state == "delivered"),
            "{}: {done:#?}",
            db.label
        );
        let tickets = tickets_with(cw, &prefix).await;
        assert_eq!(tickets.len(), 1, "one ticket for one alert key");
        let ticket = &tickets[0];
        // Its summary, company, board and type.
        let made = (
            ticket.summary.as_deref(),
            ticket.company.as_ref().and_then(|c| c.id),
            ticket.board.as_ref().and_then(|b| b.name.as_deref()),
            ticket.r#type.as_ref().and_then(|b| b.name.as_deref()),
        );
        assert_eq!(
            made,
            (Some(summary), Some(1), Some("Help Desk"), Some("Alert"))
        );
        let id = ticket.id.unwrap();
        let notes = notes(cw, id).await;
        // The description, as ConnectWise keeps it (the initial description note), is the
        // alert's text exactly; the repeat is one note, signed.
        let description = alert(key, summary, false).description;
        assert!(
            notes
                .iter()
                .any(|n| n.text.as_deref() == Some(description.as_str())),
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
    let (t, prefix) = marked_tenant(&site, &engine, "Policies").await;
    receive(&engine, t, "k1", "SPF failing", false).await;
    drain(&engine, t).await;
    let ticket = tickets_with(cw, &prefix).await[0].id.unwrap();

    // By default a resolve changes nothing in ConnectWise (statuses stay independent).
    receive(&engine, t, "k1", "SPF passing again", true).await;
    let latest = drain(&engine, t).await;
    assert_eq!(
        (latest[0].state.as_str(), latest[0].action.as_deref()),
        (
            "skipped",
            Some("alert and ticket statuses stay independent")
        )
    );
    let before = notes(cw, ticket).await.len();

    // With the policy, a resolve adds a note…
    set_policy(&engine, t, true, "new").await;
    receive(&engine, t, "k1", "SPF passing", true).await;
    drain(&engine, t).await;
    assert_eq!(notes(cw, ticket).await.len(), before + 1);

    // …a recurrence after the ticket was closed opens a new ticket (policy `new`)…
    close(cw, ticket).await;
    receive(&engine, t, "k1", "SPF failing again", false).await;
    drain(&engine, t).await;
    let tickets = tickets_with(cw, &prefix).await;
    assert_eq!(tickets.len(), 2);
    let second = tickets.iter().map(|t| t.id.unwrap()).max().unwrap();

    // …or reopens it (policy `reopen`).
    set_policy(&engine, t, false, "reopen").await;
    close(cw, second).await;
    receive(&engine, t, "k1", "SPF failing once more", false).await;
    let latest = drain(&engine, t).await;
    assert_eq!(latest[0].action.as_deref(), Some("reopen"));
    assert_eq!(tickets_with(cw, &prefix).await.len(), 2);
    let reopened = cw.service().tickets().get(second).await.unwrap();
    assert_eq!(reopened.closed_flag, Some(false));
    db.cleanup().await;
}

#[tokio::test]
async fn lost_answers_never_duplicate_a_ticket_or_a_note() {
    let site = Site::demo().await;
    let cw = site.admin_client();
    for (engine, db) in engines(&site.config()).await {
        let (t, prefix) = marked_tenant(&site, &engine, &format!("Lossy{}", db.label)).await;
        receive(&engine, t, "lossy", "First", false).await;
        receive(&engine, t, "lossy", "Second", false).await;
        // The ticket's create and the note's create are both carried out, answers lost.
        faults(&site, |f| {
            f.lose_next_writes = 2;
            f.lost_response_mode = LostMode::Drop;
        });

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
        let tickets = tickets_with(cw, &prefix).await;
        assert_eq!(tickets.len(), 1, "{}", db.label);
        let signed = notes(cw, tickets[0].id.unwrap())
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
    receive(&engine, t, "x", "Not forwarded", false).await;
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
    let company_2 = MappingInput {
        company_id: 2,
        agreement_id: None,
    };
    engine
        .map_account(t, "g-unmapped", &company_2)
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

/// Runs the delivery pool until every alert of `tenant` has left the queue; answers how
/// long that took.
async fn deliver_all(engine: &Engine, tenant: TenantId) -> Duration {
    let started = std::time::Instant::now();
    let worker = Worker::start(engine);
    for _ in 0..600 {
        let alerts = engine.alerts(tenant).await.unwrap();
        if alerts.iter().all(|a| a.state != "queued") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed();
    worker.stop().await;
    took
}

#[tokio::test]
async fn a_tenant_whose_connectwise_hangs_does_not_hold_up_another_tenants_alerts() {
    let site = Site::demo().await;
    let (hanging, hang) = crate::pool::hanging_site().await.unwrap();
    let config = cwbridge_engine::EngineConfig {
        fence: connectwise_client::Fence::public_only()
            .allow_network("127.0.0.1/32".parse().unwrap())
            .allow_http(true),
        delivery_deadline: Duration::from_secs(2),
        deliveries_per_tenant: 2,
        delivery_concurrency: 8,
        ..site.config()
    };
    for (engine, db) in engines(&config).await {
        hang.store(false, std::sync::atomic::Ordering::SeqCst);
        let healthy = alert_tenant(&site, &engine, &format!("Healthy{}", db.label)).await;
        let stuck = alert_tenant(&site, &engine, &format!("Stuck{}", db.label)).await;

        // The healthy tenant alone, for comparison.
        receive_many(&engine, healthy, "alone", 6, "alone").await;
        let alone = deliver_all(&engine, healthy).await;

        // The other tenant's ConnectWise now accepts connections and never answers; its
        // alerts are queued first, so an "oldest first" worker would serve them first.
        let input = site.seed_member(&format!("S2{}", db.label)).await;
        let (_, report) = engine
            .save_connection(
                stuck,
                &cwbridge_engine::ConnectionInput {
                    site: format!("http://{hanging}"),
                    ..input
                },
            )
            .await
            .unwrap();
        assert!(!report.ok);
        hang.store(true, std::sync::atomic::Ordering::SeqCst);
        receive_many(&engine, stuck, "stuck", 10, "stuck").await;
        receive_many(&engine, healthy, "busy", 6, "beside a hanging tenant").await;
        let beside = deliver_all(&engine, healthy).await;

        let delivered = engine.alerts(healthy).await.unwrap();
        assert!(
            delivered.iter().all(|a| a.state == "delivered"),
            "{delivered:#?}"
        );
        // Sequentially, the stuck tenant's ten alerts would cost 10 × 2 s first.
        assert!(
            beside < alone * 2 + Duration::from_secs(2),
            "{}: alone {alone:?}, beside a hanging tenant {beside:?}",
            db.label
        );
        let stuck_alerts = engine.alerts(stuck).await.unwrap();
        assert!(
            stuck_alerts.iter().all(|a| a.state == "queued"),
            "{stuck_alerts:#?}"
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn transient_failures_stop_at_the_retry_cap_and_free_the_keys_later_alerts() {
    let site = Site::demo().await;
    let config = cwbridge_engine::EngineConfig {
        max_delivery_attempts: 2,
        ..site.config()
    };
    for (engine, db) in engines(&config).await {
        let t = alert_tenant(&site, &engine, &format!("Capped{}", db.label)).await;
        faults(&site, |f| f.error_rate = 1.0);
        let first = receive(&engine, t, "capped", "first", false).await;
        let second = receive(&engine, t, "capped", "second", false).await;
        // Attempt 1 fails and is retried; attempt 2 fails and is the last.
        for _ in 0..100 {
            while engine.deliver_next().await.unwrap() {}
            if engine.alert(t, first.id).await.unwrap().state != "queued" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let failed = engine.alert(t, first.id).await.unwrap();
        assert_eq!(failed.state, "failed", "{failed:#?}");
        assert_eq!(failed.attempts, 2);
        let reason = failed.last_error.unwrap_or_default();
        assert!(
            reason.starts_with("gave up after 2 attempts over "),
            "{reason}"
        );

        // ConnectWise recovers: the key's next alert is not held behind the dead one.
        site.sandbox.set_faults(Faults::default()).unwrap();
        let done = drain(&engine, t).await;
        let second = done.iter().find(|a| a.id == second.id).unwrap();
        assert_eq!(second.state, "delivered", "{second:#?}");
        assert_eq!(second.action.as_deref(), Some("ticket"));

        // Retry queues the failed one again, behind nothing: it becomes a note.
        engine.retry_alert(t, first.id).await.unwrap();
        let done = drain(&engine, t).await;
        let first = done.iter().find(|a| a.id == first.id).unwrap();
        assert_eq!(first.state, "delivered", "{first:#?}");
        assert_eq!(first.action.as_deref(), Some("note"));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_tenant_whose_connectwise_keeps_failing_is_paused_as_a_whole() {
    let site = Site::demo().await;
    for (engine, db) in engines(&site.config()).await {
        let t = alert_tenant(&site, &engine, &format!("Failing{}", db.label)).await;
        faults(&site, |f| f.error_rate = 1.0);
        let down = receive_many(&engine, t, "down", 6, "down").await;
        // Five deliveries fail in a row: the tenant is paused, and says why.
        for _ in 0..5 {
            assert!(engine.deliver_next().await.unwrap());
        }
        let pause = engine.delivery_pause(t).expect("paused");
        assert_eq!(pause.failures, 5);
        assert!(
            pause.reason.contains("500") || pause.reason.contains("503"),
            "{pause:?}"
        );
        assert!(pause.until > cwbridge_store::now_ms());

        // The pool leaves a paused tenant alone: the sixth alert is not tried.
        let worker = Worker::start(&engine);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        worker.stop().await;
        let sixth = engine.alert(t, down[5].id).await.unwrap();
        assert_eq!(sixth.attempts, 0, "{sixth:#?}");
        site.sandbox.set_faults(Faults::default()).unwrap();
        db.cleanup().await;
    }
}
