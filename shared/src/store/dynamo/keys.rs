//! The shared key scheme ([`crate::store::keys`]) as DynamoDB key items:
//! each function names the same key, as the `pk`/`sk` attributes.

use super::{s, Item};
use crate::domain::{AccountId, InstallationId, UserId};
use crate::store::keys::{self, Key};

pub use crate::store::keys::{account_pk, github_user_index_pk, installation_pk};

fn item(key: Key) -> Item {
    Item::from([("pk".to_owned(), s(key.pk)), ("sk".to_owned(), s(key.sk))])
}

pub fn oauth_state(id: &str) -> Item {
    item(keys::oauth_state(id))
}

pub fn connection(user: &UserId) -> Item {
    item(keys::connection(user))
}

pub fn installation(id: InstallationId) -> Item {
    item(keys::installation(id))
}

pub fn link_from_account(account: &AccountId, id: InstallationId) -> Item {
    item(keys::link_from_account(account, id))
}

pub fn link_from_installation(id: InstallationId, account: &AccountId) -> Item {
    item(keys::link_from_installation(id, account))
}

pub fn token(id: InstallationId, scope_key: &str) -> Item {
    item(keys::token(id, scope_key))
}

pub fn revocation(id: InstallationId, token_sha256: &str) -> Item {
    item(keys::revocation(id, token_sha256))
}

pub fn delivery(id: &str) -> Item {
    item(keys::delivery(id))
}

pub fn reconcile_state() -> Item {
    item(keys::reconcile_state())
}

pub fn reconcile_listing(pass: u64, page: u32) -> Item {
    item(keys::reconcile_listing(pass, page))
}

pub fn redelivery(guid: &str) -> Item {
    item(keys::redelivery(guid))
}
