//! `cwbridge demo` as a process, as a newcomer runs it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Demo {
    child: Child,
    /// What it printed, up to "Ctrl-C stops both."
    pub lines: Vec<String>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    pub fn value(&self, label: &str) -> String {
        self.lines
            .iter()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|v| v.split_whitespace().next().unwrap_or_default().to_owned())
            .unwrap_or_else(|| panic!("no `{label}` in {:#?}", self.lines))
    }
}

/// Starts the demo (`--auto` when `auto`) and reads its output up to "Ctrl-C stops both."
pub fn start(dir: &std::path::Path, auto: bool) -> Demo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cwbridge"))
        .arg("demo")
        .args(auto.then_some("--auto"))
        .args([
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

/// [`start`] on a blocking thread, for async tests.
pub async fn start_in(dir: &std::path::Path, auto: bool) -> Demo {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || start(&dir, auto))
        .await
        .unwrap()
}

impl Demo {
    /// The bridge's API as the demo's tenant.
    pub fn api(&self) -> cwbridge_testkit::Remote {
        cwbridge_testkit::Remote::new(reqwest::Client::new(), self.bridge(), self.token())
    }

    /// The wizard's address, without the trailing slash.
    pub fn bridge(&self) -> String {
        self.value("Wizard:").trim_end_matches('/').to_owned()
    }

    /// The tenant token to sign in with.
    pub fn token(&self) -> String {
        self.value("Sign in with:")
    }
}
