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
async fn records_deleted_while_streaming_do_not_make_a_forward_only_stream_skip_others() {
    // Arrange: read the first page, then delete two of its records before the rest is read.
    let site = Site::demo().await;
    let client = site.client();
    let before: Vec<i64> = all_at_once(&site)
        .await
        .iter()
        .filter_map(|c| c.id)
        .collect();
    let mut stream = std::pin::pin!(client.company().companies().list().page_size(5).stream());
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(stream.try_next().await.unwrap().unwrap().id.unwrap());
    }
    let deleted = [seen[0], seen[1]];
    for id in deleted {
        client.company().companies().delete(id).await.unwrap();
    }

    // Act
    while let Some(company) = stream.try_next().await.unwrap() {
        seen.push(company.id.unwrap());
    }

    // Assert: every record that still exists was read once (page numbers would have
    // shifted by two and skipped records 6 and 7).
    assert_eq!(seen, before);
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

/// A server that answers every list with the same page and a `next` link onwards, as a
/// server ignoring the paging parameters would.
async fn stuck_server() -> String {
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/login/companyinfo/{company}",
            get(|| async { axum::Json(serde_json::json!({"Codebase": "v1/"})) }),
        )
        .route(
            "/v1/apis/3.0/company/companies",
            get(|axum::extract::RawQuery(q): axum::extract::RawQuery| async move {
                let page: u32 = q
                    .unwrap_or_default()
                    .split('&')
                    .find_map(|p| p.strip_prefix("page="))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                (
                    [("link", format!("</v1/apis/3.0/company/companies?page={}>; rel=\"next\"", page + 1))],
                    axum::Json(serde_json::json!([{"id": 1, "name": "Same"}, {"id": 2, "name": "Again"}])),
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_server_that_keeps_answering_the_same_page_ends_the_stream_with_an_error() {
    let site = stuck_server().await;
    let client = connectwise_client::Client::builder(connectwise_client::Credentials {
        site,
        company_id: "x".into(),
        public_key: "p".into(),
        private_key: "k".into(),
        client_id: "c".into(),
    })
    .build()
    .unwrap();
    let mut seen = 0;
    let mut stream = std::pin::pin!(
        client
            .company()
            .companies()
            .list()
            .order_by("name")
            .page_size(2)
            .stream()
    );
    let err = loop {
        match stream.try_next().await {
            Ok(Some(_)) => seen += 1,
            Ok(None) => panic!("the stream ended normally after {seen} records"),
            Err(e) => break e,
        }
    };
    assert_eq!(seen, 2, "the first page is delivered");
    assert_eq!(err.kind(), connectwise_client::ErrorKind::Paging, "{err}");
}
