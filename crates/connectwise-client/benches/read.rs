//! Reading a large ConnectWise list with the client, against pyconnectwise on the same data.
//!
//! Workload: a sandbox (in a child process, so this process's memory is the client's) seeded
//! with 100,000 companies, over HTTPS. The client streams every company at pageSize 1000
//! (forward-only) into typed `Company` models, counting them; pyconnectwise (PyPI, the
//! client a Python integrator would pick) reads the same companies with its `paginated(…).all()`
//! in the same run. Then the same stream under the sandbox's faults (10% of requests answered
//! 429 with Retry-After 1 s, 20 ms latency on every request): requests sent against the
//! minimum (one per page), and every company read exactly once.
//!
//! Prints entities per second, peak resident memory and the ratio. Needs pyconnectwise in
//! `CWBRIDGE_TEST_PYTHON` (as `.ci/run` installs it) for the comparison. Run with
//! `cargo bench -p connectwise-client --bench read`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use connectwise_client::models::Company;
use connectwise_client::{Client, Credentials, RetryPolicy};
use connectwise_sandbox::{Faults, Sandbox, SandboxConfig, Seed};

use futures_util::TryStreamExt;

const COMPANIES: usize = 100_000;
const CHILD_FLAG: &str = "--sandbox-child";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == CHILD_FLAG) {
        return serve_sandbox(Path::new(&args[i + 1]));
    }
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(std::env::current_exe()?)
        .arg(CHILD_FLAG)
        .arg(dir.path())
        .stdin(Stdio::piped())
        .spawn()?;
    let result = run(dir.path());
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// The child: a sandbox with the bench data, serving until its parent closes stdin. Faults
/// are set through the sandbox's control endpoint.
fn serve_sandbox(dir: &Path) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let sandbox = Sandbox::start(SandboxConfig {
            state_dir: Some(dir.to_owned()),
            seed: Some(Seed::Bench {
                companies: COMPANIES,
                tickets: 0,
            }),
            ..SandboxConfig::ephemeral()
        })
        .await?;
        std::fs::write(dir.join("ready"), sandbox.url())?;
        tokio::task::spawn_blocking(|| std::io::read_to_string(std::io::stdin())).await??;
        sandbox.stop().await;
        anyhow::Ok(())
    })
}

fn run(dir: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    while !dir.join("ready").exists() {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "the sandbox did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let credentials = Credentials::from_file(&dir.join("credentials.json"))?;
    let ca = std::fs::read(dir.join("cert.pem"))?;
    println!(
        "workload: {COMPANIES} companies in a sandbox child process over HTTPS; pageSize 1000"
    );
    let runtime = tokio::runtime::Runtime::new()?;

    // 1. The client, no faults.
    let client = Client::builder(credentials.clone())
        .extra_ca_pem(ca.clone())
        .build()?;
    let cpu_before = cpu_seconds();
    let (ids, secs) = runtime.block_on(read_all(&client))?;
    let cpu = cpu_seconds() - cpu_before;
    anyhow::ensure!(ids.len() == COMPANIES, "read {} companies", ids.len());
    let rust_rate = ids.len() as f64 / secs;
    let peak = peak_rss_kib();
    println!(
        "connectwise-client: {:>8.0} companies/s ({secs:.2} s, {} requests), client CPU {:.1} µs a company, peak RSS {} MiB",
        rust_rate,
        client.stats().requests,
        cpu * 1e6 / ids.len() as f64,
        peak.map_or("?".into(), |k| format!("{:.0}", k as f64 / 1024.0))
    );

    // 2. pyconnectwise on the same data.
    match pyconnectwise(&credentials, &dir.join("cert.pem")) {
        Ok((n, py_secs, py_rss, py_cpu)) => {
            let py_rate = n as f64 / py_secs;
            println!(
                "pyconnectwise:      {py_rate:>8.0} companies/s ({py_secs:.2} s, {n} read), client CPU {:.1} µs a company, peak RSS {:.0} MiB",
                py_cpu * 1e6 / n as f64,
                py_rss as f64 / 1024.0
            );
            println!(
                "ratio connectwise-client/pyconnectwise: {:.1}x companies/s",
                rust_rate / py_rate
            );
        }
        Err(e) => println!("pyconnectwise: not run ({e})"),
    }

    // 3. Under 429s and latency.
    let faults = Faults {
        throttle_rate: 0.1,
        retry_after_secs: 1,
        latency_ms: 20,
        ..Faults::default()
    };
    let admin = connectwise_sandbox::admin::AdminClient::from_state_dir(dir)?;
    runtime.block_on(admin.set_faults(&faults))?;
    let faulty = Client::builder(credentials.clone())
        .extra_ca_pem(ca)
        .retry(RetryPolicy {
            max_retries: 10,
            ..RetryPolicy::default()
        })
        .build()?;
    let (ids, secs) = runtime.block_on(read_all(&faulty))?;
    let pages = COMPANIES.div_ceil(1000) as u64;
    let stats = faulty.stats();
    println!(
        "under faults (10% 429 with Retry-After 1 s, +20 ms a request): {} companies read once each ({}), {} requests for {pages} pages ({} retries of 429s), {secs:.1} s",
        ids.len(),
        if ids.len() == COMPANIES {
            "none lost, none doubled"
        } else {
            "MISMATCH"
        },
        stats.requests,
        stats.retries,
    );
    Ok(())
}

/// Streams every company; answers the distinct ids (checking none came twice) and seconds.
async fn read_all(client: &Client) -> anyhow::Result<(HashSet<i64>, f64)> {
    let started = Instant::now();
    let mut ids = HashSet::with_capacity(COMPANIES);
    let mut stream = std::pin::pin!(client.company().companies().list().page_size(1000).stream());
    while let Some(company) = stream.try_next().await? {
        let company: Company = company;
        let id = company.id.unwrap_or_default();
        anyhow::ensure!(ids.insert(id), "company {id} came twice");
    }
    Ok((ids, started.elapsed().as_secs_f64()))
}

/// Records read, seconds, peak RSS in KiB and CPU seconds of the pyconnectwise run.
fn pyconnectwise(credentials: &Credentials, ca: &Path) -> anyhow::Result<(u64, f64, u64, f64)> {
    let python = std::env::var("CWBRIDGE_TEST_PYTHON")
        .map(PathBuf::from)
        .or_else(|_| {
            let home = std::env::var("HOME")?;
            Ok::<_, std::env::VarError>(
                PathBuf::from(home).join(".cache/cwbridge-tools/venv/bin/python"),
            )
        })?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/pyconnectwise_read.py");
    let site = credentials
        .site
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned();
    let child: Child = Command::new(&python)
        .arg(script)
        .env("CWBRIDGE_SANDBOX_SITE", site)
        .env("CWBRIDGE_SANDBOX_COMPANY", &credentials.company_id)
        .env("CWBRIDGE_SANDBOX_PUBLIC_KEY", &credentials.public_key)
        .env("CWBRIDGE_SANDBOX_PRIVATE_KEY", &credentials.private_key)
        .env("CWBRIDGE_SANDBOX_CLIENT_ID", &credentials.client_id)
        .env("REQUESTS_CA_BUNDLE", ca)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", python.display()))?;
    let out = child.wait_with_output()?;
    anyhow::ensure!(
        out.status.success(),
        "pyconnectwise failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout)?;
    let mut parts = text.split_whitespace();
    let n = parts.next().unwrap_or("0").parse()?;
    let secs = parts.next().unwrap_or("0").parse()?;
    let rss = parts.next().unwrap_or("0").parse()?;
    let cpu = parts.next().unwrap_or("0").parse()?;
    Ok((n, secs, rss, cpu))
}

/// CPU seconds (user and system, all threads) this process has used: the client's share of
/// the read, the sandbox being another process. Read from `/proc/self/stat`, whose times are
/// in the kernel's fixed user-visible tick of 1/100 s.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at the state, field 3;
    // utime and stime are fields 14 and 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: Vec<f64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse().ok())
        .collect();
    ticks.iter().sum::<f64>() / 100.0
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
