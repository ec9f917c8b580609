//! The items as stored: one serde_json value per key. Secrets are held only
//! in sealed form (`v1.` + AES-256-GCM, see [`crate::crypto::TokenSealer`]);
//! everything else is plain JSON, like the DynamoDB items' plain attributes.
//!
//! `expire_at` marks what DynamoDB's TTL would remove; nothing reads it to
//! decide whether a thing is valid (every expiry is checked by time in
//! code), only [`super::EmbeddedStore::purge_expired`] uses it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::domain::tokens::RepositoryRef;
use crate::domain::{AccountId, GitHubUserId, Installation, InstallationId, LinkPolicy, UserId};

/// A lease on an item: who holds it and until when (`lease_owner`/`lease_until`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct LeaseField {
    pub owner: String,
    pub until: UnixTime,
}

impl LeaseField {
    /// Free when absent or run out. Strictly before `now`, like the DynamoDB
    /// condition `lease_until < :now`: a lease is still held at its last second.
    pub fn is_free(lease: &Option<LeaseField>, now: UnixTime) -> bool {
        lease.as_ref().is_none_or(|l| l.until < now)
    }

    pub fn is_held_by(lease: &Option<LeaseField>, owner: &str) -> bool {
        lease.as_ref().is_some_and(|l| l.owner == owner)
    }
}

/// `STATE#{state}` / `STATE`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StateItem {
    pub user: UserId,
    pub account: Option<AccountId>,
    /// Sealed.
    pub pkce_verifier: String,
    pub expires_at: UnixTime,
    pub return_to: Option<String>,
    pub used: bool,
    pub expire_at: UnixTime,
}

/// `USER#{sub}` / `GITHUB`, indexed in `gsi1` by GitHub user.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ConnectionItem {
    pub user: UserId,
    pub github_user_id: GitHubUserId,
    pub login: String,
    /// `None` once GitHub refused a refresh.
    pub tokens: Option<SealedUserTokens>,
    pub version: u64,
    pub lease: Option<LeaseField>,
    /// Set by a disconnect: the item stays, tokenless and unindexed, so its
    /// version keeps fencing refreshes that started before it.
    #[serde(default)]
    pub disconnected: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SealedUserTokens {
    /// Sealed.
    pub access_token: String,
    pub access_expires_at: Option<UnixTime>,
    /// Sealed.
    pub refresh_token: Option<String>,
    pub refresh_expires_at: Option<UnixTime>,
}

/// `INST#{id}` / `META`: the installation, or its tombstone forever after.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum MetaItem {
    Installation(InstallationRecord),
    Tombstone { id: InstallationId, deleted_at: UnixTime },
}

/// The installation and when a webhook last read it from GitHub (Unix
/// milliseconds; `None`: written by a link only).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct InstallationRecord {
    #[serde(flatten)]
    pub installation: Installation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_at: Option<i64>,
}

impl MetaItem {
    pub fn is_tombstone(item: &Option<MetaItem>) -> bool {
        matches!(item, Some(MetaItem::Tombstone { .. }))
    }

    /// The live installation; `None` for a tombstone.
    pub fn live(self) -> Option<Installation> {
        match self {
            MetaItem::Installation(record) => Some(record.installation),
            MetaItem::Tombstone { .. } => None,
        }
    }
}

/// `ACCT#{account}` / `INST#{id}` and `INST#{id}` / `ACCT#{account}`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct LinkItem {
    pub account: AccountId,
    pub installation_id: InstallationId,
    /// `None`: the whole installation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<LinkPolicy>,
    #[serde(default)]
    pub link_version: String,
}

impl LinkItem {
    pub fn stored(&self) -> crate::store::StoredLink {
        crate::store::StoredLink {
            policy: self.policy.clone().unwrap_or_default(),
            version: self.link_version.clone(),
        }
    }
}

/// `INST#{id}` / `TOKEN#{scope hash}`: the cached token and the mint lease.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct TokenItem {
    pub token: Option<SealedInstallationToken>,
    /// The link version the token was minted under.
    #[serde(default)]
    pub link_version: String,
    pub lease: Option<LeaseField>,
    pub expire_at: Option<UnixTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SealedInstallationToken {
    /// Sealed.
    pub token: String,
    pub expires_at: UnixTime,
    pub permissions: BTreeMap<String, String>,
    pub repository_selection: String,
    pub repositories: Option<Vec<RepositoryRef>>,
}

/// `INST#{id}` / `REVOKE#{sha256}`: a token awaiting revocation at GitHub.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct RevocationItem {
    /// Sealed.
    pub token: String,
    pub expires_at: UnixTime,
    pub account: Option<AccountId>,
    pub expire_at: UnixTime,
}

/// `DELIVERY#{guid}` / `DELIVERY`: written with the change it applied, or
/// (a delivery the broker does not act on) when its event was published.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct DeliveryItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<UnixTime>,
    pub expire_at: Option<UnixTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<UnixTime>,
}

/// Just the TTL attribute of any item (unknown fields are ignored).
#[derive(Debug, Deserialize)]
pub(super) struct Expiry {
    pub expire_at: Option<UnixTime>,
}
