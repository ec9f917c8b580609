//! Every key the table holds, in one place (see the README's table design).

use super::{key, Item};
use crate::domain::{AccountId, GitHubUserId, InstallationId, UserId};

pub fn oauth_state(id: &str) -> Item {
    key(format!("STATE#{id}"), "STATE".into())
}

pub fn connection(user: &UserId) -> Item {
    key(format!("USER#{user}"), "GITHUB".into())
}

pub fn github_user_index(github_user: GitHubUserId) -> String {
    format!("GHUSER#{github_user}")
}

pub fn installation_pk(id: InstallationId) -> String {
    format!("INST#{id}")
}

pub fn installation(id: InstallationId) -> Item {
    key(installation_pk(id), "META".into())
}

pub fn account_pk(account: &AccountId) -> String {
    format!("ACCT#{account}")
}

/// The link as seen from the account: lists an account's installations.
pub fn link_from_account(account: &AccountId, id: InstallationId) -> Item {
    key(account_pk(account), format!("INST#{id}"))
}

/// The link as seen from the installation: found and removed with it.
pub fn link_from_installation(id: InstallationId, account: &AccountId) -> Item {
    key(installation_pk(id), format!("ACCT#{account}"))
}

pub fn token(id: InstallationId, scope_key: &str) -> Item {
    key(installation_pk(id), format!("TOKEN#{scope_key}"))
}

pub fn delivery(id: &str) -> Item {
    key(format!("DELIVERY#{id}"), "DELIVERY".into())
}
