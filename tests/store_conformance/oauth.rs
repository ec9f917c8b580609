//! Conformance scenarios: OAuth states.

use super::*;

pub(super) async fn an_oauth_state_is_taken_once(store: &dyn Store) {
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

pub(super) async fn of_sixteen_concurrent_takes_of_an_oauth_state_exactly_one_gets_it(store: &dyn Store) {
    store.put_oauth_state(&oauth_state("s", "alice", 2_000)).await.unwrap();

    let takes = join_all((0..16).map(|_| store.take_oauth_state("s"))).await;

    let won = takes.into_iter().map(Result::unwrap).filter(Option::is_some).count();
    assert_eq!(won, 1);
}

pub(super) async fn an_oauth_state_id_cannot_be_put_twice(store: &dyn Store) {
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
pub(super) async fn an_expired_oauth_state_is_still_handed_back_for_the_caller_to_refuse(store: &dyn Store) {
    store.put_oauth_state(&oauth_state("s", "alice", 1)).await.unwrap();

    let taken = store.take_oauth_state("s").await.unwrap().expect("still there");

    assert!(taken.accept(&user("alice"), 2).is_err());
}
