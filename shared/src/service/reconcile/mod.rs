//! The reconciler: what repairs the state when webhooks were missed. GitHub
//! does not redeliver a failed delivery by itself and forgets it after
//! three days, so each run, under a lease that keeps runs from overlapping,
//! does two things and remembers where it stopped:
//!
//! 1. the redelivery sweep ([`sweep`]): GitHub's delivery log, newest
//!    first, down to where the last sweep began; each failed delivery with
//!    no later success that the broker has not recorded is redelivered,
//!    once;
//! 2. the installation pass ([`pass`]): every page of GitHub's
//!    installations against the broker's records, then what the broker
//!    holds that no page listed, confirmed one by one and deleted.
//!
//! Repairs ([`repair`]) are written by the webhooks' own write path (same
//! conditions, same out-of-order protection), and published as
//! `reconciled` events when events are forwarded. A run spends at most a
//! share of the app's hourly rate limit ([`Budget`]) and stops before its
//! time is up; the next run goes on from the last step saved.

mod budget;
mod pass;
mod repair;
mod sweep;

use std::time::Duration;

use crate::domain::reconcile::{ReconcileState, Stop, Summary};
use crate::error::{Error, Result};
use crate::store::Lease;
use crate::App;

use budget::Budget;

/// How long a scheduled run works at most, inside its 300 s Lambda
/// timeout: the rest of the work waits for the next run.
pub const RUN_TIME: Duration = Duration::from_secs(240);

/// How long a run asked over HTTP works: the HTTP API gives up on its
/// integration after 30 s.
pub const ON_DEMAND_RUN_TIME: Duration = Duration::from_secs(25);

/// The lease outlives the run by this much: a run that dies holding it
/// delays the next by at most this.
const LEASE_SLACK: i64 = 60;

/// What [`run`] found when it started.
#[derive(Debug)]
pub enum Ran {
    Done(Summary),
    /// Another run holds the lease.
    Busy,
}

/// One run of at most `run_time`: the sweep, then the pass, each from
/// where the last run left it, until the work is done, the budget is spent
/// or the time is up.
pub async fn run(app: &App, run_time: Duration) -> Result<Ran> {
    let now = app.now();
    let lease = Lease {
        owner: crate::crypto::random::token_urlsafe(),
        now,
        until: now + run_time.as_secs() as i64 + LEASE_SLACK,
    };
    let Some(state) = app.store.begin_reconcile(&lease).await? else {
        tracing::info!("reconcile skipped: another run holds the lease");
        return Ok(Ran::Busy);
    };
    let mut run = Run {
        app,
        lease,
        budget: Budget::new(app, state.spending, now, run_time),
        state,
        summary: Summary::default(),
    };
    let stopped = run.work().await;
    let summary = run.finish(stopped).await?;
    Ok(Ran::Done(summary))
}

/// A run in progress: the state it saves after each step.
pub(super) struct Run<'a> {
    app: &'a App,
    lease: Lease,
    budget: Budget<'a>,
    state: ReconcileState,
    summary: Summary,
}

impl Run<'_> {
    async fn work(&mut self) -> Option<Stop> {
        let creds = self.app.secrets.current().await;
        if let Err(e) = repair::publish_unpublished(self).await {
            return Some(self.failed(e));
        }
        match sweep::sweep(self, &creds).await {
            Ok(None) => self.summary.sweep_finished = true,
            Ok(Some(stop)) => return Some(stop),
            Err(e) => return Some(self.failed(e)),
        }
        match pass::pass(self, &creds).await {
            Ok(stop) => stop,
            Err(e) => Some(self.failed(e)),
        }
    }

    fn failed(&self, e: Error) -> Stop {
        if let Error::GitHub(crate::github::GitHubError::RateLimited { .. }) = e {
            return Stop::RateLimited;
        }
        tracing::warn!(error = %e, "reconcile stopped by a failure; the next run goes on from the last step saved");
        Stop::Failed
    }

    /// Saves the state with the lease still held. A run whose lease has
    /// passed to another stops: its writes could undo the other's.
    async fn save(&mut self) -> Result<()> {
        self.state.spending = self.budget.spending();
        if self.app.store.save_reconcile(&self.state, &self.lease, false).await? {
            Ok(())
        } else {
            Err(Error::Internal("the reconciler's lease passed to another run".into()))
        }
    }

    async fn finish(mut self, stopped: Option<Stop>) -> Result<Summary> {
        self.state.spending = self.budget.spending();
        let saved = self.app.store.save_reconcile(&self.state, &self.lease, true).await?;
        let s = &mut self.summary;
        s.stopped = stopped;
        s.github_requests = self.budget.requests();
        s.pass = self.state.pass.number;
        s.next_page = self.state.pass.next_page;
        tracing::info!(
            deliveries_seen = s.deliveries_seen,
            deliveries_redelivered = s.deliveries_redelivered,
            installations_checked = s.installations_checked,
            installations_changed = s.changes(),
            changed = %serde_json::to_string(&s.changed).unwrap_or_default(),
            repairs_published = s.repairs_published,
            github_requests = s.github_requests,
            sweep_finished = s.sweep_finished,
            pass_finished = s.pass_finished,
            pass = s.pass,
            stopped = ?s.stopped,
            state_saved = saved,
            "reconcile run"
        );
        Ok(self.summary)
    }
}
