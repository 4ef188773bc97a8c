//! Which alert types each customer forwards (seed 004's step 4, "pick a domain group, then its
//! alerts"): every type by default, also ones added later, or only those chosen. Set one
//! customer at a time or many at once, and shown a page of customers at a time.

use std::collections::{BTreeSet, HashMap};

use cwbridge_store::TenantId;
use serde::Serialize;

use crate::Engine;
use crate::alert::TEST_ALERT_TYPE;
use crate::error::{EngineError, Result};
use crate::paging::Page;

/// The alert types a customer forwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Every type, also ones added later (the default).
    All,
    /// Only these (none when empty).
    Only(Vec<String>),
}

impl Route {
    /// The route a list of types means: `*` anywhere is every type.
    pub fn from_types(types: &[String]) -> Route {
        if types.iter().any(|t| t == "*") {
            Route::All
        } else {
            Route::Only(types.to_vec())
        }
    }

    /// A route as it is stored: `*`, or a JSON list (unreadable text forwards nothing).
    pub fn from_stored(text: &str) -> Route {
        if text == "*" {
            Route::All
        } else {
            Route::Only(serde_json::from_str(text).unwrap_or_default())
        }
    }

    /// The route as it is stored.
    pub fn to_stored(&self) -> String {
        match self {
            Route::All => "*".to_owned(),
            Route::Only(types) => serde_json::to_string(types).unwrap_or_default(),
        }
    }

    /// Whether alerts of `alert_type` are forwarded.
    pub fn forwards(&self, alert_type: &str) -> bool {
        match self {
            Route::All => true,
            Route::Only(types) => types.iter().any(|t| t == alert_type),
        }
    }
}

/// Alert types a route may list.
pub const MAX_ROUTE_TYPES: usize = 200;

/// Customers set at once by [`Engine::set_alert_routes`].
pub const MAX_BULK_ACCOUNTS: usize = 100_000;

/// A route's types, checked: each 1 to 100 characters, at most [`MAX_ROUTE_TYPES`].
pub(crate) fn checked(types: &[String]) -> Result<Route> {
    if types.len() > MAX_ROUTE_TYPES {
        return Err(EngineError::invalid(
            "types",
            format!(
                "a customer forwards at most {MAX_ROUTE_TYPES} listed alert types; use [\"*\"] for all"
            ),
        ));
    }
    let clean = crate::account::cleaned(
        "types",
        types,
        "an alert type is 1 to 100 characters, e.g. dmarc-record-changed",
        |t| (t.chars().count() <= 100).then(|| t.to_owned()),
    )?;
    Ok(Route::from_types(&clean))
}

/// A customer as step 4 shows it: whether it is mapped, and each alert type it has with
/// whether it is forwarded.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardingRow {
    /// The vendor's id for the customer.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whether it is mapped (alerts of customers not mapped are held).
    pub mapped: bool,
    /// Whether every type is forwarded, also ones added later.
    pub all: bool,
    /// Its alert types (configured by the vendor, seen in its alerts, or chosen before) and
    /// whether each is forwarded.
    pub types: Vec<(String, bool)>,
}

impl Engine {
    /// Sets which alert types an account forwards: `["*"]` for all (also types added
    /// later), an empty list for none.
    pub async fn set_alert_route(
        &self,
        tenant: TenantId,
        account: &str,
        types: &[String],
    ) -> Result<()> {
        match self
            .set_alert_routes(tenant, &[account.to_owned()], types)
            .await?
        {
            0 => Err(EngineError::NotFound(format!("no account `{account}`"))),
            _ => Ok(()),
        }
    }

    /// Sets the same route for many accounts at once, all or none (accounts the tenant does
    /// not have are skipped); answers how many were set.
    pub async fn set_alert_routes(
        &self,
        tenant: TenantId,
        accounts: &[String],
        types: &[String],
    ) -> Result<u64> {
        let route = checked(types)?;
        if accounts.len() > MAX_BULK_ACCOUNTS {
            return Err(EngineError::invalid(
                "accounts",
                format!("set at most {MAX_BULK_ACCOUNTS} customers at once"),
            ));
        }
        Ok(self
            .store
            .put_alert_routes(tenant, accounts, &route.to_stored())
            .await?)
    }

    /// The alert types an account forwards: `None` for all of them (the default).
    pub async fn alert_route(
        &self,
        tenant: TenantId,
        account: &str,
    ) -> Result<Option<Vec<String>>> {
        Ok(
            match self.store.alert_route(tenant, account).await?.as_deref() {
                None => None,
                Some(text) => match Route::from_stored(text) {
                    Route::All => None,
                    Route::Only(types) => Some(types),
                },
            },
        )
    }

    /// The ids of the customers whose name or id contains `search` (any case), in id order.
    pub async fn accounts_matching(&self, tenant: TenantId, search: &str) -> Result<Vec<String>> {
        let needle = search.trim().to_lowercase();
        Ok(self
            .store
            .accounts(tenant)
            .await?
            .into_iter()
            .filter(|a| matches(&needle, &a.external_id, &a.name))
            .map(|a| a.external_id)
            .collect())
    }

    /// Page `page` of the customers whose name or id contains `search`, with what each
    /// forwards. Reads the store four times whatever the number of customers.
    pub async fn forwarding(
        &self,
        tenant: TenantId,
        search: &str,
        page: usize,
        per_page: usize,
    ) -> Result<Page<ForwardingRow>> {
        let needle = search.trim().to_lowercase();
        let accounts = self.store.accounts(tenant).await?;
        let mapped: BTreeSet<String> = self
            .store
            .mappings(tenant)
            .await?
            .into_iter()
            .map(|m| m.external_id)
            .collect();
        let routes: HashMap<String, Route> = self
            .store
            .alert_routes(tenant)
            .await?
            .into_iter()
            .map(|(account, text)| (account, Route::from_stored(&text)))
            .collect();
        // Types seen in the tenant's latest alerts count as the customer's, so a type the
        // vendor sends but never configured can still be turned off.
        let mut seen: HashMap<String, BTreeSet<String>> = HashMap::new();
        for a in self.store.alerts(tenant, 200).await? {
            if a.alert_type != TEST_ALERT_TYPE {
                seen.entry(a.account).or_default().insert(a.alert_type);
            }
        }
        let shown: Vec<_> = accounts
            .into_iter()
            .filter(|a| matches(&needle, &a.external_id, &a.name))
            .collect();
        let total = shown.len();
        Ok(Page::of(shown, total, page, per_page).map(|a| {
            let route = routes.get(&a.external_id).unwrap_or(&Route::All);
            let mut types: BTreeSet<String> = a.alert_types.into_iter().collect();
            types.extend(seen.remove(&a.external_id).unwrap_or_default());
            if let Route::Only(listed) = route {
                types.extend(listed.iter().cloned());
            }
            ForwardingRow {
                mapped: mapped.contains(&a.external_id),
                all: *route == Route::All,
                types: types
                    .into_iter()
                    .map(|t| {
                        let on = route.forwards(&t);
                        (t, on)
                    })
                    .collect(),
                id: a.external_id,
                name: a.name,
            }
        }))
    }
}

/// Whether a customer matches a search (already lower case; empty matches all).
fn matches(needle: &str, id: &str, name: &str) -> bool {
    needle.is_empty() || name.to_lowercase().contains(needle) || id.to_lowercase().contains(needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_read_back_as_stored_and_forward_what_they_list() {
        let only = Route::from_types(&["spf-failing".into()]);
        assert!(only.forwards("spf-failing") && !only.forwards("dmarc-failure"));
        assert_eq!(Route::from_stored(&only.to_stored()), only);
        assert_eq!(Route::from_types(&["a".into(), "*".into()]), Route::All);
        assert_eq!(Route::from_stored("*").to_stored(), "*");
        assert!(!Route::from_stored("not json").forwards("x"));
        assert!(!Route::from_types(&[]).forwards("x"));
    }

    #[test]
    fn a_routes_types_are_bounded_and_cleaned() {
        assert!(checked(&vec!["t".to_owned(); MAX_ROUTE_TYPES + 1]).is_err());
        assert!(checked(&[" ".into()]).is_err());
        assert!(checked(&["x".repeat(101)]).is_err());
        assert_eq!(
            checked(&[" b ".into(), "a".into(), "b".into()]).unwrap(),
            Route::Only(vec!["a".into(), "b".into()])
        );
    }
}
