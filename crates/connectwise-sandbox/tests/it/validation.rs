//! Writes as ConnectWise checks them: `InvalidObject` errors naming each field, references
//! by id or by name, PATCH operation arrays, notes and their authors, and nothing
//! half-written when a write is refused.

use connectwise_sandbox::bootstrap::ADMIN_IDENTIFIER;
use serde_json::{Value, json};

use crate::crud::assert_holds;
use crate::helpers::{Api, Reply, TestSandbox, demo, replace, ticket_body};

/// Asserts that `reply` is ConnectWise's `InvalidObject` 400 with an error `{code, resource,
/// field}` among its `errors[]`, every one with a message; `case` names the write.
#[track_caller]
fn assert_field_error(case: &str, reply: &Reply, [code, resource, field]: [&str; 3]) {
    assert_eq!(reply.status, 400, "{case}: {}", reply.text);
    assert_eq!(
        reply.body["code"], "InvalidObject",
        "{case}: {}",
        reply.text
    );
    let hit = reply
        .field_errors()
        .into_iter()
        .any(|e| e["code"] == code && e["resource"] == resource && e["field"] == field);
    assert!(
        hit,
        "{case}: expected an error {{code {code}, resource {resource}, field {field}}} in {}",
        reply.text
    );
    for e in reply.field_errors() {
        assert!(
            e["message"].is_string(),
            "{case}: every field error has a message: {e}"
        );
    }
}

/// Creates a Help Desk ticket at Acme; returns its id.
async fn help_desk_ticket(api: &Api, summary: &str) -> i64 {
    api.create_id("service/tickets", ticket_body(summary)).await
}

async fn status_id(api: &Api, board: &str, status: &str) -> i64 {
    let board = api.board_id(board).await;
    let statuses = format!("service/boards/{board}/statuses");
    api.find_id(&statuses, &format!("name = \"{status}\""))
        .await
}

/// A Help Desk ticket body at Acme with one field changed.
fn ticket_with(summary: &str, field: &str, value: Value) -> Value {
    let mut body = ticket_body(summary);
    body[field] = value;
    body
}

#[tokio::test]
async fn a_write_breaking_a_rule_is_refused_naming_the_field() {
    // Arrange: an agreement for additions and a status of another board than Help Desk.
    let (_sb, api) = demo().await;
    let agreement = api.first_id("finance/agreements").await;
    let additions = format!("finance/agreements/{agreement}/additions");
    let alerts_new = status_id(&api, "Alerts", "New").await;

    // Act / Assert: (case, path, body, the error naming the field).
    for (case, path, body, error) in [
        (
            "a missing required field is refused as null or empty",
            "company/companies",
            json!({"name": "No Identifier Inc"}),
            ["NullOrEmpty", "company", "identifier"],
        ),
        (
            "a duplicate company identifier is refused as object exists",
            "company/companies",
            json!({"identifier": "acmecorp", "name": "Acme Again"}),
            ["ObjectExists", "company", "identifier"],
        ),
        (
            "a value of the wrong type",
            &additions,
            json!({"product": {"identifier": "DMARC-MONITOR"}, "billCustomer": "Billable", "quantity": "lots"}),
            ["InvalidField", "addition", "quantity"],
        ),
        (
            "an enum value outside the schema",
            &additions,
            json!({"product": {"identifier": "DMARC-MONITOR"}, "billCustomer": "Free"}),
            ["InvalidField", "addition", "billCustomer"],
        ),
        (
            "a ticket whose status belongs to another board",
            "service/tickets",
            ticket_with("Wrong board status", "status", json!({"id": alerts_new})),
            ["InvalidField", "ticket", "status"],
        ),
        (
            "a reference to a missing record",
            "service/tickets",
            ticket_with("x", "board", json!({"name": "No Such Board"})),
            ["InvalidField", "ticket", "board"],
        ),
        (
            "a ticket summary over 100 characters",
            "service/tickets",
            ticket_body(&"x".repeat(101)),
            ["InvalidField", "ticket", "summary"],
        ),
    ] {
        let reply = api.post(path, body).await;
        assert_field_error(case, &reply, error);
    }
}

#[tokio::test]
async fn a_ticket_without_summary_board_or_company_names_each_field() {
    let (_sb, api) = demo().await;
    let reply = api.post("service/tickets", json!({})).await;
    for field in ["summary", "board", "company"] {
        assert_field_error("an empty ticket", &reply, ["NullOrEmpty", "ticket", field]);
    }
}

#[tokio::test]
async fn a_ticket_summary_of_100_characters_is_accepted() {
    let (_sb, api) = demo().await;
    help_desk_ticket(&api, &"é".repeat(100)).await;
}

#[tokio::test]
async fn references_by_name_or_identifier_are_answered_expanded_with_links() {
    // Arrange
    let (_sb, api) = demo().await;
    let board = api.board_id("Help Desk").await;
    let acme = api.company_id("AcmeCorp").await;

    // Act
    let ticket = api
        .create("service/tickets", ticket_body("Expanded references"))
        .await;

    // Assert
    assert_eq!(ticket["board"]["id"], board);
    assert_eq!(ticket["board"]["name"], "Help Desk");
    assert_eq!(ticket["company"]["id"], acme);
    assert_eq!(ticket["company"]["identifier"], "AcmeCorp");
    assert_eq!(ticket["company"]["name"], "Acme Corporation");
    let board_href = ticket["board"]["_info"]["board_href"].as_str().unwrap();
    assert!(
        board_href.ends_with(&format!("service/boards/{board}")),
        "{board_href}"
    );
    let company_href = ticket["company"]["_info"]["company_href"].as_str().unwrap();
    assert!(
        company_href.ends_with(&format!("company/companies/{acme}")),
        "{company_href}"
    );
    // The link leads to the record.
    let linked = api.fetch(company_href).await;
    assert_eq!(linked["identifier"], "AcmeCorp");
    // A default status and priority were filled in, expanded too.
    assert_eq!(ticket["status"]["name"], "New");
    assert!(
        ticket["status"]["_info"]["status_href"].is_string(),
        "{ticket}"
    );
    assert!(ticket["priority"]["name"].is_string(), "{ticket}");
}

#[tokio::test]
async fn every_entity_has_info_of_string_values() {
    let (_sb, api) = demo().await;
    let ticket = api.create("service/tickets", ticket_body("Info")).await;
    let info = ticket["_info"].as_object().unwrap();
    for key in ["lastUpdated", "updatedBy", "dateEntered", "enteredBy"] {
        assert!(
            info.get(key).is_some_and(Value::is_string),
            "{key} in {info:?}"
        );
    }
    assert!(info.values().all(Value::is_string), "{info:?}");
    assert_eq!(info["enteredBy"], ADMIN_IDENTIFIER);
}

#[tokio::test]
async fn patch_takes_operation_arrays_with_references_nested_paths_and_strings_for_numbers() {
    // Arrange: Help Desk statuses to move tickets to.
    let (_sb, api) = demo().await;
    let in_progress = status_id(&api, "Help Desk", "In Progress").await;
    let waiting = status_id(&api, "Help Desk", "Waiting on Customer").await;
    let resolved = status_id(&api, "Help Desk", "Resolved").await;

    // Act / Assert: (case, operations, what the patched ticket holds), each on a new ticket.
    for (case, operations, holds) in [
        (
            "an operation array with a reference value",
            json!([
                {"op": "replace", "path": "status", "value": {"id": in_progress}},
                {"op": "replace", "path": "summary", "value": "Patched"},
            ]),
            json!({"summary": "Patched", "status": {"id": in_progress, "name": "In Progress"}}),
        ),
        (
            "a nested path",
            replace("status/id", json!(waiting)),
            json!({"status": {"id": waiting, "name": "Waiting on Customer"}}),
        ),
        (
            // Clients such as connectpyse send ids as strings: "value": "7".
            "a reference id sent as a string",
            replace("status/id", json!(resolved.to_string())),
            json!({"status": {"id": resolved, "name": "Resolved"}, "closedFlag": true}),
        ),
        (
            "a number sent as a string",
            replace("budgetHours", json!("2.5")),
            json!({"budgetHours": 2.5}),
        ),
    ] {
        let id = help_desk_ticket(&api, case).await;
        let patched = api
            .patch(&format!("service/tickets/{id}"), operations)
            .await;
        assert_eq!(patched.status, 200, "{case}: {}", patched.text);
        assert_holds(case, &patched.body, &holds);
    }
}

#[tokio::test]
async fn create_accepts_a_reference_id_sent_as_a_string() {
    let (_sb, api) = demo().await;
    let board = api.board_id("Help Desk").await;
    let body = ticket_with("String ids", "board", json!({"id": board.to_string()}));
    let ticket = api.create("service/tickets", body).await;
    assert_holds(
        "the ticket",
        &ticket,
        &json!({"board": {"id": board, "name": "Help Desk"}}),
    );
}

#[tokio::test]
async fn patch_naming_an_unknown_field_is_refused_naming_it() {
    let (_sb, api) = demo().await;
    let id = help_desk_ticket(&api, "Unknown").await;
    let unknown = replace("nosuchfield", json!(1));
    let reply = api.patch(&format!("service/tickets/{id}"), unknown).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.text.contains("nosuchfield"), "{}", reply.text);
}

#[tokio::test]
async fn closing_a_ticket_sets_closed_flag_date_and_member() {
    let (_sb, api) = demo().await;
    let id = help_desk_ticket(&api, "Close me").await;
    let closed = status_id(&api, "Help Desk", "Closed").await;
    let to_closed = replace("status", json!({"id": closed}));
    let patched = api
        .update(&format!("service/tickets/{id}"), to_closed)
        .await;
    assert_eq!(patched["closedFlag"], true);
    assert!(patched["closedDate"].is_string(), "{patched}");
    assert_eq!(patched["closedBy"], ADMIN_IDENTIFIER);
}

#[tokio::test]
async fn a_ticket_created_with_an_initial_description_gets_it_as_its_first_note() {
    // Arrange
    let (_sb, api) = demo().await;
    let description = "Outlook crashes when opening attachments.";

    // Act
    let body = ticket_with("Outlook crashes", "initialDescription", json!(description));
    let ticket = api.create("service/tickets", body).await;
    let id = ticket["id"].as_i64().unwrap();

    // Assert
    let notes = api.list(&format!("service/tickets/{id}/notes")).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["text"], description);
    assert_eq!(notes[0]["detailDescriptionFlag"], true);
    assert_eq!(notes[0]["ticketId"], id);
    let notes_href = ticket["_info"]["notes_href"].as_str().unwrap();
    assert_eq!(api.list(notes_href).await, notes);
}

#[tokio::test]
async fn a_note_written_without_a_member_names_the_api_member() {
    // Seed 000's quirk: notes written through the API are the API member's unless a member
    // or contact is named on the note.
    let (_sb, api) = demo().await;
    let conditions = format!("identifier = \"{ADMIN_IDENTIFIER}\"");
    let admin = api.find_id("system/members", &conditions).await;
    let ticket = help_desk_ticket(&api, "Note author").await;

    let text = json!({"text": "Rebooted the printer", "detailDescriptionFlag": true});
    let note = api
        .create(&format!("service/tickets/{ticket}/notes"), text)
        .await;

    assert_eq!(note["member"]["id"], admin, "{note}");
    assert_eq!(note["member"]["identifier"], ADMIN_IDENTIFIER, "{note}");
    assert_eq!(note["createdBy"], ADMIN_IDENTIFIER);
}

#[tokio::test]
async fn a_note_naming_another_member_keeps_that_member() {
    let (sb, api) = demo().await;
    let (tech, _) = sb.api_member("TechOne", "Admin").await;
    let ticket = help_desk_ticket(&api, "Other author").await;

    let text = json!({"text": "On site", "internalAnalysisFlag": true, "member": {"id": tech}});
    let note = api
        .create(&format!("service/tickets/{ticket}/notes"), text)
        .await;

    assert_eq!(note["member"]["id"], tech, "{note}");
    assert_eq!(note["member"]["identifier"], "TechOne", "{note}");
}

#[tokio::test]
async fn a_note_needs_one_of_its_kind_flags() {
    let (_sb, api) = demo().await;
    let ticket = help_desk_ticket(&api, "Flags").await;
    let notes = format!("service/tickets/{ticket}/notes");
    let reply = api.post(&notes, json!({"text": "no flag"})).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
}

/// Asserts that a refused write answered 400 and left the tickets as `before` listed them.
async fn assert_refused_and_nothing_written(api: &Api, reply: Reply, before: &[Value]) {
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(api.list("service/tickets?pageSize=1000").await, before);
}

#[tokio::test]
async fn a_refused_post_writes_nothing() {
    // Arrange
    let (_sb, api) = demo().await;
    let before = api.list("service/tickets?pageSize=1000").await;
    let alerts_new = status_id(&api, "Alerts", "New").await;
    let mut body = ticket_with("Half-written?", "status", json!({"id": alerts_new}));
    body["initialDescription"] = json!("This note must not exist either.");

    // Act
    let reply = api.post("service/tickets", body).await;

    // Assert
    assert_refused_and_nothing_written(&api, reply, &before).await;
    // No orphan note was left under the id the refused ticket would have had.
    let next = help_desk_ticket(&api, "After").await;
    let orphan_notes = api.list(&format!("service/tickets/{next}/notes")).await;
    assert!(orphan_notes.is_empty(), "{orphan_notes:?}");
}

#[tokio::test]
async fn a_refused_patch_writes_nothing() {
    // Arrange: one good operation and one bad one.
    let (_sb, api) = demo().await;
    let id = help_desk_ticket(&api, "Atomic").await;
    let before = api.list("service/tickets?pageSize=1000").await;
    let alerts_new = status_id(&api, "Alerts", "New").await;

    // Act
    let operations = json!([
        {"op": "replace", "path": "summary", "value": "Changed"},
        {"op": "replace", "path": "status", "value": {"id": alerts_new}},
    ]);
    let reply = api
        .patch(&format!("service/tickets/{id}"), operations)
        .await;

    // Assert
    assert_refused_and_nothing_written(&api, reply, &before).await;
}

#[tokio::test]
async fn a_refused_put_writes_nothing() {
    let (_sb, api) = demo().await;
    let id = help_desk_ticket(&api, "Atomic put").await;
    let path = format!("service/tickets/{id}");
    let before = api.fetch(&path).await;
    let reply = api.put(&path, ticket_body(&"x".repeat(101))).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(api.fetch(&path).await, before);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_refused_with_400() {
    let sb = TestSandbox::demo().await;
    let url = format!("{}service/tickets", sb.sandbox.api_url());
    let creds = sb.admin();
    let res = sb
        .http()
        .post(url)
        .header("Authorization", creds.authorization())
        .header("clientId", &creds.client_id)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert!(body["message"].is_string(), "{body}");
}
