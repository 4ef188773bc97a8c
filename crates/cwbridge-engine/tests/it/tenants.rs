//! Tenants: made with a token shown once, found by it, and kept apart.

use cwbridge_engine::EngineError;

use cwbridge_testkit::{Site, engines};

#[tokio::test]
async fn a_tenant_is_found_by_its_token_and_sees_only_its_own_connection() {
    let site = Site::demo().await;
    let input = site.seed_member("Isolated").await;
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

#[tokio::test]
async fn a_rotated_token_ends_the_old_token_and_the_tenants_sessions_only() {
    let site = Site::demo().await;
    for (engine, db) in engines(&site.config()).await {
        let a = engine.create_tenant("Acme MSP").await.unwrap();
        let b = engine.create_tenant("Beta MSP").await.unwrap();
        let (a_session, _) = engine.sign_in(&a.token).await.unwrap().unwrap();
        let (b_session, _) = engine.sign_in(&b.token).await.unwrap().unwrap();
        // The old token is remembered by this instance's cache: rotation must forget it.
        assert!(engine.authenticate(&a.token).await.unwrap().is_some());

        let new = engine.rotate_token(a.tenant.id).await.unwrap();

        assert!(
            engine.authenticate(&a.token).await.unwrap().is_none(),
            "{}",
            db.label
        );
        assert_eq!(
            engine.authenticate(&new).await.unwrap().unwrap().id,
            a.tenant.id
        );
        assert!(engine.session(&a_session).await.unwrap().is_none());
        assert!(engine.session(&b_session).await.unwrap().is_some());
        assert!(engine.authenticate(&b.token).await.unwrap().is_some());

        engine.disable_tenant(a.tenant.id).await.unwrap();
        assert!(engine.authenticate(&new).await.unwrap().is_none());
        assert!(matches!(
            engine.rotate_token(cwbridge_store::TenantId(999_999)).await,
            Err(EngineError::NotFound(_))
        ));
        db.cleanup().await;
    }
}
