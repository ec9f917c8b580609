//! GitHub's wire shapes, as much of them as the broker reads. Webhook
//! payloads and REST answers share the installation object.

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::events::PayloadFacts;
use crate::domain::tokens::{InstallationToken, RepositoryRef, UserTokens};
use crate::domain::{Installation, InstallationId, InstallationStatus};

#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    pub login: String,
    pub id: u64,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InstallationObject {
    pub id: u64,
    pub account: Option<Account>,
    #[serde(default)]
    pub repository_selection: Option<String>,
    #[serde(default)]
    pub permissions: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub suspended_at: Option<String>,
    #[serde(default)]
    pub target_type: Option<String>,
}

impl InstallationObject {
    /// The broker's view of the installation; `None` without an account
    /// (webhooks such as `installation_target` carry only the id).
    pub fn to_domain(&self) -> Option<Installation> {
        let account = self.account.as_ref()?;
        Some(Installation {
            id: InstallationId(self.id),
            account_id: account.id,
            account_login: account.login.clone(),
            account_type: account
                .kind
                .clone()
                .or_else(|| self.target_type.clone())
                .unwrap_or_else(|| "User".into()),
            repository_selection: self.repository_selection.clone().unwrap_or_else(|| "all".into()),
            permissions: self
                .permissions
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect(),
            // The payload's own state, not the event's action, decides: a
            // late `created` redelivery cannot unsuspend an installation.
            status: if self.suspended_at.is_some() {
                InstallationStatus::Suspended
            } else {
                InstallationStatus::Active
            },
        })
    }
}

/// What the broker reads of a webhook payload: the action, which
/// installation or which user it is about, and the accounts GitHub's
/// installation events carry. Every other field is left unread.
#[derive(Debug, Deserialize)]
pub struct WebhookPayload {
    pub action: Option<String>,
    installation: Option<InstallationRef>,
    account: Option<Account>,
    sender: Option<Account>,
}

#[derive(Debug, Deserialize)]
struct InstallationRef {
    id: u64,
    account: Option<Account>,
}

impl WebhookPayload {
    pub fn facts(&self) -> PayloadFacts {
        PayloadFacts {
            installation: self.installation.as_ref().map(|i| (i.id, i.account.is_some())),
            account: self.account.is_some(),
            sender: self.sender.as_ref().map(|s| s.id),
        }
    }
}

/// `GET /user/memberships/orgs/{org}`.
#[derive(Deserialize)]
pub(super) struct MembershipObject {
    pub state: String,
    pub role: String,
}

impl MembershipObject {
    pub fn to_domain(&self) -> crate::domain::OrgMembership {
        crate::domain::OrgMembership {
            admin: self.role == "admin",
            active: self.state == "active",
        }
    }
}

#[derive(Deserialize)]
pub(super) struct UserInstallationsPage {
    pub installations: Vec<InstallationObject>,
}

/// `POST /login/oauth/access_token`: a token pair or, with HTTP 200 all the
/// same, an `error`.
#[derive(Deserialize)]
pub(super) struct OAuthTokenResponse {
    pub access_token: Option<SecretString>,
    pub expires_in: Option<i64>,
    pub refresh_token: Option<SecretString>,
    pub refresh_token_expires_in: Option<i64>,
    pub error: Option<String>,
}

impl OAuthTokenResponse {
    pub fn into_tokens(self, now: i64) -> Option<UserTokens> {
        Some(UserTokens {
            access_token: self.access_token?,
            access_expires_at: self.expires_in.map(|s| now + s),
            refresh_token: self.refresh_token,
            refresh_expires_at: self.refresh_token_expires_in.map(|s| now + s),
        })
    }
}

#[derive(Deserialize)]
pub(super) struct UserObject {
    pub id: u64,
    pub login: String,
}

#[derive(Deserialize)]
pub(super) struct AppObject {
    pub slug: String,
}

#[derive(Deserialize)]
pub(super) struct RepositoryObject {
    pub id: u64,
    pub name: String,
    pub full_name: String,
}

#[derive(Deserialize)]
pub(super) struct InstallationTokenResponse {
    pub token: SecretString,
    pub expires_at: String,
    #[serde(default)]
    pub permissions: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub repository_selection: Option<String>,
    #[serde(default)]
    pub repositories: Option<Vec<RepositoryObject>>,
}

impl InstallationTokenResponse {
    pub fn into_token(self) -> Option<InstallationToken> {
        let expires_at = time::OffsetDateTime::parse(&self.expires_at, &time::format_description::well_known::Rfc3339)
            .ok()?
            .unix_timestamp();
        Some(InstallationToken {
            token: self.token,
            expires_at,
            permissions: self
                .permissions
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
                .collect(),
            repository_selection: self.repository_selection.unwrap_or_else(|| "all".into()),
            repositories: self.repositories.map(|repos| {
                repos
                    .into_iter()
                    .map(|r| RepositoryRef {
                        id: r.id,
                        name: r.name,
                        full_name: r.full_name,
                    })
                    .collect()
            }),
        })
    }
}

/// GitHub's error body: `{"message": "...", "errors": [{"message": "..."}]}`.
#[derive(Deserialize, Default)]
pub(super) struct ErrorBody {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub errors: Vec<ErrorDetail>,
}

#[derive(Deserialize, Default)]
pub(super) struct ErrorDetail {
    #[serde(default)]
    pub message: Option<String>,
}

impl ErrorBody {
    /// GitHub's message with the reasons it lists (e.g. "name already exists
    /// on this account" under "Repository creation failed.").
    pub fn describe(self) -> String {
        let details: Vec<String> = self.errors.into_iter().filter_map(|e| e.message).collect();
        if details.is_empty() {
            self.message
        } else {
            format!("{} ({})", self.message, details.join("; "))
        }
    }
}
