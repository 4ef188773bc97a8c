//! The web wizard in a real browser: `cwbridge demo` as README starts it, then headless
//! Chromium (driven by Playwright, `tests/browser/wizard.cjs`) signs in and walks seed 004's
//! four steps with JavaScript off, applies billing, retries a failed alert and checks the
//! status pages, also at phone width. Afterwards the sandbox's own API is asked what
//! ConnectWise received. Screenshots of every step are kept in `target/test-artefacts/wizard`
//! (or `$CWBRIDGE_TEST_ARTEFACTS/wizard`).
//!
//! Needs `CWBRIDGE_TEST_CHROMIUM` (the browser) and `CWBRIDGE_TEST_BROWSER_NODE_PATH` (the
//! `node_modules` holding playwright-core): a plain `cargo test` leaves it out (`#[ignore]`);
//! `.ci/run` installs and sets both, and runs it.

#[path = "support/demo.rs"]
mod demo;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use connectwise_client::conditions::field;
use connectwise_client::{Client, Credentials};
use serde_json::{Value, json};

fn artefacts() -> PathBuf {
    let base = std::env::var_os("CWBRIDGE_TEST_ARTEFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artefacts")
        });
    let dir = base.join("wizard");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs one phase of the browser script; panics with what it printed when it fails.
fn browse(phase: &str, env: &[(&str, String)]) {
    let chromium = std::env::var("CWBRIDGE_TEST_CHROMIUM")
        .expect("CWBRIDGE_TEST_CHROMIUM names the Chromium to drive (.ci/run sets it)");
    let node_path = std::env::var("CWBRIDGE_TEST_BROWSER_NODE_PATH").expect(
        "CWBRIDGE_TEST_BROWSER_NODE_PATH names the node_modules with playwright-core (.ci/run sets it)",
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/wizard.cjs");
    let out = Command::new("node")
        .arg(script)
        .env("NODE_PATH", node_path)
        .env("CHROMIUM", chromium)
        .env("PHASE", phase)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the {phase} phase failed:\n{text}");
    println!("{text}");
}

/// Waits until no alert is queued; answers them.
async fn settled(http: &reqwest::Client, bridge: &str, token: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let alerts: Vec<Value> = http
            .get(format!("{bridge}/api/v1/alerts"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if alerts.iter().all(|a| a["state"] != "queued") {
            return alerts;
        }
        assert!(
            Instant::now() < deadline,
            "alerts still queued: {alerts:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and playwright-core: CWBRIDGE_TEST_CHROMIUM, CWBRIDGE_TEST_BROWSER_NODE_PATH (.ci/run installs both and runs this)"]
async fn a_person_walks_the_wizard_and_connectwise_gets_tickets_and_lines() {
    let dir = tempfile::tempdir().unwrap();
    let demo = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || demo::start(&dir, false)
    })
    .await
    .unwrap();
    let bridge = demo.bridge();
    let token = demo.token();
    let env = [
        ("WIZARD", bridge.clone()),
        ("TOKEN", token.clone()),
        ("SITE", demo.value("ConnectWise URL:")),
        ("COMPANY", demo.value("Company ID:")),
        ("PUBLIC_KEY", demo.value("Public key:")),
        ("PRIVATE_KEY", demo.value("Private key:")),
        ("SHOTS", artefacts().display().to_string()),
    ];
    tokio::task::spawn_blocking({
        let env = env.clone();
        move || browse("setup", &env)
    })
    .await
    .unwrap();

    // The vendor's platform sends three alerts: Acme's is forwarded, Contoso forwards only
    // DMARC changes (so its SPF alert is skipped), Evergreen PM is not mapped (so it fails).
    let http = reqwest::Client::new();
    for (account, alert_type, summary) in [
        (
            "grp-acme",
            "dmarc-record-changed",
            "DMARC record changed for acme.example",
        ),
        (
            "grp-contoso",
            "spf-record-failing",
            "SPF record fails for contoso.example",
        ),
        (
            "grp-evergreen",
            "dmarc-record-changed",
            "DMARC record changed for evergreenpm.example",
        ),
    ] {
        let r = http
            .post(format!("{bridge}/api/v1/alerts"))
            .bearer_auth(&token)
            .json(&json!({
                "account": account, "type": alert_type, "summary": summary,
                "description": format!("EasyDMARC detected: {summary}."),
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    }
    let alerts = settled(&http, &bridge, &token).await;
    let state_of = |alerts: &[Value], account: &str| {
        alerts.iter().find(|a| a["account"] == account).unwrap()["state"].clone()
    };
    assert_eq!(state_of(&alerts, "grp-acme"), "delivered", "{alerts:#?}");
    assert_eq!(state_of(&alerts, "grp-contoso"), "skipped", "{alerts:#?}");
    assert_eq!(state_of(&alerts, "grp-evergreen"), "failed", "{alerts:#?}");

    // ConnectWise then answers one request with 429: the health page must show it.
    connectwise_sandbox::admin::AdminClient::from_state_dir(&dir.path().join("sandbox"))
        .unwrap()
        .set_faults(&connectwise_sandbox::Faults {
            throttle_next: 1,
            retry_after_secs: 1,
            ..Default::default()
        })
        .await
        .unwrap();

    tokio::task::spawn_blocking(move || browse("status", &env))
        .await
        .unwrap();
    let alerts = settled(&http, &bridge, &token).await;
    assert_eq!(
        state_of(&alerts, "grp-evergreen"),
        "delivered",
        "{alerts:#?}"
    );

    // What ConnectWise received, asked through its own API.
    let sandbox = dir.path().join("sandbox");
    let cw = Client::builder(Credentials::from_file(&sandbox.join("credentials.json")).unwrap())
        .extra_ca_pem(std::fs::read(sandbox.join("cert.pem")).unwrap())
        .build()
        .unwrap();
    let tickets = cw
        .service()
        .tickets()
        .list()
        .conditions(
            field("board/name")
                .eq("Help Desk")
                .and(field("summary").like("DMARC record changed for %")),
        )
        .send()
        .await
        .unwrap();
    let mut companies: Vec<String> = tickets
        .iter()
        .map(|t| {
            t.company
                .as_ref()
                .and_then(|c| c.name.clone())
                .unwrap_or_default()
        })
        .collect();
    companies.sort();
    assert_eq!(companies.len(), 2, "{tickets:#?}");
    assert!(companies[0].starts_with("Acme"), "{companies:?}");
    assert!(companies[1].starts_with("Evergreen"), "{companies:?}");
    for t in &tickets {
        assert_eq!(
            t.status.as_ref().and_then(|s| s.name.as_deref()),
            Some("New")
        );
        assert_eq!(
            t.priority.as_ref().and_then(|p| p.name.as_deref()),
            Some("Priority 3 - Normal Response")
        );
        assert_eq!(
            t.r#type.as_ref().and_then(|p| p.name.as_deref()),
            Some("Alert")
        );
    }
    let spf = cw
        .service()
        .tickets()
        .list()
        .conditions(field("summary").like("SPF record fails%"))
        .count()
        .await
        .unwrap();
    assert_eq!(spf, 0, "Contoso forwards DMARC changes only");
    let test = cw
        .service()
        .tickets()
        .list()
        .conditions(field("summary").eq("Test alert from cwbridge"))
        .send()
        .await
        .unwrap();
    assert_eq!(test.len(), 1, "{test:#?}");
    assert!(
        test[0]
            .company
            .as_ref()
            .and_then(|c| c.name.as_deref())
            .is_some_and(|n| n.starts_with("Blue Ridge")),
        "{test:#?}"
    );

    // One line per sending domain of the five customers mapped when billing was applied.
    let mut lines = 0;
    let agreements = cw
        .finance()
        .agreements()
        .list()
        .page_size(1000)
        .send()
        .await
        .unwrap();
    for a in &agreements {
        let additions = cw
            .finance()
            .additions(a.id.unwrap())
            .list()
            .page_size(1000)
            .send()
            .await
            .unwrap();
        for add in additions {
            if add.product.as_ref().and_then(|p| p.identifier.as_deref()) == Some("DMARC-MONITOR")
                && add.cancelled_date.is_none()
            {
                assert_eq!(
                    a.r#type.as_ref().and_then(|t| t.name.as_deref()),
                    Some("Managed Services")
                );
                assert_eq!(add.bill_customer.as_deref(), Some("Billable"));
                lines += 1;
            }
        }
    }
    assert_eq!(lines, 7, "2 + 1 + 2 + 1 + 1 sending domains");
    drop(demo);
}
