//! Billing reconcile of 10,000 mapped accounts against the sandbox with 100 ms of latency per
//! request: cwbridge's incremental plan-and-apply against the naive approach (read every
//! agreement's additions one by one, write each changed line), in the same run.
//!
//! Workload: a sandbox seeded with 10,000 companies, each with one active "Managed Services"
//! agreement, and the DMARC-monitoring product; a tenant billing bundled lines, 10,000
//! accounts of two units each, each mapped to its company (SQLite store). Setup applies the
//! first 10,000 lines with no latency. Then, with 100 ms added to every request: 5% of the
//! accounts gain a unit and cwbridge applies; another 5% gain a unit and the naive reconcile
//! runs. Both use 16 requests at a time. Then cwbridge's run is undone (its 500 lines put
//! back) and that undo undone. Prints wall time and requests for each, and the ratios. Run
//! with `cargo bench -p cwbridge-engine --bench reconcile`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use connectwise_client::conditions::field;
use connectwise_client::models::{Addition, Agreement, Company};
use connectwise_client::{Client, Patch};
use connectwise_sandbox::{Faults, Sandbox, SandboxConfig, Seed};
use cwbridge_engine::account::AccountInput;
use cwbridge_engine::billing::settings::BillingInput;
use cwbridge_engine::billing::{DriftPolicy, Mode, plan};
use cwbridge_engine::{Engine, EngineConfig};
use cwbridge_store::{MappingRecord, TenantId};
use futures_util::{StreamExt, TryStreamExt};

mod common;

const ACCOUNTS: usize = 10_000;
const CHANGED: usize = ACCOUNTS / 20;
const AT_ONCE: usize = 16;

fn units(i: usize, extra: bool) -> Vec<String> {
    let mut u = vec![format!("a{i}.example"), format!("mail.a{i}.example")];
    if extra {
        u.push(format!("news.a{i}.example"));
    }
    u
}

/// Puts the accounts numbered `which` (`acct00000`…), each with its two units and, if
/// `extra`, a third.
async fn put_accounts(
    engine: &Engine,
    tenant: TenantId,
    which: std::ops::Range<usize>,
    extra: bool,
) -> anyhow::Result<()> {
    for i in which {
        let account = AccountInput {
            alert_types: Vec::new(),
            name: format!("Account {i}"),
            units: units(i, extra),
        };
        engine.put_account(tenant, &account_id(i), &account).await?;
    }
    Ok(())
}

/// The external id of account `i`.
fn account_id(i: usize) -> String {
    format!("acct{i:05}")
}

fn main() -> anyhow::Result<()> {
    common::run(run())
}

async fn run() -> anyhow::Result<()> {
    let started = Instant::now();
    let sandbox = Sandbox::start(SandboxConfig {
        seed: Some(Seed::Bench {
            companies: ACCOUNTS,
            tickets: 0,
        }),
        ..SandboxConfig::ephemeral()
    })
    .await?;
    let c = sandbox.credentials().clone();
    let ca = sandbox.ca_pem().unwrap_or_default().as_bytes().to_vec();
    let dir = tempfile::tempdir()?;
    let store = common::sqlite(&dir, "bench.db").await?;
    let config = EngineConfig {
        connectwise_ca: Some(ca.clone()),
        fence: connectwise_client::Fence::public_only()
            .allow_network("127.0.0.1/32".parse().unwrap()),
        ..EngineConfig::default()
    };
    let engine = common::engine(store.clone(), config)?;
    let tenant = engine.create_tenant("Bench MSP").await?.tenant.id;
    engine
        .save_connection(tenant, &common::connection(&sandbox))
        .await?;
    let bundled = BillingInput {
        product: "DMARC-MONITOR".into(),
        agreement_type: "Managed Services".into(),
        mode: Mode::Bundled,
        drift_policy: DriftPolicy::Report,
        schedule_hours: 0,
    };
    engine.set_billing(tenant, &bundled).await?;
    // The admin's client, and a client for the naive reconcile (counting its own requests).
    let client = || {
        Client::builder(c.clone())
            .extra_ca_pem(ca.clone())
            .max_concurrency(AT_ONCE)
            .build()
    };
    let admin = client()?;
    let companies: Vec<Company> = admin
        .company()
        .companies()
        .list()
        .conditions(field("identifier").like("Company%"))
        .fields(["id", "identifier", "name"])
        .page_size(1000)
        .stream()
        .try_collect()
        .await?;
    anyhow::ensure!(companies.len() == ACCOUNTS, "{} companies", companies.len());
    put_accounts(&engine, tenant, 0..ACCOUNTS, false).await?;
    for (i, company) in companies.iter().enumerate() {
        let mapping = MappingRecord {
            external_id: account_id(i),
            company_id: company.id.unwrap_or_default(),
            company_name: company.name.clone().unwrap_or_default(),
            agreement_id: None,
        };
        store.put_mapping(tenant, &mapping).await?;
    }
    let first = Instant::now();
    let report = engine.billing_apply(tenant, false).await?;
    println!(
        "workload: {ACCOUNTS} accounts, bundled lines, {AT_ONCE} requests at a time; setup {:.0} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "first apply (no latency): {:?} in {:.1} s, {} requests",
        report.done,
        first.elapsed().as_secs_f64(),
        report.plan.requests
    );

    // With ConnectWise's latency from here on.
    sandbox.set_faults(Faults {
        latency_ms: 100,
        ..Faults::default()
    })?;

    // cwbridge: 5% of the accounts gain a unit; plan and apply.
    put_accounts(&engine, tenant, 0..CHANGED, true).await?;
    let t = Instant::now();
    let ours = engine.billing_apply(tenant, false).await?;
    let ours_secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(ours.done.get("update") == Some(&CHANGED), "{:?}", ours.done);
    println!(
        "cwbridge re-run, {CHANGED} accounts changed: {:.1} s, {} requests",
        ours_secs, ours.plan.requests
    );

    // Naive: another 5% gain a unit; read every agreement's additions, write what differs.
    let installation = store.installation_id().await?;
    let settings = engine.billing(tenant).await?;
    put_accounts(&engine, tenant, CHANGED..2 * CHANGED, true).await?;
    let agreements: Vec<Agreement> = admin
        .finance()
        .agreements()
        .list()
        .fields(["id", "company"])
        .page_size(1000)
        .stream()
        .try_collect()
        .await?;
    let agreement_of: std::collections::HashMap<i64, i64> = agreements
        .iter()
        .filter_map(|a| Some((a.company.as_ref()?.id?, a.id?)))
        .collect();
    let naive_client = client()?;
    let accounts = engine.accounts(tenant).await?;
    let written = Arc::new(AtomicU64::new(0));
    let t = Instant::now();
    futures_util::stream::iter(accounts.iter())
        .map(|account| {
            let client = naive_client.clone();
            let written = written.clone();
            let key = format!("{}/*", account.id);
            let marker = plan::marker(&installation, tenant.0, &key);
            let agreement = account
                .mapping
                .as_ref()
                .and_then(|m| agreement_of.get(&m.company_id))
                .copied()
                .unwrap_or(0);
            let wanted = plan::lines_for(
                Mode::Bundled,
                &account.id,
                &account.units,
                &settings.product_description,
                settings.unit_price,
                0,
                agreement,
            );
            async move {
                let additions = client.finance().additions(agreement);
                let lines: Vec<Addition> = additions.list().page_size(1000).send().await?;
                if let (Some(line), Some(want)) = (
                    lines
                        .iter()
                        .find(|a| a.serial_number.as_deref() == Some(marker.as_str())),
                    wanted.first(),
                ) && (line.quantity != Some(want.quantity)
                    || line.description.as_deref() != Some(want.description.as_str()))
                {
                    let patch = Patch::new()
                        .replace("quantity", want.quantity)
                        .replace("description", &want.description);
                    additions.patch(line.id.unwrap_or_default(), &patch).await?;
                    written.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<_, connectwise_client::Error>(())
            }
        })
        .buffer_unordered(AT_ONCE)
        .try_collect::<Vec<()>>()
        .await?;
    let naive_secs = t.elapsed().as_secs_f64();
    let naive_requests = naive_client.stats().requests;
    anyhow::ensure!(
        written.load(Ordering::Relaxed) == CHANGED as u64,
        "naive wrote {}",
        written.load(Ordering::Relaxed)
    );
    println!(
        "naive reconcile, {CHANGED} accounts changed: {naive_secs:.1} s, {naive_requests} requests"
    );
    println!(
        "ratio naive/cwbridge: {:.1}x requests, {:.1}x wall time",
        naive_requests as f64 / ours.plan.requests as f64,
        naive_secs / ours_secs
    );
    // Undo: cwbridge's re-run put back (its 500 lines to their earlier quantity), then that
    // undo undone, with the same latency.
    let t = Instant::now();
    let undo = engine.billing_undo(tenant, ours.run_id).await?;
    let undo_secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        undo.done.get("update") == Some(&CHANGED) && undo.plan.skipped.is_empty(),
        "{:?}, {} left alone",
        undo.done,
        undo.plan.skipped.len()
    );
    println!(
        "undo of the re-run, {CHANGED} lines put back: {undo_secs:.1} s, {} requests ({:.2}x the run's time)",
        undo.plan.requests,
        undo_secs / ours_secs
    );
    let t = Instant::now();
    let redo = engine.billing_undo(tenant, undo.run_id).await?;
    anyhow::ensure!(redo.done.get("update") == Some(&CHANGED), "{:?}", redo.done);
    println!(
        "undo of that undo: {:.1} s, {} requests",
        t.elapsed().as_secs_f64(),
        redo.plan.requests
    );
    sandbox.set_faults(Faults::default())?;
    let after = engine.billing_plan(tenant, false).await?;
    anyhow::ensure!(after.changes.is_empty(), "both reached the wanted state");
    sandbox.stop().await;
    Ok(())
}
