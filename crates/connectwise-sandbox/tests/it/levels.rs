//! Levels narrower than All: `My` on service tickets (only the member's own), structure
//! levels below Corporate (only its territory's companies), and keys minted only for members
//! whose role grants no more than the minting member's own.

use connectwise_sandbox::{Grant, Level, Preset};
use serde_json::json;

use crate::helpers::{Api, TestSandbox, unique};
use crate::roles::{Need, TICKETS_EDIT, TICKETS_INQUIRE, is};

/// Seed 004's role with one Service Tickets level lowered to My, a member holding it, one
/// ticket that member entered and one the admin entered: `(admin, member, mine, theirs)`.
async fn my_ticket_and_theirs(sb: &TestSandbox, lowered: Need) -> (Api, Api, i64, i64) {
    let admin = sb.api();
    let mut grants = Preset::BillingTickets.grants();
    let tickets = grants.iter_mut().find(|g| is(g, lowered)).unwrap();
    tickets.levels.set(lowered.action, Level::My);
    let (_, creds) = sb.member_with_role(&grants).await;
    let api = sb.api_as(&creds);
    let body = |summary: &str| json!({"summary": summary, "board": {"name": "Help Desk"}, "company": {"identifier": "AcmeCorp"}});
    let mine = api.create("service/tickets", body("Mine")).await["id"]
        .as_i64()
        .unwrap();
    let theirs = admin.create("service/tickets", body("Theirs")).await["id"]
        .as_i64()
        .unwrap();
    (admin, api, mine, theirs)
}

#[tokio::test]
async fn level_my_on_service_tickets_inquire_lists_only_the_members_own_tickets() {
    // Arrange: seed 004's role, but inquire on tickets only at level My.
    let sb = TestSandbox::demo().await;
    let (admin, api, mine, theirs) = my_ticket_and_theirs(&sb, TICKETS_INQUIRE).await;

    // Act
    let listed = api
        .get("service/tickets?pageSize=1000")
        .await
        .expect_status(200);
    let count = api.fetch("service/tickets/count").await;

    // Assert
    assert_eq!(listed.ids(), vec![mine]);
    assert_eq!(count, json!({"count": 1}));
    api.get(&format!("service/tickets/{mine}"))
        .await
        .expect_status(200);
    api.get(&format!("service/tickets/{theirs}"))
        .await
        .expect_status(403);
    assert!(admin.list("service/tickets?pageSize=1000").await.len() > 2);
}

#[tokio::test]
async fn level_my_on_service_tickets_edit_allows_only_the_members_own_tickets() {
    // Arrange
    let sb = TestSandbox::demo().await;
    let (admin, api, mine, theirs) = my_ticket_and_theirs(&sb, TICKETS_EDIT).await;
    let rename = json!([{"op": "replace", "path": "summary", "value": "Renamed"}]);

    // Act
    let own = api
        .patch(&format!("service/tickets/{mine}"), rename.clone())
        .await;
    let other = api
        .patch(&format!("service/tickets/{theirs}"), rename)
        .await;

    // Assert
    own.expect_status(200);
    other.expect_status(403);
    assert_eq!(
        admin.fetch(&format!("service/tickets/{theirs}")).await["summary"],
        "Theirs"
    );
}

#[tokio::test]
async fn a_member_below_corporate_level_sees_only_its_territorys_companies_and_their_records() {
    // Arrange: Acme in territory 5, a ticket there and one at Blue Ridge (no territory), and
    // an admin-role member confined by its Level to location 5.
    let sb = TestSandbox::demo().await;
    let admin = sb.api();
    let acme = admin
        .find_id("company/companies", "identifier = \"AcmeCorp\"")
        .await;
    let blue = admin
        .find_id("company/companies", "identifier = \"BlueRidge\"")
        .await;
    admin
        .patch(
            &format!("company/companies/{acme}"),
            json!([{"op": "replace", "path": "territory", "value": {"id": 5, "name": "Tampa"}}]),
        )
        .await
        .expect_status(200);
    let ticket_at = |company: i64| {
        let admin = admin.clone();
        async move {
            admin
                .create(
                    "service/tickets",
                    json!({"summary": "Scoped", "board": {"name": "Help Desk"}, "company": {"id": company}}),
                )
                .await["id"]
                .as_i64()
                .unwrap()
        }
    };
    let at_acme = ticket_at(acme).await;
    let at_blue = ticket_at(blue).await;
    let (member, creds) = sb.api_member(&unique("Regional"), "Admin").await;
    admin
        .patch(
            &format!("system/members/{member}"),
            json!([
                {"op": "replace", "path": "structureLevel", "value": {"id": 3, "name": "Location"}},
                {"op": "replace", "path": "securityLocation", "value": {"id": 5, "name": "Tampa"}}
            ]),
        )
        .await
        .expect_status(200);
    let api = sb.api_as(&creds);

    // Act
    let companies = api.list("company/companies?pageSize=1000").await;
    let count = api.fetch("company/companies/count").await;
    let tickets = api
        .list("service/tickets?pageSize=1000&conditions=summary=\"Scoped\"")
        .await;

    // Assert: only Acme and its records…
    assert_eq!(crate::helpers::ids(&companies), vec![acme]);
    assert_eq!(count, json!({"count": 1}));
    assert_eq!(crate::helpers::ids(&tickets), vec![at_acme]);
    api.get(&format!("company/companies/{acme}"))
        .await
        .expect_status(200);
    api.get(&format!("company/companies/{blue}"))
        .await
        .expect_status(404);
    api.get(&format!("service/tickets/{at_blue}"))
        .await
        .expect_status(404);
    api.get(&format!("service/tickets/{at_blue}/notes"))
        .await
        .expect_status(404);
    // …no writes outside the territory, and nothing written when refused…
    let refused = api
        .post(
            "service/tickets",
            json!({"summary": "Elsewhere", "board": {"name": "Help Desk"}, "company": {"id": blue}}),
        )
        .await
        .expect_status(400);
    assert_eq!(refused.field_errors()[0]["field"], "company");
    let moved = api
        .patch(
            &format!("service/tickets/{at_acme}"),
            json!([{"op": "replace", "path": "company", "value": {"id": blue}}]),
        )
        .await
        .expect_status(400);
    assert_eq!(moved.field_errors()[0]["field"], "company");
    assert_eq!(
        admin.fetch(&format!("service/tickets/{at_acme}")).await["company"]["id"],
        acme
    );
    // …while a Corporate-level member still sees every company.
    assert!(admin.list("company/companies?pageSize=1000").await.len() > 25);
}

#[tokio::test]
async fn a_member_mints_keys_only_for_members_whose_role_grants_no_more_than_its_own() {
    let sb = TestSandbox::demo().await;
    // A role that manages members (System > Members: inquire and add) and nothing else…
    let members: Grant = "System/Member Maintenance: inquire=All, add=All"
        .parse()
        .unwrap();
    let (_, manager) = sb.member_with_role(std::slice::from_ref(&members)).await;
    let manager = sb.api_as(&manager);
    // …may make keys for a member of the same role, or of a narrower one…
    let (peer, _) = sb.member_with_role(std::slice::from_ref(&members)).await;
    let narrower: Grant = "System/Member Maintenance: inquire=All".parse().unwrap();
    let (narrow, _) = sb.member_with_role(&[narrower]).await;
    for member in [peer, narrow] {
        manager
            .post(&format!("system/members/{member}/tokens"), json!({}))
            .await
            .expect_status(201);
    }
    // …but not for a member whose role grants more (seed 004's), nor for an admin.
    let (wider, _) = sb.member_with_role(&Preset::BillingTickets.grants()).await;
    let refused = manager
        .post(&format!("system/members/{wider}/tokens"), json!({}))
        .await
        .expect_status(403);
    assert!(
        refused.text.contains("may not make keys for this member"),
        "{}",
        refused.text
    );
    let admin_member = sb
        .api()
        .find_id("system/members", "identifier = \"SandboxAdmin\"")
        .await;
    manager
        .post(&format!("system/members/{admin_member}/tokens"), json!({}))
        .await
        .expect_status(403);
}
