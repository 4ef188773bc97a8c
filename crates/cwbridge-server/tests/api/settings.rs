//! `/api/v1/settings`: one tenant's settings read as a document and applied to another on the
//! same ConnectWise; a dry run and a refused document (422 or 400, naming the field by its
//! path) write nothing.

use super::*;

/// Acme's set-up through the API, as the wizard makes it; the key travels only through
/// `PUT /api/v1/connection`.
fn set_up_calls(w: &World) -> Vec<(&'static str, Value)> {
    vec![
        ("/api/v1/connection", w.input.clone()),
        (
            "/api/v1/accounts/g-acme",
            json!({"name": "Acme Corporation", "units": ["acme.example"], "alertTypes": ["spf"]}),
        ),
        ("/api/v1/accounts/g-acme/mapping", json!({"companyId": 1})),
        (
            "/api/v1/billing",
            json!({"product": "DMARC-MONITOR", "agreementType": "Managed Services", "mode": "bundled"}),
        ),
        (
            "/api/v1/tickets",
            json!({"board": "Help Desk", "status": "New", "priority": "Priority 3 - Normal Response", "type": "Alert"}),
        ),
        ("/api/v1/accounts/g-acme/alerts", json!({"types": ["spf"]})),
        (
            "/api/v1/alert-types/spf",
            json!({"recurAfterClose": "reopen"}),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_read_from_one_tenant_apply_to_another_and_read_back_the_same() {
    with_acme(EVERY_DATABASE, async |w, b, token, db| {
        // Arrange: Acme set up; Beta connected with the same key and its account pushed.
        let (acme, beta_token) = (b.bearer(token), b.tenant("Beta MSP").await);
        let beta = b.bearer(&beta_token);
        for (path, body) in set_up_calls(w) {
            let (status, answer, _) = acme.put(path, body).await;
            assert!(status.is_success(), "{path}: {answer}");
        }
        for (path, body) in &set_up_calls(w)[..2] {
            let (status, answer, _) = beta.put(path, body.clone()).await;
            assert!(status.is_success(), "{path}: {answer}");
        }
        let (status, doc, text) = acme.get("/api/v1/settings").await;
        assert_eq!(status, StatusCode::OK, "{}: {doc}", db.label);
        assert!(!text.contains(&w.private_key), "the private key came out");
        assert_eq!(doc["mappings"][0]["companyId"], 1, "{doc:#}");
        let (_, beta_before, _) = beta.get("/api/v1/settings").await;
        let (_, api, _) = b
            .call(reqwest::Method::GET, "/api/openapi.json", None, None)
            .await;
        let put = &api["paths"]["/api/v1/settings"]["put"];
        assert_eq!(put["parameters"][0]["name"], "dryRun", "{put:#}");

        // A dry run and refused documents write nothing.
        let (status, diff, _) = beta.put("/api/v1/settings?dryRun=true", doc.clone()).await;
        assert_eq!((status, &diff["applied"]), (StatusCode::OK, &json!(false)));
        assert_eq!(diff["sections"][0]["state"], "unchanged", "{diff:#}");
        assert_eq!(diff["sections"][3]["changes"][0]["kind"], "added");
        let refusals: [(&str, Value, &str, StatusCode); 4] = [
            (
                "/mappings/0/account",
                json!("g-nobody"),
                "mappings[0].account",
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "/mappings/0/companyId",
                json!(999_999),
                "mappings[0].companyId",
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "/billing/product",
                json!("NO-SUCH-PRODUCT"),
                "billing.product",
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "/tickets/color",
                json!("red"),
                "tickets.color",
                StatusCode::BAD_REQUEST,
            ),
        ];
        for (pointer, value, field, expected) in refusals {
            let mut refused = doc.clone();
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            refused.pointer_mut(parent).unwrap()[key] = value;
            let (status, answer, _) = beta.put("/api/v1/settings", refused).await;
            assert_eq!(status, expected, "{field}: {answer}");
            assert_eq!(answer["error"]["field"], field, "{answer}");
            let (_, after, _) = beta.get("/api/v1/settings").await;
            assert_eq!(after, beta_before, "{field}: nothing written");
        }

        // Act
        let (status, diff, _) = beta.put("/api/v1/settings", doc.clone()).await;

        // Assert
        assert_eq!(
            (status, &diff["applied"]),
            (StatusCode::OK, &json!(true)),
            "{diff:#}"
        );
        let (_, after, _) = beta.get("/api/v1/settings").await;
        assert_eq!(after, doc, "{}", db.label);
    })
    .await;
}
