//! Per-team tokens that die with the link: an unlink, the installation's
//! deletion or suspension, and an operator's incident revocation revoke the
//! tokens at GitHub (`DELETE /installation/token`); one GitHub will not
//! revoke yet is kept pending, reported, never vendable, and retried.

use github_sim::{Fault, FaultKind, RepoSelection};
use serde_json::json;

use crate::helpers::fixtures::{delivery, org_event};
use crate::helpers::{TestApp, User};

struct World {
    app: TestApp,
    alice: User,
    org: u64,
}

/// octo-org, linked to team-a and team-b (alice is in both, and octocat).
async fn world() -> World {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    app.sim.add_repo("octo-org", "web", false);
    let org = app.sim.install(
        "octo-org",
        RepoSelection::All,
        &[("members", "read"), ("contents", "write"), ("metadata", "read")],
    );
    let alice = User::new("alice", &["team-a", "team-b"]);
    assert_eq!(app.connect(&alice, "octocat").await.status, 200);
    for team in ["team-a", "team-b"] {
        assert_eq!(app.link(&alice, team, org).await.status, 200);
    }
    World { app, alice, org }
}

/// Two tokens of `team` (two scopes), live at GitHub.
async fn two_tokens(w: &World, team: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    for body in [json!({}), json!({"permissions": {"contents": "read"}})] {
        let vend = w.app.vend(team, w.org, body).await;
        assert_eq!(vend.status, 200, "{:?}", vend.body);
        tokens.push(vend.body["token"].as_str().unwrap().to_owned());
    }
    tokens
}

fn alive(w: &World, token: &str) -> bool {
    w.app.sim.installation_token_permissions(token).is_some()
}

#[tokio::test]
async fn an_unlink_revokes_that_teams_tokens_at_github_and_no_one_elses() {
    let w = world().await;
    let a = two_tokens(&w, "team-a").await;
    let b = two_tokens(&w, "team-b").await;

    let path = format!("/accounts/team-a/installations/{}", w.org);
    let unlinked = w.app.frontend(&w.alice, "DELETE", &path, None).await;

    assert_eq!(unlinked.status, 200, "{:?}", unlinked.body);
    assert_eq!(unlinked.body["tokens"], json!({"revoked": 2, "pending": 0}));
    assert!(a.iter().all(|t| !alive(&w, t)), "team-a's tokens are revoked");
    assert!(b.iter().all(|t| alive(&w, t)), "team-b's are not touched");
    assert_eq!(w.app.sim.count_path("DELETE", "/installation/token"), 2);
    let vend = w.app.vend("team-a", w.org, json!({})).await;
    assert_eq!((vend.status, vend.error_code()), (403, "installation_not_linked"));
    // Linked again: a new token, never one of the revoked.
    assert_eq!(w.app.link(&w.alice, "team-a", w.org).await.status, 200);
    let again = w.app.vend("team-a", w.org, json!({})).await;
    assert_eq!(again.status, 200);
    assert!(!a.contains(&again.body["token"].as_str().unwrap().to_owned()));
    crate::helpers::consistency::assert_consistent(&w.app).await;
}

#[tokio::test]
async fn a_policy_change_revokes_the_tokens_minted_under_the_old_policy() {
    let w = world().await;
    let a = two_tokens(&w, "team-a").await;
    let path = format!("/accounts/team-a/installations/{}", w.org);

    let changed = w
        .app
        .frontend(
            &w.alice,
            "PATCH",
            &path,
            Some(json!({"permissions": {"contents": "read"}})),
        )
        .await;

    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert!(a.iter().all(|t| !alive(&w, t)));
    let unchanged = w
        .app
        .frontend(
            &w.alice,
            "PATCH",
            &path,
            Some(json!({"permissions": {"contents": "read"}})),
        )
        .await;
    assert_eq!(unchanged.status, 200);
    let vend = w.app.vend("team-a", w.org, json!({})).await;
    let count = w.app.sim.count_path("DELETE", "/installation/token");
    assert_eq!(
        w.app
            .frontend(
                &w.alice,
                "PATCH",
                &path,
                Some(json!({"permissions": {"contents": "read"}}))
            )
            .await
            .status,
        200
    );
    assert_eq!(
        w.app.sim.count_path("DELETE", "/installation/token"),
        count,
        "the same policy revokes nothing"
    );
    assert!(alive(&w, vend.body["token"].as_str().unwrap()));
}

#[tokio::test]
async fn uninstalling_revokes_every_token_of_the_installation() {
    let w = world().await;
    let mut tokens = two_tokens(&w, "team-a").await;
    tokens.extend(two_tokens(&w, "team-b").await);

    w.app.sim.uninstall(w.org);
    let deleted = w
        .app
        .webhook("installation", &delivery(), &org_event("installation.deleted", w.org))
        .await;

    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert!(tokens.iter().all(|t| !alive(&w, t)));
    let pending: Vec<_> = w
        .app
        .keys()
        .await
        .into_iter()
        .filter(|(_, sk)| sk.starts_with("REVOKE#"))
        .collect();
    assert!(pending.is_empty(), "all confirmed, none left pending: {pending:?}");
}

#[tokio::test]
async fn a_suspension_revokes_every_token_and_vending_stays_refused() {
    let w = world().await;
    let mut tokens = two_tokens(&w, "team-a").await;
    tokens.extend(two_tokens(&w, "team-b").await);

    w.app.sim.suspend(w.org);
    let event = org_event("installation.suspend", w.org);
    let suspended = w.app.webhook("installation", &delivery(), &event).await;

    assert_eq!(suspended.status, 200, "{:?}", suspended.body);
    assert!(tokens.iter().all(|t| !alive(&w, t)));
    let vend = w.app.vend("team-a", w.org, json!({})).await;
    assert_eq!((vend.status, vend.error_code()), (403, "installation_suspended"));
}

#[tokio::test]
async fn the_incident_route_revokes_every_live_token_of_the_account_at_once() {
    let w = world().await;
    let personal = w
        .app
        .sim
        .install("octocat", RepoSelection::All, &[("contents", "read")]);
    assert_eq!(w.app.link(&w.alice, "team-a", personal).await.status, 200);
    let mut a = two_tokens(&w, "team-a").await;
    let vend = w.app.vend("team-a", personal, json!({})).await;
    a.push(vend.body["token"].as_str().unwrap().to_owned());
    let b = two_tokens(&w, "team-b").await;

    let revoked = w
        .app
        .internal("DELETE", "/internal/accounts/team-a/tokens", json!({}))
        .await;

    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    assert_eq!(revoked.body, json!({"revoked": 3, "pending": 0}));
    assert!(a.iter().all(|t| !alive(&w, t)));
    assert!(b.iter().all(|t| alive(&w, t)));
    // The links stay: the next vend mints a new token.
    let next = w.app.vend("team-a", w.org, json!({})).await;
    assert_eq!(next.status, 200);
    assert!(!a.contains(&next.body["token"].as_str().unwrap().to_owned()));
    let nothing = w
        .app
        .internal("DELETE", "/internal/accounts/team-z/tokens", json!({}))
        .await;
    assert_eq!(nothing.body, json!({"revoked": 0, "pending": 0}));
    let bad = w
        .app
        .internal("DELETE", "/internal/accounts/..%2Fx/tokens", json!({}))
        .await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
}

#[tokio::test]
async fn a_revocation_github_refuses_is_reported_kept_pending_never_vended_and_retried() {
    let w = world().await;
    let a = two_tokens(&w, "team-a").await;
    // Every attempt (3 per token, each with the client's own retries) fails.
    w.app.sim.inject(Fault {
        method: Some("DELETE".into()),
        path_prefix: "/installation/token".into(),
        kind: FaultKind::Status(502),
        times: 1_000,
    });

    let path = format!("/accounts/team-a/installations/{}", w.org);
    let unlinked = w.app.frontend(&w.alice, "DELETE", &path, None).await;

    assert_eq!(
        unlinked.status, 200,
        "the link is gone all the same: {:?}",
        unlinked.body
    );
    assert_eq!(unlinked.body["tokens"], json!({"revoked": 0, "pending": 2}));
    assert!(a.iter().all(|t| alive(&w, t)), "GitHub did not revoke them");
    let pending = w
        .app
        .keys()
        .await
        .into_iter()
        .filter(|(_, sk)| sk.starts_with("REVOKE#"))
        .count();
    assert_eq!(pending, 2);
    // Linked again, the team never gets one of them back.
    assert_eq!(w.app.link(&w.alice, "team-a", w.org).await.status, 200);
    let vend = w.app.vend("team-a", w.org, json!({})).await;
    assert_eq!(vend.status, 200);
    assert!(!a.contains(&vend.body["token"].as_str().unwrap().to_owned()));

    w.app.sim.clear_faults();
    let retried = w
        .app
        .internal("DELETE", "/internal/accounts/team-a/tokens", json!({}))
        .await;

    assert_eq!(
        retried.body,
        json!({"revoked": 3, "pending": 0}),
        "the new token and the two pending"
    );
    assert!(a.iter().all(|t| !alive(&w, t)));
    let pending = w
        .app
        .keys()
        .await
        .into_iter()
        .filter(|(_, sk)| sk.starts_with("REVOKE#"))
        .count();
    assert_eq!(pending, 0);
}
