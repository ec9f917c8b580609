//! The broker's use cases as pipelines over the ports held by [`crate::App`]:
//! gather facts, ask the domain's rules, act. Nothing here knows the
//! transport (Lambda event, local server) or the store's technology.

pub mod audit;
pub mod connection;
pub mod forwarding;
pub mod installations;
pub mod oauth;
pub mod reconcile;
pub mod repos;
pub mod revocation;
pub mod vending;
pub mod webhooks;

use std::time::Duration;

/// Polls with growing pauses while another container finishes a refresh or a
/// mint: cheap single-item reads, capped well under the Lambda timeout.
pub(crate) async fn pause(round: u32) {
    tokio::time::sleep(pause_length(round)).await;
}

/// How long a mint lease is held at most: longer than one GitHub call with
/// its retries, so a live holder is rarely overtaken (and if it is, the
/// cost is one more mint, never a lost token).
pub(crate) const MINT_LEASE_SECONDS: i64 = 15;

const PERSIST_ATTEMPTS: u32 = 3;

/// The longest [`persist`] takes: every attempt a whole DynamoDB operation
/// (the SDK's retries included), and the pauses between them.
pub(crate) fn persist_worst_case() -> Duration {
    let pauses: Duration = (2..PERSIST_ATTEMPTS + 1).map(pause_length).sum();
    crate::store::OPERATION_TIMEOUT * PERSIST_ATTEMPTS + pauses
}

fn pause_length(round: u32) -> Duration {
    Duration::from_millis((40u64 << round.min(4)).min(500))
}

/// A store write whose loss would throw away what only GitHub could give
/// again (a rotated refresh token, a new grant): tried three times, 160 ms
/// and 320 ms apart, on top of the SDK's own retries of each request. An
/// attempt starts only while `may_start()` says so: a lease holder writes
/// nothing once its lease could have passed to another container.
pub(crate) async fn persist<T, F, Fut>(
    what: &str,
    may_start: impl Fn() -> bool,
    mut write: F,
) -> crate::store::StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = crate::store::StoreResult<T>>,
{
    let mut attempt = 0;
    loop {
        if !may_start() {
            tracing::error!(what, "not written: the lease ran out before the write could start");
            return Err(crate::store::StoreError::Deadline(crate::deadline::DeadlineReached));
        }
        match write().await {
            // Past the deadline a retry would only be refused again.
            Err(e) if attempt + 1 < PERSIST_ATTEMPTS && !matches!(e, crate::store::StoreError::Deadline(_)) => {
                tracing::warn!(error = %e, what, "store write failed; retrying");
                pause(attempt + 2).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn persist_starts_no_write_once_told_not_to() {
        let writes = AtomicU32::new(0);
        let result = persist(
            "test",
            || false,
            || async {
                writes.fetch_add(1, Ordering::SeqCst);
                Ok(())
            },
        )
        .await;
        assert!(matches!(result, Err(crate::store::StoreError::Deadline(_))));
        assert_eq!(writes.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn persists_worst_case_is_three_whole_operations_and_two_pauses() {
        assert_eq!(
            persist_worst_case(),
            crate::store::OPERATION_TIMEOUT * 3 + Duration::from_millis(160 + 320)
        );
    }
}
