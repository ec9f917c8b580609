//! Tokens as values: an installation token and a user's token pair. Every
//! token is a [`SecretString`], which has no `Display` and a redacting `Debug`.

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::error::{DomainError, DomainResult};
use super::ids::AccountId;
use super::scope::TokenScope;
use super::UnixTime;

/// Refresh a user token when it has less life left than this (SPEC: 5 minutes).
pub const USER_TOKEN_REFRESH_MARGIN: i64 = 300;
/// A cached installation token is reused while it has this much life left,
/// unless the caller asks for another margin.
pub const DEFAULT_MIN_TTL: i64 = 600;

/// Installation tokens live an hour; a caller cannot ask for more life left than this.
pub const MAX_MIN_TTL: i64 = 3000;

/// What a vend asks for: a scope (empty: everything the installation
/// grants) and how much life the token must have left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub scope: TokenScope,
    pub min_ttl: i64,
}

impl Default for TokenRequest {
    fn default() -> Self {
        Self {
            scope: TokenScope::default(),
            min_ttl: DEFAULT_MIN_TTL,
        }
    }
}

impl TokenRequest {
    /// The key `account`'s tokens of this scope are cached under: one
    /// team's token is never handed to another, whatever the scope. (Account
    /// ids cannot hold `#`, so the two parts cannot run into each other.)
    pub fn cache_key(&self, account: &AccountId) -> String {
        format!("{account}#{}", self.scope.cache_key())
    }

    pub fn new(scope: TokenScope, min_ttl: Option<i64>) -> DomainResult<Self> {
        let min_ttl = min_ttl.unwrap_or(DEFAULT_MIN_TTL);
        if !(0..=MAX_MIN_TTL).contains(&min_ttl) {
            return Err(DomainError::invalid(
                "invalid_min_ttl",
                format!("min_ttl_seconds must be between 0 and {MAX_MIN_TTL}"),
            ));
        }
        Ok(Self { scope, min_ttl })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryRef {
    pub id: u64,
    pub name: String,
    pub full_name: String,
}

#[derive(Debug, Clone)]
pub struct InstallationToken {
    pub token: SecretString,
    pub expires_at: UnixTime,
    pub permissions: BTreeMap<String, String>,
    pub repository_selection: String,
    pub repositories: Option<Vec<RepositoryRef>>,
}

impl InstallationToken {
    pub fn usable_for(&self, now: UnixTime, min_ttl: i64) -> bool {
        self.expires_at - now >= min_ttl
    }
}

/// A user-to-server token pair. Apps may have expiring tokens switched off:
/// then there is no expiry and no refresh token.
#[derive(Debug, Clone)]
pub struct UserTokens {
    pub access_token: SecretString,
    pub access_expires_at: Option<UnixTime>,
    pub refresh_token: Option<SecretString>,
    pub refresh_expires_at: Option<UnixTime>,
}

impl UserTokens {
    pub fn needs_refresh(&self, now: UnixTime) -> bool {
        self.access_expires_at
            .is_some_and(|exp| exp - now < USER_TOKEN_REFRESH_MARGIN)
    }

    pub fn can_refresh(&self, now: UnixTime) -> bool {
        self.refresh_token.is_some() && self.refresh_expires_at.is_none_or(|exp| exp > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_tokens(access_exp: Option<i64>) -> UserTokens {
        UserTokens {
            access_token: SecretString::from("a"),
            access_expires_at: access_exp,
            refresh_token: Some(SecretString::from("r")),
            refresh_expires_at: Some(10_000),
        }
    }

    #[test]
    fn a_user_token_is_refreshed_inside_the_last_five_minutes() {
        assert!(!user_tokens(Some(1_000)).needs_refresh(1_000 - 301));
        assert!(user_tokens(Some(1_000)).needs_refresh(1_000 - 299));
        assert!(!user_tokens(None).needs_refresh(i64::MAX));
    }

    #[test]
    fn an_expired_refresh_token_cannot_refresh() {
        assert!(user_tokens(Some(1)).can_refresh(9_999));
        assert!(!user_tokens(Some(1)).can_refresh(10_000));
    }

    #[test]
    fn a_cached_token_is_reused_only_with_enough_life_left() {
        let t = InstallationToken {
            token: SecretString::from("t"),
            expires_at: 4_000,
            permissions: BTreeMap::new(),
            repository_selection: "all".into(),
            repositories: None,
        };
        assert!(t.usable_for(3_400, 600));
        assert!(!t.usable_for(3_401, 600));
    }
}
