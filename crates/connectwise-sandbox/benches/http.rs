//! Sandbox throughput and latency, against Prism serving the same endpoints.
//!
//! Workload: a sandbox seeded with 1,000 companies and 100,000 tickets, over HTTPS with
//! keep-alive connections, driven by `wrk` (a separate process, 1 thread, 10 s per run):
//! 1. `GET /service/tickets/{id}` for random ids, authenticated, 32 connections;
//! 2. `GET /service/tickets?conditions=closedFlag = false and company/id = 7&pageSize=1000`
//!    (two predicates over all 100,000 tickets; `company/id` is answered from the reference
//!    index, as ConnectWise's database answers it from a foreign-key index), one client,
//!    latency percentiles;
//! 3. `GET /service/tickets?conditions=closedFlag = false and summary like "Bench ticket 4242%"&pageSize=1000`
//!    (two predicates no index can answer: a scan of all 100,000 tickets), one client.
//!
//! The same two requests run against Prism (`@stoplight/prism-cli`, a mock a developer would
//! otherwise reach for), serving the reference OpenAPI document over HTTP. Prints requests per
//! second, p50/p99 latency, the ratio sandbox/Prism, and the sandbox's resident memory.
//!
//! Needs `wrk` on PATH and, for the comparison, npm (`@stoplight/prism-cli` is installed
//! into `target/bench/prism` on first run). Run with
//! `cargo bench -p connectwise-sandbox --bench http`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use connectwise_sandbox::{Sandbox, SandboxConfig, Seed};

const TICKETS: usize = 100_000;
const DURATION: &str = "10s";
const CONNECTIONS: &str = "32";

struct Run {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Run {
    fn print(&self, label: &str) {
        println!(
            "{label}: {:>9.1} req/s  p50 {:.2} ms  p99 {:.2} ms",
            self.rps, self.p50_ms, self.p99_ms
        );
    }
}

fn wrk(
    url: &str,
    connections: &str,
    script: &std::path::Path,
    headers: &[(String, String)],
) -> anyhow::Result<Run> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t1", "-c", connections, "-d", DURATION, "--latency", "-s"])
        .arg(script);
    for (k, v) in headers {
        cmd.arg("-H").arg(format!("{k}: {v}"));
    }
    let out = cmd
        .arg(url)
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run wrk ({e}); install it: apt-get install wrk"))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("wrk printed no Requests/sec:\n{text}"))?;
    let pct = |p: &str| -> f64 {
        text.lines()
            .find(|l| l.trim_start().starts_with(p))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(parse_wrk_duration)
            .unwrap_or(f64::NAN)
    };
    if text.contains("Non-2xx") {
        eprintln!("warning: wrk saw non-2xx answers for {url}:\n{text}");
    }
    Ok(Run {
        rps,
        p50_ms: pct("50%"),
        p99_ms: pct("99%"),
    })
}

fn parse_wrk_duration(s: &str) -> f64 {
    let (num, unit) = s.split_at(s.find(|c: char| c.is_alphabetic()).unwrap_or(s.len()));
    let n: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => f64::NAN,
    }
}

fn script(dir: &std::path::Path, name: &str, body: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::File::create(&path)?.write_all(body.as_bytes())?;
    Ok(path)
}

/// A wrk script asking for `path` on every request.
fn fixed_path(dir: &std::path::Path, name: &str, path: &str) -> anyhow::Result<PathBuf> {
    let body = format!("request = function()\n  return wrk.format(nil, '{path}')\nend\n");
    script(dir, name, &body)
}

/// A wrk script asking for `{api}service/tickets/{id}` for random ids of the seeded tickets.
fn ticket_by_random_id(dir: &std::path::Path, name: &str, api: &str) -> anyhow::Result<PathBuf> {
    let url = format!("\"{api}service/tickets/\" .. math.random(1, {TICKETS})");
    let body =
        format!("math.randomseed(7)\nrequest = function()\n  return wrk.format(nil, {url})\nend\n");
    script(dir, name, &body)
}

/// The tickets list with two predicates over every ticket, one `company/id` (answered from
/// the reference index).
const LIST_QUERY: &str = "service/tickets?conditions=closedFlag%20%3D%20false%20and%20company%2Fid%20%3D%207&pageSize=1000";
/// The tickets list with two predicates no index can answer.
const SCAN_QUERY: &str = "service/tickets?conditions=closedFlag%20%3D%20false%20and%20summary%20like%20%22Bench%20ticket%204242%25%22&pageSize=1000";

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

struct Prism(Child);

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_prism(work: &std::path::Path, schema: &std::path::Path) -> Option<(Prism, u16)> {
    let dir = work.join("prism");
    std::fs::create_dir_all(&dir).ok()?;
    let bin = dir.join("node_modules/.bin/prism");
    if !bin.exists() {
        eprintln!("installing @stoplight/prism-cli into {} …", dir.display());
        let ok = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                "@stoplight/prism-cli@5",
            ])
            .current_dir(&dir)
            .status()
            .ok()?
            .success();
        if !ok {
            return None;
        }
    }
    let port = 4010;
    let child = Command::new(bin)
        .args(["mock", "-p", &port.to_string(), "-h", "127.0.0.1"])
        .arg(schema)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let prism = Prism(child);
    for _ in 0..120 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((prism, port));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    None
}

fn main() -> anyhow::Result<()> {
    let work = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&work)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let sandbox = runtime.block_on(Sandbox::start(SandboxConfig {
        seed: Some(Seed::Bench {
            companies: 1_000,
            tickets: TICKETS,
        }),
        ..SandboxConfig::ephemeral()
    }))?;
    let creds = sandbox.credentials().clone();
    let headers = vec![
        ("Authorization".to_owned(), creds.authorization()),
        ("clientId".to_owned(), creds.client_id.clone()),
    ];
    let api = "/v4_6_release/apis/3.0/";
    let by_id = ticket_by_random_id(&work, "by_id.lua", api)?;
    let list = fixed_path(&work, "list.lua", &format!("{api}{LIST_QUERY}"))?;
    let scan = fixed_path(&work, "scan.lua", &format!("{api}{SCAN_QUERY}"))?;
    let rss = rss_kib(std::process::id());
    println!(
        "workload: {TICKETS} tickets, 1,000 companies; wrk -t1 -d{DURATION}, keep-alive; GET by id with {CONNECTIONS} connections, the conditions list with 1"
    );
    let s_get = wrk(sandbox.url(), CONNECTIONS, &by_id, &headers)?;
    let s_list = wrk(sandbox.url(), "1", &list, &headers)?;
    let s_scan = wrk(sandbox.url(), "1", &scan, &headers)?;
    s_get.print("sandbox (HTTPS)  GET ticket by id");
    s_list.print("sandbox (HTTPS)  conditions list ");
    s_scan.print("sandbox (HTTPS)  full-scan list  ");
    if let Some(kib) = rss {
        println!(
            "sandbox resident memory with {TICKETS} tickets: {:.0} MiB (bench process, before load)",
            kib as f64 / 1024.0
        );
    }
    let schema = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema/cw-manage-schema.json");
    match start_prism(&work, &schema) {
        Some((_prism, port)) => {
            let url = format!("http://127.0.0.1:{port}");
            let by_id_prism = ticket_by_random_id(&work, "by_id_prism.lua", "/")?;
            let list_prism = fixed_path(&work, "list_prism.lua", &format!("/{LIST_QUERY}"))?;
            let p_get = wrk(&url, CONNECTIONS, &by_id_prism, &[])?;
            let p_list = wrk(&url, "1", &list_prism, &[])?;
            p_get.print("prism (HTTP)     GET ticket by id");
            p_list.print("prism (HTTP)     conditions list ");
            println!(
                "ratio sandbox/prism: GET by id {:.2}x req/s; list {:.2}x req/s",
                s_get.rps / p_get.rps,
                s_list.rps / p_list.rps
            );
        }
        None => println!("prism: not available (npm install failed); no comparison this run"),
    }
    runtime.block_on(sandbox.stop());
    Ok(())
}
