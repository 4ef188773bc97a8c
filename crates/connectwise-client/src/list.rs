//! List calls: the query parameters ConnectWise takes, one page at a time or as a stream that
//! follows every page in constant memory.

use std::collections::VecDeque;
use std::fmt::Display;
use std::future::Future;
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
    pub fn send(&self) -> impl Future<Output = Result<Vec<T>>> + Send + 'static {
        let client = self.client.clone();
        let mut call = self.call();
        if let Some(page) = self.page {
            call.query.push(("page".into(), page.to_string()));
        }
        async move { client.send(&call).await?.decode(T::SCHEMA) }
    }

    /// How many records match (`/count` with the same conditions).
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
    /// answering the same page, rather than reading forever.
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
    /// The previous page's body, to notice a server that ignores the cursor.
    last_page: Option<Vec<u8>>,
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
        let reply = self.list.client.send(&call).await?;
        let items: Vec<T> = reply.decode(T::SCHEMA)?;
        if items.is_empty() {
            return Ok(());
        }
        if self.last_page.as_deref() == Some(reply.body.as_slice()) {
            return Err(paging_error(&reply, "the same page came back twice"));
        }
        self.next = next_cursor(&reply, cursor, items.len(), self.list.page_size)?;
        self.last_page = Some(reply.body);
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
/// `page`), else the next page number when this page was full.
fn next_cursor(
    reply: &Reply,
    cursor: Cursor,
    got: usize,
    page_size: u32,
) -> Result<Option<Cursor>> {
    let Some(next) = next_link(&reply.headers) else {
        return Ok(match cursor {
            Cursor::Page(n) if got >= page_size as usize => Some(Cursor::Page(n + 1)),
            _ => None,
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

/// The `rel="next"` URL of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<reqwest::Url> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|part| {
            let (url, params) = part.split_once(';')?;
            let is_next = params.split(';').any(|p| {
                p.trim()
                    .replace(' ', "")
                    .eq_ignore_ascii_case("rel=\"next\"")
            });
            let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
            is_next.then(|| reqwest::Url::parse(url).ok()).flatten()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn the_next_link_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            reqwest::header::LINK,
            HeaderValue::from_static(
                "<https://x/v4_6_release/apis/3.0/service/tickets?pageSize=5&page=1>; rel=\"first\", <https://x/v4_6_release/apis/3.0/service/tickets?pageSize=5&page=3>; rel=\"next\"",
            ),
        );
        let next = next_link(&h).unwrap();
        assert_eq!(next.query(), Some("pageSize=5&page=3"));
        assert!(next_link(&HeaderMap::new()).is_none());
    }
}
