//! What runs on its own: each connection's check once a day, and each tenant's billing on
//! its schedule. `cwbridge serve` calls [`Engine::run_scheduled`] every minute; running it
//! on several instances at once is safe (billing runs take the tenant's run lock).

use cwbridge_store::now_ms;

use crate::Engine;
use crate::error::{EngineError, Result};

/// How old a connection check may get before it is made again.
pub const CHECK_EVERY_MS: i64 = 24 * 60 * 60 * 1000;

/// Tenants whose scheduled work runs at once.
pub const SCHEDULED_CONCURRENCY: usize = 16;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduledWork {
    /// Connections checked.
    pub checks: usize,
    /// Billing runs applied.
    pub billing_runs: usize,
}

impl Engine {
    /// Does whatever is due at `now` (Unix ms), for `SCHEDULED_CONCURRENCY` tenants at a
    /// time: a tenant whose ConnectWise hangs holds up only its own slot.
    pub async fn run_scheduled(&self, now: i64) -> Result<ScheduledWork> {
        use futures_util::StreamExt;
        let tenants = self.store.tenants().await?;
        let done: Vec<ScheduledWork> = futures_util::stream::iter(tenants)
            .map(|tenant| async move {
                let mut work = ScheduledWork::default();
                // One tenant's trouble (its store rows, its ConnectWise) never stops the others'.
                if let Err(e) = self.run_scheduled_for(tenant.id, now, &mut work).await {
                    tracing::warn!(tenant.id = %tenant.id, error = %e, "scheduled work failed");
                }
                work
            })
            .buffer_unordered(SCHEDULED_CONCURRENCY)
            .collect()
            .await;
        Ok(done
            .into_iter()
            .fold(ScheduledWork::default(), |a, b| ScheduledWork {
                checks: a.checks + b.checks,
                billing_runs: a.billing_runs + b.billing_runs,
            }))
    }

    async fn run_scheduled_for(
        &self,
        tenant: cwbridge_store::TenantId,
        now: i64,
        work: &mut ScheduledWork,
    ) -> Result<()> {
        if self.store.connection(tenant).await?.is_none() {
            return Ok(());
        }
        let stale = match self.store.last_check(tenant).await? {
            Some(c) => now - c.checked_at >= CHECK_EVERY_MS,
            None => true,
        };
        if stale {
            if let Err(e) = self.check_connection(tenant).await {
                tracing::warn!(tenant.id = %tenant, error = %e, "scheduled check failed");
            }
            work.checks += 1;
        }
        let Some(settings) = self.store.billing_settings(tenant).await? else {
            return Ok(());
        };
        if settings.schedule_hours <= 0 {
            return Ok(());
        }
        let last = self
            .store
            .runs(tenant, 1)
            .await?
            .first()
            .map(|r| r.started_at);
        let due = last.is_none_or(|at| now - at >= settings.schedule_hours * 3_600_000);
        if due {
            match self.billing_apply(tenant, true).await {
                Ok(_) => work.billing_runs += 1,
                Err(EngineError::RunInProgress { .. }) => {} // another instance is on it
                Err(e) => {
                    tracing::warn!(tenant.id = %tenant, error = %e, "scheduled billing failed")
                }
            }
        }
        Ok(())
    }

    /// Runs [`Engine::run_scheduled`] every minute until `stop` resolves.
    pub async fn run_scheduler(&self, stop: impl std::future::Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop);
        loop {
            if let Err(e) = self.run_scheduled(now_ms()).await {
                tracing::error!(error = %e, "the scheduler failed; trying again in a minute");
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
            }
        }
    }
}
