//! What a run may still spend: the configured share of the app's hourly
//! rate limit less what earlier runs spent in the same window, counted from
//! the requests the GitHub client really sent as the app (retries
//! included), and the run's own time.

use std::time::{Duration, Instant};

use crate::domain::reconcile::{Spending, Stop};
use crate::domain::UnixTime;
use crate::App;

/// A step starts only with this much of the run left: one GitHub call with
/// its retries (`GITHUB_TIMEOUT_SECONDS`, 10 s) and the store writes after it.
const STEP_RESERVE: Duration = Duration::from_secs(12);

pub(super) struct Budget<'a> {
    app: &'a App,
    percent: u8,
    spending: Spending,
    /// The client's count of requests as the app when last synced.
    counted: u64,
    started_count: u64,
    ends: Instant,
}

impl<'a> Budget<'a> {
    pub fn new(app: &'a App, spending: Spending, now: UnixTime, run_time: Duration) -> Self {
        let counted = app.github.requests_as_app();
        Self {
            app,
            percent: app.config.reconcile_rate_budget,
            spending: spending.at(now),
            counted,
            started_count: counted,
            ends: Instant::now() + run_time,
        }
    }

    /// Counts what was sent since the last call, in the window GitHub's
    /// last answer named.
    fn sync(&mut self) {
        let count = self.app.github.requests_as_app();
        self.spending
            .spend(count.saturating_sub(self.counted), self.app.github.rate_limit());
        self.counted = count;
    }

    /// Whether a step of `requests` GitHub requests may start; why not.
    /// The budget is asked first: when both are out, it is the reason that
    /// holds until the window resets (the next run could not go on either),
    /// and the answer does not depend on how fast the store was.
    pub fn check(&mut self, requests: u64) -> Option<Stop> {
        self.sync();
        if self.spending.allowance(self.percent) < requests {
            return Some(Stop::Budget);
        }
        // The app's whole limit is nearly spent (by the mints): the last
        // share of it is theirs.
        if let Some(seen) = self.app.github.rate_limit().filter(|s| s.reset > self.app.now()) {
            let share = seen.limit * u64::from(self.percent) / 100;
            if seen.remaining < share.min(seen.limit - share) {
                return Some(Stop::Budget);
            }
        }
        let left = self
            .ends
            .saturating_duration_since(Instant::now())
            .min(crate::deadline::remaining().unwrap_or(Duration::MAX));
        if left < STEP_RESERVE {
            return Some(Stop::Deadline);
        }
        None
    }

    pub fn spending(&mut self) -> Spending {
        self.sync();
        self.spending
    }

    /// Requests sent as the app during this run.
    pub fn requests(&self) -> u64 {
        self.app.github.requests_as_app().saturating_sub(self.started_count)
    }
}
