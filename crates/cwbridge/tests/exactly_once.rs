//! No alert lost and no ticket or note doubled, across ConnectWise losing answers and
//! `kill -9` of `cwbridge serve` at random moments (a real process kill, restarted each time).

mod common;
#[path = "support/connectwise.rs"]
mod connectwise;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{World, free_port, kill_9, world};
use connectwise_sandbox::{Faults, LostMode};
use rand::Rng;
use serde_json::{Value, json};

/// `cwbridge` with a short alert lease, an operator token and no output.
fn cwbridge(dir: &Path) -> Command {
    let mut cmd = common::cwbridge(dir);
    cmd.env("CWBRIDGE_ALERT_LEASE_SECS", "2")
        .env("CWBRIDGE_OPERATOR_TOKEN", "op")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// `cwbridge serve` on `port`, up and answering.
async fn serve(dir: &Path, port: u16, http: &reqwest::Client) -> Child {
    common::serve(&mut cwbridge(dir), port, http).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_survive_lost_answers_and_kill_9_exactly_once() {
    // Arrange: a sandbox with seed 004's member, a tenant set up over HTTP.
    let World {
        dir,
        sandbox,
        public_key,
        private_key,
    } = world().await;
    let mut create = cwbridge(dir.path());
    create
        .args(["tenant", "create", "Acme MSP", "--json"])
        .stdout(Stdio::piped());
    let made = tokio::task::spawn_blocking(move || create.output().unwrap())
        .await
        .unwrap();
    let token = serde_json::from_slice::<Value>(&made.stdout).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let call = |method: &str, path: &str, body: Value| {
        http.request(method.parse().unwrap(), format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let c = sandbox.credentials();
    let mut server = serve(dir.path(), port, &http).await;
    for (method, path, body) in [
        (
            "PUT",
            "/api/v1/connection",
            json!({"site": c.site, "companyId": c.company_id, "publicKey": public_key, "privateKey": private_key, "clientId": c.client_id}),
        ),
        (
            "PUT",
            "/api/v1/accounts/g-acme",
            json!({"name": "Acme Corporation", "units": ["acme.example"]}),
        ),
        (
            "PUT",
            "/api/v1/accounts/g-acme/mapping",
            json!({"companyId": 1}),
        ),
        (
            "PUT",
            "/api/v1/tickets",
            json!({"board": "Help Desk", "status": "New", "priority": "Priority 3 - Normal Response"}),
        ),
    ] {
        let res = call(method, path, body).await.unwrap();
        assert!(
            res.status().is_success(),
            "{path}: {}",
            res.text().await.unwrap()
        );
    }
    // ConnectWise loses a third of write answers (the write is carried out) and is slow.
    sandbox
        .set_faults(Faults {
            lost_response_rate: 0.33,
            lost_response_mode: LostMode::Drop,
            latency_ms: 30,
            ..Faults::default()
        })
        .unwrap();

    // Act: alerts arrive in bursts; cwbridge is killed with SIGKILL mid-delivery and
    // restarted, six times.
    let keys = ["spf", "dkim", "dmarc", "mx"];
    let mut acknowledged: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rng = rand::thread_rng();
    for round in 0..6 {
        for i in 0..5 {
            let key = keys[(round * 5 + i) % keys.len()];
            let res = call("POST", "/api/v1/alerts", json!({
                "account": "g-acme", "type": "dns", "key": key,
                "summary": format!("{key} check failed"), "description": format!("{key} failed in round {round}"),
            }))
            .await
            .unwrap();
            assert_eq!(res.status(), 202);
            *acknowledged.entry(key).or_default() += 1;
        }
        let wait = rng.gen_range(100..700);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        kill_9(server);
        server = serve(dir.path(), port, &http).await;
    }
    // Then ConnectWise recovers, and cwbridge is left to finish.
    sandbox.set_faults(Faults::default()).unwrap();
    let started = Instant::now();
    let alerts = loop {
        let alerts: Vec<Value> = call("GET", "/api/v1/alerts", json!(null))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if alerts.iter().all(|a| a["state"] == "delivered") {
            break alerts;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "not all delivered: {alerts:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    kill_9(server);

    // Assert: every acknowledged alert delivered; one ticket per key; one note per repeat.
    assert_eq!(alerts.len(), 30);
    connectwise::assert_one_ticket_per_key_one_note_per_repeat(&sandbox, &alerts, &acknowledged)
        .await;
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn billing_survives_lost_answers_and_kill_9_without_a_duplicate_line() {
    // Arrange: 28 accounts of three units (84 lines), set up over HTTP.
    let World {
        dir,
        sandbox,
        public_key,
        private_key,
    } = world().await;
    let mut create = cwbridge(dir.path());
    create
        .args(["tenant", "create", "Acme MSP", "--json"])
        .stdout(Stdio::piped());
    let made = tokio::task::spawn_blocking(move || create.output().unwrap())
        .await
        .unwrap();
    let token = serde_json::from_slice::<Value>(&made.stdout).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let call = |method: &str, path: String, body: Value| {
        http.request(method.parse().unwrap(), format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let c = sandbox.credentials();
    let server = serve(dir.path(), port, &http).await;
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
    ];
    for i in 1..=28 {
        setup.push(("PUT", format!("/api/v1/accounts/g{i}"), json!({"name": format!("Group {i}"), "units": [format!("a.g{i}.example"), format!("b.g{i}.example"), format!("c.g{i}.example")]})));
        setup.push((
            "PUT",
            format!("/api/v1/accounts/g{i}/mapping"),
            json!({"companyId": i}),
        ));
    }
    for (method, path, body) in setup {
        let res = call(method, path.clone(), body).await.unwrap();
        assert!(
            res.status().is_success(),
            "{path}: {}",
            res.text().await.unwrap()
        );
    }
    kill_9(server);
    sandbox
        // A third of writes are carried out and their answers held back for 5 s: a kill
        // then lands between ConnectWise writing a line and cwbridge recording it.
        .set_faults(Faults {
            lost_response_rate: 0.3,
            lost_response_mode: LostMode::Stall,
            stall_secs: 5,
            latency_ms: 40,
            ..Faults::default()
        })
        .unwrap();

    // Act: `cwbridge billing apply`, killed with SIGKILL mid-run five times.
    let mut rng = rand::thread_rng();
    for _ in 0..5 {
        let mut apply = cwbridge(dir.path());
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
    sandbox.set_faults(Faults::default()).unwrap();
    let mut apply = cwbridge(dir.path());
    apply
        .args(["billing", "apply", "--tenant", "Acme MSP", "--json"])
        .env("CWBRIDGE_RUN_STALE_SECS", "1")
        .stdout(Stdio::piped());
    let last = tokio::task::spawn_blocking(move || apply.output().unwrap())
        .await
        .unwrap();
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );

    // Assert: every wanted line exists exactly once in ConnectWise, none cancelled twice over.
    let lines = connectwise::bridge_lines(&sandbox, 28).await;
    for a in &lines {
        assert!(a["cancelledDate"].is_null(), "nothing was cancelled: {a:#}");
    }
    let descriptions = connectwise::count_by_description(&lines);
    assert_eq!(descriptions.len(), 84, "every line made");
    let doubled: Vec<_> = descriptions.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "lines made twice: {doubled:?}");
    sandbox.stop().await;
}
