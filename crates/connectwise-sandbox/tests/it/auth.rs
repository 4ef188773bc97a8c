//! Authentication: Basic `companyId+publicKey:privateKey` plus `clientId`, and API versions
//! in `Accept`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::helpers::{Reply, TestSandbox, accept_version};

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

#[track_caller]
fn assert_unauthorized(reply: &Reply) {
    assert_eq!(reply.status, 401, "{}", reply.text);
    assert!(
        reply.body["code"].is_string(),
        "ConnectWise error JSON: {}",
        reply.text
    );
    assert!(
        reply.body["message"].is_string(),
        "ConnectWise error JSON: {}",
        reply.text
    );
}

#[tokio::test]
async fn a_request_without_an_authorization_header_gets_401() {
    let sb = TestSandbox::demo().await;
    let reply = sb.anonymous().get("service/tickets").await;
    assert_unauthorized(&reply);
}

#[tokio::test]
async fn a_wrong_private_key_gets_401() {
    let sb = TestSandbox::demo().await;
    let creds = sb.admin();
    let auth = basic(
        &format!("{}+{}", creds.company_id, creds.public_key),
        "not-the-private-key",
    );
    let reply = sb
        .api()
        .with_authorization(auth)
        .get("service/tickets")
        .await;
    assert_unauthorized(&reply);
}

#[tokio::test]
async fn a_wrong_company_id_gets_401() {
    let sb = TestSandbox::demo().await;
    let creds = sb.admin();
    let auth = basic(
        &format!("othercompany+{}", creds.public_key),
        &creds.private_key,
    );
    let reply = sb
        .api()
        .with_authorization(auth)
        .get("service/tickets")
        .await;
    assert_unauthorized(&reply);
}

#[tokio::test]
async fn an_unknown_public_key_gets_401() {
    let sb = TestSandbox::demo().await;
    let creds = sb.credentials_for("NoSuchPublicKey1", &sb.admin().private_key);
    let reply = sb.api_as(&creds).get("service/tickets").await;
    assert_unauthorized(&reply);
}

#[tokio::test]
async fn correct_keys_without_a_client_id_header_get_401() {
    let sb = TestSandbox::demo().await;
    let reply = sb.api().without_client_id().get("service/tickets").await;
    assert_unauthorized(&reply);
    assert!(reply.message().contains("clientId"), "{}", reply.text);
}

#[tokio::test]
async fn the_company_id_in_the_user_name_is_case_insensitive() {
    let sb = TestSandbox::demo().await;
    let creds = sb.admin();
    let auth = basic(
        &format!("{}+{}", creds.company_id.to_uppercase(), creds.public_key),
        &creds.private_key,
    );
    sb.api()
        .with_authorization(auth)
        .get("system/info")
        .await
        .expect_status(200);
}

#[tokio::test]
async fn a_member_and_key_created_through_the_api_can_authenticate() {
    // Arrange: POST system/members, then POST system/members/{id}/tokens.
    let sb = TestSandbox::demo().await;
    let (member_id, creds) = sb.api_member("IntegrationBot", "Admin").await;

    // Act
    let reply = sb.api_as(&creds).get("system/info").await;

    // Assert
    reply.expect_status(200);
    let me = sb.api().fetch(&format!("system/members/{member_id}")).await;
    assert_eq!(me["identifier"], "IntegrationBot");
    assert_eq!(me["licenseClass"], "A");
}

#[tokio::test]
async fn a_new_key_private_part_is_shown_only_in_the_token_answer() {
    // Arrange
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let (member_id, creds) = sb.api_member("KeyHolder", "Admin").await;

    // Act
    let member = api
        .get(&format!("system/members/{member_id}"))
        .await
        .expect_status(200);
    let members = api.get("system/members").await.expect_status(200);

    // Assert
    assert!(!member.text.contains(&creds.private_key));
    assert!(!members.text.contains(&creds.private_key));
}

#[tokio::test]
async fn an_accept_header_naming_a_supported_version_is_honoured() {
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    api.get_with("service/boards", &[("Accept", &accept_version("2020.4"))])
        .await
        .expect_status(200);
    // A list of media types, the version on one of them, as connectwise-rest sends it.
    let listed = format!("{}, application/json", accept_version("2021.1"));
    let reversed = format!("application/json, {}", accept_version("2021.1"));
    for plain in ["*/*", "application/json", &listed, &reversed] {
        api.get_with("service/boards", &[("Accept", plain)])
            .await
            .expect_status(200);
    }
}

#[tokio::test]
async fn an_accept_header_naming_an_unsupported_version_gets_400_naming_the_supported_range() {
    // Arrange
    let sb = TestSandbox::demo().await;
    let api = sb.api();

    // Act
    let reply = api
        .get_with(
            "service/boards",
            &[(
                "Accept",
                &format!("{}, application/json", accept_version("9999.1")),
            )],
        )
        .await
        .expect_status(400);

    // Assert
    let current = reply
        .header("api-current-version")
        .expect("errors carry api-current-version too")
        .to_owned();
    let message = reply.message();
    assert!(
        message.contains("9999.1"),
        "names the refused version: {message}"
    );
    assert!(
        message.contains(&current),
        "names the newest supported version: {message}"
    );
    let named_versions = message
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|w| w.len() >= 6 && w.contains('.') && *w != "9999.1" && *w != current)
        .count();
    assert!(
        named_versions >= 1,
        "names the oldest supported version too: {message}"
    );
}

#[tokio::test]
async fn an_inactive_members_key_gets_401() {
    // Arrange
    let sb = TestSandbox::demo().await;
    let (member, creds) = sb.api_member("Leaver", "Admin").await;
    sb.api_as(&creds)
        .get("system/info")
        .await
        .expect_status(200);

    // Act
    sb.api()
        .patch(
            &format!("system/members/{member}"),
            serde_json::json!([{"op": "replace", "path": "inactiveFlag", "value": true}]),
        )
        .await
        .expect_status(200);

    // Assert
    let reply = sb.api_as(&creds).get("system/info").await;
    assert_unauthorized(&reply);
}
