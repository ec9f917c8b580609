//! What the trait cannot show: the items behind the answers (the reverse
//! side of links, the GitHub-user index) and the TTL-like purge. The shared
//! behaviour is tested against both stores in `tests/store_conformance.rs`.

use std::collections::BTreeMap;

use base64::Engine;
use secrecy::SecretString;

use super::txn::Reader;
use super::EmbeddedStore;
use crate::crypto::TokenSealer;
use crate::domain::oauth::OAuthState;
use crate::domain::tokens::{InstallationToken, UserTokens};
use crate::domain::{AccountId, GitHubUserId, Installation, InstallationId, InstallationStatus, LinkPolicy, UserId};
use crate::store::keys::{self, Key};
use crate::store::{
    Applied, Connections, Deliveries, Installations, Lease, NewConnection, OAuthStates, TokenCache, TokenFence,
    WritePlan,
};

fn store() -> (EmbeddedStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let key = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let store = EmbeddedStore::open(
        &dir.path().join("broker.redb"),
        TokenSealer::from_base64_key(&key).unwrap(),
    );
    (store.unwrap(), dir)
}

fn installation(id: u64) -> Installation {
    Installation {
        id: InstallationId(id),
        account_id: id,
        account_login: format!("org-{id}"),
        account_type: "Organization".into(),
        repository_selection: "all".into(),
        permissions: BTreeMap::new(),
        status: InstallationStatus::Active,
    }
}

fn connection(sub: &str, github_user: u64) -> NewConnection {
    NewConnection {
        user: UserId::parse(sub).unwrap(),
        github_user_id: GitHubUserId(github_user),
        login: "octocat".into(),
        tokens: UserTokens {
            access_token: SecretString::from("ghu_a"),
            access_expires_at: None,
            refresh_token: None,
            refresh_expires_at: None,
        },
    }
}

async fn exists(store: &EmbeddedStore, key: Key) -> bool {
    store.read(move |r| r.exists(&key)).await.unwrap()
}

async fn index(store: &EmbeddedStore, github_user: u64) -> Vec<String> {
    let pk = keys::github_user_index_pk(GitHubUserId(github_user));
    store.read(move |r: &Reader| r.index(&pk)).await.unwrap()
}

#[tokio::test]
async fn deleting_an_installation_removes_both_sides_of_every_link() {
    let (store, _dir) = store();
    let (a, b) = (AccountId::parse("team-a").unwrap(), AccountId::parse("team-b").unwrap());
    let id = InstallationId(1);
    store
        .link(&a, &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    store
        .link(&b, &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();

    let delete = WritePlan::Delete { id };
    assert_eq!(
        store.apply_delivery("d", 100, &delete, None).await.unwrap(),
        Applied::Done
    );

    for account in [&a, &b] {
        assert!(!exists(&store, keys::link_from_account(account, id)).await);
        assert!(!exists(&store, keys::link_from_installation(id, account)).await);
    }
    assert!(exists(&store, keys::installation(id)).await, "the tombstone stays");
}

#[tokio::test]
async fn unlinking_removes_both_sides_of_the_link() {
    let (store, _dir) = store();
    let a = AccountId::parse("team-a").unwrap();
    store
        .link(&a, &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    assert!(exists(&store, keys::link_from_installation(InstallationId(1), &a)).await);

    assert!(store.unlink(&a, InstallationId(1), &audit()).await.unwrap());

    assert!(!exists(&store, keys::link_from_installation(InstallationId(1), &a)).await);
}

#[tokio::test]
async fn the_github_user_index_follows_reconnects_and_deletes() {
    let (store, _dir) = store();
    store.put_connection(&connection("alice", 7)).await.unwrap();
    assert_eq!(index(&store, 7).await, ["USER#alice"]);

    store.put_connection(&connection("alice", 8)).await.unwrap();
    assert_eq!(index(&store, 7).await, Vec::<String>::new());
    assert_eq!(index(&store, 8).await, ["USER#alice"]);

    store.delete_connection(&UserId::parse("alice").unwrap()).await.unwrap();
    assert_eq!(index(&store, 8).await, Vec::<String>::new());
}

#[tokio::test]
async fn purging_removes_only_what_a_ttl_would_have_removed() {
    let (store, _dir) = store();
    store
        .put_oauth_state(&OAuthState {
            id: "s".into(),
            user: UserId::parse("alice").unwrap(),
            account: None,
            pkce_verifier: SecretString::from("v"),
            expires_at: 1_000,
            return_to: None,
        })
        .await
        .unwrap();
    let lease = Lease {
        owner: "o".into(),
        now: 1_000,
        until: 1_030,
    };
    let id = InstallationId(1);
    let team = AccountId::parse("team-a").unwrap();
    store
        .link(&team, &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    let fence = TokenFence {
        epoch: 0,
        account: team.clone(),
        link_version: store.get_link(&team, id).await.unwrap().unwrap().version,
    };
    assert!(store.lease_mint(id, "scope", &lease, 1_600, &fence).await.unwrap());
    let token = InstallationToken {
        token: SecretString::from("ghs_t"),
        expires_at: 2_000,
        permissions: BTreeMap::new(),
        repository_selection: "all".into(),
        repositories: None,
    };
    assert!(store
        .store_minted(id, "scope", &lease, &token, &fence, &audit())
        .await
        .unwrap());
    let update = WritePlan::Upsert {
        installation: installation(1),
        invalidate_tokens: false,
        read_at: 1_000_000,
    };
    assert_eq!(
        store.apply_delivery("d", 1_000, &update, None).await.unwrap(),
        Applied::Done
    );
    store.put_connection(&connection("alice", 7)).await.unwrap();

    // The state an hour after its expiry, the token an hour after its own.
    assert_eq!(store.purge_expired(4_600).await.unwrap(), 0);
    assert_eq!(store.purge_expired(4_601).await.unwrap(), 1);
    assert!(store.take_oauth_state("s").await.unwrap().is_none());
    assert_eq!(store.purge_expired(5_601).await.unwrap(), 1);
    assert!(store.cached_token(id, "scope", &fence).await.unwrap().is_none());
    // The delivery after 30 days.
    assert_eq!(store.purge_expired(1_000 + 30 * 24 * 3600 + 1).await.unwrap(), 1);
    // Its id is new again: not a duplicate (the same read, so nothing newer).
    assert_eq!(
        store.apply_delivery("d", 9_999_999, &update, None).await.unwrap(),
        Applied::Stale,
        "applied anew"
    );
    // Connections, installations and links have no expiry.
    assert!(store
        .get_connection(&UserId::parse("alice").unwrap())
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        store
            .linked_installations(&AccountId::parse("team-a").unwrap())
            .await
            .unwrap()
            .len(),
        1
    );
}

fn audit() -> crate::domain::audit::AuditRecord {
    crate::domain::audit::AuditRecord::new(1_000_000, 90, "test", crate::domain::audit::AuditAction::Link)
}
