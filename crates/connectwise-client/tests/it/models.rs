//! The models agree with the reference schema, read every record the sandbox serves without
//! losing a field, and keep fields they do not know.

use std::path::Path;

use connectwise_client::models::{self, Model};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use connectwise_client::Client;

use crate::helpers::{Site, raw_records};

/// The reference schema, as the repository keeps it (beside the sandbox that serves it).
fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../connectwise-sandbox/schema/cw-manage-schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn every_model_has_exactly_the_schemas_fields() {
    let schema = schema();
    let check = |name: &str, model: &[&str], listed: Vec<String>| {
        let model: Vec<String> = model.iter().map(|s| s.to_string()).collect();
        assert_eq!(model, listed, "{name}: regenerate with codegen/models.py");
    };
    fn one<T: Model>() -> (&'static str, &'static [&'static str]) {
        (T::SCHEMA, T::FIELDS)
    }
    let mut all = Vec::new();
    macro_rules! collect {
        ($($t:ty),*) => { $( all.push(one::<$t>()); )* };
    }
    collect!(
        models::Addition,
        models::Agreement,
        models::AgreementType,
        models::Board,
        models::BoardStatus,
        models::BoardType,
        models::CallbackEntry,
        models::CatalogItem,
        models::Company,
        models::CompanyStatus,
        models::CompanyType,
        models::Contact,
        models::Info,
        models::Member,
        models::Priority,
        models::SecurityRole,
        models::SecurityRoleSetting,
        models::ServiceNote,
        models::Ticket,
        models::Token,
        models::CompanyReference,
        models::CustomFieldValue
    );
    for (name, fields) in all {
        let listed: Vec<String> = {
            let mut v: Vec<String> = schema["components"]["schemas"][name]["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            v.sort();
            v
        };
        check(name, fields, listed);
    }
}

/// JSON as a model sees it: no nulls (a missing field and `null` are the same `None`) and
/// numbers as floats (`0` and `0.0` are the same `f64`).
fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), normalize(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Number(n) => json!(n.as_f64()),
        other => other.clone(),
    }
}

/// Reads every record at `path` as raw JSON and as a `T`: answers how many there were, after
/// asserting `T` knows every field and writes each record back unchanged.
async fn round_trips<T: Model + Serialize + DeserializeOwned>(
    client: &Client,
    path: &str,
) -> usize {
    let raw = raw_records(client, path).await;
    assert!(!raw.is_empty(), "{path} has records in the demo");
    for record in &raw {
        let typed: T = serde_json::from_value(record.clone())
            .unwrap_or_else(|e| panic!("{path}: {e}\n{record}"));
        let unknown: Vec<&String> = record
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| !T::FIELDS.contains(&k.as_str()))
            .collect();
        assert!(
            unknown.is_empty(),
            "{path}: the {} model lacks {unknown:?}",
            T::SCHEMA
        );
        let back = serde_json::to_value(&typed).unwrap();
        assert_eq!(
            normalize(&back),
            normalize(record),
            "{path}: a {} lost or changed a field",
            T::SCHEMA
        );
    }
    raw.len()
}

/// The id of the first record at `path`.
async fn first_id(client: &Client, path: &str) -> i64 {
    let raw = raw_records(client, path).await;
    raw[0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{path}: {}", raw[0]))
}

#[tokio::test]
async fn every_record_the_sandbox_serves_reads_and_writes_back_unchanged() {
    let site = Site::demo().await;
    let client = site.client();
    let ticket = first_id(&client, "service/tickets").await;
    let agreement = first_id(&client, "finance/agreements").await;
    let board = first_id(&client, "service/boards").await;
    let role = first_id(&client, "system/securityroles").await;
    // A record on each path the demo leaves empty.
    let note = models::ServiceNote {
        text: Some("note".into()),
        detail_description_flag: Some(true),
        ..Default::default()
    };
    let addition = models::Addition {
        product: Some(models::IvItemReference {
            identifier: Some("DMARC-MONITOR".into()),
            ..Default::default()
        }),
        quantity: Some(3.0),
        bill_customer: Some("Billable".into()),
        ..Default::default()
    };
    let callback = models::CallbackEntry {
        url: Some("https://vendor.example/hook".into()),
        object_id: Some(1),
        r#type: Some("ticket".into()),
        level: Some("owner".into()),
        ..Default::default()
    };
    tokio::try_join!(
        client.service().ticket_notes(ticket).create(&note),
        client.finance().additions(agreement).create(&addition),
        client.system().callbacks().create(&callback),
    )
    .unwrap();
    let c = &client;
    round_trips::<models::Company>(c, "company/companies").await;
    round_trips::<models::CompanyStatus>(c, "company/companies/statuses").await;
    round_trips::<models::CompanyType>(c, "company/companies/types").await;
    round_trips::<models::Contact>(c, "company/contacts").await;
    round_trips::<models::Agreement>(c, "finance/agreements").await;
    round_trips::<models::Addition>(c, &format!("finance/agreements/{agreement}/additions")).await;
    round_trips::<models::AgreementType>(c, "finance/agreements/types").await;
    round_trips::<models::CatalogItem>(c, "procurement/catalog").await;
    round_trips::<models::Board>(c, "service/boards").await;
    round_trips::<models::BoardStatus>(c, &format!("service/boards/{board}/statuses")).await;
    round_trips::<models::BoardType>(c, &format!("service/boards/{board}/types")).await;
    round_trips::<models::Priority>(c, "service/priorities").await;
    round_trips::<models::Ticket>(c, "service/tickets").await;
    round_trips::<models::ServiceNote>(c, &format!("service/tickets/{ticket}/notes")).await;
    round_trips::<models::Member>(c, "system/members").await;
    round_trips::<models::SecurityRole>(c, "system/securityroles").await;
    round_trips::<models::SecurityRoleSetting>(c, &format!("system/securityRoles/{role}/settings"))
        .await;
    round_trips::<models::CallbackEntry>(c, "system/callbacks").await;
    let info = client.system().info().await.unwrap();
    assert!(
        info.extra.is_empty(),
        "system/info fields the model lacks: {:?}",
        info.extra
    );
}

#[test]
fn fields_a_model_does_not_know_are_kept() {
    let sent = json!({"id": 7, "summary": "x", "fieldFromTheFuture": {"a": [1, 2]}});
    let ticket: models::Ticket = serde_json::from_value(sent.clone()).unwrap();
    assert_eq!(ticket.extra["fieldFromTheFuture"], json!({"a": [1, 2]}));
    assert_eq!(
        normalize(&serde_json::to_value(&ticket).unwrap()),
        normalize(&sent)
    );
}
