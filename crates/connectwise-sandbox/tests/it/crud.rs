//! Every endpoint the sandbox serves: list, get, count, create, replace, patch and delete as
//! each offers them. All calls go through the conforming client, so every answer (each item
//! of a list) is checked against the model the reference's `x-endpoints` names.

use serde_json::{Value, json};

use crate::helpers::{Api, TestSandbox, unique};
use crate::schema;

/// Asserts that `record` holds `expected`: objects field by field (a subset), the rest equal.
#[track_caller]
pub fn assert_holds(record: &Value, expected: &Value) {
    match (record, expected) {
        (Value::Object(r), Value::Object(e)) => {
            for (k, v) in e {
                let got = r
                    .get(k)
                    .unwrap_or_else(|| panic!("{k} missing from {record}"));
                assert_holds(got, v);
            }
        }
        (Value::Array(r), Value::Array(e)) => {
            assert_eq!(r.len(), e.len(), "{record} vs {expected}");
            for (g, x) in r.iter().zip(e) {
                assert_holds(g, x);
            }
        }
        (Value::Number(r), Value::Number(e)) => {
            assert_eq!(r.as_f64(), e.as_f64(), "{record} vs {expected}");
        }
        _ => assert_eq!(record, expected),
    }
}

/// One endpoint's full life cycle.
pub(crate) struct Cycle<'a> {
    /// The collection path, e.g. `service/boards/3/statuses`.
    pub(crate) collection: &'a str,
    pub(crate) create: Value,
    pub(crate) replace: Value,
    pub(crate) patch: Value,
    /// What the record holds after the PATCH.
    pub(crate) patched: Value,
}

impl Cycle<'_> {
    /// list → count → create → get → list/count again → replace → patch → delete → 404.
    /// Returns the id the record had.
    pub(crate) async fn run(self, api: &Api) -> i64 {
        let c = self.collection;
        let list_path = format!("{c}?pageSize=1000");
        let count_path = format!("{c}/count");

        // list and count agree before
        let before = api.list(&list_path).await;
        assert_eq!(api.fetch(&count_path).await, json!({"count": before.len()}));

        // create
        let created = api.post(c, self.create.clone()).await.expect_status(201);
        let id = created.id();
        assert_holds(&created.body, &self.create);
        assert!(
            !before.iter().any(|r| r["id"] == id),
            "a new record gets a new id"
        );

        // get answers what create answered
        let got = api.fetch(&format!("{c}/{id}")).await;
        assert_eq!(got, created.body, "GET answers the record POST answered");

        // list and count include it
        let after = api.list(&list_path).await;
        assert_eq!(after.len(), before.len() + 1);
        assert!(after.iter().any(|r| r == &created.body));
        assert_eq!(
            api.fetch(&count_path).await,
            json!({"count": before.len() + 1})
        );

        // replace
        let replaced = api
            .put(&format!("{c}/{id}"), self.replace.clone())
            .await
            .expect_status(200);
        assert_eq!(replaced.id(), id);
        assert_holds(&replaced.body, &self.replace);
        assert_eq!(api.fetch(&format!("{c}/{id}")).await, replaced.body);

        // patch
        let patched = api
            .patch(&format!("{c}/{id}"), self.patch.clone())
            .await
            .expect_status(200);
        assert_holds(&patched.body, &self.patched);
        assert_eq!(api.fetch(&format!("{c}/{id}")).await, patched.body);

        // delete
        let deleted = api.delete(&format!("{c}/{id}")).await.expect_status(204);
        assert!(deleted.text.is_empty());
        api.get(&format!("{c}/{id}")).await.expect_status(404);
        assert_eq!(api.list(&list_path).await.len(), before.len());
        assert_eq!(api.fetch(&count_path).await, json!({"count": before.len()}));
        id
    }
}

pub(crate) async fn demo() -> (TestSandbox, Api) {
    let sb = TestSandbox::demo().await;
    let api = sb.api().conforming();
    (sb, api)
}

pub(crate) fn replace(field: &str, value: Value) -> Value {
    json!([{"op": "replace", "path": field, "value": value}])
}

#[tokio::test]
async fn companies_offer_the_full_life_cycle() {
    let (_sb, api) = demo().await;
    let identifier = unique("CycleCo");
    Cycle {
        collection: "company/companies",
        create: json!({
            "identifier": identifier,
            "name": "Cycle Company",
            "status": {"name": "Active"},
            "types": [{"name": "Client"}],
            "city": "Tampa",
        }),
        replace: json!({"identifier": identifier, "name": "Cycle Company Renamed", "city": "Boston"}),
        patch: replace("city", json!("Denver")),
        patched: json!({"name": "Cycle Company Renamed", "city": "Denver"}),
    }
    .run(&api)
    .await;
}

#[tokio::test]
async fn company_statuses_offer_the_full_life_cycle() {
    let (_sb, api) = demo().await;
    Cycle {
        collection: "company/companies/statuses",
        create: json!({"name": unique("Status")}),
        replace: json!({"name": unique("Status")}),
        patch: replace("name", json!("Patched status")),
        patched: json!({"name": "Patched status"}),
    }
    .run(&api)
    .await;
}

#[tokio::test]
async fn company_types_offer_the_full_life_cycle() {
    let (_sb, api) = demo().await;
    Cycle {
        collection: "company/companies/types",
        create: json!({"name": unique("Type"), "vendorFlag": false}),
        replace: json!({"name": unique("Type"), "vendorFlag": true}),
        patch: replace("name", json!("Patched type")),
        patched: json!({"name": "Patched type", "vendorFlag": true}),
    }
    .run(&api)
    .await;
}

#[tokio::test]
async fn contacts_offer_the_full_life_cycle() {
    let (_sb, api) = demo().await;
    let acme = api
        .find_id("company/companies", "identifier = \"AcmeCorp\"")
        .await;
    Cycle {
        collection: "company/contacts",
        create: json!({
            "firstName": "Cyd",
            "lastName": "Cle",
            "company": {"identifier": "AcmeCorp"},
            "communicationItems": [{
                "type": {"id": 1, "name": "Email"},
                "communicationType": "Email",
                "value": "cyd.cle@acme.example",
                "defaultFlag": true,
            }],
        }),
        replace: json!({"firstName": "Cyd", "lastName": "Changed", "company": {"id": acme}}),
        patch: replace("title", json!("CFO")),
        patched: json!({"lastName": "Changed", "title": "CFO", "company": {"id": acme}}),
    }
    .run(&api)
    .await;
}

#[tokio::test]
async fn agreements_offer_the_full_life_cycle() {
    let (_sb, api) = demo().await;
    let acme = api
        .find_id("company/companies", "identifier = \"AcmeCorp\"")
        .await;
    Cycle {
        collection: "finance/agreements",
        create: json!({
            "name": "Acme - Backup",
            "type": {"name": "Managed Services"},
            "company": {"identifier": "AcmeCorp"},
        }),
        replace: json!({
            "name": "Acme - Backup (renewed)",
            "type": {"name": "Security Services"},
            "company": {"id": acme},
        }),
        patch: replace("billAmount", json!(250)),
        patched: json!({"name": "Acme - Backup (renewed)", "billAmount": 250}),
    }
    .run(&api)
    .await;
}

#[tokio::test]
async fn agreement_additions_offer_the_full_life_cycle() {
    let (_sb, api) = demo().await;
    let agreement = api.list("finance/agreements").await[0]["id"]
        .as_i64()
        .unwrap();
    let product = api
        .find_id("procurement/catalog", "identifier = \"DMARC-MONITOR\"")
        .await;
    let collection = format!("finance/agreements/{agreement}/additions");
    Cycle {
        collection: &collection,
        create: json!({
            "product": {"identifier": "DMARC-MONITOR"},
            "billCustomer": "Billable",
            "quantity": 3,
        }),
        replace: json!({"product": {"id": product}, "billCustomer": "DoNotBill", "quantity": 5}),
        patch: replace("quantity", json!(7)),
        patched: json!({"quantity": 7, "billCustomer": "DoNotBill", "agreementId": agreement}),
    }
    .run(&api)
    .await;
}

#[tokio::test]
async fn an_addition_prices_itself_from_the_catalog_item() {
    let (_sb, api) = demo().await;
    let agreement = api.list("finance/agreements").await[0]["id"]
        .as_i64()
        .unwrap();
    let addition = api
        .create(
            &format!("finance/agreements/{agreement}/additions"),
            json!({"product": {"identifier": "DMARC-MONITOR"}, "billCustomer": "Billable", "quantity": 3}),
        )
        .await;
    assert_holds(
        &addition,
        &json!({"unitPrice": 12.0, "unitCost": 4.0, "extPrice": 36.0, "extCost": 12.0}),
    );
    assert_eq!(addition["product"]["identifier"], "DMARC-MONITOR");
}

#[tokio::test]
async fn agreement_types_offer_the_full_life_cycle() {
    let (_sb, api) = demo().await;
    let body = |name: String| {
        json!({
            "name": name,
            "billTime": "Billable",
            "billExpenses": "DoNotBill",
            "billProducts": "NoCharge",
            "employeeCompNotExceed": "Billing",
            "employeeCompRate": "Actual",
            "invoicingCycle": "ContractYear",
        })
    };
    Cycle {
        collection: "finance/agreements/types",
        create: body(unique("Type")),
        replace: body(unique("Type")),
        patch: replace("invoicingCycle", json!("CalendarYear")),
        patched: json!({"invoicingCycle": "CalendarYear", "billTime": "Billable"}),
    }
    .run(&api)
    .await;
}

#[tokio::test]
async fn catalog_items_offer_the_full_life_cycle() {
    let (_sb, api) = demo().await;
    let identifier = unique("SKU-");
    Cycle {
        collection: "procurement/catalog",
        create: json!({
            "identifier": identifier,
            "description": "Firewall management",
            "customerDescription": "Firewall management",
            "price": 40.0,
            "cost": 10.0,
        }),
        replace: json!({
            "identifier": identifier,
            "description": "Firewall management (v2)",
            "customerDescription": "Firewall management",
            "price": 45.0,
        }),
        patch: replace("price", json!(50.5)),
        patched: json!({"price": 50.5, "description": "Firewall management (v2)"}),
    }
    .run(&api)
    .await;
}

#[tokio::test]
async fn members_are_listed_read_counted_created_replaced_and_patched_but_not_deleted() {
    // Arrange
    let (_sb, api) = demo().await;
    let before = api.list("system/members").await;

    // Act / Assert
    let created = api
        .create(
            "system/members",
            json!({
                "identifier": "JDoe",
                "firstName": "Jane",
                "lastName": "Doe",
                "officeEmail": "jane@example.test",
                "licenseClass": "F",
                "securityRole": {"name": "Admin"},
            }),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["securityRole"]["name"], "Admin");
    assert_eq!(api.fetch(&format!("system/members/{id}")).await, created);
    assert_eq!(
        api.fetch("system/members/count").await,
        json!({"count": before.len() + 1})
    );
    let replaced = api
        .put(
            &format!("system/members/{id}"),
            json!({
                "identifier": "JDoe",
                "firstName": "Janet",
                "lastName": "Doe",
                "securityRole": {"name": "Admin"},
            }),
        )
        .await
        .expect_status(200);
    assert_eq!(replaced.body["firstName"], "Janet");
    let patched = api
        .patch(
            &format!("system/members/{id}"),
            replace("title", json!("Engineer")),
        )
        .await
        .expect_status(200);
    assert_eq!(patched.body["title"], "Engineer");
    assert_eq!(patched.body["firstName"], "Janet");

    let delete = api.delete(&format!("system/members/{id}")).await;
    assert_eq!(
        delete.status, 405,
        "members cannot be deleted: {}",
        delete.text
    );
    api.get(&format!("system/members/{id}"))
        .await
        .expect_status(200);
}

#[tokio::test]
async fn member_tokens_are_only_created() {
    // Arrange
    let (sb, api) = demo().await;
    let (member, _) = sb.api_member("TokenBot", "Admin").await;

    // Act
    let token = api
        .post(
            &format!("system/members/{member}/tokens"),
            json!({"description": "ci"}),
        )
        .await
        .expect_status(201);
    let get = api.get(&format!("system/members/{member}/tokens")).await;

    // Assert
    assert!(token.str("publicKey").len() >= 8);
    assert!(token.str("privateKey").len() >= 8);
    assert_ne!(get.status, 200, "tokens are not readable: {}", get.text);
    api.post("system/members/999999/tokens", json!({}))
        .await
        .expect_status(404);
}

#[tokio::test]
async fn security_roles_are_listed_read_counted_created_and_deleted() {
    let (_sb, api) = demo().await;
    let before = api.list("system/securityroles").await;
    let role = api
        .create("system/securityroles", json!({"name": "Dispatch"}))
        .await;
    let id = role["id"].as_i64().unwrap();
    assert_eq!(role["adminFlag"], false);
    assert_eq!(api.fetch(&format!("system/securityroles/{id}")).await, role);
    assert_eq!(
        api.fetch("system/securityroles/count").await,
        json!({"count": before.len() + 1})
    );
    api.delete(&format!("system/securityroles/{id}"))
        .await
        .expect_status(204);
    api.get(&format!("system/securityroles/{id}"))
        .await
        .expect_status(404);
}

#[tokio::test]
async fn a_security_role_given_to_a_member_cannot_be_deleted() {
    let (sb, api) = demo().await;
    let role = api
        .create("system/securityroles", json!({"name": "InUse"}))
        .await["id"]
        .as_i64()
        .unwrap();
    sb.api_member("RoleUser", "InUse").await;
    let reply = api.delete(&format!("system/securityroles/{role}")).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    api.get(&format!("system/securityroles/{role}"))
        .await
        .expect_status(200);
}

#[tokio::test]
async fn security_role_settings_are_listed_read_and_patched() {
    // Arrange: a new role gets one setting per module function, all None.
    let (sb, api) = demo().await;
    let role = api
        .create("system/securityroles", json!({"name": "Settings"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let settings = api
        .list(&format!(
            "system/securityRoles/{role}/settings?pageSize=1000"
        ))
        .await;
    let count = api
        .fetch(&format!("system/securityRoles/{role}/settings/count"))
        .await;
    assert_eq!(count, json!({"count": settings.len()}));
    let tickets = settings
        .iter()
        .find(|s| s["moduleName"] == "Service Desk" && s["moduleFunctionName"] == "Service Tickets")
        .expect("a Service Desk > Service Tickets setting");
    for level in ["addLevel", "editLevel", "deleteLevel", "inquireLevel"] {
        assert_eq!(tickets[level], "None");
    }
    let sid = tickets["id"].as_i64().unwrap();
    assert_eq!(
        &api.fetch(&format!("system/securityRoles/{role}/settings/{sid}"))
            .await,
        tickets
    );

    // Act: x-endpoints lists no PATCH for settings, so the answer is checked by hand.
    let patched = sb
        .api()
        .patch(
            &format!("system/securityRoles/{role}/settings/{sid}"),
            json!([
                {"op": "replace", "path": "inquireLevel", "value": "All"},
                {"op": "replace", "path": "addLevel", "value": "My"},
            ]),
        )
        .await
        .expect_status(200);

    // Assert
    schema::document()
        .validate("SecurityRoleSetting", &patched.body)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_holds(
        &patched.body,
        &json!({
            "moduleName": "Service Desk",
            "moduleFunctionName": "Service Tickets",
            "inquireLevel": "All",
            "addLevel": "My",
            "editLevel": "None",
        }),
    );
    let delete = sb
        .api()
        .delete(&format!("system/securityRoles/{role}/settings/{sid}"))
        .await;
    assert_eq!(
        delete.status, 405,
        "settings cannot be deleted: {}",
        delete.text
    );
}

#[tokio::test]
async fn system_info_describes_the_server() {
    let (_sb, api) = demo().await;
    let info = api.fetch("system/info").await;
    assert!(info["version"].as_str().is_some_and(|v| !v.is_empty()));
    assert!(info["isCloud"].is_boolean());
}
