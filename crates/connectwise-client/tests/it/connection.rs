//! Discovery, upgrades, the pinned version and authentication.

use connectwise_client::models::{Member, SecurityRole, SecurityRoleReference};
use connectwise_client::{Error, ErrorKind};

use crate::helpers::{Site, assert_error};

#[tokio::test]
async fn the_codebase_comes_from_companyinfo() {
    let site = Site::demo_with(|config| config.codebase = "v2025_1/".into()).await;
    let client = site.client();
    assert_eq!(client.codebase().await.unwrap(), "v2025_1/");
    let boards = client.service().boards().list().send().await.unwrap();
    assert!(!boards.is_empty());
}

#[tokio::test]
async fn an_upgrade_that_moves_the_codebase_is_followed() {
    // Arrange
    let site = Site::demo().await;
    let client = site.client();
    let before = client.company().companies().list().send().await.unwrap();

    // Act: ConnectWise upgrades; the old path starts answering 404.
    site.sandbox.upgrade("v2026_1/");
    let after = client.company().companies().list().send().await.unwrap();

    // Assert: the same records (their `_info` links now name the new codebase).
    let ids = |list: &[connectwise_client::models::Company]| -> Vec<Option<i64>> {
        list.iter().map(|c| c.id).collect()
    };
    assert_eq!(ids(&after), ids(&before));
    assert_eq!(client.codebase().await.unwrap(), "v2026_1/");
}

#[tokio::test]
async fn an_unknown_company_id_is_a_config_error_naming_it() {
    let site = Site::demo().await;
    let client = site.client_as(|creds| creds.company_id = "nosuchmsp".into());
    let err = client.service().boards().list().send().await.unwrap_err();
    assert_error(&err, ErrorKind::Config, "nosuchmsp");
}

#[tokio::test]
async fn a_wrong_private_key_is_an_authentication_error_that_does_not_print_it() {
    let site = Site::demo().await;
    let client = site.client_as(|creds| creds.private_key = "WrongWrongWrong1".into());
    let err = client.service().tickets().get(1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    let text = err.to_string();
    assert!(text.contains("GET service/tickets/1"), "{text}");
    assert!(!text.contains("WrongWrongWrong1"), "{text}");
    assert!(
        err.request().unwrap().request_id.is_some(),
        "ConnectWise's request id is kept for support"
    );
}

#[tokio::test]
async fn a_role_without_a_permission_gets_a_permission_error_naming_it() {
    // Arrange: a role with no permissions, a member holding it and a key, all made through
    // the client.
    let site = Site::demo().await;
    let admin = site.client();
    let role = admin
        .system()
        .security_roles()
        .create(&SecurityRole {
            name: Some("Nothing".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let member = admin
        .system()
        .members()
        .create(&Member {
            identifier: Some("NoRights".into()),
            first_name: Some("No".into()),
            last_name: Some("Rights".into()),
            office_email: Some("norights@example.test".into()),
            license_class: Some("A".into()),
            security_role: Some(SecurityRoleReference {
                id: role.id,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let key = admin
        .system()
        .create_api_key(member.id.unwrap(), "tests")
        .await
        .unwrap();
    let client = site.client_as(|creds| {
        creds.public_key = key.public_key.unwrap();
        creds.private_key = key.private_key.unwrap();
    });

    // Act
    let err = client.service().tickets().list().send().await.unwrap_err();

    // Assert
    assert_error(&err, ErrorKind::Permission, "Service Tickets");
}

#[tokio::test]
async fn the_pinned_api_version_is_sent_and_an_unsupported_one_is_refused() {
    let site = Site::demo().await;
    let priorities = async |version: &str| {
        let client = site.client_with(|b| b.api_version(version));
        client.service().priorities().list().send().await
    };
    priorities("2019.1").await.unwrap();
    let err = priorities("1999.1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(err.code(), Some("InvalidVersion"));
    assert!(matches!(err, Error::Api { .. }));
}

#[tokio::test]
async fn system_info_answers_the_version() {
    let site = Site::demo().await;
    let info = site.client().system().info().await.unwrap();
    assert!(info.version.is_some_and(|v| !v.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_during_an_upgrade_all_follow_it() {
    // Arrange: a client that knows the old codebase, then the upgrade.
    let site = Site::demo().await;
    let client = site.client();
    client.codebase().await.unwrap();
    site.sandbox.upgrade("v2026_1/");

    // Act: several requests at once, all sent to the old path first.
    let tickets = client.service().tickets();
    let results = futures_util::future::join_all((1..=6).map(|id| tickets.get(id))).await;

    // Assert
    for r in results {
        r.unwrap();
    }
    assert_eq!(client.codebase().await.unwrap(), "v2026_1/");
}
