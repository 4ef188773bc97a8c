//! `conditions`, `childConditions`, `orderBy` and `fields` over HTTP, against the demo MSP.

use connectwise_sandbox::Seed;
use serde_json::{Value, json};

use crate::helpers::{Api, TestSandbox, demo, ids, query, replace, ticket_body};

/// Every company matching `conditions`.
async fn companies_where(api: &Api, conditions: &str) -> Vec<Value> {
    let params = [("conditions", conditions)];
    api.list_query("company/companies?pageSize=1000", &params)
        .await
}

/// Every ticket matching `conditions`.
async fn tickets_where(api: &Api, conditions: &str) -> Vec<Value> {
    let params = [("conditions", conditions)];
    api.list_query("service/tickets?pageSize=1000", &params)
        .await
}

fn strings<'a>(items: &'a [Value], field: &str) -> Vec<&'a str> {
    items
        .iter()
        .map(|i| i[field].as_str().unwrap_or_default())
        .collect()
}

/// Asserts that every record (ticket, contact…) belongs to Acme.
#[track_caller]
fn assert_all_at_acme(records: &[Value]) {
    let at_acme = |r: &Value| r["company"]["identifier"] == "AcmeCorp";
    assert!(records.iter().all(at_acme), "{records:?}");
}

/// Moves the first ticket to its board's Closed status; returns every ticket (as listed
/// before) and the closed one's id.
async fn close_first_ticket(api: &Api) -> (Vec<Value>, i64) {
    let all = api.list("service/tickets?pageSize=1000").await;
    let closing = all[0]["id"].as_i64().unwrap();
    let board = all[0]["board"]["id"].as_i64().unwrap();
    let statuses = format!("service/boards/{board}/statuses");
    let closed = api.find_id(&statuses, "name = \"Closed\"").await;
    let to_closed = replace("status", json!({"id": closed}));
    api.update(&format!("service/tickets/{closing}"), to_closed)
        .await;
    (all, closing)
}

#[tokio::test]
async fn like_equals_and_or_and_parentheses_select_the_expected_companies() {
    let (_sb, api) = demo().await;
    // (case, conditions, the field compared, its values in the matching companies)
    for (case, conditions, field, expected) in [
        (
            "like matches a prefix",
            r#"name like "Acme%""#,
            "name",
            "Acme Corporation",
        ),
        (
            "equals compares strings case-insensitively",
            r#"identifier = "acmecorp""#,
            "identifier",
            "AcmeCorp",
        ),
        (
            "and and or combine with parentheses",
            r#"(identifier = "AcmeCorp" or identifier = "Contoso") and state = "OH""#,
            "identifier",
            "Contoso",
        ),
        (
            "a condition wrapped in parentheses",
            r#"(identifier = "AcmeCorp")"#,
            "identifier",
            "AcmeCorp",
        ),
        (
            // a or b and c  ==  a or (b and c)
            "and binds tighter than or",
            r#"identifier = "AcmeCorp" or identifier = "Contoso" and state = "FL""#,
            "identifier",
            "AcmeCorp",
        ),
    ] {
        let hits = companies_where(&api, conditions).await;
        assert_eq!(
            strings(&hits, field),
            vec![expected],
            "{case}: {conditions}"
        );
    }
}

#[tokio::test]
async fn in_matches_any_listed_value() {
    let (_sb, api) = demo().await;
    let mut ids = ids(&companies_where(&api, "id in (1,2,3)").await);
    ids.sort_unstable();
    assert_eq!(ids, vec![1, 2, 3]);
}

#[tokio::test]
async fn closed_flag_false_leaves_out_closed_tickets() {
    // Arrange: close one ticket.
    let (_sb, api) = demo().await;
    let (all, closing) = close_first_ticket(&api).await;

    // Act
    let open = tickets_where(&api, "closedFlag = false").await;
    let open_any_case = tickets_where(&api, "closedFlag = False").await;

    // Assert
    assert_eq!(open.len(), all.len() - 1);
    assert!(!open.iter().any(|t| t["id"] == closing));
    assert_eq!(open, open_any_case, "booleans in any case");
}

#[tokio::test]
async fn a_nested_path_filters_on_a_reference() {
    let (_sb, api) = demo().await;
    let at_acme = [("conditions", r#"company/identifier = "AcmeCorp""#)];
    let tickets = api.list_query("service/tickets", &at_acme).await;
    assert!(!tickets.is_empty());
    assert_all_at_acme(&tickets);
}

#[tokio::test]
async fn dates_in_square_brackets_compare_with_info_timestamps() {
    let (_sb, api) = demo().await;
    let total = api.count("company/companies").await;
    let after = companies_where(&api, "_info/lastUpdated > [2000-01-01T00:00:00Z]").await;
    let before = companies_where(&api, "_info/lastUpdated < [2000-01-01T00:00:00Z]").await;
    assert_eq!(after.len() as u64, total);
    assert!(before.is_empty());
}

#[tokio::test]
async fn order_by_sorts_descending() {
    let (_sb, api) = demo().await;
    let by_name = [("orderBy", "name desc")];
    let items = api
        .list_query("company/companies?pageSize=1000", &by_name)
        .await;
    let names: Vec<String> = strings(&items, "name")
        .iter()
        .map(|n| n.to_lowercase())
        .collect();
    let mut expected = names.clone();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(names, expected);
}

#[tokio::test]
async fn fields_returns_only_the_named_fields() {
    let (_sb, api) = demo().await;
    let board = api.board_id("Help Desk").await;
    let statuses = api
        .list(&format!(
            "service/boards/{board}/statuses?fields=id,name,board/name"
        ))
        .await;
    assert!(!statuses.is_empty());
    for s in &statuses {
        let keys: Vec<&String> = s.as_object().unwrap().keys().collect();
        assert_eq!(keys, vec!["id", "name", "board"], "{s}");
        assert_eq!(s["board"], json!({"name": "Help Desk"}));
    }
    let one_id = statuses[0]["id"].as_i64().unwrap();
    let one = api
        .fetch(&format!(
            "service/boards/{board}/statuses/{one_id}?fields=id,name"
        ))
        .await;
    assert_eq!(one, json!({"id": one_id, "name": statuses[0]["name"]}));
}

#[tokio::test]
async fn child_conditions_filter_on_array_members() {
    let (_sb, api) = demo().await;
    let at_acme = [(
        "childConditions",
        r#"communicationItems/value like "%@acme.example""#,
    )];
    let contacts = api
        .list_query("company/contacts?pageSize=1000", &at_acme)
        .await;
    assert_eq!(contacts.len(), 2, "{contacts:?}");
    assert_all_at_acme(&contacts);
}

#[tokio::test]
async fn a_malformed_or_unknown_query_gets_400_naming_what_is_wrong() {
    let (_sb, api) = demo().await;
    // (case, the parameter, its value, what the message names)
    for (case, param, value, named) in [
        (
            "a malformed conditions string names the position",
            "conditions",
            r#"name = "Acme" and"#,
            &["position", "conditions"][..],
        ),
        (
            "a condition on an unknown field names it",
            "conditions",
            "nosuchfield = 1",
            &["nosuchfield"],
        ),
        (
            "an orderBy on an unknown field names it",
            "orderBy",
            "nosuchfield asc",
            &["nosuchfield"],
        ),
    ] {
        let path = query("company/companies", &[(param, value)]);
        let reply = api.get(&path).await;
        assert_eq!(reply.status, 400, "{case}: {}", reply.text);
        let message = reply.message();
        for word in named {
            assert!(message.contains(word), "{case}: {word} in {message}");
        }
    }
}

#[tokio::test]
async fn a_quote_inside_a_string_is_escaped_with_a_backslash() {
    let (_sb, api) = demo().await;
    api.create(
        "company/companies",
        json!({"identifier": "Quoted", "name": "The \"Quoted\" Shop"}),
    )
    .await;
    let hits = companies_where(&api, r#"name = "The \"Quoted\" Shop""#).await;
    assert_eq!(strings(&hits, "identifier"), vec!["Quoted"]);
}

#[tokio::test]
async fn custom_field_conditions_match_one_custom_field_by_caption_and_value() {
    // Arrange: two companies whose custom fields differ.
    let (_sb, api) = demo().await;
    let field = |caption: &str, value: &str| json!({"id": 1, "caption": caption, "type": "Text", "entryMethod": "EntryField", "value": value});
    api.create(
        "company/companies",
        json!({"identifier": "EuCo", "name": "EU Co", "customFields": [field("Region", "EU")]}),
    )
    .await;
    api.create(
        "company/companies",
        json!({"identifier": "UsCo", "name": "US Co", "customFields": [field("Region", "US"), field("Sector", "EU")]}),
    )
    .await;

    // Act
    let in_eu = [(
        "customFieldConditions",
        r#"caption="Region" AND value="EU""#,
    )];
    let hits = api.list_query("company/companies", &in_eu).await;

    // Assert
    assert_eq!(strings(&hits, "identifier"), vec!["EuCo"]);
}

#[tokio::test]
async fn last_updated_filters_without_the_info_prefix() {
    // ConnectWise takes `lastUpdated` as a condition field (the reference's own example, and
    // how sync clients such as django-connectwise ask for changes since their last run).
    let (_sb, api) = demo().await;
    let all = api.list("service/tickets?pageSize=1000").await;
    let since_2000 = tickets_where(&api, "lastUpdated > [2000-01-01T00:00:00Z]").await;
    assert_eq!(since_2000, all);
    assert!(
        tickets_where(&api, "lastUpdated < [2000-01-01T00:00:00Z]")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn the_reference_examples_filter_as_written() {
    // Arrange: close one Help Desk ticket.
    let (_sb, api) = demo().await;
    let (all, _) = close_first_ticket(&api).await;
    let acme = api.company_id("AcmeCorp").await;

    // Act / Assert
    let open_help_desk = tickets_where(
        &api,
        "board/name=\"Help Desk\" and status/name != \"Closed\" and id > 0",
    )
    .await;
    assert_eq!(open_help_desk.len(), all.len() - 1);
    let no_parent = tickets_where(&api, "parentTicketId = null").await;
    assert_eq!(no_parent.len(), all.len());
    let at_acme = tickets_where(&api, &format!("company/id in ({acme},999998,999999)")).await;
    assert!(!at_acme.is_empty());
    assert!(at_acme.iter().all(|t| t["company"]["id"] == acme));
    let not_acme = tickets_where(&api, &format!("company/id not in ({acme})")).await;
    assert_eq!(at_acme.len() + not_acme.len(), all.len());
    let printers = tickets_where(&api, "summary contains \"printer\"").await;
    assert_eq!(
        printers.len(),
        all.len(),
        "every seeded ticket is about a printer"
    );
    let not_printers = tickets_where(&api, "summary not like \"%Printer%\"").await;
    assert!(not_printers.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_collection_filtered_on_two_threads_gives_every_match_once_in_id_order() {
    // Arrange: enough tickets that the sandbox splits the scan across threads.
    let sb = TestSandbox::seeded(Seed::Bench {
        companies: 100,
        tickets: 25_000,
    })
    .await;
    let api = sb.api();
    // The `or` keeps the reference index out of it, so this is a full scan.
    let conditions = [(
        "conditions",
        "(company/id in (7, 8, 9, 10, 11) or id < 0) and closedFlag = false",
    )];

    // Act
    let fields = "service/tickets?pageSize=1000&fields=id,company/id,closedFlag";
    let tickets = api.list_query(fields, &conditions).await;
    let count = api
        .fetch(&query("service/tickets/count", &conditions))
        .await;

    // Assert: ticket i belongs to company i % 100 + 1 and has status i % 5, so companies 7 to
    // 11 hold 250 tickets each, all of one status; those of companies 9 and 10 are closed.
    assert_eq!(tickets.len(), 750);
    assert_eq!(count["count"], 750);
    assert!(tickets.iter().all(|t| {
        [7, 8, 11].contains(&t["company"]["id"].as_i64().unwrap()) && t["closedFlag"] == false
    }));
    let ids: Vec<i64> = tickets.iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids ascend without repeats"
    );
}

#[tokio::test]
async fn a_reference_condition_follows_every_write_to_the_reference() {
    // Arrange: a ticket at Acme.
    let (_sb, api) = demo().await;
    let acme = api.company_id("AcmeCorp").await;
    let other = api.company_id("BlueRidge").await;
    let mut body = ticket_body("Moves");
    body["company"] = json!({"id": acme});
    let ticket = api.create_id("service/tickets", body).await;
    let has = |items: Vec<Value>| ids(&items).contains(&ticket);

    // Act / Assert: found by id, by the id as a string and in a list…
    assert!(has(
        tickets_where(&api, &format!("company/id = {acme}")).await
    ));
    assert!(has(tickets_where(
        &api,
        &format!("company/id = \"{acme}\"")
    )
    .await));
    assert!(has(tickets_where(
        &api,
        &format!("Company/ID in (999999, {acme})")
    )
    .await));
    // …then, moved to another company, found there and no longer at Acme…
    let move_to_other = replace("company", json!({"id": other}));
    api.update(&format!("service/tickets/{ticket}"), move_to_other)
        .await;
    assert!(!has(
        tickets_where(&api, &format!("company/id = {acme}")).await
    ));
    assert!(has(tickets_where(
        &api,
        &format!("company/id = {other} and summary = \"Moves\"")
    )
    .await));
    let moved = format!("company/id = {other} and summary = \"Moves\"");
    let count = query("service/tickets/count", &[("conditions", &moved)]);
    assert_eq!(api.fetch(&count).await["count"], 1);
    // …and gone once deleted.
    api.remove(&format!("service/tickets/{ticket}")).await;
    assert!(!has(
        tickets_where(&api, &format!("company/id = {other}")).await
    ));
}
