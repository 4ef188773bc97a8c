//! The alert queue in the store: claims, lanes in order, batches with idempotency keys,
//! received alerts joining their lanes, in-flight limits.

use cwbridge_store::{AlertRecord, Store, TenantId};

use super::{tenant, with_acme};

/// The next due alert of `tenant`, claimed by `worker` for a minute.
async fn claim(store: &Store, tenant: TenantId, worker: &str) -> Option<AlertRecord> {
    store.claim_alert(tenant, 60_000, worker).await.unwrap()
}

/// [`claim`], unless `tenant` already has two alerts claimed.
async fn claim_within_two(store: &Store, tenant: TenantId, worker: &str) -> Option<AlertRecord> {
    store
        .claim_alert_within(tenant, 60_000, worker, 2)
        .await
        .unwrap()
}

/// Finishes alert `id` as delivered (ticket 1); answers whether `worker`'s claim still held it.
async fn deliver(store: &Store, id: i64, worker: &str) -> bool {
    let delivered = cwbridge_store::AlertState::Delivered;
    store
        .finish_alert(id, worker, delivered, Some(1), Some("ticket"), None)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_alert_is_held_by_one_claim_and_a_lapsed_claim_cannot_finish_it() {
    with_acme(async |store, t, label| {
        let alert = |key: &str| queued(t, key, "s");
        let first = store.insert_alert(&alert("k")).await.unwrap();
        store.insert_alert(&alert("k")).await.unwrap();

        let a = store.claim_alert(t, 30, "A").await.unwrap().unwrap();
        assert_eq!(a.id, first);
        assert!(
            store.claim_alert(t, 30, "B").await.unwrap().is_none(),
            "{label}: one key at a time"
        );
        assert!(store.extend_claim(first, "A", 30).await.unwrap());
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;

        // A's claim lapsed (its worker died, say): B takes the alert over; A cannot finish it.
        let b = claim(store, t, "B").await.unwrap();
        assert_eq!(b.id, first);
        assert!(!deliver(store, first, "A").await);
        assert!(!store.extend_claim(first, "A", 30).await.unwrap());
        assert!(deliver(store, first, "B").await);
        let second = claim(store, t, "C").await.unwrap();
        assert_ne!(second.id, first);
    })
    .await;
}

#[tokio::test]
async fn a_keys_alerts_come_due_one_at_a_time_in_order_and_tenants_are_listed_once() {
    with_acme(async |store, t, label| {
        let u = tenant(store, "umbrella").await;
        let alert = |tenant, key: &str| queued(tenant, key, "s");
        let k1 = store.insert_alert(&alert(t, "k")).await.unwrap();
        let k2 = store.insert_alert(&alert(t, "k")).await.unwrap();
        let other = store.insert_alert(&alert(t, "other")).await.unwrap();
        let k3 = store.insert_alert(&alert(t, "k")).await.unwrap();
        store.insert_alert(&alert(u, "k")).await.unwrap();
        assert_eq!(
            store.tenants_with_queued_alerts(0, 10).await.unwrap(),
            vec![t, u],
            "{label}"
        );
        assert_eq!(
            store.tenants_with_queued_alerts(t.0, 10).await.unwrap(),
            vec![u]
        );

        // Two heads are due (k's first and other); k's later alerts wait.
        let a = claim(store, t, "A").await.unwrap();
        let b = claim(store, t, "B").await.unwrap();
        assert_eq!((a.id, b.id), (k1, other));
        assert!(claim(store, t, "C").await.is_none());

        // A transient failure keeps k's head in front; finishing it makes the next due.
        assert!(store.retry_alert(k1, "A", 0, "busy").await.unwrap());
        let again = claim(store, t, "A2").await.unwrap();
        assert_eq!(again.id, k1);
        assert!(
            store
                .finish_alert(
                    k1,
                    "A2",
                    cwbridge_store::AlertState::Failed,
                    None,
                    None,
                    Some("x")
                )
                .await
                .unwrap()
        );
        let next = claim(store, t, "D").await.unwrap();
        assert_eq!(next.id, k2);
        assert!(deliver(store, k2, "D").await);

        // The failed one, queued again, joins the back of its lane.
        assert!(store.requeue_alert(t, k1).await.unwrap());
        let next = claim(store, t, "E").await.unwrap();
        assert_eq!(next.id, k3);
        assert!(claim(store, t, "F").await.is_none());
        assert!(deliver(store, k3, "E").await);
        let last = claim(store, t, "G").await.unwrap();
        assert_eq!(last.id, k1);
        assert!(deliver(store, k1, "G").await);
        assert!(deliver(store, other, "B").await);
        // A finished alert is not finished twice.
        assert!(!deliver(store, other, "B").await);
        assert_eq!(
            store.tenants_with_queued_alerts(0, 10).await.unwrap(),
            vec![u]
        );
    })
    .await;
}

#[tokio::test]
async fn a_batch_keeps_each_keys_order_and_answers_repeated_idempotency_keys_once() {
    use cwbridge_store::Accepted;
    with_acme(async |store, t, label| {
        let alert = |key: &str, summary: &str| queued(t, key, summary);
        let earlier = store
            .insert_alert_once(&alert("old", "sent before"), Some("idem-0"))
            .await
            .unwrap();
        let Accepted::New(earlier) = earlier else {
            panic!()
        };
        let batch = vec![
            (alert("k", "1"), None),
            (alert("k", "2"), Some("idem-1".to_owned())),
            (alert("other", "3"), None),
            (alert("k", "4"), Some("idem-1".to_owned())),
            (alert("old", "5"), Some("idem-0".to_owned())),
            (alert("k", "6"), None),
        ];
        let answers = store.insert_alerts(&batch).await.unwrap();
        let ids: Vec<i64> = answers
            .iter()
            .map(|a| match a {
                Accepted::New(id) => *id,
                Accepted::Repeat(r) => r.id,
            })
            .collect();
        assert!(matches!(answers[0], Accepted::New(_)), "{label}");
        assert!(matches!(answers[1], Accepted::New(_)));
        assert!(
            matches!(answers[3], Accepted::Repeat(_)),
            "within the batch"
        );
        assert_eq!(ids[3], ids[1]);
        assert!(
            matches!(&answers[4], Accepted::Repeat(r) if r.id == earlier && r.summary == "sent before")
        );
        assert!(ids[0] < ids[1] && ids[1] < ids[5], "{ids:?}");

        // k's alerts come due one at a time, in the order sent; `other` and `old` beside them.
        let mut order = Vec::new();
        for _ in 0..10 {
            let Some(a) = claim(store, t, "w").await else {
                break;
            };
            order.push(a.summary.clone());
            assert!(deliver(store, a.id, "w").await);
        }
        let k: Vec<&String> = order
            .iter()
            .filter(|s| ["1", "2", "6"].contains(&s.as_str()))
            .collect();
        assert_eq!(k, ["1", "2", "6"], "{label}: {order:?}");
        assert_eq!(order.len(), 5, "{order:?}");
    })
    .await;
}

#[tokio::test]
async fn received_alerts_read_as_queued_and_join_their_lanes_in_the_order_received() {
    use cwbridge_store::{AlertQuery, Dialect};
    with_acme(async |store, t, label| {
        let u = tenant(store, "umbrella").await;
        let first = store.insert_alert(&queued(t, "k", "1")).await.unwrap();
        // Two batches received, not yet promoted: k behind the queued one, and a new key.
        store
            .receive_alerts(&[(queued(t, "k", "2"), None), (queued(t, "n", "3"), None)])
            .await
            .unwrap();
        store
            .receive_alerts(&[(queued(t, "k", "4"), None), (queued(u, "k", "5"), None)])
            .await
            .unwrap();

        // Outside the store they are queued: listed, filtered and counted as such.
        let all = store.alerts(t, 10).await.unwrap();
        let summaries: Vec<&str> = all.iter().map(|a| a.summary.as_str()).collect();
        assert_eq!(summaries, ["4", "3", "2", "1"], "{label}");
        assert!(
            all.iter()
                .all(|a| a.state == cwbridge_store::AlertState::Queued),
            "{all:?}"
        );
        let page = |state: &str, before: Option<i64>| AlertQuery {
            state: Some(state.to_owned()),
            before,
            limit: 2,
            ..AlertQuery::default()
        };
        let queued_page = store
            .alerts_matching(t, &page("queued", None))
            .await
            .unwrap();
        assert_eq!(queued_page.len(), 2);
        let next = store
            .alerts_matching(t, &page("queued", Some(queued_page[1].id)))
            .await
            .unwrap();
        assert_eq!(
            next.iter().map(|a| a.summary.as_str()).collect::<Vec<_>>(),
            ["2", "1"],
            "{label}: the cursor pages through received and queued alike"
        );
        assert!(
            store
                .alerts_matching(t, &page("delivered", None))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.queued_alerts_upto(t, 100).await.unwrap(), 4);
        assert_eq!(store.queued_alerts_upto(t, 2).await.unwrap(), 2);
        assert_eq!(store.queued_alerts().await.unwrap(), 5);

        // On SQLite only the promoter puts them in their lanes (PostgreSQL lanes them at
        // once): until then the one queued before is all there is to claim.
        if store.dialect() == Dialect::Sqlite {
            let a = claim(store, t, "w").await.unwrap();
            assert_eq!(a.id, first);
            assert!(claim(store, t, "w").await.is_none());
            assert!(claim(store, u, "w").await.is_none());
            assert!(deliver(store, a.id, "w").await);
            assert_eq!(store.promote_received(3).await.unwrap(), 3);
            assert_eq!(store.promote_received(3).await.unwrap(), 1);
            assert_eq!(store.promote_received(3).await.unwrap(), 0);
        } else {
            assert_eq!(store.promote_received(10).await.unwrap(), 0);
            let a = claim(store, t, "w").await.unwrap();
            assert_eq!(a.id, first);
            assert!(deliver(store, a.id, "w").await);
        }
        // Each key's alerts one at a time, in the order received.
        let mut order = Vec::new();
        while let Some(a) = claim(store, t, "w").await {
            order.push(a.summary.clone());
            deliver(store, a.id, "w").await;
        }
        let k: Vec<&String> = order.iter().filter(|s| *s != "3").collect();
        assert_eq!(k, ["2", "4"], "{label}: {order:?}");
        assert_eq!(order.len(), 3);
        assert!(claim(store, u, "w").await.is_some());
    })
    .await;
}

/// A queued alert of a tenant, as the engine stores one.
fn queued(tenant: TenantId, key: &str, summary: &str) -> AlertRecord {
    AlertRecord::received(tenant, "g1", "spf", key, summary, "d", false)
}

#[tokio::test]
async fn a_tenants_claims_stop_at_its_in_flight_limit_whoever_holds_them() {
    with_acme(async |store, t, label| {
        let u = tenant(store, "umbrella").await;
        for k in 0..5 {
            store
                .insert_alert(&queued(t, &format!("k{k}"), "s"))
                .await
                .unwrap();
        }
        store.insert_alert(&queued(u, "k", "s")).await.unwrap();
        // Two claims (by two instances, say) fill a limit of two.
        let a = claim_within_two(store, t, "A").await.unwrap();
        let b = claim_within_two(store, t, "B").await.unwrap();
        assert!(claim_within_two(store, t, "C").await.is_none(), "{label}");
        // Another tenant's limit is its own.
        assert!(claim_within_two(store, u, "D").await.is_some());
        // A finished delivery and a retried one free their places; a lapsed claim too.
        assert!(deliver(store, a.id, "A").await);
        let c = claim_within_two(store, t, "C").await.unwrap();
        assert!(
            store
                .retry_alert(b.id, "B", i64::MAX - 1, "busy")
                .await
                .unwrap()
        );
        let d = store
            .claim_alert_within(t, 30, "D", 2)
            .await
            .unwrap()
            .unwrap();
        assert!(claim_within_two(store, t, "E").await.is_none());
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        // D's lease lapsed (its instance died, say): it no longer counts, and its alert is
        // due again.
        let e = claim_within_two(store, t, "E").await;
        assert!(e.is_some(), "{label}: a lapsed claim still counted");
        assert_ne!(c.id, d.id);
    })
    .await;
}

#[tokio::test]
async fn the_queue_gauges_count_what_is_queued_held_and_waiting_longest() {
    with_acme(async |store, t, label| {
        let empty = store.queue_gauges().await.unwrap();
        assert_eq!(
            (empty.depth, empty.in_flight, empty.oldest_due),
            (0, 0, None),
            "{label}"
        );
        for key in ["a", "a", "b"] {
            store.insert_alert(&queued(t, key, "s")).await.unwrap();
        }
        let claimed = claim(store, t, "w").await.unwrap();

        let now = store.queue_gauges().await.unwrap();

        assert_eq!(now.depth, 3, "{label}: every alert still queued");
        assert_eq!(now.in_flight, 1, "{label}: alert {} is held", claimed.id);
        let waiting = now.oldest_due.expect("key b's alert is due");
        assert!(waiting <= cwbridge_store::now_ms(), "{label}");
    })
    .await;
}
