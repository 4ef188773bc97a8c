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
use std::time::{Duration, Instant};

use connectwise_sandbox::{Faults, LostMode};
use rand::Rng;
use serde_json::{Value, json};

use common::{World, free_port, kill_9, serve, world};

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
    let World {
        dir,
        sandbox,
        public_key,
        private_key,
    } = world().await;
    let key = cwbridge_engine::Keyring::generate_key();
    let database = db.url().to_owned();
    let bridge = || cwbridge(dir.path(), &database, &key);

    let made = bridge()
        .args(["tenant", "create", "Acme MSP", "--json"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let token = serde_json::from_slice::<Value>(&made.stdout).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ports = [free_port(), free_port()];
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let call = |port: u16, method: &str, path: String, body: Value, idem: Option<String>| {
        let mut req = http
            .request(
                method.parse().unwrap(),
                format!("http://127.0.0.1:{port}{path}"),
            )
            .bearer_auth(&token)
            .json(&body);
        if let Some(k) = idem {
            req = req.header("Idempotency-Key", k);
        }
        req.send()
    };
    let mut servers = vec![
        serve(&mut bridge(), ports[0], &http).await,
        serve(&mut bridge(), ports[1], &http).await,
    ];

    // A tenant set up through the first instance: tickets, and 12 accounts of two units.
    let c = sandbox.credentials();
    let mut setup = vec![
        (
            "PUT",
            "/api/v1/connection".to_owned(),
            json!({"site": c.site, "companyId": c.company_id, "publicKey": public_key, "privateKey": private_key, "clientId": c.client_id}),
        ),
        (
            "PUT",
            "/api/v1/billing".to_owned(),
            json!({"product": "DMARC-MONITOR", "agreementType": "Managed Services", "mode": "per_unit"}),
        ),
        (
            "PUT",
            "/api/v1/tickets".to_owned(),
            json!({"board": "Help Desk", "status": "New", "priority": "Priority 3 - Normal Response"}),
        ),
    ];
    for i in 1..=12 {
        setup.push(("PUT", format!("/api/v1/accounts/g{i}"), json!({"name": format!("Group {i}"), "units": [format!("a.g{i}.example"), format!("b.g{i}.example")]})));
        setup.push((
            "PUT",
            format!("/api/v1/accounts/g{i}/mapping"),
            json!({"companyId": i}),
        ));
    }
    for (method, path, body) in setup {
        let res = call(ports[0], method, path.clone(), body, None)
            .await
            .unwrap();
        assert!(
            res.status().is_success(),
            "{path}: {}",
            res.text().await.unwrap()
        );
    }

    // ConnectWise loses a third of write answers (the write is carried out) and is slow.
    sandbox
        .set_faults(Faults {
            lost_response_rate: 0.3,
            lost_response_mode: LostMode::Drop,
            latency_ms: 30,
            ..Faults::default()
        })
        .unwrap();

    // Alerts arrive at both instances (some resent to the other with the same
    // Idempotency-Key, as a vendor does after a lost answer); a billing apply is asked of one;
    // then one instance is killed with SIGKILL and restarted — six rounds.
    let keys = ["spf", "dkim", "dmarc", "mx"];
    let mut sent: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rng = rand::thread_rng();
    for round in 0..6 {
        let applying = tokio::spawn(
            http.post(format!(
                "http://127.0.0.1:{}/api/v1/billing/apply",
                ports[round % 2]
            ))
            .bearer_auth(&token)
            .send(),
        );
        for i in 0..6 {
            let key = keys[(round * 6 + i) % keys.len()];
            let idem = format!("round-{round}-{i}");
            let body = json!({"account": "g1", "type": "dns", "key": key,
                "summary": format!("{key} check failed"), "description": format!("{key} failed in round {round}")});
            let first = call(
                ports[i % 2],
                "POST",
                "/api/v1/alerts".into(),
                body.clone(),
                Some(idem.clone()),
            )
            .await
            .unwrap();
            assert_eq!(first.status(), 202);
            *sent.entry(key).or_default() += 1;
            if i % 3 == 0 {
                let again = call(
                    ports[(i + 1) % 2],
                    "POST",
                    "/api/v1/alerts".into(),
                    body,
                    Some(idem),
                )
                .await
                .unwrap();
                assert_eq!(again.status(), 202);
                assert_eq!(again.headers()["idempotent-replayed"], "true");
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(100..600))).await;
        let victim = round % 2;
        kill_9(servers.remove(victim));
        let _ = applying.await;
        servers.insert(victim, serve(&mut bridge(), ports[victim], &http).await);
    }

    // ConnectWise recovers; both instances finish the alerts; billing is applied to the end
    // (a dead run's lock answers 409 with Retry-After until it lapses).
    sandbox.set_faults(Faults::default()).unwrap();
    let started = Instant::now();
    let alerts = loop {
        let alerts: Vec<Value> = call(
            ports[0],
            "GET",
            "/api/v1/alerts?limit=1000".into(),
            json!(null),
            None,
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        if alerts.iter().all(|a| a["state"] == "delivered") {
            break alerts;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "not all delivered: {alerts:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    loop {
        let res = call(
            ports[1],
            "POST",
            "/api/v1/billing/apply".into(),
            json!(null),
            None,
        )
        .await
        .unwrap();
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
    connectwise::assert_one_ticket_per_key_one_note_per_repeat(&sandbox, &alerts, &sent).await;

    // Every billing line exactly once.
    let made = connectwise::bridge_lines(&sandbox, 12).await;
    let lines =
        connectwise::count_by_description(made.iter().filter(|a| a["cancelledDate"].is_null()));
    assert_eq!(lines.len(), 24, "every line made: {lines:#?}");
    let doubled: Vec<_> = lines.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "lines made twice: {doubled:?}");
    sandbox.stop().await;
    db.cleanup().await;
}
