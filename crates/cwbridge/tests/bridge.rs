//! `cwbridge serve`, `tenant` and `check` run as processes, as an operator runs them.

mod common;

use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use cwbridge_testkit::{run, sandbox_get};
use serde_json::{Value, json};

use common::{acme_token, api, cwbridge, free_port, kill_9, serve, world};

/// `cwbridge ARGS` on the world's directory, run to its end.
async fn shell(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = cwbridge(dir);
    cmd.args(args);
    run(cmd).await
}

/// [`shell`], asserting that the command succeeded.
async fn shell_ok(dir: &Path, args: &[&str]) -> Output {
    let out = shell(dir, args).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {err}");
    out
}

/// A `cwbridge serve` killed when the test ends, however it ends.
struct Serving(Option<Child>);

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(child) = self.0.take() {
            kill_9(child);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_makes_a_tenant_the_tenant_connects_and_check_agrees() {
    // Arrange: a sandbox with seed 004's role, member and key, as the MSP admin makes them.
    let w = world().await;
    let dir = w.dir.path();

    // Act 1: the operator makes a tenant from the shell.
    let token = acme_token(cwbridge(dir)).await;
    assert!(
        dir.join("cwbridge.key").exists(),
        "a key file was made on first use"
    );

    // Act 2: the bridge serves; the tenant saves its connection over HTTP.
    let api = api(free_port(), &token, Duration::from_secs(30));
    let mut serve_cmd = cwbridge(dir);
    serve_cmd
        .env("CWBRIDGE_OPERATOR_TOKEN", "op")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _serving = Serving(Some(serve(&mut serve_cmd, &api).await));
    let saved = api.put("/api/v1/connection", &w.connection()).await;
    assert_eq!(saved["check"]["ok"], true, "{saved:#}");

    // Act 3: `cwbridge check` from the shell, on the same database.
    let checked = shell_ok(dir, &["check", "--tenant", "Acme MSP", "--json"]).await;

    // Assert
    let report: Value = serde_json::from_slice(&checked.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["permissions"].as_array().unwrap().len(), 12);

    // Billing from the shell: settings and an account over HTTP, then plan and apply.
    let acme = r#"company/companies?conditions=identifier="AcmeCorp""#;
    let acme = sandbox_get(w.sandbox(), acme).await[0]["id"]
        .as_i64()
        .unwrap();
    api.put_all([
        (
            "/api/v1/billing",
            json!({"product": "DMARC-MONITOR", "agreementType": "Managed Services", "mode": "bundled"}),
        ),
        (
            "/api/v1/accounts/g-acme",
            json!({"name": "Acme Corporation", "units": ["acme.example", "mail.acme.example"]}),
        ),
        ("/api/v1/accounts/g-acme/mapping", json!({"companyId": acme})),
    ])
    .await;
    let planned = shell_ok(dir, &["billing", "plan", "--tenant", "Acme MSP"]).await;
    let text = String::from_utf8(planned.stdout).unwrap();
    assert!(
        text.contains("create") && text.contains("g-acme/*") && text.contains("24.00"),
        "{text}"
    );
    let apply = ["billing", "apply", "--tenant", "Acme MSP", "--json"];
    let applied = shell_ok(dir, &apply).await;
    let report: Value = serde_json::from_slice(&applied.stdout).unwrap();
    assert_eq!(report["done"]["create"], 1, "{report:#}");

    // Undone from the shell: the plan first (nothing written), then with --yes.
    let run = report["runId"].to_string();
    let undo = [
        "billing",
        "undo",
        "--tenant",
        "Acme MSP",
        "--run",
        run.as_str(),
    ];
    let planned = shell_ok(dir, &undo).await;
    let text = String::from_utf8(planned.stdout).unwrap();
    assert!(text.contains("cancel") && text.contains("--yes"), "{text}");
    let undone = shell_ok(dir, &[&undo[..], &["--yes", "--json"]].concat()).await;
    let report: Value = serde_json::from_slice(&undone.stdout).unwrap();
    assert_eq!(
        (&report["done"]["cancel"], report["undoes"].to_string()),
        (&json!(1), run.clone()),
        "{report:#}"
    );
    let again = shell_ok(dir, &[&undo[..], &["--json"]].concat()).await;
    let plan: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(plan["changes"], json!([]), "undone once: {plan:#}");

    // A tenant that does not exist: one line, non-zero.
    let failed = shell(dir, &["check", "--tenant", "Nobody"]).await;
    assert_eq!(failed.status.code(), Some(1));
    let err = String::from_utf8(failed.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("Nobody"), "{err}");

    // A check that runs but does not pass still prints its report, and exits 3.
    let mut wrong_key = w.connection();
    wrong_key["privateKey"] = json!("not-the-key");
    let saved = api.put("/api/v1/connection", &wrong_key).await;
    assert_eq!(saved["check"]["ok"], false, "{saved:#}");
    let failing = shell(dir, &["check", "--tenant", "Acme MSP", "--json"]).await;
    assert_eq!(failing.status.code(), Some(3));
    let report: Value = serde_json::from_slice(&failing.stdout).unwrap();
    assert_eq!(report["ok"], false);

    // The exit statuses are documented where a user looks.
    let help = String::from_utf8(shell(dir, &["--help"]).await.stdout).unwrap();
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("Exit status: 0 done; 1 failed"), "{help}");
    assert!(help.contains("3 done, but not cleanly"), "{help}");
    w.site.sandbox.stop().await;
}
