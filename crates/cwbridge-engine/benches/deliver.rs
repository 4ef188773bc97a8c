//! Alert delivery at ConnectWise's latency: the delivery pool against one delivery at a time
//! (cwbridge's worker before the pool), and the pool again with some tenants' ConnectWise
//! hanging, in the same run.
//!
//! Workload: the demo sandbox (in this process, sharing the machine's two cores) adding
//! 200 ms to every request (HTTPS); 50 tenants on one SQLite store, each connected, with its
//! customer mapped and tickets set up. Each tenant is sent 200 alerts — 100 keys, each
//! twice — so every tenant gets 100 tickets and 100 notes: 10,000 deliveries, all queued
//! before delivery starts. Each run has a fresh sandbox and store, so none pays for the
//! tickets an earlier one made.
//! 1. One at a time (`delivery_concurrency` 1), for 30 s: deliveries a second.
//! 2. The pool with its defaults (256 in flight, 4 per tenant): deliveries a second until
//!    all are done, and the p50/p99 time from 202 to ticket or note.
//! 3. The same, with 5 of the 50 tenants' ConnectWise accepting connections and never
//!    answering: the 45 healthy tenants' p99 from 202 to delivery, against run 2's.
//!
//! Run with `cargo bench -p cwbridge-engine --bench deliver`.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use connectwise_client::Fence;
use connectwise_sandbox::{Faults, Sandbox, SandboxConfig, Seed};
use cwbridge_engine::alert::AlertInput;
use cwbridge_engine::{ConnectionInput, Engine, EngineConfig};
use cwbridge_store::{AlertQuery, TenantId};
use futures_util::StreamExt;

mod common;
#[path = "../tests/it/pool.rs"]
mod pool;

use pool::Worker;

const TENANTS: usize = 50;
const KEYS: usize = 100;
const HANGING: usize = 5;
const LATENCY_MS: u64 = 200;

fn main() -> anyhow::Result<()> {
    common::run(run())
}

async fn run() -> anyhow::Result<()> {
    println!(
        "workload: {TENANTS} tenants x {KEYS} keys x 2 alerts (a ticket and a note each), sandbox +{LATENCY_MS} ms a request, SQLite; each run on a fresh sandbox and store"
    );
    // 1. One at a time.
    let one = Scenario::new(0).await?;
    queue(&one.engine, &one.tenants, "one").await?;
    let single = one.engine.with_config(EngineConfig {
        delivery_concurrency: 1,
        ..one.config.clone()
    });
    let started = Instant::now();
    let worker = Worker::start(&single);
    tokio::time::sleep(Duration::from_secs(30)).await;
    worker.stop().await;
    let one_done = delivered(&one.engine, &one.tenants, "one").await?.len();
    let one_rate = one_done as f64 / started.elapsed().as_secs_f64();
    println!("1. one at a time: {one_done} delivered in 30 s = {one_rate:.1} deliveries/s");
    drop(one);

    // 2. The pool.
    let pool = Scenario::new(0).await?;
    queue(&pool.engine, &pool.tenants, "pool").await?;
    let started = Instant::now();
    let worker = Worker::start(&pool.engine);
    wait_until_delivered(&pool.engine, &pool.tenants).await?;
    let took = started.elapsed().as_secs_f64();
    worker.stop().await;
    let all = delivered(&pool.engine, &pool.tenants, "pool").await?;
    let pool_rate = all.len() as f64 / took;
    let (p50, p99) = percentiles(&all);
    println!(
        "2. pool: {} delivered in {took:.1} s = {pool_rate:.1} deliveries/s; 202 to ticket or note p50 {p50:.2} s, p99 {p99:.2} s",
        all.len()
    );
    let same_tenants = delivered(&pool.engine, &pool.tenants[HANGING..], "pool").await?;
    let (_, p99_before) = percentiles(&same_tenants);
    drop(pool);

    // 3. The pool, with some tenants' ConnectWise hanging.
    let hung = Scenario::new(HANGING).await?;
    let healthy = &hung.tenants[HANGING..];
    queue(&hung.engine, &hung.tenants, "hang").await?;
    let started = Instant::now();
    let worker = Worker::start(&hung.engine);
    wait_until_delivered(&hung.engine, healthy).await?;
    let took = started.elapsed().as_secs_f64();
    worker.stop().await;
    let beside = delivered(&hung.engine, healthy, "hang").await?;
    let (h50, h99) = percentiles(&beside);
    println!(
        "3. pool, {HANGING} of {TENANTS} tenants hanging: the other {} delivered {} in {took:.1} s = {:.1} deliveries/s; 202 to delivery p50 {h50:.2} s, p99 {h99:.2} s (the same tenants in run 2: p99 {p99_before:.2} s)",
        healthy.len(),
        beside.len(),
        beside.len() as f64 / took
    );
    println!(
        "ratio pool / one at a time: {:.1}x; healthy p99 with hanging tenants / without: {:.2}x (goal <= 1.2x)",
        pool_rate / one_rate,
        h99 / p99_before
    );
    Ok(())
}

/// A fresh sandbox (adding the latency once set up) and store with every tenant set up;
/// the first `hanging` tenants' ConnectWise accepts connections and never answers.
struct Scenario {
    engine: Engine,
    config: EngineConfig,
    tenants: Vec<TenantId>,
    _sandbox: Sandbox,
    _dir: tempfile::TempDir,
}

impl Scenario {
    async fn new(hanging: usize) -> anyhow::Result<Scenario> {
        let sandbox = Sandbox::start(SandboxConfig {
            seed: Some(Seed::Demo),
            ..SandboxConfig::ephemeral()
        })
        .await?;
        let dir = tempfile::tempdir()?;
        let store = common::sqlite(&dir, "bench.db").await?;
        let config = EngineConfig {
            connectwise_ca: sandbox.ca_pem().map(|p| p.as_bytes().to_vec()),
            fence: Fence::public_only()
                .allow_network("127.0.0.1/32".parse().unwrap())
                .allow_http(true),
            ..EngineConfig::default()
        };
        let engine = common::engine(store, config.clone())?;
        let input = common::connection(&sandbox);
        let mut tenants = Vec::new();
        for i in 0..TENANTS {
            tenants.push(pool::alert_tenant(&engine, &format!("MSP {i}"), &input, "bench").await?);
        }
        if hanging > 0 {
            let (addr, hang) = pool::hanging_site().await?;
            for &t in &tenants[..hanging] {
                engine
                    .save_connection(
                        t,
                        &ConnectionInput {
                            site: format!("http://{addr}"),
                            ..input.clone()
                        },
                    )
                    .await?;
            }
            hang.store(true, Ordering::SeqCst);
        }
        sandbox.set_faults(Faults {
            latency_ms: LATENCY_MS,
            ..Faults::default()
        })?;
        Ok(Scenario {
            engine,
            config,
            tenants,
            _sandbox: sandbox,
            _dir: dir,
        })
    }
}

/// Queues every tenant's alerts of a run: each key twice, the repeats after all the firsts.
async fn queue(engine: &Engine, tenants: &[TenantId], run: &str) -> anyhow::Result<()> {
    let mut sends = Vec::new();
    for round in 0..2 {
        for &t in tenants {
            for k in 0..KEYS {
                sends.push((t, format!("{run}-{k}"), round));
            }
        }
    }
    let results: Vec<_> = futures_util::stream::iter(sends)
        .map(|(t, key, round)| async move {
            engine
                .receive_alert(
                    t,
                    &AlertInput {
                        account: "g-acme".into(),
                        alert_type: format!("bench-{run}"),
                        key: Some(key.clone()),
                        summary: format!("Bench alert {key} ({round})"),
                        description: "A bench alert.".into(),
                        resolved: false,
                    },
                )
                .await
        })
        .buffer_unordered(64)
        .collect()
        .await;
    for r in results {
        r?;
    }
    Ok(())
}

async fn wait_until_delivered(engine: &Engine, tenants: &[TenantId]) -> anyhow::Result<()> {
    loop {
        let mut queued = 0;
        for &t in tenants {
            let q = AlertQuery {
                state: Some("queued".into()),
                limit: 1,
                ..AlertQuery::default()
            };
            queued += engine.alerts_page(t, &q).await?.len();
        }
        if queued == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Milliseconds from 202 to delivery of every delivered alert of a run.
async fn delivered(engine: &Engine, tenants: &[TenantId], run: &str) -> anyhow::Result<Vec<i64>> {
    let mut out = Vec::new();
    for &t in tenants {
        let mut before = None;
        loop {
            let page = engine
                .alerts_page(
                    t,
                    &AlertQuery {
                        before,
                        state: Some("delivered".into()),
                        alert_type: Some(format!("bench-{run}")),
                        limit: 1000,
                        ..AlertQuery::default()
                    },
                )
                .await?;
            out.extend(page.iter().map(|a| a.updated_at - a.created_at));
            match page.last() {
                Some(last) if page.len() == 1000 => before = Some(last.id),
                _ => break,
            }
        }
    }
    Ok(out)
}

/// p50 and p99, in seconds.
fn percentiles(ms: &[i64]) -> (f64, f64) {
    let mut v = ms.to_vec();
    v.sort_unstable();
    let at = |q: f64| {
        v.get(((v.len() as f64 * q) as usize).min(v.len().saturating_sub(1)))
            .map_or(f64::NAN, |&x| x as f64 / 1000.0)
    };
    (at(0.50), at(0.99))
}
