//! Ticket defaults (board, status, priority, type, signature) and alert-type policies, each
//! checked against the tenant's ConnectWise before it is saved.

use super::*;
use crate::lookup::{find_one, required};

impl Engine {
    /// The saved ticket defaults (step 4), if any.
    pub async fn ticket_settings(
        &self,
        tenant: TenantId,
    ) -> Result<Option<cwbridge_store::TicketSettingsRecord>> {
        Ok(self.store.ticket_settings(tenant).await?)
    }

    /// Saves step 4's defaults, checking the status and type belong to the board.
    pub async fn set_ticket_settings(
        &self,
        tenant: TenantId,
        input: &TicketSettingsInput,
    ) -> Result<TicketSettingsRecord> {
        let r = self.set_ticket_settings_inner(tenant, input).await;
        self.recheck_on_403(tenant, r).await
    }

    async fn set_ticket_settings_inner(
        &self,
        tenant: TenantId,
        input: &TicketSettingsInput,
    ) -> Result<TicketSettingsRecord> {
        let client = self.client_for(tenant).await?;
        let record = checked_ticket_settings(&client, input).await?;
        self.store.put_ticket_settings(tenant, &record).await?;
        Ok(record)
    }

    /// Sets an alert type's policy.
    pub async fn set_alert_policy(
        &self,
        tenant: TenantId,
        alert_type: &str,
        input: &AlertPolicyInput,
    ) -> Result<()> {
        let record = checked_policy(alert_type, input, self.config.limits.alert_type_chars)?;
        Ok(self.store.put_alert_policy(tenant, &record).await?)
    }
}

/// Ticket defaults checked against ConnectWise, as they are saved: the board, its status
/// and its type, and the priority, each found by name or id. Nothing is stored.
pub(crate) async fn checked_ticket_settings(
    client: &Client,
    input: &TicketSettingsInput,
) -> Result<TicketSettingsRecord> {
    let service = client.service();
    let board = required(
        find_one(&service.boards(), &input.board, "name").await?,
        "board",
        || format!("ConnectWise has no service board `{}`", input.board),
    )?;
    let board_id = board.id.unwrap_or_default();
    let board_name = board.name.clone().unwrap_or_default();
    let statuses = service.board_statuses(board_id);
    let status = required(
        find_one(&statuses, &input.status, "name").await?,
        "status",
        || format!("board `{board_name}` has no status `{}`", input.status),
    )?;
    let priority = required(
        find_one(&service.priorities(), &input.priority, "name").await?,
        "priority",
        || format!("ConnectWise has no priority `{}`", input.priority),
    )?;
    let ticket_type = match &input.ticket_type {
        Some(t) if !t.trim().is_empty() => Some(required(
            find_one(&service.board_types(board_id), t, "name").await?,
            "type",
            || format!("board `{board_name}` has no ticket type `{t}`"),
        )?),
        _ => None,
    };
    Ok(TicketSettingsRecord {
        board_id,
        board_name,
        status_id: status.id.unwrap_or_default(),
        status_name: status.name.clone().unwrap_or_default(),
        priority_id: priority.id.unwrap_or_default(),
        priority_name: priority.name.clone().unwrap_or_default(),
        type_id: ticket_type.as_ref().and_then(|t| t.id),
        type_name: ticket_type.and_then(|t| t.name),
        signature: input
            .signature
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(DEFAULT_SIGNATURE)
            .to_owned(),
    })
}

/// Who notes are written on behalf of when the tenant names no one.
pub const DEFAULT_SIGNATURE: &str = "cwbridge";

/// An alert type's policy checked, as it is saved: the type 1 to `max_type_chars`
/// characters, as alerts' types are.
pub(crate) fn checked_policy(
    alert_type: &str,
    input: &AlertPolicyInput,
    max_type_chars: usize,
) -> Result<AlertPolicyRecord> {
    if alert_type.trim().is_empty() || alert_type.chars().count() > max_type_chars {
        return Err(EngineError::invalid(
            "type",
            format!("an alert type is 1 to {max_type_chars} characters, e.g. dmarc-record-changed"),
        ));
    }
    if !["new", "reopen"].contains(&input.recur_after_close.as_str()) {
        return Err(EngineError::invalid(
            "recurAfterClose",
            "choose `new` (a new ticket) or `reopen` (the closed one)",
        ));
    }
    Ok(AlertPolicyRecord {
        alert_type: alert_type.to_owned(),
        note_on_resolve: input.note_on_resolve,
        recur_after_close: input.recur_after_close.clone(),
    })
}
