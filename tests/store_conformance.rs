//! Store conformance: one set of scenarios over the `Store` port, run against
//! every implementation (DynamoDB through moto, the embedded redb store in a
//! temporary folder), so that both keep the guarantees the traits promise.
//!
//! Each scenario is written once, over `&dyn Store`; `conformance!` makes one
//! test per scenario and implementation: `store_conformance::dynamo::…` and
//! `store_conformance::embedded::…`. Times are explicit numbers (leases carry
//! their own `now`), so nothing sleeps.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use broker::crypto::random::token_urlsafe;
use broker::crypto::TokenSealer;
use broker::domain::oauth::OAuthState;
use broker::domain::tokens::{InstallationToken, RepositoryRef, UserTokens};
use broker::domain::{AccountId, GitHubUserId, Installation, InstallationId, InstallationStatus, UserId};
use broker::store::dynamo::DynamoStore;
use broker::store::embedded::EmbeddedStore;
use broker::store::{
    Claim, Connections, Deliveries, Installations, Lease, NewConnection, OAuthStates, Store, StoreError, TokenCache,
    Upsert,
};
use futures::future::join_all;
use secrecy::{ExposeSecret, SecretString};

use crate::helpers::{app::sdk_config, table};

/// A store under test, and where to look at what it keeps at rest.
struct Subject {
    store: Box<dyn Store>,
    at_rest: AtRest,
}

enum AtRest {
    Dynamo {
        client: aws_sdk_dynamodb::Client,
        table: String,
    },
    Embedded {
        path: PathBuf,
        _dir: tempfile::TempDir,
    },
}

impl Subject {
    async fn dynamo() -> Self {
        let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
        let table = format!("conformance-{}", &token_urlsafe()[..12]);
        table::create(&client, &table).await;
        Self {
            store: Box::new(DynamoStore::new(client.clone(), &table, sealer())),
            at_rest: AtRest::Dynamo { client, table },
        }
    }

    async fn embedded() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broker.redb");
        Self {
            store: Box::new(EmbeddedStore::open(&path, sealer()).unwrap()),
            at_rest: AtRest::Embedded { path, _dir: dir },
        }
    }

    /// Everything the backend holds, to search for secrets: the raw database
    /// file, or every item of the table as the SDK prints it.
    async fn raw(&self) -> Vec<u8> {
        match &self.at_rest {
            AtRest::Embedded { path, .. } => std::fs::read(path).unwrap(),
            AtRest::Dynamo { client, table } => {
                let mut items = Vec::new();
                let mut start = None;
                loop {
                    let scan = client.scan().table_name(table).set_exclusive_start_key(start);
                    let out = scan.send().await.unwrap();
                    items.extend(out.items.unwrap_or_default());
                    start = out.last_evaluated_key;
                    if start.is_none() {
                        return format!("{items:?}").into_bytes();
                    }
                }
            }
        }
    }
}

/// One `#[tokio::test]` per scenario and implementation. Scenarios listed
/// under `store` take `&dyn Store`; those under `subject` look at rest too.
macro_rules! conformance {
    (store: [$($(#[$attr:meta])* $scenario:ident),* $(,)?], subject: [$($at_rest:ident),* $(,)?] $(,)?) => {
        conformance!(@implementation dynamo, [$($(#[$attr])* $scenario),*], [$($at_rest),*]);
        conformance!(@implementation embedded, [$($(#[$attr])* $scenario),*], [$($at_rest),*]);
    };
    (@implementation $implementation:ident, [$($(#[$attr:meta])* $scenario:ident),*], [$($at_rest:ident),*]) => {
        mod $implementation {
            $(
                $(#[$attr])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let subject = super::Subject::$implementation().await;
                    super::$scenario(&*subject.store).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $at_rest() {
                    super::$at_rest(&super::Subject::$implementation().await).await;
                }
            )*
        }
    };
}

conformance! {
    store: [
        an_oauth_state_is_taken_once,
        of_sixteen_concurrent_takes_of_an_oauth_state_exactly_one_gets_it,
        an_oauth_state_id_cannot_be_put_twice,
        an_expired_oauth_state_is_still_handed_back_for_the_caller_to_refuse,
        a_connection_reads_back_as_it_was_stored,
        put_connection_bumps_the_version_so_a_refresh_of_the_old_grant_is_refused,
        the_refresh_lease_is_exclusive_until_it_runs_out,
        only_the_owner_releases_a_refresh_lease,
        completing_a_refresh_releases_the_lease,
        require_reauthorization_drops_the_tokens_and_keeps_the_login,
        users_of_a_github_user_are_every_platform_user_connected_to_it,
        a_refresh_in_flight_across_a_disconnect_and_reconnect_does_not_land,
        an_upserted_installation_reads_back,
        renaming_changes_the_login_and_an_unknown_installation_is_gone,
        a_deleted_installation_is_gone_with_its_links_and_tokens,
        linking_is_idempotent_and_stores_the_installation,
        unlink_says_whether_it_removed_a_link,
        linked_installations_lists_an_accounts_installations_by_id,
        links_among_finds_which_of_the_accounts_link_which_installations,
        vend_snapshot_sees_the_link_the_installation_and_the_token_in_one_call,
        a_mint_lease_is_refused_while_another_runs_or_a_fresh_token_is_stored,
        a_mint_lease_that_ran_out_can_be_taken_and_its_old_holder_stores_nothing,
        only_the_owner_releases_a_mint_lease,
        dropping_cached_tokens_removes_every_scope_of_that_installation_only,
        a_delivery_is_claimed_once_and_is_a_duplicate_once_finished,
        of_ten_concurrent_claims_of_a_delivery_exactly_one_wins,
        a_released_delivery_can_be_claimed_again,
        a_delivery_whose_claim_ran_out_can_be_claimed_again,
    ],
    subject: [nothing_secret_is_kept_in_plaintext],
}

// ---- values -----------------------------------------------------------------

/// A fresh random key, as `token_encryption_key` would hold it.
fn sealer() -> TokenSealer {
    let key = URL_SAFE_NO_PAD.decode(token_urlsafe()).unwrap();
    TokenSealer::from_base64_key(&STANDARD.encode(key)).unwrap()
}

fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

fn account(id: &str) -> AccountId {
    AccountId::parse(id).unwrap()
}

/// A secret nobody could find in the store by chance.
fn secret(prefix: &str) -> String {
    format!("{prefix}_{}", token_urlsafe())
}

fn oauth_state(id: &str, by: &str, expires_at: i64) -> OAuthState {
    OAuthState {
        id: id.into(),
        user: user(by),
        account: Some(account("team-a")),
        pkce_verifier: SecretString::from(secret("verifier")),
        expires_at,
        return_to: Some("https://platform.example/done".into()),
    }
}

fn user_tokens() -> UserTokens {
    UserTokens {
        access_token: SecretString::from(secret("ghu")),
        access_expires_at: Some(28_800),
        refresh_token: Some(SecretString::from(secret("ghr"))),
        refresh_expires_at: Some(15_897_600),
    }
}

fn connection(sub: &str, github_user: u64, tokens: &UserTokens) -> NewConnection {
    NewConnection {
        user: user(sub),
        github_user_id: GitHubUserId(github_user),
        login: format!("octocat-{github_user}"),
        tokens: tokens.clone(),
    }
}

fn installation(id: u64) -> Installation {
    Installation {
        id: InstallationId(id),
        account_id: 1000 + id,
        account_login: format!("org-{id}"),
        account_type: "Organization".into(),
        repository_selection: "all".into(),
        permissions: BTreeMap::from([("contents".into(), "write".into())]),
        status: InstallationStatus::Active,
    }
}

fn installation_token(expires_at: i64, repositories: Option<Vec<RepositoryRef>>) -> InstallationToken {
    InstallationToken {
        token: SecretString::from(secret("ghs")),
        expires_at,
        permissions: BTreeMap::from([("contents".into(), "read".into())]),
        repository_selection: if repositories.is_some() { "selected" } else { "all" }.into(),
        repositories,
    }
}

fn repositories() -> Option<Vec<RepositoryRef>> {
    Some(vec![RepositoryRef {
        id: 7,
        name: "hello".into(),
        full_name: "org-1/hello".into(),
    }])
}

fn lease(owner: &str, now: i64, until: i64) -> Lease {
    Lease {
        owner: owner.into(),
        now,
        until,
    }
}

fn assert_same_user_tokens(actual: &UserTokens, expected: &UserTokens) {
    assert_eq!(
        actual.access_token.expose_secret(),
        expected.access_token.expose_secret()
    );
    assert_eq!(actual.access_expires_at, expected.access_expires_at);
    let refresh = |t: &UserTokens| t.refresh_token.as_ref().map(|r| r.expose_secret().to_owned());
    assert_eq!(refresh(actual), refresh(expected));
    assert_eq!(actual.refresh_expires_at, expected.refresh_expires_at);
}

fn assert_same_installation_token(actual: &InstallationToken, expected: &InstallationToken) {
    assert_eq!(actual.token.expose_secret(), expected.token.expose_secret());
    assert_eq!(actual.expires_at, expected.expires_at);
    assert_eq!(actual.permissions, expected.permissions);
    assert_eq!(actual.repository_selection, expected.repository_selection);
    assert_eq!(actual.repositories, expected.repositories);
}

/// Leases and stores a token for one installation and scope.
async fn mint(store: &dyn Store, id: u64, scope: &str, expires_at: i64) -> InstallationToken {
    let owner = lease(&format!("minter-{scope}"), 1000, 1030);
    assert!(store.lease_mint(InstallationId(id), scope, &owner, 1600).await.unwrap());
    let token = installation_token(expires_at, repositories());
    assert!(store
        .store_minted(InstallationId(id), scope, &owner, &token)
        .await
        .unwrap());
    token
}

fn ids(installations: &[Installation]) -> Vec<u64> {
    installations.iter().map(|i| i.id.0).collect()
}

// ---- OAuth states -----------------------------------------------------------

async fn an_oauth_state_is_taken_once(store: &dyn Store) {
    let state = oauth_state("state-1", "alice", 2_000);
    store.put_oauth_state(&state).await.unwrap();

    let taken = store
        .take_oauth_state("state-1")
        .await
        .unwrap()
        .expect("the first take");

    assert_eq!(taken.id, "state-1");
    assert_eq!(taken.user, state.user);
    assert_eq!(taken.account, state.account);
    assert_eq!(taken.pkce_verifier.expose_secret(), state.pkce_verifier.expose_secret());
    assert_eq!(taken.expires_at, 2_000);
    assert_eq!(taken.return_to, state.return_to);
    assert!(store.take_oauth_state("state-1").await.unwrap().is_none(), "used");
    assert!(store.take_oauth_state("state-2").await.unwrap().is_none(), "unknown");
}

async fn of_sixteen_concurrent_takes_of_an_oauth_state_exactly_one_gets_it(store: &dyn Store) {
    store.put_oauth_state(&oauth_state("s", "alice", 2_000)).await.unwrap();

    let takes = join_all((0..16).map(|_| store.take_oauth_state("s"))).await;

    let won = takes.into_iter().map(Result::unwrap).filter(Option::is_some).count();
    assert_eq!(won, 1);
}

async fn an_oauth_state_id_cannot_be_put_twice(store: &dyn Store) {
    let first = oauth_state("s", "alice", 2_000);
    store.put_oauth_state(&first).await.unwrap();

    let again = store.put_oauth_state(&oauth_state("s", "mallory", 3_000)).await;

    assert!(again.is_err());
    let taken = store.take_oauth_state("s").await.unwrap().unwrap();
    assert_eq!(taken.user, user("alice"));
    assert_eq!(taken.pkce_verifier.expose_secret(), first.pkce_verifier.expose_secret());
}

/// Expiry is judged by `OAuthState::accept`, never by whether the store has
/// deleted the state yet (DynamoDB's TTL runs late).
async fn an_expired_oauth_state_is_still_handed_back_for_the_caller_to_refuse(store: &dyn Store) {
    store.put_oauth_state(&oauth_state("s", "alice", 1)).await.unwrap();

    let taken = store.take_oauth_state("s").await.unwrap().expect("still there");

    assert!(taken.accept(&user("alice"), 2).is_err());
}

// ---- connections ------------------------------------------------------------

/// Connects `sub` as GitHub user `github_user` with fresh tokens: the
/// tokens, and the version the connection is at now.
async fn connect(store: &dyn Store, sub: &str, github_user: u64) -> (UserTokens, u64) {
    let tokens = user_tokens();
    store
        .put_connection(&connection(sub, github_user, &tokens))
        .await
        .unwrap();
    let stored = store.get_connection(&user(sub)).await.unwrap().unwrap();
    (tokens, stored.version)
}

async fn a_connection_reads_back_as_it_was_stored(store: &dyn Store) {
    assert!(store.get_connection(&user("alice")).await.unwrap().is_none());

    let (tokens, _) = connect(store, "alice", 7).await;

    let stored = store.get_connection(&user("alice")).await.unwrap().unwrap();
    assert_eq!(stored.user, user("alice"));
    assert_eq!(stored.github_user_id, GitHubUserId(7));
    assert_eq!(stored.login, "octocat-7");
    assert_same_user_tokens(stored.tokens.as_ref().unwrap(), &tokens);
    assert_eq!(stored.lease_until, None);
}

async fn put_connection_bumps_the_version_so_a_refresh_of_the_old_grant_is_refused(store: &dyn Store) {
    let alice = user("alice");
    let (_, old) = connect(store, "alice", 7).await;

    let (reconnected, current) = connect(store, "alice", 7).await;

    assert!(current > old);
    let stale = store.complete_refresh(&alice, old, &user_tokens()).await.unwrap();
    assert!(!stale);
    let after = store.get_connection(&alice).await.unwrap().unwrap();
    assert_same_user_tokens(after.tokens.as_ref().unwrap(), &reconnected);
    assert_eq!(after.version, current);
    let refreshed = user_tokens();
    assert!(store.complete_refresh(&alice, current, &refreshed).await.unwrap());
    let last = store.get_connection(&alice).await.unwrap().unwrap();
    assert!(last.version > current);
    assert_same_user_tokens(last.tokens.as_ref().unwrap(), &refreshed);
}

async fn the_refresh_lease_is_exclusive_until_it_runs_out(store: &dyn Store) {
    let alice = user("alice");
    let (_, v) = connect(store, "alice", 7).await;
    let leases = |version, owner, now| {
        let alice = alice.clone();
        async move {
            store
                .lease_refresh(&alice, version, &lease(owner, now, now + 30))
                .await
                .unwrap()
        }
    };

    assert!(leases(v, "a", 1000).await);

    let held = store.get_connection(&alice).await.unwrap().unwrap();
    assert_eq!(held.lease_until, Some(1030));
    assert!(!leases(v, "b", 1010).await);
    assert!(!leases(v, "b", 1030).await, "held at its last second");
    assert!(!leases(v + 1, "b", 1031).await, "another version");
    assert!(leases(v, "b", 1031).await);
    for version in [0, 1] {
        let unknown = store.lease_refresh(&user("nobody"), version, &lease("c", 1, 2)).await;
        assert!(!unknown.unwrap());
    }
}

async fn only_the_owner_releases_a_refresh_lease(store: &dyn Store) {
    let alice = user("alice");
    let (_, v) = connect(store, "alice", 7).await;
    let held = lease("a", 1000, 1030);
    assert!(store.lease_refresh(&alice, v, &held).await.unwrap());

    store
        .release_refresh_lease(&alice, &lease("b", 1000, 1030))
        .await
        .unwrap();
    assert!(!store.lease_refresh(&alice, v, &lease("c", 1010, 1040)).await.unwrap());

    store.release_refresh_lease(&alice, &held).await.unwrap();
    assert_eq!(store.get_connection(&alice).await.unwrap().unwrap().lease_until, None);
    assert!(store.lease_refresh(&alice, v, &lease("c", 1010, 1040)).await.unwrap());
}

async fn completing_a_refresh_releases_the_lease(store: &dyn Store) {
    let alice = user("alice");
    let (_, v) = connect(store, "alice", 7).await;
    assert!(store.lease_refresh(&alice, v, &lease("a", 1000, 1030)).await.unwrap());

    assert!(store.complete_refresh(&alice, v, &user_tokens()).await.unwrap());

    let after = store.get_connection(&alice).await.unwrap().unwrap();
    assert_eq!(after.lease_until, None);
    assert!(store
        .lease_refresh(&alice, after.version, &lease("b", 1010, 1040))
        .await
        .unwrap());
}

async fn require_reauthorization_drops_the_tokens_and_keeps_the_login(store: &dyn Store) {
    let alice = user("alice");
    let (_, v) = connect(store, "alice", 7).await;
    assert!(store.lease_refresh(&alice, v, &lease("a", 1000, 1030)).await.unwrap());

    store.require_reauthorization(&alice, v).await.unwrap();

    let dropped = store.get_connection(&alice).await.unwrap().unwrap();
    assert!(dropped.tokens.is_none());
    assert_eq!(
        (dropped.github_user_id, dropped.login.as_str()),
        (GitHubUserId(7), "octocat-7")
    );
    assert!(dropped.version > v);
    assert_eq!(dropped.lease_until, None);
    // At a version that has moved on (a reconnect), it changes nothing.
    let (reconnected, _) = connect(store, "alice", 7).await;
    store.require_reauthorization(&alice, dropped.version).await.unwrap();
    let kept = store.get_connection(&alice).await.unwrap().unwrap();
    assert_same_user_tokens(kept.tokens.as_ref().unwrap(), &reconnected);
}

async fn users_of_a_github_user_are_every_platform_user_connected_to_it(store: &dyn Store) {
    for (sub, github_user) in [("alice", 7), ("bob", 7), ("carol", 8)] {
        connect(store, sub, github_user).await;
    }
    let users_of = |github_user| async move {
        let mut users = store.users_of_github_user(GitHubUserId(github_user)).await.unwrap();
        users.sort();
        users
    };

    assert_eq!(users_of(7).await, [user("alice"), user("bob")]);
    assert_eq!(users_of(8).await, [user("carol")]);
    assert_eq!(users_of(9).await, []);

    // Bob reconnects as another GitHub user; Alice disconnects.
    connect(store, "bob", 8).await;
    store.delete_connection(&user("alice")).await.unwrap();
    assert_eq!(users_of(7).await, []);
    assert_eq!(users_of(8).await, [user("bob"), user("carol")]);
    assert!(store.get_connection(&user("alice")).await.unwrap().is_none());
}

/// A refresh leased before a disconnect must not overwrite the grant of a
/// later reconnect. Today both stores restart the version at 1 after
/// `delete_connection`, so the stale `complete_refresh` lands.
async fn a_refresh_in_flight_across_a_disconnect_and_reconnect_does_not_land(store: &dyn Store) {
    let alice = user("alice");
    let (_, v) = connect(store, "alice", 7).await;
    assert!(store.lease_refresh(&alice, v, &lease("a", 1000, 1030)).await.unwrap());
    store.delete_connection(&alice).await.unwrap();
    let (reconnected, _) = connect(store, "alice", 7).await;

    let landed = store.complete_refresh(&alice, v, &user_tokens()).await.unwrap();

    assert!(!landed, "a refresh of the revoked grant overwrote the new one");
    let kept = store.get_connection(&alice).await.unwrap().unwrap();
    assert_same_user_tokens(kept.tokens.as_ref().unwrap(), &reconnected);
}

// ---- installations and links ------------------------------------------------

async fn an_upserted_installation_reads_back(store: &dyn Store) {
    assert_eq!(store.get_installation(InstallationId(1)).await.unwrap(), None);

    assert_eq!(
        store.upsert_installation(&installation(1)).await.unwrap(),
        Upsert::Written
    );
    assert_eq!(
        store.get_installation(InstallationId(1)).await.unwrap(),
        Some(installation(1))
    );

    let mut suspended = installation(1);
    suspended.status = InstallationStatus::Suspended;
    suspended.repository_selection = "selected".into();
    suspended.permissions.insert("issues".into(), "read".into());
    assert_eq!(store.upsert_installation(&suspended).await.unwrap(), Upsert::Written);
    assert_eq!(
        store.get_installation(InstallationId(1)).await.unwrap(),
        Some(suspended)
    );
}

async fn renaming_changes_the_login_and_an_unknown_installation_is_gone(store: &dyn Store) {
    let id = InstallationId(1);
    assert_eq!(
        store.rename_installation_account(id, "new-org").await.unwrap(),
        Upsert::Gone
    );
    assert_eq!(
        store.get_installation(id).await.unwrap(),
        None,
        "a rename creates nothing"
    );
    store.upsert_installation(&installation(1)).await.unwrap();

    assert_eq!(
        store.rename_installation_account(id, "new-org").await.unwrap(),
        Upsert::Written
    );

    let renamed = store.get_installation(id).await.unwrap().unwrap();
    assert_eq!(renamed.account_login, "new-org");
    assert_eq!(renamed.permissions, installation(1).permissions);
}

async fn a_deleted_installation_is_gone_with_its_links_and_tokens(store: &dyn Store) {
    let (a, b, c) = (account("team-a"), account("team-b"), account("team-c"));
    for (team, id) in [(&a, 1), (&b, 1), (&a, 2)] {
        store.link(team, &installation(id)).await.unwrap();
    }
    for (id, scope) in [(1, "s1"), (1, "s2"), (2, "s1")] {
        mint(store, id, scope, 5_000).await;
    }
    let id = InstallationId(1);

    store.delete_installation(id, 4_000).await.unwrap();

    assert_eq!(store.get_installation(id).await.unwrap(), None);
    assert_eq!(store.upsert_installation(&installation(1)).await.unwrap(), Upsert::Gone);
    assert_eq!(store.link(&c, &installation(1)).await.unwrap(), Upsert::Gone);
    assert_eq!(store.rename_installation_account(id, "x").await.unwrap(), Upsert::Gone);
    assert_eq!(store.get_installation(id).await.unwrap(), None, "still a tombstone");
    assert_eq!(ids(&store.linked_installations(&a).await.unwrap()), [2]);
    assert_eq!(ids(&store.linked_installations(&b).await.unwrap()), [0u64; 0]);
    assert_eq!(
        store
            .links_among(&[a.clone(), b.clone(), c.clone()], &[id])
            .await
            .unwrap(),
        []
    );
    assert!(!store.unlink(&a, id).await.unwrap(), "no link left to remove");
    for scope in ["s1", "s2"] {
        assert!(store.cached_token(id, scope).await.unwrap().is_none());
    }
    assert!(store.cached_token(InstallationId(2), "s1").await.unwrap().is_some());
    let snapshot = store.vend_snapshot(&a, id, "s1").await.unwrap();
    assert!(!snapshot.linked && snapshot.installation.is_none() && snapshot.cached.is_none());
}

async fn linking_is_idempotent_and_stores_the_installation(store: &dyn Store) {
    let a = account("team-a");

    assert_eq!(store.link(&a, &installation(1)).await.unwrap(), Upsert::Written);
    assert_eq!(store.link(&a, &installation(1)).await.unwrap(), Upsert::Written);

    assert_eq!(store.linked_installations(&a).await.unwrap(), [installation(1)]);
    assert_eq!(
        store.get_installation(InstallationId(1)).await.unwrap(),
        Some(installation(1))
    );
    assert_eq!(
        store
            .links_among(std::slice::from_ref(&a), &[InstallationId(1)])
            .await
            .unwrap(),
        [(a.clone(), InstallationId(1))]
    );
    let mut renamed = installation(1);
    renamed.account_login = "renamed".into();
    assert_eq!(store.link(&a, &renamed).await.unwrap(), Upsert::Written);
    assert_eq!(store.get_installation(InstallationId(1)).await.unwrap(), Some(renamed));
}

async fn unlink_says_whether_it_removed_a_link(store: &dyn Store) {
    let (a, id) = (account("team-a"), InstallationId(1));
    assert!(!store.unlink(&a, id).await.unwrap());
    store.link(&a, &installation(1)).await.unwrap();

    assert!(store.unlink(&a, id).await.unwrap());
    assert!(!store.unlink(&a, id).await.unwrap());

    assert_eq!(store.linked_installations(&a).await.unwrap(), []);
    assert!(!store.vend_snapshot(&a, id, "s").await.unwrap().linked);
    assert!(
        store.get_installation(id).await.unwrap().is_some(),
        "the installation stays"
    );
}

async fn linked_installations_lists_an_accounts_installations_by_id(store: &dyn Store) {
    let (a, b) = (account("team-a"), account("team-b"));
    for id in [30, 4, 100] {
        store.link(&a, &installation(id)).await.unwrap();
    }
    store.link(&b, &installation(4)).await.unwrap();
    store.upsert_installation(&installation(7)).await.unwrap();

    assert_eq!(ids(&store.linked_installations(&a).await.unwrap()), [4, 30, 100]);
    assert_eq!(ids(&store.linked_installations(&b).await.unwrap()), [4]);
    assert_eq!(
        ids(&store.linked_installations(&account("team-c")).await.unwrap()),
        [0u64; 0]
    );
}

async fn links_among_finds_which_of_the_accounts_link_which_installations(store: &dyn Store) {
    let (a, b, c, d) = (
        account("team-a"),
        account("team-b"),
        account("team-c"),
        account("team-d"),
    );
    for (team, id) in [(&a, 1), (&a, 2), (&b, 2), (&c, 3)] {
        store.link(team, &installation(id)).await.unwrap();
    }
    let (two, three) = (InstallationId(2), InstallationId(3));

    let mut found = store
        .links_among(&[a.clone(), b.clone(), d.clone()], &[two, three])
        .await
        .unwrap();
    found.sort();

    assert_eq!(found, [(a.clone(), two), (b.clone(), two)]);
    assert_eq!(store.links_among(&[a.clone(), b, c], &[]).await.unwrap(), []);
    assert_eq!(store.links_among(&[], &[two]).await.unwrap(), []);
}

// ---- the token cache --------------------------------------------------------

async fn vend_snapshot_sees_the_link_the_installation_and_the_token_in_one_call(store: &dyn Store) {
    let (a, id) = (account("team-a"), InstallationId(1));
    let empty = store.vend_snapshot(&a, id, "s").await.unwrap();
    assert!(!empty.linked && empty.installation.is_none() && empty.cached.is_none());
    store.link(&a, &installation(1)).await.unwrap();
    let token = mint(store, 1, "s", 5_000).await;

    let snapshot = store.vend_snapshot(&a, id, "s").await.unwrap();

    assert!(snapshot.linked);
    assert_eq!(snapshot.installation, Some(installation(1)));
    let cached = snapshot.cached.unwrap();
    assert_eq!(cached.lease_until, None);
    assert_same_installation_token(cached.token.as_ref().unwrap(), &token);
    let other_account = store.vend_snapshot(&account("team-b"), id, "s").await.unwrap();
    assert!(!other_account.linked && other_account.installation.is_some() && other_account.cached.is_some());
    assert!(store
        .vend_snapshot(&a, id, "other-scope")
        .await
        .unwrap()
        .cached
        .is_none());
}

async fn a_mint_lease_is_refused_while_another_runs_or_a_fresh_token_is_stored(store: &dyn Store) {
    let id = InstallationId(1);
    let first = lease("a", 1000, 1030);
    assert!(store.lease_mint(id, "s", &first, 1600).await.unwrap());
    let leased = store.cached_token(id, "s").await.unwrap().unwrap();
    assert!(leased.token.is_none());
    assert_eq!(leased.lease_until, Some(1030));

    let other = lease("b", 1010, 1040);
    assert!(!store.lease_mint(id, "s", &other, 1600).await.unwrap());
    assert!(
        !store.lease_mint(id, "s", &lease("b", 1030, 1060), 1600).await.unwrap(),
        "held at its last second"
    );
    assert!(!store
        .store_minted(id, "s", &other, &installation_token(5_000, None))
        .await
        .unwrap());
    let token = installation_token(5_000, repositories());
    assert!(store.store_minted(id, "s", &first, &token).await.unwrap());
    let stored = store.cached_token(id, "s").await.unwrap().unwrap();
    assert_eq!(stored.lease_until, None);
    assert_same_installation_token(stored.token.as_ref().unwrap(), &token);

    // The stored token expires at 5000: fresh enough for anyone needing it until then.
    let third = lease("c", 1040, 1070);
    assert!(!store.lease_mint(id, "s", &third, 4_000).await.unwrap());
    assert!(!store.lease_mint(id, "s", &third, 5_000).await.unwrap());
    assert!(store.lease_mint(id, "s", &third, 5_001).await.unwrap());
    let releasing = store.cached_token(id, "s").await.unwrap().unwrap();
    assert_eq!(releasing.lease_until, Some(1070));
    assert!(
        releasing.token.is_some(),
        "the old token stays readable while a new one is minted"
    );
    let next = installation_token(8_600, None);
    assert!(store.store_minted(id, "s", &third, &next).await.unwrap());
    assert_same_installation_token(
        store
            .cached_token(id, "s")
            .await
            .unwrap()
            .unwrap()
            .token
            .as_ref()
            .unwrap(),
        &next,
    );
}

async fn a_mint_lease_that_ran_out_can_be_taken_and_its_old_holder_stores_nothing(store: &dyn Store) {
    let id = InstallationId(1);
    let (first, second) = (lease("a", 1000, 1030), lease("b", 1031, 1061));
    assert!(store.lease_mint(id, "s", &first, 1600).await.unwrap());

    assert!(store.lease_mint(id, "s", &second, 1600).await.unwrap());

    assert!(!store
        .store_minted(id, "s", &first, &installation_token(5_000, None))
        .await
        .unwrap());
    let token = installation_token(5_001, None);
    assert!(store.store_minted(id, "s", &second, &token).await.unwrap());
    assert_same_installation_token(
        store
            .cached_token(id, "s")
            .await
            .unwrap()
            .unwrap()
            .token
            .as_ref()
            .unwrap(),
        &token,
    );
}

async fn only_the_owner_releases_a_mint_lease(store: &dyn Store) {
    let id = InstallationId(1);
    let held = lease("a", 1000, 1030);
    assert!(store.lease_mint(id, "s", &held, 1600).await.unwrap());

    store
        .release_mint_lease(id, "s", &lease("b", 1000, 1030))
        .await
        .unwrap();
    assert!(!store.lease_mint(id, "s", &lease("c", 1010, 1040), 1600).await.unwrap());

    store.release_mint_lease(id, "s", &held).await.unwrap();
    assert_eq!(store.cached_token(id, "s").await.unwrap().unwrap().lease_until, None);
    assert!(store.lease_mint(id, "s", &lease("c", 1010, 1040), 1600).await.unwrap());
}

async fn dropping_cached_tokens_removes_every_scope_of_that_installation_only(store: &dyn Store) {
    let a = account("team-a");
    store.link(&a, &installation(1)).await.unwrap();
    for (id, scope) in [(1, "s1"), (1, "s2"), (2, "s1")] {
        mint(store, id, scope, 5_000).await;
    }
    let in_flight = lease("d", 1000, 1030);
    assert!(store
        .lease_mint(InstallationId(1), "s3", &in_flight, 1600)
        .await
        .unwrap());

    store.drop_cached_tokens(InstallationId(1)).await.unwrap();

    for scope in ["s1", "s2", "s3"] {
        assert!(
            store.cached_token(InstallationId(1), scope).await.unwrap().is_none(),
            "{scope}"
        );
    }
    assert!(store.cached_token(InstallationId(2), "s1").await.unwrap().is_some());
    let late = installation_token(5_000, None);
    assert!(!store
        .store_minted(InstallationId(1), "s3", &in_flight, &late)
        .await
        .unwrap());
    assert_eq!(store.linked_installations(&a).await.unwrap(), [installation(1)]);
}

// ---- webhook deliveries -----------------------------------------------------

async fn a_delivery_is_claimed_once_and_is_a_duplicate_once_finished(store: &dyn Store) {
    assert_eq!(store.claim_delivery("d", 1000, 1060).await.unwrap(), Claim::Claimed);
    assert_eq!(store.claim_delivery("d", 1001, 1061).await.unwrap(), Claim::Duplicate);

    store.finish_delivery("d", 1002).await.unwrap();

    assert_eq!(store.claim_delivery("d", 2000, 2060).await.unwrap(), Claim::Duplicate);
    store.release_delivery("d").await.unwrap();
    assert_eq!(
        store.claim_delivery("d", 2001, 2061).await.unwrap(),
        Claim::Duplicate,
        "done stays done"
    );
}

async fn of_ten_concurrent_claims_of_a_delivery_exactly_one_wins(store: &dyn Store) {
    let claims = join_all((0..10).map(|_| store.claim_delivery("d", 1000, 1060))).await;

    let won = claims
        .into_iter()
        .filter(|c| *c.as_ref().unwrap() == Claim::Claimed)
        .count();
    assert_eq!(won, 1);
}

async fn a_released_delivery_can_be_claimed_again(store: &dyn Store) {
    assert_eq!(store.claim_delivery("d", 1000, 1060).await.unwrap(), Claim::Claimed);

    store.release_delivery("d").await.unwrap();

    assert_eq!(store.claim_delivery("d", 1001, 1061).await.unwrap(), Claim::Claimed);
    store.release_delivery("unknown").await.unwrap();
}

async fn a_delivery_whose_claim_ran_out_can_be_claimed_again(store: &dyn Store) {
    assert_eq!(store.claim_delivery("d", 1000, 1060).await.unwrap(), Claim::Claimed);

    assert_eq!(
        store.claim_delivery("d", 1060, 1120).await.unwrap(),
        Claim::Duplicate,
        "held at its last second"
    );
    assert_eq!(store.claim_delivery("d", 1061, 1121).await.unwrap(), Claim::Claimed);
    assert_eq!(store.claim_delivery("d", 1062, 1122).await.unwrap(), Claim::Duplicate);
}

// ---- at rest ----------------------------------------------------------------

async fn nothing_secret_is_kept_in_plaintext(subject: &Subject) {
    let store = &*subject.store;
    let state = oauth_state("s", "alice", 2_000);
    store.put_oauth_state(&state).await.unwrap();
    let first = user_tokens();
    store.put_connection(&connection("alice", 7, &first)).await.unwrap();
    let v = store.get_connection(&user("alice")).await.unwrap().unwrap().version;
    let refreshed = user_tokens();
    assert!(store.complete_refresh(&user("alice"), v, &refreshed).await.unwrap());
    store.link(&account("team-a"), &installation(1)).await.unwrap();
    let token = mint(store, 1, "s", 5_000).await;
    // Everything opens again: the values are there, sealed.
    let stored = store.get_connection(&user("alice")).await.unwrap().unwrap();
    assert_same_user_tokens(stored.tokens.as_ref().unwrap(), &refreshed);
    let cached = store.cached_token(InstallationId(1), "s").await.unwrap().unwrap();
    assert_same_installation_token(cached.token.as_ref().unwrap(), &token);

    let raw = subject.raw().await;

    let holds = |text: &str| raw.windows(text.len()).any(|w| w == text.as_bytes());
    assert!(holds("octocat-7"), "the search sees the stored items");
    let secrets = [
        state.pkce_verifier.expose_secret(),
        first.access_token.expose_secret(),
        first.refresh_token.as_ref().unwrap().expose_secret(),
        refreshed.access_token.expose_secret(),
        refreshed.refresh_token.as_ref().unwrap().expose_secret(),
        token.token.expose_secret(),
    ];
    for secret in secrets {
        assert!(!holds(secret), "{} is stored in plaintext", &secret[..4]);
    }
}

// ---- the embedded store only ------------------------------------------------

#[tokio::test]
async fn the_embedded_store_keeps_its_state_across_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broker.redb");
    let key = sealer();
    let a = account("team-a");
    let tokens = user_tokens();
    let state = oauth_state("s", "alice", 2_000);
    let (token, version) = {
        let store = EmbeddedStore::open(&path, key.clone()).unwrap();
        store.put_oauth_state(&state).await.unwrap();
        store.put_connection(&connection("alice", 7, &tokens)).await.unwrap();
        store.link(&a, &installation(1)).await.unwrap();
        store.upsert_installation(&installation(2)).await.unwrap();
        store.delete_installation(InstallationId(2), 1_500).await.unwrap();
        assert_eq!(store.claim_delivery("d", 1000, 1060).await.unwrap(), Claim::Claimed);
        store.finish_delivery("d", 1001).await.unwrap();
        let token = mint(&store, 1, "s", 5_000).await;
        let version = store.get_connection(&user("alice")).await.unwrap().unwrap().version;
        (token, version)
    };

    let store = EmbeddedStore::open(&path, key).unwrap();

    let taken = store.take_oauth_state("s").await.unwrap().unwrap();
    assert_eq!(taken.pkce_verifier.expose_secret(), state.pkce_verifier.expose_secret());
    let connection = store.get_connection(&user("alice")).await.unwrap().unwrap();
    assert_same_user_tokens(connection.tokens.as_ref().unwrap(), &tokens);
    assert_eq!(connection.version, version);
    assert_eq!(
        store.users_of_github_user(GitHubUserId(7)).await.unwrap(),
        [user("alice")]
    );
    assert_eq!(store.linked_installations(&a).await.unwrap(), [installation(1)]);
    let snapshot = store.vend_snapshot(&a, InstallationId(1), "s").await.unwrap();
    assert_same_installation_token(snapshot.cached.unwrap().token.as_ref().unwrap(), &token);
    assert_eq!(store.upsert_installation(&installation(2)).await.unwrap(), Upsert::Gone);
    assert_eq!(store.claim_delivery("d", 9_000, 9_060).await.unwrap(), Claim::Duplicate);
}

#[tokio::test]
async fn the_embedded_store_does_not_open_tokens_sealed_under_another_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broker.redb");
    {
        let store = EmbeddedStore::open(&path, sealer()).unwrap();
        store
            .put_connection(&connection("alice", 7, &user_tokens()))
            .await
            .unwrap();
    }

    let store = EmbeddedStore::open(&path, sealer()).unwrap();

    let read = store.get_connection(&user("alice")).await;
    assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");
}

#[tokio::test]
async fn the_embedded_store_file_is_opened_by_one_store_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broker.redb");
    let _open = EmbeddedStore::open(&path, sealer()).unwrap();

    assert!(EmbeddedStore::open(&path, sealer()).is_err());
}
