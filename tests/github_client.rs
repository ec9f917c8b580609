//! How the broker talks to GitHub (SPEC section 6): the app JWT's timing and
//! clock-skew correction, headers, and retries only where they are safe,
//! all observed at the simulator.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use broker::github::GitHub;
use github_sim::{Counter, Fault, FaultKind, RepoSelection};
use secrecy::SecretString;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, User};

const MINT: &str = "/app/installations/";
const OAUTH: &str = "/login/oauth/access_token";

fn fault(method: &str, path: &str, kind: FaultKind, times: usize) -> Fault {
    Fault {
        method: Some(method.into()),
        path_prefix: path.into(),
        kind,
        times,
    }
}

async fn linked() -> (TestApp, User, u64) {
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
    (app, alice, installation)
}

#[tokio::test]
async fn a_jwt_refused_because_githubs_clock_is_behind_is_reissued_from_its_date_header() {
    let (app, _, installation) = linked().await;
    app.sim.set_clock_offset(-3600);

    let first = app.vend("team-a", installation, json!({})).await;
    let second = app
        .vend("team-a", installation, json!({"permissions": {"contents": "read"}}))
        .await;

    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(second.status, 200);
    assert_eq!(
        app.sim.count_path("POST", MINT),
        3,
        "one refusal, then the learned offset holds"
    );
}

#[tokio::test]
async fn a_jwt_refused_because_githubs_clock_is_ahead_is_reissued_too() {
    let (app, _, installation) = linked().await;
    app.sim.set_clock_offset(3600);

    let vend = app.vend("team-a", installation, json!({})).await;

    assert_eq!(vend.status, 200, "{:?}", vend.body);
    assert_eq!(app.sim.count_path("POST", MINT), 2);
}

#[tokio::test]
async fn a_mint_is_retried_after_a_github_server_error() {
    let (app, _, installation) = linked().await;
    app.sim.inject(fault("POST", MINT, FaultKind::Status(502), 2));

    let vend = app.vend("team-a", installation, json!({})).await;

    assert_eq!(vend.status, 200, "{:?}", vend.body);
    assert_eq!(app.sim.count_path("POST", MINT), 3);
    assert_eq!(app.sim.count(Counter::Mints(installation)), 1);
}

#[tokio::test]
async fn retries_stop_after_three_attempts() {
    let (app, _, installation) = linked().await;
    app.sim.inject(fault("POST", MINT, FaultKind::Status(503), 10));

    let vend = app.vend("team-a", installation, json!({})).await;

    assert_eq!(vend.status, 502);
    assert_eq!(vend.error_code(), "github_unavailable");
    assert_eq!(app.sim.count_path("POST", MINT), 3);
}

#[tokio::test]
async fn a_client_error_is_never_retried() {
    let (app, _, installation) = linked().await;

    let vend = app
        .vend(
            "team-a",
            installation,
            json!({"permissions": {"administration": "write"}}),
        )
        .await;

    assert_eq!(vend.status, 422);
    assert_eq!(app.sim.count_path("POST", MINT), 1);
}

#[tokio::test]
async fn a_refresh_that_fails_on_githubs_side_is_not_replayed_and_the_next_request_retries() {
    let (app, _, _) = linked().await;
    app.clock.advance(8 * 3600 - 120);
    app.sim.inject(fault("POST", OAUTH, FaultKind::Status(502), 1));

    let failed = app.internal("POST", "/internal/users/alice/token", json!({})).await;
    let next = app.internal("POST", "/internal/users/alice/token", json!({})).await;

    assert_eq!(failed.status, 502);
    assert_eq!(
        app.sim.count_path("POST", OAUTH),
        3,
        "connect, the failed refresh, the next one: no replay"
    );
    assert_eq!(next.status, 200, "the lease was released: {:?}", next.body);
}

#[tokio::test]
async fn a_refresh_whose_answer_was_lost_ends_in_reauthorization_not_in_a_loop() {
    let (app, _, _) = linked().await;
    app.clock.advance(8 * 3600 - 120);
    app.sim.inject(fault("POST", OAUTH, FaultKind::LoseAnswer, 1));

    let lost = app.internal("POST", "/internal/users/alice/token", json!({})).await;
    let next = app.internal("POST", "/internal/users/alice/token", json!({})).await;

    // GitHub consumed the refresh token but the broker never saw the new
    // pair: it cannot know it, so the user is asked to reconnect.
    assert_eq!(lost.status, 502);
    assert_eq!(next.status, 409);
    assert_eq!(next.error_code(), "reauthorization_required");
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_when_it_fits_the_budget() {
    let (app, alice, _) = linked().await;
    app.sim.inject(fault(
        "GET",
        "/user/installations",
        FaultKind::RateLimit {
            status: 403,
            retry_after_seconds: 1,
        },
        1,
    ));

    let list = app.frontend(&alice, "GET", "/github/installations", None).await;

    assert_eq!(list.status, 200, "{:?}", list.body);
    assert_eq!(
        app.sim.count_path("GET", "/user/installations"),
        3,
        "link + limited + retried"
    );
}

#[tokio::test]
async fn a_rate_limit_longer_than_the_budget_is_a_clear_503() {
    let (app, alice, _) = linked().await;
    app.sim.inject(fault(
        "GET",
        "/user/installations",
        FaultKind::RateLimit {
            status: 429,
            retry_after_seconds: 120,
        },
        1,
    ));

    let list = app.frontend(&alice, "GET", "/github/installations", None).await;

    assert_eq!(list.status, 503);
    assert_eq!(list.error_code(), "github_rate_limited");
}

#[tokio::test]
async fn a_github_that_does_not_answer_is_a_504_within_the_budget() {
    let (app, alice, _) = linked().await;
    app.sim.inject(fault(
        "GET",
        "/user/installations",
        FaultKind::Delay(Duration::from_secs(30)),
        5,
    ));

    let list = app.frontend(&alice, "GET", "/github/installations", None).await;

    assert_eq!(list.status, 504);
    assert_eq!(list.error_code(), "github_timeout");
}

#[tokio::test]
async fn every_request_carries_githubs_required_headers() {
    // A one-shot HTTP server that records what it was sent.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v3/", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(String::new()));
    let recorder = seen.clone();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 8192];
        let n = socket.read(&mut buf).await.unwrap();
        *recorder.lock().unwrap() = String::from_utf8_lossy(&buf[..n]).to_lowercase();
        let body = r#"{"id": 1, "login": "octocat"}"#;
        let answer = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
        socket.write_all(answer.as_bytes()).await.unwrap();
    });
    let client = broker::github::rest::RestClient::new(
        (url::Url::parse(&url).unwrap(), url::Url::parse(&url).unwrap()),
        Duration::from_secs(5),
        broker::store::RECORD_RESERVE,
        Arc::new(broker::clock::SystemClock),
    )
    .unwrap();

    let user = client.user(&SecretString::from("ghu_example")).await.unwrap();

    assert_eq!(user.login, "octocat");
    let request = seen.lock().unwrap().clone();
    assert!(request.starts_with("get /api/v3/user "), "{request}");
    assert!(request.contains("accept: application/vnd.github+json"));
    assert!(request.contains("x-github-api-version: 2022-11-28"));
    assert!(request.contains("user-agent: gh-app-broker/"));
}
