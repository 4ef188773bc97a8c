//! The service and system endpoints' life cycles (boards, their statuses and types,
//! priorities, tickets, notes, callbacks), through the conforming client as in `crud.rs`.

use serde_json::json;

use crate::crud::{Cycle, demo};
use crate::helpers::{replace, ticket_body, unique};

#[tokio::test]
async fn boards_offer_the_full_life_cycle_and_take_their_statuses_with_them() {
    let (_sb, api) = demo().await;
    let no_fields = || [json!({}), json!({}), json!({})];
    let id = Cycle::renamed("service/boards", "Board", no_fields())
        .run(&api)
        .await;
    api.get_expecting(&format!("service/boards/{id}/statuses"), 404)
        .await;
}

#[tokio::test]
async fn service_and_system_collections_offer_the_full_life_cycle() {
    // Arrange: the boards whose statuses and types cycle, and a ticket for notes.
    let (_sb, api) = demo().await;
    let help_desk = api.board_id("Help Desk").await;
    let statuses = format!("service/boards/{help_desk}/statuses");
    let on_help_desk = json!({"board": {"id": help_desk}});
    let alerts = api.board_id("Alerts").await;
    let types = format!("service/boards/{alerts}/types");
    let on_alerts = json!({"board": {"id": alerts}});
    let acme = api.company_id("AcmeCorp").await;
    let ticket = api.create_id("service/tickets", ticket_body("Notes")).await;
    let notes = format!("service/tickets/{ticket}/notes");
    let closed = |flag: bool| json!({"closedStatus": flag});

    // Act / Assert: each collection in turn.
    for cycle in [
        Cycle::renamed(
            &statuses,
            "Status",
            [closed(false), closed(true), on_help_desk],
        ),
        Cycle::renamed(&types, "Type", [json!({}), json!({}), on_alerts]),
        Cycle {
            collection: "service/priorities",
            create: json!({"name": unique("Priority"), "color": "Blue", "sortOrder": 9}),
            replace: json!({"name": unique("Priority"), "color": "Purple"}),
            patch: replace("color", json!("Gray")),
            patched: json!({"color": "Gray"}),
        },
        Cycle {
            collection: "service/tickets",
            create: ticket_body("VPN drops every hour"),
            replace: json!({
                "summary": "VPN drops every hour (site B)",
                "board": {"id": help_desk},
                "company": {"id": acme},
            }),
            patch: replace("summary", json!("VPN fixed?")),
            patched: json!({"summary": "VPN fixed?", "board": {"id": help_desk, "name": "Help Desk"}}),
        },
        Cycle {
            collection: &notes,
            create: json!({"text": "Called the user", "detailDescriptionFlag": true}),
            replace: json!({"text": "Called the user twice", "internalAnalysisFlag": true}),
            patch: replace("text", json!("Called the user three times")),
            patched: json!({"text": "Called the user three times", "ticketId": ticket}),
        },
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
        },
    ] {
        cycle.run(&api).await;
    }
}
