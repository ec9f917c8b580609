//! The bodies of the frontend (JWT) routes: the GitHub connection, links
//! and their policies, the audit trail.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::Permissions;

/// `StartRequest` (`POST /github/oauth/start`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StartRequest {
    /// The account an installation coming back from GitHub is to be linked to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The app's install page instead of the authorize page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<bool>,
    /// An absolute URL on one of the broker's `FRONTEND_ORIGINS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
}

/// `StartResponse`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StartResponse {
    pub authorize_url: String,
    pub state: String,
}

/// `GitHubUser`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitHubUser {
    pub id: u64,
    pub login: String,
}

/// `ConnectionStatus` (`GET /github/user`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionStatus {
    pub connected: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauthorization_required: Option<bool>,
}

/// `Disconnected` (`DELETE /github/user`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disconnected {
    pub connected: bool,
}

/// The GitHub account an installation is on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallationAccount {
    pub id: i64,
    pub login: String,
    /// `User` or `Organization`, as GitHub spells it.
    #[serde(rename = "type")]
    pub kind: String,
}

/// An installation's `status` in the broker's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstallationStatus {
    Active,
    Suspended,
}

impl fmt::Display for InstallationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        })
    }
}

/// `InstallationView`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallationView {
    pub id: u64,
    pub account: InstallationAccount,
    /// `all` or `selected`.
    pub repository_selection: String,
    pub permissions: BTreeMap<String, String>,
    pub status: InstallationStatus,
}

/// An item of `ReachableList`: an installation and the caller's accounts it
/// is linked to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReachableInstallation {
    #[serde(flatten)]
    pub installation: InstallationView,
    pub linked_accounts: Vec<String>,
}

/// `ReachableList` (`GET /github/installations`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReachableList {
    pub installations: Vec<ReachableInstallation>,
}

/// An item of `AccountInstallations`: a linked installation and the link's
/// policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedInstallation {
    #[serde(flatten)]
    pub installation: InstallationView,
    pub policy: LinkPolicy,
}

/// `AccountInstallations` (`GET /accounts/{account_id}/installations`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInstallations {
    pub account_id: String,
    pub installations: Vec<LinkedInstallation>,
}

/// `LinkPolicy`: the ceiling on what one team gets from an installation.
/// `None` for a field: everything the installation grants there.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repositories: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
}

impl LinkPolicy {
    /// The whole installation (no ceiling).
    pub fn is_unrestricted(&self) -> bool {
        self.repositories.is_none() && self.permissions.is_none()
    }
}

/// `Revoked`: tokens revoked, and tokens GitHub would not revoke yet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    pub revoked: u64,
    pub pending: u64,
}

/// `LinkView` (`PUT`, `PATCH`, `DELETE` of a link).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkView {
    pub account_id: String,
    pub installation_id: u64,
    pub linked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installation: Option<InstallationView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<LinkPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Revoked>,
}

/// `AuditAction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    InstallationToken,
    UserToken,
    Link,
    Unlink,
    Policy,
    Repository,
    Commit,
    Revoke,
}

impl AuditAction {
    pub const ALL: [AuditAction; 8] = [
        Self::InstallationToken,
        Self::UserToken,
        Self::Link,
        Self::Unlink,
        Self::Policy,
        Self::Repository,
        Self::Commit,
        Self::Revoke,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InstallationToken => "installation_token",
            Self::UserToken => "user_token",
            Self::Link => "link",
            Self::Unlink => "unlink",
            Self::Policy => "policy",
            Self::Repository => "repository",
            Self::Commit => "commit",
            Self::Revoke => "revoke",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AuditAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not an audit action"))
    }
}

/// `AuditScope`: what was asked or granted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditScope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repositories: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_ids: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<BTreeMap<String, String>>,
}

/// `granted` or `refused`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    Granted,
    Refused,
}

impl fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Granted => "granted",
            Self::Refused => "refused",
        })
    }
}

/// `AuditRecord`. Times are RFC 3339 strings, as the broker writes them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub time: String,
    pub account_id: Option<String>,
    /// The JWT `sub`, the IAM principal (its ARN), or `github`.
    pub caller: String,
    pub action: AuditAction,
    pub installation_id: Option<u64>,
    pub scope_asked: Option<AuditScope>,
    pub scope_granted: Option<AuditScope>,
    pub outcome: AuditOutcome,
    pub error_code: Option<String>,
    /// The hex SHA-256 of the token handed out or revoked; never the token.
    pub token_sha256: Option<String>,
    pub token_expires_at: Option<String>,
}

/// `AuditTrail`: a page of records, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditTrail {
    pub records: Vec<AuditRecord>,
    /// More may follow: pass it back as [`AuditQuery::cursor`].
    pub cursor: Option<String>,
}

/// The query of `GET /accounts/{account_id}/audit`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Records at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Records at or before this time (RFC 3339).
    pub until: Option<String>,
    pub action: Option<AuditAction>,
    /// The `cursor` of the previous page.
    pub cursor: Option<String>,
    /// Records per page, 1–100 (the broker's default: 50).
    pub limit: Option<u32>,
}

impl AuditQuery {
    /// The query's pairs, in a stable order.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(v) = &self.since {
            pairs.push(("since", v.clone()));
        }
        if let Some(v) = &self.until {
            pairs.push(("until", v.clone()));
        }
        if let Some(v) = self.action {
            pairs.push(("action", v.as_str().to_owned()));
        }
        if let Some(v) = &self.cursor {
            pairs.push(("cursor", v.clone()));
        }
        if let Some(v) = self.limit {
            pairs.push(("limit", v.to_string()));
        }
        pairs
    }
}
