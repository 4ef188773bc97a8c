//! The outbound fence, through the engine: a tenant's site is connected to only where the
//! operator allows, redirects are reported and never followed, a failed answer's body never
//! reaches a report, and an oversized answer is refused without being read.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use connectwise_client::Fence;
use cwbridge_engine::{CheckReport, ConnectionInput, Engine, EngineConfig, EngineError};
use cwbridge_store::TenantId;
use futures_util::stream;

use crate::helpers::{changed, tenant};
use cwbridge_testkit::{Site, engines};

const RULE: &str =
    "cwbridge connects only to public addresses unless the operator allows this network";

#[tokio::test]
async fn a_site_outside_the_allowed_network_is_refused_in_every_spelling_and_nothing_is_stored() {
    let site = Site::demo().await;
    let good = site.seed_member("Fenced").await;
    let port = site.sandbox.addr().port();
    // 127.0.0.2 in every spelling a URL parser takes, then other addresses never public.
    let loopback = [
        "127.0.0.2",
        "https://127.0.0.2",
        "0x7f.0.0.2",
        "0x7f.2",
        "2130706434",
        "017700000002",
        "[::ffff:127.0.0.2]",
    ]
    .map(|host| (format!("{host}:{port}"), "127.0.0.2 is a loopback address"));
    let others = [
        (format!("[::1]:{port}"), "::1 is a loopback address"),
        (
            "169.254.169.254".to_owned(),
            "169.254.169.254 is a link-local address",
        ),
        ("10.1.2.3".to_owned(), "10.1.2.3 is a private address"),
        ("100.64.0.1".to_owned(), "100.64.0.1 is a shared"),
        ("0.0.0.0".to_owned(), "0.0.0.0 is the unspecified address"),
    ];
    // The tests' engines allow exactly 127.0.0.1, where the sandbox listens.
    for (engine, db) in engines(&site.config()).await {
        let t = tenant(&engine, "Acme MSP").await;
        for (typed, refused) in loopback.iter().chain(&others) {
            let err = engine
                .save_connection(t, &changed(&good, |c| c.site = typed.clone()))
                .await
                .unwrap_err();
            let EngineError::Invalid { field, message } = &err else {
                panic!("{typed}: {err:?}")
            };
            assert_eq!(field, "site", "{typed}");
            assert!(message.starts_with(refused), "{typed}: {message}");
            assert!(message.ends_with(RULE), "{typed}: {message}");
            assert!(
                matches!(engine.connection(t).await, Err(EngineError::NotFound(_))),
                "{typed}: a refused site stores nothing ({})",
                db.label
            );
        }
        let plain_http = changed(&good, |c| c.site = format!("http://127.0.0.1:{port}"));
        let err = engine.save_connection(t, &plain_http).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("only where the operator allows plain http"),
            "{err}"
        );
        // The allowed address, for comparison, is reached.
        let (_, report) = engine.save_connection(t, &good).await.unwrap();
        assert!(report.ok, "{}: {report:#?}", db.label);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_name_is_judged_by_the_addresses_it_resolves_to_when_saved_and_when_connecting() {
    let site = Site::demo().await;
    let good = site.seed_member("Named").await;
    let port = site.sandbox.addr().port();
    let by_name = changed(&good, |c| c.site = format!("localhost:{port}"));
    // A name on a port other than 443 needs the operator's --allow-port.
    let allowed = EngineConfig {
        fence: site.config().fence.allow_port(port),
        ..site.config()
    };
    let strict = EngineConfig {
        fence: Fence::public_only()
            .allow_network("127.0.0.2/32".parse().unwrap())
            .allow_port(port),
        ..site.config()
    };
    let (plain, plain_db) = engines(&site.config()).await.remove(0);
    let t = tenant(&plain, "Portless").await;
    let refused = plain.save_connection(t, &by_name).await.unwrap_err();
    assert!(
        refused
            .to_string()
            .contains(&format!("port {port} is not one cwbridge connects to")),
        "{refused}"
    );
    plain_db.cleanup().await;
    for (engine, db) in engines(&allowed).await {
        let t = tenant(&engine, "Acme MSP").await;
        // Saved while the operator allowed 127.0.0.1 (localhost is on the sandbox's
        // certificate)…
        let (_, report) = engine.save_connection(t, &by_name).await.unwrap();
        assert!(report.ok, "{report:#?}");

        // …then checked by an engine whose fence no longer allows it: the resolver the HTTP
        // client uses refuses, so nothing is sent.
        let fenced = engine.with_config(strict.clone());
        let report = fenced.check_connection(t).await.unwrap();
        assert!(!report.ok);
        assert_eq!(report.steps[0].name, "reach");
        let message = &report.steps[0].message;
        assert!(
            message.starts_with(
                "localhost resolves only to addresses that are not public (a loopback address)"
            ),
            "{message}"
        );
        assert!(
            !message.contains("127.0.0.1"),
            "the address is not told: {message}"
        );
        assert!(
            report.steps[0]
                .hints
                .iter()
                .any(|h| h.contains("--allow-network")),
            "{report:#?}"
        );

        // And saving it again under that fence is refused at once, naming the field.
        let err = fenced.save_connection(t, &by_name).await.unwrap_err();
        assert!(
            matches!(&err, EngineError::Invalid { field, message } if field == "site" && message.contains("localhost resolves only to")),
            "{err:?}"
        );
        db.cleanup().await;
    }
}

/// A server that is not ConnectWise, on a loopback address: what a hostile tenant points
/// the bridge at.
struct Hostile {
    addr: SocketAddr,
    /// Requests it received.
    hits: Arc<AtomicUsize>,
    /// Body bytes it produced.
    produced: Arc<AtomicUsize>,
}

/// Serves `answer` (given the path and the `produced` counter) to every request, on `ip`.
async fn hostile(
    ip: &str,
    answer: impl Fn(&str, Arc<AtomicUsize>) -> Response + Clone + Send + Sync + 'static,
) -> Hostile {
    let hits = Arc::new(AtomicUsize::new(0));
    let produced = Arc::new(AtomicUsize::new(0));
    let app = Router::new().fallback({
        let (hits, produced) = (hits.clone(), produced.clone());
        move |uri: axum::http::Uri| {
            hits.fetch_add(1, Ordering::SeqCst);
            let response = answer(uri.path(), produced.clone());
            async move { response }
        }
    });
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Hostile {
        addr,
        hits,
        produced,
    }
}

fn plain_http_to_loopback(site: &Site) -> EngineConfig {
    EngineConfig {
        fence: Fence::public_only()
            .allow_network("127.0.0.0/8".parse().unwrap())
            .allow_http(true),
        max_response_bytes: 1 << 20,
        ..site.config()
    }
}

fn input(addr: SocketAddr) -> ConnectionInput {
    ConnectionInput {
        site: format!("http://{addr}"),
        company_id: "acme".into(),
        public_key: "pub".into(),
        private_key: "secret".into(),
        client_id: "client".into(),
    }
}

/// A new tenant whose connection to the server at `addr` is saved; answers the check.
async fn connect_to(engine: &Engine, addr: SocketAddr) -> (TenantId, CheckReport) {
    let t = tenant(engine, "Acme MSP").await;
    let (_, report) = engine.save_connection(t, &input(addr)).await.unwrap();
    (t, report)
}

#[tokio::test]
async fn a_redirect_is_reported_with_its_host_and_never_followed() {
    let site = Site::demo().await;
    let target = hostile("127.0.0.2", |_, _| "{}".into_response()).await;
    let redirect_to = format!("http://{}/metadata", target.addr);
    // Every request, companyinfo included, is redirected to another loopback address.
    let redirecting = hostile("127.0.0.1", move |_, _| {
        let to = redirect_to.clone();
        (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]).into_response()
    })
    .await;
    for (engine, db) in engines(&plain_http_to_loopback(&site)).await {
        let (_, report) = connect_to(&engine, redirecting.addr).await;
        assert!(!report.ok);
        let step = &report.steps[0];
        assert_eq!(step.name, "reach");
        assert!(
            step.message.contains(&format!(
                "ConnectWise answered with a redirect to {}; use that address as the ConnectWise URL",
                target.addr
            )),
            "{}",
            step.message
        );
        assert!(redirecting.hits.load(Ordering::SeqCst) >= 1);
        db.cleanup().await;
    }
    assert_eq!(
        target.hits.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
}

#[tokio::test]
async fn a_failed_answers_body_never_reaches_a_report_or_the_health_page() {
    const SECRET: &str = "AKIA-HOST-CREDENTIALS";
    let site = Site::demo().await;
    // companyinfo names a codebase; every API call answers 500 with the host's secrets.
    let server = hostile("127.0.0.1", |path, _| {
        if path.starts_with("/login/companyinfo/") {
            return axum::Json(serde_json::json!({"Codebase": "v1/"})).into_response();
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "text/html; charset=utf-8".parse().unwrap(),
        );
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            headers,
            format!("<html>{SECRET}</html>"),
        )
            .into_response()
    })
    .await;
    // A companyinfo that names no codebase, but carries the secret.
    let chatty = hostile("127.0.0.1", |_, _| {
        axum::Json(serde_json::json!({"AccessKey": SECRET})).into_response()
    })
    .await;
    for (engine, db) in engines(&plain_http_to_loopback(&site)).await {
        let (t, report) = connect_to(&engine, server.addr).await;
        let text = serde_json::to_string(&report).unwrap();
        assert!(!text.contains(SECRET), "{text}");
        assert!(
            text.contains(&format!(
                "an answer that is not ConnectWise's ({} bytes of text/html)",
                SECRET.len() + 13
            )),
            "{text}"
        );

        // The health page's failures: a call the bridge makes for the tenant.
        let client = engine.client_for(t).await.unwrap();
        assert!(client.service().tickets().get(1).await.is_err());
        engine.flush_failures().await;
        let failures = engine.recent_failures(t).await.unwrap();
        assert!(!failures.is_empty());
        let text = format!("{failures:?}");
        assert!(!text.contains(SECRET), "{text}");

        let (_, report) = engine
            .save_connection(t, &input(chatty.addr))
            .await
            .unwrap();
        let text = serde_json::to_string(&report).unwrap();
        assert!(!report.ok);
        assert!(!text.contains(SECRET), "{text}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_oversized_answer_is_refused_and_read_no_further() {
    let site = Site::demo().await;
    // 64 MiB in 64 KiB chunks, made only as the reader takes them, with no length given.
    let server = hostile("127.0.0.1", |_, produced| {
        let chunks = stream::iter((0..1024).map(move |_| {
            produced.fetch_add(64 << 10, Ordering::SeqCst);
            Ok::<_, std::io::Error>(vec![b' '; 64 << 10])
        }));
        Response::new(Body::from_stream(chunks))
    })
    .await;
    for (engine, db) in engines(&plain_http_to_loopback(&site)).await {
        let (_, report) = connect_to(&engine, server.addr).await;
        let step = &report.steps[0];
        assert!(
            step.message
                .contains("the answer is larger than 1048576 bytes"),
            "{}",
            step.message
        );
        db.cleanup().await;
    }
    // The reader hung up after its megabyte: what was made beyond it sat in socket buffers.
    let produced = server.produced.load(Ordering::SeqCst);
    assert!(produced < 24 << 20, "{produced} bytes were produced");
}

#[tokio::test]
async fn a_network_allowed_for_one_tenant_is_not_allowed_for_another() {
    let site = Site::demo().await;
    // An on-premise "ConnectWise" on 127.0.0.2 that names a codebase and refuses the keys.
    let onprem = hostile("127.0.0.2", |path, _| {
        if path.starts_with("/login/companyinfo/") {
            return axum::Json(serde_json::json!({"Codebase": "v1/"})).into_response();
        }
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"code": "Unauthorized", "message": "no"})),
        )
            .into_response()
    })
    .await;
    let config = EngineConfig {
        fence: Fence::public_only()
            .allow_network("127.0.0.1/32".parse().unwrap())
            .allow_http(true),
        ..site.config()
    };
    for (engine, db) in engines(&config).await {
        let acme = tenant(&engine, "Acme MSP").await;
        let other = tenant(&engine, "Other MSP").await;
        engine
            .set_allowed_networks(acme, &["127.0.0.2".to_owned()])
            .await
            .unwrap();
        assert_eq!(
            engine.allowed_networks(acme).await.unwrap(),
            vec!["127.0.0.2/32".parse::<connectwise_client::IpNet>().unwrap()]
        );

        // Acme reaches its server (and is told its keys are wrong)…
        let (_, report) = engine
            .save_connection(acme, &input(onprem.addr))
            .await
            .unwrap();
        assert_eq!(report.steps[0].name, "reach");
        assert!(report.steps[0].ok, "{}: {report:#?}", db.label);
        assert!(!report.ok);
        // …the other tenant is refused the same address.
        let err = engine
            .save_connection(other, &input(onprem.addr))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, EngineError::Invalid { field, message } if field == "site" && message.starts_with("127.0.0.2 is a loopback address")),
            "{err:?}"
        );
        assert!(
            engine
                .set_allowed_networks(acme, &["10.0.0.0/33".to_owned()])
                .await
                .is_err()
        );
        engine.set_allowed_networks(acme, &[]).await.unwrap();
        assert!(engine.allowed_networks(acme).await.unwrap().is_empty());
        db.cleanup().await;
    }
}
