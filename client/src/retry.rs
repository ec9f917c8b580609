//! When a call is sent again, and after how long.
//!
//! A call is sent again only when doing it twice cannot do more than doing
//! it once, or when it certainly was not done:
//!
//! - the connection could not be made (nothing was sent): every route;
//! - `429` (API Gateway's throttling, answered before the broker runs; the
//!   broker itself never answers 429): every route;
//! - another transport failure (sent, but no answer), `502`, `503`, `504`:
//!   only [`Idempotency::Idempotent`] routes, since the broker may have
//!   acted before failing.
//!
//! Each method of [`Client`](crate::Client) says which kind its route is.
//! The wait is the answer's `Retry-After` when it gives one (a longer one
//! than [`RetryPolicy::max_retry_after`] ends the retries: the error is
//! returned at once), otherwise an exponential backoff with jitter.

use std::time::Duration;

/// Whether a route may be sent again after a failure that left its effect
/// unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// Doing it twice is doing it once (GET, PUT, DELETE, and the POSTs
    /// that hand out a cached or refreshed token).
    Idempotent,
    /// Doing it twice may do twice (a repository, a commit, a reconcile
    /// run, a new OAuth state).
    NotIdempotent,
}

/// Bounded retries with backoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: never retry).
    pub max_attempts: u32,
    /// The first backoff; it doubles with each attempt.
    pub base_delay: Duration,
    /// The longest backoff.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a longer one is not waited for.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, 200 ms doubling up to 5 s, `Retry-After` up to 30 s.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// What an attempt ended with, as far as retrying goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No connection was made: nothing was sent.
    Connect,
    /// Sent, no (complete) answer.
    Transport,
    /// An answer with this status.
    Status(u16),
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Whether a failure of a route of this kind may be retried at all.
    pub(crate) fn retryable(kind: Idempotency, failure: Failure) -> bool {
        match failure {
            Failure::Connect | Failure::Status(429) => true,
            Failure::Transport | Failure::Status(502..=504) => kind == Idempotency::Idempotent,
            Failure::Status(_) => false,
        }
    }

    /// How long to wait before attempt `attempt + 1` (`attempt` counted
    /// from 1), or `None` to give up.
    pub(crate) fn delay(
        &self,
        kind: Idempotency,
        failure: Failure,
        attempt: u32,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts || !Self::retryable(kind, failure) {
            return None;
        }
        match retry_after {
            Some(wait) if wait > self.max_retry_after => None,
            Some(wait) => Some(wait),
            None => Some(self.backoff(attempt)),
        }
    }

    /// Exponential backoff with jitter: between half and all of
    /// `base_delay * 2^(attempt-1)`, capped at `max_delay`.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter = rand::random::<f64>();
        half + half.mul_f64(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Failure::*;
    use Idempotency::*;

    #[test]
    fn only_what_cannot_double_is_retried() {
        for kind in [Idempotent, NotIdempotent] {
            assert!(RetryPolicy::retryable(kind, Connect));
            assert!(RetryPolicy::retryable(kind, Status(429)));
            for no in [400, 401, 403, 404, 409, 413, 422, 500] {
                assert!(!RetryPolicy::retryable(kind, Status(no)), "{no}");
            }
        }
        for status in [502, 503, 504] {
            assert!(RetryPolicy::retryable(Idempotent, Status(status)));
            assert!(!RetryPolicy::retryable(NotIdempotent, Status(status)));
        }
        assert!(RetryPolicy::retryable(Idempotent, Transport));
        assert!(!RetryPolicy::retryable(NotIdempotent, Transport));
    }

    #[test]
    fn attempts_are_bounded_and_retry_after_is_honoured() {
        let policy = RetryPolicy::default();
        let wait = Some(Duration::from_secs(2));
        assert_eq!(policy.delay(Idempotent, Status(503), 1, wait), wait);
        assert_eq!(policy.delay(Idempotent, Status(503), 2, wait), wait);
        assert_eq!(policy.delay(Idempotent, Status(503), 3, wait), None);
        assert_eq!(
            policy.delay(Idempotent, Status(503), 1, Some(Duration::from_secs(31))),
            None
        );
        assert_eq!(policy.delay(NotIdempotent, Status(503), 1, wait), None);
        assert_eq!(RetryPolicy::none().delay(Idempotent, Connect, 1, None), None);
    }

    #[test]
    fn backoff_doubles_within_its_cap() {
        let policy = RetryPolicy::default();
        for (attempt, full) in [(1, 200), (2, 400), (3, 800), (10, 5000), (40, 5000)] {
            let wait = policy.backoff(attempt);
            let full = Duration::from_millis(full);
            assert!(wait >= full / 2 && wait <= full, "{attempt}: {wait:?}");
        }
    }
}
