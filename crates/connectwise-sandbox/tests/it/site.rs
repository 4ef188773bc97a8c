//! `/login/companyinfo` and how paths and query strings are read, as ConnectWise reads them.

use serde_json::{Value, json};

use crate::helpers::{demo, query};

#[tokio::test]
async fn companyinfo_describes_the_site_without_credentials() {
    // Arrange
    let (sb, _) = demo().await;

    // Act: without credentials.
    let info = sb.companyinfo("sandbox").await;

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
    let (sb, _) = demo().await;
    let info = sb.companyinfo("SandBox").await;
    assert_eq!(info.body["CompanyID"], "sandbox");
}

#[tokio::test]
async fn companyinfo_answers_json_null_for_an_unknown_company() {
    let (sb, _) = demo().await;
    let info = sb.companyinfo("nosuchcompany").await;
    assert_eq!(info.text.trim(), "null");
    assert_eq!(info.body, Value::Null);
}

#[tokio::test]
async fn the_client_base_url_built_from_companyinfo_reaches_the_api() {
    // Arrange: build the base the way clients do: https://{site}/{Codebase}apis/3.0/
    let (sb, api) = demo().await;
    let info = sb.companyinfo("sandbox").await;
    let codebase = info.str("Codebase");
    let base = format!("https://{}/{codebase}apis/3.0/", sb.admin().site);

    // Act
    let reply = api.with_base(base).get("system/info").await;

    // Assert
    reply.expect_status(200);
}

#[tokio::test]
async fn paths_are_matched_case_insensitively() {
    // Arrange
    let (sb, api) = demo().await;
    let lower = api.list("company/companies").await;

    // Act
    let upper_case = format!("{}/V4_6_RELEASE/APIS/3.0/Company/Companies", sb.origin());
    let upper = api.list(&upper_case).await;

    // Assert
    assert_eq!(upper, lower);
}

#[tokio::test]
async fn a_trailing_slash_is_accepted() {
    let (_sb, api) = demo().await;
    let plain = api.list("company/companies").await;
    let slashed = api.list("company/companies/").await;
    assert_eq!(plain, slashed);
    let id = plain[0]["id"].as_i64().unwrap();
    api.get_expecting(&format!("company/companies/{id}/"), 200)
        .await;
}

#[tokio::test]
async fn a_plus_in_the_query_string_is_a_space() {
    let (_sb, api) = demo().await;
    let plus_for_space = "company/companies?conditions=identifier+%3D+%22AcmeCorp%22";
    let hits = api.list(plus_for_space).await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["name"], "Acme Corporation");
}

#[tokio::test]
async fn unknown_query_parameters_are_ignored() {
    let (_sb, api) = demo().await;
    let conditions = [("conditions", r#"identifier = "AcmeCorp""#)];
    let unknown = query("company/companies?foo=bar", &conditions) + "&clientTrace=1";
    let hits = api.list(&unknown).await;
    assert_eq!(hits.len(), 1);
    let all = api.list("company/companies?nosuch=1").await;
    assert_eq!(all, api.list("company/companies").await);
}

#[tokio::test]
async fn create_answers_201_and_delete_answers_204_with_an_empty_body() {
    // Arrange
    let (_sb, api) = demo().await;
    let new_co = json!({"identifier": "NewCo", "name": "New Co"});

    // Act
    let created = api.post("company/companies", new_co).await;
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
    api.get_expecting(&format!("company/companies/{id}"), 404)
        .await;
}

#[tokio::test]
async fn a_missing_record_answers_404_naming_it() {
    let (_sb, api) = demo().await;
    let reply = api.get_expecting("service/tickets/999999", 404).await;
    assert_eq!(reply.message(), "Ticket Id 999999 not found");
    assert!(reply.body["code"].is_string(), "{}", reply.text);
}

#[tokio::test]
async fn an_unknown_path_answers_404() {
    let (sb, api) = demo().await;
    let under_api = api.get_expecting("service/nosuchthing", 404).await;
    let message = &under_api.body["message"];
    assert!(
        message.is_string(),
        "ConnectWise error JSON: {}",
        under_api.text
    );
    let elsewhere = format!("{}/nosuch/apis/3.0/service/tickets", sb.origin());
    api.get_expecting(&elsewhere, 404).await;
}

#[tokio::test]
async fn responses_carry_the_current_version_and_a_request_id() {
    // Arrange
    let (_sb, api) = demo().await;

    // Act
    let first = api.get_expecting("system/info", 200).await;
    let second = api.get_expecting("service/tickets/999999", 404).await;

    // Assert
    for (reply, header) in [&first, &second]
        .into_iter()
        .flat_map(|r| [(r, "api-current-version"), (r, "x-cw-request-id")])
    {
        let value = reply.header(header);
        assert!(
            value.is_some_and(|v| !v.is_empty()),
            "{header} in {:?}",
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
    let (_sb, api) = demo().await;
    let json = [("Content-Type", "application/json")];
    api.get_with("service/boards", &json)
        .await
        .expect_status(200);
    let tmp = json!({"identifier": "Tmp", "name": "Tmp"});
    let id = api.create_id("company/companies", tmp).await;
    let path = format!("company/companies/{id}");
    api.with_headers(&json)
        .call(reqwest::Method::DELETE, &path, None)
        .await
        .expect_status(204);
}
