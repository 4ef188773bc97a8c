//! A settings document's changes written in one transaction: all of them, or none.

use cwbridge_store::{
    AlertPolicyRecord, MappingRecord, SettingsWrite, StoredConnection, TicketSettingsRecord,
};

use super::with_acme;

fn mapping(account: &str, company_id: i64) -> MappingRecord {
    MappingRecord {
        external_id: account.into(),
        company_id,
        company_name: format!("Company {company_id}"),
        agreement_id: None,
    }
}

#[tokio::test]
async fn a_settings_write_is_stored_whole_or_not_at_all() {
    with_acme(async |store, t, label| {
        for account in ["g1", "g2", "g3"] {
            store
                .put_account(t, account, account, &[], &[])
                .await
                .unwrap();
        }
        store.put_mapping(t, &mapping("g3", 3)).await.unwrap();
        let write = SettingsWrite {
            connection: Some(StoredConnection {
                site: "cw.example.com".into(),
                company_id: "acme".into(),
                public_key: "pub".into(),
                private_key_sealed: "sealed".into(),
                client_id: "client".into(),
                updated_at: 0,
            }),
            tickets: Some(TicketSettingsRecord {
                board_id: 1,
                board_name: "Help Desk".into(),
                status_id: 2,
                status_name: "New".into(),
                priority_id: 3,
                priority_name: "Normal".into(),
                type_id: None,
                type_name: None,
                signature: "cwbridge".into(),
            }),
            mappings: vec![mapping("g1", 1), mapping("g2", 2)],
            unmapped: vec!["g3".into()],
            routes: vec![("g1".into(), r#"["spf"]"#.into())],
            policies: vec![AlertPolicyRecord {
                alert_type: "spf".into(),
                note_on_resolve: true,
                recur_after_close: "reopen".into(),
            }],
            ..SettingsWrite::default()
        };
        // A mapping of an account that is not there fails the whole write.
        let mut failing = write.clone();
        failing.mappings.push(mapping("gone", 4));
        assert!(store.put_settings(t, &failing).await.is_err(), "{label}");
        assert!(store.connection(t).await.unwrap().is_none(), "{label}");
        assert!(store.ticket_settings(t).await.unwrap().is_none());
        assert_eq!(store.mappings(t).await.unwrap(), vec![mapping("g3", 3)]);
        assert!(store.alert_routes(t).await.unwrap().is_empty());

        store.put_settings(t, &write).await.unwrap();
        assert_eq!(store.mappings(t).await.unwrap(), write.mappings, "{label}");
        assert_eq!(store.alert_routes(t).await.unwrap(), write.routes);
        assert_eq!(store.alert_policies(t).await.unwrap(), write.policies);
        assert_eq!(store.ticket_settings(t).await.unwrap(), write.tickets);
        let undo = SettingsWrite {
            unrouted: vec!["g1".into()],
            unset_policies: vec!["spf".into()],
            ..SettingsWrite::default()
        };
        store.put_settings(t, &undo).await.unwrap();
        assert!(store.alert_routes(t).await.unwrap().is_empty());
        assert!(store.alert_policies(t).await.unwrap().is_empty());
        assert_eq!(store.account_ids(t).await.unwrap(), ["g1", "g2", "g3"]);
    })
    .await;
}
