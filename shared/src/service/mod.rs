//! The broker's use cases as pipelines over the ports held by [`crate::App`]:
//! gather facts, ask the domain's rules, act. Nothing here knows the
//! transport (Lambda event, local server) or the store's technology.

pub mod connection;
pub mod installations;
pub mod oauth;
pub mod repos;
pub mod vending;
pub mod webhooks;

use std::time::Duration;

/// Polls with growing pauses while another container finishes a refresh or a
/// mint: cheap single-item reads, capped well under the Lambda timeout.
pub(crate) async fn pause(round: u32) {
    let millis = (40u64 << round.min(4)).min(500);
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

/// How long a refresh or mint lease is held at most: longer than one GitHub
/// call with its retries, so a live holder is never overtaken.
pub(crate) const LEASE_SECONDS: i64 = 15;

/// A store write whose loss would throw away what only GitHub could give
/// again (a rotated refresh token, a new grant): tried three times, 160 ms
/// and 320 ms apart, on top of the SDK's own retries of each request.
pub(crate) async fn persist<T, F, Fut>(what: &str, mut write: F) -> crate::store::StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = crate::store::StoreResult<T>>,
{
    let mut attempt = 0;
    loop {
        match write().await {
            // Past the deadline a retry would only be refused again.
            Err(e) if attempt < 2 && !matches!(e, crate::store::StoreError::Deadline(_)) => {
                tracing::warn!(error = %e, what, "store write failed; retrying");
                pause(attempt + 2).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}
