//! Look-ups for the wizard: companies, a company's agreements, agreement types, catalog
//! products, boards with their statuses and types, priorities — read from ConnectWise and
//! remembered for a minute per tenant, so paging through a form does not hammer it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use connectwise_client::conditions::field;
use cwbridge_store::TenantId;
use futures_util::TryStreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Engine;
use crate::error::Result;

/// How long a look-up is remembered.
pub const LOOKUP_TTL: Duration = Duration::from_secs(60);

/// Remembered look-ups by tenant and question.
#[derive(Debug, Default)]
pub struct LookupCache {
    entries: Mutex<HashMap<(TenantId, String), Remembered>>,
}

/// A remembered look-up: when, what, and its size as JSON.
type Remembered = (Instant, Value, usize);

/// Look-ups one tenant may have remembered at once.
const ENTRIES_PER_TENANT: usize = 64;

/// Bytes (as JSON) of one tenant's remembered look-ups.
const BYTES_PER_TENANT: usize = 4 << 20;

/// Look-ups remembered for all tenants together.
const ENTRIES: usize = 10_000;

impl LookupCache {
    fn get(&self, tenant: TenantId, key: &str) -> Option<Value> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(&(tenant, key.to_owned()))
            .filter(|(at, _, _)| at.elapsed() < LOOKUP_TTL)
            .map(|(_, v, _)| v.clone())
    }

    /// Remembers a look-up within the tenant's bounds (entries and bytes), forgetting that
    /// tenant's oldest first; one larger than a tenant's whole share is not remembered.
    fn put(&self, tenant: TenantId, key: String, value: Value) {
        let size = serde_json::to_vec(&value).map_or(usize::MAX, |v| v.len());
        if size > BYTES_PER_TENANT {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|_, (at, _, _)| at.elapsed() < LOOKUP_TTL);
        entries.remove(&(tenant, key.clone()));
        loop {
            let mine = entries.iter().filter(|((t, _), _)| *t == tenant);
            let (count, bytes) = mine
                .clone()
                .fold((0, 0), |(n, b), (_, (_, _, s))| (n + 1, b + s));
            if count < ENTRIES_PER_TENANT && bytes + size <= BYTES_PER_TENANT {
                break;
            }
            let oldest = mine
                .min_by_key(|(_, (at, _, _))| *at)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => entries.remove(&k),
                None => break,
            };
        }
        if entries.len() >= ENTRIES
            && let Some(k) = entries
                .iter()
                .min_by_key(|(_, (at, _, _))| *at)
                .map(|(k, _)| k.clone())
        {
            entries.remove(&k);
        }
        entries.insert((tenant, key), (Instant::now(), value, size));
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    #[test]
    fn a_tenant_keeps_at_most_its_share_and_others_keep_theirs() {
        let cache = LookupCache::default();
        let (a, b) = (TenantId(1), TenantId(2));
        cache.put(b, "b".into(), Value::from("kept"));
        for i in 0..200 {
            cache.put(a, format!("k{i}"), Value::from(i));
        }
        let entries = cache.entries.lock().unwrap();
        assert_eq!(
            entries.keys().filter(|(t, _)| *t == a).count(),
            ENTRIES_PER_TENANT
        );
        assert!(
            entries.contains_key(&(a, "k199".into())),
            "the newest is kept"
        );
        assert!(
            !entries.contains_key(&(a, "k0".into())),
            "the oldest went first"
        );
        drop(entries);
        assert_eq!(cache.get(b, "b"), Some(Value::from("kept")));
        // Bytes too: two 3 MiB answers do not both fit a tenant's 4 MiB.
        let big = Value::from("x".repeat(3 << 20));
        cache.put(b, "big1".into(), big.clone());
        cache.put(b, "big2".into(), big.clone());
        assert!(cache.get(b, "big1").is_none());
        assert!(cache.get(b, "big2").is_some());
        // One larger than the whole share is not remembered.
        cache.put(b, "huge".into(), Value::from("x".repeat(5 << 20)));
        assert!(cache.get(b, "huge").is_none());
    }
}

/// `%text%` for a `like`. `%` and `_` typed in the search are dropped, not matched literally:
/// ConnectWise's conditions have no escape for them.
fn contains(text: &str) -> String {
    let escaped: String = text
        .trim()
        .chars()
        .filter(|c| *c != '%' && *c != '_')
        .collect();
    format!("%{escaped}%")
}

/// Something ConnectWise names: an agreement type, a priority, a board's ticket type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NamedOption {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: Option<String>,
}

/// A company the pickers offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CompanyOption {
    /// Its id.
    pub id: i64,
    /// Its identifier (`AcmeCorp`).
    pub identifier: Option<String>,
    /// Its name.
    pub name: Option<String>,
}

/// An agreement the pickers offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgreementOption {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: Option<String>,
    /// The company it belongs to.
    pub company: Option<i64>,
    /// Its type.
    #[serde(rename = "type")]
    pub agreement_type: Option<NamedOption>,
    /// Its status, as ConnectWise words it.
    pub status: Option<String>,
    /// Whether it is cancelled.
    pub cancelled: bool,
}

/// A catalog product the pickers offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProductOption {
    /// Its id.
    pub id: i64,
    /// Its identifier (`DMARC-MONITOR`).
    pub identifier: Option<String>,
    /// Its description.
    pub description: Option<String>,
    /// Its price.
    pub price: Option<f64>,
}

/// A board's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusOption {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: Option<String>,
    /// Whether a ticket in it is closed.
    pub closed: bool,
}

/// A service board with its statuses and ticket types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BoardOption {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: Option<String>,
    /// Its statuses.
    pub statuses: Vec<StatusOption>,
    /// Its ticket types.
    pub types: Vec<NamedOption>,
}

/// The record `text` names in `endpoint`: by id when it is a number, else by `name_field`
/// (ConnectWise's own spelling: a name, an identifier); the first if several match.
pub(crate) async fn find_one<T: connectwise_client::models::Model>(
    endpoint: &connectwise_client::Endpoint<T>,
    text: &str,
    name_field: &str,
) -> Result<Option<T>> {
    let text = text.trim();
    let condition = match text.parse::<i64>() {
        Ok(id) => field("id").eq(id),
        Err(_) => field(name_field).eq(text),
    };
    let found = endpoint.list().conditions(condition).send().await?;
    Ok(found.into_iter().next())
}

/// What a look-up found, or the refusal of `field` with `message` when it found nothing.
pub(crate) fn required<T>(
    found: Option<T>,
    field: &str,
    message: impl FnOnce() -> String,
) -> Result<T> {
    found.ok_or_else(|| crate::EngineError::invalid(field, message()))
}

fn named(id: Option<i64>, name: Option<String>) -> NamedOption {
    NamedOption {
        id: id.unwrap_or_default(),
        name,
    }
}

fn agreement_option(a: connectwise_client::models::Agreement) -> AgreementOption {
    AgreementOption {
        id: a.id.unwrap_or_default(),
        name: a.name,
        company: a.company.and_then(|c| c.id),
        agreement_type: a.r#type.map(|t| named(t.id, t.name)),
        status: a.agreement_status,
        cancelled: a.cancelled_flag.unwrap_or(false),
    }
}

impl Engine {
    /// A look-up remembered for [`LOOKUP_TTL`], or read with `fetch` (re-checking the
    /// connection on a 403).
    async fn cached<T, F, Fut>(&self, tenant: TenantId, key: String, fetch: F) -> Result<Vec<T>>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(connectwise_client::Client) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<T>>>,
    {
        if let Some(v) = self.lookups.get(tenant, &key)
            && let Ok(list) = serde_json::from_value(v)
        {
            return Ok(list);
        }
        let client = self.client_for(tenant).await?;
        let list = self.recheck_on_403(tenant, fetch(client).await).await?;
        if let Ok(value) = serde_json::to_value(&list) {
            self.lookups.put(tenant, key, value);
        }
        Ok(list)
    }

    /// Companies whose name or identifier contains `search` (up to 50), or the first 50.
    pub async fn lookup_companies(
        &self,
        tenant: TenantId,
        search: Option<&str>,
    ) -> Result<Vec<CompanyOption>> {
        let search = search.unwrap_or("").trim().to_owned();
        self.cached(tenant, format!("companies:{search}"), |client| async move {
            let mut list = client
                .company()
                .companies()
                .list()
                .fields(["id", "identifier", "name"])
                .order_by("name asc")
                .page_size(50);
            if !search.is_empty() {
                list = list.conditions(
                    field("name")
                        .like(contains(&search))
                        .or(field("identifier").like(contains(&search))),
                );
            }
            Ok(list
                .send()
                .await?
                .into_iter()
                .map(|c| CompanyOption {
                    id: c.id.unwrap_or_default(),
                    identifier: c.identifier,
                    name: c.name,
                })
                .collect())
        })
        .await
    }

    /// A company's agreements.
    pub async fn lookup_agreements(
        &self,
        tenant: TenantId,
        company: i64,
    ) -> Result<Vec<AgreementOption>> {
        self.lookup_agreements_of(tenant, &[company]).await
    }

    /// The agreements of several companies in one request (the mapping page's lists),
    /// each with its company's id.
    pub async fn lookup_agreements_of(
        &self,
        tenant: TenantId,
        companies: &[i64],
    ) -> Result<Vec<AgreementOption>> {
        if companies.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids = companies.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let key = format!("agreements-of:{ids:?}");
        self.cached(tenant, key, |client| async move {
            let condition = match ids.as_slice() {
                [one] => field("company/id").eq(*one),
                _ => field("company/id").in_list(ids),
            };
            let agreements: Vec<connectwise_client::models::Agreement> = client
                .finance()
                .agreements()
                .list()
                .conditions(condition)
                .page_size(1000)
                .stream()
                .try_collect()
                .await?;
            Ok(agreements.into_iter().map(agreement_option).collect())
        })
        .await
    }

    /// Agreement types.
    pub async fn lookup_agreement_types(&self, tenant: TenantId) -> Result<Vec<NamedOption>> {
        self.cached(tenant, "agreement-types".into(), |client| async move {
            let types: Vec<connectwise_client::models::AgreementType> = client
                .finance()
                .agreement_types()
                .list()
                .page_size(1000)
                .stream()
                .try_collect()
                .await?;
            Ok(types.into_iter().map(|t| named(t.id, t.name)).collect())
        })
        .await
    }

    /// Active catalog products whose identifier or description contains `search` (up to 50).
    pub async fn lookup_catalog(
        &self,
        tenant: TenantId,
        search: Option<&str>,
    ) -> Result<Vec<ProductOption>> {
        let search = search.unwrap_or("").trim().to_owned();
        self.cached(tenant, format!("catalog:{search}"), |client| async move {
            let mut condition = field("inactiveFlag").eq(false);
            if !search.is_empty() {
                condition = condition.and(
                    field("identifier")
                        .like(contains(&search))
                        .or(field("description").like(contains(&search))),
                );
            }
            let items = client
                .procurement()
                .catalog()
                .list()
                .conditions(condition)
                .order_by("identifier asc")
                .page_size(50)
                .send()
                .await?;
            Ok(items
                .into_iter()
                .map(|i| ProductOption {
                    id: i.id.unwrap_or_default(),
                    identifier: i.identifier,
                    description: i.description,
                    price: i.price,
                })
                .collect())
        })
        .await
    }

    /// Service boards, each with its statuses and ticket types.
    pub async fn lookup_boards(&self, tenant: TenantId) -> Result<Vec<BoardOption>> {
        self.cached(tenant, "boards".into(), |client| async move {
            let service = client.service();
            let boards = service.boards().list().page_size(1000).send().await?;
            let mut out = Vec::with_capacity(boards.len());
            for b in boards {
                let id = b.id.unwrap_or_default();
                let statuses = service.board_statuses(id).list().page_size(1000).send();
                let types = service.board_types(id).list().page_size(1000).send();
                out.push(BoardOption {
                    id,
                    name: b.name,
                    statuses: statuses
                        .await?
                        .into_iter()
                        .map(|s| StatusOption {
                            id: s.id.unwrap_or_default(),
                            name: s.name,
                            closed: s.closed_status.unwrap_or(false),
                        })
                        .collect(),
                    types: types
                        .await?
                        .into_iter()
                        .map(|t| named(t.id, t.name))
                        .collect(),
                });
            }
            Ok(out)
        })
        .await
    }

    /// Priorities.
    pub async fn lookup_priorities(&self, tenant: TenantId) -> Result<Vec<NamedOption>> {
        self.cached(tenant, "priorities".into(), |client| async move {
            let list = client
                .service()
                .priorities()
                .list()
                .page_size(1000)
                .send()
                .await?;
            Ok(list.into_iter().map(|p| named(p.id, p.name)).collect())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_is_a_literal_substring() {
        assert_eq!(contains(" acme "), "%acme%");
        assert_eq!(contains("50%_off"), "%50off%");
    }
}
