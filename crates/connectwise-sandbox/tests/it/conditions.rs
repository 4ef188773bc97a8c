//! `conditions`, `childConditions`, `orderBy` and `fields` over HTTP, against the demo MSP.

use serde_json::{Value, json};

use crate::helpers::{Api, TestSandbox, encode, ids};

async fn companies_where(api: &Api, conditions: &str) -> Vec<Value> {
    api.list(&format!(
        "company/companies?pageSize=1000&conditions={}",
        encode(conditions)
    ))
    .await
}

fn strings<'a>(items: &'a [Value], field: &str) -> Vec<&'a str> {
    items
        .iter()
        .map(|i| i[field].as_str().unwrap_or_default())
        .collect()
}

/// Moves the first ticket to its board's Closed status; returns every ticket (as listed
/// before) and the closed one's id.
async fn close_first_ticket(api: &Api) -> (Vec<Value>, i64) {
    let all = api.list("service/tickets?pageSize=1000").await;
    let closing = all[0]["id"].as_i64().unwrap();
    let board = all[0]["board"]["id"].as_i64().unwrap();
    let closed = api
        .find_id(
            &format!("service/boards/{board}/statuses"),
            "name = \"Closed\"",
        )
        .await;
    api.patch(
        &format!("service/tickets/{closing}"),
        json!([{"op": "replace", "path": "status", "value": {"id": closed}}]),
    )
    .await
    .expect_status(200);
    (all, closing)
}

#[tokio::test]
async fn like_matches_a_prefix() {
    let sb = TestSandbox::demo().await;
    let hits = companies_where(&sb.api(), "name like \"Acme%\"").await;
    assert_eq!(strings(&hits, "name"), vec!["Acme Corporation"]);
}

#[tokio::test]
async fn equals_compares_strings_case_insensitively() {
    let sb = TestSandbox::demo().await;
    let hits = companies_where(&sb.api(), "identifier = \"acmecorp\"").await;
    assert_eq!(strings(&hits, "identifier"), vec!["AcmeCorp"]);
}

#[tokio::test]
async fn in_matches_any_listed_value() {
    let sb = TestSandbox::demo().await;
    let hits = companies_where(&sb.api(), "id in (1,2,3)").await;
    let mut ids: Vec<i64> = hits.iter().map(|h| h["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![1, 2, 3]);
}

#[tokio::test]
async fn and_and_or_combine_with_parentheses() {
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let grouped = companies_where(
        &api,
        "(identifier = \"AcmeCorp\" or identifier = \"Contoso\") and state = \"OH\"",
    )
    .await;
    assert_eq!(strings(&grouped, "identifier"), vec!["Contoso"]);
    let wrapped = companies_where(&api, "(identifier = \"AcmeCorp\")").await;
    assert_eq!(strings(&wrapped, "identifier"), vec!["AcmeCorp"]);
}

#[tokio::test]
async fn and_binds_tighter_than_or() {
    // a or b and c  ==  a or (b and c)
    let sb = TestSandbox::demo().await;
    let hits = companies_where(
        &sb.api(),
        "identifier = \"AcmeCorp\" or identifier = \"Contoso\" and state = \"FL\"",
    )
    .await;
    assert_eq!(strings(&hits, "identifier"), vec!["AcmeCorp"]);
}

#[tokio::test]
async fn closed_flag_false_leaves_out_closed_tickets() {
    // Arrange: close one ticket.
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let (all, closing) = close_first_ticket(&api).await;

    // Act
    let open = api
        .list(&format!(
            "service/tickets?pageSize=1000&conditions={}",
            encode("closedFlag = false")
        ))
        .await;
    let open_any_case = api
        .list(&format!(
            "service/tickets?pageSize=1000&conditions={}",
            encode("closedFlag = False")
        ))
        .await;

    // Assert
    assert_eq!(open.len(), all.len() - 1);
    assert!(!open.iter().any(|t| t["id"] == closing));
    assert_eq!(open, open_any_case, "booleans in any case");
}

#[tokio::test]
async fn a_nested_path_filters_on_a_reference() {
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let tickets = api
        .list(&format!(
            "service/tickets?conditions={}",
            encode("company/identifier = \"AcmeCorp\"")
        ))
        .await;
    assert!(!tickets.is_empty());
    assert!(
        tickets
            .iter()
            .all(|t| t["company"]["identifier"] == "AcmeCorp"),
        "{tickets:?}"
    );
}

#[tokio::test]
async fn dates_in_square_brackets_compare_with_info_timestamps() {
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let total = api.fetch("company/companies/count").await["count"]
        .as_u64()
        .unwrap();
    let after = companies_where(&api, "_info/lastUpdated > [2000-01-01T00:00:00Z]").await;
    let before = companies_where(&api, "_info/lastUpdated < [2000-01-01T00:00:00Z]").await;
    assert_eq!(after.len() as u64, total);
    assert!(before.is_empty());
}

#[tokio::test]
async fn order_by_sorts_descending() {
    let sb = TestSandbox::demo().await;
    let items = sb
        .api()
        .list(&format!(
            "company/companies?pageSize=1000&orderBy={}",
            encode("name desc")
        ))
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
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let board = api.find_id("service/boards", "name = \"Help Desk\"").await;
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
    let sb = TestSandbox::demo().await;
    let contacts = sb
        .api()
        .list(&format!(
            "company/contacts?pageSize=1000&childConditions={}",
            encode("communicationItems/value like \"%@acme.example\"")
        ))
        .await;
    assert_eq!(contacts.len(), 2, "{contacts:?}");
    assert!(
        contacts
            .iter()
            .all(|c| c["company"]["identifier"] == "AcmeCorp"),
        "{contacts:?}"
    );
}

#[tokio::test]
async fn a_malformed_conditions_string_gets_400_naming_the_position() {
    let sb = TestSandbox::demo().await;
    let reply = sb
        .api()
        .get(&format!(
            "company/companies?conditions={}",
            encode("name = \"Acme\" and")
        ))
        .await
        .expect_status(400);
    let message = reply.message();
    assert!(message.contains("position"), "{message}");
    assert!(message.contains("conditions"), "{message}");
}

#[tokio::test]
async fn a_condition_on_an_unknown_field_gets_400_naming_it() {
    let sb = TestSandbox::demo().await;
    let reply = sb
        .api()
        .get(&format!(
            "company/companies?conditions={}",
            encode("nosuchfield = 1")
        ))
        .await
        .expect_status(400);
    assert!(reply.message().contains("nosuchfield"), "{}", reply.text);
}

#[tokio::test]
async fn an_order_by_on_an_unknown_field_gets_400_naming_it() {
    let sb = TestSandbox::demo().await;
    let reply = sb
        .api()
        .get(&format!(
            "company/companies?orderBy={}",
            encode("nosuchfield asc")
        ))
        .await
        .expect_status(400);
    assert!(reply.message().contains("nosuchfield"), "{}", reply.text);
}

#[tokio::test]
async fn a_quote_inside_a_string_is_escaped_with_a_backslash() {
    let sb = TestSandbox::demo().await;
    let api = sb.api();
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
    let sb = TestSandbox::demo().await;
    let api = sb.api();
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
    let hits = api
        .list(&format!(
            "company/companies?customFieldConditions={}",
            encode("caption=\"Region\" AND value=\"EU\"")
        ))
        .await;

    // Assert
    assert_eq!(strings(&hits, "identifier"), vec!["EuCo"]);
}

async fn tickets_where(api: &Api, conditions: &str) -> Vec<Value> {
    api.list(&format!(
        "service/tickets?pageSize=1000&conditions={}",
        encode(conditions)
    ))
    .await
}

#[tokio::test]
async fn last_updated_filters_without_the_info_prefix() {
    // ConnectWise takes `lastUpdated` as a condition field (the reference's own example, and
    // how sync clients such as django-connectwise ask for changes since their last run).
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let all = api.list("service/tickets?pageSize=1000").await;
    let reply = api
        .get(&format!(
            "service/tickets?pageSize=1000&conditions={}",
            encode("lastUpdated > [2000-01-01T00:00:00Z]")
        ))
        .await
        .expect_status(200);
    assert_eq!(reply.items(), all.as_slice());
    assert!(
        tickets_where(&api, "lastUpdated < [2000-01-01T00:00:00Z]")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn the_reference_examples_filter_as_written() {
    // Arrange: close one Help Desk ticket.
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let (all, _) = close_first_ticket(&api).await;
    let acme = api
        .find_id("company/companies", "identifier = \"AcmeCorp\"")
        .await;

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
    let sb = TestSandbox::start(connectwise_sandbox::SandboxConfig {
        seed: Some(connectwise_sandbox::Seed::Bench {
            companies: 100,
            tickets: 25_000,
        }),
        ..connectwise_sandbox::SandboxConfig::ephemeral()
    })
    .await;
    let api = sb.api();
    // The `or` keeps the reference index out of it, so this is a full scan.
    let conditions = encode("(company/id in (7, 8, 9, 10, 11) or id < 0) and closedFlag = false");

    // Act
    let tickets = api
        .list(&format!(
            "service/tickets?pageSize=1000&fields=id,company/id,closedFlag&conditions={conditions}"
        ))
        .await;
    let count = api
        .fetch(&format!("service/tickets/count?conditions={conditions}"))
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
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let acme = api
        .find_id("company/companies", "identifier = \"AcmeCorp\"")
        .await;
    let other = api
        .find_id("company/companies", "identifier = \"BlueRidge\"")
        .await;
    let ticket = api
        .create(
            "service/tickets",
            json!({"summary": "Moves", "board": {"name": "Help Desk"}, "company": {"id": acme}}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
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
    api.patch(
        &format!("service/tickets/{ticket}"),
        json!([{"op": "replace", "path": "company", "value": {"id": other}}]),
    )
    .await
    .expect_status(200);
    assert!(!has(
        tickets_where(&api, &format!("company/id = {acme}")).await
    ));
    assert!(has(tickets_where(
        &api,
        &format!("company/id = {other} and summary = \"Moves\"")
    )
    .await));
    let count = api
        .fetch(&format!(
            "service/tickets/count?conditions={}",
            encode(&format!("company/id = {other} and summary = \"Moves\""))
        ))
        .await;
    assert_eq!(count["count"], 1);
    // …and gone once deleted.
    api.delete(&format!("service/tickets/{ticket}"))
        .await
        .expect_status(204);
    assert!(!has(
        tickets_where(&api, &format!("company/id = {other}")).await
    ));
}
