//! Billing runs as the API and the pages show them: typed views of what the store keeps.

use serde::Serialize;
use serde_json::Value;

use cwbridge_store::{ChangeRecord, RunRecord, TenantId};

use crate::{Engine, EngineError, Result};

/// One billing run.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    /// Its id.
    pub id: i64,
    /// When it started (Unix ms).
    pub started_at: i64,
    /// When it finished, if it did (Unix ms).
    pub finished_at: Option<i64>,
    /// `running`, `done` or `failed`.
    pub status: String,
    /// What it did: changes done by kind, failures, an error.
    pub summary: Value,
    /// The run it undoes, when it is an undo.
    pub undoes: Option<i64>,
}

/// One change a run made, as the audit recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeView {
    /// Its id (an undo names the changes it reverts by it).
    pub id: i64,
    /// When (Unix ms).
    pub at: i64,
    /// `create`, `update`, `cancel`, `adopt`, `correct`, `keep-hand-edit` or `failed`.
    pub kind: String,
    /// What was changed.
    pub detail: Value,
    /// What it did to the addition: its state before (`null` when the change made it) and
    /// after. Absent when nothing was written to ConnectWise.
    pub effect: Option<Value>,
    /// The change of the undone run it reverts, when made by an undo.
    pub reverts: Option<i64>,
}

/// Stored JSON text as a value; text that is not JSON stays a string.
fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

impl From<RunRecord> for RunView {
    fn from(r: RunRecord) -> Self {
        RunView {
            id: r.id,
            started_at: r.started_at,
            finished_at: r.finished_at,
            status: r.status.to_string(),
            summary: json_of(&r.summary),
            undoes: r.undoes,
        }
    }
}

impl From<ChangeRecord> for ChangeView {
    fn from(c: ChangeRecord) -> Self {
        ChangeView {
            id: c.id,
            at: c.at,
            kind: c.kind,
            detail: json_of(&c.detail),
            effect: c.effect.as_deref().map(json_of),
            reverts: c.reverts,
        }
    }
}

impl Engine {
    /// A tenant's billing runs older than run `before` (the latest when `None`), newest
    /// first, at most `limit` (1 to 1,000).
    pub async fn billing_runs(
        &self,
        tenant: TenantId,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<RunView>> {
        Ok(self
            .store
            .runs_before(tenant, before, limit.clamp(1, 1000))
            .await?
            .into_iter()
            .map(RunView::from)
            .collect())
    }

    /// One billing run of a tenant and its changes, in order.
    pub async fn billing_run(
        &self,
        tenant: TenantId,
        id: i64,
    ) -> Result<(RunView, Vec<ChangeView>)> {
        let run = self
            .store
            .run(tenant, id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no billing run {id}")))?;
        let changes = self.store.run_changes(tenant, id).await?;
        Ok((
            run.into(),
            changes.into_iter().map(ChangeView::from).collect(),
        ))
    }
}
