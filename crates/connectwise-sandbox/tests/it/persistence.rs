//! A sandbox with a state directory survives a restart: records, admin credentials,
//! certificate and id sequences, with no private API key written to the state files.

use std::path::Path;

use connectwise_sandbox::{Credentials, SandboxConfig, Seed};
use serde_json::{Value, json};

use crate::helpers::TestSandbox;

async fn start_in(dir: &Path) -> TestSandbox {
    TestSandbox::start(SandboxConfig {
        state_dir: Some(dir.to_owned()),
        seed: Some(Seed::Demo),
        ..SandboxConfig::ephemeral()
    })
    .await
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[tokio::test]
async fn records_credentials_and_certificate_survive_a_restart() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let first = start_in(dir.path()).await;
    let api = first.api();
    let company = api
        .create(
            "company/companies",
            json!({"identifier": "Durable", "name": "Durable Inc"}),
        )
        .await;
    let ticket = api
        .create(
            "service/tickets",
            json!({"summary": "Survives", "board": {"name": "Help Desk"}, "company": {"identifier": "Durable"}}),
        )
        .await;
    let doomed = api
        .create(
            "company/companies",
            json!({"identifier": "Doomed", "name": "Doomed"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    api.delete(&format!("company/companies/{doomed}"))
        .await
        .expect_status(204);
    let companies_before = api.list("company/companies?pageSize=1000").await;
    let creds_before = first.admin().clone();
    let cert_before = first.sandbox.ca_pem().unwrap().to_owned();
    first.sandbox.stop().await;

    // Act
    let second = start_in(dir.path()).await;
    let api = second.api();

    // Assert: the records…
    let ticket_id = ticket["id"].as_i64().unwrap();
    let ticket_after = api.fetch(&format!("service/tickets/{ticket_id}")).await;
    assert_eq!(ticket_after["summary"], "Survives");
    assert_eq!(ticket_after["company"]["id"], company["id"]);
    let by_company = api
        .list(&format!(
            "service/tickets?conditions=company/id={}",
            company["id"]
        ))
        .await;
    assert_eq!(
        crate::helpers::ids(&by_company),
        vec![ticket_id],
        "a reloaded record is found by its references"
    );
    let companies_after = api.list("company/companies?pageSize=1000").await;
    let strip_links = |items: &[Value]| -> Vec<Value> {
        items.iter().map(|i| json!({"id": i["id"], "identifier": i["identifier"], "_info": {"lastUpdated": i["_info"]["lastUpdated"]}})).collect()
    };
    assert_eq!(
        strip_links(&companies_after),
        strip_links(&companies_before)
    );
    // …the admin credentials and certificate…
    let creds_after = second.admin();
    assert_eq!(creds_after.company_id, creds_before.company_id);
    assert_eq!(creds_after.public_key, creds_before.public_key);
    assert_eq!(creds_after.private_key, creds_before.private_key);
    assert_eq!(creds_after.client_id, creds_before.client_id);
    assert_eq!(second.sandbox.ca_pem().unwrap(), cert_before);
    assert_eq!(read(dir.path(), "cert.pem"), cert_before);
    // …and new ids continue after the old ones, deleted ones included.
    let next = api
        .create(
            "company/companies",
            json!({"identifier": "After", "name": "After Restart"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    assert!(next > doomed, "id {next} must come after {doomed}");
    let next_ticket = api
        .create(
            "service/tickets",
            json!({"summary": "Next", "board": {"name": "Help Desk"}, "company": {"id": next}}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    assert!(next_ticket > ticket_id);
    second.sandbox.stop().await;
}

#[tokio::test]
async fn credentials_json_holds_working_keys_for_the_current_site() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let first = start_in(dir.path()).await;
    first.sandbox.stop().await;
    let second = start_in(dir.path()).await;

    // Act
    let file: Value = serde_json::from_str(&read(dir.path(), "credentials.json")).unwrap();

    // Assert
    for key in ["site", "companyId", "publicKey", "privateKey", "clientId"] {
        assert!(
            file[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key} in {file}"
        );
    }
    assert_eq!(
        file["site"],
        second.admin().site,
        "the site is the running sandbox's"
    );
    let creds: Credentials = serde_json::from_value(file).unwrap();
    second
        .api_as(&creds)
        .get("system/info")
        .await
        .expect_status(200);
    second.sandbox.stop().await;
}

#[tokio::test]
async fn no_private_key_is_written_to_the_state_files() {
    // Arrange: the admin key plus a key made through the API.
    let dir = tempfile::tempdir().unwrap();
    let sb = start_in(dir.path()).await;
    let (_, member) = sb.api_member("Keyed", "Admin").await;
    let admin_key = sb.admin().private_key.clone();

    // Act / Assert: the journal as it is written…
    let journal = read(dir.path(), "journal.jsonl");
    assert!(
        journal.contains(&member.public_key),
        "the journal holds the new key's record"
    );
    for secret in [&admin_key, &member.private_key] {
        assert!(
            !journal.contains(secret.as_str()),
            "a private key in journal.jsonl"
        );
    }
    // …and the snapshot written on stop.
    sb.sandbox.stop().await;
    let state = read(dir.path(), "state.json");
    assert!(
        state.contains(&member.public_key),
        "the snapshot holds the key record"
    );
    for secret in [&admin_key, &member.private_key] {
        assert!(
            !state.contains(secret.as_str()),
            "a private key in state.json"
        );
    }
    let journal = read(dir.path(), "journal.jsonl");
    assert!(!journal.contains(&member.private_key));

    // The new member's key still works after the restart.
    let again = start_in(dir.path()).await;
    again
        .api_as(&member)
        .get("system/info")
        .await
        .expect_status(200);
    again.sandbox.stop().await;
}
