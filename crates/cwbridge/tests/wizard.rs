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
use std::time::Duration;

use connectwise_client::conditions::{Condition, field};
use connectwise_client::{Client, Credentials};
use cwbridge_testkit::Remote;
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
    let text = cwbridge_testkit::printed(&out);
    assert!(out.status.success(), "the {phase} phase failed:\n{text}");
    println!("{text}");
}

/// Waits until no alert is queued; answers them.
async fn settled(api: &Remote) -> Vec<Value> {
    let unqueued = |alerts: &[Value]| alerts.iter().all(|a| a["state"] != "queued");
    let within = Duration::from_secs(60);
    api.wait_for("/api/v1/alerts", "settled", within, unqueued)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and playwright-core: CWBRIDGE_TEST_CHROMIUM, CWBRIDGE_TEST_BROWSER_NODE_PATH (.ci/run installs both and runs this)"]
async fn a_person_walks_the_wizard_and_connectwise_gets_tickets_and_lines() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo::start_in(dir.path(), false).await;
    let api = demo.api();
    let env = [
        ("WIZARD", demo.bridge()),
        ("TOKEN", demo.token()),
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
        let alert = json!({
            "account": account, "type": alert_type, "summary": summary,
            "description": format!("EasyDMARC detected: {summary}."),
        });
        let r = api
            .send(reqwest::Method::POST, "/api/v1/alerts", &alert)
            .await;
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    }
    let alerts = settled(&api).await;
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
    let alerts = settled(&api).await;
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
    let tickets_where = |c: Condition| cw.service().tickets().list().conditions(c);
    let dmarc = field("board/name")
        .eq("Help Desk")
        .and(field("summary").like("DMARC record changed for %"));
    let tickets = tickets_where(dmarc).send().await.unwrap();
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
    let spf = tickets_where(field("summary").like("SPF record fails%"));
    let spf = spf.count().await.unwrap();
    assert_eq!(spf, 0, "Contoso forwards DMARC changes only");
    let test = tickets_where(field("summary").eq("Test alert from cwbridge"));
    let test = test.send().await.unwrap();
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
