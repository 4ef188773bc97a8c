//! `cwbridge demo --auto`, run as a newcomer runs it: everything comes up connected, the
//! wizard's steps are done, tickets and agreement lines appear in the sandbox — and a second
//! run on the same directory picks up where the first left off.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

struct Demo {
    child: Child,
    lines: Vec<String>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    fn value(&self, label: &str) -> String {
        self.lines
            .iter()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|v| v.split_whitespace().next().unwrap_or_default().to_owned())
            .unwrap_or_else(|| panic!("no `{label}` in {:#?}", self.lines))
    }
}

/// Starts the demo and reads its output up to "Ctrl-C stops both."
fn start(dir: &std::path::Path) -> Demo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cwbridge"))
        .args([
            "demo",
            "--auto",
            "--sandbox-listen",
            "127.0.0.1:0",
            "--listen",
            "127.0.0.1:0",
            "--dir",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cwbridge demo starts");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let done = line.contains("Ctrl-C stops both");
            lines.push(line);
            if done {
                let _ = tx.send(lines.clone());
            }
        }
    });
    let lines = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the demo came up");
    Demo { child, lines }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_comes_up_connected_and_fills_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let demo = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || start(&dir)
    })
    .await
    .unwrap();
    assert!(
        demo.lines
            .iter()
            .any(|l| l.contains("connection check:      passed")),
        "{:#?}",
        demo.lines
    );
    assert!(
        demo.lines
            .iter()
            .any(|l| l.contains("billing applied: {\"create\": 9}")),
        "{:#?}",
        demo.lines
    );
    let bridge = demo.value("bridge:");
    let token = demo.value("tenant token:");
    let http = reqwest::Client::new();
    let get = |path: &str| {
        http.get(format!("{bridge}{path}"))
            .bearer_auth(&token)
            .send()
    };
    let alerts: Vec<Value> = get("/api/v1/alerts").await.unwrap().json().await.unwrap();
    assert_eq!(alerts.len(), 3);
    assert!(
        alerts.iter().all(|a| a["state"] == "delivered"),
        "{alerts:#?}"
    );
    assert_eq!(alerts.iter().filter(|a| a["action"] == "ticket").count(), 2);
    let mappings: Vec<Value> = get("/api/v1/mappings").await.unwrap().json().await.unwrap();
    assert!(
        mappings.iter().all(|m| !m["account"]["mapping"].is_null()),
        "{mappings:#?}"
    );
    let acme = mappings
        .iter()
        .find(|m| m["account"]["id"] == "grp-acme")
        .unwrap();
    assert_eq!(
        acme["account"]["mapping"]["companyName"],
        "Acme Corporation"
    );
    let plan: Value = get("/api/v1/billing/plan?full=true")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(plan["changes"], serde_json::json!([]), "{plan:#}");
    drop(demo);

    // Again on the same directory: the same tenant and key, nothing billed twice.
    let again = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || start(&dir)
    })
    .await
    .unwrap();
    assert_eq!(again.value("tenant token:"), token);
    assert!(
        again
            .lines
            .iter()
            .any(|l| l.contains("billing applied: {}")),
        "{:#?}",
        again.lines
    );
}
