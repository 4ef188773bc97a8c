//! Alerts through the API: idempotency keys, limits, a full queue, paging by cursor, and the
//! accounts limit.

use super::*;

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
    with_acme(EVERY_DATABASE, async |_, b, token, db| {
        let alert = json!({"account": "g-acme", "type": "dmarc", "key": "k", "summary": "Changed", "description": "d"});

        let first = post_alert(b, token, Some("send-1"), &alert).await;
        assert_eq!(first.status(), StatusCode::ACCEPTED);
        assert!(first.headers().get("idempotent-replayed").is_none());
        let first: Value = first.json().await.unwrap();

        // The answer was lost; the vendor sends again, eight times at once.
        let resends = futures_util::future::join_all(
            (0..8).map(|_| post_alert(b, token, Some("send-1"), &alert)),
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
            (0..8).map(|_| post_alert(b, token, Some("send-2"), &alert)),
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
        let r = post_alert(b, token, Some("send-1"), &other).await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let (_, list, _) = b.bearer(token).get("/api/v1/alerts").await;
        assert_eq!(list.as_array().unwrap().len(), 2, "{list:#}");

        // After a restart (a new server and engine on the same database) the key still holds.
        let restarted = bridge_with_limits(db, Limits::default()).await;
        let r = post_alert(&restarted, token, Some("send-1"), &alert).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        assert_eq!(r.json::<Value>().await.unwrap()["id"], first["id"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_over_a_limit_are_refused_naming_the_field_and_store_nothing() {
    with_acme(EVERY_DATABASE, async |_, b, token, db| {
        let long = "x".repeat(1_001);
        let r = post_alert(
            b,
            token,
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
            b,
            token,
            Some("bad key"),
            &json!({"account": "g", "type": "t", "summary": "s", "description": "d"}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

        let units: Vec<String> = (0..10_001).map(|i| format!("d{i}.example")).collect();
        let acme = b.bearer(token);
        let big = json!({"name": "Big", "units": units});
        let (status, body, _) = acme.put("/api/v1/accounts/big", big).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "units");

        let (_, list, _) = acme.get("/api/v1/alerts").await;
        assert_eq!(list, json!([]), "{}", db.label);
        let (_, accounts, _) = acme.get("/api/v1/accounts").await;
        assert!(!accounts.to_string().contains("\"big\""), "{accounts}");

        // A body past the API's limit is 413, not 400 (the server then closes the
        // connection, as it has not read the rest).
        let huge = json!({"account": "g", "type": "t", "summary": "s", "description": "x".repeat(3 << 20)});
        let r = post_alert(b, token, None, &huge).await;
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_429_with_retry_after() {
    let limit = |l: &mut Limits| l.queued_alerts_per_tenant = 3;
    with_limited_acme(limit, async |b, token, db| {
        let other = b.tenant("Other MSP").await;
        let alert = json!({"account": "g", "type": "t", "summary": "s", "description": "d"});
        for _ in 0..3 {
            assert_eq!(
                post_alert(b, token, None, &alert).await.status(),
                StatusCode::ACCEPTED
            );
        }
        let r = post_alert(b, token, None, &alert).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{}", db.label);
        assert!(r.headers().get("retry-after").is_some());
        // Another tenant's queue is its own.
        assert_eq!(
            post_alert(b, &other, None, &alert).await.status(),
            StatusCode::ACCEPTED
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_listed_in_pages_by_cursor_and_filtered() {
    with_acme(EVERY_DATABASE, async |_, b, token, db| {
        let mut sent = Vec::new();
        for i in 0..5 {
            let kind = if i % 2 == 0 { "dmarc" } else { "spf" };
            let r = post_alert(
                b,
                token,
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
                .bearer_auth(token)
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

        let acme = b.bearer(token);
        let get = |path| acme.get(path);
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
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_past_its_accounts_limit_can_update_but_not_add() {
    let limit = |l: &mut Limits| l.accounts_per_tenant = 2;
    with_limited_acme(limit, async |b, token, db| {
        let acme = b.bearer(token);
        let put = async |id: &str| {
            let account = json!({"name": id, "units": ["u.example"]});
            acme.put(&format!("/api/v1/accounts/{id}"), account).await
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
    })
    .await;
}
