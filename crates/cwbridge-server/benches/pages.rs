//! The wizard's and the status pages' size and time for a tenant with many customers.
//!
//! Workload: the demo sandbox with 2,000 more client companies (an MSP's ConnectWise), a
//! tenant connected with seed 004's role, billing and ticket defaults set, and 10,000
//! customers pushed as the vendor's API does (each with two sending domains and two alert
//! types; 50 mapped to a company, the rest waiting), 200 alerts accepted. Then each page is
//! fetched over HTTP as a signed-in browser does, once to warm the look-up cache and then 5
//! times: its size and median time are printed, against the goal (200 KB, 300 ms).
//! SQLite, in this process, on 127.0.0.1.
//!
//! Run with `cargo bench -p cwbridge-server --bench pages` (`CUSTOMERS=2000` for fewer).

use std::time::{Duration, Instant};

use connectwise_client::models::Company;
use cwbridge_engine::account::AccountInput;
use cwbridge_engine::alert::AlertInput;
use cwbridge_engine::mapping::MappingInput;
use cwbridge_testkit::{ServeOptions, Site, connected_tenant, help_desk_tickets};
use futures_util::StreamExt;

const PAGES: &[&str] = &[
    "/",
    "/setup/connect",
    "/setup/billing",
    "/setup/mapping",
    "/setup/mapping?show=unmapped&page=100",
    "/setup/tickets",
    "/setup/tickets?page=100",
    "/billing",
    "/alerts",
    "/health",
];

fn main() -> anyhow::Result<()> {
    let customers: usize = std::env::var("CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(customers))
}

async fn run(customers: usize) -> anyhow::Result<()> {
    println!(
        "workload: {customers} customers (50 mapped), 2,000 extra ConnectWise companies, 200 alerts; each page fetched 5 times after a warm-up"
    );
    let site = Site::demo().await;
    let cw = site.admin_client();
    let made = futures_util::stream::iter(0..2000)
        .map(|i| {
            let company = Company {
                identifier: Some(format!("Client{i:05}")),
                name: Some(format!("Client {i:05} Holdings")),
                website: Some(format!("client{i:05}.example")),
                ..Default::default()
            };
            let cw = cw.clone();
            async move { cw.company().companies().create(&company).await }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    anyhow::ensure!(made.iter().all(Result::is_ok), "companies were refused");
    let input = site.seed_member("Integration").await;

    let db = cwbridge_testkit::databases().await.remove(0);
    let engine = cwbridge_testkit::engine(&db, &site.config());
    let msp = connected_tenant(&engine, "Bench MSP", &input).await;
    let t = msp.tenant.id;
    engine.set_ticket_settings(t, &help_desk_tickets()).await?;
    let started = Instant::now();
    for i in 0..customers {
        engine
            .put_account(
                t,
                &format!("grp-{i:05}"),
                &AccountInput {
                    name: format!("Customer {i:05}"),
                    units: vec![format!("c{i:05}.example"), format!("mail.c{i:05}.example")],
                    alert_types: vec!["dmarc-failure".into(), "dkim-key-expiring".into()],
                },
            )
            .await?;
    }
    println!(
        "pushed {customers} customers in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let companies = cw.company().companies().list().page_size(50).send().await?;
    for (i, c) in companies.iter().enumerate() {
        let input = MappingInput {
            company_id: c.id.unwrap_or_default(),
            agreement_id: None,
        };
        engine
            .map_account(t, &format!("grp-{i:05}"), &input)
            .await?;
    }
    for i in 0..200 {
        engine
            .receive_alert(
                t,
                &AlertInput {
                    account: format!("grp-{:05}", i % 50),
                    alert_type: "dmarc-failure".into(),
                    key: Some(format!("k{i}")),
                    summary: format!("DMARC failure {i}"),
                    description: "Reports show mail failing DMARC.".into(),
                    resolved: false,
                },
            )
            .await?;
    }

    let served = cwbridge_testkit::serve(engine.clone(), ServeOptions::default()).await;
    let session = served.sign_in(&msp.token).await;
    println!(
        "{:<40} {:>10} {:>10} {:>8}",
        "page", "bytes", "p50 ms", "goal"
    );
    for page in PAGES {
        let (status, _) = served.get(page, &session).await;
        anyhow::ensure!(status.is_success(), "{page} answered {status}");
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..5 {
            let at = Instant::now();
            let (_, html) = served.get(page, &session).await;
            times.push(at.elapsed());
            bytes = html.len();
        }
        times.sort();
        let p50 = times[times.len() / 2];
        let ok = bytes <= 200_000 && p50 <= Duration::from_millis(300);
        println!(
            "{page:<40} {bytes:>10} {:>10.1} {:>8}",
            p50.as_secs_f64() * 1000.0,
            if ok { "met" } else { "MISSED" }
        );
    }
    db.cleanup().await;
    Ok(())
}
