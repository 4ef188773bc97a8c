//! The REST API over HTTP, against the sandbox, on every database this machine offers.

use cwbridge_engine::EngineConfig;
use cwbridge_testkit::{OPERATOR, ServeOptions, Served as Bridge, Site, TestDb, databases};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct World {
    site: Site,
    input: Value,
    private_key: String,
}

/// A demo sandbox with seed 004's role, member and key; `input` is step 1's form.
async fn world() -> World {
    let site = Site::demo().await;
    let key = site
        .key_for(
            "EasyDMARC",
            &connectwise_sandbox::Preset::BillingTickets.grants(),
        )
        .await;
    World {
        input: site.connection_json(&key),
        private_key: key.private_key,
        site,
    }
}

const WITH_OPERATOR: ServeOptions = ServeOptions {
    operator: true,
    public_https: false,
};

/// A bridge reaching the world's sandbox per test database.
async fn bridges(w: &World) -> Vec<(Bridge, TestDb)> {
    let mut out = Vec::new();
    for (engine, db) in cwbridge_testkit::engines(&w.site.config()).await {
        out.push((cwbridge_testkit::serve(engine, WITH_OPERATOR).await, db));
    }
    out
}

/// A bridge over a test database with these limits (no ConnectWise needed).
async fn bridge_with_limits(db: &TestDb, limits: cwbridge_engine::Limits) -> Bridge {
    let config = EngineConfig {
        limits,
        ..EngineConfig::default()
    };
    cwbridge_testkit::serve(cwbridge_testkit::engine(db, &config), WITH_OPERATOR).await
}

async fn tenant(b: &Bridge, name: &str) -> String {
    b.tenant(name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_connects_and_is_told_its_role_is_complete() {
    let w = world().await;
    for (b, db) in bridges(&w).await {
        let token = tenant(&b, "Acme MSP").await;

        let (status, body, text) = b
            .call(
                reqwest::Method::PUT,
                "/api/v1/connection",
                Some(&token),
                Some(w.input.clone()),
            )
            .await;

        assert_eq!(status, StatusCode::OK, "{}: {body}", db.label);
        assert_eq!(body["check"]["ok"], true, "{body:#}");
        assert_eq!(body["connection"]["companyId"], w.input["companyId"]);
        assert!(!text.contains(&w.private_key), "the private key came back");
        let (_, shown, text) = b
            .call(
                reqwest::Method::GET,
                "/api/v1/connection",
                Some(&token),
                None,
            )
            .await;
        assert_eq!(shown["check"], body["check"]);
        assert!(!text.contains(&w.private_key));
        let (status, again, _) = b
            .call(
                reqwest::Method::POST,
                "/api/v1/connection/check",
                Some(&token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(again["ok"], true);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_cannot_see_each_other_and_tokens_are_checked() {
    let w = world().await;
    for (b, db) in bridges(&w).await {
        let a = tenant(&b, "Acme MSP").await;
        let other = tenant(&b, "Beta MSP").await;
        b.call(
            reqwest::Method::PUT,
            "/api/v1/connection",
            Some(&a),
            Some(w.input.clone()),
        )
        .await;

        let (status, body, _) = b
            .call(
                reqwest::Method::GET,
                "/api/v1/connection",
                Some(&other),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{}: {body}", db.label);
        assert_eq!(body["error"]["code"], "not_found");

        for token in [None, Some("cwb_forged"), Some(OPERATOR)] {
            let (status, body, _) = b
                .call(reqwest::Method::GET, "/api/v1/connection", token, None)
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}: {body}");
            assert_eq!(body["error"]["code"], "unauthenticated");
        }
        let (status, _, _) = b
            .call(reqwest::Method::GET, "/api/v1/tenants", Some(&a), None)
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "a tenant token is not the operator's"
        );
        let (status, list, _) = b
            .call(
                reqwest::Method::GET,
                "/api/v1/tenants",
                Some(OPERATOR),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list.as_array().unwrap().len(), 2);
        assert!(!list.to_string().contains(&a), "tokens are never listed");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_body_is_refused_naming_its_field_and_nothing_is_stored() {
    let w = world().await;
    let (b, db) = bridges(&w).await.remove(0);
    let token = tenant(&b, "Acme MSP").await;
    let mut missing = w.input.clone();
    missing.as_object_mut().unwrap().remove("clientId");
    let mut unknown = w.input.clone();
    unknown["password"] = json!("x");
    let mut wrong_type = w.input.clone();
    wrong_type["site"] = json!(42);
    let mut with_path = w.input.clone();
    with_path["site"] = json!("https://na.myconnectwise.net/v4_6_release/apis/3.0");
    for (body, field, expected) in [
        (missing, "clientId", StatusCode::UNPROCESSABLE_ENTITY),
        (unknown, "password", StatusCode::BAD_REQUEST),
        (wrong_type, "site", StatusCode::BAD_REQUEST),
        (with_path, "site", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (status, answer, _) = b
            .call(
                reqwest::Method::PUT,
                "/api/v1/connection",
                Some(&token),
                Some(body),
            )
            .await;
        assert_eq!(status, expected, "{answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
        assert!(!answer["error"]["message"].as_str().unwrap().is_empty());
    }
    let (status, _, _) = b
        .call(
            reqwest::Method::GET,
            "/api/v1/connection",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing was saved");
    let (status, answer, _) = b
        .call(
            reqwest::Method::POST,
            "/api/v1/tenants",
            Some(OPERATOR),
            Some(json!({"name": "Acme MSP"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route_and_every_route_answers() {
    let w = world().await;
    let (b, db) = bridges(&w).await.remove(0);
    let token = tenant(&b, "Acme MSP").await;
    let (status, doc, _) = b
        .call(reqwest::Method::GET, "/api/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let documented: std::collections::BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .filter(|m| *m != "parameters")
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    // Every route, in an order that makes each call meaningful (deletes last).
    let steps: Vec<(&str, &str, Option<Value>)> = vec![
        ("GET", "/api/v1/tenants", None),
        (
            "POST",
            "/api/v1/tenants",
            Some(json!({"name": "Other MSP"})),
        ),
        ("PUT", "/api/v1/connection", Some(w.input.clone())),
        ("GET", "/api/v1/connection", None),
        ("POST", "/api/v1/connection/check", None),
        ("GET", "/api/v1/connection/check", None),
        (
            "PUT",
            "/api/v1/accounts/{id}",
            Some(json!({"name": "Acme Corporation", "units": ["acme.example"]})),
        ),
        ("GET", "/api/v1/accounts", None),
        ("GET", "/api/v1/connection/failures", None),
        ("GET", "/api/v1/lookups/companies", None),
        ("GET", "/api/v1/lookups/companies/{id}/agreements", None),
        ("GET", "/api/v1/lookups/agreement-types", None),
        ("GET", "/api/v1/lookups/catalog", None),
        ("GET", "/api/v1/lookups/boards", None),
        ("GET", "/api/v1/lookups/priorities", None),
        ("GET", "/api/v1/mappings", None),
        (
            "PUT",
            "/api/v1/accounts/{id}/mapping",
            Some(json!({"companyId": 1})),
        ),
        (
            "PUT",
            "/api/v1/billing",
            Some(
                json!({"product": "DMARC-MONITOR", "agreementType": "Managed Services", "mode": "per_unit"}),
            ),
        ),
        ("GET", "/api/v1/billing", None),
        ("GET", "/api/v1/billing/plan", None),
        ("POST", "/api/v1/billing/apply", None),
        ("GET", "/api/v1/billing/runs", None),
        ("GET", "/api/v1/billing/runs/{id}", None),
        (
            "PUT",
            "/api/v1/tickets",
            Some(
                json!({"board": "Help Desk", "status": "New", "priority": "Priority 3 - Normal Response"}),
            ),
        ),
        ("GET", "/api/v1/tickets", None),
        (
            "PUT",
            "/api/v1/accounts/{id}/alerts",
            Some(json!({"types": ["*"]})),
        ),
        (
            "PUT",
            "/api/v1/alert-types/{type}",
            Some(json!({"noteOnResolve": true})),
        ),
        (
            "POST",
            "/api/v1/alerts",
            Some(
                json!({"account": "g-acme", "type": "spf", "summary": "SPF failing", "description": "SPF fails for acme.example"}),
            ),
        ),
        ("GET", "/api/v1/alerts", None),
        ("GET", "/api/v1/alerts/{id}", None),
        ("POST", "/api/v1/alerts/{id}/retry", None),
        ("DELETE", "/api/v1/accounts/{id}/mapping", None),
        ("DELETE", "/api/v1/accounts/{id}", None),
        // The other tenant's networks and token (the operator's routes), last.
        (
            "PUT",
            "/api/v1/tenants/{id}/networks",
            Some(json!({"networks": ["10.20.0.0/16"]})),
        ),
        ("POST", "/api/v1/tenants/{id}/token", None),
        ("DELETE", "/api/v1/tenants/{id}/token", None),
        ("GET", "/api/openapi.json", None),
    ];
    let called: std::collections::BTreeSet<(String, String)> = steps
        .iter()
        .filter(|(_, p, _)| *p != "/api/openapi.json")
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(called, documented, "the document and the routes agree");
    let mut run_id = String::new();
    let mut alert_id = String::new();
    for (method, path, body) in steps {
        let auth = if path.starts_with("/api/v1/tenants") {
            OPERATOR
        } else {
            token.as_str()
        };
        let concrete = if path.starts_with("/api/v1/billing/runs/") {
            path.replace("{id}", &run_id)
        } else if path.starts_with("/api/v1/lookups/companies/") {
            path.replace("{id}", "1")
        } else if path.starts_with("/api/v1/alerts/") {
            path.replace("{id}", &alert_id)
        } else if path.starts_with("/api/v1/tenants/") {
            // "Other MSP", made by the second step.
            path.replace("{id}", "2")
        } else {
            path.replace("{id}", "g-acme").replace("{type}", "spf")
        };
        let (status, answer, _) = b
            .call(method.parse().unwrap(), &concrete, Some(auth), body)
            .await;
        if path == "/api/v1/alerts/{id}/retry" {
            // Only a failed alert can be retried; this one is still queued (no worker here).
            assert_eq!(status, StatusCode::CONFLICT, "{answer}");
            continue;
        }
        assert!(
            status.is_success(),
            "{method} {concrete}: {status} {answer}"
        );
        if path == "/api/v1/alerts" && method == "POST" {
            assert_eq!(status, StatusCode::ACCEPTED);
            alert_id = answer["id"].to_string();
        }
        if path == "/api/v1/billing/apply" {
            run_id = answer["runId"].to_string();
            assert_eq!(answer["done"]["create"], 1, "{answer}");
        }
    }
    let (status, body, _) = b
        .call(reqwest::Method::GET, "/api/v1/nowhere", None, None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, _, _) = b
        .call(
            reqwest::Method::DELETE,
            "/api/v1/tenants",
            Some(OPERATOR),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wizards_pickers_search_connectwise() {
    let w = world().await;
    let (b, db) = bridges(&w).await.remove(0);
    let token = tenant(&b, "Acme MSP").await;
    b.call(
        reqwest::Method::PUT,
        "/api/v1/connection",
        Some(&token),
        Some(w.input.clone()),
    )
    .await;
    let get = |path: &'static str| b.call(reqwest::Method::GET, path, Some(&token), None);

    let (_, found, _) = get("/api/v1/lookups/companies?search=acme").await;
    assert_eq!(found[0]["identifier"], "AcmeCorp", "{found}");
    let (_, nothing, _) = get("/api/v1/lookups/companies?search=zzzz").await;
    assert!(nothing.as_array().unwrap().is_empty(), "{nothing}");
    let (_, dmarc, _) = get("/api/v1/lookups/catalog?search=dmarc").await;
    assert_eq!(dmarc[0]["identifier"], "DMARC-MONITOR", "{dmarc}");
    let (_, agreements, _) = get("/api/v1/lookups/companies/1/agreements").await;
    assert!(
        agreements
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["type"]["name"] == "Managed Services"),
        "{agreements}"
    );
    let (_, boards, _) = get("/api/v1/lookups/boards").await;
    let help_desk = boards
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "Help Desk")
        .unwrap();
    assert!(
        help_desk["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "Closed" && s["closed"] == true)
    );
    assert!(
        help_desk["types"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "Alert")
    );
    let (_, priorities, _) = get("/api/v1/lookups/priorities").await;
    assert_eq!(priorities.as_array().unwrap().len(), 4);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_id_or_query_gets_a_json_error() {
    let w = world().await;
    let (b, db) = bridges(&w).await.remove(0);
    let token = tenant(&b, "Acme MSP").await;
    for path in [
        "/api/v1/alerts/abc",
        "/api/v1/billing/plan?full=yes",
        "/api/v1/billing/runs/x",
    ] {
        let (status, body, _) = b.call(reqwest::Method::GET, path, Some(&token), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"]["code"], "invalid_field", "{path}: {body}");
        assert!(body["error"]["field"].is_string(), "{path}: {body}");
    }
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_tenant_reaches_anothers_accounts_alerts_or_runs() {
    let w = world().await;
    for (b, db) in bridges(&w).await {
        let a = tenant(&b, "Acme MSP").await;
        let other = tenant(&b, "Beta MSP").await;
        let call = |method: reqwest::Method, path: String, token: String, body: Option<Value>| {
            let b = &b;
            async move { b.call(method, &path, Some(&token), body).await }
        };
        // Acme's data: a connection, an account, billing, a run, an alert.
        for (method, path, body) in [
            (reqwest::Method::PUT, "/api/v1/connection", w.input.clone()),
            (
                reqwest::Method::PUT,
                "/api/v1/accounts/g-acme",
                json!({"name": "Acme", "units": ["acme.example"]}),
            ),
            (
                reqwest::Method::PUT,
                "/api/v1/accounts/g-acme/mapping",
                json!({"companyId": 1}),
            ),
            (
                reqwest::Method::PUT,
                "/api/v1/billing",
                json!({"product": "DMARC-MONITOR", "agreementType": "Managed Services", "mode": "bundled"}),
            ),
        ] {
            let (status, answer, _) = call(method, path.into(), a.clone(), Some(body)).await;
            assert!(status.is_success(), "{path}: {answer}");
        }
        let (_, run, _) = call(
            reqwest::Method::POST,
            "/api/v1/billing/apply".into(),
            a.clone(),
            None,
        )
        .await;
        let (_, alert, _) = call(
            reqwest::Method::POST,
            "/api/v1/alerts".into(),
            a.clone(),
            Some(json!({"account": "g-acme", "type": "spf", "summary": "s", "description": "d"})),
        )
        .await;

        // Beta sees none of it and can change none of it.
        let (_, accounts, _) = call(
            reqwest::Method::GET,
            "/api/v1/accounts".into(),
            other.clone(),
            None,
        )
        .await;
        assert_eq!(accounts, json!([]), "{}", db.label);
        let (_, alerts, _) = call(
            reqwest::Method::GET,
            "/api/v1/alerts".into(),
            other.clone(),
            None,
        )
        .await;
        assert_eq!(alerts, json!([]));
        let (_, runs, _) = call(
            reqwest::Method::GET,
            "/api/v1/billing/runs".into(),
            other.clone(),
            None,
        )
        .await;
        assert_eq!(runs, json!([]));
        for (method, path, body) in [
            (
                reqwest::Method::GET,
                format!("/api/v1/alerts/{}", alert["id"]),
                None,
            ),
            (
                reqwest::Method::GET,
                format!("/api/v1/billing/runs/{}", run["runId"]),
                None,
            ),
            (
                reqwest::Method::PUT,
                "/api/v1/accounts/g-acme/mapping".to_owned(),
                Some(json!({"companyId": 2})),
            ),
            (
                reqwest::Method::DELETE,
                "/api/v1/accounts/g-acme".to_owned(),
                None,
            ),
            (reqwest::Method::GET, "/api/v1/billing".to_owned(), None),
        ] {
            let (status, answer, _) = call(method.clone(), path.clone(), other.clone(), body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
        }
        let (_, still, _) = call(
            reqwest::Method::GET,
            "/api/v1/accounts".into(),
            a.clone(),
            None,
        )
        .await;
        assert_eq!(
            still[0]["mapping"]["companyId"], 1,
            "Acme's mapping is untouched"
        );
        db.cleanup().await;
    }
}

async fn post_alert(b: &Bridge, token: &str, key: Option<&str>, body: &Value) -> reqwest::Response {
    let mut req = b
        .http
        .post(format!("{}/api/v1/alerts", b.base))
        .bearer_auth(token)
        .json(body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_sent_again_with_its_idempotency_key_is_stored_once() {
    let w = world().await;
    for (b, db) in bridges(&w).await {
        let token = tenant(&b, "Acme MSP").await;
        let alert = json!({"account": "g-acme", "type": "dmarc", "key": "k", "summary": "Changed", "description": "d"});

        let first = post_alert(&b, &token, Some("send-1"), &alert).await;
        assert_eq!(first.status(), StatusCode::ACCEPTED);
        assert!(first.headers().get("idempotent-replayed").is_none());
        let first: Value = first.json().await.unwrap();

        // The answer was lost; the vendor sends again, eight times at once.
        let resends = futures_util::future::join_all(
            (0..8).map(|_| post_alert(&b, &token, Some("send-1"), &alert)),
        )
        .await;
        for r in resends {
            assert_eq!(r.status(), StatusCode::ACCEPTED, "{}", db.label);
            assert_eq!(r.headers()["idempotent-replayed"], "true");
            let again: Value = r.json().await.unwrap();
            assert_eq!(again["id"], first["id"]);
        }
        // Concurrent first sends of a new key also store one alert.
        let racing = futures_util::future::join_all(
            (0..8).map(|_| post_alert(&b, &token, Some("send-2"), &alert)),
        )
        .await;
        let mut ids = Vec::new();
        for r in racing {
            assert_eq!(r.status(), StatusCode::ACCEPTED, "{}", db.label);
            ids.push(r.json::<Value>().await.unwrap()["id"].clone());
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "{}: {ids:?}", db.label);

        // A key reused for another alert is refused, and stores nothing.
        let other = json!({"account": "g-acme", "type": "dmarc", "key": "k", "summary": "Other", "description": "d"});
        let r = post_alert(&b, &token, Some("send-1"), &other).await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let (_, list, _) = b
            .call(reqwest::Method::GET, "/api/v1/alerts", Some(&token), None)
            .await;
        assert_eq!(list.as_array().unwrap().len(), 2, "{list:#}");

        // After a restart (a new server and engine on the same database) the key still holds.
        let restarted = bridge_with_limits(&db, cwbridge_engine::Limits::default()).await;
        let r = post_alert(&restarted, &token, Some("send-1"), &alert).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        assert_eq!(r.json::<Value>().await.unwrap()["id"], first["id"]);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_over_a_limit_are_refused_naming_the_field_and_store_nothing() {
    let w = world().await;
    for (b, db) in bridges(&w).await {
        let token = tenant(&b, "Acme MSP").await;
        let long = "x".repeat(1_001);
        let r = post_alert(
            &b,
            &token,
            None,
            &json!({"account": "g", "type": "t", "summary": long, "description": "d"}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["field"], "summary", "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("1000"),
            "{body}"
        );

        let r = post_alert(
            &b,
            &token,
            Some("bad key"),
            &json!({"account": "g", "type": "t", "summary": "s", "description": "d"}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

        let units: Vec<String> = (0..10_001).map(|i| format!("d{i}.example")).collect();
        let (status, body, _) = b
            .call(
                reqwest::Method::PUT,
                "/api/v1/accounts/big",
                Some(&token),
                Some(json!({"name": "Big", "units": units})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "units");

        let (_, list, _) = b
            .call(reqwest::Method::GET, "/api/v1/alerts", Some(&token), None)
            .await;
        assert_eq!(list, json!([]), "{}", db.label);
        let (_, accounts, _) = b
            .call(reqwest::Method::GET, "/api/v1/accounts", Some(&token), None)
            .await;
        assert!(!accounts.to_string().contains("\"big\""), "{accounts}");

        // A body past the API's limit is 413, not 400 (the server then closes the
        // connection, as it has not read the rest).
        let huge = json!({"account": "g", "type": "t", "summary": "s", "description": "x".repeat(3 << 20)});
        let r = post_alert(&b, &token, None, &huge).await;
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_429_with_retry_after() {
    for db in databases().await {
        let limits = cwbridge_engine::Limits {
            queued_alerts_per_tenant: 3,
            ..cwbridge_engine::Limits::default()
        };
        let b = bridge_with_limits(&db, limits).await;
        let token = tenant(&b, "Acme MSP").await;
        let other = tenant(&b, "Other MSP").await;
        let alert = json!({"account": "g", "type": "t", "summary": "s", "description": "d"});
        for _ in 0..3 {
            assert_eq!(
                post_alert(&b, &token, None, &alert).await.status(),
                StatusCode::ACCEPTED
            );
        }
        let r = post_alert(&b, &token, None, &alert).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{}", db.label);
        assert!(r.headers().get("retry-after").is_some());
        // Another tenant's queue is its own.
        assert_eq!(
            post_alert(&b, &other, None, &alert).await.status(),
            StatusCode::ACCEPTED
        );
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_listed_in_pages_by_cursor_and_filtered() {
    let w = world().await;
    for (b, db) in bridges(&w).await {
        let token = tenant(&b, "Acme MSP").await;
        let mut sent = Vec::new();
        for i in 0..5 {
            let kind = if i % 2 == 0 { "dmarc" } else { "spf" };
            let r = post_alert(
                &b,
                &token,
                None,
                &json!({"account": format!("g{}", i % 2), "type": kind, "summary": "s", "description": "d"}),
            )
            .await;
            sent.push(r.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
        }
        // Page after page, following the Link header, newest first, each alert once.
        let mut seen = Vec::new();
        let mut next = Some("/api/v1/alerts?limit=2".to_owned());
        while let Some(path) = next.take() {
            let r = b
                .http
                .get(format!("{}{path}", b.base))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            next = r
                .headers()
                .get("link")
                .map(|l| l.to_str().unwrap().to_owned())
                .map(|l| {
                    l.trim_start_matches('<')
                        .split('>')
                        .next()
                        .unwrap()
                        .to_owned()
                });
            let page: Value = r.json().await.unwrap();
            seen.extend(
                page.as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["id"].as_i64().unwrap()),
            );
            assert!(seen.len() <= 5, "{}: paging does not end", db.label);
        }
        sent.reverse();
        assert_eq!(seen, sent, "{}", db.label);

        let get = |path: &'static str| b.call(reqwest::Method::GET, path, Some(&token), None);
        let (_, spf, _) = get("/api/v1/alerts?type=spf&state=queued").await;
        assert_eq!(spf.as_array().unwrap().len(), 2, "{spf:#}");
        let (_, g0, _) = get("/api/v1/alerts?account=g0&limit=1").await;
        assert_eq!(g0.as_array().unwrap().len(), 1);
        assert_eq!(g0[0]["account"], "g0");
        let (_, none, _) = get("/api/v1/alerts?state=delivered").await;
        assert_eq!(none, json!([]));
        let (_, future, _) = get("/api/v1/alerts?since=99999999999999").await;
        assert_eq!(future, json!([]));
        let (status, body, _) = get("/api/v1/alerts?state=lost").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "state");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_rotates_and_revokes_a_tenants_token() {
    let w = world().await;
    for (b, db) in bridges(&w).await {
        let old = tenant(&b, "Acme MSP").await;
        let (_, list, _) = b
            .call(
                reqwest::Method::GET,
                "/api/v1/tenants",
                Some(OPERATOR),
                None,
            )
            .await;
        let id = list[0]["id"].as_i64().unwrap();
        let path = format!("/api/v1/tenants/{id}/token");

        // Only the operator may.
        let (status, _, _) = b.call(reqwest::Method::POST, &path, Some(&old), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        let (status, body, _) = b
            .call(reqwest::Method::POST, &path, Some(OPERATOR), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let new = body["token"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        let (status, _, _) = b
            .call(reqwest::Method::GET, "/api/v1/accounts", Some(&old), None)
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{}: the old token still works",
            db.label
        );
        let (status, _, _) = b
            .call(reqwest::Method::GET, "/api/v1/accounts", Some(&new), None)
            .await;
        assert_eq!(status, StatusCode::OK);

        let (status, _, _) = b
            .call(reqwest::Method::DELETE, &path, Some(OPERATOR), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _, _) = b
            .call(reqwest::Method::GET, "/api/v1/accounts", Some(&new), None)
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{}: a disabled tenant's token works",
            db.label
        );

        let (status, _, _) = b
            .call(
                reqwest::Method::POST,
                "/api/v1/tenants/999999/token",
                Some(OPERATOR),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_past_its_accounts_limit_can_update_but_not_add() {
    for db in databases().await {
        let limits = cwbridge_engine::Limits {
            accounts_per_tenant: 2,
            ..cwbridge_engine::Limits::default()
        };
        let b = bridge_with_limits(&db, limits).await;
        let token = tenant(&b, "Acme MSP").await;
        let put = |id: &'static str| {
            let (b, token) = (&b, &token);
            async move {
                b.call(
                    reqwest::Method::PUT,
                    &format!("/api/v1/accounts/{id}"),
                    Some(token),
                    Some(json!({"name": id, "units": ["u.example"]})),
                )
                .await
            }
        };
        assert_eq!(put("a").await.0, StatusCode::OK);
        assert_eq!(put("b").await.0, StatusCode::OK);
        let (status, body, _) = put("c").await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}: {body}",
            db.label
        );
        assert_eq!(body["error"]["field"], "id");
        assert_eq!(
            put("b").await.0,
            StatusCode::OK,
            "an existing account is updated"
        );
        db.cleanup().await;
    }
}
