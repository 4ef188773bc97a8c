//! Tenants: made with a token shown once, found by it, and kept apart.

use cwbridge_engine::EngineError;

use crate::helpers::{Site, engines};

#[tokio::test]
async fn a_tenant_is_found_by_its_token_and_sees_only_its_own_connection() {
    let site = Site::demo().await;
    let input = site
        .api_member(
            "Isolated",
            &connectwise_sandbox::Preset::BillingTickets.grants(),
        )
        .await;
    for (engine, db) in engines(&site.config()).await {
        let a = engine.create_tenant("Acme MSP").await.unwrap();
        let b = engine.create_tenant("Beta MSP").await.unwrap();
        assert_ne!(a.token, b.token);
        assert_eq!(
            engine.authenticate(&a.token).await.unwrap().unwrap().id,
            a.tenant.id
        );
        assert!(
            engine
                .authenticate("cwb_not-a-token")
                .await
                .unwrap()
                .is_none()
        );

        engine.save_connection(a.tenant.id, &input).await.unwrap();
        let theirs = engine.connection(b.tenant.id).await.unwrap_err();
        assert!(
            matches!(theirs, EngineError::NotFound(_)),
            "{}: {theirs}",
            db.label
        );
        assert!(engine.last_check(b.tenant.id).await.unwrap().is_none());

        let dup = engine.create_tenant("Acme MSP").await.unwrap_err();
        assert!(matches!(dup, EngineError::Conflict(_)), "{dup}");
        let blank = engine.create_tenant("  ").await.unwrap_err();
        assert!(matches!(blank, EngineError::Invalid { ref field, .. } if field == "name"));
        db.cleanup().await;
    }
}
