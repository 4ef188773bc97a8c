//! When to send a failed request again, and how long to wait first.

use std::time::Duration;

use rand::Rng;

/// How failed requests are retried: transient failures (5xx, timeouts, dropped connections)
/// and 429s, with jittered exponential backoff, honouring `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 turns retrying off).
    pub max_retries: u32,
    /// The backoff before the first retry; it doubles with each further retry.
    pub base_delay: Duration,
    /// The longest wait between attempts, `Retry-After` included.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(60),
        }
    }
}

/// How one attempt ended, as far as sending it again is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An answer with this HTTP status.
    Status(u16),
    /// The connection could not be made: nothing was sent.
    NotSent,
    /// The request went out and no whole answer came (a timeout, a dropped connection): it
    /// may have been carried out.
    Unanswered,
}

impl RetryPolicy {
    /// Whether attempt number `attempt` (1 for the first), which ended in `outcome`, is sent
    /// again. A 429 always is, and a request that never left; a request that may have been
    /// carried out (a 500, 502, 503 or 504, or no answer) only when `resend_ok`, which a
    /// caller grants for idempotent methods and for writes it asked to retry. Never past
    /// `max_retries`.
    pub fn retries(&self, outcome: Outcome, attempt: u32, resend_ok: bool) -> bool {
        let worth_it = match outcome {
            Outcome::Status(429) | Outcome::NotSent => true,
            Outcome::Status(500 | 502 | 503 | 504) | Outcome::Unanswered => resend_ok,
            Outcome::Status(_) => false,
        };
        worth_it && attempt <= self.max_retries
    }

    /// No retries at all.
    pub fn never() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The wait before retry number `retry` (1 for the first retry): the server's
    /// `Retry-After` when it gave one, else a random wait between half and all of
    /// `base_delay * 2^(retry-1)`, so clients throttled together do not come back in step.
    /// Never more than `max_delay`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_delay);
        }
        let exp = retry.saturating_sub(1).min(20);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let millis = ceiling.as_millis() as u64;
        if millis == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(rand::thread_rng().gen_range(millis / 2..=millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_is_safe_to_send_again_is_retried_and_never_past_the_cap() {
        let p = RetryPolicy {
            max_retries: 2,
            ..RetryPolicy::default()
        };
        for resend_ok in [false, true] {
            assert!(p.retries(Outcome::Status(429), 1, resend_ok));
            assert!(p.retries(Outcome::NotSent, 2, resend_ok));
            assert!(
                !p.retries(Outcome::Status(429), 3, resend_ok),
                "past the cap"
            );
            for status in [400, 401, 403, 404, 409, 501, 505] {
                assert!(
                    !p.retries(Outcome::Status(status), 1, resend_ok),
                    "{status}"
                );
            }
        }
        for outcome in [
            Outcome::Status(500),
            Outcome::Status(502),
            Outcome::Status(503),
            Outcome::Status(504),
            Outcome::Unanswered,
        ] {
            assert!(p.retries(outcome, 1, true), "{outcome:?}");
            assert!(
                !p.retries(outcome, 1, false),
                "{outcome:?} may have been applied"
            );
        }
        assert!(!RetryPolicy::never().retries(Outcome::NotSent, 1, true));
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(p.delay(1, Some(Duration::from_secs(600))), p.max_delay);
    }

    #[test]
    fn backoff_doubles_within_jitter_and_stops_at_the_cap() {
        let p = RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for _ in 0..100 {
            let first = p.delay(1, None);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = p.delay(3, None);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(p.delay(30, None) <= p.max_delay);
        }
    }
}
