//! The Rust API for the App's primary rate limit. Kept apart from `lib.rs`
//! so that file stays about world building, clocks and faults.

use crate::GitHubSim;

impl GitHubSim {
    /// Requests authenticated with a valid app JWT may number `limit` per
    /// hour-long window (default 5000, GitHub's minimum for an App); the
    /// window opens at the first such request and ends an hour later on the
    /// sim clock, so [`GitHubSim::set_clock_offset`] past its end starts a
    /// fresh count. Every answer to such a request carries GitHub's
    /// `x-ratelimit-*` headers; once the budget is spent the request is not
    /// processed and gets GitHub's 403 "API rate limit exceeded for app ID
    /// N.". Installation and user tokens are not counted. Setting a limit
    /// also starts the count of the current window again at 0.
    pub fn set_app_rate_limit(&self, limit: u64) {
        self.shared.lock().app_rate.set_limit(limit);
    }

    /// Requests counted against the App's budget in the current window (0
    /// once the sim clock has passed its reset); refused ones do not count.
    pub fn app_rate_limit_used(&self) -> u64 {
        let st = self.shared.lock();
        st.app_rate.used(st.now())
    }
}
