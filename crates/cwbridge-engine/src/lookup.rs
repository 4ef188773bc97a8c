//! Look-ups for the wizard: companies, a company's agreements, agreement types, catalog
//! products, boards with their statuses and types, priorities — read from ConnectWise and
//! remembered for a minute per tenant, so paging through a form does not hammer it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use connectwise_client::conditions::field;
use cwbridge_store::TenantId;
use futures_util::TryStreamExt;
use serde_json::{Value, json};

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

impl Engine {
    async fn cached<F, Fut>(&self, tenant: TenantId, key: String, fetch: F) -> Result<Value>
    where
        F: FnOnce(connectwise_client::Client) -> Fut,
        Fut: std::future::Future<Output = Result<Value>>,
    {
        if let Some(v) = self.lookups.get(tenant, &key) {
            return Ok(v);
        }
        let client = self.client_for(tenant).await?;
        let value = self.recheck_on_403(tenant, fetch(client).await).await?;
        self.lookups.put(tenant, key, value.clone());
        Ok(value)
    }

    /// Companies whose name or identifier contains `search` (up to 50), or the first 50.
    pub async fn lookup_companies(&self, tenant: TenantId, search: Option<&str>) -> Result<Value> {
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
            let companies = list.send().await?;
            Ok(json!(
                companies
                    .iter()
                    .map(|c| json!({"id": c.id, "identifier": c.identifier, "name": c.name}))
                    .collect::<Vec<_>>()
            ))
        })
        .await
    }

    /// A company's agreements.
    pub async fn lookup_agreements(&self, tenant: TenantId, company: i64) -> Result<Value> {
        self.cached(
            tenant,
            format!("agreements:{company}"),
            |client| async move {
                let agreements: Vec<connectwise_client::models::Agreement> = client
                    .finance()
                    .agreements()
                    .list()
                    .conditions(field("company/id").eq(company))
                    .page_size(1000)
                    .stream()
                    .try_collect()
                    .await?;
                Ok(json!(agreements
                .iter()
                .map(|a| json!({
                    "id": a.id, "name": a.name,
                    "type": a.r#type.as_ref().map(|t| json!({"id": t.id, "name": t.name})),
                    "status": a.agreement_status, "cancelled": a.cancelled_flag.unwrap_or(false),
                }))
                .collect::<Vec<_>>()))
            },
        )
        .await
    }

    /// The agreements of several companies in one request (the mapping page's lists),
    /// each with its company's id.
    pub async fn lookup_agreements_of(&self, tenant: TenantId, companies: &[i64]) -> Result<Value> {
        if companies.is_empty() {
            return Ok(json!([]));
        }
        let mut ids = companies.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let key = format!("agreements-of:{ids:?}");
        self.cached(tenant, key, |client| async move {
            let agreements: Vec<connectwise_client::models::Agreement> = client
                .finance()
                .agreements()
                .list()
                .conditions(field("company/id").in_list(ids))
                .page_size(1000)
                .stream()
                .try_collect()
                .await?;
            Ok(json!(
                agreements
                    .iter()
                    .map(|a| json!({
                        "id": a.id, "name": a.name,
                        "company": a.company.as_ref().and_then(|c| c.id),
                        "type": a.r#type.as_ref().map(|t| json!({"id": t.id, "name": t.name})),
                        "cancelled": a.cancelled_flag.unwrap_or(false),
                    }))
                    .collect::<Vec<_>>()
            ))
        })
        .await
    }

    /// Agreement types.
    pub async fn lookup_agreement_types(&self, tenant: TenantId) -> Result<Value> {
        self.cached(tenant, "agreement-types".into(), |client| async move {
            let types: Vec<connectwise_client::models::AgreementType> = client
                .finance()
                .agreement_types()
                .list()
                .page_size(1000)
                .stream()
                .try_collect()
                .await?;
            Ok(json!(
                types
                    .iter()
                    .map(|t| json!({"id": t.id, "name": t.name}))
                    .collect::<Vec<_>>()
            ))
        })
        .await
    }

    /// Active catalog products whose identifier or description contains `search` (up to 50).
    pub async fn lookup_catalog(&self, tenant: TenantId, search: Option<&str>) -> Result<Value> {
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
            Ok(json!(items
                .iter()
                .map(|i| json!({"id": i.id, "identifier": i.identifier, "description": i.description, "price": i.price}))
                .collect::<Vec<_>>()))
        })
        .await
    }

    /// Service boards, each with its statuses and ticket types.
    pub async fn lookup_boards(&self, tenant: TenantId) -> Result<Value> {
        self.cached(tenant, "boards".into(), |client| async move {
            let boards = client.service().boards().list().page_size(1000).send().await?;
            let mut out = Vec::new();
            for b in boards {
                let id = b.id.unwrap_or_default();
                let statuses = client.service().board_statuses(id).list().page_size(1000).send().await?;
                let types = client.service().board_types(id).list().page_size(1000).send().await?;
                out.push(json!({
                    "id": id, "name": b.name,
                    "statuses": statuses.iter().map(|s| json!({"id": s.id, "name": s.name, "closed": s.closed_status.unwrap_or(false)})).collect::<Vec<_>>(),
                    "types": types.iter().map(|t| json!({"id": t.id, "name": t.name})).collect::<Vec<_>>(),
                }));
            }
            Ok(Value::Array(out))
        })
        .await
    }

    /// Priorities.
    pub async fn lookup_priorities(&self, tenant: TenantId) -> Result<Value> {
        self.cached(tenant, "priorities".into(), |client| async move {
            let list = client
                .service()
                .priorities()
                .list()
                .page_size(1000)
                .send()
                .await?;
            Ok(json!(
                list.iter()
                    .map(|p| json!({"id": p.id, "name": p.name}))
                    .collect::<Vec<_>>()
            ))
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
