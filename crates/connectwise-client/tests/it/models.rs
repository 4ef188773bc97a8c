//! The models agree with the reference schema, read every record the sandbox serves without
//! losing a field, and keep fields they do not know.

use std::path::Path;

use connectwise_client::models::{self, Model};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::helpers::Site;

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

async fn round_trips<T: Model + Serialize + DeserializeOwned>(site: &Site, path: &str) -> usize {
    let c = site.sandbox.credentials();
    let http = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(site.sandbox.ca_pem().unwrap().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    let raw: Vec<Value> = http
        .get(format!("{}{path}?pageSize=1000", site.sandbox.api_url()))
        .header("Authorization", c.authorization())
        .header("clientId", &c.client_id)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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

#[tokio::test]
async fn every_record_the_sandbox_serves_reads_and_writes_back_unchanged() {
    let site = Site::demo().await;
    let client = site.client();
    let ticket = client.service().tickets().list().send().await.unwrap()[0]
        .id
        .unwrap();
    client
        .service()
        .ticket_notes(ticket)
        .create(&models::ServiceNote {
            text: Some("note".into()),
            detail_description_flag: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    let agreement = client.finance().agreements().list().send().await.unwrap()[0]
        .id
        .unwrap();
    client
        .finance()
        .additions(agreement)
        .create(&models::Addition {
            product: Some(models::IvItemReference {
                identifier: Some("DMARC-MONITOR".into()),
                ..Default::default()
            }),
            quantity: Some(3.0),
            bill_customer: Some("Billable".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let board = client.service().boards().list().send().await.unwrap()[0]
        .id
        .unwrap();
    round_trips::<models::Company>(&site, "company/companies").await;
    round_trips::<models::CompanyStatus>(&site, "company/companies/statuses").await;
    round_trips::<models::CompanyType>(&site, "company/companies/types").await;
    round_trips::<models::Contact>(&site, "company/contacts").await;
    round_trips::<models::Agreement>(&site, "finance/agreements").await;
    round_trips::<models::Addition>(&site, &format!("finance/agreements/{agreement}/additions"))
        .await;
    round_trips::<models::AgreementType>(&site, "finance/agreements/types").await;
    round_trips::<models::CatalogItem>(&site, "procurement/catalog").await;
    round_trips::<models::Board>(&site, "service/boards").await;
    round_trips::<models::BoardStatus>(&site, &format!("service/boards/{board}/statuses")).await;
    round_trips::<models::BoardType>(&site, &format!("service/boards/{board}/types")).await;
    round_trips::<models::Priority>(&site, "service/priorities").await;
    round_trips::<models::Ticket>(&site, "service/tickets").await;
    round_trips::<models::ServiceNote>(&site, &format!("service/tickets/{ticket}/notes")).await;
    round_trips::<models::Member>(&site, "system/members").await;
    round_trips::<models::SecurityRole>(&site, "system/securityroles").await;
    let role = client
        .system()
        .security_roles()
        .list()
        .send()
        .await
        .unwrap()[0]
        .id
        .unwrap();
    round_trips::<models::SecurityRoleSetting>(
        &site,
        &format!("system/securityRoles/{role}/settings"),
    )
    .await;
    client
        .system()
        .callbacks()
        .create(&models::CallbackEntry {
            url: Some("https://vendor.example/hook".into()),
            object_id: Some(1),
            r#type: Some("ticket".into()),
            level: Some("owner".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    round_trips::<models::CallbackEntry>(&site, "system/callbacks").await;
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
