//! Races at higher counts than `tests/concurrency.rs`: storms across
//! separate container processes (`helpers::containers`) that share nothing
//! but the table, the secret and GitHub, each running the real Lambda
//! runtime loop; and the reconciler against live webhooks, round by round.
//! Counts scale with `RACE_SCALE` (default 1, a couple of minutes at most
//! in CI on 2 cores; `RACE_SCALE=5` for the long run).

mod reconciler;
mod storms;
mod uninstall;
mod unlink;

use futures::future::join_all;

use crate::helpers::containers::ProcessContainer;

/// `base` times `RACE_SCALE`.
pub fn scaled(base: usize) -> usize {
    let scale = std::env::var("RACE_SCALE")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(1);
    base * scale
}

/// Sends `n` requests at once, request `i` to container `i % len`; each
/// container (like a Lambda one) serves one at a time, the rest queue.
pub async fn storm<'a, F, Fut>(containers: &'a [ProcessContainer], n: usize, request: F) -> Vec<Fut::Output>
where
    F: Fn(&'a ProcessContainer, usize) -> Fut,
    Fut: std::future::Future,
{
    join_all((0..n).map(|i| request(&containers[i % containers.len()], i))).await
}
