//! What the process tests share: a sandbox with seed 004's security role, API member and key
//! (as the MSP admin makes them), `cwbridge` commands working on its directory, and a tenant
//! made from the shell.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use connectwise_sandbox::{Preset, Sandbox};
use cwbridge_testkit::{ApiKey, Remote, Site};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A directory holding the sandbox's state (`sandbox/`) and the bridge's (`bridge.db`).
pub struct World {
    pub dir: tempfile::TempDir,
    pub site: Site,
    /// The API member's key.
    pub key: ApiKey,
}

/// A demo sandbox with seed 004's role, an API member holding it, and a key.
pub async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::demo_in(&dir.path().join("sandbox")).await;
    let key = site
        .key_for("EasyDMARC", &Preset::BillingTickets.grants())
        .await;
    World { dir, site, key }
}

impl World {
    /// The running sandbox.
    #[allow(dead_code)] // not every process test reads it
    pub fn sandbox(&self) -> &Sandbox {
        &self.site.sandbox
    }

    /// Step 1's form for the member's key, as `PUT /api/v1/connection` takes it.
    pub fn connection(&self) -> Value {
        self.site.connection_json(&self.key)
    }
}

/// `cwbridge` on the world's directory: its database, trusting its sandbox.
pub fn cwbridge(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cwbridge"));
    cmd.current_dir(dir)
        .env_remove("CWBRIDGE_SECRET_KEYS")
        .env(
            "CWBRIDGE_DATABASE_URL",
            format!("sqlite://{}", dir.join("bridge.db").display()),
        )
        .env("CWBRIDGE_CONNECTWISE_CA", dir.join("sandbox/cert.pem"))
        // The sandbox listens on 127.0.0.1, which the operator allows as it would an
        // on-premise ConnectWise; every other private address stays refused.
        .env("CWBRIDGE_ALLOW_NETWORKS", "127.0.0.1/32");
    cmd
}

/// `cmd tenant create "Acme MSP" --json`, as the operator makes a tenant from the shell;
/// answers its token.
pub async fn acme_token(mut cmd: Command) -> String {
    cmd.args(["tenant", "create", "Acme MSP", "--json"])
        .stdout(Stdio::piped());
    let made = cwbridge_testkit::run(cmd).await;
    assert!(
        made.status.success(),
        "{}",
        cwbridge_testkit::printed(&made)
    );
    let made: Value = serde_json::from_slice(&made.stdout).unwrap();
    made["token"].as_str().unwrap().to_owned()
}

/// Tickets set up for the tenant of `api` over HTTP: its connection, account `g-acme`
/// (acme.example) mapped to company 1, and the ticket defaults (Help Desk, New, normal).
#[allow(dead_code)] // the process tests that send no alerts leave it
pub async fn alerts_set_up(w: &World, api: &Remote) {
    api.put_all([
        ("/api/v1/connection", w.connection()),
        (
            "/api/v1/accounts/g-acme",
            json!({"name": "Acme Corporation", "units": ["acme.example"]}),
        ),
        ("/api/v1/accounts/g-acme/mapping", json!({"companyId": 1})),
        (
            "/api/v1/tickets",
            json!({"board": "Help Desk", "status": "New", "priority": "Priority 3 - Normal Response"}),
        ),
    ])
    .await;
}

/// A free local port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The API of a `cwbridge serve` on `port` as the holder of `token`; a call that takes longer
/// than `timeout` fails.
pub fn api(port: u16, token: &str, timeout: Duration) -> Remote {
    let http = reqwest::Client::builder().timeout(timeout).build().unwrap();
    Remote::new(http, format!("http://127.0.0.1:{port}"), token)
}

/// Runs `cmd` as `cwbridge serve --listen 127.0.0.1:PORT`, PORT `api`'s, and waits until it
/// answers.
pub async fn serve(cmd: &mut Command, api: &Remote) -> Child {
    let listen = api.base.trim_start_matches("http://");
    cmd.args(["serve", "--listen", listen]);
    let mut child = cmd.spawn().expect("cwbridge serve starts");
    for _ in 0..200 {
        let up = api.http.get(format!("{}/api/openapi.json", api.base));
        if up.send().await.is_ok() {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("cwbridge serve did not come up");
}

/// A `cwbridge serve`, killed with SIGKILL if a test ends (or fails) with it still running.
#[allow(dead_code)] // the tests that stop serve with SIGKILL only do without
pub struct Serving(pub Option<Child>);

impl Serving {
    #[allow(dead_code)]
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("serving")
    }

    /// SIGTERM, as systemd, Kubernetes and `docker stop` send it; answers the exit status,
    /// waiting up to 20 s for it.
    #[allow(dead_code)]
    pub async fn stop(&mut self) -> std::process::ExitStatus {
        let child = self.child();
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.0 = None;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running 20 s after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(child) = self.0.take() {
            kill_9(child);
        }
    }
}

/// `GET path` without a token.
#[allow(dead_code)] // for the tests that read the probes
pub async fn anonymous_get(api: &Remote, path: &str) -> reqwest::Response {
    let url = format!("{}{path}", api.base);
    api.http.get(url).send().await.expect("the bridge answers")
}

/// Asks `/readyz` every 200 ms until it answers `status`, for up to `within`.
#[allow(dead_code)] // for the tests that read the probes
pub async fn readyz_becomes(api: &Remote, status: StatusCode, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        // Not answering yet (a process starting) counts as not yet.
        let res = api.http.get(format!("{}/readyz", api.base)).send().await;
        if let Ok(res) = res
            && res.status() == status
        {
            return res.json().await.unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "/readyz did not answer {status} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// SIGKILL: no shutdown code runs.
pub fn kill_9(mut child: Child) {
    child.kill().expect("kill -9");
    child.wait().unwrap();
}
