//! Tenants through the API: connecting, seeing only their own records, tokens checked,
//! rotated and revoked by the operator.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_connects_and_is_told_its_role_is_complete() {
    with_acme(EVERY_DATABASE, async |w, b, token, db| {
        let acme = b.bearer(token);

        let (status, body, text) = acme.put("/api/v1/connection", w.input.clone()).await;

        assert_eq!(status, StatusCode::OK, "{}: {body}", db.label);
        assert_eq!(body["check"]["ok"], true, "{body:#}");
        assert_eq!(body["connection"]["companyId"], w.input["companyId"]);
        assert!(!text.contains(&w.private_key), "the private key came back");
        let (_, shown, text) = acme.get("/api/v1/connection").await;
        assert_eq!(shown["check"], body["check"]);
        assert!(!text.contains(&w.private_key));
        let (status, again, _) = acme.post("/api/v1/connection/check").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(again["ok"], true);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_cannot_see_each_other_and_tokens_are_checked() {
    with_acme(EVERY_DATABASE, async |w, b, a, db| {
        let other = b.tenant("Beta MSP").await;
        b.bearer(a).put("/api/v1/connection", w.input.clone()).await;

        let (status, body, _) = b.bearer(&other).get("/api/v1/connection").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{}: {body}", db.label);
        assert_eq!(body["error"]["code"], "not_found");

        for token in [None, Some("cwb_forged"), Some(OPERATOR)] {
            let (status, body, _) = b
                .call(reqwest::Method::GET, "/api/v1/connection", token, None)
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}: {body}");
            assert_eq!(body["error"]["code"], "unauthenticated");
        }
        assert_eq!(
            b.bearer(a).get("/api/v1/tenants").await.0,
            StatusCode::UNAUTHORIZED,
            "a tenant token is not the operator's"
        );
        let (status, list, _) = b.bearer(OPERATOR).get("/api/v1/tenants").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list.as_array().unwrap().len(), 2);
        assert!(!list.to_string().contains(a), "tokens are never listed");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_tenant_reaches_anothers_accounts_alerts_or_runs() {
    with_acme(EVERY_DATABASE, async |w, b, a, db| {
        let other = b.tenant("Beta MSP").await;
        let (acme, beta) = (b.bearer(a), b.bearer(&other));
        // Acme's data: a connection, an account, billing, a run, an alert.
        for (path, body) in [
            ("/api/v1/connection", w.input.clone()),
            (
                "/api/v1/accounts/g-acme",
                json!({"name": "Acme", "units": ["acme.example"]}),
            ),
            ("/api/v1/accounts/g-acme/mapping", json!({"companyId": 1})),
            (
                "/api/v1/billing",
                json!({"product": "DMARC-MONITOR", "agreementType": "Managed Services", "mode": "bundled"}),
            ),
        ] {
            let (status, answer, _) = acme.put(path, body).await;
            assert!(status.is_success(), "{path}: {answer}");
        }
        let (_, run, _) = acme.post("/api/v1/billing/apply").await;
        let alert = json!({"account": "g-acme", "type": "spf", "summary": "s", "description": "d"});
        let (_, alert, _) = acme
            .send(reqwest::Method::POST, "/api/v1/alerts", Some(alert))
            .await;

        // Beta sees none of it and can change none of it.
        for path in ["/api/v1/accounts", "/api/v1/alerts", "/api/v1/billing/runs"] {
            let (_, listed, _) = beta.get(path).await;
            assert_eq!(listed, json!([]), "{}: {path}", db.label);
        }
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
                reqwest::Method::POST,
                format!("/api/v1/billing/runs/{}/undo", run["runId"]),
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
            let (status, answer, _) = beta.send(method.clone(), &path, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
        }
        let (_, still, _) = acme.get("/api/v1/accounts").await;
        assert_eq!(
            still[0]["mapping"]["companyId"], 1,
            "Acme's mapping is untouched"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_rotates_and_revokes_a_tenants_token() {
    with_acme(EVERY_DATABASE, async |_, b, old, db| {
        let operator = b.bearer(OPERATOR);
        let (_, list, _) = operator.get("/api/v1/tenants").await;
        let id = list[0]["id"].as_i64().unwrap();
        let path = format!("/api/v1/tenants/{id}/token");
        let accounts = async |token: &str| b.bearer(token).get("/api/v1/accounts").await.0;

        // Only the operator may.
        let (status, _, _) = b.bearer(old).post(&path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        let (status, body, _) = operator.post(&path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let new = body["token"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        assert_eq!(
            accounts(old).await,
            StatusCode::UNAUTHORIZED,
            "{}: the old token still works",
            db.label
        );
        assert_eq!(accounts(&new).await, StatusCode::OK);

        assert_eq!(operator.delete(&path).await.0, StatusCode::NO_CONTENT);
        assert_eq!(
            accounts(&new).await,
            StatusCode::UNAUTHORIZED,
            "{}: a disabled tenant's token works",
            db.label
        );

        let (status, _, _) = operator.post("/api/v1/tenants/999999/token").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}
