//! What the store returns: domain values plus the bookkeeping (versions,
//! leases) the concurrency protocols need.

use crate::clock::UnixTime;
use crate::domain::tokens::{InstallationToken, UserTokens};
use secrecy::SecretString;

use crate::domain::audit::{AuditAction, AuditRecord};
use crate::domain::{AccountId, GitHubUserId, Installation, InstallationId, LinkPolicy, UserId};

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
    /// A token is stored but does not open (the encryption key changed, or
    /// the item was tampered with): a cache miss, to be minted again and
    /// overwritten (see [`crate::store::TokenCache::lease_mint`]).
    pub unreadable: bool,
}

/// A link as stored: its policy, and its version, which every token cached
/// under it carries. A new policy is a new version, so no token minted
/// under the old one is served again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredLink {
    pub policy: LinkPolicy,
    /// Empty for a link written before versions existed.
    pub version: String,
}

/// An installation linked to an account, with that link's policy.
#[derive(Debug, Clone)]
pub struct LinkedInstallation {
    pub installation: Installation,
    pub policy: LinkPolicy,
}

/// What a cached token is bound to: the installation's token epoch and the
/// version of the account's link when it was minted. A token stored under
/// other values is never served, and a mint under other values is not
/// stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFence {
    pub epoch: u64,
    pub account: AccountId,
    pub link_version: String,
}

/// A token taken out of the cache to be revoked at GitHub: kept, sealed,
/// until GitHub confirms (or the token expires), and never vendable again.
#[derive(Debug, Clone)]
pub struct PendingRevocation {
    pub installation: InstallationId,
    /// The hex SHA-256 of the token: names it without holding it.
    pub token_sha256: String,
    pub account: Option<AccountId>,
    pub token: SecretString,
    pub expires_at: UnixTime,
}

#[derive(Debug, Clone, Default)]
pub struct VendSnapshot {
    /// The account's link to the installation, if there is one.
    pub link: Option<StoredLink>,
    pub installation: Option<Installation>,
    /// Never a token cached before the installation's last invalidation.
    pub cached: Option<CachedToken>,
    /// The installation's token epoch, to hand back to the mint lease and
    /// the store of what it minted: a store that invalidates tokens by
    /// moving the epoch on (rather than deleting them) uses it to tell old
    /// tokens and mints from current ones.
    pub token_epoch: u64,
}

impl VendSnapshot {
    pub fn linked(&self) -> bool {
        self.link.is_some()
    }

    /// What a token minted now for `account` must be bound to.
    pub fn fence(&self, account: &AccountId) -> TokenFence {
        TokenFence {
            epoch: self.token_epoch,
            account: account.clone(),
            link_version: self.link.as_ref().map(|l| l.version.clone()).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Written,
    /// The installation is a tombstone (or unknown, for a rename).
    Gone,
}

/// The write a verified webhook delivery comes to, as the service planned
/// it from the event's meaning ([`crate::domain::events`]) and, for an
/// installation, GitHub's current view of it: the store applies it whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WritePlan {
    /// The installation as GitHub showed it when asked at `read_at` (Unix
    /// milliseconds): creates or replaces the record, unless it was deleted
    /// or a read begun later was applied already (deliveries come in any
    /// order; the latest read is GitHub's latest state). `invalidate_tokens`
    /// when what its tokens reach has changed (permissions, repositories):
    /// no token cached before is served again, even from a stale delivery.
    Upsert {
        installation: Installation,
        invalidate_tokens: bool,
        read_at: i64,
    },
    /// Tombstones the installation, removes its links and moves its
    /// tokens to pending revocation.
    Delete { id: InstallationId },
    /// The users revoked the app: their connections are dropped.
    Disconnect { users: Vec<UserId> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// The delivery was applied before: nothing was done again.
    Duplicate,
    /// The installation is a tombstone: nothing was done, and the delivery
    /// is not recorded.
    Gone,
    /// A read of GitHub begun later was applied already: the record is kept
    /// (the tokens invalidated if asked) and the delivery recorded.
    Stale,
}

/// Which part of an account's audit trail to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Unix milliseconds, inclusive.
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub action: Option<AuditAction>,
    /// Where the previous page ended ([`AuditPage::cursor`]).
    pub cursor: Option<String>,
    pub limit: usize,
}

#[derive(Debug, Clone, Default)]
pub struct AuditPage {
    pub records: Vec<AuditRecord>,
    /// More may follow: ask again from here.
    pub cursor: Option<String>,
}
