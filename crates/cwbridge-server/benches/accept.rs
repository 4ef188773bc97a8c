//! Alerts accepted per second, durably, on SQLite and PostgreSQL, against creating the ticket
//! inline (what a vendor without a bridge does).
//!
//! Workload: `cwbridge serve`'s router in this process on 127.0.0.1, one tenant, the alert
//! worker off (acceptance only: each `POST /api/v1/alerts` authenticates the token and
//! commits the alert before its 202). Driven by `wrk` (1 thread, 32 connections, 10 s, then
//! 128 connections) for throughput, then by a fixed-rate generator at 1,000 alerts/s for
//! 10 s for the latency a vendor sees at that rate. SQLite always; PostgreSQL when
//! `CWBRIDGE_TEST_DATABASE_URL` is set. The comparison: the same 32 connections creating
//! the ticket in the sandbox
//! (HTTPS, `POST service/tickets`, 100 ms of injected latency as a kind stand-in
//! for ConnectWise's response time) per alert, as an integration without a queue does.
//!
//!
//! Then what watching costs (SQLite): accepts (wrk, 32 connections, 5 s a round) and
//! deliveries (600 alerts of one tenant — 300 keys, a ticket and a note each — to the
//! in-process sandbox with no added latency, so the worker is bound by the CPU; a fresh
//! sandbox and store each round), with nothing watched, with metrics recorded, and with
//! metrics and JSON logs at info level (written to a sink), the three in turn, four rounds
//! each; the means and their ratios to nothing watched.
//!
//! Run with `cargo bench -p cwbridge-server --bench accept` (needs `wrk`).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cwbridge_engine::{Engine, EngineConfig, Keyring};
use cwbridge_server::{AppState, Application};
use cwbridge_store::Store;
use cwbridge_testkit::observing::Observing;
use sha2::{Digest, Sha256};

const BODY: &str = r#"{"account":"g-acme","type":"dmarc-record-changed","key":"acme.example","summary":"DMARC record changed for acme.example","description":"The DMARC record of acme.example changed from p=none to p=reject."}"#;

fn main() -> anyhow::Result<()> {
    // Installed first, off: the accept figures below are taken with watching off.
    let observing = cwbridge_testkit::observing::Observing::install();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    println!(
        "workload: POST /api/v1/alerts, durable before 202; wrk -t1 -c32 -d10s, then -c128; then 1,000 alerts/s for 10 s"
    );
    let mut sqlite_rps = 0.0;
    for db in runtime.block_on(cwbridge_store::testing::databases()) {
        let label = if db.label == "sqlite" {
            "SQLite"
        } else {
            "PostgreSQL"
        };
        let (rps, p50, p99) = runtime.block_on(bench_store(label, db.store.clone(), dir.path()))?;
        if label == "SQLite" {
            sqlite_rps = rps;
        }
        println!("{label:<10} accept: {rps:>8.0} alerts/s (wrk p50 {p50:.2} ms, p99 {p99:.2} ms)");
        runtime.block_on(db.cleanup());
    }
    let inline = runtime.block_on(inline_tickets())?;
    println!("inline ticket creation (sandbox, +100 ms): {inline:>8.0} tickets/s");
    println!(
        "ratio accepted (SQLite) / inline: {:.1}x",
        sqlite_rps / inline
    );
    runtime.block_on(watching_costs(&observing, dir.path()))
}

/// What is watched in a round: nothing, metrics, metrics and info logs.
const WATCHING: [(&str, bool, bool); 3] = [
    ("off", false, false),
    ("metrics", true, false),
    ("metrics+logs", true, true),
];

/// Rounds of each measurement: the three settings in turn, four times.
const ROUNDS: usize = 12;

/// Accept and delivery rates with nothing watched, metrics, and metrics and logs; prints
/// the means and their ratios to the rate with nothing watched.
async fn watching_costs(observing: &Observing, dir: &Path) -> anyhow::Result<()> {
    let served = Served::start(sqlite(dir, "watching.db").await?, dir, "watching").await?;
    let mut accepts: [Vec<f64>; 3] = Default::default();
    let mut deliveries: [Vec<f64>; 3] = Default::default();
    for round in 0..ROUNDS {
        let (_, metrics, logs) = WATCHING[round % 3];
        observing.set(metrics, logs);
        let (rps, _, _) = wrk("watching", &served.script, &served.url, 32, 5).await?;
        accepts[round % 3].push(rps);
    }
    served.stop();
    for round in 0..ROUNDS {
        let (_, metrics, logs) = WATCHING[round % 3];
        observing.set(metrics, logs);
        let rate = deliveries_per_second(dir, round).await?;
        deliveries[round % 3].push(rate);
    }
    observing.set(false, false);
    let recorded = observing.handle.render();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    for (what, unit, runs) in [
        ("accept", "alerts/s", &accepts),
        ("delivery", "deliveries/s", &deliveries),
    ] {
        let off = mean(&runs[0]);
        for (i, (setting, _, _)) in WATCHING.iter().enumerate() {
            let rate = mean(&runs[i]);
            let rounds: Vec<f64> = runs[i].iter().map(|r| r.round()).collect();
            println!(
                "watching {what}, {setting:<12}: {rate:>8.0} {unit}, {:.3} of off (rounds {rounds:?})",
                rate / off
            );
        }
    }
    anyhow::ensure!(
        recorded.contains("cwbridge_alert_deliveries_total")
            && recorded.contains("connectwise_requests_total"),
        "the rounds with metrics on recorded nothing"
    );
    Ok(())
}

/// Deliveries a second of 600 alerts queued for one tenant, on a fresh sandbox and store.
async fn deliveries_per_second(dir: &Path, round: usize) -> anyhow::Result<f64> {
    use cwbridge_engine::account::AccountInput;
    use cwbridge_engine::alert::AlertInput;
    use cwbridge_engine::mapping::MappingInput;
    let site = cwbridge_testkit::Site::demo().await;
    let input = site.seed_member("Bench").await;
    let store = sqlite(dir, &format!("deliver-{round}.db")).await?;
    let engine = Engine::new(
        store.clone(),
        Keyring::from_base64(&[Keyring::generate_key()])?,
        site.config(),
    );
    let msp = cwbridge_testkit::connected_tenant(&engine, "Bench MSP", &input).await;
    let t = msp.tenant.id;
    engine
        .set_ticket_settings(t, &cwbridge_testkit::help_desk_tickets())
        .await?;
    let account = AccountInput {
        name: "Acme Corporation".into(),
        units: vec!["acme.example".into()],
        alert_types: Vec::new(),
    };
    engine.put_account(t, "g-acme", &account).await?;
    let mapping = MappingInput {
        company_id: 1,
        agreement_id: None,
    };
    engine.map_account(t, "g-acme", &mapping).await?;
    for key in 0..300 {
        for _ in 0..2 {
            let alert = AlertInput {
                account: "g-acme".into(),
                alert_type: "dns".into(),
                key: Some(format!("k{key}")),
                summary: format!("check {key} failed"),
                description: "From the watching benchmark.".into(),
                resolved: false,
            };
            engine.receive_alert(t, &alert).await?;
        }
    }
    let started = Instant::now();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = {
        let engine = engine.clone();
        tokio::spawn(async move {
            engine
                .run_alert_worker(async move {
                    let _ = stopped.await;
                })
                .await;
        })
    };
    while store.queued_alerts().await? > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rate = 600.0 / started.elapsed().as_secs_f64();
    let _ = stop.send(());
    worker.await?;
    site.sandbox.stop().await;
    Ok(rate)
}

/// The alert API of one tenant, served in this process with the worker off.
struct Served {
    engine: Engine,
    url: String,
    script: std::path::PathBuf,
    token: String,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Served {
    /// Serves `store` on a free local port; the wrk script posting alerts is written in `dir`.
    async fn start(store: Store, dir: &Path, label: &str) -> anyhow::Result<Served> {
        let engine = Engine::new(
            store,
            Keyring::from_base64(&[Keyring::generate_key()])?,
            EngineConfig {
                fence: connectwise_client::Fence::public_only()
                    .allow_network("127.0.0.1/32".parse().unwrap()),
                // One tenant takes the whole flood: its queue is not capped here.
                limits: cwbridge_engine::Limits {
                    queued_alerts_per_tenant: i64::MAX,
                    ..cwbridge_engine::Limits::default()
                },
                ..EngineConfig::default()
            },
        );
        let tenant = engine.create_tenant("Bench MSP").await?;
        let state = AppState {
            engine: engine.clone(),
            operator_token_hash: Some(hex::encode(Sha256::digest(b"op"))),
            public_https: false,
            metrics: None,
            runs_worker: false,
        };
        let app = Application::bind(SocketAddr::from(([127, 0, 0, 1], 0)), state).await?;
        let addr = app.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        let script = dir.join(format!("post-{label}.lua"));
        std::fs::write(
            &script,
            format!(
                "wrk.method = \"POST\"\nwrk.body = '{BODY}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"Authorization\"] = \"Bearer {}\"\n",
                tenant.token
            ),
        )?;
        Ok(Served {
            engine,
            url: format!("http://{addr}/api/v1/alerts"),
            script,
            token: tenant.token,
            stop,
        })
    }

    fn stop(self) {
        let _ = self.stop.send(());
    }
}

/// A SQLite store in the file `file` of `dir`.
async fn sqlite(dir: &Path, file: &str) -> anyhow::Result<Store> {
    let path = dir.join(file);
    Ok(Store::open(&format!("sqlite://{}", path.display())).await?)
}

async fn bench_store(label: &str, store: Store, dir: &Path) -> anyhow::Result<(f64, f64, f64)> {
    let served = Served::start(store, dir, label).await?;
    let (script, url) = (&served.script, &served.url);
    let (rps, p50, p99) = wrk(label, script, url, 32, 10).await?;
    // Group commit gathers what arrives together: more senders, bigger batches.
    let (rps128, p50_128, p99_128) = wrk(label, script, url, 128, 10).await?;
    println!(
        "{label:<10} accept with 128 connections: {rps128:>8.0} alerts/s (wrk p50 {p50_128:.2} ms, p99 {p99_128:.2} ms)"
    );
    let (f50, f99) = fixed_rate(url, &served.token, 1000, Duration::from_secs(10)).await;
    println!("{label:<10} at 1,000 alerts/s: p50 {f50:.2} ms, p99 {f99:.2} ms");
    let stored = served.engine.store().queued_alerts().await?;
    println!("{label:<10} alerts stored and queued: {stored}");
    served.stop();
    Ok((rps, p50, p99))
}

/// `wrk` posting alerts for `seconds` on `connections` connections; answers requests a
/// second, p50 and p99 in ms, and prints any answer that was not a 2xx.
async fn wrk(
    label: &str,
    script: &Path,
    url: &str,
    connections: u32,
    seconds: u32,
) -> anyhow::Result<(f64, f64, f64)> {
    let out = tokio::task::spawn_blocking({
        let script = script.to_owned();
        let url = url.to_owned();
        move || {
            Command::new("wrk")
                .args([
                    "-t1",
                    &format!("-c{connections}"),
                    &format!("-d{seconds}s"),
                    "--latency",
                    "-s",
                ])
                .arg(&script)
                .arg(&url)
                .output()
        }
    })
    .await?
    .map_err(|e| anyhow::anyhow!("cannot run wrk ({e}); install it: apt-get install wrk"))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let rps: f64 = field(&text, "Requests/sec:").unwrap_or(0.0);
    let p50 = latency(&text, "50%").unwrap_or(f64::NAN);
    let p99 = latency(&text, "99%").unwrap_or(f64::NAN);
    if let Some(non2xx) = text.lines().find(|l| l.contains("Non-2xx")) {
        println!("{label}: {}", non2xx.trim());
    }
    Ok((rps, p50, p99))
}

/// `n` requests a second for `dur`, each on its own task; answers p50 and p99 in ms.
async fn fixed_rate(url: &str, token: &str, n: u64, dur: Duration) -> (f64, f64) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / n));
    let start = Instant::now();
    let mut tasks = Vec::new();
    while start.elapsed() < dur {
        tick.tick().await;
        let (client, url, token, latencies) = (
            client.clone(),
            url.to_owned(),
            token.to_owned(),
            latencies.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = client
                .post(&url)
                .bearer_auth(&token)
                .header("Content-Type", "application/json")
                .body(BODY)
                .send()
                .await
                .is_ok_and(|r| r.status() == 202);
            if ok {
                latencies
                    .lock()
                    .unwrap()
                    .push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut l = latencies.lock().unwrap().clone();
    l.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        l.get(((l.len() as f64 * q) as usize).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    (pick(0.50), pick(0.99))
}

/// Tickets created directly in the sandbox by 32 concurrent callers for 10 s, per second.
async fn inline_tickets() -> anyhow::Result<f64> {
    use connectwise_client::models::{BoardReference, CompanyReference, Ticket};
    let sandbox = connectwise_sandbox::Sandbox::start(connectwise_sandbox::SandboxConfig {
        seed: Some(connectwise_sandbox::Seed::Demo),
        ..connectwise_sandbox::SandboxConfig::ephemeral()
    })
    .await?;
    // ConnectWise answers in hundreds of milliseconds; 100 ms is a kind assumption.
    sandbox.set_faults(connectwise_sandbox::Faults {
        latency_ms: 100,
        ..connectwise_sandbox::Faults::default()
    })?;
    let c = sandbox.credentials();
    let client = connectwise_client::Client::builder(c.clone())
        .extra_ca_pem(sandbox.ca_pem().unwrap_or_default().as_bytes().to_vec())
        .max_concurrency(32)
        .build()?;
    let made = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..32 {
        let (client, made) = (client.clone(), made.clone());
        workers.push(tokio::spawn(async move {
            let ticket = Ticket {
                summary: Some("DMARC record changed for acme.example".into()),
                initial_description: Some("The DMARC record of acme.example changed.".into()),
                board: Some(BoardReference {
                    name: Some("Help Desk".into()),
                    ..Default::default()
                }),
                company: Some(CompanyReference {
                    identifier: Some("AcmeCorp".into()),
                    ..Default::default()
                }),
                ..Default::default()
            };
            while start.elapsed() < Duration::from_secs(10) {
                if client.service().tickets().create(&ticket).await.is_ok() {
                    made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let rate =
        made.load(std::sync::atomic::Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    sandbox.stop().await;
    Ok(rate)
}

fn field(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(prefix))
        .and_then(|v| v.trim().parse().ok())
}

/// A wrk latency percentile line (`99%   3.21ms`) in milliseconds.
fn latency(text: &str, pct: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.trim_start().starts_with(pct))?;
    let value = line.split_whitespace().nth(1)?;
    let (num, unit) = value.split_at(value.find(|c: char| c.is_alphabetic())?);
    let n: f64 = num.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        _ => return None,
    })
}
