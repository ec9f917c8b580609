//! The response bodies, as `openapi.yaml` describes them, built from what
//! the use cases return.

use std::collections::{BTreeMap, BTreeSet};

use secrecy::ExposeSecret;
use serde::Serialize;

use crate::domain::audit::{AuditAction, AuditOutcome, AuditRecord, AuditScope};
use crate::domain::tokens::{InstallationToken, RepositoryRef, UserTokens};
use crate::domain::{AccountId, Installation, InstallationId, InstallationStatus, LinkPolicy, UnixTime};
use crate::github::repos::Commit;
use crate::github::GitHubUser;
use crate::service::installations::Reachable;
use crate::service::oauth::{Connected, Started};
use crate::service::repos::Committed;
use crate::service::revocation::Revoked;
use crate::store::{self, Connection};

/// An RFC 3339 timestamp (`2026-12-03T12:00:00Z`).
pub fn rfc3339(unix: UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

#[derive(Debug, Serialize)]
pub struct ConnectionStatus {
    pub connected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reauthorization_required: Option<bool>,
}

impl From<Option<Connection>> for ConnectionStatus {
    fn from(connection: Option<Connection>) -> Self {
        match connection {
            None => Self {
                connected: false,
                login: None,
                id: None,
                reauthorization_required: None,
            },
            Some(c) => Self {
                connected: true,
                reauthorization_required: Some(c.tokens.is_none()),
                login: Some(c.login),
                id: Some(c.github_user_id.0),
            },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct InstallationView {
    pub id: InstallationId,
    pub account: GitHubAccountView,
    pub repository_selection: String,
    pub permissions: BTreeMap<String, String>,
    pub status: InstallationStatus,
}

#[derive(Debug, Clone, Serialize)]
pub struct GitHubAccountView {
    pub id: u64,
    pub login: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl From<&Installation> for InstallationView {
    fn from(i: &Installation) -> Self {
        Self {
            id: i.id,
            account: GitHubAccountView {
                id: i.account_id,
                login: i.account_login.clone(),
                kind: i.account_type.clone(),
            },
            repository_selection: i.repository_selection.clone(),
            permissions: i.permissions.clone(),
            status: i.status,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ReachableInstallation {
    #[serde(flatten)]
    pub installation: InstallationView,
    /// The caller's accounts this installation is linked to.
    pub linked_accounts: BTreeSet<AccountId>,
}

#[derive(Debug, Serialize)]
pub struct ReachableList {
    pub installations: Vec<ReachableInstallation>,
}

impl From<Vec<Reachable>> for ReachableList {
    fn from(reachable: Vec<Reachable>) -> Self {
        Self {
            installations: reachable
                .into_iter()
                .map(|r| ReachableInstallation {
                    installation: (&r.installation).into(),
                    linked_accounts: r.linked_accounts,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AccountInstallations {
    pub account_id: AccountId,
    pub installations: Vec<LinkedInstallationView>,
}

/// An installation linked to an account, with the link's policy (`null`
/// in a field: everything the installation grants there).
#[derive(Debug, Serialize)]
pub struct LinkedInstallationView {
    #[serde(flatten)]
    pub installation: InstallationView,
    pub policy: LinkPolicy,
}

impl From<&store::LinkedInstallation> for LinkedInstallationView {
    fn from(l: &store::LinkedInstallation) -> Self {
        Self {
            installation: (&l.installation).into(),
            policy: l.policy.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct LinkView {
    pub account_id: AccountId,
    pub installation_id: InstallationId,
    pub linked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installation: Option<InstallationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<LinkPolicy>,
    /// After an unlink: the account's tokens on the installation revoked at
    /// GitHub, and those still pending (retried by the next revocation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Revoked>,
}

impl LinkView {
    pub fn linked(account_id: AccountId, linked: &store::LinkedInstallation) -> Self {
        Self {
            account_id,
            installation_id: linked.installation.id,
            linked: true,
            installation: Some((&linked.installation).into()),
            policy: Some(linked.policy.clone()),
            tokens: None,
        }
    }

    pub fn unlinked(account_id: AccountId, installation_id: InstallationId, tokens: Revoked) -> Self {
        Self {
            account_id,
            installation_id,
            linked: false,
            installation: None,
            policy: None,
            tokens: Some(tokens),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct StartResponse {
    pub authorize_url: String,
    pub state: String,
}

impl From<Started> for StartResponse {
    fn from(s: Started) -> Self {
        Self {
            authorize_url: s.authorize_url,
            state: s.state,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct GitHubUserView {
    pub id: u64,
    pub login: String,
}

impl From<GitHubUser> for GitHubUserView {
    fn from(u: GitHubUser) -> Self {
        Self {
            id: u.id.0,
            login: u.login,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CallbackResponse {
    pub github_user: GitHubUserView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked_installation: Option<LinkedInstallation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LinkedInstallation {
    pub account_id: AccountId,
    #[serde(flatten)]
    pub installation: InstallationView,
}

impl From<Connected> for CallbackResponse {
    fn from(c: Connected) -> Self {
        Self {
            github_user: c.github_user.into(),
            linked_installation: c.linked.map(|(account_id, installation)| LinkedInstallation {
                account_id,
                installation: (&installation).into(),
            }),
            return_to: c.return_to,
        }
    }
}

/// An installation token as the internal routes hand it out.
#[derive(Serialize)]
pub struct VendResponse {
    pub token: String,
    pub expires_at: String,
    pub permissions: BTreeMap<String, String>,
    pub repository_selection: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repositories: Option<Vec<RepositoryRef>>,
}

impl From<InstallationToken> for VendResponse {
    fn from(t: InstallationToken) -> Self {
        Self {
            token: t.token.expose_secret().to_owned(),
            expires_at: rfc3339(t.expires_at),
            permissions: t.permissions,
            repository_selection: t.repository_selection,
            repositories: t.repositories,
        }
    }
}

/// A user's own token, as `POST /internal/users/{user_id}/token` hands it out.
#[derive(Serialize)]
pub struct UserTokenResponse {
    pub token: String,
    pub expires_at: Option<String>,
    pub github_user: GitHubUserView,
}

impl UserTokenResponse {
    pub fn new(connection: Connection, tokens: &UserTokens) -> Self {
        Self {
            token: tokens.access_token.expose_secret().to_owned(),
            expires_at: tokens.access_expires_at.map(rfc3339),
            github_user: GitHubUserView {
                id: connection.github_user_id.0,
                login: connection.login,
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CommittedView {
    pub commit: Commit,
    pub branch: String,
    pub created_branch: bool,
    /// How many times the commit was built (more than one when the branch moved).
    pub attempts: u32,
}

impl From<Committed> for CommittedView {
    fn from(c: Committed) -> Self {
        Self {
            commit: c.commit,
            branch: c.branch,
            created_branch: c.created_branch,
            attempts: c.attempts,
        }
    }
}

/// An RFC 3339 timestamp with milliseconds (`2026-12-03T12:00:00.123Z`).
pub fn rfc3339_ms(unix_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .ok()
        .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// One audit record as `GET /accounts/{account_id}/audit` shows it.
#[derive(Debug, Serialize)]
pub struct AuditRecordView {
    pub time: String,
    pub account_id: Option<AccountId>,
    pub caller: String,
    pub action: AuditAction,
    pub installation_id: Option<InstallationId>,
    pub scope_asked: Option<AuditScope>,
    pub scope_granted: Option<AuditScope>,
    pub outcome: AuditOutcome,
    pub error_code: Option<String>,
    pub token_sha256: Option<String>,
    pub token_expires_at: Option<String>,
}

impl From<AuditRecord> for AuditRecordView {
    fn from(r: AuditRecord) -> Self {
        Self {
            time: rfc3339_ms(r.time_ms),
            account_id: r.account_id,
            caller: r.caller,
            action: r.action,
            installation_id: r.installation_id,
            scope_asked: r.scope_asked,
            scope_granted: r.scope_granted,
            outcome: r.outcome,
            error_code: r.error_code,
            token_sha256: r.token_sha256,
            token_expires_at: r.token_expires_at.map(rfc3339),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AuditTrailView {
    pub records: Vec<AuditRecordView>,
    /// `null`: no more. Otherwise pass it back as `cursor` for the next page.
    pub cursor: Option<String>,
}
