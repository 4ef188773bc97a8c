//! The vendor's accounts (seed 004's "domain groups") and their billable units ("sending
//! domains"), pushed whole by the vendor.

use cwbridge_store::{AccountRecord, TenantId};
use serde::{Deserialize, Serialize};

use crate::Engine;
use crate::error::{EngineError, Result};
use crate::mapping::MappingView;

/// An account's whole state, as the vendor pushes it (`PUT` is idempotent).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountInput {
    /// Its name, as the MSP knows the customer.
    pub name: String,
    /// Every billable unit it has now; units not listed are gone.
    pub units: Vec<String>,
    /// The alert types configured for it on the vendor's side (step 4 offers these).
    #[serde(default)]
    pub alert_types: Vec<String>,
}

/// An account as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    /// The vendor's id for it.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its units.
    pub units: Vec<String>,
    /// The alert types configured for it on the vendor's side.
    pub alert_types: Vec<String>,
    /// The company it is mapped to, if it is.
    pub mapping: Option<MappingView>,
}

/// An account id, trimmed: 1 to 200 characters without `/`.
pub(crate) fn check_id(id: &str) -> Result<&str> {
    let id = id.trim();
    if id.is_empty() || id.chars().count() > 200 || id.contains('/') {
        return Err(EngineError::invalid(
            "id",
            "an account id is 1 to 200 characters without `/`",
        ));
    }
    Ok(id)
}

impl Engine {
    /// Sets an account and its whole unit list.
    pub async fn put_account(
        &self,
        tenant: TenantId,
        id: &str,
        input: &AccountInput,
    ) -> Result<AccountView> {
        let id = check_id(id)?;
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(EngineError::invalid(
                "name",
                "give the account a name of 1 to 200 characters",
            ));
        }
        let limits = &self.config.limits;
        for (field, n, most, what) in [
            (
                "units",
                input.units.len(),
                limits.units_per_account,
                "units",
            ),
            (
                "alertTypes",
                input.alert_types.len(),
                limits.alert_types_per_account,
                "alert types",
            ),
        ] {
            if n > most {
                return Err(EngineError::invalid(
                    field,
                    format!("an account has at most {most} {what}; this one has {n}"),
                ));
            }
        }
        let max_accounts = limits.accounts_per_tenant as i64;
        if !self.store.has_account(tenant, id).await?
            && self.store.accounts_upto(tenant, max_accounts).await? >= max_accounts
        {
            return Err(EngineError::invalid(
                "id",
                format!(
                    "a tenant has at most {max_accounts} accounts; remove one before adding another"
                ),
            ));
        }
        // Domains and most unit names ignore case: `Acme.example` is `acme.example`.
        let units = cleaned(
            "units",
            &input.units,
            "a unit (e.g. a sending domain) is 1 to 253 characters",
            |u| (u.chars().count() <= 253).then(|| u.to_lowercase()),
        )?;
        let alert_types = cleaned(
            "alertTypes",
            &input.alert_types,
            "an alert type is 1 to 100 characters, e.g. dmarc-record-changed",
            |t| (t.chars().count() <= 100 && t != "*").then(|| t.to_owned()),
        )?;
        self.store
            .put_account(tenant, id, name, &units, &alert_types)
            .await?;
        let mapping = self.store.mapping(tenant, id).await?.map(MappingView::from);
        Ok(AccountView {
            id: id.to_owned(),
            name: name.to_owned(),
            units,
            alert_types,
            mapping,
        })
    }

    /// Removes an account; its lines are cancelled by the next billing run.
    pub async fn delete_account(&self, tenant: TenantId, id: &str) -> Result<()> {
        if self.store.delete_account(tenant, id).await? {
            Ok(())
        } else {
            Err(EngineError::NotFound(format!("no account `{id}`")))
        }
    }

    /// The tenant's mappings by account.
    pub(crate) async fn mappings_by_account(
        &self,
        tenant: TenantId,
    ) -> Result<std::collections::HashMap<String, cwbridge_store::MappingRecord>> {
        let mappings = self.store.mappings(tenant).await?;
        Ok(mappings
            .into_iter()
            .map(|m| (m.external_id.clone(), m))
            .collect())
    }

    /// Every account with its mapping.
    pub async fn accounts(&self, tenant: TenantId) -> Result<Vec<AccountView>> {
        let mut mappings = self.mappings_by_account(tenant).await?;
        let accounts: Vec<AccountRecord> = self.store.accounts(tenant).await?;
        Ok(accounts
            .into_iter()
            .map(|a| AccountView {
                mapping: mappings.remove(&a.external_id).map(MappingView::from),
                id: a.external_id,
                name: a.name,
                units: a.units,
                alert_types: a.alert_types,
            })
            .collect())
    }
}

/// A list a tenant sends, each entry trimmed and read by `accept` (`None`: refused), then
/// sorted without repeats; an empty or refused entry is named (`field[i]`) with `rule`.
pub(crate) fn cleaned(
    field: &str,
    items: &[String],
    rule: &str,
    accept: impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item = item.trim();
        let Some(kept) = Some(item).filter(|t| !t.is_empty()).and_then(&accept) else {
            return Err(EngineError::invalid(format!("{field}[{i}]").as_str(), rule));
        };
        out.push(kept);
    }
    out.sort();
    out.dedup();
    Ok(out)
}
