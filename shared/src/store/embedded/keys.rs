//! Every key the embedded store holds: the same `pk`/`sk` strings as the
//! DynamoDB adapter's `keys.rs` (see the README's table design), so the two
//! layouts stay parallel and a sealed value's associated data is the same.

use crate::domain::{AccountId, GitHubUserId, InstallationId, UserId};

/// An item's primary key, as in the DynamoDB table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    fn new(pk: String, sk: impl Into<String>) -> Self {
        Self { pk, sk: sk.into() }
    }

    /// The associated data that binds a sealed value to its item and field:
    /// `pk|sk|field`, exactly the DynamoDB adapter's `aad()`.
    pub fn aad(&self, field: &str) -> String {
        format!("{}|{}|{field}", self.pk, self.sk)
    }
}

pub(super) fn oauth_state(id: &str) -> Key {
    Key::new(format!("STATE#{id}"), "STATE")
}

pub(super) fn connection(user: &UserId) -> Key {
    Key::new(format!("USER#{user}"), "GITHUB")
}

/// The `gsi1` key of a connection: GitHub user → platform users.
pub(super) fn github_user_index(github_user: GitHubUserId, user: &UserId) -> Key {
    Key::new(github_user_index_pk(github_user), format!("USER#{user}"))
}

pub(super) fn github_user_index_pk(github_user: GitHubUserId) -> String {
    format!("GHUSER#{github_user}")
}

pub(super) fn installation_pk(id: InstallationId) -> String {
    format!("INST#{id}")
}

pub(super) fn installation(id: InstallationId) -> Key {
    Key::new(installation_pk(id), "META")
}

pub(super) fn account_pk(account: &AccountId) -> String {
    format!("ACCT#{account}")
}

/// The link as seen from the account: lists an account's installations.
pub(super) fn link_from_account(account: &AccountId, id: InstallationId) -> Key {
    Key::new(account_pk(account), format!("INST#{id}"))
}

/// The link as seen from the installation: found and removed with it.
pub(super) fn link_from_installation(id: InstallationId, account: &AccountId) -> Key {
    Key::new(installation_pk(id), format!("ACCT#{account}"))
}

pub(super) const TOKEN_PREFIX: &str = "TOKEN#";

pub(super) fn token(id: InstallationId, scope_key: &str) -> Key {
    Key::new(installation_pk(id), format!("{TOKEN_PREFIX}{scope_key}"))
}

pub(super) fn delivery(id: &str) -> Key {
    Key::new(format!("DELIVERY#{id}"), "DELIVERY")
}
