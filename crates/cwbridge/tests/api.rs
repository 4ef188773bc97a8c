//! `cwbridge api` run as a user runs it, against a sandbox over HTTPS.

use std::path::Path;
use std::process::{Command, Output};

use connectwise_sandbox::Sandbox;
use cwbridge_testkit::run;
use serde_json::Value;

/// A demo sandbox with its state (`credentials.json`, `cert.pem`) in a directory of its own.
async fn sandbox() -> (tempfile::TempDir, Sandbox) {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = cwbridge_testkit::Site::demo_in(dir.path()).await.sandbox;
    (dir, sandbox)
}

/// `cwbridge api ARGS`, to add to and run.
fn cwbridge_api(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cwbridge"));
    cmd.arg("api").args(args);
    cmd
}

/// Runs `cwbridge api ARGS --credentials DIR/credentials.json --ca DIR/cert.pem`.
async fn api(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = cwbridge_api(args);
    cmd.arg("--credentials")
        .arg(dir.join("credentials.json"))
        .arg("--ca")
        .arg(dir.join("cert.pem"));
    run(cmd).await
}

/// The sandbox's credentials file in `dir`, as JSON.
fn credentials(dir: &Path) -> Value {
    let file = std::fs::read_to_string(dir.join("credentials.json")).unwrap();
    serde_json::from_str(&file).unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "cwbridge api failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_streams_every_matching_record_as_json_lines() {
    let (dir, sandbox) = sandbox().await;

    let out = api(
        dir.path(),
        &[
            "GET",
            "/company/companies",
            "--conditions",
            "name like \"%a%\"",
            "--page-size",
            "4",
            "--all",
        ],
    )
    .await;

    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON record"))
        .collect();
    let one_page = api(
        dir.path(),
        &[
            "GET",
            "/company/companies/count",
            "--conditions",
            "name like \"%a%\"",
        ],
    )
    .await;
    let count: Value = serde_json::from_str(&stdout(&one_page)).unwrap();
    assert_eq!(lines.len() as u64, count["count"].as_u64().unwrap());
    assert!(lines.len() > 4, "more than one page was read");
    assert!(
        lines
            .iter()
            .all(|c| c["name"].as_str().unwrap().to_lowercase().contains('a'))
    );
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_take_data_and_errors_are_one_line_with_a_non_zero_exit() {
    let (dir, sandbox) = sandbox().await;

    // Create, patch and delete a ticket.
    let made = api(
        dir.path(),
        &["POST", "/service/tickets", "--data", r#"{"summary": "From the CLI", "board": {"name": "Help Desk"}, "company": {"identifier": "AcmeCorp"}}"#],
    )
    .await;
    let ticket: Value = serde_json::from_str(&stdout(&made)).unwrap();
    let path = format!("/service/tickets/{}", ticket["id"]);
    let patched = api(
        dir.path(),
        &[
            "PATCH",
            &path,
            "--data",
            r#"[{"op": "replace", "path": "summary", "value": "Patched"}]"#,
        ],
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&patched)).unwrap()["summary"],
        "Patched"
    );
    let deleted = api(dir.path(), &["DELETE", &path]).await;
    assert_eq!(stdout(&deleted), "");

    // A refusal: non-zero, one line naming the request, the status and the field.
    let refused = api(dir.path(), &["POST", "/service/tickets", "--data", "{}"]).await;
    assert!(!refused.status.success());
    let err = String::from_utf8(refused.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("POST service/tickets") && err.contains("400") && err.contains("summary"),
        "{err}"
    );
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_of_the_config_file_names_the_connection() {
    // Arrange: a config file with the sandbox's credentials as profile `demo`.
    let (dir, sandbox) = sandbox().await;
    let creds = credentials(dir.path());
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.demo]\nsite = {}\ncompany_id = {}\npublic_key = {}\nprivate_key = {}\nclient_id = {}\nca = {:?}\n",
            creds["site"], creds["companyId"], creds["publicKey"], creds["privateKey"], creds["clientId"],
            dir.path().join("cert.pem").display().to_string(),
        ),
    )
    .unwrap();
    let with_profile = |profile: &str| {
        let mut cmd = cwbridge_api(&["GET", "/service/priorities", "--profile", profile]);
        cmd.arg("--config").arg(&config);
        run(cmd)
    };

    // Act
    let good = with_profile("demo").await;
    let unknown = with_profile("other").await;

    // Assert
    let priorities: Value = serde_json::from_str(&stdout(&good)).unwrap();
    assert!(!priorities.as_array().unwrap().is_empty());
    assert!(!unknown.status.success());
    let err = String::from_utf8(unknown.stderr).unwrap();
    assert!(
        err.contains("no profile `other`") && err.contains("demo"),
        "{err}"
    );
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_come_from_the_environment_and_a_query_may_ride_in_the_path() {
    let (dir, sandbox) = sandbox().await;
    let mut cmd = cwbridge_api(&[
        "GET",
        "/company/companies?fields=id,name&pageSize=3",
        "--all",
    ]);
    let creds = credentials(dir.path());
    for (var, field) in [
        ("CWBRIDGE_CW_SITE", "site"),
        ("CWBRIDGE_CW_COMPANY_ID", "companyId"),
        ("CWBRIDGE_CW_PUBLIC_KEY", "publicKey"),
        ("CWBRIDGE_CW_PRIVATE_KEY", "privateKey"),
        ("CWBRIDGE_CW_CLIENT_ID", "clientId"),
    ] {
        cmd.env(var, creds[field].as_str().unwrap());
    }
    cmd.env("CWBRIDGE_CW_CA", dir.path().join("cert.pem"));
    let out = run(cmd).await;

    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() > 3, "more than one page of 3 was read");
    assert!(
        lines.iter().all(|c| c.as_object().unwrap().len() == 2),
        "only id and name"
    );
    let mut ids: Vec<i64> = lines.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "no record twice");
    sandbox.stop().await;
}
