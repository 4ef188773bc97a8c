//! Clients written by other people, unchanged, against the sandbox over HTTPS: pyconnectwise
//! and connectpyse (PyPI) and connectwise-rest (npm). Each runs a script from `tests/clients/`
//! that walks through the calls an integration makes and fails on the first surprise.
//!
//! The tools come from `.ci/run`: `CWBRIDGE_TEST_PYTHON` names a Python with the pinned PyPI
//! packages, `CWBRIDGE_TEST_NODE_PATH` the `node_modules` holding connectwise-rest. A plain
//! `cargo test` leaves them out (`#[ignore]`); `.ci/run` installs the tools and runs them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::TestSandbox;

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Runs one check script against a fresh demo sandbox and fails with its output.
async fn run_check(program: &str, script: &str, extra_env: &[(&str, String)]) {
    let sb = TestSandbox::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("cert.pem");
    std::fs::write(&ca, sb.sandbox.ca_pem().expect("HTTPS")).unwrap();
    let creds = sb.admin().clone();
    let origin = sb.origin();
    let site = origin.trim_start_matches("https://").to_owned();
    let mut cmd = Command::new(program);
    cmd.arg(scripts().join(script))
        .env("CWBRIDGE_SANDBOX_SITE", site)
        .env("CWBRIDGE_SANDBOX_URL", &origin)
        .env("CWBRIDGE_SANDBOX_COMPANY", &creds.company_id)
        .env("CWBRIDGE_SANDBOX_PUBLIC_KEY", &creds.public_key)
        .env("CWBRIDGE_SANDBOX_PRIVATE_KEY", &creds.private_key)
        .env("CWBRIDGE_SANDBOX_CLIENT_ID", &creds.client_id)
        .env("REQUESTS_CA_BUNDLE", &ca)
        .env("NODE_EXTRA_CA_CERTS", &ca)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    sb.sandbox.stop().await;
}

/// The Python with the pinned PyPI clients.
fn python() -> String {
    std::env::var("CWBRIDGE_TEST_PYTHON")
        .expect("CWBRIDGE_TEST_PYTHON names a Python with the pinned clients (.ci/run sets it)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs CWBRIDGE_TEST_PYTHON with pyconnectwise (.ci/run installs it and runs this)"]
async fn pyconnectwise_works_unchanged() {
    run_check(&python(), "pyconnectwise_check.py", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs CWBRIDGE_TEST_PYTHON with django-connectwise (.ci/run installs it and runs this)"]
async fn django_connectwise_syncs_every_type_it_knows() {
    run_check(&python(), "djconnectwise_sync.py", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs CWBRIDGE_TEST_PYTHON with connectpyse (.ci/run installs it and runs this)"]
async fn connectpyse_works_unchanged() {
    run_check(&python(), "connectpyse_check.py", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node and CWBRIDGE_TEST_NODE_PATH with connectwise-rest (.ci/run installs it and runs this)"]
async fn connectwise_rest_works_unchanged() {
    let node_path = std::env::var("CWBRIDGE_TEST_NODE_PATH").expect(
        "CWBRIDGE_TEST_NODE_PATH names node_modules holding connectwise-rest (.ci/run sets it)",
    );
    run_check(
        "node",
        "connectwise_rest_check.js",
        &[("NODE_PATH", node_path)],
    )
    .await;
}
