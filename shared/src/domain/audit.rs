//! The audit trail's record: who asked what of which account, what was
//! granted or why it was refused, and which token (by its hash, never the
//! token) was handed out.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::ids::{AccountId, InstallationId, UserId};
use super::link_policy::LinkPolicy;
use super::scope::TokenScope;
use super::UnixTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == raw)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Granted,
    Refused,
}

/// What was asked or granted: a token's scope, a link's policy, or the
/// repository an action was on. `None` in a field: not part of it (for a
/// policy: everything the installation grants there).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditScope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repositories: Option<BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_ids: Option<BTreeSet<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<BTreeMap<String, String>>,
}

impl From<&TokenScope> for AuditScope {
    fn from(s: &TokenScope) -> Self {
        Self {
            repositories: (!s.repositories.is_empty()).then(|| s.repositories.clone()),
            repository_ids: (!s.repository_ids.is_empty()).then(|| s.repository_ids.clone()),
            permissions: (!s.permissions.is_empty()).then(|| s.permissions.clone()),
        }
    }
}

impl From<&LinkPolicy> for AuditScope {
    fn from(p: &LinkPolicy) -> Self {
        Self {
            repositories: p.repositories.clone(),
            repository_ids: None,
            permissions: p.permissions.clone(),
        }
    }
}

impl AuditScope {
    /// One repository, and the permission an action on it needs.
    pub fn repository(name: &str, permission: &str, level: &str) -> Self {
        Self {
            repositories: Some(BTreeSet::from([name.to_ascii_lowercase()])),
            repository_ids: None,
            permissions: Some(BTreeMap::from([(permission.to_owned(), level.to_owned())])),
        }
    }
}

/// One audit record. An installation action belongs to an account; a user
/// token to the platform user it was vended for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Unix milliseconds: orders the trail.
    pub time_ms: i64,
    pub account_id: Option<AccountId>,
    pub user_id: Option<UserId>,
    /// The JWT's `sub`, the IAM principal, or `github` (a webhook).
    pub caller: String,
    pub action: AuditAction,
    pub installation_id: Option<InstallationId>,
    pub scope_asked: Option<AuditScope>,
    pub scope_granted: Option<AuditScope>,
    pub outcome: AuditOutcome,
    pub error_code: Option<String>,
    /// The hex SHA-256 of the token handed out or revoked.
    pub token_sha256: Option<String>,
    pub token_expires_at: Option<UnixTime>,
    /// When the record may go (Unix seconds; `AUDIT_RETENTION_DAYS`).
    pub keep_until: UnixTime,
}

impl AuditRecord {
    /// A record of `action` granted to `caller` at `time_ms`, kept
    /// `retention_days`; the builder methods fill in the rest.
    pub fn new(time_ms: i64, retention_days: u32, caller: &str, action: AuditAction) -> Self {
        Self {
            time_ms,
            account_id: None,
            user_id: None,
            caller: caller.to_owned(),
            action,
            installation_id: None,
            scope_asked: None,
            scope_granted: None,
            outcome: AuditOutcome::Granted,
            error_code: None,
            token_sha256: None,
            token_expires_at: None,
            keep_until: time_ms.div_euclid(1000) + i64::from(retention_days) * 86_400,
        }
    }

    pub fn account(mut self, account: &AccountId) -> Self {
        self.account_id = Some(account.clone());
        self
    }

    pub fn user(mut self, user: &UserId) -> Self {
        self.user_id = Some(user.clone());
        self
    }

    pub fn installation(mut self, id: InstallationId) -> Self {
        self.installation_id = Some(id);
        self
    }

    pub fn asked(mut self, scope: AuditScope) -> Self {
        self.scope_asked = Some(scope);
        self
    }

    pub fn granted(mut self, scope: AuditScope) -> Self {
        self.scope_granted = Some(scope);
        self
    }

    pub fn token(mut self, sha256: String, expires_at: Option<UnixTime>) -> Self {
        self.token_sha256 = Some(sha256);
        self.token_expires_at = expires_at;
        self
    }

    pub fn refused(mut self, error_code: &str) -> Self {
        self.outcome = AuditOutcome::Refused;
        self.error_code = Some(error_code.to_owned());
        self.scope_granted = None;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_read_back_from_their_names() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
            assert_eq!(serde_json::to_value(action).unwrap(), action.as_str());
        }
        assert_eq!(AuditAction::parse("tokens"), None);
    }

    #[test]
    fn a_refusal_keeps_what_was_asked_and_drops_what_was_granted() {
        let record = AuditRecord::new(1_500, 90, "alice", AuditAction::Link)
            .asked(AuditScope::default())
            .granted(AuditScope::default())
            .refused("not_account_member");
        assert_eq!(record.outcome, AuditOutcome::Refused);
        assert_eq!(record.error_code.as_deref(), Some("not_account_member"));
        assert!(record.scope_asked.is_some() && record.scope_granted.is_none());
        assert_eq!(record.keep_until, 1 + 90 * 86_400);
    }
}
