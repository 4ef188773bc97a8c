//! The delivery pool: many alerts in flight at once, a few per tenant, tenants served in
//! turn, and a circuit breaker that pauses a tenant whose ConnectWise keeps failing — so one
//! MSP's dead or slow ConnectWise costs the others nothing.
//!
//! The tenants with queued alerts are listed (one indexed step per tenant) at most every
//! 250 ms; each pass, starting after the tenant served last, claims at most one alert per
//! tenant that is under its in-flight limit, not paused and not found idle a moment ago,
//! while the pool has room. Claims are indexed per tenant, so a pass costs the same with ten
//! alerts queued or a million.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cwbridge_store::{TenantId, now_ms};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::Engine;
use crate::alert::Failed;

/// Tenants that may have an alert due now, told to the worker between its passes. Bounded:
/// past [`DueNow::MOST`] tenants, the next listing finds the rest.
#[derive(Debug, Default)]
pub(crate) struct DueNow(Mutex<Vec<TenantId>>);

impl DueNow {
    const MOST: usize = 100_000;

    /// Tells the worker `tenant` may have an alert due.
    pub(crate) fn push(&self, tenant: TenantId) {
        let mut list = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if list.len() < Self::MOST {
            list.push(tenant);
        }
    }

    fn take(&self) -> Vec<TenantId> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The alerts this instance's deliveries hold, with their claims: what to release when they
/// are stopped.
type Claims = Arc<Mutex<HashMap<i64, String>>>;

/// Tenants looked at in one pass; more wait for the next.
const TENANTS_PER_PASS: i64 = 10_000;

/// How long the list of tenants with queued alerts is used before it is read again.
const RELIST_EVERY: Duration = Duration::from_millis(250);

/// How long a tenant whose claim found nothing due is skipped.
const QUIET_FOR: Duration = Duration::from_millis(250);

/// What the dispatcher keeps between passes.
#[derive(Debug, Default)]
struct Rota {
    /// The tenant served last: the next pass starts after it.
    after: i64,
    /// Tenants with queued alerts, as last listed.
    tenants: Vec<TenantId>,
    /// When they were listed.
    listed: Option<Instant>,
    /// Tenants whose last claim found nothing due, skipped until then.
    quiet: HashMap<TenantId, Instant>,
}

/// Consecutive failures of a tenant's ConnectWise that pause its deliveries.
const BREAKER_THRESHOLD: u32 = 5;

/// The first pause; each time the probe after a pause fails, the next is twice as long.
const FIRST_PAUSE: Duration = Duration::from_secs(5);

/// The longest pause.
const LONGEST_PAUSE: Duration = Duration::from_secs(300);

/// A tenant's deliveries paused by the circuit breaker, as the API and health page show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryPause {
    /// Until when (Unix ms); after it, one delivery probes ConnectWise.
    pub until: i64,
    /// Failed attempts in a row.
    pub failures: u32,
    /// The last failure.
    pub reason: String,
}

/// One tenant's breaker.
#[derive(Debug, Default)]
pub(crate) struct Breaker {
    failures: u32,
    pauses: u32,
    paused_until: Option<(Instant, i64)>,
    reason: String,
}

/// Every tenant's breaker, on this instance.
#[derive(Debug, Default)]
pub(crate) struct Breakers(Mutex<HashMap<TenantId, Breaker>>);

impl Breakers {
    /// How many deliveries the tenant may have in flight now: none while paused, one (the
    /// probe) once a pause is over and until a delivery succeeds, else `limit`.
    fn allowance(&self, tenant: TenantId, limit: usize) -> usize {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get(&tenant).and_then(|b| b.paused_until) {
            Some((until, _)) if until > Instant::now() => 0,
            Some(_) => 1,
            None => limit,
        }
    }

    fn record(&self, tenant: TenantId, outcome: Result<(), &Failed>) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match outcome {
            Ok(()) => {
                map.remove(&tenant);
            }
            Err(failed) if failed.is_site_failure() => {
                let b = map.entry(tenant).or_default();
                b.failures += 1;
                b.reason = failed.to_string();
                let probing = b.paused_until.is_some();
                if probing || b.failures >= BREAKER_THRESHOLD {
                    let pause = FIRST_PAUSE
                        .saturating_mul(1 << b.pauses.min(10))
                        .min(LONGEST_PAUSE);
                    b.pauses += 1;
                    b.paused_until =
                        Some((Instant::now() + pause, now_ms() + pause.as_millis() as i64));
                    tracing::warn!(tenant.id = %tenant, failures = b.failures, pause_s = pause.as_secs(), reason = %b.reason, "deliveries paused: ConnectWise keeps failing");
                }
            }
            // A failure about one alert (not mapped, refused by validation) says nothing
            // about the site.
            Err(_) => {}
        }
    }

    /// How many tenants are paused now.
    pub(crate) fn paused(&self) -> usize {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        map.values()
            .filter(|b| b.paused_until.is_some_and(|(until, _)| until > now))
            .count()
    }

    fn pause(&self, tenant: TenantId) -> Option<DeliveryPause> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let b = map.get(&tenant)?;
        let (_, until) = b.paused_until?;
        Some(DeliveryPause {
            until,
            failures: b.failures,
            reason: b.reason.clone(),
        })
    }
}

impl Engine {
    /// Delivers queued alerts until `stop` resolves, many at once (`delivery_concurrency`,
    /// at most `deliveries_per_tenant` per tenant), tenants in turn. Woken when an alert is
    /// queued or a delivery ends, and every second for retries that come due (and alerts
    /// queued by other instances). On stop, no alert is claimed any more; deliveries in
    /// flight get [`EngineConfig::shutdown_grace`] to finish, and those still going then are
    /// stopped and their alerts released, due at once for any instance (their tickets are
    /// found by marker, never made twice).
    ///
    /// [`EngineConfig::shutdown_grace`]: crate::EngineConfig::shutdown_grace
    pub async fn run_alert_worker(&self, stop: impl std::future::Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop);
        // Alerts received and not yet queued (by an instance that stopped before queueing
        // them, too) are queued by the promoter.
        self.intake
            .start_promoter(&self.store, &self.alert_queued, &self.due_now);
        let pool = Arc::new(Semaphore::new(self.config.delivery_concurrency.max(1)));
        let busy: Arc<Mutex<HashMap<TenantId, usize>>> = Arc::default();
        let claims: Claims = Arc::default();
        let mut tasks = JoinSet::new();
        let mut rota = Rota::default();
        // The worker's heartbeat, for readiness: beats while this runs, however long a pass
        // waits for room in the pool.
        let beat = {
            let beat = self.worker_beat.clone();
            crate::alert::AbortOnDrop(tokio::spawn(async move {
                loop {
                    beat.store(now_ms(), Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }))
        };
        loop {
            while tasks.try_join_next().is_some() {}
            let claimed = match self
                .dispatch(&pool, &busy, &claims, &mut tasks, &mut rota)
                .await
            {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = %e, "the alert dispatcher failed; retrying");
                    0
                }
            };
            if claimed > 0 {
                tokio::select! {
                    biased;
                    _ = &mut stop => break,
                    _ = std::future::ready(()) => continue,
                }
            }
            tokio::select! {
                _ = &mut stop => break,
                _ = self.alert_queued.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
        drop(beat);
        self.worker_beat.store(0, Ordering::Relaxed);
        self.finish_or_release(tasks, &claims).await;
    }

    /// Waits up to the grace for deliveries in flight, then stops the rest and releases
    /// their claims.
    async fn finish_or_release(&self, mut tasks: JoinSet<()>, claims: &Claims) {
        let grace = self.config.shutdown_grace;
        let all_done = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all_done).await.is_err() {
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
        let left: Vec<(i64, String)> = claims
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .collect();
        for (id, claim) in left {
            match self.store.release_claim(id, &claim).await {
                Ok(_) => tracing::info!(
                    alert.id = id,
                    "delivery stopped by shutdown; alert released"
                ),
                Err(e) => {
                    tracing::warn!(alert.id = id, error = %e, "releasing an alert failed; its lease lapses instead")
                }
            }
        }
    }

    /// Whether the alert worker runs (its heartbeat is under ten seconds old).
    pub fn worker_running(&self) -> bool {
        now_ms() - self.worker_beat.load(Ordering::Relaxed) < 10_000
    }

    /// One pass over the tenants with queued alerts; answers how many alerts it claimed.
    async fn dispatch(
        &self,
        pool: &Arc<Semaphore>,
        busy: &Arc<Mutex<HashMap<TenantId, usize>>>,
        claims: &Claims,
        tasks: &mut JoinSet<()>,
        rota: &mut Rota,
    ) -> crate::Result<usize> {
        let now = Instant::now();
        // Tenants with an alert just due (promoted, or the next of a key whose delivery
        // ended): not skipped, and served now even when the list was read before.
        for tenant in self.due_now.take() {
            rota.quiet.remove(&tenant);
            if let Err(at) = rota.tenants.binary_search(&tenant) {
                rota.tenants.insert(at, tenant);
            }
        }
        if rota
            .listed
            .is_none_or(|at| now.duration_since(at) >= RELIST_EVERY)
        {
            rota.tenants = self
                .store
                .tenants_with_queued_alerts(0, TENANTS_PER_PASS)
                .await?;
            rota.listed = Some(now);
            rota.quiet.retain(|_, until| *until > now);
        }
        let tenants = rota.tenants.clone();
        let start = tenants.partition_point(|t| t.0 <= rota.after);
        let lease = self.config.alert_lease.as_millis() as i64;
        let per_tenant = self.config.deliveries_per_tenant.max(1);
        let mut claimed = 0;
        for &tenant in tenants[start..].iter().chain(&tenants[..start]) {
            let in_flight = *busy
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&tenant)
                .unwrap_or(&0);
            if in_flight >= self.breakers.allowance(tenant, per_tenant)
                || rota.quiet.get(&tenant).is_some_and(|until| *until > now)
            {
                continue;
            }
            let permit = pool
                .clone()
                .acquire_owned()
                .await
                .expect("the pool is never closed");
            let claim = crate::tenant::new_token();
            let allowance = self.breakers.allowance(tenant, per_tenant) as i64;
            let Some(alert) = self
                .store
                .claim_alert_within(tenant, lease, &claim, allowance)
                .await?
            else {
                // Nothing due (its alerts wait for a retry, or are all in flight elsewhere):
                // not asked again for a moment.
                rota.quiet.insert(tenant, now + QUIET_FOR);
                continue;
            };
            *busy
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(tenant)
                .or_default() += 1;
            rota.after = tenant.0;
            claimed += 1;
            let (engine, busy) = (self.clone(), busy.clone());
            let id = alert.id;
            claims
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id, claim.clone());
            let claims = claims.clone();
            tasks.spawn(async move {
                let _permit = permit;
                if let Err(e) = engine.deliver_claimed(alert, claim).await {
                    tracing::error!(alert.id = id, error = %e, "recording a delivery failed");
                }
                claims
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&id);
                let mut busy = busy.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(n) = busy.get_mut(&tenant) {
                    *n -= 1;
                    if *n == 0 {
                        busy.remove(&tenant);
                    }
                }
                drop(busy);
                engine.due_now.push(tenant);
                engine.alert_queued.notify_one();
            });
        }
        Ok(claimed)
    }

    /// Counts a delivery's outcome toward the tenant's circuit breaker.
    pub(crate) fn breaker_record<T>(&self, tenant: TenantId, outcome: &Result<T, Failed>) {
        self.breakers.record(tenant, outcome.as_ref().map(|_| ()));
    }

    /// Whether this instance has paused the tenant's deliveries, and until when.
    pub fn delivery_pause(&self, tenant: TenantId) -> Option<DeliveryPause> {
        self.breakers.pause(tenant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site_down() -> Failed {
        Failed::Deadline(Duration::from_secs(1))
    }

    #[test]
    fn a_tenant_is_paused_after_failures_in_a_row_then_probed_once() {
        let b = Breakers::default();
        let t = TenantId(7);
        for _ in 0..BREAKER_THRESHOLD - 1 {
            b.record(t, Err(&site_down()));
            assert_eq!(b.allowance(t, 4), 4);
        }
        b.record(t, Err(&site_down()));
        assert_eq!(b.allowance(t, 4), 0, "paused");
        let pause = b.pause(t).unwrap();
        assert_eq!(pause.failures, BREAKER_THRESHOLD);
        assert!(pause.reason.contains("did not finish"));
        // Another tenant is untouched.
        assert_eq!(b.allowance(TenantId(8), 4), 4);
        // The pause over, one probe; its success closes the breaker.
        b.0.lock().unwrap().get_mut(&t).unwrap().paused_until = Some((Instant::now(), now_ms()));
        assert_eq!(b.allowance(t, 4), 1);
        b.record(t, Ok(()));
        assert_eq!(b.allowance(t, 4), 4);
        assert!(b.pause(t).is_none());
    }

    #[test]
    fn a_failed_probe_pauses_twice_as_long() {
        let b = Breakers::default();
        let t = TenantId(1);
        for _ in 0..BREAKER_THRESHOLD {
            b.record(t, Err(&site_down()));
        }
        let first = b.pause(t).unwrap().until - now_ms();
        b.0.lock().unwrap().get_mut(&t).unwrap().paused_until = Some((Instant::now(), now_ms()));
        b.record(t, Err(&site_down()));
        let second = b.pause(t).unwrap().until - now_ms();
        assert!(second > first + 3_000, "{first} then {second}");
    }

    #[test]
    fn a_failure_about_one_alert_does_not_count() {
        let b = Breakers::default();
        let t = TenantId(1);
        for _ in 0..20 {
            b.record(
                t,
                Err(&Failed::Engine(crate::EngineError::invalid(
                    "account",
                    "not mapped",
                ))),
            );
        }
        assert_eq!(b.allowance(t, 4), 4);
    }
}
