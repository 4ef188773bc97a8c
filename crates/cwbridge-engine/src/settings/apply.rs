//! Applying a document: checked whole before anything is written, then written in one go.
//!
//! 1. What the engine can tell alone ([`rules`]): bounds, repeats, values;
//!    every account the document names must exist (the vendor's platform pushes them); a
//!    connection that changes needs its private key. A dry run stops here with the
//!    difference.
//! 2. What ConnectWise must say, through the connection as the document leaves it (saved
//!    or not): billing's product and agreement type, the ticket defaults' board, status,
//!    priority and type, each changed mapping's company and agreement — the same checks as
//!    the API's.
//! 3. The writes, all in one store transaction: stored whole or not at all.
//! 4. A changed connection is checked, as saving one through the API checks it.

use std::collections::HashSet;

use connectwise_client::Client;
use cwbridge_store::{AlertPolicyRecord, MappingRecord, SettingsWrite, TenantId};
use futures_util::{StreamExt, TryStreamExt};

use super::compare::{self, Lists};
use super::diff::{self, Key, SettingsDiff, SettingsSection};
use super::document::{MappingEntry, SettingsDocument, TicketsSection};
use super::rules;
use crate::alert::{TicketSettingsInput, checked_ticket_settings};
use crate::billing::settings::{BillingInput, checked_billing};
use crate::error::{EngineError, Result};
use crate::forwarding::Route;
use crate::mapping::{MappingInput, checked_mapping};
use crate::{ConnectionInput, Engine};

/// Mappings checked against ConnectWise at once.
const MAPPINGS_IN_FLIGHT: usize = 8;

/// How to apply a document.
#[derive(Clone, Copy, Default)]
pub struct ApplyOptions<'a> {
    /// The API key's private half, for a connection the document changes (a document never
    /// holds one).
    pub private_key: Option<&'a str>,
    /// Answer the difference and write nothing.
    pub dry_run: bool,
}

impl std::fmt::Debug for ApplyOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("private_key", &self.private_key.map(|_| "<redacted>"))
            .field("dry_run", &self.dry_run)
            .finish()
    }
}

/// The ticket defaults as the API takes them: by name (ids are for people).
fn ticket_input(t: &TicketsSection) -> TicketSettingsInput {
    TicketSettingsInput {
        board: t.board.clone(),
        status: t.status.clone(),
        priority: t.priority.clone(),
        ticket_type: t.ticket_type.clone(),
        signature: t.signature.clone(),
    }
}

/// A mapping entry checked against ConnectWise as the API checks one (its refusal named by
/// its place in the document), as it is saved.
async fn checked_entry(client: Client, i: usize, m: MappingEntry) -> Result<MappingRecord> {
    let input = MappingInput {
        company_id: m.company_id,
        agreement_id: m.agreement_id,
    };
    checked_mapping(&client, &m.account, &input)
        .await
        .map_err(|e| e.within(&format!("mappings[{i}]")))
}

/// What the document changes that needs no one's word: unmapped accounts, routes and
/// policies (their rules are the engine's alone, checked already).
fn local_writes(lists: &Lists<'_>) -> SettingsWrite {
    SettingsWrite {
        unmapped: lists
            .mappings
            .removed
            .iter()
            .map(|m| m.account.clone())
            .collect(),
        routes: (lists.routes.wanted())
            .map(|(_, r)| (r.account.clone(), Route::from_types(&r.types).to_stored()))
            .collect(),
        unrouted: lists
            .routes
            .removed
            .iter()
            .map(|r| r.account.clone())
            .collect(),
        policies: (lists.policies.wanted())
            .map(|(_, p)| AlertPolicyRecord {
                alert_type: p.alert_type.clone(),
                note_on_resolve: p.note_on_resolve,
                recur_after_close: p.recur_after_close.clone(),
            })
            .collect(),
        unset_policies: (lists.policies.removed.iter())
            .map(|p| p.alert_type.clone())
            .collect(),
        ..SettingsWrite::default()
    }
}

impl Engine {
    /// Makes the tenant's settings what `doc` says (sections it leaves out stay as they
    /// are) and answers the difference. Nothing is written when any part is refused, nor
    /// for a dry run; a refusal names the field by its path in the document
    /// (`mappings[3].companyId`).
    #[tracing::instrument(name = "settings.apply", skip_all, fields(tenant.id = tenant.0, dry_run = options.dry_run))]
    pub async fn apply_settings(
        &self,
        tenant: TenantId,
        doc: &SettingsDocument,
        options: ApplyOptions<'_>,
    ) -> Result<SettingsDiff> {
        let wanted = rules::checked(doc, &self.config.limits, self.config.client_id.as_deref())?;
        self.check_accounts(tenant, &wanted).await?;
        let stored = self.export_settings(tenant).await?;
        let key = self
            .key_given(tenant, &stored, &wanted, options.private_key)
            .await?;
        let mut answer = SettingsDiff {
            applied: false,
            sections: diff::between(&stored, &wanted, key),
            check: None,
        };
        let changed = |section| answer.changes_section(section);
        let connection = match (&wanted.connection, changed(SettingsSection::Connection)) {
            (Some(c), true) => {
                let input = ConnectionInput {
                    site: c.site.clone(),
                    company_id: c.company_id.clone(),
                    public_key: c.public_key.clone(),
                    private_key: options.private_key.unwrap_or_default().to_owned(),
                    client_id: c.client_id.clone(),
                };
                let sealed = self.sealed_connection(tenant, &input).await;
                Some(sealed.map_err(|e| e.within("connection"))?)
            }
            _ => None,
        };
        if options.dry_run || answer.changes() == 0 {
            return Ok(answer);
        }
        // Every check below reaches ConnectWise as the document leaves the connection.
        let engine = match &connection {
            Some(c) => self.with_pending_connection(tenant, c.clone()),
            None => self.clone(),
        };
        let lists = compare::lists(&stored, &wanted);
        let mut write = SettingsWrite {
            connection,
            ..local_writes(&lists)
        };
        let tickets = wanted
            .tickets
            .as_ref()
            .filter(|_| changed(SettingsSection::Tickets));
        let to_map: Vec<(usize, MappingEntry)> = (lists.mappings.wanted())
            .map(|(i, m)| (i, m.clone()))
            .collect();
        if tickets.is_some() || !to_map.is_empty() {
            let client = engine.client_for(tenant).await?;
            if let Some(t) = tickets {
                let checked = checked_ticket_settings(&client, &ticket_input(t)).await;
                let checked = checked.map_err(|e| e.within("tickets"));
                write.tickets = Some(checked?);
            }
            write.mappings = futures_util::stream::iter(to_map)
                .map(|(i, m)| checked_entry(client.clone(), i, m))
                .buffered(MAPPINGS_IN_FLIGHT)
                .try_collect()
                .await?;
        }
        if let Some(b) = wanted
            .billing
            .as_ref()
            .filter(|_| changed(SettingsSection::Billing))
        {
            let input = BillingInput {
                product: b.product.clone(),
                agreement_type: b.agreement_type.clone(),
                mode: b.mode,
                drift_policy: b.drift_policy,
                schedule_hours: b.schedule_hours,
            };
            let client = engine.client_for(tenant).await?;
            let checked = checked_billing(&client, &input).await;
            write.billing = Some(checked.map_err(|e| e.within("billing"))?);
        }
        self.store.put_settings(tenant, &write).await?;
        tracing::info!(tenant.id = %tenant, changes = answer.changes(), "settings applied");
        answer.applied = true;
        if write.connection.is_some() {
            answer.check = Some(self.check_connection(tenant).await?);
        }
        Ok(answer)
    }

    /// Refuses an entry naming an account the tenant does not have.
    async fn check_accounts(&self, tenant: TenantId, doc: &SettingsDocument) -> Result<()> {
        let named = doc
            .mappings
            .iter()
            .flatten()
            .map(|m| ("mappings", &m.account))
            .enumerate()
            .chain(
                doc.alert_routes
                    .iter()
                    .flatten()
                    .map(|r| ("alertRoutes", &r.account))
                    .enumerate(),
            );
        let mut accounts: Option<HashSet<String>> = None;
        for (i, (list, account)) in named {
            if accounts.is_none() {
                accounts = Some(self.store.account_ids(tenant).await?.into_iter().collect());
            }
            if !accounts.as_ref().is_some_and(|a| a.contains(account)) {
                return Err(EngineError::invalid(
                    &format!("{list}[{i}].account"),
                    format!(
                        "there is no account `{account}`: accounts are pushed by the vendor's platform (PUT /api/v1/accounts/{{id}}) before they are mapped or routed"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// What the caller says of the private key: refused when the document's connection
    /// needs one and none is given (a document never holds one), or when one is given
    /// with no connection to go with it.
    async fn key_given(
        &self,
        tenant: TenantId,
        stored: &SettingsDocument,
        wanted: &SettingsDocument,
        private_key: Option<&str>,
    ) -> Result<Key> {
        let private_key = private_key.map(str::trim).filter(|k| !k.is_empty());
        let Some(wanted) = &wanted.connection else {
            return match private_key {
                Some(_) => Err(EngineError::invalid(
                    "connection",
                    "a private key was given but the document has no connection section for it",
                )),
                None => Ok(Key::Kept),
            };
        };
        // The saved key goes only with the same site, company and public key.
        let keeps_key = stored.connection.as_ref().is_some_and(|s| {
            (&s.site, &s.company_id, &s.public_key)
                == (&wanted.site, &wanted.company_id, &wanted.public_key)
        });
        match private_key {
            None if keeps_key => Ok(Key::Kept),
            None => Err(EngineError::invalid(
                "connection.privateKey",
                "this connection is new or changes its site, company or public key, so it needs its API key's private half, which a settings document never holds: give it beside the document (`cwbridge tenant apply --private-key-file FILE`), or save the connection first (PUT /api/v1/connection)",
            )),
            Some(key) if keeps_key && self.has_private_key(tenant, key).await? => Ok(Key::Same),
            Some(_) => Ok(Key::New),
        }
    }
}
