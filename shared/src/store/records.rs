//! What the store returns: domain values plus the bookkeeping (versions,
//! leases) the concurrency protocols need.

use crate::clock::UnixTime;
use crate::domain::tokens::{InstallationToken, UserTokens};
use crate::domain::{GitHubUserId, Installation, UserId};

/// A user's GitHub connection as stored.
#[derive(Debug, Clone)]
pub struct Connection {
    pub user: UserId,
    pub github_user_id: GitHubUserId,
    pub login: String,
    /// `None` once GitHub refused a refresh: the user must connect again.
    pub tokens: Option<UserTokens>,
    /// Bumped by every write of tokens; the refresh protocol's fence.
    pub version: u64,
    pub lease_until: Option<UnixTime>,
}

/// A grant fresh from the OAuth callback.
#[derive(Debug, Clone)]
pub struct NewConnection {
    pub user: UserId,
    pub github_user_id: GitHubUserId,
    pub login: String,
    pub tokens: UserTokens,
}

/// A time-bounded exclusive right to do one thing (refresh, mint): the owner
/// is random so a stale holder cannot release someone else's lease.
#[derive(Debug, Clone)]
pub struct Lease {
    pub owner: String,
    pub now: UnixTime,
    pub until: UnixTime,
}

#[derive(Debug, Clone)]
pub struct CachedToken {
    pub token: Option<InstallationToken>,
    pub lease_until: Option<UnixTime>,
}

#[derive(Debug, Clone, Default)]
pub struct VendSnapshot {
    pub linked: bool,
    pub installation: Option<Installation>,
    pub cached: Option<CachedToken>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Written,
    /// The installation is a tombstone (or unknown, for a rename).
    Gone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Claimed,
    Duplicate,
}
