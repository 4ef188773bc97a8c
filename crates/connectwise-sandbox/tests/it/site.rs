//! `/login/companyinfo` and how paths and query strings are read, as ConnectWise reads them.

use serde_json::{Value, json};

use crate::helpers::{TestSandbox, encode};

#[tokio::test]
async fn companyinfo_describes_the_site_without_credentials() {
    // Arrange
    let sb = TestSandbox::demo().await;
    let anonymous = sb.anonymous();

    // Act
    let info = anonymous
        .get(&format!("{}/login/companyinfo/sandbox", sb.origin()))
        .await
        .expect_status(200);

    // Assert
    let body = &info.body;
    assert_eq!(body["CompanyName"], "Sandbox MSP");
    assert_eq!(body["Codebase"], "v4_6_release/");
    assert_eq!(body["CompanyID"], "sandbox");
    assert!(
        body["VersionCode"]
            .as_str()
            .is_some_and(|v| v.starts_with('v')),
        "{body}"
    );
    assert!(
        body["VersionNumber"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "{body}"
    );
    assert!(body["IsCloud"].is_boolean(), "{body}");
    let port = sb.sandbox.addr().port().to_string();
    assert!(
        body["SiteUrl"].as_str().is_some_and(|s| s.contains(&port)),
        "SiteUrl names this site: {body}"
    );
    assert!(
        info.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "companyinfo answers JSON"
    );
}

#[tokio::test]
async fn companyinfo_matches_the_company_id_case_insensitively() {
    let sb = TestSandbox::demo().await;
    let info = sb
        .anonymous()
        .get(&format!("{}/login/companyinfo/SandBox", sb.origin()))
        .await
        .expect_status(200);
    assert_eq!(info.body["CompanyID"], "sandbox");
}

#[tokio::test]
async fn companyinfo_answers_json_null_for_an_unknown_company() {
    let sb = TestSandbox::demo().await;
    let info = sb
        .anonymous()
        .get(&format!("{}/login/companyinfo/nosuchcompany", sb.origin()))
        .await
        .expect_status(200);
    assert_eq!(info.text.trim(), "null");
    assert_eq!(info.body, Value::Null);
}

#[tokio::test]
async fn the_client_base_url_built_from_companyinfo_reaches_the_api() {
    // Arrange: build the base the way clients do: https://{site}/{Codebase}apis/3.0/
    let sb = TestSandbox::demo().await;
    let info = sb
        .anonymous()
        .get(&format!("{}/login/companyinfo/sandbox", sb.origin()))
        .await
        .body;
    let base = format!(
        "https://{}/{}apis/3.0/",
        sb.admin().site,
        info["Codebase"].as_str().unwrap()
    );

    // Act
    let reply = sb.api().with_base(base).get("system/info").await;

    // Assert
    reply.expect_status(200);
}

#[tokio::test]
async fn paths_are_matched_case_insensitively() {
    // Arrange
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let lower = api.list("company/companies").await;

    // Act
    let upper = api
        .get(&format!(
            "{}/V4_6_RELEASE/APIS/3.0/Company/Companies",
            sb.origin()
        ))
        .await
        .expect_status(200);

    // Assert
    assert_eq!(upper.items(), lower.as_slice());
}

#[tokio::test]
async fn a_trailing_slash_is_accepted() {
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let plain = api.list("company/companies").await;
    let slashed = api.list("company/companies/").await;
    assert_eq!(plain, slashed);
    let id = plain[0]["id"].as_i64().unwrap();
    api.get(&format!("company/companies/{id}/"))
        .await
        .expect_status(200);
}

#[tokio::test]
async fn a_plus_in_the_query_string_is_a_space() {
    let sb = TestSandbox::demo().await;
    let hits = sb
        .api()
        .list("company/companies?conditions=identifier+%3D+%22AcmeCorp%22")
        .await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["name"], "Acme Corporation");
}

#[tokio::test]
async fn unknown_query_parameters_are_ignored() {
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let conditions = encode("identifier = \"AcmeCorp\"");
    let hits = api
        .list(&format!(
            "company/companies?foo=bar&conditions={conditions}&clientTrace=1"
        ))
        .await;
    assert_eq!(hits.len(), 1);
    let all = api.list("company/companies?nosuch=1").await;
    assert_eq!(all, api.list("company/companies").await);
}

#[tokio::test]
async fn create_answers_201_and_delete_answers_204_with_an_empty_body() {
    // Arrange
    let sb = TestSandbox::demo().await;
    let api = sb.api();

    // Act
    let created = api
        .post(
            "company/companies",
            json!({"identifier": "NewCo", "name": "New Co"}),
        )
        .await;
    let id = created.id();
    let deleted = api.delete(&format!("company/companies/{id}")).await;

    // Assert
    assert_eq!(created.status, 201);
    assert_eq!(deleted.status, 204);
    assert!(
        deleted.text.is_empty(),
        "204 has no body: {:?}",
        deleted.text
    );
    api.get(&format!("company/companies/{id}"))
        .await
        .expect_status(404);
}

#[tokio::test]
async fn a_missing_record_answers_404_naming_it() {
    let sb = TestSandbox::demo().await;
    let reply = sb
        .api()
        .get("service/tickets/999999")
        .await
        .expect_status(404);
    assert_eq!(reply.message(), "Ticket Id 999999 not found");
    assert!(reply.body["code"].is_string(), "{}", reply.text);
}

#[tokio::test]
async fn an_unknown_path_answers_404() {
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let under_api = api.get("service/nosuchthing").await.expect_status(404);
    assert!(
        under_api.body["message"].is_string(),
        "ConnectWise error JSON: {}",
        under_api.text
    );
    api.get(&format!("{}/nosuch/apis/3.0/service/tickets", sb.origin()))
        .await
        .expect_status(404);
}

#[tokio::test]
async fn responses_carry_the_current_version_and_a_request_id() {
    // Arrange
    let sb = TestSandbox::demo().await;
    let api = sb.api();

    // Act
    let first = api.get("system/info").await.expect_status(200);
    let second = api.get("service/tickets/999999").await.expect_status(404);

    // Assert
    for reply in [&first, &second] {
        assert!(
            reply
                .header("api-current-version")
                .is_some_and(|v| !v.is_empty()),
            "{:?}",
            reply.headers
        );
        assert!(
            reply
                .header("x-cw-request-id")
                .is_some_and(|v| !v.is_empty()),
            "{:?}",
            reply.headers
        );
    }
    assert_ne!(
        first.header("x-cw-request-id"),
        second.header("x-cw-request-id"),
        "each request gets its own id"
    );
}

#[tokio::test]
async fn a_content_type_header_on_get_and_delete_is_harmless() {
    // Some clients send Content-Type: application/json on every request.
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    api.get_with("service/boards", &[("Content-Type", "application/json")])
        .await
        .expect_status(200);
    let id = api
        .create(
            "company/companies",
            json!({"identifier": "Tmp", "name": "Tmp"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    api.call(
        reqwest::Method::DELETE,
        &format!("company/companies/{id}"),
        None,
        &[("Content-Type", "application/json")],
    )
    .await
    .expect_status(204);
}
