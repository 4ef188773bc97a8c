//! Authentication: Basic `companyId+publicKey:privateKey` plus `clientId`, and API versions
//! in `Accept`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::helpers::{Reply, accept_version, demo, replace};

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// Asserts a 401 with ConnectWise's error JSON; `case` names the credentials sent.
#[track_caller]
fn assert_unauthorized(case: &str, reply: &Reply) {
    assert_eq!(reply.status, 401, "{case}: {}", reply.text);
    for field in ["code", "message"] {
        assert!(
            reply.body[field].is_string(),
            "{case}: ConnectWise error JSON: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn missing_or_wrong_credentials_get_401() {
    let (sb, api) = demo().await;
    let creds = sb.admin();
    let company_and_key = format!("{}+{}", creds.company_id, creds.public_key);
    let other_company = format!("othercompany+{}", creds.public_key);
    let unknown_key = sb.credentials_for("NoSuchPublicKey1", &creds.private_key);
    for (case, client) in [
        ("no Authorization header", sb.anonymous()),
        (
            "a wrong private key",
            api.clone()
                .with_authorization(basic(&company_and_key, "not-the-private-key")),
        ),
        (
            "a wrong company id",
            api.clone()
                .with_authorization(basic(&other_company, &creds.private_key)),
        ),
        ("an unknown public key", sb.api_as(&unknown_key)),
    ] {
        let reply = client.get("service/tickets").await;
        assert_unauthorized(case, &reply);
    }
}

#[tokio::test]
async fn correct_keys_without_a_client_id_header_get_401() {
    let (_sb, api) = demo().await;
    let reply = api.without_client_id().get("service/tickets").await;
    assert_unauthorized("no clientId", &reply);
    assert!(reply.message().contains("clientId"), "{}", reply.text);
}

#[tokio::test]
async fn the_company_id_in_the_user_name_is_case_insensitive() {
    let (sb, api) = demo().await;
    let creds = sb.admin();
    let upper_case = format!("{}+{}", creds.company_id.to_uppercase(), creds.public_key);
    let api = api.with_authorization(basic(&upper_case, &creds.private_key));
    api.get_expecting("system/info", 200).await;
}

#[tokio::test]
async fn a_member_and_key_created_through_the_api_can_authenticate() {
    // Arrange: POST system/members, then POST system/members/{id}/tokens.
    let (sb, api) = demo().await;
    let (member_id, creds) = sb.api_member("IntegrationBot", "Admin").await;

    // Act
    let reply = sb.api_as(&creds).get("system/info").await;

    // Assert
    reply.expect_status(200);
    let me = api.fetch(&format!("system/members/{member_id}")).await;
    assert_eq!(me["identifier"], "IntegrationBot");
    assert_eq!(me["licenseClass"], "A");
}

#[tokio::test]
async fn a_new_key_private_part_is_shown_only_in_the_token_answer() {
    // Arrange
    let (sb, api) = demo().await;
    let (member_id, creds) = sb.api_member("KeyHolder", "Admin").await;

    // Act
    let one = format!("system/members/{member_id}");
    let member = api.get_expecting(&one, 200).await;
    let members = api.get_expecting("system/members", 200).await;

    // Assert
    for reply in [member, members] {
        assert!(!reply.text.contains(&creds.private_key), "{}", reply.url);
    }
}

#[tokio::test]
async fn an_accept_header_naming_a_supported_version_is_honoured() {
    let (_sb, api) = demo().await;
    // One version, or a list of media types with the version on one of them, as
    // connectwise-rest sends it.
    let pinned = accept_version("2020.4");
    let listed = format!("{}, application/json", accept_version("2021.1"));
    let reversed = format!("application/json, {}", accept_version("2021.1"));
    for accept in [&pinned, "*/*", "application/json", &listed, &reversed] {
        api.get_with("service/boards", &[("Accept", accept)])
            .await
            .expect_status(200);
    }
}

#[tokio::test]
async fn an_accept_header_naming_an_unsupported_version_gets_400_naming_the_supported_range() {
    // Arrange
    let (_sb, api) = demo().await;
    let unsupported = format!("{}, application/json", accept_version("9999.1"));

    // Act
    let reply = api
        .get_with("service/boards", &[("Accept", &unsupported)])
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
    let (sb, api) = demo().await;
    let (member, creds) = sb.api_member("Leaver", "Admin").await;
    let leaver = sb.api_as(&creds);
    leaver.get_expecting("system/info", 200).await;

    // Act
    let inactive = replace("inactiveFlag", serde_json::json!(true));
    api.update(&format!("system/members/{member}"), inactive)
        .await;

    // Assert
    let reply = leaver.get("system/info").await;
    assert_unauthorized("an inactive member's key", &reply);
}
