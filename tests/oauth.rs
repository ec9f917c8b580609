//! Connecting GitHub: POST /github/oauth/start and /github/oauth/callback.

use serde_json::json;

use crate::helpers::app::state_and_challenge;
use crate::helpers::{TestApp, User};

#[tokio::test]
async fn a_user_connects_github_and_the_broker_remembers_who_they_are() {
    let app = TestApp::spawn().await;
    let octocat = app.sim.add_user("octocat");
    let alice = User::new("alice", &["team-a"]);

    let callback = app.connect(&alice, "octocat").await;

    assert_eq!(callback.status, 200, "{:?}", callback.body);
    assert_eq!(callback.body["github_user"], json!({"id": octocat, "login": "octocat"}));
    let status = app.frontend(&alice, "GET", "/github/user", None).await;
    assert_eq!(
        status.body,
        json!({"connected": true, "login": "octocat", "id": octocat, "reauthorization_required": false})
    );
}

#[tokio::test]
async fn the_authorize_url_carries_the_client_id_state_and_an_s256_challenge() {
    let app = TestApp::spawn().await;
    let alice = User::new("alice", &[]);

    let start = app.frontend(&alice, "POST", "/github/oauth/start", None).await;

    assert_eq!(start.status, 200);
    let url = url::Url::parse(start.body["authorize_url"].as_str().unwrap()).unwrap();
    assert_eq!(url.path(), "/login/oauth/authorize");
    assert!(url.as_str().starts_with(&app.sim.url()));
    let (_, challenge) = state_and_challenge(&start.body);
    assert_eq!(challenge.len(), 43);
    assert!(url
        .query_pairs()
        .any(|(k, v)| k == "client_id" && v == crate::helpers::app::CLIENT_ID));
}

#[tokio::test]
async fn start_with_install_points_at_the_apps_install_page_with_the_same_state() {
    let app = TestApp::spawn().await;
    let alice = User::new("alice", &["team-a"]);

    let start = app
        .frontend(
            &alice,
            "POST",
            "/github/oauth/start",
            Some(json!({"account_id": "team-a", "install": true})),
        )
        .await;

    assert_eq!(start.status, 200, "{:?}", start.body);
    let url = url::Url::parse(start.body["authorize_url"].as_str().unwrap()).unwrap();
    assert_eq!(
        url.path(),
        format!("/apps/{}/installations/new", crate::helpers::app::APP_SLUG)
    );
    assert!(url
        .query_pairs()
        .any(|(k, v)| k == "state" && v == start.body["state"].as_str().unwrap()));
}

#[tokio::test]
async fn the_install_callback_links_the_installation_to_the_states_account() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    let installation = app.sim.install(
        "octo-org",
        github_sim::RepoSelection::All,
        &[("members", "read"), ("contents", "write")],
    );
    let alice = User::new("alice", &["team-a"]);
    let (state, code) = app.authorized(&alice, "octocat", json!({"account_id": "team-a"})).await;

    let callback = app.callback(&alice, json!({"code": code, "state": state, "installation_id": installation.to_string(), "setup_action": "install"})).await;

    assert_eq!(callback.status, 200, "{:?}", callback.body);
    assert_eq!(callback.body["linked_installation"]["id"], installation);
    assert_eq!(callback.body["linked_installation"]["account_id"], "team-a");
    let listed = app
        .frontend(&alice, "GET", "/accounts/team-a/installations", None)
        .await;
    assert_eq!(listed.body["installations"][0]["account"]["login"], "octo-org");
}

#[tokio::test]
async fn a_code_github_refuses_is_a_clear_400_even_though_github_answered_200() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    let alice = User::new("alice", &[]);
    let start = app.frontend(&alice, "POST", "/github/oauth/start", None).await;
    let (state, _) = state_and_challenge(&start.body);

    let callback = app
        .callback(&alice, json!({"code": "not-a-code", "state": state}))
        .await;

    assert_eq!(callback.status, 400);
    assert_eq!(callback.error_code(), "oauth_code_rejected");
    assert!(callback.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("bad_verification_code"));
    let status = app.frontend(&alice, "GET", "/github/user", None).await;
    assert_eq!(status.body["connected"], false);
}

#[tokio::test]
async fn a_code_authorized_with_another_pkce_challenge_is_refused() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    let alice = User::new("alice", &[]);
    let start = app.frontend(&alice, "POST", "/github/oauth/start", None).await;
    let (state, _) = state_and_challenge(&start.body);
    // An attacker's code, bound to the attacker's own verifier.
    let code = app
        .sim
        .authorize("octocat", Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), None);

    let callback = app.callback(&alice, json!({"code": code, "state": state})).await;

    assert_eq!(callback.status, 400);
    assert_eq!(callback.error_code(), "oauth_code_rejected");
}

#[tokio::test]
async fn an_expired_state_is_refused() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    let alice = User::new("alice", &[]);
    let (state, code) = app.authorized(&alice, "octocat", json!({})).await;
    app.clock.advance(601);

    let callback = app.callback(&alice, json!({"code": code, "state": state})).await;

    assert_eq!(callback.status, 400);
    assert_eq!(callback.error_code(), "invalid_state");
    assert_eq!(app.sim.count(github_sim::Counter::CodeExchanges), 0);
}

#[tokio::test]
async fn return_to_must_be_on_a_frontend_origin_and_comes_back_on_the_callback() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    let alice = User::new("alice", &[]);

    let evil = app
        .frontend(
            &alice,
            "POST",
            "/github/oauth/start",
            Some(json!({"return_to": "https://evil.example/x"})),
        )
        .await;
    assert_eq!(evil.status, 400);
    assert_eq!(evil.error_code(), "invalid_return_to");

    let back = format!("{}/settings/github", crate::helpers::app::FRONTEND);
    let (state, code) = app.authorized(&alice, "octocat", json!({"return_to": back})).await;
    let callback = app.callback(&alice, json!({"code": code, "state": state})).await;
    assert_eq!(callback.body["return_to"], back);
}

#[tokio::test]
async fn a_configured_redirect_uri_goes_on_the_authorize_url_and_into_the_code_exchange() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    let alice = User::new("alice", &[]);
    let callback_page = "https://platform.example/settings/github/callback";
    let container = app
        .container_with(|c| c.oauth_redirect_uri = Some(callback_page.into()))
        .await;

    let start = container.frontend(&alice, "POST", "/github/oauth/start", None).await;
    let url = url::Url::parse(start.body["authorize_url"].as_str().unwrap()).unwrap();
    assert!(url
        .query_pairs()
        .any(|(k, v)| k == "redirect_uri" && v == callback_page));
    let (state, challenge) = state_and_challenge(&start.body);
    let code = app.sim.authorize("octocat", Some(&challenge), Some(callback_page));
    let connected = container.callback(&alice, json!({"code": code, "state": state})).await;
    assert_eq!(connected.status, 200, "{:?}", connected.body);

    // GitHub refuses a code bound to another redirect_uri: proof that the
    // broker sends its configured one in the exchange.
    let start = container.frontend(&alice, "POST", "/github/oauth/start", None).await;
    let (state, challenge) = state_and_challenge(&start.body);
    let code = app
        .sim
        .authorize("octocat", Some(&challenge), Some("https://elsewhere.example/cb"));
    let refused = container.callback(&alice, json!({"code": code, "state": state})).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.error_code(), "oauth_code_rejected");
    assert!(refused.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("redirect_uri_mismatch"));
}
