//! The bodies of the internal (IAM) routes: tokens, repositories,
//! commits, reconcile.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{redacted, GitHubUser, Permissions};

/// Installations repaired by a reconcile run, by what changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileChanges {
    #[serde(default)]
    pub created: u64,
    #[serde(default)]
    pub deleted: u64,
    #[serde(default)]
    pub suspended: u64,
    #[serde(default)]
    pub unsuspended: u64,
    #[serde(default)]
    pub permissions: u64,
    #[serde(default)]
    pub repository_selection: u64,
    #[serde(default)]
    pub renamed: u64,
}

/// Why a reconcile run stopped before its work was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconcileStop {
    Budget,
    Deadline,
    RateLimited,
    Failed,
}

/// `ReconcileSummary` (`POST /internal/reconcile`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileSummary {
    pub deliveries_seen: u64,
    pub deliveries_redelivered: u64,
    pub installations_checked: u64,
    pub changed: ReconcileChanges,
    pub repairs_published: u64,
    pub github_requests: u64,
    pub sweep_finished: bool,
    pub pass_finished: bool,
    pub pass: u64,
    pub next_page: Option<u64>,
    pub stopped: Option<ReconcileStop>,
}

/// `VendRequest`: the scope of an installation token. Empty: the link's
/// policy (or the whole installation).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repositories: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_ids: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
    /// Reuse a cached token only with this much life left (broker default 600, at most 3000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ttl_seconds: Option<u32>,
}

/// `OwnerVendRequest`: the same, for the linked installation on GitHub
/// account `owner`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerVendRequest {
    pub owner: String,
    #[serde(flatten)]
    pub scope: VendRequest,
}

/// A repository a token is scoped to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendRepository {
    pub id: u64,
    pub name: String,
    pub full_name: String,
}

/// `VendResponse`: an installation token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendResponse {
    pub token: String,
    pub expires_at: String,
    pub permissions: BTreeMap<String, String>,
    pub repository_selection: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repositories: Option<Vec<VendRepository>>,
}

impl fmt::Debug for VendResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VendResponse { token: ")?;
        redacted(f, &self.token)?;
        write!(
            f,
            ", expires_at: {:?}, permissions: {:?}, repository_selection: {:?}, repositories: {:?} }}",
            self.expires_at, self.permissions, self.repository_selection, self.repositories
        )
    }
}

/// `UserToken`: a user's own GitHub token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserToken {
    pub token: String,
    /// `None` when the app's user tokens do not expire.
    pub expires_at: Option<String>,
    pub github_user: GitHubUser,
}

impl fmt::Debug for UserToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserToken { token: ")?;
        redacted(f, &self.token)?;
        write!(
            f,
            ", expires_at: {:?}, github_user: {:?} }}",
            self.expires_at, self.github_user
        )
    }
}

/// `CreateRepository` (`POST /internal/accounts/{account_id}/repos`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRepository {
    pub owner: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_init: Option<bool>,
}

/// `Repository`: GitHub's new repository.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repository {
    pub id: u64,
    pub name: String,
    pub full_name: String,
    pub private: bool,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub default_branch: Option<String>,
}

/// A file of a commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitFile {
    /// Relative, inside the repository, never into `.git`.
    pub path: String,
    /// UTF-8 content.
    pub content: String,
}

/// `CommitFiles` (`POST /internal/accounts/{account_id}/commits`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitFiles {
    pub owner: String,
    pub repo: String,
    pub branch: String,
    pub message: String,
    pub files: Vec<CommitFile>,
}

/// The commit of `Committed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitRef {
    pub sha: String,
    #[serde(default)]
    pub html_url: Option<String>,
}

/// `Committed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    pub commit: CommitRef,
    pub branch: String,
    pub created_branch: bool,
    pub attempts: u32,
}
