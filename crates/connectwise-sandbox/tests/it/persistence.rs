//! A sandbox with a state directory survives a restart: records, admin credentials,
//! certificate and id sequences, with no private API key written to the state files.

use std::path::Path;

use connectwise_sandbox::{Credentials, SandboxConfig, Seed};
use serde_json::{Value, json};

use crate::helpers::{TestSandbox, ids, seeded, ticket_body};

async fn start_in(dir: &Path) -> TestSandbox {
    TestSandbox::start(SandboxConfig {
        state_dir: Some(dir.to_owned()),
        ..seeded(Seed::Demo)
    })
    .await
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Asserts that the state file `file` holds the key record `public_key` but none of the
/// private keys `secrets`.
#[track_caller]
fn assert_holds_no_private_key(dir: &Path, file: &str, public_key: &str, secrets: &[&str]) {
    let text = read(dir, file);
    assert!(
        text.contains(public_key),
        "{file} holds the new key's record"
    );
    for secret in secrets {
        assert!(!text.contains(secret), "a private key in {file}");
    }
}

/// Asserts that these credentials work against `sb`.
async fn assert_can_call(sb: &TestSandbox, creds: &Credentials) {
    sb.api_as(creds).get_expecting("system/info", 200).await;
}

#[tokio::test]
async fn records_credentials_and_certificate_survive_a_restart() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let first = start_in(dir.path()).await;
    let api = first.api();
    let durable = json!({"identifier": "Durable", "name": "Durable Inc"});
    let company = api.create("company/companies", durable).await;
    let mut survives = ticket_body("Survives");
    survives["company"] = json!({"identifier": "Durable"});
    let ticket = api.create("service/tickets", survives).await;
    let doomed = json!({"identifier": "Doomed", "name": "Doomed"});
    let doomed = api.create_id("company/companies", doomed).await;
    api.remove(&format!("company/companies/{doomed}")).await;
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
        ids(&by_company),
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
    let after = json!({"identifier": "After", "name": "After Restart"});
    let next = api.create_id("company/companies", after).await;
    assert!(next > doomed, "id {next} must come after {doomed}");
    let mut next_body = ticket_body("Next");
    next_body["company"] = json!({"id": next});
    let next_ticket = api.create_id("service/tickets", next_body).await;
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
    assert_can_call(&second, &creds).await;
    second.sandbox.stop().await;
}

#[tokio::test]
async fn no_private_key_is_written_to_the_state_files() {
    // Arrange: the admin key plus a key made through the API.
    let dir = tempfile::tempdir().unwrap();
    let sb = start_in(dir.path()).await;
    let (_, member) = sb.api_member("Keyed", "Admin").await;
    let admin_key = sb.admin().private_key.clone();
    let secrets = [admin_key.as_str(), &member.private_key];

    // Act / Assert: the journal as it is written…
    let (state, key) = (dir.path(), &member.public_key);
    assert_holds_no_private_key(state, "journal.jsonl", key, &secrets);
    // …and the snapshot written on stop.
    sb.sandbox.stop().await;
    assert_holds_no_private_key(state, "state.json", key, &secrets);
    let journal = read(state, "journal.jsonl");
    assert!(!journal.contains(&member.private_key));

    // The new member's key still works after the restart.
    let again = start_in(state).await;
    assert_can_call(&again, &member).await;
    again.sandbox.stop().await;
}
