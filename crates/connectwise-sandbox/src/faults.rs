//! Faults on demand, for testing clients: latency, 5xx answers, 429 with `Retry-After`, a
//! per-member request budget, and writes whose response never arrives.
//!
//! Shares (`error_rate`, …) are drawn at random per request; the `*_next` counters fail an
//! exact number of upcoming requests, for tests that must be deterministic.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// What happens to a write whose response is lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LostMode {
    /// The connection is closed without an answer.
    #[default]
    Drop,
    /// The answer is held back for `stall_secs`, past any sensible client timeout.
    Stall,
}

/// The fault settings; all off by default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every API request, in milliseconds.
    pub latency_ms: u64,
    /// Share (0–1) of API requests answered 500 or 503 (alternately).
    pub error_rate: f64,
    /// Share (0–1) of API requests answered 429.
    pub throttle_rate: f64,
    /// The `Retry-After` seconds sent with a 429.
    pub retry_after_secs: u64,
    /// Requests per second allowed per member; beyond it, 429.
    pub member_rate_limit: Option<u32>,
    /// Share (0–1) of writes carried out whose response is lost.
    pub lost_response_rate: f64,
    /// How a lost response is lost.
    pub lost_response_mode: LostMode,
    /// How long a stalled response is held, in seconds.
    pub stall_secs: u64,
    /// The next N API requests are answered 503.
    pub fail_next: u32,
    /// The next N API requests are answered 429.
    pub throttle_next: u32,
    /// The next N writes are carried out and their responses lost.
    pub lose_next_writes: u32,
}

impl Faults {
    /// Checks that shares are between 0 and 1.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("error_rate", self.error_rate),
            ("throttle_rate", self.throttle_rate),
            ("lost_response_rate", self.lost_response_rate),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} must be between 0 and 1, got {v}"));
            }
        }
        if self.member_rate_limit == Some(0) {
            return Err("member_rate_limit must be at least 1 (or absent)".into());
        }
        Ok(())
    }

    /// The `Retry-After` to send (at least one second).
    pub fn retry_after(&self) -> u64 {
        self.retry_after_secs.max(1)
    }

    /// How long to stall a lost response.
    pub fn stall(&self) -> Duration {
        Duration::from_secs(if self.stall_secs == 0 {
            300
        } else {
            self.stall_secs
        })
    }
}

/// What the fault injector decided for one request, before it is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Handle the request normally.
    Pass,
    /// Answer with this 5xx status.
    ServerError(u16),
    /// Answer 429 with this `Retry-After`.
    Throttle(u64),
}

/// The fault settings plus the per-member request counters.
#[derive(Debug, Default)]
pub struct Injector {
    /// The current settings.
    pub faults: Faults,
    windows: HashMap<i64, (Instant, u32)>,
    errors_sent: u64,
}

impl Injector {
    /// An injector with these settings.
    pub fn new(faults: Faults) -> Self {
        Self {
            faults,
            ..Self::default()
        }
    }

    /// Decides the fate of an API request by member `member_id`.
    pub fn decide(&mut self, member_id: i64) -> Verdict {
        let f = &mut self.faults;
        if f.fail_next > 0 {
            f.fail_next -= 1;
            return Verdict::ServerError(503);
        }
        if f.throttle_next > 0 {
            f.throttle_next -= 1;
            return Verdict::Throttle(f.retry_after());
        }
        if let Some(limit) = f.member_rate_limit {
            let now = Instant::now();
            let window = self.windows.entry(member_id).or_insert((now, 0));
            if now.duration_since(window.0) >= Duration::from_secs(1) {
                *window = (now, 0);
            }
            window.1 += 1;
            if window.1 > limit {
                return Verdict::Throttle(1);
            }
        }
        if f.throttle_rate > 0.0 && rand::random::<f64>() < f.throttle_rate {
            return Verdict::Throttle(f.retry_after());
        }
        if f.error_rate > 0.0 && rand::random::<f64>() < f.error_rate {
            self.errors_sent += 1;
            let status = if self.errors_sent.is_multiple_of(2) {
                503
            } else {
                500
            };
            return Verdict::ServerError(status);
        }
        Verdict::Pass
    }

    /// Whether the response to a write that was just carried out is to be lost.
    pub fn lose_write_response(&mut self) -> Option<LostMode> {
        let f = &mut self.faults;
        if f.lose_next_writes > 0 {
            f.lose_next_writes -= 1;
            return Some(f.lost_response_mode);
        }
        if f.lost_response_rate > 0.0 && rand::random::<f64>() < f.lost_response_rate {
            return Some(f.lost_response_mode);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_fail_exactly_the_next_requests() {
        let mut inj = Injector::new(Faults {
            fail_next: 1,
            throttle_next: 1,
            retry_after_secs: 7,
            ..Faults::default()
        });
        assert_eq!(inj.decide(1), Verdict::ServerError(503));
        assert_eq!(inj.decide(1), Verdict::Throttle(7));
        assert_eq!(inj.decide(1), Verdict::Pass);
    }

    #[test]
    fn the_member_budget_throttles_past_the_limit() {
        let mut inj = Injector::new(Faults {
            member_rate_limit: Some(2),
            ..Faults::default()
        });
        assert_eq!(inj.decide(1), Verdict::Pass);
        assert_eq!(inj.decide(1), Verdict::Pass);
        assert_eq!(inj.decide(1), Verdict::Throttle(1));
        assert_eq!(inj.decide(2), Verdict::Pass, "budgets are per member");
    }

    #[test]
    fn shares_outside_zero_to_one_are_refused() {
        let f = Faults {
            error_rate: 1.5,
            ..Faults::default()
        };
        assert!(f.validate().unwrap_err().contains("error_rate"));
    }
}
