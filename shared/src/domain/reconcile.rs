//! The reconciler's decisions, free of I/O: what differs between the
//! broker's record of an installation and GitHub's, which failed webhook
//! deliveries to ask GitHub to send again, and how much of the app's rate
//! limit a run may spend. The service walks GitHub and the store; every
//! choice it makes on the way is one of these functions.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use super::installation::{Installation, InstallationStatus};
use super::UnixTime;

/// What a repair changed about an installation, as the summary counts it
/// and the `reconciled` event names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// GitHub lists an installation the broker never recorded.
    Created,
    /// The broker holds an installation GitHub no longer knows.
    Deleted,
    Suspended,
    Unsuspended,
    Permissions,
    RepositorySelection,
    /// The installation's account was renamed.
    Renamed,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Deleted => "deleted",
            Self::Suspended => "suspended",
            Self::Unsuspended => "unsuspended",
            Self::Permissions => "permissions",
            Self::RepositorySelection => "repository_selection",
            Self::Renamed => "renamed",
        }
    }
}

/// How the broker's record (`None`: never recorded) differs from GitHub's
/// installation; empty when they agree.
pub fn drift(held: Option<&Installation>, github: &Installation) -> Vec<ChangeKind> {
    let Some(held) = held else {
        return vec![ChangeKind::Created];
    };
    let mut kinds = Vec::new();
    if held.status != github.status {
        kinds.push(match github.status {
            InstallationStatus::Suspended => ChangeKind::Suspended,
            InstallationStatus::Active => ChangeKind::Unsuspended,
        });
    }
    if held.permissions != github.permissions {
        kinds.push(ChangeKind::Permissions);
    }
    if held.repository_selection != github.repository_selection {
        kinds.push(ChangeKind::RepositorySelection);
    }
    if held.account_login != github.account_login {
        kinds.push(ChangeKind::Renamed);
    }
    kinds
}

/// Whether tokens cached before the change may reach more than GitHub now
/// allows: the same rule as the webhooks' (`new_permissions_accepted`,
/// repositories added or removed).
pub fn invalidates_tokens(kinds: &[ChangeKind]) -> bool {
    kinds
        .iter()
        .any(|k| matches!(k, ChangeKind::Permissions | ChangeKind::RepositorySelection))
}

/// GitHub keeps an app's deliveries this long, and redelivers only those.
pub const DELIVERY_RETENTION: i64 = 3 * 24 * 3600;

/// The sweep leaves deliveries this close to the end of their retention:
/// GitHub would forget them before the redelivery is asked.
pub const RETENTION_MARGIN: i64 = 15 * 60;

/// One attempt in GitHub's delivery log (`GET /app/hook/deliveries`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// The attempt's own id: the one a redelivery is asked by.
    pub id: u64,
    /// `X-GitHub-Delivery`, shared by all attempts of one delivery.
    pub guid: String,
    pub delivered_at: UnixTime,
    /// 0 when no answer came back.
    pub status_code: u16,
    /// Still in flight: neither a success nor a failure yet.
    pub pending: bool,
    pub event: String,
    pub action: Option<String>,
}

impl DeliveryAttempt {
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status_code)
    }
}

/// Where the redelivery sweep stands in GitHub's log, kept between runs.
/// A sweep walks newest first down to `floor` (the newest attempt the last
/// finished sweep began at); a run that stops mid-way leaves `cursor` and
/// `top` so the next one resumes where it stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepCheckpoint {
    pub floor: Option<u64>,
    /// The newest attempt of the sweep in progress: the next floor.
    pub top: Option<u64>,
    /// GitHub's cursor for the page the sweep in progress goes on from.
    pub cursor: Option<String>,
}

/// One sweep's walk down the log: the deliveries it has seen succeed and
/// those it has already judged. Attempts come newest first, so a success
/// later than a failure is always seen before it.
#[derive(Debug, Default)]
pub struct Walk {
    succeeded: HashSet<String>,
    judged: HashSet<String>,
}

/// What a page of the log comes to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PageVerdict<'a> {
    /// Failed deliveries with no later success, newest first, one attempt each.
    pub candidates: Vec<&'a DeliveryAttempt>,
    /// The walk reached the floor or the end of the retention window: the
    /// sweep is over once these candidates are done.
    pub reached_end: bool,
}

/// Where a sweep that begins with `first` (the log's newest page) will
/// stop next time: its newest attempt, or just below the oldest one still
/// in flight, which the next sweep must judge once it is settled.
pub fn sweep_top(first: &[DeliveryAttempt], floor: Option<u64>) -> Option<u64> {
    let top = match first.iter().filter(|a| a.pending).map(|a| a.id).min() {
        Some(pending) => Some(pending.saturating_sub(1)),
        None => first.first().map(|a| a.id),
    };
    top.max(floor)
}

impl Walk {
    pub fn page<'a>(&mut self, attempts: &'a [DeliveryAttempt], floor: Option<u64>, now: UnixTime) -> PageVerdict<'a> {
        let oldest = now - DELIVERY_RETENTION + RETENTION_MARGIN;
        let mut verdict = PageVerdict::default();
        for attempt in attempts {
            if floor.is_some_and(|floor| attempt.id <= floor) || attempt.delivered_at < oldest {
                verdict.reached_end = true;
                break;
            }
            if attempt.pending {
                continue;
            }
            if attempt.succeeded() {
                self.succeeded.insert(attempt.guid.clone());
            } else if !self.succeeded.contains(&attempt.guid) && self.judged.insert(attempt.guid.clone()) {
                verdict.candidates.push(attempt);
            }
        }
        verdict
    }
}

/// GitHub's `x-ratelimit-*` headers on an answer to the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u64,
    pub remaining: u64,
    /// When the window ends (Unix seconds).
    pub reset: UnixTime,
}

/// What the reconciler has spent of the app's rate limit in the current
/// window, kept between runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spending {
    /// The end of the window the spending counts in (Unix seconds).
    pub window_reset: UnixTime,
    pub spent: u64,
    /// The app's hourly limit, as GitHub last said.
    pub limit: u64,
}

/// GitHub's primary limit for an app, until a header says otherwise.
pub const DEFAULT_HOURLY_LIMIT: u64 = 5000;

impl Spending {
    /// The spending that counts at `now`: a window that ended counts nothing.
    pub fn at(self, now: UnixTime) -> Self {
        match self.window_reset > now {
            true => self,
            false => Self {
                window_reset: now + 3600,
                spent: 0,
                limit: self.limit,
            },
        }
    }

    /// How many more requests the share (`percent` of the hourly limit)
    /// allows in this window.
    pub fn allowance(&self, percent: u8) -> u64 {
        let limit = if self.limit == 0 {
            DEFAULT_HOURLY_LIMIT
        } else {
            self.limit
        };
        (limit * u64::from(percent) / 100).saturating_sub(self.spent)
    }

    /// Counts `requests` sent, in the window GitHub's last answer named.
    pub fn spend(&mut self, requests: u64, seen: Option<RateLimit>) {
        if let Some(seen) = seen {
            if seen.reset > self.window_reset {
                // GitHub's window moved on: what was spent counts in the old one.
                self.spent = 0;
            }
            self.window_reset = seen.reset;
            self.limit = seen.limit;
        }
        self.spent += requests;
    }
}

/// Where the installation pass stands, kept between runs. A pass reads
/// every page of `GET /app/installations`, then handles as deleted what the
/// broker holds and no page listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassCursor {
    /// Counts passes: each pass's listings are recorded under its number.
    pub number: u64,
    /// The page to read next (from 1); `None`: every page is read and the
    /// deletions are being looked for.
    pub next_page: Option<u32>,
    pub started_at: UnixTime,
    /// While deletions are looked for: the store's cursor in the
    /// installations it holds.
    #[serde(default)]
    pub held_after: Option<String>,
    /// A pass not begun yet (`started_at` 0) begins no sooner than this.
    #[serde(default)]
    pub not_before: UnixTime,
}

/// A pass begins at most this often: each one ends with a read of every
/// installation record the broker holds.
pub const PASS_INTERVAL: i64 = 15 * 60;

impl PassCursor {
    /// Whether the pass may run at `now`, beginning it if it has not begun.
    pub fn begin(&mut self, now: UnixTime) -> bool {
        if self.started_at == 0 {
            if now < self.not_before {
                return false;
            }
            self.started_at = now;
            self.next_page = Some(1);
        }
        true
    }

    /// The pass after this one, not begun: it begins [`PASS_INTERVAL`]
    /// after this one began.
    pub fn next(&self) -> Self {
        Self {
            number: self.number + 1,
            next_page: Some(1),
            started_at: 0,
            held_after: None,
            not_before: self.started_at + PASS_INTERVAL,
        }
    }
}

/// A repair's event, recorded before the repair so a run that stops
/// between the repair and its publication publishes it next time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRepair {
    pub id: String,
    pub installation: u64,
    pub action: String,
    pub accounts: Vec<String>,
    /// The event's payload, JSON.
    pub payload: String,
}

/// The reconciler's memory between runs: one item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileState {
    #[serde(default)]
    pub sweep: SweepCheckpoint,
    #[serde(default)]
    pub pass: PassCursor,
    #[serde(default)]
    pub spending: Spending,
    #[serde(default)]
    pub unpublished: Vec<PendingRepair>,
}

/// Why a run ended before its work was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// The run's share of the app's rate limit is spent.
    Budget,
    /// The run's time is up.
    Deadline,
    /// GitHub answered with its rate limit.
    RateLimited,
    /// GitHub or the store failed; the next run goes on from the last step
    /// recorded.
    Failed,
}

/// What one run did: logged as one line, and answered to
/// `POST /internal/reconcile`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub deliveries_seen: u64,
    pub deliveries_redelivered: u64,
    pub installations_checked: u64,
    /// Installations changed, by kind (one installation may count under several).
    pub changed: BTreeMap<ChangeKind, u64>,
    pub repairs_published: u64,
    /// Requests sent to GitHub as the app.
    pub github_requests: u64,
    pub sweep_finished: bool,
    pub pass_finished: bool,
    /// The pass's number and the page it goes on from.
    pub pass: u64,
    pub next_page: Option<u32>,
    pub stopped: Option<Stop>,
}

impl Summary {
    pub fn count(&mut self, kinds: &[ChangeKind]) {
        for kind in kinds {
            *self.changed.entry(*kind).or_default() += 1;
        }
    }

    pub fn changes(&self) -> u64 {
        self.changed.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::InstallationId;

    fn installation() -> Installation {
        Installation {
            id: InstallationId(1),
            account_id: 7,
            account_login: "octo-org".into(),
            account_type: "Organization".into(),
            repository_selection: "all".into(),
            permissions: [("contents".to_owned(), "read".to_owned())].into(),
            status: InstallationStatus::Active,
        }
    }

    #[test]
    fn drift_names_each_difference_and_nothing_when_they_agree() {
        let held = installation();
        assert!(drift(Some(&held), &held).is_empty());
        assert_eq!(drift(None, &held), [ChangeKind::Created]);
        let mut github = held.clone();
        github.status = InstallationStatus::Suspended;
        github.account_login = "octo-renamed".into();
        github.permissions.insert("issues".into(), "write".into());
        assert_eq!(
            drift(Some(&held), &github),
            [ChangeKind::Suspended, ChangeKind::Permissions, ChangeKind::Renamed]
        );
        assert!(invalidates_tokens(&drift(Some(&held), &github)));
        assert_eq!(drift(Some(&github), &held)[0], ChangeKind::Unsuspended);
        github = held.clone();
        github.repository_selection = "selected".into();
        assert!(invalidates_tokens(&drift(Some(&held), &github)));
        github = held.clone();
        github.status = InstallationStatus::Suspended;
        assert!(!invalidates_tokens(&drift(Some(&held), &github)));
    }

    fn attempt(id: u64, guid: &str, status_code: u16, delivered_at: UnixTime) -> DeliveryAttempt {
        DeliveryAttempt {
            id,
            guid: guid.into(),
            delivered_at,
            status_code,
            pending: false,
            event: "installation".into(),
            action: Some("deleted".into()),
        }
    }

    #[test]
    fn a_failure_is_a_candidate_once_unless_a_later_attempt_succeeded() {
        let now = 1_000_000;
        let log = [
            attempt(9, "b", 200, now - 10),
            attempt(8, "c", 503, now - 20),
            attempt(7, "b", 0, now - 30),
            attempt(6, "c", 0, now - 40),
            attempt(5, "d", 502, now - 50),
        ];
        let mut walk = Walk::default();
        let verdict = walk.page(&log, None, now);
        let ids: Vec<u64> = verdict.candidates.iter().map(|a| a.id).collect();
        assert_eq!(ids, [8, 5]);
        assert!(!verdict.reached_end);
        // A second page of the same walk never judges a delivery again.
        assert!(walk
            .page(&[attempt(4, "d", 0, now - 60)], None, now)
            .candidates
            .is_empty());
    }

    #[test]
    fn the_walk_ends_at_the_floor_and_at_the_retention_window() {
        let now = 1_000_000;
        let log = [attempt(9, "a", 0, now - 10), attempt(8, "b", 0, now - 20)];
        let verdict = Walk::default().page(&log, Some(8), now);
        assert_eq!(verdict.candidates.len(), 1);
        assert!(verdict.reached_end);
        let old = now - DELIVERY_RETENTION + RETENTION_MARGIN - 1;
        let log = [attempt(9, "a", 0, old)];
        let verdict = Walk::default().page(&log, None, now);
        assert!(verdict.candidates.is_empty() && verdict.reached_end);
    }

    #[test]
    fn an_attempt_in_flight_is_not_judged_and_holds_the_next_floor_below_it() {
        let now = 1_000_000;
        let mut in_flight = attempt(8, "b", 0, now - 5);
        in_flight.pending = true;
        let log = [attempt(9, "a", 200, now - 1), in_flight, attempt(7, "c", 0, now - 20)];
        let verdict = Walk::default().page(&log, None, now);
        let ids: Vec<u64> = verdict.candidates.iter().map(|a| a.id).collect();
        assert_eq!(ids, [7]);
        assert_eq!(sweep_top(&log, None), Some(7));
        assert_eq!(sweep_top(&log, Some(7)), Some(7));
        assert_eq!(sweep_top(&log[..1], Some(3)), Some(9));
        assert_eq!(sweep_top(&[], Some(3)), Some(3));
    }

    #[test]
    fn a_pass_begins_at_most_once_an_interval_after_the_last_began() {
        let mut pass = PassCursor::default();
        assert!(pass.begin(1000));
        assert_eq!((pass.started_at, pass.next_page), (1000, Some(1)));
        pass.next_page = None;
        assert!(pass.begin(1200), "a pass under way goes on");
        let mut next = pass.next();
        assert_eq!(next.number, pass.number + 1);
        assert!(!next.begin(1000 + PASS_INTERVAL - 1));
        assert!(next.begin(1000 + PASS_INTERVAL));
    }

    #[test]
    fn the_allowance_is_the_share_of_the_limit_less_what_this_window_spent() {
        let mut spending = Spending::default().at(1000);
        assert_eq!(spending.allowance(10), 500);
        let seen = RateLimit {
            limit: 15_000,
            remaining: 14_000,
            reset: 3000,
        };
        spending.spend(100, Some(seen));
        assert_eq!(spending.allowance(10), 1400);
        // The same window later: still counted.
        assert_eq!(spending.at(2999).allowance(10), 1400);
        // A new window: nothing spent yet, the limit remembered.
        assert_eq!(spending.at(3000).allowance(10), 1500);
        assert_eq!(spending.at(3000).allowance(0), 0);
    }
}
