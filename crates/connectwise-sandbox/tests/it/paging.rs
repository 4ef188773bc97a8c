//! Pagination: `page`/`pageSize` with `Link` headers, forward-only paging by `pageId`, and
//! `/count`.

use std::collections::BTreeSet;

use connectwise_sandbox::Seed;

use crate::helpers::{Api, Reply, TestSandbox, demo, ids, query};

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

/// The `page` parameter (the last) of the link with this `rel`, which must be there.
#[track_caller]
fn linked_page(page: &Reply, rel: &str) -> String {
    let url = page
        .link(rel)
        .unwrap_or_else(|| panic!("no {rel} link: {:?}", page.links()));
    last_param(&url, "page")
}

/// Asserts that `page` has no link with any of these `rel`s.
#[track_caller]
fn assert_no_links(page: &Reply, rels: &[&str]) {
    for rel in rels {
        let links = page.links();
        assert!(page.link(rel).is_none(), "a {rel} link in {links:?}");
    }
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

/// The ids of every company, in id order.
async fn company_ids(api: &Api) -> Vec<i64> {
    let mut all = ids(&api.list("company/companies?pageSize=1000").await);
    all.sort_unstable();
    all
}

/// The number of pages of `page_size` the demo's companies fill, and how many there are.
async fn company_pages(api: &Api, page_size: u64) -> (u64, u64) {
    let total = api.count("company/companies").await;
    (total.div_ceil(page_size), total)
}

#[tokio::test]
async fn the_default_page_size_is_25() {
    let (_sb, api) = demo().await;
    let total = api.count("company/companies").await;
    assert!(
        total > 25,
        "the demo seed has more than one page of companies"
    );
    assert_eq!(api.list("company/companies").await.len(), 25);
}

#[tokio::test]
async fn a_page_size_above_1000_is_served_as_1000() {
    // Arrange
    let bench = Seed::Bench {
        companies: 1200,
        tickets: 0,
    };
    let sb = TestSandbox::seeded(bench).await;
    let api = sb.api();

    // Act
    let first = api
        .get_expecting("company/companies?pageSize=5000", 200)
        .await;
    let second = api
        .get_expecting("company/companies?pageSize=5000&page=2", 200)
        .await;

    // Assert
    assert_eq!(first.items().len(), 1000);
    assert_eq!(second.items().len(), 200);
    assert_eq!(linked_page(&first, "next"), "2");
    assert_eq!(linked_page(&first, "last"), "2");
    let all: BTreeSet<i64> = first.ids().into_iter().chain(second.ids()).collect();
    assert_eq!(all.len(), 1200);
}

#[tokio::test]
async fn the_first_page_links_next_and_last_with_page_as_the_last_parameter() {
    // Arrange: 29 companies in pages of 10.
    let (sb, api) = demo().await;
    let (last_page, _) = company_pages(&api, 10).await;

    // Act
    let page = api
        .get_expecting("company/companies?pageSize=10", 200)
        .await;

    // Assert
    assert_eq!(linked_page(&page, "next"), "2");
    assert_eq!(linked_page(&page, "last"), last_page.to_string());
    let next = page.link("next").unwrap();
    assert!(
        next.contains("pageSize=10"),
        "links keep the other parameters: {next}"
    );
    assert!(next.starts_with(&sb.origin()), "links are absolute: {next}");
    assert_no_links(&page, &["first", "prev"]);
}

#[tokio::test]
async fn the_last_page_links_first_and_prev_and_no_next() {
    let (_sb, api) = demo().await;
    let (last_page, total) = company_pages(&api, 10).await;

    let last = format!("company/companies?page={last_page}&pageSize=10");
    let page = api.get_expecting(&last, 200).await;

    assert_eq!(page.items().len() as u64, total - (last_page - 1) * 10);
    assert_eq!(linked_page(&page, "first"), "1");
    assert_eq!(linked_page(&page, "prev"), (last_page - 1).to_string());
    assert_no_links(&page, &["next", "last"]);
}

#[tokio::test]
async fn a_page_past_the_end_is_an_empty_list() {
    let (_sb, api) = demo().await;
    let past_the_end = "company/companies?pageSize=10&page=99";
    let page = api.get_expecting(past_the_end, 200).await;
    assert_eq!(page.text.trim(), "[]");
    assert!(page.link("next").is_none());
}

#[tokio::test]
async fn following_next_links_visits_every_record_exactly_once() {
    // Arrange
    let (_sb, api) = demo().await;
    let all = api.list("company/contacts?pageSize=1000").await;

    // Act
    let seen = follow_next(&api, "company/contacts?pageSize=7", &[]).await;

    // Assert
    assert_eq!(seen, ids(&all));
}

#[tokio::test]
async fn following_next_links_keeps_conditions_and_order() {
    let (_sb, api) = demo().await;
    let params = [
        ("conditions", "name like \"%e%\""),
        ("orderBy", "name desc"),
    ];
    let all = api
        .list_query("company/companies?pageSize=1000", &params)
        .await;
    let first = query("company/companies?pageSize=4", &params);
    let seen = follow_next(&api, &first, &[]).await;
    assert!(all.len() > 8, "several pages");
    assert_eq!(seen, ids(&all));
}

#[tokio::test]
async fn forward_only_paging_follows_page_id_cursors_to_the_end() {
    // Arrange
    let (_sb, api) = demo().await;
    let forward = [("pagination-type", "forward-only")];
    let all = company_ids(&api).await;

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
    let (_sb, api) = demo().await;
    let forward = [("pagination-type", "forward-only")];
    let ids = company_ids(&api).await;
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
    let (_sb, api) = demo().await;
    for (collection, conditions) in [
        ("company/companies", "state = \"PA\""),
        ("company/companies", "name like \"%a%\" and id > 5"),
        ("company/contacts", "company/identifier = \"AcmeCorp\""),
        ("finance/agreements", "name contains \"Security\""),
        ("service/tickets", "closedFlag = false"),
        ("company/companies", "identifier = \"NoSuchCompany\""),
    ] {
        let c = [("conditions", conditions)];
        let list = api
            .list_query(&format!("{collection}?pageSize=1000"), &c)
            .await;
        let count = api.fetch(&query(&format!("{collection}/count"), &c)).await;
        assert_eq!(
            count["count"].as_u64(),
            Some(list.len() as u64),
            "{collection} where {conditions}"
        );
    }
}
