//! No alert lost and no ticket or note doubled, across ConnectWise losing answers and
//! `kill -9` of `cwbridge serve` at random moments (a real process kill, restarted each time).

mod common;
#[path = "support/connectwise.rs"]
mod connectwise;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{World, acme_token, api, free_port, kill_9, world};
use connectwise_sandbox::{Faults, LostMode};
use cwbridge_testkit::{Remote, losing_answers};
use rand::Rng;
use reqwest::Method;
use serde_json::json;

/// `cwbridge` with a short alert lease, an operator token and no output.
fn cwbridge(dir: &Path) -> Command {
    let mut cmd = common::cwbridge(dir);
    cmd.env("CWBRIDGE_ALERT_LEASE_SECS", "2")
        .env("CWBRIDGE_OPERATOR_TOKEN", "op")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// A world with tenant "Acme MSP" made from the shell, `cwbridge serve` answering on a free
/// port, and that tenant's API there (a call taking over 10 s fails).
async fn serving_acme() -> (World, Remote, Child) {
    let w = world().await;
    let token = acme_token(cwbridge(w.dir.path())).await;
    let api = api(free_port(), &token, Duration::from_secs(10));
    let server = serve(w.dir.path(), &api).await;
    (w, api, server)
}

/// `cwbridge serve` on `api`'s port, up and answering.
async fn serve(dir: &Path, api: &Remote) -> Child {
    common::serve(&mut cwbridge(dir), api).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_survive_lost_answers_and_kill_9_exactly_once() {
    // Arrange: a sandbox with seed 004's member, a tenant set up over HTTP.
    let (w, api, mut server) = serving_acme().await;
    common::alerts_set_up(&w, &api).await;
    // ConnectWise loses a third of write answers (the write is carried out) and is slow.
    let lossy = losing_answers(0.33, LostMode::Drop, 30);
    w.sandbox().set_faults(lossy).unwrap();

    // Act: alerts arrive in bursts; cwbridge is killed with SIGKILL mid-delivery and
    // restarted, six times.
    let keys = ["spf", "dkim", "dmarc", "mx"];
    let mut acknowledged: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rng = rand::thread_rng();
    for round in 0..6 {
        for i in 0..5 {
            let key = keys[(round * 5 + i) % keys.len()];
            let res = api.send(Method::POST, "/api/v1/alerts", &json!({
                "account": "g-acme", "type": "dns", "key": key,
                "summary": format!("{key} check failed"), "description": format!("{key} failed in round {round}"),
            }))
            .await;
            assert_eq!(res.status(), 202);
            *acknowledged.entry(key).or_default() += 1;
        }
        let wait = rng.gen_range(100..700);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        kill_9(server);
        server = serve(w.dir.path(), &api).await;
    }
    // Then ConnectWise recovers, and cwbridge is left to finish.
    w.sandbox().set_faults(Faults::default()).unwrap();
    let delivered = |alerts: &[serde_json::Value]| alerts.iter().all(|a| a["state"] == "delivered");
    let alerts = api
        .wait_for(
            "/api/v1/alerts",
            "all delivered",
            Duration::from_secs(90),
            delivered,
        )
        .await;
    kill_9(server);

    // Assert: every acknowledged alert delivered; one ticket per key; one note per repeat.
    assert_eq!(alerts.len(), 30);
    connectwise::assert_one_ticket_per_key_one_note_per_repeat(w.sandbox(), &alerts, &acknowledged)
        .await;
    w.site.sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn billing_survives_lost_answers_and_kill_9_without_a_duplicate_line() {
    // Arrange: 28 accounts of three units (84 lines), set up over HTTP.
    let (w, api, server) = serving_acme().await;
    let mut setup = vec![
        ("/api/v1/connection".to_owned(), w.connection()),
        (
            "/api/v1/billing".to_owned(),
            json!({"product": "DMARC-MONITOR", "agreementType": "Managed Services", "mode": "per_unit"}),
        ),
    ];
    setup.extend(cwbridge_testkit::mapped_accounts(28, 3));
    api.put_all(setup).await;
    kill_9(server);
    // A third of writes are carried out and their answers held back for 5 s: a kill then
    // lands between ConnectWise writing a line and cwbridge recording it.
    let stalling = Faults {
        stall_secs: 5,
        ..losing_answers(0.3, LostMode::Stall, 40)
    };
    w.sandbox().set_faults(stalling).unwrap();

    // Act: `cwbridge billing apply`, killed with SIGKILL mid-run five times.
    let mut rng = rand::thread_rng();
    for _ in 0..5 {
        let mut apply = cwbridge(w.dir.path());
        apply
            .args(["billing", "apply", "--tenant", "Acme MSP"])
            .env("CWBRIDGE_RUN_STALE_SECS", "1");
        let child = apply.spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(150..900))).await;
        kill_9(child);
        // The dead run's heartbeat goes stale, so the next run may start.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    // Then one run to the end, ConnectWise healthy again.
    w.sandbox().set_faults(Faults::default()).unwrap();
    let mut apply = cwbridge(w.dir.path());
    apply
        .args(["billing", "apply", "--tenant", "Acme MSP", "--json"])
        .env("CWBRIDGE_RUN_STALE_SECS", "1")
        .stdout(Stdio::piped());
    let last = cwbridge_testkit::run(apply).await;
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );

    // Assert: every wanted line exists exactly once in ConnectWise, none cancelled twice over.
    let lines = connectwise::bridge_lines(w.sandbox(), 28).await;
    for a in &lines {
        assert!(a["cancelledDate"].is_null(), "nothing was cancelled: {a:#}");
    }
    let descriptions = connectwise::count_by_description(&lines);
    assert_eq!(descriptions.len(), 84, "every line made");
    let doubled: Vec<_> = descriptions.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "lines made twice: {doubled:?}");
    w.site.sandbox.stop().await;
}
