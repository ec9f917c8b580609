//! Installation tokens for the platform's backends: reuse, scope-down, owner
//! lookup and GitHub's refusals.

use github_sim::{Counter, RepoSelection};
use serde_json::json;

use crate::helpers::{TestApp, User};

struct World {
    app: TestApp,
    org: u64,
    personal: u64,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    app.sim.add_repo("octo-org", "web", false);
    app.sim.add_repo("octo-org", "api", true);
    app.sim.add_repo("octo-org", "secret", true);
    let org = app.sim.install(
        "octo-org",
        RepoSelection::Selected(vec!["web".into(), "api".into()]),
        &[
            ("members", "read"),
            ("contents", "write"),
            ("issues", "write"),
            ("metadata", "read"),
        ],
    );
    let personal = app.sim.install(
        "octocat",
        RepoSelection::All,
        &[("contents", "read"), ("metadata", "read")],
    );
    let alice = User::new("alice", &["team-a"]);
    app.connect(&alice, "octocat").await;
    assert_eq!(app.link(&alice, "team-a", org).await.status, 200);
    assert_eq!(app.link(&alice, "team-a", personal).await.status, 200);
    World { app, org, personal }
}

#[tokio::test]
async fn a_linked_active_installation_gets_a_token_in_githubs_shape() {
    let World { app, org, .. } = world().await;

    let vend = app.vend("team-a", org, json!({})).await;

    assert_eq!(vend.status, 200, "{:?}", vend.body);
    let token = vend.body["token"].as_str().unwrap();
    // GitHub's new format, about 520 characters: vended, cached (sealed, in
    // the table) and used at GitHub (below) with nothing assuming a length.
    let cached = app.vend("team-a", org, json!({})).await;
    let long = token.starts_with("ghs_") && token.len() == 520 && cached.body["token"] == token;
    crate::helpers::reliability::record(
        "Tokens",
        "Installation tokens in GitHub's new 520-character format, vended, cached and used",
        1,
        u64::from(long),
        "nothing assumes a token's length or alphabet beyond its prefix",
    );
    assert!(long, "stateless tokens are long, and cached whole: {}", token.len());
    assert_eq!(vend.body["repository_selection"], "selected");
    assert_eq!(vend.body["permissions"]["contents"], "write");
    assert!(time::OffsetDateTime::parse(
        vend.body["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339
    )
    .is_ok());
    assert_eq!(
        app.sim.installation_token_permissions(token).unwrap()["contents"],
        "write"
    );
    assert_eq!(vend.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn a_cached_token_is_reused_while_it_has_enough_life_left() {
    let World { app, org, .. } = world().await;
    let first = app.vend("team-a", org, json!({})).await;

    let second = app.vend("team-a", org, json!({})).await;
    // Real seconds pass too (the clock is real time plus an offset): 10 s
    // either side of the 600 s default, so a slow machine cannot cross it.
    app.clock.advance(2990);
    let third = app.vend("team-a", org, json!({})).await;
    app.clock.advance(20);
    let fourth = app.vend("team-a", org, json!({})).await;

    assert_eq!(first.body["token"], second.body["token"]);
    assert!(
        first.body["token"] == third.body["token"],
        "610 s left is enough by default"
    );
    assert!(first.body["token"] != fourth.body["token"], "590 s left is not");
    assert_eq!(app.sim.count(Counter::Mints(org)), 2);
}

/// Many-to-many links: two teams on one installation, same scope. Each
/// team's token is its own (cached per account), and each is reused only
/// for that team.
#[tokio::test]
async fn two_teams_on_one_installation_never_share_a_token() {
    let World { app, org, .. } = world().await;
    let bob = User::new("bob", &["team-b"]);
    app.connect(&bob, "octocat").await;
    assert_eq!(app.link(&bob, "team-b", org).await.status, 200);

    let a = app.vend("team-a", org, json!({})).await;
    let b = app.vend("team-b", org, json!({})).await;
    let a_again = app.vend("team-a", org, json!({})).await;
    let b_again = app.vend("team-b", org, json!({})).await;

    assert_eq!((a.status, b.status), (200, 200), "{:?} {:?}", a.body, b.body);
    assert_ne!(a.body["token"], b.body["token"], "team-b got team-a's token");
    assert_eq!(a.body["token"], a_again.body["token"]);
    assert_eq!(b.body["token"], b_again.body["token"]);
    assert_eq!(app.sim.count(Counter::Mints(org)), 2, "one mint per team");
}

#[tokio::test]
async fn min_ttl_seconds_asks_for_more_life() {
    let World { app, org, .. } = world().await;
    let first = app.vend("team-a", org, json!({})).await;
    app.clock.advance(1000);

    let long = app.vend("team-a", org, json!({"min_ttl_seconds": 2700})).await;

    assert_ne!(first.body["token"], long.body["token"]);
    assert_eq!(app.sim.count(Counter::Mints(org)), 2);
}

#[tokio::test]
async fn each_scope_has_its_own_cached_token_and_github_enforces_it() {
    let World { app, org, .. } = world().await;

    let all = app.vend("team-a", org, json!({})).await;
    let web_read = app
        .vend(
            "team-a",
            org,
            json!({"repositories": ["web"], "permissions": {"contents": "read"}}),
        )
        .await;
    let same_again = app
        .vend(
            "team-a",
            org,
            json!({"permissions": {"contents": "read"}, "repositories": ["WEB"]}),
        )
        .await;

    assert_ne!(all.body["token"], web_read.body["token"]);
    assert_eq!(
        web_read.body["token"], same_again.body["token"],
        "same scope, any order or case"
    );
    assert_eq!(web_read.body["repositories"][0]["name"], "web");
    let granted = app
        .sim
        .installation_token_permissions(web_read.body["token"].as_str().unwrap())
        .unwrap();
    assert_eq!(granted.get("contents").map(String::as_str), Some("read"));
    assert_eq!(app.sim.count(Counter::Mints(org)), 2);
}

#[tokio::test]
async fn scopes_beyond_the_installation_are_githubs_422_passed_on() {
    let World { app, org, .. } = world().await;

    let outside = app.vend("team-a", org, json!({"repositories": ["secret"]})).await;
    let too_strong = app
        .vend("team-a", org, json!({"permissions": {"administration": "write"}}))
        .await;

    assert_eq!(outside.status, 422);
    assert_eq!(outside.error_code(), "scope_not_granted");
    assert_eq!(too_strong.status, 422);
    assert_eq!(app.sim.count(Counter::Mints(org)), 0);
    // A refused mint leaves no lease behind: the next good request mints at once.
    assert_eq!(
        app.vend("team-a", org, json!({"repositories": ["web"]})).await.status,
        200
    );
}

#[tokio::test]
async fn malformed_scopes_are_refused_before_github_is_asked() {
    let World { app, org, .. } = world().await;
    for body in [
        json!({"repositories": ["../etc"]}),
        json!({"permissions": {"contents": "owner"}}),
        json!({"repository_ids": [0]}),
        json!({"min_ttl_seconds": 3601}),
        json!({"min_ttl_seconds": -1}),
        json!({"repositories": "web"}),
        json!({"unknown": true}),
    ] {
        let vend = app.vend("team-a", org, body.clone()).await;
        assert_eq!(vend.status, 400, "{body}: {:?}", vend.body);
    }
    assert_eq!(app.sim.count(Counter::MintRequests), 0);
}

#[tokio::test]
async fn the_owner_route_picks_the_linked_installation_by_login_case_insensitively() {
    let World { app, org, personal } = world().await;

    let by_org = app
        .internal("POST", "/internal/accounts/team-a/token", json!({"owner": "Octo-Org"}))
        .await;
    let by_user = app
        .internal("POST", "/internal/accounts/team-a/token", json!({"owner": "octocat"}))
        .await;
    let unknown = app
        .internal(
            "POST",
            "/internal/accounts/team-a/token",
            json!({"owner": "someone-else"}),
        )
        .await;

    assert_eq!(by_org.status, 200, "{:?}", by_org.body);
    assert_eq!(app.sim.count(Counter::Mints(org)), 1);
    assert_eq!(by_user.status, 200);
    assert_eq!(app.sim.count(Counter::Mints(personal)), 1);
    assert_eq!(unknown.status, 403);
}

#[tokio::test]
async fn an_installation_github_no_longer_knows_is_a_404() {
    let World { app, org, .. } = world().await;
    // Uninstalled on GitHub, and the webhook has not arrived yet.
    app.sim.uninstall(org);

    let vend = app.vend("team-a", org, json!({})).await;

    assert_eq!(vend.status, 404);
    assert_eq!(vend.error_code(), "installation_not_found");
}

#[tokio::test]
async fn a_suspension_github_knows_of_before_the_webhook_is_a_403() {
    let World { app, org, .. } = world().await;
    app.sim.suspend(org);

    let vend = app.vend("team-a", org, json!({})).await;

    assert_eq!(vend.status, 403);
    assert_eq!(vend.error_code(), "installation_suspended");
}

#[tokio::test]
async fn a_body_over_64_kib_is_413_unread_and_mints_nothing() {
    let World { app, org, .. } = world().await;
    let padding = "x".repeat(64 * 1024);

    let vend = app.vend("team-a", org, json!({"repositories": [padding]})).await;

    assert_eq!(vend.status, 413);
    assert_eq!(vend.error_code(), "payload_too_large");
    assert_eq!(app.sim.count(Counter::MintRequests), 0);
}
