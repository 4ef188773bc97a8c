//! Every endpoint the sandbox serves: list, get, count, create, replace, patch and delete as
//! each offers them. All calls go through the conforming client, so every answer (each item
//! of a list) is checked against the model the reference's `x-endpoints` names.

use serde_json::{Value, json};

use crate::helpers::{Api, TestSandbox, replace, unique};
use crate::schema;

/// Asserts that `record` holds `expected`: objects field by field (a subset), the rest equal.
/// `what` names the record in the failure message.
#[track_caller]
pub fn assert_holds(what: &str, record: &Value, expected: &Value) {
    if let Some(wrong) = mismatch(record, expected) {
        panic!("{what}: {wrong}");
    }
}

/// Where `record` does not hold `expected` (see [`assert_holds`]), if anywhere.
fn mismatch(record: &Value, expected: &Value) -> Option<String> {
    let differs = || Some(format!("{record} vs {expected}"));
    match (record, expected) {
        (Value::Object(r), Value::Object(e)) => e.iter().find_map(|(k, v)| match r.get(k) {
            Some(got) => mismatch(got, v),
            None => Some(format!("{k} missing from {record}")),
        }),
        (Value::Array(r), Value::Array(e)) if r.len() == e.len() => {
            r.iter().zip(e).find_map(|(g, x)| mismatch(g, x))
        }
        (Value::Number(r), Value::Number(e)) if r.as_f64() == e.as_f64() => None,
        _ if record == expected => None,
        _ => differs(),
    }
}

/// One endpoint's full life cycle.
pub(crate) struct Cycle<'a> {
    /// The collection path, e.g. `service/boards/3/statuses`; failures name it.
    pub(crate) collection: &'a str,
    pub(crate) create: Value,
    pub(crate) replace: Value,
    pub(crate) patch: Value,
    /// What the record holds after the PATCH.
    pub(crate) patched: Value,
}

impl Cycle<'_> {
    /// The life cycle of a record known by its name: created and replaced under new names
    /// made from `prefix` (with the fields of `create` and `replace` besides), then renamed by
    /// PATCH, after which it holds its new name and `holds`.
    pub(crate) fn renamed<'a>(
        collection: &'a str,
        prefix: &str,
        [create, replaced, holds]: [Value; 3],
    ) -> Cycle<'a> {
        let named = |mut fields: Value, name: &str| {
            fields["name"] = json!(name);
            fields
        };
        let new_name = format!("Patched {}", prefix.to_lowercase());
        Cycle {
            collection,
            create: named(create, &unique(prefix)),
            replace: named(replaced, &unique(prefix)),
            patch: replace("name", json!(new_name)),
            patched: named(holds, &new_name),
        }
    }

    /// list → count → create → get → list/count again → replace → patch → delete → 404.
    /// Returns the id the record had.
    pub(crate) async fn run(self, api: &Api) -> i64 {
        let c = self.collection;
        let list_path = format!("{c}?pageSize=1000");
        let count_path = format!("{c}/count");
        let counted = |n: usize| json!({"count": n});

        // list and count agree before
        let before = api.list(&list_path).await;
        assert_eq!(api.fetch(&count_path).await, counted(before.len()), "{c}");

        // create
        let created = api.post(c, self.create.clone()).await.expect_status(201);
        let id = created.id();
        assert_holds(c, &created.body, &self.create);
        let new = !before.iter().any(|r| r["id"] == id);
        assert!(new, "{c}: a new record gets a new id");

        // get answers what create answered
        let one = format!("{c}/{id}");
        let got = api.fetch(&one).await;
        assert_eq!(
            got, created.body,
            "{c}: GET answers the record POST answered"
        );

        // list and count include it
        let after = api.list(&list_path).await;
        assert_eq!(after.len(), before.len() + 1, "{c}");
        assert!(after.iter().any(|r| r == &created.body), "{c}");
        let count = api.fetch(&count_path).await;
        assert_eq!(count, counted(before.len() + 1), "{c}");

        // replace
        let replaced = api.put(&one, self.replace.clone()).await.expect_status(200);
        assert_eq!(replaced.id(), id, "{c}");
        assert_holds(c, &replaced.body, &self.replace);
        assert_eq!(api.fetch(&one).await, replaced.body, "{c}");

        // patch
        let patched = api.update(&one, self.patch.clone()).await;
        assert_holds(c, &patched, &self.patched);
        assert_eq!(api.fetch(&one).await, patched, "{c}");

        // delete
        let deleted = api.delete(&one).await.expect_status(204);
        assert!(deleted.text.is_empty(), "{c}: {}", deleted.text);
        api.get_expecting(&one, 404).await;
        assert_eq!(api.list(&list_path).await.len(), before.len(), "{c}");
        assert_eq!(api.fetch(&count_path).await, counted(before.len()), "{c}");
        id
    }
}

/// A demo sandbox and an admin client checking every answer against the reference schema.
pub(crate) async fn demo() -> (TestSandbox, Api) {
    let sb = TestSandbox::demo().await;
    let api = sb.api().conforming();
    (sb, api)
}

#[tokio::test]
async fn company_collections_offer_the_full_life_cycle() {
    // Arrange
    let (_sb, api) = demo().await;
    let identifier = unique("CycleCo");
    let acme = api.company_id("AcmeCorp").await;
    let vendor = |flag: bool| json!({"vendorFlag": flag});

    // Act / Assert: each collection in turn.
    for cycle in [
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
        },
        Cycle::renamed(
            "company/companies/statuses",
            "Status",
            [json!({}), json!({}), json!({})],
        ),
        Cycle::renamed(
            "company/companies/types",
            "Type",
            [vendor(false), vendor(true), vendor(true)],
        ),
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
        },
    ] {
        cycle.run(&api).await;
    }
}

#[tokio::test]
async fn finance_and_catalog_collections_offer_the_full_life_cycle() {
    // Arrange
    let (_sb, api) = demo().await;
    let acme = api.company_id("AcmeCorp").await;
    let agreement = api.first_id("finance/agreements").await;
    let additions = format!("finance/agreements/{agreement}/additions");
    let dmarc = "identifier = \"DMARC-MONITOR\"";
    let product = api.find_id("procurement/catalog", dmarc).await;
    let agreement_type = |name: String| {
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
    let sku = unique("SKU-");

    // Act / Assert: each collection in turn.
    for cycle in [
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
        },
        Cycle {
            collection: &additions,
            create: json!({
                "product": {"identifier": "DMARC-MONITOR"},
                "billCustomer": "Billable",
                "quantity": 3,
            }),
            replace: json!({"product": {"id": product}, "billCustomer": "DoNotBill", "quantity": 5}),
            patch: replace("quantity", json!(7)),
            patched: json!({"quantity": 7, "billCustomer": "DoNotBill", "agreementId": agreement}),
        },
        Cycle {
            collection: "finance/agreements/types",
            create: agreement_type(unique("Type")),
            replace: agreement_type(unique("Type")),
            patch: replace("invoicingCycle", json!("CalendarYear")),
            patched: json!({"invoicingCycle": "CalendarYear", "billTime": "Billable"}),
        },
        Cycle {
            collection: "procurement/catalog",
            create: json!({
                "identifier": sku,
                "description": "Firewall management",
                "customerDescription": "Firewall management",
                "price": 40.0,
                "cost": 10.0,
            }),
            replace: json!({
                "identifier": sku,
                "description": "Firewall management (v2)",
                "customerDescription": "Firewall management",
                "price": 45.0,
            }),
            patch: replace("price", json!(50.5)),
            patched: json!({"price": 50.5, "description": "Firewall management (v2)"}),
        },
    ] {
        cycle.run(&api).await;
    }
}

#[tokio::test]
async fn an_addition_prices_itself_from_the_catalog_item() {
    let (_sb, api) = demo().await;
    let agreement = api.first_id("finance/agreements").await;
    let three = json!({"product": {"identifier": "DMARC-MONITOR"}, "billCustomer": "Billable", "quantity": 3});
    let addition = api
        .create(&format!("finance/agreements/{agreement}/additions"), three)
        .await;
    let prices = json!({"unitPrice": 12.0, "unitCost": 4.0, "extPrice": 36.0, "extCost": 12.0});
    assert_holds("the addition", &addition, &prices);
    assert_eq!(addition["product"]["identifier"], "DMARC-MONITOR");
}

/// Asserts that `created`, a record just made in `collection` when it held `before` records,
/// is what GET answers for it and is counted; returns the record's path.
async fn assert_read_and_counted(
    api: &Api,
    collection: &str,
    created: &Value,
    before: usize,
) -> String {
    let one = format!("{collection}/{}", created["id"]);
    assert_eq!(api.fetch(&one).await, *created, "{one}");
    let count = api.fetch(&format!("{collection}/count")).await;
    assert_eq!(count, json!({"count": before + 1}), "{collection}");
    one
}

#[tokio::test]
async fn members_are_listed_read_counted_created_replaced_and_patched_but_not_deleted() {
    // Arrange
    let (_sb, api) = demo().await;
    let before = api.list("system/members").await;
    let jane = json!({
        "identifier": "JDoe",
        "firstName": "Jane",
        "lastName": "Doe",
        "officeEmail": "jane@example.test",
        "licenseClass": "F",
        "securityRole": {"name": "Admin"},
    });

    // Act / Assert
    let created = api.create("system/members", jane).await;
    assert_eq!(created["securityRole"]["name"], "Admin");
    let one = assert_read_and_counted(&api, "system/members", &created, before.len()).await;
    let janet = json!({
        "identifier": "JDoe",
        "firstName": "Janet",
        "lastName": "Doe",
        "securityRole": {"name": "Admin"},
    });
    let replaced = api.put(&one, janet).await.expect_status(200);
    assert_eq!(replaced.body["firstName"], "Janet");
    let patched = api.update(&one, replace("title", json!("Engineer"))).await;
    assert_eq!(patched["title"], "Engineer");
    assert_eq!(patched["firstName"], "Janet");

    let delete = api.delete(&one).await;
    assert_eq!(
        delete.status, 405,
        "members cannot be deleted: {}",
        delete.text
    );
    api.get_expecting(&one, 200).await;
}

#[tokio::test]
async fn member_tokens_are_only_created() {
    // Arrange
    let (sb, api) = demo().await;
    let (member, _) = sb.api_member("TokenBot", "Admin").await;
    let tokens = format!("system/members/{member}/tokens");

    // Act
    let token = api.post(&tokens, json!({"description": "ci"})).await;
    let get = api.get(&tokens).await;

    // Assert
    let token = token.expect_status(201);
    assert!(token.str("publicKey").len() >= 8);
    assert!(token.str("privateKey").len() >= 8);
    assert_ne!(get.status, 200, "tokens are not readable: {}", get.text);
    let nobody = api.post("system/members/999999/tokens", json!({})).await;
    nobody.expect_status(404);
}

/// Creates a security role with this name; returns the record.
async fn new_role(api: &Api, name: &str) -> Value {
    api.create("system/securityroles", json!({"name": name}))
        .await
}

#[tokio::test]
async fn security_roles_are_listed_read_counted_created_and_deleted() {
    let (_sb, api) = demo().await;
    let before = api.list("system/securityroles").await;
    let role = new_role(&api, "Dispatch").await;
    assert_eq!(role["adminFlag"], false);
    let one = assert_read_and_counted(&api, "system/securityroles", &role, before.len()).await;
    api.remove(&one).await;
    api.get_expecting(&one, 404).await;
}

#[tokio::test]
async fn a_security_role_given_to_a_member_cannot_be_deleted() {
    let (sb, api) = demo().await;
    let role = new_role(&api, "InUse").await["id"].clone();
    sb.api_member("RoleUser", "InUse").await;
    let one = format!("system/securityroles/{role}");
    let reply = api.delete(&one).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    api.get_expecting(&one, 200).await;
}

#[tokio::test]
async fn security_role_settings_are_listed_read_and_patched() {
    // Arrange: a new role gets one setting per module function, all None.
    let (sb, api) = demo().await;
    let role = new_role(&api, "Settings").await["id"].clone();
    let settings_path = format!("system/securityRoles/{role}/settings");
    let settings = api.list(&format!("{settings_path}?pageSize=1000")).await;
    let count = api.fetch(&format!("{settings_path}/count")).await;
    assert_eq!(count, json!({"count": settings.len()}));
    let tickets = settings
        .iter()
        .find(|s| s["moduleName"] == "Service Desk" && s["moduleFunctionName"] == "Service Tickets")
        .expect("a Service Desk > Service Tickets setting");
    for level in ["addLevel", "editLevel", "deleteLevel", "inquireLevel"] {
        assert_eq!(tickets[level], "None");
    }
    let one = format!("{settings_path}/{}", tickets["id"]);
    assert_eq!(&api.fetch(&one).await, tickets);

    // Act: x-endpoints lists no PATCH for settings, so the answer is checked by hand.
    let unchecked = sb.api();
    let levels = json!([
        {"op": "replace", "path": "inquireLevel", "value": "All"},
        {"op": "replace", "path": "addLevel", "value": "My"},
    ]);
    let patched = unchecked.update(&one, levels).await;

    // Assert
    schema::document()
        .validate("SecurityRoleSetting", &patched)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let holds = json!({
        "moduleName": "Service Desk",
        "moduleFunctionName": "Service Tickets",
        "inquireLevel": "All",
        "addLevel": "My",
        "editLevel": "None",
    });
    assert_holds("the patched setting", &patched, &holds);
    let delete = unchecked.delete(&one).await;
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
