//! The App's primary rate limit: app-JWT answers carry GitHub's
//! `x-ratelimit-*` headers, a spent budget is refused with GitHub's 403
//! without processing, the window ends with the sim clock, and other
//! credentials are not counted.

use github_sim::{Counter, Fault, FaultKind, GitHubSim, RepoSelection};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use crate::*;

fn header(h: &HeaderMap, name: &str) -> i64 {
    h.get(name)
        .unwrap_or_else(|| panic!("no {name} in {h:?}"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// (limit, remaining, used, reset) from an answer's headers.
fn budget(h: &HeaderMap) -> (i64, i64, i64, i64) {
    assert_eq!(h["x-ratelimit-resource"], "core");
    (
        header(h, "x-ratelimit-limit"),
        header(h, "x-ratelimit-remaining"),
        header(h, "x-ratelimit-used"),
        header(h, "x-ratelimit-reset"),
    )
}

fn assert_near(actual: i64, expected: i64) {
    assert!(
        (expected - 2..=expected + 2).contains(&actual),
        "{actual} vs {expected}"
    );
}

async fn installed_sim() -> (GitHubSim, u64) {
    let sim = sim().await;
    sim.add_user("octocat");
    sim.add_repo("octocat", "hello", false);
    let id = sim.install("octocat", RepoSelection::All, &[("contents", "read")]);
    (sim, id)
}

#[tokio::test]
async fn app_jwt_answers_carry_a_shrinking_budget() {
    let (sim, id) = installed_sim().await;
    // Off the system clock, so a reset computed from it would show.
    sim.set_clock_offset(86_400);
    let (status, _, first) = get(&sim, "/app", &jwt(&sim)).await;
    assert_eq!(status, 200);
    let (limit, remaining, used, reset) = budget(&first);
    assert_eq!((limit, remaining, used), (5000, 4999, 1));
    assert_near(reset, sim.now_unix() + 3600);

    let (status, _, second) = get(&sim, &format!("/app/installations/{id}"), &jwt(&sim)).await;
    assert_eq!(status, 200);
    assert_eq!(budget(&second), (5000, 4998, 2, reset), "same window");
    assert_eq!(sim.app_rate_limit_used(), 2);

    // Installation and user tokens, a bad JWT and a faulted request are not
    // charged (the mint itself is: it is authenticated as the app).
    let token = installation_token(&sim, id, None).await;
    assert_eq!(sim.app_rate_limit_used(), 3);
    let (status, _, h) = get(&sim, "/installation/repositories", &token).await;
    assert_eq!(status, 200);
    assert!(!h.contains_key("x-ratelimit-limit"), "{h:?}");
    let user = login(&sim, "octocat").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _, h) = get(&sim, "/user", &user).await;
    assert_eq!(status, 200);
    assert!(!h.contains_key("x-ratelimit-limit"), "{h:?}");
    let stale = jwt_with(json!(CLIENT_ID), sim.now_unix() - 1200, sim.now_unix() - 700);
    assert_eq!(get(&sim, "/app", &stale).await.0, 401);
    sim.inject(Fault {
        method: None,
        path_prefix: "/app".into(),
        kind: FaultKind::Status(502),
        times: 1,
    });
    assert_eq!(get(&sim, "/app", &jwt(&sim)).await.0, 502);
    assert_eq!(sim.app_rate_limit_used(), 3);
}

#[tokio::test]
async fn a_spent_budget_is_refused_without_processing() {
    let (sim, id) = installed_sim().await;
    sim.set_app_rate_limit(2);
    installation_token(&sim, id, None).await;
    let (status, _, h) = get(&sim, "/app", &jwt(&sim)).await;
    assert_eq!(status, 200);
    let (_, _, _, reset) = budget(&h);
    assert_eq!(budget(&h), (2, 0, 2, reset));

    let resp = client()
        .post(format!("{}/app/installations/{id}/access_tokens", sim.url()))
        .bearer_auth(jwt(&sim))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(budget(resp.headers()), (2, 0, 2, reset));
    assert!(!resp.headers().contains_key("retry-after"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["message"], format!("API rate limit exceeded for app ID {APP_ID}."));
    assert_eq!(
        body["documentation_url"],
        "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
    );
    // The handler never ran: no token, not even a mint request.
    assert_eq!(sim.count(Counter::Mints(id)), 1);
    assert_eq!(sim.count(Counter::MintRequests), 1);
    assert_eq!(sim.app_rate_limit_used(), 2, "refusals are not counted");

    // A new limit starts the count again, in the same window.
    sim.set_app_rate_limit(3);
    let (status, _, h) = get(&sim, "/app", &jwt(&sim)).await;
    assert_eq!(status, 200);
    assert_eq!(budget(&h), (3, 2, 1, reset));
}

#[tokio::test]
async fn the_window_ends_with_the_sim_clock() {
    let (sim, _) = installed_sim().await;
    sim.set_app_rate_limit(1);
    let (_, _, h) = get(&sim, "/app", &jwt(&sim)).await;
    let (_, _, _, reset) = budget(&h);
    assert_eq!(get(&sim, "/app", &jwt(&sim)).await.0, 403);

    // Just past the reset the budget is whole again, in a window of its own.
    let behind = reset - sim.now_unix();
    sim.set_clock_offset(behind + 1);
    assert_eq!(sim.app_rate_limit_used(), 0);
    let (status, body, h) = get(&sim, "/app", &jwt(&sim)).await;
    assert_eq!(status, 200, "{body}");
    let (limit, remaining, used, next_reset) = budget(&h);
    assert_eq!((limit, remaining, used), (1, 0, 1));
    assert_near(next_reset, sim.now_unix() + 3600);
    assert!(next_reset > reset);
}

#[tokio::test]
async fn the_control_api_sets_and_shows_the_budget() {
    let sim = sim().await;
    let url = format!("{}/_sim/rate_limit", sim.url());
    let resp = client().post(&url).json(&json!({"limit": 1})).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"limit": 1, "used": 0, "remaining": 1, "reset": null}));

    let (_, _, h) = get(&sim, "/app", &jwt(&sim)).await;
    let (_, _, _, reset) = budget(&h);
    let (status, body, _) = get(&sim, "/_sim/rate_limit", "").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"limit": 1, "used": 1, "remaining": 0, "reset": reset}));
    let resp = client().post(&url).json(&json!({"limit": "x"})).send().await.unwrap();
    assert_eq!(resp.status(), 422);
}
