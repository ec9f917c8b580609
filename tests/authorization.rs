//! Every authorization rule of SPEC sections 3 and 4, each with a test that
//! tries to break it and checks that nothing changed.

use github_sim::{Counter, RepoSelection};
use serde_json::json;

use crate::helpers::app::state_and_challenge;
use crate::helpers::events::Auth;
use crate::helpers::{TestApp, User};

/// alice (team-a) is octocat on GitHub, a member of octo-org, where the app
/// is installed and linked to team-a.
async fn linked_world() -> (TestApp, User, u64) {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    let installation = app.sim.install(
        "octo-org",
        RepoSelection::All,
        &[("members", "read"), ("contents", "write"), ("metadata", "read")],
    );
    let alice = User::new("alice", &["team-a"]);
    assert_eq!(app.connect(&alice, "octocat").await.status, 200);
    assert_eq!(app.link(&alice, "team-a", installation).await.status, 200);
    (app, alice, installation)
}

#[tokio::test]
async fn an_account_cannot_get_a_token_for_another_accounts_installation() {
    let (app, _, installation) = linked_world().await;

    let vend = app.vend("team-b", installation, json!({})).await;

    assert_eq!(vend.status, 403);
    assert_eq!(vend.error_code(), "installation_not_linked");
    assert_eq!(app.sim.count(Counter::MintRequests), 0);
}

#[tokio::test]
async fn an_owner_token_is_only_for_installations_linked_to_that_account() {
    let (app, _, _) = linked_world().await;

    let vend = app
        .internal("POST", "/internal/accounts/team-b/token", json!({"owner": "octo-org"}))
        .await;

    assert_eq!(vend.status, 403);
    assert_eq!(app.sim.count(Counter::MintRequests), 0);
}

#[tokio::test]
async fn linking_an_installation_the_users_github_account_cannot_reach_is_refused() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    app.sim.add_user("mallory-gh");
    app.sim.add_org("octo-org", &["octocat"]);
    let installation = app.sim.install(
        "octo-org",
        RepoSelection::All,
        &[("members", "read"), ("contents", "read")],
    );
    let mallory = User::new("mallory", &["team-m"]);
    app.connect(&mallory, "mallory-gh").await;

    let link = app.link(&mallory, "team-m", installation).await;

    assert_eq!(link.status, 403);
    assert_eq!(link.error_code(), "installation_not_accessible");
    let listed = app
        .frontend(&mallory, "GET", "/accounts/team-m/installations", None)
        .await;
    assert_eq!(listed.body["installations"], json!([]));
}

#[tokio::test]
async fn linking_to_an_account_the_caller_is_not_in_is_refused_before_asking_github() {
    let (app, alice, installation) = linked_world().await;
    let pages = app.sim.count(Counter::UserInstallationsPages);

    let link = app.link(&alice, "team-b", installation).await;

    assert_eq!(link.status, 403);
    assert_eq!(link.error_code(), "not_account_member");
    assert_eq!(app.sim.count(Counter::UserInstallationsPages), pages);
    let _ = alice;
}

#[tokio::test]
async fn listing_or_unlinking_another_accounts_installations_is_refused() {
    let (app, _, installation) = linked_world().await;
    let bob = User::new("bob", &["team-b"]);

    let list = app.frontend(&bob, "GET", "/accounts/team-a/installations", None).await;
    let unlink = app
        .frontend(
            &bob,
            "DELETE",
            &format!("/accounts/team-a/installations/{installation}"),
            None,
        )
        .await;

    assert_eq!(list.status, 403);
    assert_eq!(unlink.status, 403);
    assert_eq!(
        app.vend("team-a", installation, json!({})).await.status,
        200,
        "the link is still there"
    );
}

#[tokio::test]
async fn a_forged_installation_id_on_the_callback_links_nothing() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    app.sim.add_user("victim");
    app.sim.add_org("victim-org", &["victim"]);
    let foreign = app.sim.install(
        "victim-org",
        RepoSelection::All,
        &[("members", "read"), ("contents", "write")],
    );
    let alice = User::new("alice", &["team-a"]);
    let (state, code) = app.authorized(&alice, "octocat", json!({"account_id": "team-a"})).await;

    let callback = app
        .callback(
            &alice,
            json!({"code": code, "state": state, "installation_id": foreign}),
        )
        .await;

    assert_eq!(callback.status, 403);
    assert_eq!(callback.error_code(), "installation_not_accessible");
    assert_eq!(app.vend("team-a", foreign, json!({})).await.status, 403);
}

#[tokio::test]
async fn a_state_cannot_be_replayed() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    let alice = User::new("alice", &[]);
    let start = app.frontend(&alice, "POST", "/github/oauth/start", None).await;
    let (state, challenge) = state_and_challenge(&start.body);
    let first_code = app.sim.authorize("octocat", Some(&challenge), None);
    let second_code = app.sim.authorize("octocat", Some(&challenge), None);
    let first = app.callback(&alice, json!({"code": first_code, "state": state})).await;
    assert_eq!(first.status, 200);

    let replay = app.callback(&alice, json!({"code": second_code, "state": state})).await;

    assert_eq!(replay.status, 400);
    assert_eq!(replay.error_code(), "invalid_state");
    assert_eq!(app.sim.count(Counter::CodeExchanges), 1);
}

#[tokio::test]
async fn a_state_started_by_another_caller_is_refused() {
    let app = TestApp::spawn().await;
    app.sim.add_user("attacker-gh");
    let victim = User::new("victim", &["team-v"]);
    let attacker = User::new("attacker", &["team-v"]);
    // The attacker starts a flow and tricks the victim's browser into
    // finishing it: the victim's session must not take the attacker's state.
    let (state, code) = app
        .authorized(&attacker, "attacker-gh", json!({"account_id": "team-v"}))
        .await;

    let callback = app.callback(&victim, json!({"code": code, "state": state})).await;

    assert_eq!(callback.status, 403);
    assert_eq!(callback.error_code(), "state_mismatch");
    assert_eq!(
        app.frontend(&victim, "GET", "/github/user", None).await.body["connected"],
        false
    );
    assert_eq!(app.sim.count(Counter::CodeExchanges), 0);
}

#[tokio::test]
async fn starting_a_flow_for_an_account_the_caller_is_not_in_is_refused() {
    let app = TestApp::spawn().await;
    let alice = User::new("alice", &["team-a"]);

    let start = app
        .frontend(
            &alice,
            "POST",
            "/github/oauth/start",
            Some(json!({"account_id": "team-b"})),
        )
        .await;

    assert_eq!(start.status, 403);
    assert_eq!(start.error_code(), "not_account_member");
}

#[tokio::test]
async fn no_token_for_an_unlinked_installation() {
    let (app, alice, installation) = linked_world().await;
    let unlink = app
        .frontend(
            &alice,
            "DELETE",
            &format!("/accounts/team-a/installations/{installation}"),
            None,
        )
        .await;
    assert_eq!(unlink.status, 200);

    let vend = app.vend("team-a", installation, json!({})).await;

    assert_eq!(vend.status, 403);
    assert_eq!(vend.error_code(), "installation_not_linked");
}

#[tokio::test]
async fn no_token_for_a_suspended_installation() {
    let (app, _, installation) = linked_world().await;
    app.sim.suspend(installation);
    let mut payload = crate::helpers::fixtures::webhook("installation.suspend");
    payload = crate::helpers::fixtures::about(payload, installation, "octo-org", 1);
    assert_eq!(
        app.webhook("installation", &crate::helpers::fixtures::delivery(), &payload)
            .await
            .status,
        200
    );

    let vend = app.vend("team-a", installation, json!({})).await;

    assert_eq!(vend.status, 403);
    assert_eq!(vend.error_code(), "installation_suspended");
    assert_eq!(app.sim.count(Counter::MintRequests), 0);
}

#[tokio::test]
async fn no_token_for_a_deleted_installation() {
    let (app, _, installation) = linked_world().await;
    let payload = crate::helpers::fixtures::about(
        crate::helpers::fixtures::webhook("installation.deleted"),
        installation,
        "octo-org",
        1,
    );
    assert_eq!(
        app.webhook("installation", &crate::helpers::fixtures::delivery(), &payload)
            .await
            .status,
        200
    );

    let vend = app.vend("team-a", installation, json!({})).await;

    assert_eq!(vend.status, 403);
    assert_eq!(app.sim.count(Counter::MintRequests), 0);
}

#[tokio::test]
async fn internal_routes_refuse_callers_without_iam_whatever_else_they_carry() {
    let (app, alice, installation) = linked_world().await;
    let routes = [
        format!("/internal/accounts/team-a/installations/{installation}/token"),
        "/internal/accounts/team-a/token".to_owned(),
        "/internal/users/alice/token".to_owned(),
    ];
    for path in &routes {
        for auth in [Auth::None, Auth::Jwt(alice.claims())] {
            let response = app
                .request("POST", path, Some(json!({"owner": "octo-org"})), auth.clone())
                .await;
            assert_eq!(response.status, 403, "{path} with {auth:?}");
            assert_eq!(response.error_code(), "iam_required");
        }
    }
    assert_eq!(app.sim.count(Counter::MintRequests), 0);
}

#[tokio::test]
async fn frontend_routes_refuse_callers_without_a_jwt() {
    let (app, _, installation) = linked_world().await;
    let routes = [
        ("GET", "/github/user".to_owned()),
        ("DELETE", "/github/user".to_owned()),
        ("GET", "/github/installations".to_owned()),
        ("GET", "/accounts/team-a/installations".to_owned()),
        ("PUT", format!("/accounts/team-a/installations/{installation}")),
        ("DELETE", format!("/accounts/team-a/installations/{installation}")),
        ("POST", "/github/oauth/start".to_owned()),
        ("POST", "/github/oauth/callback".to_owned()),
    ];
    for (method, path) in &routes {
        for auth in [Auth::None, Auth::Iam] {
            let response = app
                .request(method, path, Some(json!({"state": "x"})), auth.clone())
                .await;
            assert_eq!(response.status, 401, "{method} {path} with {auth:?}");
            assert_eq!(response.error_code(), "unauthenticated");
        }
    }
    assert_eq!(
        app.vend("team-a", installation, json!({})).await.status,
        200,
        "nothing was unlinked"
    );
}

#[tokio::test]
async fn a_jwt_without_a_subject_is_unauthenticated() {
    let app = TestApp::spawn().await;
    let claims = std::collections::HashMap::from([("accounts".to_owned(), "[team-a]".to_owned())]);

    let response = app.request("GET", "/github/user", None, Auth::Jwt(claims)).await;

    assert_eq!(response.status, 401);
}

/// The unambiguous form a platform can choose: the accounts claim as a JSON
/// string, which API Gateway passes on as it is.
#[tokio::test]
async fn an_accounts_claim_given_as_a_json_string_is_read_exactly() {
    let (app, _, installation) = linked_world().await;
    let claims = |accounts: &str| {
        std::collections::HashMap::from([
            ("sub".to_owned(), "alice".to_owned()),
            ("accounts".to_owned(), accounts.to_owned()),
        ])
    };
    let listing = |accounts: &'static str| {
        app.request(
            "GET",
            "/accounts/team-a/installations",
            None,
            Auth::Jwt(claims(accounts)),
        )
    };

    let json = listing(r#"["team-b","team-a"]"#).await;
    let spaced = listing(r#"["team-a b"]"#).await;

    assert_eq!(json.status, 200, "{:?}", json.body);
    assert_eq!(json.body["installations"][0]["id"], installation);
    assert_eq!((spaced.status, spaced.error_code()), (403, "not_account_member"));
}
