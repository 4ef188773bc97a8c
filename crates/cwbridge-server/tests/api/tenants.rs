//! Tenants through the API: connecting, seeing only their own records, tokens checked,
//! rotated and revoked by the operator.

use super::*;

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
