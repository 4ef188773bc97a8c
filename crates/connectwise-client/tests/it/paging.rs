//! Streams read every page once, forward-only or by page number, and stop.

use connectwise_client::conditions::field;
use connectwise_client::models::Company;
use futures_util::TryStreamExt;

use crate::helpers::Site;

async fn all_at_once(site: &Site) -> Vec<Company> {
    site.client()
        .company()
        .companies()
        .list()
        .page_size(1000)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_forward_only_stream_reads_every_record_once_in_id_order() {
    // Arrange
    let site = Site::demo().await;
    let expected = all_at_once(&site).await;
    let client = site.client();

    // Act
    let streamed: Vec<Company> = client
        .company()
        .companies()
        .list()
        .page_size(5)
        .stream()
        .try_collect()
        .await
        .unwrap();

    // Assert: the same records, and one request per page (the last one short, so no
    // request for an empty page after it).
    assert_eq!(streamed, expected);
    let pages = expected.len().div_ceil(5) as u64;
    assert_eq!(client.stats().requests, pages);
}

#[tokio::test]
async fn an_ordered_stream_pages_by_number_in_that_order() {
    let site = Site::demo().await;
    let expected = all_at_once(&site).await.len();
    let names: Vec<String> = site
        .client()
        .company()
        .companies()
        .list()
        .order_by("name desc")
        .page_size(7)
        .stream()
        .map_ok(|c| c.name.unwrap_or_default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names.len(), expected);
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| std::cmp::Reverse(n.to_lowercase()));
    assert_eq!(names, sorted);
}

#[tokio::test]
async fn a_filtered_stream_matches_its_count_and_a_page_can_be_read_alone() {
    let site = Site::demo().await;
    let companies = site.client().company().companies();
    let filter = field("name").like("%o%");
    let streamed: Vec<Company> = companies
        .list()
        .conditions(filter.clone())
        .page_size(3)
        .navigable()
        .stream()
        .try_collect()
        .await
        .unwrap();
    let count = companies
        .list()
        .conditions(filter.clone())
        .count()
        .await
        .unwrap();
    assert_eq!(streamed.len() as u64, count);
    assert!(count > 3);
    let second = companies
        .list()
        .conditions(filter)
        .page_size(3)
        .page(2)
        .send()
        .await
        .unwrap();
    assert_eq!(second, streamed[3..6.min(streamed.len())]);
}

#[tokio::test]
async fn an_empty_list_streams_nothing() {
    let site = Site::demo().await;
    let none: Vec<Company> = site
        .client()
        .company()
        .companies()
        .list()
        .conditions(field("identifier").eq("NoSuchCompany"))
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());
}
