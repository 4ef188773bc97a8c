//! Every call on a collection, and what ConnectWise's refusals turn into.

use connectwise_client::conditions::field;
use connectwise_client::models::{Company, ServiceNote};
use connectwise_client::{ErrorKind, Patch};

use crate::helpers::{Site, assert_error, ticket};

#[tokio::test]
async fn a_ticket_is_made_read_changed_replaced_and_deleted() {
    let site = Site::demo().await;
    let client = site.client();
    let tickets = client.service().tickets();

    // Create: references by name and identifier come back with ids.
    let made = tickets.create(&ticket("Printer offline")).await.unwrap();
    let id = made.id.expect("an id");
    assert!(made.company.as_ref().and_then(|c| c.id).is_some());
    assert!(
        made.info
            .as_ref()
            .is_some_and(|i| i.contains_key("lastUpdated"))
    );

    // Get and patch.
    assert_eq!(tickets.get(id).await.unwrap(), made);
    let patched = tickets
        .patch(
            id,
            &Patch::new().replace("summary", "Printer offline (2nd floor)"),
        )
        .await
        .unwrap();
    assert_eq!(
        patched.summary.as_deref(),
        Some("Printer offline (2nd floor)")
    );

    // Replace what was read (its read-only fields are not sent back).
    let mut whole = tickets.get(id).await.unwrap();
    whole.summary = Some("Replaced".into());
    let replaced = tickets.replace(id, &whole).await.unwrap();
    assert_eq!(replaced.summary.as_deref(), Some("Replaced"));
    assert_eq!(replaced.company, whole.company);

    // A diff of two typed records patches just what changed.
    let mut edited = replaced.clone();
    edited.budget_hours = Some(2.5);
    let diff = Patch::diff(&replaced, &edited);
    assert_eq!(diff.operations().len(), 1, "{diff:?}");
    let after_diff = tickets.patch(id, &diff).await.unwrap();
    assert_eq!(after_diff.budget_hours, Some(2.5));

    // Notes, nested under the ticket.
    let notes = client.service().ticket_notes(id);
    notes
        .create(&ServiceNote {
            text: Some("Rebooted the printer".into()),
            detail_description_flag: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    let listed = notes.list().send().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].text.as_deref(), Some("Rebooted the printer"));

    // Delete.
    tickets.delete(id).await.unwrap();
    let gone = tickets.get(id).await.unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn a_rejected_record_names_its_fields() {
    let site = Site::demo().await;
    let mut no_summary = ticket("x");
    no_summary.summary = None;
    let err = site
        .client()
        .service()
        .tickets()
        .create(&no_summary)
        .await
        .unwrap_err();
    assert_error(&err, ErrorKind::Validation, "summary");
    assert_eq!(err.code(), Some("InvalidObject"));
    assert!(
        err.field_errors().iter().any(|f| f.field == "summary"),
        "{err}"
    );
}

#[tokio::test]
async fn a_read_only_field_cannot_be_patched() {
    let site = Site::demo().await;
    let err = site
        .client()
        .service()
        .tickets()
        .patch(1, &Patch::new().replace("closedFlag", true))
        .await
        .unwrap_err();
    assert_error(&err, ErrorKind::Config, "closedFlag");
}

#[tokio::test]
async fn conditions_from_the_builder_survive_quotes_and_ampersands() {
    let site = Site::demo().await;
    let companies = site.client().company().companies();
    let name = r#"Smith "Quoted" & Sons \ Co"#;
    let made = companies
        .create(&Company {
            identifier: Some("SmithQuoted".into()),
            name: Some(name.into()),
            ..Default::default()
        })
        .await
        .unwrap();

    let named = companies.list().conditions(field("name").eq(name));
    let found = named.send().await.unwrap();
    let count = named.count().await.unwrap();

    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, made.id);
    assert_eq!(count, 1);
}
