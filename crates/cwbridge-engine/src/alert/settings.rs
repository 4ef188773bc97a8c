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
        let record = TicketSettingsRecord {
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
                .unwrap_or("cwbridge")
                .to_owned(),
        };
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
        if !["new", "reopen"].contains(&input.recur_after_close.as_str()) {
            return Err(EngineError::invalid(
                "recurAfterClose",
                "choose `new` (a new ticket) or `reopen` (the closed one)",
            ));
        }
        Ok(self
            .store
            .put_alert_policy(
                tenant,
                &AlertPolicyRecord {
                    alert_type: alert_type.to_owned(),
                    note_on_resolve: input.note_on_resolve,
                    recur_after_close: input.recur_after_close.clone(),
                },
            )
            .await?)
    }
}
