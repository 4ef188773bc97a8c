//! Two `cwbridge serve` processes on one PostgreSQL, each killed with SIGKILL in turn while
//! alerts arrive at both and billing applies run against a faulty ConnectWise: one ticket per
//! key, one note per repeat, an alert resent to the other instance stored once, and every
//! billing line made exactly once.

mod common;
#[path = "support/connectwise.rs"]
mod connectwise;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use connectwise_sandbox::{Faults, LostMode};
use cwbridge_testkit::{Remote, losing_answers, mapped_accounts};
use rand::Rng;
use reqwest::Method;
use serde_json::{Value, json};

use common::{acme_token, api, free_port, kill_9, serve, world};

/// `cwbridge` on one PostgreSQL schema, sharing one sealing key, with short leases.
fn cwbridge(dir: &Path, database: &str, key: &str) -> Command {
    let mut cmd = common::cwbridge(dir);
    cmd.env("CWBRIDGE_DATABASE_URL", database)
        .env("CWBRIDGE_SECRET_KEYS", key)
        .env("CWBRIDGE_ALERT_LEASE_SECS", "2")
        .env("CWBRIDGE_RUN_STALE_SECS", "1")
        .env("CWBRIDGE_OPERATOR_TOKEN", "op")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set CWBRIDGE_TEST_DATABASE_URL (.ci/run does, and runs it)"]
async fn two_instances_on_one_postgresql_deliver_and_bill_exactly_once_through_kill_9() {
    let db = cwbridge_store::testing::databases()
        .await
        .into_iter()
        .find(|d| d.label == "postgres")
        .expect("CWBRIDGE_TEST_DATABASE_URL names a PostgreSQL server");
    let w = world().await;
    let key = cwbridge_engine::Keyring::generate_key();
    let database = db.url().to_owned();
    let bridge = || cwbridge(w.dir.path(), &database, &key);

    let token = acme_token(bridge()).await;
    let apis = [free_port(), free_port()].map(|port| api(port, &token, Duration::from_secs(30)));
    let mut servers = vec![
        serve(&mut bridge(), &apis[0]).await,
        serve(&mut bridge(), &apis[1]).await,
    ];

    // A tenant set up through the first instance: tickets, and 12 accounts of two units.
    let mut setup = vec![
        ("/api/v1/connection".to_owned(), w.connection()),
        (
            "/api/v1/billing".to_owned(),
            json!({"product": "DMARC-MONITOR", "agreementType": "Managed Services", "mode": "per_unit"}),
        ),
        (
            "/api/v1/tickets".to_owned(),
            json!({"board": "Help Desk", "status": "New", "priority": "Priority 3 - Normal Response"}),
        ),
    ];
    setup.extend(mapped_accounts(12, 2));
    apis[0].put_all(setup).await;

    // ConnectWise loses a third of write answers (the write is carried out) and is slow.
    let lossy = losing_answers(0.3, LostMode::Drop, 30);
    w.sandbox().set_faults(lossy).unwrap();

    // Alerts arrive at both instances (some resent to the other with the same
    // Idempotency-Key, as a vendor does after a lost answer); a billing apply is asked of one;
    // then one instance is killed with SIGKILL and restarted — six rounds.
    let keys = ["spf", "dkim", "dmarc", "mx"];
    let mut sent: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rng = rand::thread_rng();
    let apply = |api: &Remote| api.request(Method::POST, "/api/v1/billing/apply").send();
    for round in 0..6 {
        let applying = tokio::spawn(apply(&apis[round % 2]));
        for i in 0..6 {
            let key = keys[(round * 6 + i) % keys.len()];
            let idem = format!("round-{round}-{i}");
            let body = json!({"account": "g1", "type": "dns", "key": key,
                "summary": format!("{key} check failed"), "description": format!("{key} failed in round {round}")});
            let post = |api: &Remote| {
                let alert = api.request(Method::POST, "/api/v1/alerts").json(&body);
                alert.header("Idempotency-Key", &idem).send()
            };
            let first = post(&apis[i % 2]).await.unwrap();
            assert_eq!(first.status(), 202);
            *sent.entry(key).or_default() += 1;
            if i % 3 == 0 {
                let again = post(&apis[(i + 1) % 2]).await.unwrap();
                assert_eq!(again.status(), 202);
                assert_eq!(again.headers()["idempotent-replayed"], "true");
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(100..600))).await;
        let victim = round % 2;
        kill_9(servers.remove(victim));
        let _ = applying.await;
        servers.insert(victim, serve(&mut bridge(), &apis[victim]).await);
    }

    // ConnectWise recovers; both instances finish the alerts; billing is applied to the end
    // (a dead run's lock answers 409 with Retry-After until it lapses).
    w.sandbox().set_faults(Faults::default()).unwrap();
    let delivered = |alerts: &[Value]| alerts.iter().all(|a| a["state"] == "delivered");
    let alerts = apis[0]
        .wait_for(
            "/api/v1/alerts?limit=1000",
            "all delivered",
            Duration::from_secs(120),
            delivered,
        )
        .await;
    loop {
        let res = apply(&apis[1]).await.unwrap();
        if res.status() == 409 {
            let wait: u64 = res.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(
                wait <= 2,
                "a dead run's lock lapses within run_stale_after: {wait}"
            );
            tokio::time::sleep(Duration::from_secs(wait)).await;
            continue;
        }
        let report: Value = res.json().await.unwrap();
        assert!(
            report["failed"].as_array().is_none_or(|f| f.is_empty()),
            "{report:#}"
        );
        break;
    }
    for s in servers {
        kill_9(s);
    }

    // One alert per Idempotency-Key, one ticket per key, one note per repeat.
    assert_eq!(alerts.len(), 36, "resends stored nothing");
    connectwise::assert_one_ticket_per_key_one_note_per_repeat(w.sandbox(), &alerts, &sent).await;

    // Every billing line exactly once.
    let made = connectwise::bridge_lines(w.sandbox(), 12).await;
    let lines =
        connectwise::count_by_description(made.iter().filter(|a| a["cancelledDate"].is_null()));
    assert_eq!(lines.len(), 24, "every line made: {lines:#?}");
    let doubled: Vec<_> = lines.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "lines made twice: {doubled:?}");
    w.site.sandbox.stop().await;
    db.cleanup().await;
}
