//! What the process tests share: a sandbox with seed 004's security role, API member and key
//! (as the MSP admin makes them), and `cwbridge` commands working on its directory.

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use connectwise_sandbox::{Preset, Sandbox};

/// A directory holding the sandbox's state (`sandbox/`) and the bridge's (`bridge.db`).
pub struct World {
    pub dir: tempfile::TempDir,
    pub sandbox: Sandbox,
    pub public_key: String,
    pub private_key: String,
}

/// A demo sandbox with seed 004's role, an API member holding it, and a key.
pub async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let site = cwbridge_testkit::Site::demo_in(&dir.path().join("sandbox")).await;
    let key = site
        .key_for("EasyDMARC", &Preset::BillingTickets.grants())
        .await;
    World {
        dir,
        sandbox: site.sandbox,
        public_key: key.public_key,
        private_key: key.private_key,
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

/// A free local port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `cmd` as `cwbridge serve --listen 127.0.0.1:PORT` and waits until it answers.
pub async fn serve(cmd: &mut Command, port: u16, http: &reqwest::Client) -> Child {
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")]);
    let mut child = cmd.spawn().expect("cwbridge serve starts");
    for _ in 0..200 {
        if http
            .get(format!("http://127.0.0.1:{port}/api/openapi.json"))
            .send()
            .await
            .is_ok()
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("cwbridge serve did not come up");
}

/// SIGKILL: no shutdown code runs.
pub fn kill_9(mut child: Child) {
    child.kill().expect("kill -9");
    child.wait().unwrap();
}
