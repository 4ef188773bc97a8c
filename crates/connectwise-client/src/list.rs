//! List calls: the query parameters ConnectWise takes, one page at a time or as a stream that
//! follows every page in constant memory.

use std::collections::VecDeque;
use std::fmt::Display;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use futures_util::Stream;
use reqwest::Method;
use reqwest::header::HeaderMap;

use crate::client::{Call, Client, Reply};
use crate::error::{Error, Result};
use crate::models::{Count, Model};

/// ConnectWise's largest page.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// A list call being built. Nothing is sent until [`List::send`], [`List::count`] or
/// [`List::stream`].
#[derive(Debug, Clone)]
pub struct List<T> {
    client: Client,
    path: String,
    params: Vec<(String, String)>,
    page_size: u32,
    page: Option<u32>,
    navigable: bool,
    _model: PhantomData<fn() -> T>,
}

impl<T: Model> List<T> {
    pub(crate) fn new(client: Client, path: String) -> Self {
        List {
            client,
            path,
            params: Vec::new(),
            page_size: 25,
            page: None,
            navigable: false,
            _model: PhantomData,
        }
    }

    fn set(mut self, name: &str, value: String) -> Self {
        self.params.retain(|(k, _)| k != name);
        self.params.push((name.to_owned(), value));
        self
    }

    /// `conditions`: a [`crate::conditions::Condition`] from the typed builder (which escapes
    /// every value), or a string written by hand.
    pub fn conditions(self, conditions: impl Display) -> Self {
        self.set("conditions", conditions.to_string())
    }

    /// `childConditions` (conditions on array members, e.g. `communicationItems/value`).
    pub fn child_conditions(self, conditions: impl Display) -> Self {
        self.set("childConditions", conditions.to_string())
    }

    /// `customFieldConditions` (e.g. `caption="Region" and value="EU"`).
    pub fn custom_field_conditions(self, conditions: impl Display) -> Self {
        self.set("customFieldConditions", conditions.to_string())
    }

    /// `orderBy`, e.g. `name asc` (streams then page by page number, in that order).
    pub fn order_by(self, order: impl Into<String>) -> Self {
        self.set("orderBy", order.into())
    }

    /// `fields`: only these fields in each record, e.g. `["id", "name", "company/id"]`.
    pub fn fields<S: AsRef<str>>(self, fields: impl IntoIterator<Item = S>) -> Self {
        let list: Vec<String> = fields.into_iter().map(|f| f.as_ref().to_owned()).collect();
        self.set("fields", list.join(","))
    }

    /// Records per page, 1 to 1000 (default 25, ConnectWise's).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.clamp(1, MAX_PAGE_SIZE);
        self
    }

    /// Which page [`List::send`] reads (1-based; default the first).
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page.max(1));
        self
    }

    /// Streams by page number even without `orderBy` (by default streams read forward-only,
    /// `id > last id`, which cannot skip or repeat records that are added or removed while
    /// paging).
    pub fn navigable(mut self) -> Self {
        self.navigable = true;
        self
    }

    fn call(&self) -> Call {
        let mut call = Call::new(Method::GET, self.path.clone());
        call.query = self.params.clone();
        call.query
            .push(("pageSize".into(), self.page_size.to_string()));
        call
    }

    /// One page (the first unless [`List::page`] says otherwise).
    ///
    /// ```no_run
    /// # async fn run(client: connectwise_client::Client) -> connectwise_client::Result<()> {
    /// let second_page = client.company().companies().list().page_size(50).page(2).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn send(&self) -> impl Future<Output = Result<Vec<T>>> + Send + 'static {
        let client = self.client.clone();
        let mut call = self.call();
        if let Some(page) = self.page {
            call.query.push(("page".into(), page.to_string()));
        }
        async move { client.send(&call).await?.decode(T::SCHEMA) }
    }

    /// How many records match (`/count` with the same conditions).
    ///
    /// ```no_run
    /// # async fn run(client: connectwise_client::Client) -> connectwise_client::Result<()> {
    /// use connectwise_client::conditions::field;
    ///
    /// let open = client
    ///     .service()
    ///     .tickets()
    ///     .list()
    ///     .conditions(field("closedFlag").eq(false))
    ///     .count()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn count(&self) -> impl Future<Output = Result<u64>> + Send + 'static {
        let client = self.client.clone();
        let mut call = Call::new(Method::GET, format!("{}/count", self.path));
        call.query = self
            .params
            .iter()
            .filter(|(k, _)| k.ends_with("onditions"))
            .cloned()
            .collect();
        async move {
            let count: Count = client.send(&call).await?.decode("Count")?;
            Ok(count.count)
        }
    }

    /// Every matching record, page after page, holding one page at a time. Forward-only
    /// paging where ConnectWise offers it (no `orderBy`), page numbers otherwise, following
    /// the `next` link ConnectWise sends. Ends with [`Error::Paging`] if the server keeps
    /// answering the same page, rather than reading forever. [`List::page`] sets where a
    /// stream by page number starts; forward-only streams always start at the beginning.
    ///
    /// ```no_run
    /// # async fn run(client: connectwise_client::Client) -> connectwise_client::Result<()> {
    /// use futures_util::TryStreamExt;
    ///
    /// let mut companies = std::pin::pin!(client.company().companies().list().page_size(1000).stream());
    /// while let Some(company) = companies.try_next().await? {
    ///     println!("{:?}", company.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream(self) -> impl Stream<Item = Result<T>> + Send + 'static {
        let forward = !self.navigable && !self.params.iter().any(|(k, _)| k == "orderBy");
        let first = if forward {
            Cursor::After(0)
        } else {
            Cursor::Page(self.page.unwrap_or(1))
        };
        let state = Paging {
            list: self,
            buffer: VecDeque::new(),
            next: Some(first),
            last_page: None,
            pages: 0,
        };
        futures_util::stream::try_unfold(state, |mut state| async move {
            loop {
                if let Some(item) = state.buffer.pop_front() {
                    return Ok(Some((item, state)));
                }
                let Some(cursor) = state.next.take() else {
                    return Ok(None);
                };
                state.fetch(cursor).await?;
            }
        })
    }
}

/// Where the next page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cursor {
    /// Forward-only: records after this id.
    After(i64),
    /// Navigable: this page number.
    Page(u32),
}

struct Paging<T> {
    list: List<T>,
    buffer: VecDeque<T>,
    next: Option<Cursor>,
    /// A fingerprint of the previous page (its hash and first id), to notice a server that
    /// ignores the cursor.
    last_page: Option<(u64, Option<i64>)>,
    /// Pages read so far, against the client's cap.
    pages: u32,
}

/// Just the id of a record, read beside the typed model to find the paging cursor.
#[derive(serde::Deserialize)]
struct IdOnly {
    #[serde(default)]
    id: Option<i64>,
}

impl<T: Model> Paging<T> {
    async fn fetch(&mut self, cursor: Cursor) -> Result<()> {
        let mut call = self.list.call();
        match cursor {
            Cursor::After(id) => {
                call.headers.push(("pagination-type", "forward-only"));
                if id > 0 {
                    call.query.push(("pageId".into(), id.to_string()));
                }
            }
            Cursor::Page(n) => call.query.push(("page".into(), n.to_string())),
        }
        if let Some(max) = self.list.client.max_pages()
            && self.pages >= max
        {
            return Err(Error::TooLarge {
                what: format!(
                    "the list runs past {max} pages of {}, the most this client reads of one list",
                    self.list.page_size
                ),
                request: Box::new(crate::error::RequestInfo {
                    method: call.method.to_string(),
                    path: call.path.clone(),
                    request_id: None,
                    attempts: 0,
                }),
            });
        }
        self.pages += 1;
        let reply = self.list.client.send(&call).await?;
        let items: Vec<T> = reply.decode(T::SCHEMA)?;
        if items.is_empty() {
            return Ok(());
        }
        let ids: Vec<IdOnly> = serde_json::from_slice(&reply.body).unwrap_or_default();
        let first_id = ids.first().and_then(|i| i.id);
        let last_id = ids.last().and_then(|i| i.id);
        let fingerprint = {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            reply.body.hash(&mut h);
            (h.finish(), first_id)
        };
        if let Some((hash, first)) = self.last_page
            && (hash == fingerprint.0 || (first.is_some() && first == first_id))
        {
            return Err(paging_error(&reply, "the same page came back twice"));
        }
        self.next = next_cursor(&reply, cursor, items.len(), self.list.page_size, last_id)?;
        self.last_page = Some(fingerprint);
        self.buffer.extend(items);
        Ok(())
    }
}

fn paging_error(reply: &Reply, message: &str) -> Error {
    Error::Paging {
        message: message.to_owned(),
        request: Box::new(reply.request.clone()),
    }
}

/// The page after this one: from the `next` link when ConnectWise sends one (its `pageId` or
/// `page`), else, when this page was full, the page after it (forward-only: after its last id).
fn next_cursor(
    reply: &Reply,
    cursor: Cursor,
    got: usize,
    page_size: u32,
    last_id: Option<i64>,
) -> Result<Option<Cursor>> {
    let full = got >= page_size as usize;
    let Some(next) = next_link(&reply.headers, &reply.url) else {
        return Ok(match cursor {
            _ if !full => None,
            Cursor::Page(n) => Some(Cursor::Page(n + 1)),
            Cursor::After(prev) => match last_id {
                Some(id) if id > prev => Some(Cursor::After(id)),
                _ => {
                    return Err(paging_error(
                        reply,
                        "a full page without a next link or ids",
                    ));
                }
            },
        });
    };
    let param = |name: &str| {
        next.query_pairs()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.into_owned())
    };
    let advanced = if let Some(id) = param("pageId").and_then(|v| v.parse::<i64>().ok()) {
        match cursor {
            Cursor::After(prev) if id <= prev => None,
            _ => Some(Cursor::After(id)),
        }
    } else if let Some(n) = param("page").and_then(|v| v.parse::<u32>().ok()) {
        match cursor {
            Cursor::Page(prev) if n <= prev => None,
            _ => Some(Cursor::Page(n)),
        }
    } else {
        return Ok(None);
    };
    advanced
        .map(Some)
        .ok_or_else(|| paging_error(reply, "the next link points back to a page already read"))
}

/// The `rel="next"` URL of the `Link` headers (resolved against the URL that answered).
/// Entries are split on commas outside `<…>`, since URLs may hold commas (`fields=id,name`).
fn next_link(headers: &HeaderMap, base: &reqwest::Url) -> Option<reqwest::Url> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(link_entries)
        .find_map(|(target, params)| {
            let is_next = params.split(';').any(|p| {
                let Some((name, value)) = p.split_once('=') else {
                    return false;
                };
                name.trim().eq_ignore_ascii_case("rel")
                    && value
                        .trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|rel| rel.eq_ignore_ascii_case("next"))
            });
            is_next.then(|| base.join(target).ok()).flatten()
        })
}

/// `(target, parameters)` of each entry of one `Link` header value.
fn link_entries(value: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>').map(|c| open + c) else {
            break;
        };
        let target = &rest[open + 1..close];
        let after = &rest[close + 1..];
        // Parameters run to the next entry's `<`, past a comma.
        let end = after
            .find(',')
            .and_then(|comma| after[comma..].find('<').map(|lt| comma + lt))
            .unwrap_or(after.len());
        let params = after[..end].trim_end().trim_end_matches(',');
        out.push((target, params));
        rest = &after[end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn link(value: &'static str) -> Option<String> {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::LINK, HeaderValue::from_static(value));
        let base = reqwest::Url::parse("https://cw.example/v4_6_release/apis/3.0/service/tickets")
            .unwrap();
        next_link(&h, &base).map(|u| u.to_string())
    }

    #[test]
    fn the_next_link_is_found_among_others() {
        assert_eq!(
            link("<https://x/a?pageSize=5&page=1>; rel=\"first\", <https://x/a?pageSize=5&page=3>; rel=\"next\"").as_deref(),
            Some("https://x/a?pageSize=5&page=3")
        );
        assert!(
            next_link(
                &HeaderMap::new(),
                &reqwest::Url::parse("https://x/").unwrap()
            )
            .is_none()
        );
    }

    #[test]
    fn commas_inside_a_link_target_do_not_split_it() {
        assert_eq!(
            link("<https://x/a?fields=id,name&orderBy=name%20asc,id&pageId=2>; rel=\"next\", <https://x/a?page=1>; rel=\"first\"").as_deref(),
            Some("https://x/a?fields=id,name&orderBy=name%20asc,id&pageId=2")
        );
    }

    #[test]
    fn rel_may_be_unquoted_or_a_list_and_targets_relative() {
        assert_eq!(
            link("</v4_6_release/apis/3.0/service/tickets?page=2>; rel=next").as_deref(),
            Some("https://cw.example/v4_6_release/apis/3.0/service/tickets?page=2")
        );
        assert_eq!(
            link("<https://x/a?page=9>; rel=\"last next\"").as_deref(),
            Some("https://x/a?page=9")
        );
        assert_eq!(link("<https://x/a?page=1>; rel=\"prev\""), None);
    }
}
