//! Levels narrower than All: `My` on service tickets (only the member's own), structure
//! levels below Corporate (only its territory's companies), and keys minted only for members
//! whose role grants no more than the minting member's own.

use connectwise_sandbox::{Grant, Level, Preset};
use serde_json::json;

use crate::helpers::{Api, Reply, TestSandbox, demo, ids, replace, ticket_body, unique};
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
    let mine = api.create_id("service/tickets", ticket_body("Mine")).await;
    let theirs = admin
        .create_id("service/tickets", ticket_body("Theirs"))
        .await;
    (admin, api, mine, theirs)
}

#[tokio::test]
async fn level_my_on_service_tickets_inquire_lists_only_the_members_own_tickets() {
    // Arrange: seed 004's role, but inquire on tickets only at level My.
    let sb = TestSandbox::demo().await;
    let (admin, api, mine, theirs) = my_ticket_and_theirs(&sb, TICKETS_INQUIRE).await;

    // Act
    let listed = api.list("service/tickets?pageSize=1000").await;
    let count = api.fetch("service/tickets/count").await;

    // Assert
    assert_eq!(ids(&listed), vec![mine]);
    assert_eq!(count, json!({"count": 1}));
    for (ticket, status) in [(mine, 200), (theirs, 403)] {
        api.get_expecting(&format!("service/tickets/{ticket}"), status)
            .await;
    }
    assert!(admin.list("service/tickets?pageSize=1000").await.len() > 2);
}

#[tokio::test]
async fn level_my_on_service_tickets_edit_allows_only_the_members_own_tickets() {
    // Arrange
    let sb = TestSandbox::demo().await;
    let (admin, api, mine, theirs) = my_ticket_and_theirs(&sb, TICKETS_EDIT).await;
    let rename = replace("summary", json!("Renamed"));
    let (mine, theirs) = (
        format!("service/tickets/{mine}"),
        format!("service/tickets/{theirs}"),
    );

    // Act
    let own = api.patch(&mine, rename.clone()).await;
    let other = api.patch(&theirs, rename).await;

    // Assert
    own.expect_status(200);
    other.expect_status(403);
    assert_eq!(admin.fetch(&theirs).await["summary"], "Theirs");
}

#[tokio::test]
async fn a_member_below_corporate_level_sees_only_its_territorys_companies_and_their_records() {
    // Arrange: Acme in territory 5, a ticket there and one at Blue Ridge (no territory), and
    // an admin-role member confined by its Level to location 5.
    let (sb, admin) = demo().await;
    let acme = admin.company_id("AcmeCorp").await;
    let blue = admin.company_id("BlueRidge").await;
    let tampa = json!({"id": 5, "name": "Tampa"});
    admin
        .update(
            &format!("company/companies/{acme}"),
            replace("territory", tampa.clone()),
        )
        .await;
    let ticket_at = |summary: &str, company: i64| {
        let mut body = ticket_body(summary);
        body["company"] = json!({"id": company});
        body
    };
    let at_acme = admin
        .create_id("service/tickets", ticket_at("Scoped", acme))
        .await;
    let at_blue = admin
        .create_id("service/tickets", ticket_at("Scoped", blue))
        .await;
    let (member, creds) = sb.api_member(&unique("Regional"), "Admin").await;
    let location = json!([
        {"op": "replace", "path": "structureLevel", "value": {"id": 3, "name": "Location"}},
        {"op": "replace", "path": "securityLocation", "value": tampa}
    ]);
    admin
        .update(&format!("system/members/{member}"), location)
        .await;
    let api = sb.api_as(&creds);

    // Act
    let companies = api.list("company/companies?pageSize=1000").await;
    let count = api.fetch("company/companies/count").await;
    let tickets = api
        .list("service/tickets?pageSize=1000&conditions=summary=\"Scoped\"")
        .await;

    // Assert: only Acme and its records…
    assert_eq!(ids(&companies), vec![acme]);
    assert_eq!(count, json!({"count": 1}));
    assert_eq!(ids(&tickets), vec![at_acme]);
    for (path, status) in [
        (format!("company/companies/{acme}"), 200),
        (format!("company/companies/{blue}"), 404),
        (format!("service/tickets/{at_blue}"), 404),
        (format!("service/tickets/{at_blue}/notes"), 404),
    ] {
        api.get_expecting(&path, status).await;
    }
    // …no writes outside the territory, and nothing written when refused…
    let refused = api
        .post("service/tickets", ticket_at("Elsewhere", blue))
        .await;
    let to_blue = replace("company", json!({"id": blue}));
    let moved = api
        .patch(&format!("service/tickets/{at_acme}"), to_blue)
        .await;
    for reply in [refused, moved] {
        let reply = reply.expect_status(400);
        assert_eq!(
            reply.field_errors()[0]["field"],
            "company",
            "{}",
            reply.text
        );
    }
    assert_eq!(
        admin.fetch(&format!("service/tickets/{at_acme}")).await["company"]["id"],
        acme
    );
    // …while a Corporate-level member still sees every company.
    assert!(admin.list("company/companies?pageSize=1000").await.len() > 25);
}

/// Asks for a new key for `member`, as the member `api` calls as.
async fn mint(api: &Api, member: i64) -> Reply {
    let tokens = format!("system/members/{member}/tokens");
    api.post(&tokens, json!({})).await
}

#[tokio::test]
async fn a_member_mints_keys_only_for_members_whose_role_grants_no_more_than_its_own() {
    let (sb, admin) = demo().await;
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
        mint(&manager, member).await.expect_status(201);
    }
    // …but not for a member whose role grants more (seed 004's), nor for an admin.
    let (wider, _) = sb.member_with_role(&Preset::BillingTickets.grants()).await;
    let refused = mint(&manager, wider).await.expect_status(403);
    assert!(
        refused.text.contains("may not make keys for this member"),
        "{}",
        refused.text
    );
    let sandbox_admin = "identifier = \"SandboxAdmin\"";
    let admin_member = admin.find_id("system/members", sandbox_admin).await;
    mint(&manager, admin_member).await.expect_status(403);
}
