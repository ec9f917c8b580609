//! The hard cases: many requests at once, across several containers that
//! share nothing but the table, must agree.

use futures::future::join_all;
use github_sim::{Counter, RepoSelection};
use serde_json::json;

use crate::helpers::app::Container;
use crate::helpers::fixtures::{about, delivery, webhook};
use crate::helpers::{TestApp, User};

/// `n` containers of `app`, each with its own clients.
async fn containers(app: &TestApp, n: usize) -> Vec<Container> {
    let mut all = Vec::new();
    for _ in 0..n {
        all.push(app.new_container().await);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_requests_for_an_expiring_user_token_make_one_refresh_and_all_succeed() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    let alice = User::new("alice", &[]);
    app.connect(&alice, "octocat").await;
    app.clock.advance(8 * 3600 - 120);
    let containers = containers(&app, 4).await;

    let responses =
        join_all((0..16).map(|i| containers[i % 4].internal("POST", "/internal/users/alice/token", json!({})))).await;

    assert_eq!(app.sim.count(Counter::Refreshes), 1);
    let live = app.sim.live_user_tokens("octocat");
    for r in &responses {
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert!(live.contains(&r.body["token"].as_str().unwrap().to_owned()));
    }
    let first = &responses[0].body["token"];
    assert!(
        responses.iter().all(|r| &r.body["token"] == first),
        "everyone gets the new token"
    );
    // The stored refresh token is the newest GitHub issued: one more refresh works.
    app.clock.advance(8 * 3600);
    assert_eq!(
        app.internal("POST", "/internal/users/alice/token", json!({}))
            .await
            .status,
        200
    );
    assert_eq!(app.sim.count(Counter::Refreshes), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_vends_of_one_installation_and_scope_mint_one_token() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    let installation = app.sim.install(
        "octo-org",
        RepoSelection::All,
        &[("members", "read"), ("contents", "write")],
    );
    let alice = User::new("alice", &["team-a"]);
    app.connect(&alice, "octocat").await;
    app.link(&alice, "team-a", installation).await;
    let containers = containers(&app, 4).await;
    let path = format!("/internal/accounts/team-a/installations/{installation}/token");

    let responses = join_all(
        (0..16).map(|i| containers[i % 4].internal("POST", &path, json!({"permissions": {"contents": "read"}}))),
    )
    .await;

    assert_eq!(app.sim.count(Counter::Mints(installation)), 1);
    let first = &responses[0].body["token"];
    for r in &responses {
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(&r.body["token"], first);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_delivery_sent_ten_times_at_once_is_applied_once() {
    let app = TestApp::spawn().await;
    let containers = containers(&app, 5).await;
    let octocat = app.sim.add_user("octocat");
    let installation = app.sim.install("octocat", RepoSelection::All, &[("contents", "read")]);
    let payload = about(webhook("installation.created"), installation, "octocat", octocat);
    let id = delivery();

    let responses = join_all((0..10).map(|i| containers[i % 5].webhook("installation", &id, &payload))).await;

    assert!(responses.iter().all(|r| r.status == 200), "{responses:?}");
    let applied = responses
        .iter()
        .filter(|r| r.body["result"] == "installation updated")
        .count();
    let duplicates = responses
        .iter()
        .filter(|r| r.body["result"] == "duplicate delivery: already processed")
        .count();
    assert_eq!((applied, duplicates), (1, 9));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn links_racing_with_installation_deleted_leave_no_link_to_it() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    let teams: Vec<String> = (0..6).map(|t| format!("team-{t}")).collect();
    let mut team_refs: Vec<&str> = teams.iter().map(String::as_str).collect();
    team_refs.push("team-pre");
    let alice = User::new("alice", &team_refs);
    app.connect(&alice, "octocat").await;
    let containers = containers(&app, 3).await;

    for round in 0..5 {
        let org = format!("org-{round}");
        app.sim.add_org(&org, &["octocat"]);
        let installation = app
            .sim
            .install(&org, RepoSelection::All, &[("members", "read"), ("contents", "read")]);
        let deleted = about(webhook("installation.deleted"), installation, &org, 1);
        // One link made before the race, so the deletion always has a link
        // to remove even if every racing link loses.
        let before = app.link(&alice, "team-pre", installation).await;
        assert_eq!(before.status, 200, "{:?}", before.body);
        let paths: Vec<String> = teams
            .iter()
            .map(|team| format!("/accounts/{team}/installations/{installation}"))
            .collect();
        let links = paths
            .iter()
            .enumerate()
            .map(|(i, path)| containers[i % 3].frontend(&alice, "PUT", path, None));
        let delivery_id = delivery();
        let (link_responses, delete) = futures::join!(
            join_all(links),
            containers[round % 3].webhook("installation", &delivery_id, &deleted)
        );

        assert_eq!(delete.status, 200);
        for r in &link_responses {
            assert!(r.status == 200 || r.status == 404, "{:?}", r.body);
        }
        for team in teams.iter().map(String::as_str).chain(["team-pre"]) {
            let listed = app
                .frontend(&alice, "GET", &format!("/accounts/{team}/installations"), None)
                .await;
            assert_eq!(listed.body["installations"], json!([]), "round {round}, {team}");
        }
        let inst = format!("INST#{installation}");
        let links: Vec<_> = app
            .keys()
            .await
            .into_iter()
            .filter(|(pk, sk)| (pk == &inst && sk.starts_with("ACCT#")) || (pk.starts_with("ACCT#") && sk == &inst))
            .collect();
        assert!(links.is_empty(), "round {round}: {links:?}");
    }
}
