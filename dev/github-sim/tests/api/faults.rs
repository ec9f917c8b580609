//! Fault injection over real HTTP: error statuses, rate limits, delays, lost
//! answers, disarming, the `/_sim/faults` routes and `count_path`.

use std::time::Duration;

use github_sim::{Counter, Fault, FaultKind, GitHubSim, RepoSelection};
use serde_json::{json, Value};

use crate::*;

fn fault(method: Option<&str>, path_prefix: &str, kind: FaultKind, times: usize) -> Fault {
    Fault {
        method: method.map(str::to_owned),
        path_prefix: path_prefix.to_owned(),
        kind,
        times,
    }
}

/// A refresh grant whatever the status (the `refresh` helper insists on 200).
async fn raw_refresh(sim: &GitHubSim, refresh_token: &str) -> reqwest::Response {
    client()
        .post(format!("{}/login/oauth/access_token", sim.url()))
        .header("accept", "application/json")
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap()
}

async fn control(sim: &GitHubSim, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = client().request(method, format!("{}{path}", sim.url()));
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn status_fault_answers_once_then_normal() {
    let sim = sim().await;
    sim.add_user("octocat");
    let token = login(&sim, "octocat").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.inject(fault(Some("GET"), "/user", FaultKind::Status(502), 1));

    let (status, body, headers) = get(&sim, "/user", &token).await;
    assert_eq!(status, 502);
    assert_gh_error(&body, 502, "Bad Gateway");
    assert!(headers.contains_key("date") && headers.contains_key("x-github-request-id"));

    let (status, me, _) = get(&sim, "/user", &token).await;
    assert_eq!(status, 200);
    assert_eq!(me["login"], "octocat");
    // The code exchange and both /user requests, the faulted one included.
    assert_eq!(sim.count(Counter::Requests), 3);
    assert_eq!(sim.count_path("GET", "/user"), 2);
}

#[tokio::test]
async fn rate_limit_answers_without_processing() {
    let sim = sim().await;
    sim.add_user("octocat");
    let id = sim.install("octocat", RepoSelection::All, &[("contents", "read")]);
    sim.set_clock_offset(7200);
    sim.inject(fault(
        Some("post"),
        "/app/installations/",
        FaultKind::RateLimit {
            status: 403,
            retry_after_seconds: 30,
        },
        1,
    ));

    let resp = client()
        .post(format!("{}/app/installations/{id}/access_tokens", sim.url()))
        .bearer_auth(jwt(&sim))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let h = resp.headers().clone();
    assert_eq!(h["retry-after"], "30");
    assert_eq!(h["x-ratelimit-remaining"], "0");
    let reset: i64 = h["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
    let expected = sim.now_unix() + 30;
    assert!((expected - 2..=expected).contains(&reset), "{reset} vs {expected}");
    let body: Value = resp.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("You have exceeded a secondary rate limit."),
        "{message}"
    );
    assert!(
        message.contains(h["x-github-request-id"].to_str().unwrap()),
        "{message}"
    );
    assert_eq!(body["status"], "403");
    // Not processed: no mint, not even a mint request.
    assert_eq!(sim.count(Counter::Mints(id)), 0);
    assert_eq!(sim.count(Counter::MintRequests), 0);
    assert_eq!(sim.count(Counter::Requests), 1);

    let (status, minted) = mint(&sim, id, &jwt(&sim), None).await;
    assert_eq!(status, 201, "{minted}");
    assert_eq!(sim.count(Counter::Mints(id)), 1);

    // 429 through the control API; retry_after_seconds defaults to 60.
    let (status, _) = control(
        &sim,
        reqwest::Method::POST,
        "/_sim/faults",
        Some(json!({"path_prefix": "/app", "kind": "rate_limit", "status": 429, "times": 1})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, body, h) = get(&sim, "/app", &jwt(&sim)).await;
    assert_eq!(status, 429);
    assert_eq!(body["status"], "429");
    assert_eq!(h["retry-after"], "60");
}

#[tokio::test]
async fn delay_makes_a_short_timeout_client_time_out() {
    let sim = sim().await;
    sim.inject(fault(None, "/app", FaultKind::Delay(Duration::from_secs(3)), 1));
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = impatient
        .get(format!("{}/app", sim.url()))
        .bearer_auth(jwt(&sim))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");

    // Used up: the next request is answered at once.
    let resp = impatient
        .get(format!("{}/app", sim.url()))
        .bearer_auth(jwt(&sim))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(sim.count_path("GET", "/app"), 2);
}

#[tokio::test]
async fn lost_answer_still_consumes_the_refresh_token() {
    let sim = sim().await;
    sim.add_user("octocat");
    let first = login(&sim, "octocat").await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let issued_before = sim.issued_secrets().len();
    sim.inject(fault(
        Some("POST"),
        "/login/oauth/access_token",
        FaultKind::LoseAnswer,
        1,
    ));

    let resp = raw_refresh(&sim, r1).await;
    assert_eq!(resp.status(), 502);
    let body: Value = resp.json().await.unwrap();
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert_gh_error(&body, 502, "Bad Gateway");
    // The refresh really happened: counted, and a new pair was issued.
    assert_eq!(sim.count(Counter::Refreshes), 1);
    assert_eq!(sim.issued_secrets().len(), issued_before + 2);

    let retry = refresh(&sim, r1).await;
    assert_eq!(retry["error"], "bad_refresh_token", "{retry}");
    assert_eq!(sim.count(Counter::Refreshes), 2);
}

#[tokio::test]
async fn faults_queue_in_order_and_disarm() {
    let sim = sim().await;
    sim.inject(fault(Some("GET"), "/user", FaultKind::Status(500), 2));
    sim.inject(fault(None, "/", FaultKind::Status(503), 1));
    sim.inject(fault(None, "/", FaultKind::LoseAnswer, 0));
    let statuses = [
        get(&sim, "/user", "x").await.0,
        get(&sim, "/app", "x").await.0,
        get(&sim, "/user", "x").await.0,
        get(&sim, "/user", "x").await.0,
    ];
    // /app skips the /user fault and takes the catch-all; then all are used up.
    assert_eq!(statuses, [500, 503, 500, 401]);

    sim.inject(fault(None, "", FaultKind::Status(500), usize::MAX));
    assert_eq!(get(&sim, "/user", "x").await.0, 500);
    sim.clear_faults();
    assert_eq!(get(&sim, "/user", "x").await.0, 401);
    assert_eq!(sim.count(Counter::Requests), 6);
}

#[tokio::test]
async fn control_routes_are_never_faulted() {
    let sim = sim().await;
    sim.inject(fault(None, "", FaultKind::Status(500), 100));
    sim.inject(fault(None, "/", FaultKind::Delay(Duration::from_secs(30)), 100));
    let (status, body, _) = get(&sim, "/_sim/health", "").await;
    assert_eq!((status, body), (200, json!({"ok": true})));
    assert_eq!(
        control(
            &sim,
            reqwest::Method::POST,
            "/_sim/users",
            Some(json!({"login": "octocat"}))
        )
        .await
        .0,
        201
    );
    assert_eq!(
        control(&sim, reqwest::Method::DELETE, "/_sim/faults", None).await.0,
        204
    );
    assert_eq!(get(&sim, "/user", "x").await.0, 401);

    // Faults aimed at the control API, and malformed ones, are refused.
    for bad in [
        json!({"path_prefix": "/_sim/health", "kind": "status", "status": 500, "times": 1}),
        json!({"path_prefix": "/user", "kind": "status", "times": 1}),
        json!({"path_prefix": "/user", "kind": "delay", "times": 1}),
        json!({"path_prefix": "/user", "kind": "explode", "times": 1}),
        json!({"path_prefix": "user", "kind": "lose_answer", "times": 1}),
        json!({"path_prefix": "/user", "kind": "rate_limit", "status": 500, "times": 1}),
    ] {
        let (status, body) = control(&sim, reqwest::Method::POST, "/_sim/faults", Some(bad.clone())).await;
        assert_eq!(status, 422, "{bad} -> {body}");
    }
    // An HTTP-injected status fault and a delay in milliseconds both work.
    for f in [
        json!({"method": "get", "path_prefix": "/user", "kind": "status", "status": 503, "times": 1}),
        json!({"path_prefix": "/user", "kind": "delay", "delay_ms": 1, "times": 1}),
    ] {
        assert_eq!(
            control(&sim, reqwest::Method::POST, "/_sim/faults", Some(f)).await.0,
            204
        );
    }
    assert_eq!(get(&sim, "/user", "x").await.0, 503);
    assert_eq!(get(&sim, "/user", "x").await.0, 401);
}

#[tokio::test]
async fn count_path_counts_by_method_and_prefix() {
    let sim = sim().await;
    sim.inject(fault(None, "/app/installations/1", FaultKind::Status(500), 1));
    for path in ["/app/installations/1", "/app/installations/2", "/app", "/user"] {
        get(&sim, path, "x").await;
    }
    client()
        .post(format!("{}/app/installations/1/access_tokens", sim.url()))
        .send()
        .await
        .unwrap();
    get(&sim, "/_sim/health", "").await;

    assert_eq!(sim.count_path("GET", "/app/installations/"), 2);
    assert_eq!(sim.count_path("get", "/app"), 3);
    assert_eq!(sim.count_path("POST", "/app/installations/1"), 1);
    assert_eq!(sim.count_path("GET", ""), 4);
    assert_eq!(sim.count_path("GET", "/_sim/"), 0);
    assert_eq!(sim.count_path("DELETE", "/"), 0);

    let (status, body, _) = get(&sim, "/_sim/requests?method=GET&path_prefix=/app", "").await;
    assert_eq!((status, body), (200, json!({"count": 3})));
    let (status, body, _) = get(&sim, "/_sim/requests?method=POST", "").await;
    assert_eq!((status, body), (200, json!({"count": 1})));
    assert_eq!(get(&sim, "/_sim/requests", "").await.0, 422);
}
