//! `cwbridge serve`, `tenant` and `check` run as processes, as an operator runs them.

mod common;

use std::process::{Child, Command, Stdio};

use connectwise_sandbox::Sandbox;
use serde_json::{Value, json};

use common::{World, cwbridge, free_port, kill_9, serve, world};

async fn output(mut cmd: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("cwbridge runs"))
        .await
        .unwrap()
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
    let World {
        dir,
        sandbox,
        public_key,
        private_key,
    } = world().await;

    // Act 1: the operator makes a tenant from the shell.
    let mut create = cwbridge(dir.path());
    create.args(["tenant", "create", "Acme MSP", "--json"]);
    let made = output(create).await;
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let made: Value = serde_json::from_slice(&made.stdout).unwrap();
    let token = made["token"].as_str().unwrap().to_owned();
    assert!(
        dir.path().join("cwbridge.key").exists(),
        "a key file was made on first use"
    );

    // Act 2: the bridge serves; the tenant saves its connection over HTTP.
    let port = free_port();
    let http = reqwest::Client::new();
    let mut serve_cmd = cwbridge(dir.path());
    serve_cmd
        .env("CWBRIDGE_OPERATOR_TOKEN", "op")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _serving = Serving(Some(serve(&mut serve_cmd, port, &http).await));
    let base = format!("http://127.0.0.1:{port}");
    let c = sandbox.credentials();
    let saved: Value = http
        .put(format!("{base}/api/v1/connection"))
        .bearer_auth(&token)
        .json(&json!({"site": c.site, "companyId": c.company_id, "publicKey": public_key, "privateKey": private_key, "clientId": c.client_id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(saved["check"]["ok"], true, "{saved:#}");

    // Act 3: `cwbridge check` from the shell, on the same database.
    let mut check = cwbridge(dir.path());
    check.args(["check", "--tenant", "Acme MSP", "--json"]);
    let checked = output(check).await;

    // Assert
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let report: Value = serde_json::from_slice(&checked.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["permissions"].as_array().unwrap().len(), 12);

    // Billing from the shell: settings and an account over HTTP, then plan and apply.
    let acme = admin_company(&sandbox, "AcmeCorp").await;
    for (method, path, body) in [
        (
            "PUT",
            "/api/v1/billing",
            json!({"product": "DMARC-MONITOR", "agreementType": "Managed Services", "mode": "bundled"}),
        ),
        (
            "PUT",
            "/api/v1/accounts/g-acme",
            json!({"name": "Acme Corporation", "units": ["acme.example", "mail.acme.example"]}),
        ),
        (
            "PUT",
            "/api/v1/accounts/g-acme/mapping",
            json!({"companyId": acme}),
        ),
    ] {
        let res = http
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success(),
            "{path}: {}",
            res.text().await.unwrap()
        );
    }
    let mut plan = cwbridge(dir.path());
    plan.args(["billing", "plan", "--tenant", "Acme MSP"]);
    let planned = output(plan).await;
    assert!(
        planned.status.success(),
        "{}",
        String::from_utf8_lossy(&planned.stderr)
    );
    let text = String::from_utf8(planned.stdout).unwrap();
    assert!(
        text.contains("create") && text.contains("g-acme/*") && text.contains("24.00"),
        "{text}"
    );
    let mut apply = cwbridge(dir.path());
    apply.args(["billing", "apply", "--tenant", "Acme MSP", "--json"]);
    let applied = output(apply).await;
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let report: Value = serde_json::from_slice(&applied.stdout).unwrap();
    assert_eq!(report["done"]["create"], 1, "{report:#}");

    // A tenant that does not exist: one line, non-zero.
    let mut unknown = cwbridge(dir.path());
    unknown.args(["check", "--tenant", "Nobody"]);
    let failed = output(unknown).await;
    assert_eq!(failed.status.code(), Some(1));
    let err = String::from_utf8(failed.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("Nobody"), "{err}");

    // A check that runs but does not pass still prints its report, and exits 3.
    let saved: Value = http
        .put(format!("{base}/api/v1/connection"))
        .bearer_auth(&token)
        .json(&json!({"site": c.site, "companyId": c.company_id, "publicKey": public_key, "privateKey": "not-the-key", "clientId": c.client_id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(saved["check"]["ok"], false, "{saved:#}");
    let mut check = cwbridge(dir.path());
    check.args(["check", "--tenant", "Acme MSP", "--json"]);
    let failing = output(check).await;
    assert_eq!(failing.status.code(), Some(3));
    let report: Value = serde_json::from_slice(&failing.stdout).unwrap();
    assert_eq!(report["ok"], false);

    // The exit statuses are documented where a user looks.
    let mut help = cwbridge(dir.path());
    help.arg("--help");
    let help = String::from_utf8(output(help).await.stdout).unwrap();
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("Exit status: 0 done; 1 failed"), "{help}");
    assert!(help.contains("3 done, but not cleanly"), "{help}");
    sandbox.stop().await;
}

/// A demo company's id, asked of the sandbox as its admin.
async fn admin_company(sandbox: &Sandbox, identifier: &str) -> i64 {
    let c = sandbox.credentials();
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(sandbox.ca_pem().unwrap().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    let list: Value = client
        .get(format!(
            "{}company/companies?conditions=identifier=\"{identifier}\"",
            sandbox.api_url()
        ))
        .header("Authorization", c.authorization())
        .header("clientId", &c.client_id)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list[0]["id"].as_i64().unwrap()
}
