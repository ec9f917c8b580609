//! Conformance scenarios: connections.

use super::*;

/// Connects `sub` as GitHub user `github_user` with fresh tokens: the
/// tokens, and the version the connection is at now.
pub(super) async fn connect(store: &dyn Store, sub: &str, github_user: u64) -> (UserTokens, u64) {
    let tokens = user_tokens();
    store
        .put_connection(&connection(sub, github_user, &tokens))
        .await
        .unwrap();
    let stored = store.get_connection(&user(sub)).await.unwrap().unwrap();
    (tokens, stored.version)
}

pub(super) async fn a_connection_reads_back_as_it_was_stored(store: &dyn Store) {
    assert!(store.get_connection(&user("alice")).await.unwrap().is_none());

    let (tokens, _) = connect(store, "alice", 7).await;

    let stored = store.get_connection(&user("alice")).await.unwrap().unwrap();
    assert_eq!(stored.user, user("alice"));
    assert_eq!(stored.github_user_id, GitHubUserId(7));
    assert_eq!(stored.login, "octocat-7");
    assert_same_user_tokens(stored.tokens.as_ref().unwrap(), &tokens);
    assert_eq!(stored.lease_until, None);
}

pub(super) async fn put_connection_bumps_the_version_so_a_refresh_of_the_old_grant_is_refused(store: &dyn Store) {
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

pub(super) async fn the_refresh_lease_is_exclusive_until_it_runs_out(store: &dyn Store) {
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

pub(super) async fn only_the_owner_releases_a_refresh_lease(store: &dyn Store) {
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

pub(super) async fn completing_a_refresh_releases_the_lease(store: &dyn Store) {
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

pub(super) async fn require_reauthorization_drops_the_tokens_and_keeps_the_login(store: &dyn Store) {
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

pub(super) async fn users_of_a_github_user_are_every_platform_user_connected_to_it(store: &dyn Store) {
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
/// later reconnect: the version must not restart when a connection is removed.
pub(super) async fn a_refresh_in_flight_across_a_disconnect_and_reconnect_does_not_land(store: &dyn Store) {
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
