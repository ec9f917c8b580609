//! The single-use OAuth state and the rules for accepting it back.

use secrecy::SecretString;

use super::error::DomainError;
use super::ids::{AccountId, UserId};
use super::UnixTime;

/// How long a person has between starting the flow and GitHub redirecting back.
pub const STATE_TTL_SECONDS: i64 = 600;

pub struct OAuthState {
    pub id: String,
    pub user: UserId,
    pub account: Option<AccountId>,
    pub pkce_verifier: SecretString,
    pub expires_at: UnixTime,
    /// Where the frontend wants the person sent back (one of its origins).
    pub return_to: Option<String>,
}

impl OAuthState {
    /// Called on a state that was atomically taken (marked used) for this
    /// request: the store guarantees it was unused; this checks the rest.
    pub fn accept(&self, caller: &UserId, now: UnixTime) -> Result<(), DomainError> {
        if now >= self.expires_at {
            return Err(DomainError::invalid(
                "invalid_state",
                "the OAuth state has expired: start again",
            ));
        }
        if &self.user != caller {
            return Err(DomainError::forbidden(
                "state_mismatch",
                "the OAuth state was started by another user",
            ));
        }
        Ok(())
    }
}
