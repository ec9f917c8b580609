//! The redelivery sweep: GitHub's delivery log, newest first, a page at a
//! time, down to where the last finished sweep began (or the end of
//! GitHub's three days). A failed delivery with no later success is asked
//! again if the broker never recorded it (or, when it is forwarded, never
//! published it), and at most once: the claim is written before the ask.

use crate::domain::reconcile::Stop;
use crate::domain::reconcile::{sweep_top, DeliveryAttempt, SweepCheckpoint, Walk};
use crate::error::Result;
use crate::github::GitHubError;
use crate::secrets::AppCredentials;

use super::Run;

/// `None`: the sweep reached its end; otherwise why it stopped (the
/// checkpoint saved so the next run goes on from there).
pub(super) async fn sweep(run: &mut Run<'_>, creds: &AppCredentials) -> Result<Option<Stop>> {
    let mut walk = Walk::default();
    loop {
        if let Some(stop) = run.budget.check(1) {
            return Ok(Some(stop));
        }
        let cursor = run.state.sweep.cursor.clone();
        let (attempts, next) = run.app.github.delivery_log(creds, cursor.as_deref()).await?;
        if cursor.is_none() {
            run.state.sweep.top = sweep_top(&attempts, run.state.sweep.floor);
        }
        let now = run.app.now();
        let verdict = walk.page(&attempts, run.state.sweep.floor, now);
        run.summary.deliveries_seen += attempts.len() as u64;
        for attempt in verdict.candidates {
            if !unrecorded(run, attempt).await? {
                continue;
            }
            if let Some(stop) = run.budget.check(1) {
                // This page is read again next run; the claims made keep
                // what was asked from being asked twice.
                return Ok(Some(stop));
            }
            if run.app.store.claim_redelivery(&attempt.guid, now).await? {
                redeliver(run, creds, attempt).await?;
            }
        }
        if verdict.reached_end || next.is_none() {
            run.state.sweep = SweepCheckpoint {
                floor: run.state.sweep.top,
                top: None,
                cursor: None,
            };
            run.save().await?;
            return Ok(None);
        }
        run.state.sweep.cursor = next;
        run.save().await?;
    }
}

/// Asks GitHub to redeliver. A refusal gives the claim up for the next run;
/// an ask whose answer never came keeps it: GitHub may have sent it.
async fn redeliver(run: &mut Run<'_>, creds: &AppCredentials, attempt: &DeliveryAttempt) -> Result<()> {
    match run.app.github.redeliver(creds, attempt.id).await {
        Ok(()) => {
            run.summary.deliveries_redelivered += 1;
            tracing::info!(delivery = %attempt.guid, event = %attempt.event, "redelivery asked");
            Ok(())
        }
        Err(e) => {
            if !(e.is_timeout() || matches!(e, GitHubError::Transport(_) | GitHubError::Deadline(_))) {
                run.app.store.release_redelivery(&attempt.guid).await?;
            }
            Err(e.into())
        }
    }
}

/// Whether the broker is still missing `attempt`'s delivery: never
/// recorded, or forwarded and never published.
async fn unrecorded(run: &Run<'_>, attempt: &DeliveryAttempt) -> Result<bool> {
    let state = run.app.store.delivery_state(&attempt.guid).await?;
    let forwarded = run.app.events.is_some() && run.app.config.forward_events.forwards(&attempt.event);
    Ok(!state.recorded || (forwarded && !state.published))
}
