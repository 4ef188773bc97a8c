//! Pagination: `page`/`pageSize` with `Link` headers, forward-only paging by `pageId`, and
//! `/count`.

use std::collections::BTreeSet;

use connectwise_sandbox::{SandboxConfig, Seed};

use crate::helpers::{Api, TestSandbox, encode, ids};

/// The value of the last query parameter of a URL, which must be `name`.
#[track_caller]
fn last_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let last = query.rsplit('&').next().unwrap_or_default();
    let (k, v) = last
        .split_once('=')
        .unwrap_or_else(|| panic!("no parameters in {url}"));
    assert_eq!(k, name, "{name} must be the last query parameter: {url}");
    v.to_owned()
}

/// Follows `rel="next"` from `first` to the end; returns every id seen, in order.
async fn follow_next(api: &Api, first: &str, headers: &[(&str, &str)]) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut url = first.to_owned();
    for _ in 0..100 {
        let page = api.get_with(&url, headers).await.expect_status(200);
        seen.extend(page.ids());
        match page.link("next") {
            Some(next) => url = next,
            None => return seen,
        }
    }
    panic!("more than 100 pages: the next links loop");
}

#[tokio::test]
async fn the_default_page_size_is_25() {
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let total = api.fetch("company/companies/count").await["count"]
        .as_u64()
        .unwrap();
    assert!(
        total > 25,
        "the demo seed has more than one page of companies"
    );
    assert_eq!(api.list("company/companies").await.len(), 25);
}

#[tokio::test]
async fn a_page_size_above_1000_is_served_as_1000() {
    // Arrange
    let sb = TestSandbox::start(SandboxConfig {
        seed: Some(Seed::Bench {
            companies: 1200,
            tickets: 0,
        }),
        ..SandboxConfig::ephemeral()
    })
    .await;
    let api = sb.api();

    // Act
    let first = api
        .get("company/companies?pageSize=5000")
        .await
        .expect_status(200);
    let second = api
        .get("company/companies?pageSize=5000&page=2")
        .await
        .expect_status(200);

    // Assert
    assert_eq!(first.items().len(), 1000);
    assert_eq!(second.items().len(), 200);
    let next = first.link("next").expect("a next link");
    assert_eq!(last_param(&next, "page"), "2");
    assert_eq!(
        last_param(&first.link("last").expect("a last link"), "page"),
        "2"
    );
    let all: BTreeSet<i64> = first.ids().into_iter().chain(second.ids()).collect();
    assert_eq!(all.len(), 1200);
}

#[tokio::test]
async fn the_first_page_links_next_and_last_with_page_as_the_last_parameter() {
    // Arrange: 29 companies in pages of 10.
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let total = api.fetch("company/companies/count").await["count"]
        .as_u64()
        .unwrap();
    let last_page = total.div_ceil(10);

    // Act
    let page = api
        .get("company/companies?pageSize=10")
        .await
        .expect_status(200);

    // Assert
    let next = page.link("next").expect("a next link");
    let last = page.link("last").expect("a last link");
    assert_eq!(last_param(&next, "page"), "2");
    assert_eq!(last_param(&last, "page"), last_page.to_string());
    assert!(
        next.contains("pageSize=10"),
        "links keep the other parameters: {next}"
    );
    assert!(next.starts_with(&sb.origin()), "links are absolute: {next}");
    assert!(
        page.link("first").is_none() && page.link("prev").is_none(),
        "{:?}",
        page.links()
    );
}

#[tokio::test]
async fn the_last_page_links_first_and_prev_and_no_next() {
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let total = api.fetch("company/companies/count").await["count"]
        .as_u64()
        .unwrap();
    let last_page = total.div_ceil(10);

    let page = api
        .get(&format!("company/companies?page={last_page}&pageSize=10"))
        .await
        .expect_status(200);

    assert_eq!(page.items().len() as u64, total - (last_page - 1) * 10);
    assert_eq!(
        last_param(&page.link("first").expect("a first link"), "page"),
        "1"
    );
    assert_eq!(
        last_param(&page.link("prev").expect("a prev link"), "page"),
        (last_page - 1).to_string()
    );
    assert!(
        page.link("next").is_none() && page.link("last").is_none(),
        "{:?}",
        page.links()
    );
}

#[tokio::test]
async fn a_page_past_the_end_is_an_empty_list() {
    let sb = TestSandbox::demo().await;
    let page = sb
        .api()
        .get("company/companies?pageSize=10&page=99")
        .await
        .expect_status(200);
    assert_eq!(page.text.trim(), "[]");
    assert!(page.link("next").is_none());
}

#[tokio::test]
async fn following_next_links_visits_every_record_exactly_once() {
    // Arrange
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let all = api.list("company/contacts?pageSize=1000").await;

    // Act
    let seen = follow_next(&api, "company/contacts?pageSize=7", &[]).await;

    // Assert
    assert_eq!(seen, ids(&all));
}

#[tokio::test]
async fn following_next_links_keeps_conditions_and_order() {
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let query = format!(
        "conditions={}&orderBy={}",
        encode("name like \"%e%\""),
        encode("name desc")
    );
    let all = api
        .list(&format!("company/companies?{query}&pageSize=1000"))
        .await;
    let seen = follow_next(&api, &format!("company/companies?{query}&pageSize=4"), &[]).await;
    assert!(all.len() > 8, "several pages");
    assert_eq!(seen, ids(&all));
}

#[tokio::test]
async fn forward_only_paging_follows_page_id_cursors_to_the_end() {
    // Arrange
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let forward = [("pagination-type", "forward-only")];
    let mut all = ids(&api.list("company/companies?pageSize=1000").await);
    all.sort_unstable();

    // Act
    let first = api
        .get_with("company/companies?pageSize=10", &forward)
        .await
        .expect_status(200);
    let seen = follow_next(&api, "company/companies?pageSize=10", &forward).await;

    // Assert
    let next = first.link("next").expect("a next link");
    let cursor = last_param(&next, "pageId");
    assert_eq!(
        cursor,
        first.ids().last().unwrap().to_string(),
        "the cursor is the last id"
    );
    assert!(
        first.link("last").is_none(),
        "forward-only has no rel=last: {:?}",
        first.links()
    );
    assert_eq!(seen, all, "every record once, in id order");
}

#[tokio::test]
async fn forward_only_paging_ends_without_a_next_link() {
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    let forward = [("pagination-type", "forward-only")];
    let mut ids = ids(&api.list("company/companies?pageSize=1000").await);
    ids.sort_unstable();
    let before_last = ids[ids.len() - 3];
    let tail = api
        .get_with(
            &format!("company/companies?pageSize=10&pageId={before_last}"),
            &forward,
        )
        .await
        .expect_status(200);
    assert_eq!(tail.ids(), ids[ids.len() - 2..].to_vec());
    assert!(tail.link("next").is_none(), "{:?}", tail.links());
}

#[tokio::test]
async fn count_matches_the_list_under_the_same_conditions() {
    let sb = TestSandbox::demo().await;
    let api = sb.api();
    for (collection, conditions) in [
        ("company/companies", "state = \"PA\""),
        ("company/companies", "name like \"%a%\" and id > 5"),
        ("company/contacts", "company/identifier = \"AcmeCorp\""),
        ("finance/agreements", "name contains \"Security\""),
        ("service/tickets", "closedFlag = false"),
        ("company/companies", "identifier = \"NoSuchCompany\""),
    ] {
        let c = encode(conditions);
        let list = api
            .list(&format!("{collection}?conditions={c}&pageSize=1000"))
            .await;
        let count = api
            .fetch(&format!("{collection}/count?conditions={c}"))
            .await;
        assert_eq!(
            count["count"].as_u64(),
            Some(list.len() as u64),
            "{collection} where {conditions}"
        );
    }
}
