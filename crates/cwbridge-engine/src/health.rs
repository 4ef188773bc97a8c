//! What ConnectWise has been answering lately, per tenant: the error and rate-limit answers
//! (and attempts that got no answer) that the connection-health page shows. Kept in memory by
//! each bridge process, newest first, a bounded number per tenant.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use connectwise_client::Failure;
use cwbridge_store::{TenantId, now_ms};
use serde::Serialize;

use crate::Engine;

/// How many failed attempts are kept per tenant.
pub const KEPT: usize = 50;

/// A failed attempt against a tenant's ConnectWise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentFailure {
    /// When (Unix ms).
    pub at: i64,
    /// The method.
    pub method: String,
    /// The path, with its query.
    pub path: String,
    /// The status; `None` when no answer came.
    pub status: Option<u16>,
    /// ConnectWise's message, or what went wrong.
    pub message: String,
    /// Whether the client retried it.
    pub retrying: bool,
}

/// The failed attempts of every tenant.
#[derive(Debug, Default)]
pub struct RecentFailures {
    by_tenant: Mutex<HashMap<TenantId, VecDeque<RecentFailure>>>,
}

impl RecentFailures {
    /// Records one.
    pub fn record(&self, tenant: TenantId, f: &Failure) {
        let mut map = self
            .by_tenant
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let list = map.entry(tenant).or_default();
        if list.len() >= KEPT {
            list.pop_back();
        }
        list.push_front(RecentFailure {
            at: now_ms(),
            method: f.method.clone(),
            path: f.path.clone(),
            status: f.status,
            message: f.message.chars().take(300).collect(),
            retrying: f.retrying,
        });
    }

    fn of(&self, tenant: TenantId) -> Vec<RecentFailure> {
        let map = self
            .by_tenant
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(&tenant)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl Engine {
    /// The tenant's latest failed attempts against ConnectWise seen by this process, newest
    /// first.
    pub fn recent_failures(&self, tenant: TenantId) -> Vec<RecentFailure> {
        self.failures.of(tenant)
    }
}
