//! The refresh protocol where it can lose a single-use refresh token: a
//! holder whose completion is slow while another container wants the
//! token too, and each refusal GitHub documents for the token endpoint.
//! Only `bad_refresh_token` drops the stored tokens.

use std::time::Duration;

use broker::api::Function;
use dynamo_proxy::{DynamoProxy, Fault, FaultKind};
use github_sim::Counter;
use serde_json::json;

use crate::helpers::containers::ProcessContainer;
use crate::helpers::reliability::{record, record_cases};
use crate::helpers::{moto, TestApp, User};

/// GitHub's documented refusals of `POST /login/oauth/access_token`, and
/// what a refresh refused with each must answer.
const REFUSALS: [(&str, u16, &str); 6] = [
    ("bad_refresh_token", 409, "reauthorization_required"),
    ("incorrect_client_credentials", 503, "app_credentials_rejected"),
    ("redirect_uri_mismatch", 503, "github_oauth_error"),
    ("bad_verification_code", 503, "github_oauth_error"),
    ("unverified_user_email", 503, "github_oauth_error"),
    ("unsupported_grant_type", 503, "github_oauth_error"),
];

#[tokio::test]
async fn only_bad_refresh_token_drops_the_stored_tokens_every_other_refusal_keeps_them() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    // Tokens of 200 s are inside the five-minute margin: each use refreshes.
    app.sim.set_user_token_lifetime(200);
    let mut failures = Vec::new();
    for (error, status, code) in REFUSALS {
        let user = User::new(&format!("u-{error}"), &[]);
        assert_eq!(app.connect(&user, "octocat").await.status, 200);
        let path = format!("/internal/users/{}/token", user.sub);
        app.sim.inject(github_sim::Fault {
            method: Some("POST".into()),
            path_prefix: "/login/oauth/access_token".into(),
            kind: github_sim::FaultKind::OAuthError(error.into()),
            times: 1,
        });
        let refused = app.internal("POST", &path, json!({})).await;
        let after = app.internal("POST", &path, json!({})).await;
        let kept = error != "bad_refresh_token";
        let held = refused.status == status
            && refused.error_code() == code
            && if kept {
                after.status == 200
            } else {
                after.status == 409 && after.error_code() == "reauthorization_required"
            };
        if !held {
            failures.push(format!(
                "{error}: {} {:?}, then {} {:?}",
                refused.status, refused.body, after.status, after.body
            ));
        }
        app.sim.clear_faults();
    }
    record_cases(
        "Refresh",
        "Each refusal GitHub documents for a refresh, one at a time",
        REFUSALS.len() as u64,
        &failures,
        "bad_refresh_token: 409 and the tokens dropped; any other: 503 with its code, tokens kept and the next refresh works",
    );
}

/// Container A took the refresh lease a while ago (its clock runs 18 s
/// behind) and its write of the new pair is slow; container B, another
/// process, wants the token now. The lease outlasts all A may still do, so
/// B waits for A's pair instead of spending the refresh token A already
/// spent (GitHub would answer `bad_refresh_token`, and the connection would
/// be dropped while A's fresh pair was thrown away).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_completion_keeps_its_lease_from_a_refresher_in_another_process() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    app.sim.set_user_token_lifetime(200);
    let alice = User::new("alice", &[]);
    assert_eq!(app.connect(&alice, "octocat").await.status, 200);
    let slow = DynamoProxy::start(&moto::endpoint()).expect("proxy starts");
    let a = app.container_behind(&slow, |_| {}).await;
    app.clock.advance(-18);
    let b = ProcessContainer::start(&app, &moto::recorder().url(), Function::TokenVending, "refresh-b").await;
    // A's completion (the write conditional on the version) is held 1.5 s.
    slow.inject(Fault::new("UpdateItem", FaultKind::Delay(Duration::from_millis(1500))).body_contains(":expected"));
    let path = "/internal/users/alice/token";
    // The pair A gets lives eight hours: B has no reason to refresh it again.
    app.sim.set_user_token_lifetime(8 * 3600);

    let a_answer = tokio::spawn(async move { a.internal("POST", path, json!({})).await });
    let started = std::time::Instant::now();
    while slow.armed_faults() > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "A never reached its completion"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let b_answer = b.internal(path, &json!({})).await;
    let a_answer = a_answer.await.unwrap();

    let held = a_answer.status == 200
        && b_answer.status == 200
        && b_answer.body["token"] == a_answer.body["token"]
        && app.sim.count(Counter::Refreshes) == 1;
    record(
        "Refresh",
        "A slow completion racing a second refresher in another process",
        1,
        u64::from(held),
        "the second waits for the first's pair: one refresh, the same token, nothing dropped",
    );
    assert_eq!(a_answer.status, 200, "{:?}", a_answer.body);
    assert_eq!(b_answer.status, 200, "{:?}", b_answer.body);
    assert_eq!(b_answer.body["token"], a_answer.body["token"]);
    assert_eq!(app.sim.count(Counter::Refreshes), 1, "the refresh token was spent once");
}
