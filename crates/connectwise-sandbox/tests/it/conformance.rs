//! The validator of `schema.rs` checked on itself, then every seeded record and every record
//! written without flags or with nulls checked against the published document.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{TestSandbox, ids};
use crate::schema::*;

#[test]
fn the_validator_understands_every_keyword_the_document_uses() {
    let unknown: Vec<String> = document()
        .keywords()
        .into_iter()
        .filter(|k| !KNOWN_KEYWORDS.contains(&k.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "keywords the validator would ignore: {unknown:?}"
    );
}

#[test]
fn the_validator_catches_nulls_missing_flags_wrong_types_enums_and_dates() {
    // Arrange: a conforming priority, then broken copies of it.
    let doc = document();
    let good = serde_json::json!({
        "id": 1, "name": "P1", "color": "Red", "sortOrder": 1, "defaultFlag": false,
        "_info": {"lastUpdated": "2026-01-31T12:00:00Z"},
    });
    assert_eq!(doc.validate("Priority", &good), Ok(()));
    let broken = |field: &str, value: Value| {
        let mut v = good.clone();
        v[field] = value;
        v
    };
    let mut no_flag = good.clone();
    no_flag.as_object_mut().unwrap().remove("defaultFlag");

    // Act / Assert
    assert!(doc.validate("Priority", &no_flag).unwrap_err()[0].contains("defaultFlag"));
    assert!(
        doc.validate("Priority", &broken("imageLink", Value::Null))
            .unwrap_err()[0]
            .contains("imageLink: null")
    );
    assert!(doc.validate("Priority", &broken("id", "1".into())).is_err());
    assert!(
        doc.validate("Priority", &broken("color", "Mauve".into()))
            .is_err()
    );
    assert!(
        doc.validate("Priority", &broken("color", Value::Null))
            .is_err(),
        "color is required"
    );
    assert!(
        doc.validate("Priority", &broken("_info", serde_json::json!({"a": 1})))
            .is_err()
    );
    assert!(is_date_time("2026-01-31T12:00:00.5+02:00"));
    assert!(!is_date_time("2026-01-31 12:00"));
    assert!(!is_date_time("2026-13-31T12:00:00Z"));
}

#[test]
fn x_endpoints_name_a_model_for_concrete_paths() {
    let doc = document();
    assert_eq!(
        doc.returns(&Method::GET, "service/tickets/12/notes?pageSize=5"),
        Some(Returns::List("ServiceNote".into()))
    );
    assert_eq!(
        doc.returns(&Method::GET, "system/securityroles/3/settings/7"),
        Some(Returns::One("SecurityRoleSetting".into()))
    );
    assert_eq!(
        doc.returns(&Method::DELETE, "company/companies/4"),
        Some(Returns::Nothing)
    );
    assert_eq!(doc.returns(&Method::DELETE, "system/members/4"), None);
}

#[tokio::test]
async fn every_seeded_record_conforms_to_its_schema() {
    // Arrange
    let sb = TestSandbox::demo().await;
    let api = sb.api().conforming();

    // Act / Assert: the conforming client checks each answer.
    for path in [
        "company/companies?pageSize=1000",
        "company/companies/statuses",
        "company/companies/types",
        "company/contacts?pageSize=1000",
        "finance/agreements?pageSize=1000",
        "finance/agreements/types",
        "procurement/catalog",
        "service/boards",
        "service/priorities",
        "service/tickets",
        "system/members",
        "system/securityroles",
        "system/callbacks",
        "system/info",
    ] {
        api.get(path).await.expect_status(200);
    }
    let mut children = Vec::new();
    for board in ids(&api.list("service/boards").await) {
        children.push(format!("service/boards/{board}/statuses"));
        children.push(format!("service/boards/{board}/types"));
    }
    let ticket = api.first_id("service/tickets").await;
    children.push(format!("service/tickets/{ticket}/notes"));
    let role = api.first_id("system/securityroles").await;
    children.push(format!("system/securityRoles/{role}/settings"));
    for path in children {
        api.get_expecting(&path, 200).await;
    }
}

#[tokio::test]
async fn records_written_without_flags_or_with_nulls_read_back_as_connectwise_sends_them() {
    // Arrange: a board, a company status and an agreement type with no flag spelled out, and
    // a company whose optional fields are sent as explicit nulls.
    let sb = TestSandbox::demo().await;
    let api = sb.api().conforming();
    let board = api
        .create("service/boards", serde_json::json!({"name": "Flags"}))
        .await;
    let status = api
        .create(
            "company/companies/statuses",
            serde_json::json!({"name": "Dormant"}),
        )
        .await;
    let agreement_type = api
        .create(
            "finance/agreements/types",
            serde_json::json!({
                "name": "Flat fee", "billExpenses": "Billable", "billProducts": "Billable",
                "billTime": "Billable", "employeeCompNotExceed": "Billing",
                "employeeCompRate": "Actual", "invoicingCycle": "CalendarYear",
            }),
        )
        .await;
    let company = api
        .create(
            "company/companies",
            serde_json::json!({
                "identifier": "NullCo", "name": "Null Co",
                "site": {"name": "Main"}, "addressLine1": null, "phoneNumber": null,
            }),
        )
        .await;

    // Act: read each back, raw and through fields= projection.
    let board = api.fetch(&format!("service/boards/{}", board["id"])).await;
    let status = api
        .fetch(&format!("company/companies/statuses/{}", status["id"]))
        .await;
    let agreement_type = api
        .fetch(&format!(
            "finance/agreements/types/{}",
            agreement_type["id"]
        ))
        .await;
    let company_id = company["id"].as_i64().unwrap();
    let company = api.fetch(&format!("company/companies/{company_id}")).await;
    // A projection leaves flags out too when not asked for them: read it unchecked.
    let projected = sb
        .api()
        .fetch(&format!(
            "company/companies/{company_id}?fields=id,phoneNumber,deletedFlag"
        ))
        .await;

    // Assert: flags present and false; unset fields absent, not null.
    assert_eq!(board["projectFlag"], Value::Bool(false), "{board}");
    assert_eq!(board["inactiveFlag"], Value::Bool(false), "{board}");
    assert_eq!(status["inactiveFlag"], Value::Bool(false), "{status}");
    assert_eq!(
        agreement_type["defaultFlag"],
        Value::Bool(false),
        "{agreement_type}"
    );
    let company = company.as_object().unwrap();
    assert!(!company.contains_key("addressLine1"), "{company:?}");
    assert!(!company.contains_key("phoneNumber"), "{company:?}");
    assert!(company.values().all(|v| !v.is_null()), "{company:?}");
    assert_eq!(company["deletedFlag"], Value::Bool(false));
    assert_eq!(
        projected,
        serde_json::json!({"id": company_id, "deletedFlag": false}),
        "a projected field with no value is left out too"
    );
}
