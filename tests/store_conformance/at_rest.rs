//! Conformance scenarios: at rest.

use super::*;

pub(super) async fn nothing_secret_is_kept_in_plaintext(subject: &Subject) {
    let store = &*subject.store;
    let state = oauth_state("s", "alice", 2_000);
    store.put_oauth_state(&state).await.unwrap();
    let first = user_tokens();
    store.put_connection(&connection("alice", 7, &first)).await.unwrap();
    let v = store.get_connection(&user("alice")).await.unwrap().unwrap().version;
    let refreshed = user_tokens();
    assert!(store.complete_refresh(&user("alice"), v, &refreshed).await.unwrap());
    store
        .link(&account("team-a"), &installation(1), &LinkPolicy::default(), &audit())
        .await
        .unwrap();
    let token = mint(store, 1, "s", 5_000).await;
    // Everything opens again: the values are there, sealed.
    let stored = store.get_connection(&user("alice")).await.unwrap().unwrap();
    assert_same_user_tokens(stored.tokens.as_ref().unwrap(), &refreshed);
    let cached = store
        .cached_token(InstallationId(1), "s", &fence(store, InstallationId(1), 0).await)
        .await
        .unwrap()
        .unwrap();
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
