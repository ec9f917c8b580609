//! The user's own token for the platform's backends, refreshed before it
//! expires, and the disconnect route.

use github_sim::Counter;
use serde_json::json;

use crate::helpers::{TestApp, User};

/// Eight hours, GitHub's user token lifetime, less four minutes: inside the
/// five-minute refresh margin.
const INTO_REFRESH_MARGIN: i64 = 8 * 3600 - 240;

/// alice (no teams) has connected GitHub as octocat.
async fn alice_connected_as_octocat() -> (TestApp, User) {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    let alice = User::new("alice", &[]);
    app.connect(&alice, "octocat").await;
    (app, alice)
}

#[tokio::test]
async fn the_users_token_is_served_as_is_while_it_has_life_left() {
    let (app, _) = alice_connected_as_octocat().await;

    let token = app.internal("POST", "/internal/users/alice/token", json!({})).await;

    assert_eq!(token.status, 200, "{:?}", token.body);
    let value = token.body["token"].as_str().unwrap();
    assert!(value.starts_with("ghu_"));
    assert_eq!(app.sim.live_user_tokens("octocat"), vec![value.to_owned()]);
    assert_eq!(token.body["github_user"]["login"], "octocat");
    assert_eq!(app.sim.count(Counter::Refreshes), 0);
}

#[tokio::test]
async fn a_token_about_to_expire_is_refreshed_first_and_the_new_pair_kept() {
    let (app, _) = alice_connected_as_octocat().await;
    let before = app.internal("POST", "/internal/users/alice/token", json!({})).await;
    app.clock.advance(INTO_REFRESH_MARGIN);

    let refreshed = app.internal("POST", "/internal/users/alice/token", json!({})).await;
    let again = app.internal("POST", "/internal/users/alice/token", json!({})).await;

    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    assert_ne!(refreshed.body["token"], before.body["token"]);
    assert_eq!(again.body["token"], refreshed.body["token"]);
    assert_eq!(app.sim.count(Counter::Refreshes), 1);
}

#[tokio::test]
async fn a_refresh_github_refuses_means_reauthorization_required() {
    let (app, alice) = alice_connected_as_octocat().await;
    app.sim.revoke_authorization("octocat");
    app.clock.advance(INTO_REFRESH_MARGIN);

    let token = app.internal("POST", "/internal/users/alice/token", json!({})).await;
    let again = app.internal("POST", "/internal/users/alice/token", json!({})).await;

    assert_eq!(token.status, 409);
    assert_eq!(token.error_code(), "reauthorization_required");
    assert_eq!(again.status, 409);
    assert_eq!(
        app.sim.count(Counter::Refreshes),
        1,
        "a refused refresh token is not tried again"
    );
    let status = app.frontend(&alice, "GET", "/github/user", None).await;
    assert_eq!(status.body["reauthorization_required"], true);
    assert_eq!(status.body["login"], "octocat");
}

#[tokio::test]
async fn connecting_again_after_a_refusal_restores_the_connection() {
    let (app, alice) = alice_connected_as_octocat().await;
    app.sim.revoke_authorization("octocat");
    app.clock.advance(INTO_REFRESH_MARGIN);
    app.internal("POST", "/internal/users/alice/token", json!({})).await;

    app.connect(&alice, "octocat").await;

    let token = app.internal("POST", "/internal/users/alice/token", json!({})).await;
    assert_eq!(token.status, 200);
    assert_eq!(
        app.frontend(&alice, "GET", "/github/user", None).await.body["reauthorization_required"],
        false
    );
}

#[tokio::test]
async fn an_unknown_user_has_no_token() {
    let app = TestApp::spawn().await;

    let token = app.internal("POST", "/internal/users/nobody/token", json!({})).await;

    assert_eq!(token.status, 404);
    assert_eq!(token.error_code(), "github_not_connected");
}

#[tokio::test]
async fn disconnecting_revokes_the_grant_on_github_and_forgets_the_tokens() {
    let (app, alice) = alice_connected_as_octocat().await;
    assert_eq!(app.sim.live_user_tokens("octocat").len(), 1);

    let disconnect = app.frontend(&alice, "DELETE", "/github/user", None).await;

    assert_eq!(disconnect.status, 200, "{:?}", disconnect.body);
    assert!(app.sim.live_user_tokens("octocat").is_empty());
    assert_eq!(
        app.frontend(&alice, "GET", "/github/user", None).await.body,
        json!({"connected": false})
    );
    let connection = app
        .scan()
        .await
        .into_iter()
        .find(|i| i["pk"].as_s().unwrap() == "USER#alice")
        .unwrap();
    assert!(
        !connection.contains_key("access_token") && !connection.contains_key("refresh_token"),
        "tokens are gone"
    );
    assert!(!connection.contains_key("gsi1pk"), "and out of the GitHub-user index");
}
