//! Conformance scenarios: the embedded store only.

use super::*;
use broker::store::embedded::EmbeddedStore;

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
        store
            .link(&a, &installation(1), &LinkPolicy::default(), &audit())
            .await
            .unwrap();
        deliver(&store, upsert(installation(2))).await;
        deliver(&store, WritePlan::Delete { id: InstallationId(2) }).await;
        let renamed = upsert(renamed("org-1"));
        assert_eq!(
            store.apply_delivery("d", 1_001, &renamed, None).await.unwrap(),
            Applied::Done
        );
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
    assert_eq!(
        installations_of(store.linked_installations(&a).await.unwrap()),
        [installation(1)]
    );
    let snapshot = store.vend_snapshot(&a, InstallationId(1), "s").await.unwrap();
    assert_same_installation_token(snapshot.cached.unwrap().token.as_ref().unwrap(), &token);
    assert_eq!(deliver(&store, upsert(installation(2))).await, Applied::Gone);
    assert_eq!(
        store
            .apply_delivery("d", 9_000, &upsert(installation(1)), None)
            .await
            .unwrap(),
        Applied::Duplicate
    );
}

/// What a changed `token_encryption_key` does: nothing opens, and nothing
/// breaks either; the connection needs a reauthorization and the cached
/// token is a miss that a mint may replace whatever its expiry.
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
        store
            .link(&account("team-a"), &installation(1), &LinkPolicy::default(), &audit())
            .await
            .unwrap();
        mint(&store, 1, "s", 5_000).await;
    }

    let store = EmbeddedStore::open(&path, sealer()).unwrap();

    let read = store.get_connection(&user("alice")).await.unwrap().unwrap();
    assert!(read.tokens.is_none(), "reauthorization required");
    let cached = store
        .cached_token(InstallationId(1), "s", &fence(&store, InstallationId(1), 0).await)
        .await
        .unwrap()
        .unwrap();
    assert!(cached.token.is_none() && cached.unreadable);
    let fresh = |owner: &str| lease(owner, 1_000, 1_030);
    assert!(!store
        .lease_mint(
            InstallationId(1),
            "s",
            &fresh("b"),
            1_600,
            &fence(&store, InstallationId(1), 0).await
        )
        .await
        .unwrap());
    assert!(store
        .lease_mint(
            InstallationId(1),
            "s",
            &fresh("b"),
            broker::clock::UnixTime::MAX,
            &fence(&store, InstallationId(1), 0).await
        )
        .await
        .unwrap());
}

#[tokio::test]
async fn the_embedded_store_file_is_opened_by_one_store_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broker.redb");
    let _open = EmbeddedStore::open(&path, sealer()).unwrap();

    assert!(EmbeddedStore::open(&path, sealer()).is_err());
}
