//! The service and system endpoints' life cycles (boards, their statuses and types,
//! priorities, tickets, notes, callbacks), through the conforming client as in `crud.rs`.

use serde_json::json;

use crate::crud::{Cycle, demo, replace};
use crate::helpers::unique;

#[tokio::test]
async fn boards_offer_the_full_life_cycle_and_take_their_statuses_with_them() {
    let (_sb, api) = demo().await;
    let id = Cycle {
        collection: "service/boards",
        create: json!({"name": unique("Board")}),
        replace: json!({"name": unique("Board")}),
        patch: replace("name", json!("Patched board")),
        patched: json!({"name": "Patched board"}),
    }
    .run(&api)
    .await;
    api.get(&format!("service/boards/{id}/statuses"))
        .await
        .expect_status(404);
}

#[tokio::test]
async fn board_statuses_offer_the_full_life_cycle() {
    let (_sb, api) = demo().await;
    let board = api.find_id("service/boards", "name = \"Help Desk\"").await;
    let collection = format!("service/boards/{board}/statuses");
    Cycle {
        collection: &collection,
        create: json!({"name": unique("Status"), "closedStatus": false}),
        replace: json!({"name": unique("Status"), "closedStatus": true}),
        patch: replace("name", json!("Patched status")),
        patched: json!({"name": "Patched status", "board": {"id": board}}),
    }
    .run(&api)
    .await;
}

#[tokio::test]
async fn board_types_offer_the_full_life_cycle() {
    let (_sb, api) = demo().await;
    let board = api.find_id("service/boards", "name = \"Alerts\"").await;
    let collection = format!("service/boards/{board}/types");
    Cycle {
        collection: &collection,
        create: json!({"name": unique("Type")}),
        replace: json!({"name": unique("Type")}),
        patch: replace("name", json!("Patched type")),
        patched: json!({"name": "Patched type", "board": {"id": board}}),
    }
    .run(&api)
    .await;
}

#[tokio::test]
async fn priorities_offer_the_full_life_cycle() {
    let (_sb, api) = demo().await;
    Cycle {
        collection: "service/priorities",
        create: json!({"name": unique("Priority"), "color": "Blue", "sortOrder": 9}),
        replace: json!({"name": unique("Priority"), "color": "Purple"}),
        patch: replace("color", json!("Gray")),
        patched: json!({"color": "Gray"}),
    }
    .run(&api)
    .await;
}

#[tokio::test]
async fn tickets_offer_the_full_life_cycle() {
    let (_sb, api) = demo().await;
    let board = api.find_id("service/boards", "name = \"Help Desk\"").await;
    let acme = api
        .find_id("company/companies", "identifier = \"AcmeCorp\"")
        .await;
    Cycle {
        collection: "service/tickets",
        create: json!({
            "summary": "VPN drops every hour",
            "board": {"name": "Help Desk"},
            "company": {"identifier": "AcmeCorp"},
        }),
        replace: json!({
            "summary": "VPN drops every hour (site B)",
            "board": {"id": board},
            "company": {"id": acme},
        }),
        patch: replace("summary", json!("VPN fixed?")),
        patched: json!({"summary": "VPN fixed?", "board": {"id": board, "name": "Help Desk"}}),
    }
    .run(&api)
    .await;
}

#[tokio::test]
async fn ticket_notes_offer_the_full_life_cycle() {
    let (_sb, api) = demo().await;
    let ticket = api
        .create(
            "service/tickets",
            json!({"summary": "Notes", "board": {"name": "Help Desk"}, "company": {"identifier": "AcmeCorp"}}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let collection = format!("service/tickets/{ticket}/notes");
    Cycle {
        collection: &collection,
        create: json!({"text": "Called the user", "detailDescriptionFlag": true}),
        replace: json!({"text": "Called the user twice", "internalAnalysisFlag": true}),
        patch: replace("text", json!("Called the user three times")),
        patched: json!({"text": "Called the user three times", "ticketId": ticket}),
    }
    .run(&api)
    .await;
}

#[tokio::test]
async fn callbacks_offer_the_full_life_cycle() {
    let (_sb, api) = demo().await;
    Cycle {
        collection: "system/callbacks",
        create: json!({
            "url": "https://hooks.example.invalid/cw",
            "type": "ticket",
            "level": "owner",
            "objectId": 0,
            "description": "tickets",
        }),
        replace: json!({
            "url": "https://hooks.example.invalid/cw2",
            "type": "company",
            "level": "owner",
            "objectId": 0,
            "description": "companies",
        }),
        patch: replace("inactiveFlag", json!(true)),
        patched: json!({"inactiveFlag": true, "type": "company"}),
    }
    .run(&api)
    .await;
}
