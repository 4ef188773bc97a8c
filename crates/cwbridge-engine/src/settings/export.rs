//! A tenant's stored settings read into a document: what export writes, and what apply
//! compares a document with.

use cwbridge_store::TenantId;

use super::document::{
    BillingSection, ConnectionSection, MappingEntry, PolicyEntry, RouteEntry, SettingsDocument,
    TicketsSection,
};
use super::rules::route_types;
use crate::Engine;
use crate::error::Result;
use crate::forwarding::Route;

impl Engine {
    /// The tenant's settings as a document: each section it has set (connection, billing,
    /// ticket defaults) and every list whole — mappings, alert routes and policies, in
    /// order, empty when there are none — with names and ids both. Never the private key.
    pub async fn export_settings(&self, tenant: TenantId) -> Result<SettingsDocument> {
        let connection = self.store.connection(tenant).await?;
        let billing = self.store.billing_settings(tenant).await?;
        let tickets = self.store.ticket_settings(tenant).await?;
        let mappings = self.store.mappings(tenant).await?;
        let mut routes = self.store.alert_routes(tenant).await?;
        routes.sort();
        let policies = self.store.alert_policies(tenant).await?;
        Ok(SettingsDocument {
            connection: connection.map(|c| ConnectionSection {
                site: c.site,
                company_id: c.company_id,
                public_key: c.public_key,
                client_id: c.client_id,
            }),
            billing: billing
                .map(|b| -> Result<BillingSection> {
                    let view = crate::billing::settings::view(&b)?;
                    Ok(BillingSection {
                        product: view.product_identifier,
                        product_id: Some(view.product_id),
                        agreement_type: view.agreement_type_name,
                        agreement_type_id: Some(view.agreement_type_id),
                        mode: view.mode,
                        drift_policy: view.drift_policy,
                        schedule_hours: u32::try_from(view.schedule_hours).unwrap_or_default(),
                    })
                })
                .transpose()?,
            tickets: tickets.map(|t| TicketsSection {
                board: t.board_name,
                board_id: Some(t.board_id),
                status: t.status_name,
                status_id: Some(t.status_id),
                priority: t.priority_name,
                priority_id: Some(t.priority_id),
                ticket_type: t.type_name,
                type_id: t.type_id,
                signature: Some(t.signature),
            }),
            mappings: Some(
                mappings
                    .into_iter()
                    .map(|m| MappingEntry {
                        account: m.external_id,
                        company_id: m.company_id,
                        company_name: Some(m.company_name).filter(|n| !n.is_empty()),
                        agreement_id: m.agreement_id,
                    })
                    .collect(),
            ),
            alert_routes: Some(
                routes
                    .into_iter()
                    .map(|(account, stored)| RouteEntry {
                        account,
                        types: route_types(&Route::from_stored(&stored)),
                    })
                    .collect(),
            ),
            alert_policies: Some(
                policies
                    .into_iter()
                    .map(|p| PolicyEntry {
                        alert_type: p.alert_type,
                        note_on_resolve: p.note_on_resolve,
                        recur_after_close: p.recur_after_close,
                    })
                    .collect(),
            ),
        })
    }
}
