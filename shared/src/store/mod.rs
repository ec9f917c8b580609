//! The state port: what the services need to remember, as small traits
//! that two adapters implement with the same guarantees: DynamoDB
//! ([`dynamo`], on AWS) and a single-file database ([`embedded`], the local
//! runner). Both lay out the same keys ([`keys`]) and keep records for the
//! same times ([`retention`]); one conformance suite runs over both.
//!
//! Tokens cross this boundary in plaintext ([`secrecy::SecretString`]); each
//! adapter seals them at rest with the item's key as associated data.
//!
//! Every method that must agree with another write says how it is made
//! atomic; the adapters implement that with conditions or transactions.

pub mod dynamo;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod keys;
mod records;
pub mod retention;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use records::*;

use crate::clock::{Clock, UnixTime};
use crate::config::{Config, StoreBackend};
use crate::crypto::TokenSealer;
use crate::domain::audit::AuditRecord;
use crate::domain::oauth::OAuthState;
use crate::domain::reconcile::ReconcileState;
use crate::domain::{AccountId, GitHubUserId, Installation, InstallationId, LinkPolicy, UserId};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store throttled the request: {0}")]
    Throttled(String),
    #[error("store request failed: {0}")]
    Backend(String),
    #[error("stored item is corrupt: {0}")]
    Corrupt(String),
    /// Not sent (again): the request's own deadline leaves no room for it.
    #[error(transparent)]
    Deadline(#[from] crate::deadline::DeadlineReached),
    #[error("configuration: TABLE_NAME is required")]
    NotConfigured,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The longest one store write attempt may take, and the moments around
/// it: what a request must still have after a GitHub call to record its
/// answer (a rotated refresh token, a minted token, a released lease).
pub const RECORD_RESERVE: Duration = dynamo::DYNAMO_ATTEMPT_TIMEOUT.saturating_add(Duration::from_millis(500));

/// The longest one store operation takes, the SDK's retries included.
pub const OPERATION_TIMEOUT: Duration = dynamo::DYNAMO_OPERATION_TIMEOUT;

/// The store the configuration names, sealing tokens with `sealer`: the
/// DynamoDB table through a client of `sdk` built with the broker's
/// timeouts and deadline rules, or the embedded file, whose expired records
/// are purged now and every quarter of an hour (DynamoDB's TTL does that on
/// AWS).
pub fn open(
    config: &Config,
    sdk: &aws_config::SdkConfig,
    sealer: TokenSealer,
    clock: Arc<dyn Clock>,
) -> StoreResult<Arc<dyn Store>> {
    match config.store.as_ref().ok_or(StoreError::NotConfigured)? {
        StoreBackend::DynamoDb { table } => Ok(Arc::new(dynamo::DynamoStore::connect(sdk, table, sealer))),
        #[cfg(feature = "embedded")]
        StoreBackend::Embedded { path } => {
            let store = Arc::new(embedded::EmbeddedStore::open(path, sealer)?);
            embedded::purge_expired_now_and_then(Arc::downgrade(&store), clock);
            Ok(store)
        }
        #[cfg(not(feature = "embedded"))]
        StoreBackend::Embedded { .. } => {
            let _ = clock;
            Err(StoreError::Backend(
                "this build has no embedded store (the broker crate's `embedded` feature)".into(),
            ))
        }
    }
}

/// Single-use OAuth states.
#[async_trait]
pub trait OAuthStates: Send + Sync {
    async fn put_oauth_state(&self, state: &OAuthState) -> StoreResult<()>;
    /// Marks the state used and returns it, atomically: of any number of
    /// concurrent takes, one gets `Some`; an unknown or used state gives `None`.
    async fn take_oauth_state(&self, id: &str) -> StoreResult<Option<OAuthState>>;
}

/// Platform users' GitHub connections and their single-use refresh tokens.
#[async_trait]
pub trait Connections: Send + Sync {
    async fn get_connection(&self, user: &UserId) -> StoreResult<Option<Connection>>;
    /// Stores a fresh grant from the OAuth callback. Bumps the version, so a
    /// refresh of the previous grant that is still in flight cannot land.
    async fn put_connection(&self, connection: &NewConnection) -> StoreResult<()>;
    async fn delete_connection(&self, user: &UserId) -> StoreResult<()>;
    /// The platform users connected to one GitHub user.
    async fn users_of_github_user(&self, github_user: GitHubUserId) -> StoreResult<Vec<UserId>>;
    /// Takes the refresh lease if the connection is still at `version` and
    /// nobody holds an unexpired lease. `false`: someone else is refreshing.
    async fn lease_refresh(&self, user: &UserId, version: u64, lease: &Lease) -> StoreResult<bool>;
    /// Stores the refreshed pair, only if the connection is still at
    /// `version`, bumping it and releasing the lease.
    async fn complete_refresh(
        &self,
        user: &UserId,
        version: u64,
        tokens: &crate::domain::tokens::UserTokens,
    ) -> StoreResult<bool>;
    /// Gives the lease up after a failed refresh so the next request can try.
    async fn release_refresh_lease(&self, user: &UserId, lease: &Lease) -> StoreResult<()>;
    /// GitHub refused the refresh: drop the tokens, keep who it was.
    async fn require_reauthorization(&self, user: &UserId, version: u64) -> StoreResult<()>;
}

/// Installations, their links to accounts, and their cached tokens.
#[async_trait]
pub trait Installations: Send + Sync {
    async fn get_installation(&self, id: InstallationId) -> StoreResult<Option<Installation>>;
    /// Links in one transaction (both directions with `policy` and a new
    /// link version, and the installation record, which must not be a
    /// tombstone). Keeps the record's token epoch. Tokens cached under the
    /// link's previous version are never served again. `audit` is written
    /// in the same transaction.
    async fn link(
        &self,
        account: &AccountId,
        installation: &Installation,
        policy: &LinkPolicy,
        audit: &AuditRecord,
    ) -> StoreResult<Upsert>;
    async fn get_link(&self, account: &AccountId, installation: InstallationId) -> StoreResult<Option<StoredLink>>;
    /// Replaces the link's policy (a new version) if the link is still at
    /// `version`, with `audit`, in one transaction; `false` (nothing
    /// written) if it changed or is gone.
    async fn set_policy(
        &self,
        account: &AccountId,
        installation: InstallationId,
        policy: &LinkPolicy,
        version: &str,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// Removes both halves of the link with `audit`, in one transaction;
    /// `false` (nothing written) if there was no link.
    async fn unlink(&self, account: &AccountId, installation: InstallationId, audit: &AuditRecord)
        -> StoreResult<bool>;
    async fn linked_installations(&self, account: &AccountId) -> StoreResult<Vec<LinkedInstallation>>;
    /// Every account linked to the installation, with its link.
    async fn links_of_installation(&self, installation: InstallationId) -> StoreResult<Vec<(AccountId, StoredLink)>>;
    /// Which of `accounts` link each of `installations`.
    async fn links_among(
        &self,
        accounts: &[AccountId],
        installations: &[InstallationId],
    ) -> StoreResult<Vec<(AccountId, InstallationId)>>;
}

/// Minted installation tokens, shared by every container. `scope_key` is
/// the service's cache key (the account and the scope it asked): opaque
/// here, except that it starts with the account (see [`keys::tokens_of`]).
#[async_trait]
pub trait TokenCache: Send + Sync {
    /// In one consistent read: the account's link to the installation, the
    /// installation itself, and the cached token for the scope (never one
    /// bound to another link version or an older token epoch).
    async fn vend_snapshot(
        &self,
        account: &AccountId,
        installation: InstallationId,
        scope_key: &str,
    ) -> StoreResult<VendSnapshot>;
    /// [`Self::vend_snapshot`] for every live installation linked to the
    /// account, in two reads whatever their number: the account's links,
    /// then their installations and cached tokens.
    async fn account_snapshots(&self, account: &AccountId, scope_key: &str) -> StoreResult<Vec<VendSnapshot>>;
    /// The scope's item, without a token bound to anything but `fence`.
    async fn cached_token(
        &self,
        installation: InstallationId,
        scope_key: &str,
        fence: &TokenFence,
    ) -> StoreResult<Option<CachedToken>>;
    /// Takes the mint lease for the scope unless another container holds an
    /// unexpired one or already stored a token under `fence` that lives past
    /// `fresh_until` (`UnixTime::MAX`: whatever is stored is replaced, for a
    /// token that cannot be read).
    async fn lease_mint(
        &self,
        installation: InstallationId,
        scope_key: &str,
        lease: &Lease,
        fresh_until: UnixTime,
        fence: &TokenFence,
    ) -> StoreResult<bool>;
    /// Stores the minted token and releases the lease, if `lease` still holds
    /// it, the installation is neither deleted nor invalidated since the
    /// fence's epoch and the link is still at its version; otherwise
    /// nothing is written (and the caller must not hand the token out: it
    /// could not be revoked with the link). `audit` is written with it.
    async fn store_minted(
        &self,
        installation: InstallationId,
        scope_key: &str,
        lease: &Lease,
        token: &crate::domain::tokens::InstallationToken,
        fence: &TokenFence,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;
    /// Gives the lease up after a failed mint so waiting callers try again.
    async fn release_mint_lease(&self, installation: InstallationId, scope_key: &str, lease: &Lease)
        -> StoreResult<()>;
}

/// Tokens on their way to being revoked at GitHub. Taking a token out of
/// the cache and recording it as pending is one step (never vendable again,
/// never forgotten); it stays pending until GitHub confirms or it expires.
#[async_trait]
pub trait Revocations: Send + Sync {
    /// Moves the installation's cached tokens (only `account`'s, if given)
    /// to pending revocation and returns every revocation pending for the
    /// installation, earlier ones included.
    async fn take_tokens(
        &self,
        installation: InstallationId,
        account: Option<&AccountId>,
    ) -> StoreResult<Vec<PendingRevocation>>;
    /// Every revocation pending for the installation, taking nothing.
    async fn pending_revocations(&self, installation: InstallationId) -> StoreResult<Vec<PendingRevocation>>;
    /// GitHub no longer accepts the token: forget it, writing `audit` with
    /// it.
    async fn revocation_done(
        &self,
        installation: InstallationId,
        token_sha256: &str,
        audit: Option<&AuditRecord>,
    ) -> StoreResult<()>;
}

/// The audit trail: one record per action and refusal, kept
/// `AUDIT_RETENTION_DAYS` (TTL). Records of writes are written by the
/// write's own method, in its transaction; this writes the others.
#[async_trait]
pub trait AuditTrail: Send + Sync {
    async fn put_audit(&self, record: &AuditRecord) -> StoreResult<()>;
    /// An account's records, newest first, a page at a time.
    async fn audit_trail(&self, account: &AccountId, query: &AuditQuery) -> StoreResult<AuditPage>;
}

/// Webhook deliveries, each applied once.
#[async_trait]
pub trait Deliveries: Send + Sync {
    /// Applies `change` and records delivery `id` as applied, atomically: of
    /// any number of concurrent or later calls with the same id, one
    /// applies it and the others get `Duplicate` and change nothing. An
    /// error leaves nothing applied, so GitHub's redelivery can try again;
    /// except that a deletion's cleanup (links and tokens, after the
    /// tombstone) may be left unfinished, and a redelivery of it, though a
    /// `Duplicate`, finishes it.
    /// `accounts`, when the delivery is forwarded, are recorded with it:
    /// a redelivery after the change (a deletion removes the links) is
    /// labelled as the first arrival was.
    async fn apply_delivery(
        &self,
        id: &str,
        now: UnixTime,
        change: &WritePlan,
        accounts: Option<&[AccountId]>,
    ) -> StoreResult<Applied>;

    /// What is recorded of delivery `id` for forwarding it (a strongly
    /// consistent read).
    async fn delivery_state(&self, id: &str) -> StoreResult<DeliveryState>;

    /// Records that delivery `id`'s event was published, with the accounts
    /// it was labelled with (those recorded already are kept). A delivery
    /// the broker does not act on has its record written here.
    async fn mark_published(&self, id: &str, now: UnixTime, accounts: &[AccountId]) -> StoreResult<()>;
}

/// The reconciler's memory: one item with its lease and [`ReconcileState`],
/// the installations each pass saw listed, and the redeliveries it asked.
#[async_trait]
pub trait Reconciliation: Send + Sync {
    /// Takes the reconciler's lease unless another run holds an unexpired
    /// one, and returns the state the last run saved; `None`: another run
    /// is at work.
    async fn begin_reconcile(&self, lease: &Lease) -> StoreResult<Option<ReconcileState>>;
    /// Saves `state` if `lease` still holds (giving the lease up if
    /// `release`); `false`: the lease ran out and another run took over,
    /// nothing written.
    async fn save_reconcile(&self, state: &ReconcileState, lease: &Lease, release: bool) -> StoreResult<bool>;
    /// The records of `ids` (at most 100), in one read: `Some` for a live
    /// installation, `None` for a tombstone; ids never recorded are absent.
    async fn installations_among(
        &self,
        ids: &[InstallationId],
    ) -> StoreResult<HashMap<InstallationId, Option<Installation>>>;
    /// Records the installations GitHub listed on `page` of pass `pass`.
    async fn record_listed(&self, pass: u64, page: u32, ids: &[InstallationId], now: UnixTime) -> StoreResult<()>;
    /// Every installation pass `pass` recorded as listed.
    async fn listed(&self, pass: u64) -> StoreResult<HashSet<InstallationId>>;
    /// A page of the live installations the broker holds, after the
    /// opaque cursor `after`; the cursor of the next page, if any.
    async fn held_installations(&self, after: Option<&str>) -> StoreResult<(Vec<InstallationId>, Option<String>)>;
    /// Claims asking GitHub to redeliver `guid`: `true` once per delivery
    /// (for longer than GitHub keeps it), `false` ever after.
    async fn claim_redelivery(&self, guid: &str, now: UnixTime) -> StoreResult<bool>;
    /// Gives a claim up: GitHub refused to redeliver, so the next run may
    /// ask again.
    async fn release_redelivery(&self, guid: &str) -> StoreResult<()>;
}

/// The accounts a delivery's record names, each checked as it is read.
pub(crate) fn recorded_accounts<'a>(names: impl IntoIterator<Item = Option<&'a str>>) -> StoreResult<Vec<AccountId>> {
    names
        .into_iter()
        .map(|name| {
            name.and_then(AccountId::parse)
                .ok_or_else(|| StoreError::Corrupt("a delivery's account is not an account id".into()))
        })
        .collect()
}

/// What is recorded of a delivery, for forwarding it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryState {
    /// The accounts recorded when it first arrived; `None`: none recorded.
    pub accounts: Option<Vec<AccountId>>,
    /// Whether its event was published.
    pub published: bool,
    /// Whether the broker recorded it at all (applied, or published).
    pub recorded: bool,
}

/// A connection's tokens as the services see them: stored tokens that do
/// not open (the encryption key changed, or the item was tampered with) are
/// as good as none, so the user is asked to connect again (409
/// `reauthorization_required`), which overwrites them.
fn readable_or_dropped(
    opened: Option<StoreResult<crate::domain::tokens::UserTokens>>,
) -> Option<crate::domain::tokens::UserTokens> {
    match opened? {
        Ok(tokens) => Some(tokens),
        Err(e) => {
            tracing::warn!(error = %e, "a user's stored tokens do not open; reauthorization required");
            None
        }
    }
}

pub trait Store:
    OAuthStates + Connections + Installations + TokenCache + Revocations + AuditTrail + Deliveries + Reconciliation
{
}
impl<T> Store for T where
    T: OAuthStates + Connections + Installations + TokenCache + Revocations + AuditTrail + Deliveries + Reconciliation
{
}
