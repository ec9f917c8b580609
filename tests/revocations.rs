//! `github_app_authorization.revoked`: the GitHub user took back the app's
//! authorization, so every platform user connected as them is disconnected,
//! however many they are (the broker writes at most 25 items per
//! transaction).

use serde_json::json;

use crate::helpers::fixtures::{delivery, webhook};
use crate::helpers::{TestApp, User};

#[tokio::test]
async fn github_app_authorization_revoked_deletes_every_stored_token_of_that_github_user() {
    let app = TestApp::spawn().await;
    let octocat = app.sim.add_user("octocat");
    app.sim.add_user("hubot");
    let alice = User::new("alice", &[]);
    let alice_laptop = User::new("alice-2", &[]);
    let carol = User::new("carol", &[]);
    app.connect(&alice, "octocat").await;
    app.connect(&alice_laptop, "octocat").await;
    app.connect(&carol, "hubot").await;
    let mut payload = webhook("github_app_authorization.revoked");
    payload["sender"]["id"] = octocat.into();

    let response = app.webhook("github_app_authorization", &delivery(), &payload).await;

    assert_eq!(response.status, 200);
    for user in ["alice", "alice-2"] {
        assert_eq!(
            app.internal("POST", &format!("/internal/users/{user}/token"), json!({}))
                .await
                .status,
            404
        );
    }
    assert_eq!(
        app.internal("POST", "/internal/users/carol/token", json!({}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_revocation_of_more_connections_than_one_transaction_holds_disconnects_them_all_once() {
    const USERS: usize = 60;
    let (app, proxy) = TestApp::spawn_behind_proxy().await;
    let octocat = app.sim.add_user("octocat");
    let users: Vec<User> = (0..USERS).map(|i| User::new(&format!("bot-{i}"), &[])).collect();
    for user in &users {
        assert_eq!(app.connect(user, "octocat").await.status, 200);
    }
    let mut payload = webhook("github_app_authorization.revoked");
    payload["sender"]["id"] = octocat.into();
    let id = delivery();
    proxy.reset_counts();

    let response = app.webhook("github_app_authorization", &id, &payload).await;
    let transactions = proxy.count("TransactWriteItems");
    let again = app.webhook("github_app_authorization", &id, &payload).await;

    assert_eq!(response.status, 200, "{:?}", response.body);
    // 25 and 11 disconnects, then 24 with the delivery's record; more only
    // if the SDK retried an attempt that moto, slow on a loaded machine,
    // answered after its 2 s attempt timeout (the retry meets its own
    // record).
    assert!(transactions >= 3, "at most 25 items per transaction: {transactions}");
    assert_eq!(again.body["result"], "duplicate delivery: already processed");
    for user in &users {
        let vend = app
            .internal("POST", &format!("/internal/users/{}/token", user.sub), json!({}))
            .await;
        assert_eq!(vend.status, 404, "{} still has a token: {:?}", user.sub, vend.body);
    }

    // Thirty connect again, then GitHub redelivers the revocation: more than
    // one transaction's worth, and none of them is disconnected again.
    for user in &users[..30] {
        assert_eq!(app.connect(user, "octocat").await.status, 200);
    }
    let replayed = app.webhook("github_app_authorization", &id, &payload).await;
    assert_eq!(replayed.body["result"], "duplicate delivery: already processed");
    for user in &users[..30] {
        let vend = app
            .internal("POST", &format!("/internal/users/{}/token", user.sub), json!({}))
            .await;
        assert_eq!(vend.status, 200, "{} was disconnected again: {:?}", user.sub, vend.body);
    }
}
