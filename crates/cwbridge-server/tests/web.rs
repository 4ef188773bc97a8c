//! The wizard's pages over HTTP: signing in, sessions, forgery protection, escaping and
//! tenant isolation, on every database this machine offers. (Walking the four steps in a
//! real browser is `cwbridge`'s `tests/wizard.rs`.)

use cwbridge_engine::account::AccountInput;
use cwbridge_engine::alert::AlertInput;
use cwbridge_engine::{Engine, EngineConfig};
use cwbridge_testkit::{
    ServeOptions, Served, Site, connected_tenant, cookie, csrf, databases, local_fence,
};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, ORIGIN};

async fn serve(engine: Engine) -> Served {
    cwbridge_testkit::serve(engine, ServeOptions::default()).await
}

/// Serves, saying (or not) that browsers reach it over https (`--public-url https://…`).
async fn serve_at(engine: Engine, public_https: bool) -> Served {
    let options = ServeOptions {
        public_https,
        ..ServeOptions::default()
    };
    cwbridge_testkit::serve(engine, options).await
}

/// An engine over `db` that reaches nothing but the public internet and 127.0.0.1.
fn local_engine(db: &cwbridge_testkit::TestDb) -> Engine {
    let config = EngineConfig {
        fence: local_fence(),
        ..EngineConfig::default()
    };
    cwbridge_testkit::engine(db, &config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sessions_and_forgery_protection() {
    for db in databases().await {
        let engine = local_engine(&db);
        let msp = engine.create_tenant("MSP").await.unwrap();
        let site = serve(engine.clone()).await;
        let label = &db.label;

        // Signed out, every page leads to the sign-in form.
        let res = site
            .http
            .get(format!("{}/setup/connect", site.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{label}");
        assert_eq!(res.headers()[LOCATION], "/sign-in");

        // The sign-in form refuses a post without its own cookie, and a wrong token.
        let res = site
            .http
            .post(format!("{}/sign-in", site.base))
            .form(&[("csrf", "x"), ("token", msp.token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{label}");
        assert!(cookie(&res, "cwb_session").is_none());
        let page = site.sign_in_page().await;
        let res = site.post_sign_in(&page, "cwb_wrong").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{label}");
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("That token is not valid")
        );

        let session = site.sign_in(&msp.token).await;
        let (status, html) = site.get("/", &session).await;
        assert_eq!(status, StatusCode::OK, "{label}");
        assert!(html.contains("Signed in as <strong>MSP</strong>"), "{html}");
        let form_csrf = csrf(&html);

        // A form without the session's token, or from another origin, changes nothing.
        let post = |fields: Vec<(&'static str, String)>, origin: Option<&'static str>| {
            let mut req = site
                .http
                .post(format!("{}/setup/connect", site.base))
                .header(COOKIE, &session)
                .form(&fields);
            if let Some(o) = origin {
                req = req.header(ORIGIN, o);
            }
            req.send()
        };
        let typed = |csrf: &str| {
            vec![
                ("csrf", csrf.to_owned()),
                ("site", "cw.example".to_owned()),
                ("companyId", "msp".to_owned()),
                ("publicKey", "pub".to_owned()),
                ("privateKey", "s3cret-private-value".to_owned()),
                ("clientId", "client".to_owned()),
            ]
        };
        let res = post(typed("forged"), None).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{label}");
        let res = post(typed(&form_csrf), Some("https://evil.example"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{label}");
        assert!(
            engine.connection(msp.tenant.id).await.is_err(),
            "nothing was saved"
        );

        // A refused field is named, what was typed is kept, and nothing is saved.
        let mut fields = typed(&form_csrf);
        fields[1].1 = String::new();
        let res = post(fields, Some("http://will-not-match")).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{label}");
        let mut fields = typed(&form_csrf);
        fields[1].1 = String::new();
        let res = post(fields, None).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{label}");
        let html = res.text().await.unwrap();
        assert!(html.contains("give the ConnectWise site"), "{html}");
        assert!(html.contains(r#"id="site" name="site" value="""#), "{html}");
        assert!(html.contains(r#"value="pub""#), "what was typed is kept");
        assert!(
            !html.contains("s3cret-private-value"),
            "a private key is never shown back"
        );
        assert!(engine.connection(msp.tenant.id).await.is_err());

        // A site the outbound fence refuses gets the rule's sentence on the field.
        let mut fields = typed(&form_csrf);
        fields[1].1 = "0x7f.0.0.2:8443".into();
        let res = post(fields, None).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{label}");
        let html = res.text().await.unwrap();
        assert!(
            html.contains("127.0.0.2 is a loopback address; cwbridge connects only to public addresses unless the operator allows this network"),
            "{html}"
        );
        assert!(
            html.contains(r#"value="0x7f.0.0.2:8443""#),
            "what was typed is kept"
        );
        assert!(engine.connection(msp.tenant.id).await.is_err());

        // Pages carry headers against framing and caching.
        let res = site.open("/", &session).await;
        assert_eq!(res.headers()["x-frame-options"], "DENY");
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert!(
            res.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );

        // Signing out ends the session for good.
        let res = site.post_form("/sign-out", &session, &form_csrf, &[]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let (status, _) = site.get("/", &session).await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "{label}: the old cookie no longer works"
        );
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_escape_what_vendors_send_and_show_one_tenant() {
    for db in databases().await {
        let engine = local_engine(&db);
        let a = engine.create_tenant("A").await.unwrap();
        let b = engine.create_tenant("B").await.unwrap();
        engine
            .put_account(
                a.tenant.id,
                "g1",
                &AccountInput {
                    name: "<b>Acme</b>".into(),
                    units: vec!["acme.example".into()],
                    alert_types: vec!["dmarc".into()],
                },
            )
            .await
            .unwrap();
        engine
            .receive_alert(
                a.tenant.id,
                &AlertInput {
                    account: "g1".into(),
                    alert_type: "dmarc".into(),
                    key: None,
                    summary: "<img src=x onerror=alert(1)>".into(),
                    description: "d".into(),
                    resolved: false,
                },
            )
            .await
            .unwrap();
        let site = serve(engine.clone()).await;
        let session_a = site.sign_in(&a.token).await;
        let (status, html) = site.get("/alerts", &session_a).await;
        assert_eq!(status, StatusCode::OK, "{}", db.label);
        assert!(
            html.contains("&#60;img src=x onerror=alert(1)&#62;"),
            "{html}"
        );
        assert!(!html.contains("<img src=x"), "{html}");
        assert!(html.contains("&#60;b&#62;Acme&#60;/b&#62;"), "{html}");

        let session_b = site.sign_in(&b.token).await;
        let (_, html) = site.get("/alerts", &session_b).await;
        assert!(html.contains("No alerts yet"), "{html}");
        assert!(!html.contains("onerror"), "B never sees A's alerts");

        // Nor reaches them by id: A's alert, failed, and A's billing run.
        let alert = engine.alerts(a.tenant.id).await.unwrap()[0].id;
        let run = engine
            .store()
            .start_run(a.tenant.id, 30_000, None)
            .await
            .unwrap();
        engine
            .store()
            .finish_run(
                run,
                cwbridge_store::RunStatus::Done,
                r#"{"done":{},"failed":0}"#,
            )
            .await
            .unwrap();
        let retry = format!("/alerts/{alert}/retry");
        let res = site.post_form(&retry, &session_b, &csrf(&html), &[]).await;
        assert_eq!(res.status(), StatusCode::CONFLICT, "{}", db.label);
        let (status, html) = site.get(&format!("/billing/runs/{run}"), &session_b).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{html}");
        let (status, html) = site.get(&format!("/billing/runs/{run}"), &session_a).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_customers_are_mapped_and_routed_a_page_at_a_time() {
    let cw = Site::demo().await;
    let input = cw.seed_member("Integration").await;
    for (engine, db) in cwbridge_testkit::engines(&cw.config()).await {
        let msp = connected_tenant(&engine, "MSP", &input).await;
        let t = msp.tenant.id;
        for i in 0..60 {
            engine
                .put_account(
                    t,
                    &format!("g{i:02}"),
                    &AccountInput {
                        name: format!("Customer {i:02}"),
                        units: vec![format!("c{i:02}.example")],
                        alert_types: Vec::new(),
                    },
                )
                .await
                .unwrap();
        }
        let site = serve(engine.clone()).await;
        let session = site.sign_in(&msp.token).await;
        let rows = |html: &str| html.matches(r#"name="company:"#).count();

        let (status, html) = site.get("/setup/mapping", &session).await;
        assert_eq!(status, StatusCode::OK, "{}: {html}", db.label);
        assert_eq!(rows(&html), 50);
        assert!(html.contains("Page 1 of 2 (60 customers)"), "{html}");
        let (_, html) = site
            .get("/setup/mapping?show=unmapped&page=2&q=", &session)
            .await;
        assert_eq!(rows(&html), 10);
        assert!(html.contains("Customer 59"), "{html}");

        // Saving page 2 maps its row and comes back to page 2.
        let company = admin_company(&cw).await.to_string();
        let page_2 = [("show", "unmapped"), ("page", "2"), ("q", "")];
        let mut fields = page_2.to_vec();
        fields.push(("company:g59", &company));
        let res = site
            .post_form("/setup/mapping", &session, &csrf(&html), &fields)
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", db.label);
        let to = res.headers()[LOCATION].to_str().unwrap().to_owned();
        assert!(
            to.starts_with("/setup/mapping?show=unmapped&page=2"),
            "{to}"
        );
        let mapped = engine.accounts(t).await.unwrap();
        assert_eq!(mapped.iter().filter(|a| a.mapping.is_some()).count(), 1);
        let (_, html) = site.get(&to, &session).await;
        assert!(html.contains("Not mapped (59)"), "{html}");

        // Bulk accept, from page 2, comes back to page 2 too.
        let res = site
            .post_form("/setup/mapping/accept", &session, &csrf(&html), &page_2)
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", db.label);
        let to = res.headers()[LOCATION].to_str().unwrap();
        assert!(
            to.starts_with("/setup/mapping?show=unmapped&page=2"),
            "{to}"
        );

        // Step 4 pages and searches customers as step 3 does.
        let fieldsets = |html: &str| html.matches(r#"<fieldset class="alert-types">"#).count();
        let (status, html) = site.get("/setup/tickets", &session).await;
        assert_eq!(status, StatusCode::OK, "{}: {html}", db.label);
        assert_eq!(fieldsets(&html), 50, "{html}");
        assert!(html.contains("Page 1 of 2 (60 customers)"), "{html}");
        let (_, html) = site.get("/setup/tickets?page=2", &session).await;
        assert_eq!(fieldsets(&html), 10);
        let (_, html) = site.get("/setup/tickets?q=customer%205", &session).await;
        assert_eq!(fieldsets(&html), 10, "{html}");
        assert!(html.contains("Customer 55") && !html.contains("Customer 45"));

        // One choice applied to every customer the search matches, on every page of it.
        let form_csrf = csrf(&html);
        let post = async |fields: &[(&str, &str)]| {
            site.post_form("/setup/tickets/alerts", &session, &form_csrf, fields)
                .await
        };
        let res = post(&[
            ("q", "customer 5"),
            ("page", "1"),
            ("bulk", "only"),
            ("bulkTypes", "dmarc-failure, spf-failing"),
            ("matching", "1"),
            ("apply", "1"),
        ])
        .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", db.label);
        let to = res.headers()[LOCATION].to_str().unwrap();
        assert!(
            to.contains("q=customer%205") && to.contains("notice=alerts-saved"),
            "{to}"
        );
        let only = Some(vec!["dmarc-failure".to_owned(), "spf-failing".to_owned()]);
        for i in 50..60 {
            let route = engine.alert_route(t, &format!("g{i:02}")).await.unwrap();
            assert_eq!(route, only, "g{i:02}");
        }
        assert_eq!(engine.alert_route(t, "g49").await.unwrap(), None);

        // Or to the customers ticked; without a choice, nothing changes.
        let res = post(&[("select", "g01"), ("select", "g52"), ("apply", "1")]).await;
        assert!(
            res.headers()[LOCATION]
                .to_str()
                .unwrap()
                .contains("bulk-unchosen")
        );
        assert_eq!(engine.alert_route(t, "g52").await.unwrap(), only);
        let res = post(&[
            ("select", "g01"),
            ("select", "g52"),
            ("bulk", "none"),
            ("apply", "1"),
        ])
        .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(engine.alert_route(t, "g01").await.unwrap(), Some(vec![]));
        assert_eq!(engine.alert_route(t, "g52").await.unwrap(), Some(vec![]));
        assert_eq!(engine.alert_route(t, "g02").await.unwrap(), None);
        let (_, html) = site.get("/setup/tickets?q=customer%2052", &session).await;
        assert!(html.contains(r#"value="some" checked"#), "{html}");
        db.cleanup().await;
    }
}

/// A demo company's id, asked of the sandbox as its admin.
async fn admin_company(site: &Site) -> i64 {
    let companies = site.admin_client().company().companies().list().send();
    companies.await.unwrap()[0].id.unwrap()
}

#[tokio::test]
async fn cookies_are_secure_when_the_operator_says_browsers_use_https() {
    let db = databases().await.remove(0);
    let engine = cwbridge_testkit::engine(&db, &EngineConfig::default());
    let msp = engine.create_tenant("MSP").await.unwrap();
    for (public_https, secure) in [(false, false), (true, true)] {
        let site = serve_at(engine.clone(), public_https).await;
        let page = site.sign_in_page().await;
        let line = &page.cookie_line;
        assert_eq!(line.contains("Secure"), secure, "{line}");
        if public_https {
            // reqwest keeps no cookie jar here: the session cookie is read off the answer.
            let res = site.post_sign_in(&page, &msp.token).await;
            let (_, line) = cookie(&res, "cwb_session").expect("a session cookie");
            assert!(line.contains("Secure"), "{line}");
        }
    }
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_undone_from_its_page_once_its_plan_is_shown() {
    let sandbox = Site::demo().await;
    let input = sandbox.seed_member("Undoing").await;
    let (engine, db) = cwbridge_testkit::engines(&sandbox.config()).await.remove(0);
    let msp = connected_tenant(&engine, "MSP", &input).await;
    let t = msp.tenant.id;
    let acme = AccountInput {
        name: "Acme Corporation".into(),
        units: vec!["acme.example".into()],
        alert_types: Vec::new(),
    };
    engine.put_account(t, "g-acme", &acme).await.unwrap();
    let company = engine.lookup_companies(t, Some("AcmeCorp")).await.unwrap()[0].id;
    let mapping = cwbridge_engine::mapping::MappingInput {
        company_id: company,
        agreement_id: None,
    };
    engine.map_account(t, "g-acme", &mapping).await.unwrap();
    let run = engine.billing_apply(t, false).await.unwrap().run_id;
    let site = serve(engine.clone()).await;
    let session = site.sign_in(&msp.token).await;

    let (_, html) = site.get(&format!("/billing/runs/{run}"), &session).await;
    let undo = format!("/billing/runs/{run}/undo");
    assert!(html.contains(&format!("href=\"{undo}\"")), "{html}");
    // The undo's plan first: the line the run made is cancelled; nothing is written yet.
    let (status, html) = site.get(&undo, &session).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Cancel addition #"), "{html}");
    assert!(html.contains("Undo this run"), "{html}");
    assert_eq!(engine.billing_runs(t, None, 10).await.unwrap().len(), 1);

    let res = site.post_form(&undo, &session, &csrf(&html), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.ends_with("?notice=undone"), "{location}");
    let (_, html) = site.get(&location, &session).await;
    assert!(
        html.contains(&format!("This run undid <a href=\"/billing/runs/{run}\">")),
        "{html}"
    );
    // Undone once: nothing of the run is left to put back, and the page says why.
    let (_, html) = site.get(&undo, &session).await;
    assert!(
        html.contains("Nothing of this run can be put back now"),
        "{html}"
    );
    assert!(html.contains("undone already, by run"), "{html}");
    assert!(
        !html.contains("<button type=\"submit\" class=\"primary\">Undo"),
        "{html}"
    );
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhooks_page_lists_a_tenants_deliveries_and_no_one_elses() {
    for db in databases().await {
        let engine = local_engine(&db);
        let a = engine.create_tenant("A").await.unwrap();
        let b = engine.create_tenant("B").await.unwrap();
        let closed = cwbridge_store::NewWebhook {
            event_id: "evt_0123".into(),
            kind: "ticket.closed".into(),
            body: r#"{"ticket": {"id": 4242}}"#.into(),
        };
        let recorded = engine
            .store()
            .record_ticket(a.tenant.id, 4242, None, (true, 0), &[closed])
            .await
            .unwrap();
        assert!(recorded);
        let site = serve(engine.clone()).await;
        let session_a = site.sign_in(&a.token).await;
        let (status, html) = site.get("/webhooks", &session_a).await;
        assert_eq!(status, StatusCode::OK, "{}: {html}", db.label);
        for shown in ["ticket.closed", "4242", "queued", "Ticket events are off"] {
            assert!(html.contains(shown), "{shown}: {html}");
        }
        let session_b = site.sign_in(&b.token).await;
        let (_, html) = site.get("/webhooks", &session_b).await;
        assert!(
            html.contains("No webhooks yet.") && !html.contains("4242"),
            "{html}"
        );
        db.cleanup().await;
    }
}
