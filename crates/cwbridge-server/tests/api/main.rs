//! The REST API over HTTP, against the sandbox, on every database this machine offers: what
//! it promises here (every documented route answers, bad bodies and paths refused naming the
//! field, the pickers search ConnectWise); tenants and alerts in their own modules.

use cwbridge_engine::{EngineConfig, Limits};
use cwbridge_testkit::{OPERATOR, ServeOptions, Served as Bridge, Site, TestDb, databases};
use reqwest::StatusCode;
use serde_json::{Value, json};

mod alerts;
mod settings;
mod tenants;

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

/// [`with_acme`] on every test database.
const EVERY_DATABASE: usize = usize::MAX;
/// [`with_acme`] on the first test database only.
const FIRST_DATABASE: usize = 1;

/// Runs `test` against a bridge per test database (the first `databases` of them), each
/// reaching one world's sandbox, with tenant "Acme MSP" made in it (its token given); drops
/// each database after.
async fn with_acme(databases: usize, test: impl AsyncFn(&World, &Bridge, &str, &TestDb)) {
    let w = world().await;
    for (b, db) in bridges(&w).await.into_iter().take(databases) {
        let token = b.tenant("Acme MSP").await;
        test(&w, &b, &token, &db).await;
        db.cleanup().await;
    }
}

/// A bridge over a test database with these limits (no ConnectWise needed).
async fn bridge_with_limits(db: &TestDb, limits: Limits) -> Bridge {
    let config = EngineConfig {
        limits,
        ..EngineConfig::default()
    };
    cwbridge_testkit::serve(cwbridge_testkit::engine(db, &config), WITH_OPERATOR).await
}

/// Runs `test` against a bridge per test database with the default limits but as `limit`
/// sets them, with tenant "Acme MSP" made in it (its token given); drops each database after.
async fn with_limited_acme(limit: fn(&mut Limits), test: impl AsyncFn(&Bridge, &str, &TestDb)) {
    let mut limits = Limits::default();
    limit(&mut limits);
    for db in databases().await {
        let b = bridge_with_limits(&db, limits.clone()).await;
        let token = b.tenant("Acme MSP").await;
        test(&b, &token, &db).await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_body_is_refused_naming_its_field_and_nothing_is_stored() {
    with_acme(FIRST_DATABASE, async |w, b, token, _| {
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
            let (status, answer, _) = b.bearer(token).put("/api/v1/connection", body).await;
            assert_eq!(status, expected, "{answer}");
            assert_eq!(answer["error"]["field"], field, "{answer}");
            assert!(!answer["error"]["message"].as_str().unwrap().is_empty());
        }
        let (status, _, _) = b.bearer(token).get("/api/v1/connection").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "nothing was saved");
        let again = Some(json!({"name": "Acme MSP"}));
        let (status, answer, _) = b
            .bearer(OPERATOR)
            .send(reqwest::Method::POST, "/api/v1/tenants", again)
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route_and_every_route_answers() {
    with_acme(FIRST_DATABASE, async |w, b, token, _| {
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
        // What the writes send.
        let other = Some(json!({"name": "Other MSP"}));
        let input = Some(w.input.clone());
        let account = Some(json!({"name": "Acme Corporation", "units": ["acme.example"]}));
        let mapping = Some(json!({"companyId": 1}));
        let billing = Some(
            json!({"product": "DMARC-MONITOR", "agreementType": "Managed Services", "mode": "per_unit"}),
        );
        let tickets = Some(
            json!({"board": "Help Desk", "status": "New", "priority": "Priority 3 - Normal Response"}),
        );
        let routed = Some(json!({"types": ["*"]}));
        let note_on_resolve = Some(json!({"noteOnResolve": true}));
        let alert = Some(
            json!({"account": "g-acme", "type": "spf", "summary": "SPF failing", "description": "SPF fails for acme.example"}),
        );
        let networks = Some(json!({"networks": ["10.20.0.0/16"]}));
        let ticket_events = Some(
            json!({"receive": "poll", "webhookUrl": "https://hooks.example.com/cw", "webhookSecret": "a-secret-of-24-characters"}),
        );
        // Every route, in an order that makes each call meaningful (deletes last).
        let steps: Vec<(&str, &str, Option<Value>)> = vec![
            ("GET", "/api/v1/tenants", None),
            ("POST", "/api/v1/tenants", other),
            ("PUT", "/api/v1/connection", input),
            ("GET", "/api/v1/connection", None),
            ("POST", "/api/v1/connection/check", None),
            ("GET", "/api/v1/connection/check", None),
            ("PUT", "/api/v1/accounts/{id}", account),
            ("GET", "/api/v1/accounts", None),
            ("GET", "/api/v1/connection/failures", None),
            ("GET", "/api/v1/lookups/companies", None),
            ("GET", "/api/v1/lookups/companies/{id}/agreements", None),
            ("GET", "/api/v1/lookups/agreement-types", None),
            ("GET", "/api/v1/lookups/catalog", None),
            ("GET", "/api/v1/lookups/boards", None),
            ("GET", "/api/v1/lookups/priorities", None),
            ("GET", "/api/v1/mappings", None),
            ("PUT", "/api/v1/accounts/{id}/mapping", mapping),
            ("PUT", "/api/v1/billing", billing),
            ("GET", "/api/v1/billing", None),
            ("GET", "/api/v1/billing/plan", None),
            ("POST", "/api/v1/billing/apply", None),
            ("GET", "/api/v1/billing/runs", None),
            ("GET", "/api/v1/billing/runs/{id}", None),
            ("GET", "/api/v1/billing/runs/{id}/undo", None),
            ("POST", "/api/v1/billing/runs/{id}/undo", None),
            ("PUT", "/api/v1/tickets", tickets),
            ("GET", "/api/v1/tickets", None),
            ("GET", "/api/v1/settings", None),
            ("PUT", "/api/v1/settings", Some(json!({"alertPolicies": []}))),
            ("PUT", "/api/v1/accounts/{id}/alerts", routed),
            ("PUT", "/api/v1/alert-types/{type}", note_on_resolve),
            ("POST", "/api/v1/alerts", alert),
            ("GET", "/api/v1/alerts", None),
            ("GET", "/api/v1/alerts/{id}", None),
            ("POST", "/api/v1/alerts/{id}/retry", None),
            ("DELETE", "/api/v1/accounts/{id}/mapping", None),
            ("DELETE", "/api/v1/accounts/{id}", None),
            ("GET", "/api/v1/webhooks", None),
            // Ticket events for Acme (the operator's routes): polled, to the vendor's URL.
            ("PUT", "/api/v1/tenants/{id}/ticket-events", ticket_events),
            ("GET", "/api/v1/tenants/{id}/ticket-events", None),
            ("DELETE", "/api/v1/tenants/{id}/ticket-events", None),
            // The other tenant's networks and token (the operator's routes), last.
            ("PUT", "/api/v1/tenants/{id}/networks", networks),
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
        assert_eq!(
            doc["components"]["schemas"]["BillingInput"]["properties"]["scheduleHours"]["maximum"],
            cwbridge_engine::billing::settings::MAX_SCHEDULE_HOURS,
            "the document bounds the schedule as the engine does"
        );
        let mut run_id = String::new();
        let mut alert_id = String::new();
        for (method, path, body) in steps {
            let auth = if path.starts_with("/api/v1/tenants") {
                OPERATOR
            } else {
                token
            };
            let concrete = if path.starts_with("/api/v1/billing/runs/") {
                path.replace("{id}", &run_id)
            } else if path.starts_with("/api/v1/lookups/companies/") {
                path.replace("{id}", "1")
            } else if path.starts_with("/api/v1/alerts/") {
                path.replace("{id}", &alert_id)
            } else if path.ends_with("/ticket-events") {
                // Acme, made first: the tenant with a connection.
                path.replace("{id}", "1")
            } else if path.starts_with("/api/v1/tenants/") {
                // "Other MSP", made by the second step.
                path.replace("{id}", "2")
            } else {
                path.replace("{id}", "g-acme").replace("{type}", "spf")
            };
            let (status, answer, _) = b
                .bearer(auth)
                .send(method.parse().unwrap(), &concrete, body)
                .await;
            if path != "/api/openapi.json" {
                let listed = &doc["paths"][path][method.to_lowercase()]["responses"];
                assert!(
                    listed.get(status.as_str()).is_some(),
                    "{method} {path} answered {status}, not listed in its document: {listed}"
                );
            }
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
            if path == "/api/v1/billing/runs/{id}/undo" {
                // The plan, then the undo: the line the run made is cancelled.
                let plan = if method == "POST" { &answer["plan"] } else { &answer };
                assert_eq!(plan["changes"][0]["change"]["kind"], "cancel", "{answer}");
                if method == "POST" {
                    assert_eq!(answer["done"]["cancel"], 1, "{answer}");
                    assert_eq!(answer["undoes"].to_string(), run_id, "{answer}");
                }
            }
        }
        let (status, body, _) = b
            .call(reqwest::Method::GET, "/api/v1/nowhere", None, None)
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
        let (status, _, _) = b.bearer(OPERATOR).delete("/api/v1/tenants").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wizards_pickers_search_connectwise() {
    with_acme(FIRST_DATABASE, async |w, b, token, _| {
        let acme = b.bearer(token);
        acme.put("/api/v1/connection", w.input.clone()).await;
        let get = |path| acme.get(path);

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
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_id_or_query_gets_a_json_error() {
    with_acme(FIRST_DATABASE, async |_, b, token, _| {
        for path in [
            "/api/v1/alerts/abc",
            "/api/v1/billing/plan?full=yes",
            "/api/v1/billing/runs/x",
        ] {
            let (status, body, _) = b.bearer(token).get(path).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
            assert_eq!(body["error"]["code"], "invalid_field", "{path}: {body}");
            assert!(body["error"]["field"].is_string(), "{path}: {body}");
        }
    })
    .await;
}
