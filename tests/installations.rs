//! Installations the caller reaches, installations of an account, and the
//! many-to-many links between them.

use github_sim::{Counter, RepoSelection};
use serde_json::json;

use crate::helpers::{TestApp, User};

#[tokio::test]
async fn every_page_of_the_users_installations_is_listed() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    let own = app.sim.install("octocat", RepoSelection::All, &[("contents", "read")]);
    for n in 0..120 {
        let org = format!("org-{n:03}");
        app.sim.add_org(&org, &["octocat"]);
        app.sim
            .install(&org, RepoSelection::All, &[("members", "read"), ("metadata", "read")]);
    }
    let alice = User::new("alice", &["team-a"]);
    app.connect(&alice, "octocat").await;

    let list = app.frontend(&alice, "GET", "/github/installations", None).await;

    assert_eq!(list.status, 200, "{:?}", list.body);
    let installations = list.body["installations"].as_array().unwrap();
    assert_eq!(installations.len(), 121);
    assert!(installations
        .iter()
        .any(|i| i["id"] == own && i["account"]["type"] == "User"));
    assert_eq!(app.sim.count(Counter::UserInstallationsPages), 2, "100 per page");
}

#[tokio::test]
async fn one_installation_links_to_two_teams_and_one_team_to_two_installations() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    let personal = app.sim.install("octocat", RepoSelection::All, &[("contents", "write")]);
    let org = app.sim.install(
        "octo-org",
        RepoSelection::All,
        &[("members", "read"), ("contents", "write")],
    );
    let alice = User::new("alice", &["team-a", "team-b", "team-c"]);
    app.connect(&alice, "octocat").await;

    for (team, installation) in [("team-a", org), ("team-b", org), ("team-a", personal)] {
        let link = app.link(&alice, team, installation).await;
        assert_eq!(link.status, 200, "{:?}", link.body);
        assert_eq!(link.body["linked"], true);
    }

    let team_a = app
        .frontend(&alice, "GET", "/accounts/team-a/installations", None)
        .await;
    let ids: Vec<_> = team_a.body["installations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(personal), json!(org)]);
    let team_b = app
        .frontend(&alice, "GET", "/accounts/team-b/installations", None)
        .await;
    assert_eq!(team_b.body["installations"][0]["id"], org);
    assert_eq!(team_b.body["installations"][0]["status"], "active");
    let reachable = app.frontend(&alice, "GET", "/github/installations", None).await;
    let org_entry = reachable.body["installations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == org)
        .unwrap()
        .clone();
    assert_eq!(org_entry["linked_accounts"], json!(["team-a", "team-b"]));
    let personal_entry = reachable.body["installations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == personal)
        .unwrap()
        .clone();
    assert_eq!(personal_entry["linked_accounts"], json!(["team-a"]));
}

#[tokio::test]
async fn linked_accounts_only_ever_show_the_callers_own_accounts() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    let org = app.sim.install(
        "octo-org",
        RepoSelection::All,
        &[("members", "read"), ("contents", "read")],
    );
    let alice = User::new("alice", &["team-a", "secret-team"]);
    let bob = User::new("bob", &["team-a"]);
    app.connect(&alice, "octocat").await;
    app.connect(&bob, "octocat").await;
    app.link(&alice, "secret-team", org).await;
    app.link(&alice, "team-a", org).await;

    let reachable = app.frontend(&bob, "GET", "/github/installations", None).await;

    assert_eq!(reachable.body["installations"][0]["linked_accounts"], json!(["team-a"]));
}

#[tokio::test]
async fn linking_twice_is_idempotent_and_unlinking_removes_only_that_link() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    let personal = app.sim.install("octocat", RepoSelection::All, &[("contents", "read")]);
    let alice = User::new("alice", &["team-a", "team-b"]);
    app.connect(&alice, "octocat").await;
    app.link(&alice, "team-a", personal).await;
    app.link(&alice, "team-b", personal).await;

    assert_eq!(app.link(&alice, "team-a", personal).await.status, 200);
    let unlink = app
        .frontend(
            &alice,
            "DELETE",
            &format!("/accounts/team-a/installations/{personal}"),
            None,
        )
        .await;
    let unlink_again = app
        .frontend(
            &alice,
            "DELETE",
            &format!("/accounts/team-a/installations/{personal}"),
            None,
        )
        .await;

    assert_eq!(unlink.status, 200);
    assert_eq!(unlink.body["linked"], false);
    assert_eq!(unlink_again.status, 200);
    let team_a = app
        .frontend(&alice, "GET", "/accounts/team-a/installations", None)
        .await;
    assert_eq!(team_a.body["installations"], json!([]));
    let team_b = app
        .frontend(&alice, "GET", "/accounts/team-b/installations", None)
        .await;
    assert_eq!(team_b.body["installations"][0]["id"], personal);
}

#[tokio::test]
async fn listing_installations_without_a_github_connection_says_so() {
    let app = TestApp::spawn().await;
    let alice = User::new("alice", &["team-a"]);

    let list = app.frontend(&alice, "GET", "/github/installations", None).await;

    assert_eq!(list.status, 404);
    assert_eq!(list.error_code(), "github_not_connected");
}

#[tokio::test]
async fn bad_ids_in_the_path_are_a_clear_400_and_change_nothing() {
    let app = TestApp::spawn().await;
    let alice = User::new("alice", &["team-a"]);
    for path in [
        "/accounts/team-a/installations/abc",
        "/accounts/team-a/installations/-1",
        "/accounts/team-a/installations/0",
        "/accounts/team%2Fa/installations/1",
        "/accounts/team-a/installations/99999999999999999999999",
    ] {
        let response = app.frontend(&alice, "PUT", path, None).await;
        assert_eq!(response.status, 400, "{path}: {:?}", response.body);
    }
    assert!(app.scan().await.is_empty());
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let app = TestApp::spawn().await;
    let alice = User::new("alice", &["team-a"]);

    let missing = app.frontend(&alice, "GET", "/nope", None).await;
    let wrong_method = app.frontend(&alice, "PATCH", "/github/user", None).await;

    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code(), "route_not_found");
    assert_eq!(wrong_method.status, 405);
}

#[tokio::test]
async fn frontend_responses_carry_cors_headers_for_configured_origins_only() {
    let app = TestApp::spawn().await;
    let alice = User::new("alice", &["team-a"]);

    let response = app.frontend(&alice, "GET", "/github/user", None).await;

    assert_eq!(
        response.headers["access-control-allow-origin"],
        crate::helpers::app::FRONTEND
    );
    let event = crate::helpers::events::event(
        "GET",
        "/github/user",
        &[("origin", "https://evil.example")],
        None,
        &crate::helpers::events::Auth::Jwt(alice.claims()),
    );
    let evil = app.send(broker::api::Function::TokenVending, event).await;
    assert!(!evil.headers.contains_key("access-control-allow-origin"));
}
