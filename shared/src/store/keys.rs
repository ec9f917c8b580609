//! The one key scheme of both stores (see the README's table design): every
//! item's `pk`/`sk`, the prefixes that list a partition's kinds, and the
//! associated data a sealed value is bound to. The DynamoDB table and the
//! embedded file hold the same keys, so a sealed value opens in either.

use crate::domain::audit::AuditRecord;
use crate::domain::{AccountId, GitHubUserId, InstallationId, UserId};

/// The sort-key prefix of an account's links (`ACCT#a` → `INST#id`).
pub const LINKED_INSTALLATION: &str = "INST#";
/// The sort-key prefix of an installation's links (`INST#id` → `ACCT#a`).
pub const LINKED_ACCOUNT: &str = "ACCT#";
/// The sort-key prefix of an installation's cached tokens, one per scope.
pub const TOKEN: &str = "TOKEN#";
/// The sort-key prefix of an installation's tokens awaiting revocation at GitHub.
pub const REVOCATION: &str = "REVOKE#";
/// The index sort-key prefix of a platform user (`GHUSER#id` → `USER#u`).
pub const USER: &str = "USER#";

/// An item's primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub(crate) fn new(pk: String, sk: impl Into<String>) -> Self {
        Self { pk, sk: sk.into() }
    }

    /// The associated data that binds a sealed value to its item and field.
    pub fn aad(&self, field: &str) -> String {
        aad(&self.pk, &self.sk, field)
    }
}

/// `pk|sk|field`: a sealed value copied to another item or field does not open.
pub fn aad(pk: &str, sk: &str, field: &str) -> String {
    format!("{pk}|{sk}|{field}")
}

pub fn oauth_state(id: &str) -> Key {
    Key::new(format!("STATE#{id}"), "STATE")
}

pub fn connection(user: &UserId) -> Key {
    Key::new(format!("{USER}{user}"), "GITHUB")
}

/// The secondary index's key of a connection: GitHub user → platform users.
pub fn github_user_index(github_user: GitHubUserId, user: &UserId) -> Key {
    Key::new(github_user_index_pk(github_user), format!("{USER}{user}"))
}

pub fn github_user_index_pk(github_user: GitHubUserId) -> String {
    format!("GHUSER#{github_user}")
}

/// The platform user an index sort key names.
pub fn user_of_index(sk: &str) -> Option<UserId> {
    sk.strip_prefix(USER).and_then(UserId::parse)
}

pub fn installation_pk(id: InstallationId) -> String {
    format!("{LINKED_INSTALLATION}{id}")
}

/// The installation whose partition key this is.
pub fn installation_of_pk(pk: &str) -> Option<InstallationId> {
    pk.strip_prefix(LINKED_INSTALLATION).and_then(InstallationId::parse)
}

pub fn installation(id: InstallationId) -> Key {
    Key::new(installation_pk(id), "META")
}

pub fn account_pk(account: &AccountId) -> String {
    format!("{LINKED_ACCOUNT}{account}")
}

/// The link as seen from the account: lists an account's installations.
pub fn link_from_account(account: &AccountId, id: InstallationId) -> Key {
    Key::new(account_pk(account), format!("{LINKED_INSTALLATION}{id}"))
}

/// The installation an account's link names (its sort key).
pub fn linked_installation(sk: &str) -> Option<InstallationId> {
    sk.strip_prefix(LINKED_INSTALLATION).and_then(InstallationId::parse)
}

/// The link as seen from the installation: found and removed with it.
pub fn link_from_installation(id: InstallationId, account: &AccountId) -> Key {
    Key::new(installation_pk(id), format!("{LINKED_ACCOUNT}{account}"))
}

/// The account an installation's link names (its sort key).
pub fn linked_account(sk: &str) -> Option<AccountId> {
    sk.strip_prefix(LINKED_ACCOUNT).and_then(AccountId::parse)
}

pub fn token(id: InstallationId, scope_key: &str) -> Key {
    Key::new(installation_pk(id), format!("{TOKEN}{scope_key}"))
}

/// The sort-key prefix of `account`'s cached tokens in an installation's
/// partition (the service's cache keys start with the account).
pub fn tokens_of(account: &AccountId) -> String {
    format!("{TOKEN}{account}#")
}

/// The account a cached token's scope key belongs to.
pub fn account_of_scope(scope_key: &str) -> Option<AccountId> {
    scope_key
        .split_once('#')
        .and_then(|(account, _)| AccountId::parse(account))
}

/// A token awaiting revocation, named by its hash.
pub fn revocation(id: InstallationId, token_sha256: &str) -> Key {
    Key::new(installation_pk(id), format!("{REVOCATION}{token_sha256}"))
}

/// The token hash a revocation's sort key names.
pub fn revocation_of(sk: &str) -> Option<&str> {
    sk.strip_prefix(REVOCATION)
}

/// The scope key of a cached token's sort key.
pub fn token_scope(sk: &str) -> Option<&str> {
    sk.strip_prefix(TOKEN)
}

/// An account's audit trail.
pub fn audit_of_account(account: &AccountId) -> String {
    format!("AUDIT#ACCT#{account}")
}

/// A platform user's audit trail (their user-token vends).
pub fn audit_of_user(user: &UserId) -> String {
    format!("AUDIT#USER#{user}")
}

/// The record's place in its trail: the time first (the trail reads
/// newest first), then a random part so two records of one millisecond
/// both stay. `None`: a record of neither an account nor a user.
pub fn audit(record: &AuditRecord, nonce: &str) -> Option<Key> {
    let pk = match (&record.account_id, &record.user_id) {
        (Some(account), _) => audit_of_account(account),
        (None, Some(user)) => audit_of_user(user),
        (None, None) => return None,
    };
    Some(Key::new(pk, format!("{}#{nonce}", audit_time(record.time_ms))))
}

/// The sort-key form of a time (Unix milliseconds): fixed width, so the
/// keys order as the times do.
pub fn audit_time(time_ms: i64) -> String {
    format!("{:013}", time_ms.clamp(0, 9_999_999_999_999))
}

/// Whether `cursor` is an audit sort key (the trail's paging cursor).
pub fn is_audit_cursor(cursor: &str) -> bool {
    match cursor.split_once('#') {
        Some((time, nonce)) => {
            time.len() == 13
                && time.bytes().all(|b| b.is_ascii_digit())
                && !nonce.is_empty()
                && nonce.len() <= 64
                && nonce
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }
        None => false,
    }
}

pub fn delivery(id: &str) -> Key {
    Key::new(format!("DELIVERY#{id}"), "DELIVERY")
}

/// The reconciler's one item: its lease and where its work stands.
pub fn reconcile_state() -> Key {
    Key::new("RECONCILE".to_owned(), "STATE")
}

/// The partition of one installation pass's listings, a page per item.
pub fn reconcile_pass_pk(pass: u64) -> String {
    format!("RECONCILE#PASS#{pass}")
}

/// The installations GitHub listed on one page of one pass. Zero-padded,
/// so a partition lists its pages in order.
pub fn reconcile_listing(pass: u64, page: u32) -> Key {
    Key::new(reconcile_pass_pk(pass), format!("PAGE#{page:06}"))
}

/// The reconciler's claim on asking GitHub to redeliver one delivery.
pub fn redelivery(guid: &str) -> Key {
    Key::new(format!("REDELIVER#{guid}"), "REDELIVER")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_reads_back_what_it_names() {
        let (id, account, user) = (
            InstallationId(42),
            AccountId::parse("team-a").unwrap(),
            UserId::parse("alice").unwrap(),
        );
        assert_eq!(linked_installation(&link_from_account(&account, id).sk), Some(id));
        assert_eq!(
            linked_account(&link_from_installation(id, &account).sk),
            Some(account.clone())
        );
        assert_eq!(installation_of_pk(&installation(id).pk), Some(id));
        assert_eq!(user_of_index(&github_user_index(GitHubUserId(7), &user).sk), Some(user));
        assert_eq!(token_scope(&token(id, "s1").sk), Some("s1"));
        assert_eq!(revocation_of(&revocation(id, "ab").sk), Some("ab"));
        let record = crate::domain::audit::AuditRecord::new(
            1_700_000_000_123,
            90,
            "me",
            crate::domain::audit::AuditAction::Link,
        )
        .account(&account);
        let key = audit(&record, "n0nce").unwrap();
        assert_eq!(
            (key.pk.as_str(), key.sk.as_str()),
            ("AUDIT#ACCT#team-a", "1700000000123#n0nce")
        );
        assert!(is_audit_cursor(&key.sk));
        assert!(
            !is_audit_cursor("17#x") && !is_audit_cursor("1700000000123#") && !is_audit_cursor("1700000000123#a b")
        );
        assert!(token(id, "team-a#s1").sk.starts_with(&tokens_of(&account)));
        assert!(!token(id, "team-ab#s1").sk.starts_with(&tokens_of(&account)));
        assert_eq!(installation(id).aad("token"), "INST#42|META|token");
    }
}
