//! What an operations team watches and relies on, against `cwbridge serve` as a process:
//! `/metrics` after a scripted run, `/healthz` and `/readyz` (unready while its PostgreSQL is
//! away, ready again when it returns), a request id followed from an API call to the
//! ConnectWise requests it made in the JSON logs, and SIGTERM with deliveries in flight.

mod common;
#[path = "support/connectwise.rs"]
#[allow(dead_code)] // its billing helpers serve other tests
mod connectwise;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Serving, World, acme_token, anonymous_get, api, free_port, readyz_becomes, world};
use connectwise_sandbox::Faults;
use cwbridge_testkit::Remote;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The operator token the processes here are given.
const OPERATOR: &str = "op";

/// `cwbridge` logging JSON to `serve.log` in the world's directory: info, and the request
/// lines (debug).
fn cwbridge(dir: &Path) -> Command {
    let mut cmd = common::cwbridge(dir);
    let log = std::fs::File::create(log_path(dir)).unwrap();
    cmd.env("CWBRIDGE_OPERATOR_TOKEN", OPERATOR)
        // Each request's and each ConnectWise call's own line is at debug.
        .env(
            "CWBRIDGE_LOG",
            "info,cwbridge_server=debug,connectwise_client=debug",
        )
        .env("CWBRIDGE_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(log);
    cmd
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join("serve.log")
}

/// A world with tenant "Acme MSP" set up over HTTP (connection, one mapped account, ticket
/// defaults, billing), served by `cmd` on a free port.
async fn serving_acme(configure: impl FnOnce(&mut Command)) -> (World, Remote, Serving) {
    let w = world().await;
    let token = acme_token(cwbridge(w.dir.path())).await;
    let api = api(free_port(), &token, Duration::from_secs(30));
    let mut cmd = cwbridge(w.dir.path());
    configure(&mut cmd);
    let server = Serving(Some(common::serve(&mut cmd, &api).await));
    common::alerts_set_up(&w, &api).await;
    let billing =
        json!({"product": "DMARC-MONITOR", "agreementType": "Managed Services", "mode": "bundled"});
    api.put_all([("/api/v1/billing", billing)]).await;
    (w, api, server)
}

/// Sends an alert of key `key`; asserts it is accepted.
async fn send_alert(api: &Remote, key: &str) {
    let res = api
        .send(
            Method::POST,
            "/api/v1/alerts",
            &json!({"account": "g-acme", "type": "dns", "key": key, "summary": format!("{key} failed"), "description": "From the ops test."}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED, "{key}");
}

/// `/metrics` as the operator, read into `series → value` (`name{labels}` as printed).
async fn scrape(api: &Remote) -> BTreeMap<String, f64> {
    let res = api
        .http
        .get(format!("{}/metrics", api.base))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = res.text().await.unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// How much `series` grew between two scrapes (a series not there counts as 0).
fn grew(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, series: &str) -> f64 {
    let at = |m: &BTreeMap<String, f64>| m.get(series).copied().unwrap_or(0.0);
    at(after) - at(before)
}

/// Queued alerts a worker still holds, read from the database after the process is gone.
async fn claimed_alerts(dir: &Path) -> i64 {
    let url = format!("sqlite://{}", dir.join("bridge.db").display());
    let store = cwbridge_store::Store::open(&url).await.unwrap();
    let n = store.queue_gauges().await.unwrap().in_flight;
    store.close().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_alerts_a_429_and_a_billing_apply_of_a_scripted_run() {
    // Arrange
    let (w, api, mut server) = serving_acme(|_| {}).await;
    let before = scrape(&api).await;
    w.sandbox()
        .set_faults(Faults {
            throttle_next: 1,
            retry_after_secs: 1,
            ..Faults::default()
        })
        .unwrap();

    // Act: three alerts delivered (the first ConnectWise call answered 429), then billing.
    for key in ["spf", "dkim", "dmarc"] {
        send_alert(&api, key).await;
    }
    let delivered =
        |alerts: &[Value]| alerts.len() == 3 && alerts.iter().all(|a| a["state"] == "delivered");
    api.wait_for(
        "/api/v1/alerts",
        "all delivered",
        Duration::from_secs(60),
        delivered,
    )
    .await;
    let applied = api
        .send(Method::POST, "/api/v1/billing/apply", &json!({}))
        .await;
    assert_eq!(applied.status(), StatusCode::OK);
    let after = scrape(&api).await;

    // Assert
    let expected = [
        ("cwbridge_alerts_accepted_total", 3.0),
        (
            "cwbridge_alert_deliveries_total{outcome=\"delivered\"}",
            3.0,
        ),
        ("cwbridge_alert_to_ticket_seconds_count", 3.0),
        ("connectwise_rate_limited_total", 1.0),
        ("connectwise_throttle_wait_seconds_count", 1.0),
        ("cwbridge_billing_runs_total{outcome=\"done\"}", 1.0),
        (
            "cwbridge_billing_changes_total{kind=\"create\",outcome=\"done\"}",
            1.0,
        ),
        (
            "cwbridge_http_requests_total{route=\"/api/v1/alerts\",method=\"POST\",status=\"2xx\"}",
            3.0,
        ),
    ];
    for (series, n) in expected {
        assert_eq!(grew(&before, &after, series), n, "{series}");
    }
    let answered_4xx: f64 = after
        .iter()
        .filter(|(k, _)| k.starts_with("connectwise_requests_total{") && k.contains("\"4xx\""))
        .map(|(k, v)| v - before.get(k).unwrap_or(&0.0))
        .sum();
    assert!(
        answered_4xx >= 1.0,
        "the 429 is counted by operation and status class: {after:#?}"
    );
    for gauge in [
        "cwbridge_alert_queue_depth",
        "cwbridge_alerts_in_flight",
        "cwbridge_alert_oldest_due_seconds",
        "cwbridge_tenants_paused",
    ] {
        assert_eq!(
            after.get(gauge),
            Some(&0.0),
            "{gauge} once all is delivered"
        );
    }
    assert!(after.contains_key("cwbridge_db_connections{state=\"idle\"}"));
    assert!(
        !after.keys().any(|k| k.contains("tenant=")),
        "no per-tenant series unless asked for"
    );

    // Without the operator token, or with a tenant's, /metrics is refused.
    let anonymous = anonymous_get(&api, "/metrics").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let as_tenant = api.request(Method::GET, "/metrics").send().await;
    assert_eq!(as_tenant.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert!(server.stop().await.success());
    w.site.sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_id_is_followed_from_the_api_call_to_its_connectwise_requests_in_json_logs() {
    // Arrange
    let (w, api, mut server) = serving_acme(|_| {}).await;

    // Act: a check (three ConnectWise calls and more) with the caller's id, one with an id
    // that is not plain, and the probes.
    let with_id = |method, path, id| {
        let req = api.request(method, path).header("X-Request-Id", id);
        async move { req.send().await.expect("the bridge answers") }
    };
    let traced = with_id(Method::POST, "/api/v1/connection/check", "ops-trace-7").await;
    let refused_id = with_id(Method::GET, "/api/v1/connection", "not plain; at all").await;
    let health = anonymous_get(&api, "/healthz").await;
    let ready = anonymous_get(&api, "/readyz").await;
    assert!(server.stop().await.success());

    // Assert: the answer carries the id; every ConnectWise request of the check is logged
    // inside the API request's span, tenant and route named.
    assert_eq!(traced.status(), StatusCode::OK);
    assert_eq!(traced.headers()["x-request-id"], "ops-trace-7");
    let made = refused_id.headers()["x-request-id"].to_str().unwrap();
    assert!(
        made.len() == 16 && made.bytes().all(|b| b.is_ascii_hexdigit()),
        "a caller's id that is not plain is replaced: {made}"
    );
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(
        ready,
        json!({"ready": true, "database": "ok", "migrations": "current", "worker": "running"})
    );
    let log = std::fs::read_to_string(log_path(w.dir.path())).unwrap();
    let events: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: not JSON: {l}")))
        .collect();
    let in_request = |e: &&Value| {
        e["spans"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["request.id"] == "ops-trace-7"))
    };
    let connectwise: Vec<&Value> = events
        .iter()
        .filter(in_request)
        .filter(|e| e["span"]["name"] == "connectwise.request")
        .collect();
    assert!(
        connectwise.len() >= 3,
        "the check's ConnectWise requests, each in the API request's span: {connectwise:#?}"
    );
    for e in &connectwise {
        let request = &e["spans"][0];
        assert_eq!(request["name"], "http.request");
        assert_eq!(request["http.route"], "/api/v1/connection/check");
        assert_eq!(request["tenant.id"], 1);
        assert!(e["span"]["url.template"].is_string(), "{e}");
        assert!(e["span"]["http.method"].is_string(), "{e}");
    }
    assert!(
        events.iter().any(|e| e["span"]["name"] == "http.request"
            && e["span"]["request.id"] == "ops-trace-7"
            && e["fields"]["http.status"] == 200),
        "the API request's own line, with its status"
    );
    w.site.sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_deliveries_in_flight_exits_0_and_leaves_no_alert_claimed() {
    // Arrange: ConnectWise answers in 3 s, so a delivery (several calls) outlasts the 1 s
    // grace.
    // Series per tenant, as an operator looking into one tenant asks.
    let (w, api, mut server) = serving_acme(|cmd| {
        cmd.env("CWBRIDGE_SHUTDOWN_GRACE_SECS", "1")
            .env("CWBRIDGE_METRICS_PER_TENANT", "true");
    })
    .await;
    w.sandbox()
        .set_faults(Faults {
            latency_ms: 3_000,
            ..Faults::default()
        })
        .unwrap();
    let keys = ["spf", "dkim", "dmarc", "mx"];
    for key in keys {
        send_alert(&api, key).await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while scrape(&api).await.get("cwbridge_alerts_in_flight") < Some(&1.0) {
        assert!(Instant::now() < deadline, "no delivery went in flight");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let per_tenant = scrape(&api).await;
    assert_eq!(
        per_tenant.get("cwbridge_alerts_accepted_total{tenant=\"1\"}"),
        Some(&4.0),
        "asked for, alerts are counted per tenant: {per_tenant:#?}"
    );

    // Act: SIGTERM mid-delivery.
    let stopped_at = Instant::now();
    let status = server.stop().await;
    let took = stopped_at.elapsed();

    // Assert: a clean exit within the grace (and the answers it waited for), nothing held.
    assert!(status.success(), "{status}");
    assert!(took < Duration::from_secs(10), "stopped in {took:?}");
    assert_eq!(
        claimed_alerts(w.dir.path()).await,
        0,
        "no alert left claimed"
    );

    // And a new instance delivers every alert, once: what was stopped mid-way is found by
    // its marker, not made again.
    w.sandbox().set_faults(Faults::default()).unwrap();
    let mut server = Serving(Some(common::serve(&mut cwbridge(w.dir.path()), &api).await));
    let delivered = |alerts: &[Value]| alerts.iter().all(|a| a["state"] == "delivered");
    let alerts = api
        .wait_for(
            "/api/v1/alerts",
            "all delivered",
            Duration::from_secs(60),
            delivered,
        )
        .await;
    assert!(server.stop().await.success());
    let sent: BTreeMap<&str, usize> = keys.iter().map(|k| (*k, 1)).collect();
    connectwise::assert_one_ticket_per_key_one_note_per_repeat(w.sandbox(), &alerts, &sent).await;
    w.site.sandbox.stop().await;
}

/// A TCP proxy in front of the local PostgreSQL that can be taken away (every connection
/// through it cut, new ones refused) and brought back.
struct Proxy {
    port: u16,
    up: tokio::sync::watch::Sender<bool>,
}

impl Proxy {
    async fn start() -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (up, watch) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !*watch.borrow() {
                    continue; // dropped: the connection is refused
                }
                let mut down = watch.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect("127.0.0.1:5432").await
                    else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Proxy { port, up }
    }

    fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

/// `psql` on the local server's `test` database.
fn psql(sql: &str) {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (CWBRIDGE_TEST_DATABASE_URL and psql; .ci/run starts it)"]
async fn readyz_is_unready_while_postgresql_is_away_and_ready_when_it_returns() {
    // Arrange: a database of its own, reached through a proxy that can be taken away.
    std::env::var("CWBRIDGE_TEST_DATABASE_URL").expect("CWBRIDGE_TEST_DATABASE_URL is set");
    let database = format!("cwbridge_ops_{}", rand::random::<u32>());
    psql(&format!("CREATE DATABASE {database}"));
    let proxy = Proxy::start().await;
    let dir = tempfile::tempdir().unwrap();
    let api = api(free_port(), "", Duration::from_secs(10));
    let mut cmd = cwbridge(dir.path());
    // No ConnectWise here: the probes alone.
    cmd.env_remove("CWBRIDGE_CONNECTWISE_CA").env(
        "CWBRIDGE_DATABASE_URL",
        format!("postgres://postgres@127.0.0.1:{}/{database}", proxy.port),
    );
    let mut server = Serving(Some(common::serve(&mut cmd, &api).await));
    let ready = readyz_becomes(&api, StatusCode::OK, Duration::from_secs(10)).await;

    // Act: the database goes away, then comes back.
    proxy.set_up(false);
    let away = readyz_becomes(
        &api,
        StatusCode::SERVICE_UNAVAILABLE,
        Duration::from_secs(15),
    )
    .await;
    let alive = anonymous_get(&api, "/healthz").await;
    proxy.set_up(true);
    let back = readyz_becomes(&api, StatusCode::OK, Duration::from_secs(30)).await;
    let status = server.stop().await;
    psql(&format!("DROP DATABASE {database} WITH (FORCE)"));

    // Assert
    assert_eq!(ready["ready"], true);
    assert_eq!(
        away,
        json!({"ready": false, "database": "unreachable", "migrations": "unknown", "worker": "running"})
    );
    assert_eq!(
        alive.status(),
        StatusCode::OK,
        "/healthz: the process still serves"
    );
    assert_eq!(back["ready"], true);
    assert!(status.success(), "{status}");
}
