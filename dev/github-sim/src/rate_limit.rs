//! GitHub's primary rate limit for requests authenticated as the App (app
//! JWT): a budget of requests per hour-long window that opens with the first
//! request counted and closes an hour later on the sim clock. The HTTP side
//! (charging requests, the `x-ratelimit-*` headers, the 403) lives in
//! `http::rate_limit`.

/// GitHub's minimum for an App; higher limits depend on the installations'
/// repositories and users, which a test sets explicitly instead.
pub(crate) const DEFAULT_APP_LIMIT: u64 = 5000;

const WINDOW_SECONDS: i64 = 3600;

/// What the `x-ratelimit-*` headers report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Budget {
    pub limit: u64,
    pub used: u64,
    /// When the window ends (Unix seconds, sim clock).
    pub reset: i64,
}

impl Budget {
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }
}

#[derive(Debug)]
pub(crate) struct AppRateLimit {
    limit: u64,
    used: u64,
    /// `None` until the first request opens a window.
    reset: Option<i64>,
}

impl Default for AppRateLimit {
    fn default() -> AppRateLimit {
        AppRateLimit {
            limit: DEFAULT_APP_LIMIT,
            used: 0,
            reset: None,
        }
    }
}

impl AppRateLimit {
    /// The end of the window open at `now`, if one is.
    fn open_window(&self, now: i64) -> Option<i64> {
        self.reset.filter(|reset| now < *reset)
    }

    /// Counts one request at `now`, opening a new window if the last one has
    /// ended. `Err` when the budget is spent: the request is refused and, as
    /// on GitHub, not counted, so `used` never exceeds the limit.
    pub fn charge(&mut self, now: i64) -> Result<Budget, Budget> {
        let reset = match self.open_window(now) {
            Some(reset) => reset,
            None => {
                self.used = 0;
                let reset = now.saturating_add(WINDOW_SECONDS);
                self.reset = Some(reset);
                reset
            }
        };
        let spent = self.used >= self.limit;
        if !spent {
            self.used += 1;
        }
        let budget = Budget {
            limit: self.limit,
            used: self.used,
            reset,
        };
        if spent {
            Err(budget)
        } else {
            Ok(budget)
        }
    }

    /// A new limit with a fresh count; the window keeps its reset time.
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
        self.used = 0;
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Requests counted in the window open at `now` (0 once it has ended).
    pub fn used(&self, now: i64) -> u64 {
        self.open_window(now).map_or(0, |_| self.used)
    }

    /// The end of the window open at `now`, if one is.
    pub fn reset(&self, now: i64) -> Option<i64> {
        self.open_window(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_then_refuses_until_the_window_ends() {
        let mut limit = AppRateLimit::default();
        limit.set_limit(2);
        let first = limit.charge(1000).unwrap();
        assert_eq!((first.used, first.remaining(), first.reset), (1, 1, 4600));
        assert_eq!(limit.charge(4599).unwrap().remaining(), 0);
        let refused = limit.charge(4599).unwrap_err();
        assert_eq!((refused.used, refused.remaining(), refused.reset), (2, 0, 4600));
        assert_eq!(limit.used(4599), 2);
        assert_eq!(limit.used(4600), 0, "the window has ended");
        let next = limit.charge(4600).unwrap();
        assert_eq!((next.used, next.reset), (1, 8200));
    }

    #[test]
    fn a_new_limit_starts_the_count_again_in_the_same_window() {
        let mut limit = AppRateLimit::default();
        assert_eq!(limit.charge(0).unwrap().limit, DEFAULT_APP_LIMIT);
        limit.set_limit(1);
        assert_eq!(limit.used(10), 0);
        assert_eq!(
            limit.charge(10).unwrap(),
            Budget {
                limit: 1,
                used: 1,
                reset: 3600
            }
        );
        assert!(limit.charge(10).is_err());
        limit.set_limit(0);
        assert_eq!(limit.charge(10).unwrap_err().remaining(), 0);
    }
}
