//! What the sandbox holds in memory, and how fast it serves large pages.
//!
//! Workload, each case in a child process of its own (so one case's heap does not count in
//! the next's resident memory):
//! 1. a sandbox seeded with 100,000 tickets (and 1,000 companies): resident memory once it
//!    serves;
//! 2. a sandbox seeded with 100,000 companies: resident memory once it serves, then the
//!    wall time to serve all 100,000 companies as 100 pages of 1,000 over HTTPS (navigable
//!    paging, one connection, answers read whole but not decoded), and the CPU time of the
//!    process (the sandbox, and the reader counting records) for those pages.
//!
//! Prints both cases' figures. Run with `cargo bench -p connectwise-sandbox --bench memory`.

use std::alloc::System;
use std::process::Command;
use std::time::Instant;

use connectwise_sandbox::{Sandbox, SandboxConfig, Seed};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

const CHILD: &str = "--memory-case";

/// The system allocator, counting the bytes in use: the heap the sandbox holds, apart from
/// what the allocator keeps after frees (which resident memory also counts).
#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn heap_mib() -> f64 {
    let stats = ALLOCATOR.stats();
    (stats.bytes_allocated as f64 - stats.bytes_deallocated as f64 + stats.bytes_reallocated as f64)
        / 1_048_576.0
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == CHILD) {
        let case = args.get(at + 1).map(String::as_str).unwrap_or_default();
        return tokio::runtime::Runtime::new()?.block_on(run_case(case));
    }
    println!(
        "workload: 100,000 tickets, then 100,000 companies (100 pages of 1,000 read over HTTPS), each in a child process"
    );
    for case in ["tickets", "companies"] {
        let out = Command::new(std::env::current_exe()?)
            .args([CHILD, case])
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "case {case} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
    Ok(())
}

async fn run_case(case: &str) -> anyhow::Result<()> {
    let (companies, tickets) = match case {
        "tickets" => (1_000, 100_000),
        "companies" => (100_000, 0),
        other => anyhow::bail!("unknown case {other}"),
    };
    let before = rss_mib();
    let started = Instant::now();
    let sandbox = Sandbox::start(SandboxConfig {
        seed: Some(Seed::Bench { companies, tickets }),
        ..SandboxConfig::ephemeral()
    })
    .await?;
    let seeded = started.elapsed();
    let serving = rss_mib();
    println!(
        "{case}: {companies} companies, {tickets} tickets seeded in {:.1} s; resident {serving:.0} MiB, heap in use {:.0} MiB (the process before the sandbox: {before:.0} MiB)",
        seeded.as_secs_f64(),
        heap_mib()
    );
    if case == "companies" {
        let creds = sandbox.credentials().clone();
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(
                sandbox.ca_pem().unwrap_or_default().as_bytes(),
            )?)
            .build()?;
        let base = sandbox.api_url();
        let cpu_before = cpu_seconds();
        let started = Instant::now();
        let (mut read, mut bytes) = (0usize, 0usize);
        for page in 1.. {
            let url = format!("{base}company/companies?pageSize=1000&page={page}");
            let body = http
                .get(&url)
                .basic_auth(
                    format!("{}+{}", creds.company_id, creds.public_key),
                    Some(&creds.private_key),
                )
                .header("clientId", &creds.client_id)
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
            // Count the page's records without decoding them: each starts with its id.
            let records = body.windows(6).filter(|w| w == b"{\"id\":").count();
            if records == 0 {
                break;
            }
            bytes += body.len();
            read += records;
        }
        anyhow::ensure!(read == companies, "read {read} of {companies} companies");
        let wall = started.elapsed();
        let cpu = cpu_seconds() - cpu_before;
        println!(
            "companies: {read} read as pages of 1,000 in {:.2} s ({:.1} MiB of JSON, {:.0} bytes a company); process CPU {:.2} s (sandbox and this reader together); resident after {:.0} MiB",
            wall.as_secs_f64(),
            bytes as f64 / 1_048_576.0,
            bytes as f64 / read.max(1) as f64,
            cpu,
            rss_mib()
        );
    }
    sandbox.stop().await;
    Ok(())
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN)
        / 1024.0
}

/// CPU seconds (user and system, all threads) of this process, from `/proc/self/stat`
/// (times in the kernel's fixed user-visible tick of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<f64>().ok())
        .sum::<f64>()
        / 100.0
}
