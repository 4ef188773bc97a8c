//! Billing & product (seed 004's step 2): the product from the catalog, the default
//! agreement type, the billing mode, and what to do with hand edits.

use cwbridge_store::{BillingSettingsRecord, TenantId};
use serde::{Deserialize, Serialize};

use super::plan::{DriftPolicy, Mode};
use crate::Engine;
use crate::error::{EngineError, Result};
use crate::lookup::{find_one, required};

/// What the tenant chooses in step 2.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BillingInput {
    /// The catalog product: its identifier (e.g. `DMARC-MONITOR`) or id.
    #[schema(min_length = 1)]
    pub product: String,
    /// The default agreement type: its name or id. Each company's active agreement of this
    /// type gets the lines, unless the account's mapping names another agreement.
    #[schema(min_length = 1)]
    pub agreement_type: String,
    /// How lines are billed.
    pub mode: Mode,
    /// What to do with lines of ours edited by hand in ConnectWise (default: report them).
    #[serde(default = "report")]
    pub drift_policy: DriftPolicy,
    /// Apply on its own every this many hours (default 0: on demand only), at most
    /// [`MAX_SCHEDULE_HOURS`].
    #[serde(default, deserialize_with = "crate::whole::whole")]
    #[schema(maximum = 744)]
    pub schedule_hours: u32,
}

/// The longest interval between scheduled billing runs: a month of 31 days.
pub const MAX_SCHEDULE_HOURS: u32 = 24 * 31;

fn report() -> DriftPolicy {
    DriftPolicy::Report
}

/// The saved settings, as the API shows them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingView {
    /// The product's id.
    pub product_id: i64,
    /// Its identifier.
    pub product_identifier: String,
    /// Its description.
    pub product_description: String,
    /// Its price per unit.
    pub unit_price: f64,
    /// The default agreement type's id.
    pub agreement_type_id: i64,
    /// Its name.
    pub agreement_type_name: String,
    /// The mode.
    pub mode: Mode,
    /// The drift policy.
    pub drift_policy: DriftPolicy,
    /// Scheduled runs every this many hours (0: on demand only).
    pub schedule_hours: i64,
}

pub(crate) fn view(r: &BillingSettingsRecord) -> Result<BillingView> {
    Ok(BillingView {
        product_id: r.product_id,
        product_identifier: r.product_identifier.clone(),
        product_description: r.product_description.clone(),
        unit_price: r.unit_price,
        agreement_type_id: r.agreement_type_id,
        agreement_type_name: r.agreement_type_name.clone(),
        mode: r.mode.parse().map_err(|_| {
            EngineError::Store(cwbridge_store::StoreError::Corrupt(format!(
                "billing mode `{}`",
                r.mode
            )))
        })?,
        drift_policy: r.drift_policy.parse().unwrap_or(DriftPolicy::Report),
        schedule_hours: r.schedule_hours,
    })
}

impl Engine {
    /// Saves step 2, checking the product is in the catalog and the agreement type exists.
    pub async fn set_billing(&self, tenant: TenantId, input: &BillingInput) -> Result<BillingView> {
        let r = self.set_billing_inner(tenant, input).await;
        self.recheck_on_403(tenant, r).await
    }

    async fn set_billing_inner(
        &self,
        tenant: TenantId,
        input: &BillingInput,
    ) -> Result<BillingView> {
        let client = self.client_for(tenant).await?;
        let record = checked_billing(&client, input).await?;
        self.store.put_billing_settings(tenant, &record).await?;
        view(&record)
    }

    /// The saved step 2.
    pub async fn billing(&self, tenant: TenantId) -> Result<BillingView> {
        let record = self.store.billing_settings(tenant).await?.ok_or_else(|| {
            EngineError::NotFound(
                "billing is not set up: choose the product and the agreement type first".into(),
            )
        })?;
        view(&record)
    }
}

/// Step 2's settings checked against the tenant's ConnectWise (the product in the catalog and
/// active, the agreement type there), as they would be stored; nothing is written.
pub(crate) async fn checked_billing(
    client: &connectwise_client::Client,
    input: &BillingInput,
) -> Result<BillingSettingsRecord> {
    if input.schedule_hours > MAX_SCHEDULE_HOURS {
        return Err(EngineError::invalid(
            "scheduleHours",
            format!("give whole hours from 0 (on demand only) to {MAX_SCHEDULE_HOURS} (a month)"),
        ));
    }
    let product = input.product.trim();
    if product.is_empty() {
        return Err(EngineError::invalid(
            "product",
            "choose the product from the ConnectWise catalog",
        ));
    }
    let catalog = client.procurement().catalog();
    let item = required(
        find_one(&catalog, product, "identifier").await?,
        "product",
        || {
            format!(
                "`{product}` is not in the ConnectWise product catalog: add it there first (Procurement > Product Catalog), then choose it here"
            )
        },
    )?;
    if item.inactive_flag == Some(true) {
        return Err(EngineError::invalid(
            "product",
            format!(
                "`{product}` is inactive in the ConnectWise catalog: activate it or choose another"
            ),
        ));
    }
    let types = client.finance().agreement_types();
    let agreement_type = required(
        find_one(&types, &input.agreement_type, "name").await?,
        "agreementType",
        || {
            format!(
                "ConnectWise has no agreement type `{}`",
                input.agreement_type.trim()
            )
        },
    )?;
    let record = BillingSettingsRecord {
        product_id: item.id.unwrap_or_default(),
        product_identifier: item.identifier.clone().unwrap_or_default(),
        product_description: item
            .description
            .clone()
            .or(item.identifier.clone())
            .unwrap_or_default(),
        unit_price: item.price.unwrap_or(0.0),
        agreement_type_id: agreement_type.id.unwrap_or_default(),
        agreement_type_name: agreement_type.name.clone().unwrap_or_default(),
        mode: input.mode.as_str().to_owned(),
        drift_policy: input.drift_policy.to_string(),
        schedule_hours: i64::from(input.schedule_hours),
    };
    Ok(record)
}
