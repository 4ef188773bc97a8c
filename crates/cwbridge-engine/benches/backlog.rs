//! A backlog: what a claim costs, and how fast alerts are accepted, with 100 alerts queued
//! and with 100,000 — against the claim cwbridge used before key lanes, in the same run.
//!
//! Workload (SQLite, one file per case):
//! - Lanes (today): 100,000 alerts queued across 100 tenants, delivery paused. Then 2,000
//!   claims alone, each finished at once and replaced by a new alert (the queue stays as
//!   deep); then more (at least 2,000) for as long as 50,000 alerts are posted through the engine's intake by
//!   64 senders at the same time. Repeated with 100 alerts queued (one per tenant).
//! - Before: the previous schema (an index on state and due time, none by key) and its
//!   claim — the oldest due alert of the whole service with two `NOT EXISTS` look-ups by key
//!   — over 10, 1,000 and 5,000 alerts queued the same way (100,000 would take hours a
//!   claim), each claimed alert replaced by a new one, for up to 20 s or 2,000 claims.
//!
//! Prints claims a second and accepts a second with each queue, and how far the promoter
//! (which moves accepted alerts into their lanes) fell behind. Run with
//! `cargo bench -p cwbridge-engine --bench backlog`.

use std::time::{Duration, Instant};

use cwbridge_engine::EngineConfig;
use cwbridge_engine::alert::AlertInput;
use cwbridge_store::{AlertRecord, Store, TenantId, now_ms};
use futures_util::StreamExt;
use sqlx::Row;

mod common;

const BACKLOG: usize = 100_000;
const TENANTS: usize = 100;
const CLAIMS: usize = 2_000;
const POSTS: usize = 50_000;
const BEFORE_DEPTHS: [usize; 3] = [10, 1_000, 5_000];

fn main() -> anyhow::Result<()> {
    common::run(run())
}

async fn run() -> anyhow::Result<()> {
    println!(
        "workload: {BACKLOG} (or {TENANTS}) alerts queued over {TENANTS} tenants, delivery paused; {CLAIMS} claims alone, then claims (at least {CLAIMS}) for as long as {POSTS} alerts are posted by 64 senders; SQLite"
    );
    let mut lanes = Vec::new();
    for depth in [TENANTS, BACKLOG] {
        let c = lanes_case(depth).await?;
        println!(
            "lanes,  {depth:>6} queued: {:>8.0} claims/s alone; {:>8.0} claims/s and {:>8.0} alerts accepted/s at once; at most {} accepted alerts waiting for their lanes, all in them {:.0} ms after the last accept",
            c.alone,
            c.claims,
            c.accepts,
            c.most_received,
            c.laned.as_secs_f64() * 1000.0
        );
        lanes.push(c);
    }
    // The previous claim tests every due alert against two look-ups by key that no index
    // serves: its cost grows with the square of the queue, so 100,000 queued would take
    // hours a claim. It is measured where it still finishes.
    let mut before = Vec::new();
    for depth in BEFORE_DEPTHS {
        let claims = before_case(depth).await?;
        println!("before, {depth:>6} queued: {claims:>8.1} claims/s");
        before.push(claims);
    }
    let last = BEFORE_DEPTHS.len() - 1;
    println!(
        "with {BACKLOG} queued / with {TENANTS}: claims alone {:.2}x, accepts {:.2}x; before, claims with {} / with 10: {:.4}x; lanes at {BACKLOG} / before at {}: {:.0}x",
        lanes[1].alone / lanes[0].alone,
        lanes[1].accepts / lanes[0].accepts,
        BEFORE_DEPTHS[last],
        before[last] / before[0],
        BEFORE_DEPTHS[last],
        lanes[1].alone / before[last]
    );
    Ok(())
}

/// Marks the alert `id`, claimed as `claim`, delivered as a ticket.
async fn deliver(store: &Store, id: i64, claim: &str) -> anyhow::Result<()> {
    let delivered = cwbridge_store::AlertState::Delivered;
    store
        .finish_alert(id, claim, delivered, Some(1), Some("ticket"), None)
        .await?;
    Ok(())
}

fn record(tenant: TenantId, key: String) -> AlertRecord {
    AlertRecord::received(
        tenant,
        "g-acme",
        "dmarc",
        key,
        "DMARC record changed",
        "The DMARC record of acme.example changed.",
        false,
    )
}

/// What one queue depth measured.
struct Case {
    /// Claims a second, alone.
    alone: f64,
    /// Claims a second while alerts are posted.
    claims: f64,
    /// Alerts accepted a second meanwhile.
    accepts: f64,
    /// The most alerts seen accepted and not yet in their lanes.
    most_received: i64,
    /// From the last accept until every accepted alert was in its lane.
    laned: Duration,
}

/// Claims a second alone, then claims and accepts a second together, with `depth` alerts
/// queued, on today's schema.
async fn lanes_case(depth: usize) -> anyhow::Result<Case> {
    let dir = tempfile::tempdir()?;
    let store = common::sqlite(&dir, "b.db").await?;
    let engine = common::engine(store.clone(), EngineConfig::default())?;
    let mut tenants = Vec::new();
    for i in 0..TENANTS {
        tenants.push(engine.create_tenant(&format!("MSP {i}")).await?.tenant.id);
    }
    // At least one due alert per tenant, so every claim finds one.
    let backlog: Vec<(AlertRecord, Option<String>)> = (0..depth.max(TENANTS))
        .map(|i| (record(tenants[i % TENANTS], format!("k{}", i / 10)), None))
        .collect();
    for chunk in backlog.chunks(512) {
        store.insert_alerts(chunk).await?;
    }
    // Claims alone (each claimed alert replaced by a new one, so the queue stays as deep).
    let started = Instant::now();
    for n in 0..CLAIMS {
        let t = tenants[n % TENANTS];
        let claim = format!("alone{n}");
        let a = store
            .claim_alert(t, 60_000, &claim)
            .await?
            .ok_or_else(|| anyhow::anyhow!("nothing due for {t}"))?;
        deliver(&store, a.id, &claim).await?;
        store
            .insert_alerts(&[(record(t, format!("refill-{n}")), None)])
            .await?;
    }
    let alone = CLAIMS as f64 / started.elapsed().as_secs_f64();
    // Posting goes on while claims are timed.
    let posting = {
        let (engine, store) = (engine.clone(), store.clone());
        let tenants = tenants.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let failed = futures_util::stream::iter(0..POSTS)
                .map(|i| {
                    let engine = engine.clone();
                    let t = tenants[i % TENANTS];
                    async move {
                        engine
                            .receive_alert(
                                t,
                                &AlertInput {
                                    account: "g-acme".into(),
                                    alert_type: "dmarc".into(),
                                    key: Some(format!("posted-{i}")),
                                    summary: "DMARC record changed".into(),
                                    description: "posted during the backlog".into(),
                                    resolved: false,
                                },
                            )
                            .await
                            .is_err()
                    }
                })
                .buffer_unordered(64)
                .filter(|failed| std::future::ready(*failed))
                .count()
                .await;
            let accepts = POSTS as f64 / started.elapsed().as_secs_f64();
            // Accepted alerts join their lanes by the promoter: how long after the last
            // accept until every one has.
            let posted = Instant::now();
            while store.received_alerts().await? > 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            anyhow::Ok((accepts, failed, posted.elapsed()))
        })
    };
    let started = Instant::now();
    let mut claimed = 0;
    let mut turn = 0;
    let mut most_received = 0;
    while claimed < CLAIMS || !posting.is_finished() {
        let t = tenants[turn % TENANTS];
        turn += 1;
        let claim = format!("c{turn}");
        if turn % 50 == 0 {
            most_received = most_received.max(store.received_alerts().await?);
        }
        if let Some(a) = store.claim_alert(t, 60_000, &claim).await? {
            deliver(&store, a.id, &claim).await?;
            claimed += 1;
        }
        if turn > (claimed + CLAIMS) * 50 {
            anyhow::bail!("only {claimed} alerts could be claimed");
        }
    }
    let claims = claimed as f64 / started.elapsed().as_secs_f64();
    let (accepts, failed, laned) = posting.await??;
    anyhow::ensure!(failed == 0, "{failed} alerts were refused while claiming");
    Ok(Case {
        alone,
        claims,
        accepts,
        most_received,
        laned,
    })
}

/// Claims a second with `depth` alerts queued, on the schema and claim cwbridge had before.
async fn before_case(depth: usize) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("before.db").display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await?;
    // WAL as the store uses it, then the alerts table and indexes of migrations 0004 and 0007.
    for sql in [
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = NORMAL",
        "CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id BIGINT NOT NULL, external_id TEXT NOT NULL, \
         alert_type TEXT NOT NULL, alert_key TEXT NOT NULL, summary TEXT NOT NULL, description TEXT NOT NULL, resolved BIGINT NOT NULL, \
         state TEXT NOT NULL, ticket_id BIGINT, action TEXT, attempts BIGINT NOT NULL, next_attempt_at BIGINT NOT NULL, \
         claimed_until BIGINT, last_error TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, claimed_by TEXT)",
        "CREATE INDEX alerts_due ON alerts (state, next_attempt_at)",
        "CREATE INDEX alerts_by_tenant ON alerts (tenant_id, id)",
    ] {
        sqlx::query(sql).execute(&pool).await?;
    }
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1) \
         INSERT INTO alerts (tenant_id, external_id, alert_type, alert_key, summary, description, resolved, state, attempts, next_attempt_at, created_at, updated_at) \
         SELECT 1 + i % $2, 'g-acme', 'dmarc', 'k' || (i / 10), 'DMARC record changed', 'The DMARC record of acme.example changed.', 0, 'queued', 0, 0, 0, 0 FROM n",
    )
    .bind(depth as i64)
    .bind(TENANTS as i64)
    .execute(&pool)
    .await?;
    let started = Instant::now();
    let mut claimed = 0;
    while claimed < CLAIMS && started.elapsed() < Duration::from_secs(20) {
        let now = now_ms();
        let row = sqlx::query(
            "UPDATE alerts SET claimed_until = $1, claimed_by = $3, attempts = attempts + 1, updated_at = $2 WHERE id = ( \
               SELECT a.id FROM alerts a WHERE a.state = 'queued' AND a.next_attempt_at <= $2 \
               AND (a.claimed_until IS NULL OR a.claimed_until < $2) \
               AND NOT EXISTS (SELECT 1 FROM alerts b WHERE b.tenant_id = a.tenant_id AND b.alert_key = a.alert_key AND b.state = 'queued' AND b.id < a.id) \
               AND NOT EXISTS (SELECT 1 FROM alerts c WHERE c.tenant_id = a.tenant_id AND c.alert_key = a.alert_key AND c.state = 'queued' AND c.id <> a.id AND c.claimed_until >= $2) \
               ORDER BY a.id LIMIT 1) \
             AND state = 'queued' RETURNING id",
        )
        .bind(now + 60_000)
        .bind(now)
        .bind("c")
        .fetch_optional(&pool)
        .await?;
        let Some(row) = row else { break };
        let id: i64 = row.try_get("id")?;
        sqlx::query("UPDATE alerts SET state = 'delivered', claimed_until = NULL WHERE id = $1")
            .bind(id)
            .execute(&pool)
            .await?;
        // A new alert takes its place, so the queue stays as deep.
        sqlx::query(
            "INSERT INTO alerts (tenant_id, external_id, alert_type, alert_key, summary, description, resolved, state, attempts, next_attempt_at, created_at, updated_at) \
             VALUES (1, 'g-acme', 'dmarc', $1, 'DMARC record changed', 'posted', 0, 'queued', 0, 0, 0, 0)",
        )
        .bind(format!("refill-{claimed}"))
        .execute(&pool)
        .await?;
        claimed += 1;
    }
    Ok(claimed as f64 / started.elapsed().as_secs_f64())
}
