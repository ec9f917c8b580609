//! Stored tokens that do not open (the `token_encryption_key` changed in
//! place, or an item was tampered with) break nothing: a cached
//! installation token is a cache miss, minted again and overwritten; a
//! user's connection asks for reauthorization, and reconnecting mends it.

use github_sim::{Counter, RepoSelection};
use serde_json::json;

use crate::helpers::app::{Container, TestApp};
use crate::helpers::User;

/// alice in team-a, connected as octocat, octocat's installation linked and
/// one token vended (so cached); then a container started after the
/// encryption key was changed in place.
async fn after_a_key_change() -> (TestApp, u64, Container, String) {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    let installation = app.sim.install("octocat", RepoSelection::All, &[("contents", "read")]);
    let alice = User::new("alice", &["team-a"]);
    assert_eq!(app.connect(&alice, "octocat").await.status, 200);
    assert_eq!(app.link(&alice, "team-a", installation).await.status, 200);
    let first = app.vend("team-a", installation, json!({})).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let mut secret = app.secret_json.clone();
    secret["token_encryption_key"] = "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo=".into();
    aws_sdk_secretsmanager::Client::new(&app.sdk)
        .put_secret_value()
        .secret_id(&app.secret_id)
        .secret_string(secret.to_string())
        .send()
        .await
        .unwrap();
    let rekeyed = app.new_container().await;
    let token = first.body["token"].as_str().unwrap().to_owned();
    (app, installation, rekeyed, token)
}

#[tokio::test]
async fn a_cached_installation_token_that_does_not_open_is_minted_again_and_overwritten() {
    let (app, installation, rekeyed, old) = after_a_key_change().await;
    let mints = app.sim.count(Counter::Mints(installation));
    let path = format!("/internal/accounts/team-a/installations/{installation}/token");

    let fresh = rekeyed.internal("POST", &path, json!({})).await;
    let again = rekeyed.internal("POST", &path, json!({})).await;

    assert_eq!(fresh.status, 200, "{:?}", fresh.body);
    assert_ne!(fresh.body["token"], old.as_str(), "the old token was not readable");
    assert_eq!(app.sim.count(Counter::Mints(installation)), mints + 1, "minted once");
    assert_eq!(again.status, 200);
    assert_eq!(
        again.body["token"], fresh.body["token"],
        "the new token was cached over the old"
    );
}

#[tokio::test]
async fn a_connection_whose_tokens_do_not_open_asks_for_reauthorization_and_reconnecting_mends_it() {
    let (app, _, rekeyed, _) = after_a_key_change().await;
    let alice = User::new("alice", &["team-a"]);

    let status = rekeyed.frontend(&alice, "GET", "/github/user", None).await;
    let token = rekeyed.internal("POST", "/internal/users/alice/token", json!({})).await;

    assert_eq!(status.status, 200);
    assert_eq!(status.body["reauthorization_required"], true, "{:?}", status.body);
    assert_eq!(token.status, 409, "{:?}", token.body);
    assert_eq!(token.error_code(), "reauthorization_required");

    let start = rekeyed
        .frontend(&alice, "POST", "/github/oauth/start", Some(json!({})))
        .await;
    let (state, challenge) = crate::helpers::app::state_and_challenge(&start.body);
    let code = app.sim.authorize("octocat", Some(&challenge), None);
    let reconnected = rekeyed.callback(&alice, json!({"code": code, "state": state})).await;
    assert_eq!(reconnected.status, 200, "{:?}", reconnected.body);
    let token = rekeyed.internal("POST", "/internal/users/alice/token", json!({})).await;
    assert_eq!(token.status, 200, "{:?}", token.body);
}
