//! `cwbridge serve --config FILE` and `cwbridge config check`, as an operator runs them: the
//! file's precedence against the environment and flags, its refusal of an unknown key, and
//! serve running on what the file says (listeners, database, operator token).

#[allow(dead_code)] // only the probes, the port and the SIGTERM guard are needed here
mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Serving, anonymous_get, api, free_port, readyz_becomes};
use reqwest::StatusCode;

/// `cwbridge config check ARGS` with `env`; answers its output and status.
async fn config_check(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cwbridge"));
    cmd.current_dir(dir).args(["config", "check"]).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cwbridge_testkit::run(cmd).await
}

#[tokio::test]
async fn a_config_file_is_overridden_by_the_environment_and_flags_and_refuses_an_unknown_key() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cwbridge.toml");
    std::fs::write(
        &file,
        r#"
listen = "127.0.0.1:9100"
database_url = "postgres://bridge:s3cret@db.internal/cwbridge"
operator_token = "from-the-file"
allow_network = ["10.0.0.0/8", "192.168.1.0/24"]
max_queued_alerts = 5000
delivery_concurrency = 64
"#,
    )
    .unwrap();
    let config = file.to_str().unwrap();

    // Act
    let checked = config_check(
        dir.path(),
        &[
            ("CWBRIDGE_MAX_QUEUED_ALERTS", "6000"),
            ("CWBRIDGE_DELIVERY_CONCURRENCY", "32"),
        ],
        &["--config", config, "--delivery-concurrency", "16"],
    )
    .await;
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:9100\"\nlisten_adress = \"x\"\n",
    )
    .unwrap();
    let refused = config_check(dir.path(), &[], &["--config", config]).await;

    // Assert: flag over environment over file over default; secrets hidden.
    let text = cwbridge_testkit::printed(&checked);
    assert!(checked.status.success(), "{text}");
    for line in [
        "listen = \"127.0.0.1:9100\"  # config file",
        "max_queued_alerts = 6000  # environment",
        "delivery_concurrency = 16  # flag",
        "allow_network = [\"10.0.0.0/8\", \"192.168.1.0/24\"]  # config file",
        "database_url = \"postgres://bridge:***@db.internal/cwbridge\"  # config file",
        "operator_token = \"<redacted>\"  # config file",
        "shutdown_grace_secs = 10  # default",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
    }
    assert!(!text.contains("s3cret") && !text.contains("from-the-file"));
    let said = cwbridge_testkit::printed(&refused);
    assert_eq!(refused.status.code(), Some(2), "{said}");
    assert!(
        said.contains("`listen_adress` is not a setting of cwbridge serve"),
        "{said}"
    );
    assert_eq!(said.lines().count(), 1, "one readable line: {said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_on_what_its_config_file_says() {
    // Arrange: the listeners, the database and the operator token from the file only.
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics_port) = (free_port(), free_port());
    let file = dir.path().join("cwbridge.toml");
    let database = dir.path().join("from-file.db");
    std::fs::write(
        &file,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndatabase_url = \"sqlite://{}\"\noperator_token = \"file-op\"\nmetrics_listen = \"127.0.0.1:{metrics_port}\"\n",
            database.display()
        ),
    )
    .unwrap();
    let api = api(port, "", Duration::from_secs(10));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cwbridge"));
    cmd.current_dir(dir.path())
        .env_remove("CWBRIDGE_DATABASE_URL")
        .env_remove("CWBRIDGE_OPERATOR_TOKEN")
        .env_remove("CWBRIDGE_LISTEN")
        .args(["serve", "--config"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut server = Serving(Some(cmd.spawn().unwrap()));

    // Act
    let ready = readyz_becomes(&api, StatusCode::OK, Duration::from_secs(20)).await;
    let metrics = api
        .http
        .get(format!("{}/metrics", api.base))
        .bearer_auth("file-op")
        .send()
        .await
        .unwrap();
    let scraper = common::api(metrics_port, "", Duration::from_secs(10));
    let open_metrics = anonymous_get(&scraper, "/metrics").await;
    let open_ready = anonymous_get(&scraper, "/readyz").await;
    let status = server.stop().await;

    // Assert
    assert_eq!(ready["ready"], true);
    assert_eq!(
        metrics.status(),
        StatusCode::OK,
        "the file's operator token"
    );
    assert!(database.exists(), "the file's database");
    assert_eq!(
        open_metrics.status(),
        StatusCode::OK,
        "/metrics without a token on the metrics listener"
    );
    let text = open_metrics.text().await.unwrap();
    assert!(text.contains("cwbridge_alert_queue_depth 0"), "{text}");
    assert_eq!(open_ready.status(), StatusCode::OK);
    assert!(status.success());
}
