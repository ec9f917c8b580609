//! The time budget of the request being served. Each GitHub call and each
//! DynamoDB operation is bounded on its own, but a request makes several:
//! without a bound on the whole, Lambda would kill a slow invocation mid-way,
//! the caller would get API Gateway's opaque 5xx, and a call that must not be
//! cut (a refresh-token exchange) could be cut after GitHub acted on it.
//!
//! The edge (the Lambda bridge) sets the deadline for the request's task;
//! the adapters read it before each attempt. The rule everywhere is the
//! same: an attempt is only started when its whole timeout fits in what is
//! left, so the broker stops itself cleanly, with a clear error, instead of
//! being stopped. The deadline is a plain [`Instant`]: nothing here knows
//! about Lambda. Outside a scope (unit tests, spawned tasks) there is none.

use std::future::Future;
use std::time::{Duration, Instant};

tokio::task_local! {
    static DEADLINE: Instant;
}

/// The request's budget is spent: the next attempt would not fit before the
/// deadline. Nothing was started, so the request can be retried as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request's time budget does not leave room for another attempt")]
pub struct DeadlineReached;

/// Runs `work` with `deadline` (or the enclosing one, if it is earlier).
/// `None` keeps the enclosing deadline, if any.
pub async fn within<F: Future>(deadline: Option<Instant>, work: F) -> F::Output {
    let deadline = match (deadline, current()) {
        (Some(new), Some(outer)) => Some(new.min(outer)),
        (new, outer) => new.or(outer),
    };
    match deadline {
        Some(deadline) => DEADLINE.scope(deadline, work).await,
        None => work.await,
    }
}

/// The deadline of the request this task serves, if it has one.
pub fn current() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok()
}

/// What is left of the request's budget; `None` without a deadline.
pub fn remaining() -> Option<Duration> {
    current().map(|d| d.saturating_duration_since(Instant::now()))
}

/// `Ok` when an attempt that may take `needed` can start now.
pub fn check(needed: Duration) -> Result<(), DeadlineReached> {
    match remaining() {
        Some(left) if left < needed => Err(DeadlineReached),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_a_scope_there_is_no_deadline() {
        assert_eq!(remaining(), None);
        assert_eq!(check(Duration::from_secs(3600)), Ok(()));
    }

    #[tokio::test]
    async fn an_attempt_starts_only_when_it_fits() {
        let deadline = Instant::now() + Duration::from_secs(60);
        within(Some(deadline), async {
            assert_eq!(check(Duration::from_secs(1)), Ok(()));
            assert_eq!(check(Duration::from_secs(61)), Err(DeadlineReached));
        })
        .await;
    }

    #[tokio::test]
    async fn a_nested_scope_never_extends_the_outer_one() {
        let outer = Instant::now() + Duration::from_secs(10);
        within(Some(outer), async {
            within(Some(outer + Duration::from_secs(50)), async {
                assert_eq!(current(), Some(outer))
            })
            .await;
            within(None, async { assert_eq!(current(), Some(outer)) }).await;
            assert_eq!(current(), Some(outer));
        })
        .await;
    }
}
