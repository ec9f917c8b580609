//! The invocation's deadline. Each GitHub call and DynamoDB operation is
//! bounded, but a request makes several; the Lambda bridge gives the request
//! the invocation's deadline (less an answer margin) and the clients start an
//! attempt only when it fits. Here the containers get an explicit budget
//! (`REQUEST_BUDGET_SECONDS`, what applies without a Lambda context) and
//! GitHub or DynamoDB is slowed until the work cannot fit: the request ends
//! with `503 deadline_exceeded` after a bounded number of attempts, the table
//! stays consistent, and nothing that cannot be replayed was started. What is
//! asserted is counted (attempts, GitHub's counters), never timed.

use std::time::Duration;

use broker::api::Function;
use dynamo_proxy::FaultKind as DynamoFault;
use github_sim::{Counter, Fault, FaultKind};
use serde_json::json;

use super::{lambda_timeout, outcome, world, World};
use crate::helpers::app::{answer, decode_event, Container};
use crate::helpers::containers::ProcessContainer;
use crate::helpers::fixtures::{about, delivery, webhook};
use crate::helpers::reliability::record;

const EXCHANGE: &str = "/login/oauth/access_token";

fn delay(method: &str, path: &str, seconds: f64, times: usize) -> Fault {
    Fault {
        method: Some(method.into()),
        path_prefix: path.into(),
        kind: FaultKind::Delay(Duration::from_secs_f64(seconds)),
        times,
    }
}

/// A container of each function whose requests get `seconds` in all.
async fn budgeted(w: &World, seconds: u64) -> Container {
    w.app
        .container_behind(&w.proxy, |c| c.request_budget = Some(Duration::from_secs(seconds)))
        .await
}

#[tokio::test]
async fn an_oauth_callback_whose_github_calls_overrun_the_budget_ends_with_deadline_exceeded() {
    let w = world().await;
    // GITHUB_TIMEOUT_SECONDS is 4 in tests: the exchange needs 4 s + 2.5 s
    // to record its answer (the budget has 7); GET /user answers after
    // 2.5 s; GET /user/installations never answers, and its attempt is cut to
    // the ~4.4 s left less the 2.5 s kept for a DynamoDB attempt. Three calls
    // of up to 4 s each would have taken 12 s.
    let slow = budgeted(&w, 7).await;
    let (state, code) = w
        .app
        .authorized(&w.alice, "octocat", json!({"account_id": "team-a"}))
        .await;
    w.app.sim.inject(delay("GET", "/user/installations", 30.0, 5));
    w.app.sim.inject(delay("GET", "/user", 2.5, 1));
    let (listings, exchanges) = (
        w.app.sim.count_path("GET", "/user/installations"),
        w.app.sim.count(Counter::CodeExchanges),
    );

    let body = json!({"code": code, "state": state, "installation_id": w.installation.to_string()});
    let answer = slow
        .frontend(&w.alice, "POST", "/github/oauth/callback", Some(body))
        .await;
    w.app.sim.clear_faults();

    let listings = w.app.sim.count_path("GET", "/user/installations") - listings;
    let exchanges = w.app.sim.count(Counter::CodeExchanges) - exchanges;
    let held = answer.status == 503 && answer.error_code() == "deadline_exceeded" && listings == 1 && exchanges == 1;
    outcome(
        "GitHub slow on every call of an OAuth callback with a 7 s budget",
        held,
        "503 deadline_exceeded once the budget cannot hold another attempt; 1 listing attempt, not 3",
    );
    assert_eq!(
        (answer.status, answer.error_code()),
        (503, "deadline_exceeded"),
        "{:?}",
        answer.body
    );
    assert_eq!(listings, 1, "the one attempt that fitted, cut to the budget");
    assert_eq!(exchanges, 1);
    w.assert_consistent().await;
    // Nothing was half-done: the callback's link can simply be asked again.
    assert_eq!(w.app.link(&w.alice, "team-a", w.installation).await.status, 200);
}

#[tokio::test]
async fn a_refresh_exchange_is_not_started_when_its_whole_timeout_does_not_fit() {
    let w = world().await;
    w.expire_user_token();
    let slow = budgeted(&w, 7).await;
    // Reading the connection takes 1.5 s (inside one DynamoDB attempt): then
    // less than 4 s + 2 s is left, so the exchange must not start.
    w.proxy.inject(
        dynamo_proxy::Fault::new("GetItem", DynamoFault::Delay(Duration::from_millis(1500)))
            .body_contains("USER#alice"),
    );
    let (refreshes, sent) = (
        w.app.sim.count(Counter::Refreshes),
        w.app.sim.count_path("POST", EXCHANGE),
    );

    let refused = slow.internal("POST", "/internal/users/alice/token", json!({})).await;
    w.proxy.clear_faults();

    let sent = w.app.sim.count_path("POST", EXCHANGE) - sent;
    let untouched = w.app.sim.count(Counter::Refreshes) == refreshes;
    w.assert_consistent().await;
    let next = w.user_token().await;
    let held = refused.error_code() == "deadline_exceeded" && untouched && sent == 0 && next.status == 200;
    outcome(
        "A refresh exchange whose whole timeout does not fit in the request's budget",
        held,
        "503 deadline_exceeded without sending the exchange; the stored refresh token still works",
    );
    assert_eq!(
        (refused.status, refused.error_code()),
        (503, "deadline_exceeded"),
        "{:?}",
        refused.body
    );
    assert!(untouched, "GitHub never saw the refresh");
    assert_eq!(sent, 0, "the exchange was never sent");
    // The lease was released: the next request refreshes at once.
    assert_eq!(next.status, 200, "{:?}", next.body);
    w.assert_refresh_token_kept().await;
}

#[tokio::test]
async fn a_mint_cut_short_by_the_deadline_frees_its_lease_for_the_next_vend() {
    let w = world().await;
    let slow = budgeted(&w, 6).await;
    // GitHub never answers the mint: its attempt is cut to leave 2.5 s of
    // the 6 s, no retry fits after it, and the lease is released in what is
    // left. Without that room the lease would stay until it runs out, and
    // every vend of that scope would poll for 15 s.
    let mint = format!("/app/installations/{}/access_tokens", w.installation);
    w.app.sim.inject(delay("POST", &mint, 30.0, 5));
    let vend = format!("/internal/accounts/team-a/installations/{}/token", w.installation);

    let failed = slow.internal("POST", &vend, json!({})).await;
    w.app.sim.clear_faults();
    let (leases, polls) = (w.dynamo("UpdateItem"), w.dynamo("GetItem"));
    let next = w.app.vend("team-a", w.installation, json!({})).await;
    let (leases, polls) = (w.dynamo("UpdateItem") - leases, w.dynamo("GetItem") - polls);

    let held = failed.error_code() == "deadline_exceeded" && next.status == 200 && leases == 1 && polls == 0;
    outcome(
        "GitHub never answering a mint, with a 6 s budget",
        held,
        "503 deadline_exceeded with the lease released; the next vend takes it at once and mints, no polling",
    );
    assert_eq!(
        (failed.status, failed.error_code()),
        (503, "deadline_exceeded"),
        "{:?}",
        failed.body
    );
    assert_eq!(next.status, 200, "{:?}", next.body);
    assert_eq!((leases, polls), (1, 0), "the lease was free: taken at once");
    w.assert_consistent().await;
}

#[tokio::test]
async fn a_webhook_whose_dynamo_work_cannot_fit_fails_clearly_and_a_redelivery_applies_it() {
    let w = world().await;
    // 4 s: room for the read of the installation from GitHub (an attempt
    // needs 1 s and the 2.5 s reserve), then one DynamoDB attempt of 2 s,
    // and no second one.
    let slow = budgeted(&w, 4).await;
    let id = delivery();
    let mut accepted = about(
        webhook("installation.new_permissions_accepted"),
        w.installation,
        "octo-org",
        1,
    );
    accepted["installation"]["permissions"] = json!({"contents": "read", "metadata": "read"});
    w.app
        .sim
        .set_installation_permissions(w.installation, &[("contents", "read"), ("metadata", "read")]);
    // The delivery's one write (the installation's update and the delivery
    // record) hangs past its 2 s attempt, and the 2 s left cannot fit a retry.
    w.proxy.inject(
        dynamo_proxy::Fault::new("TransactWriteItems", DynamoFault::Delay(Duration::from_secs(3)))
            .body_contains("\"META\""),
    );

    let failed = slow.webhook("installation", &id, &accepted).await;
    let writes = w.proxy.count("TransactWriteItems");
    w.proxy.clear_faults();
    let consistent = crate::helpers::consistency::violations(&w.app).await.is_empty();
    let redelivered = w.app.webhook("installation", &id, &accepted).await;

    // The hung write may still reach the table after the function gave up
    // on it: then the redelivery finds it applied.
    let applied = ["installation updated", "duplicate delivery: already processed"]
        .contains(&redelivered.body["result"].as_str().unwrap_or(""));
    let app = w.app.build_app().await.unwrap();
    let stored = app
        .store
        .get_installation(broker::domain::InstallationId(w.installation))
        .await
        .unwrap();
    let updated = stored
        .as_ref()
        .is_some_and(|i| i.permissions.get("metadata").map(String::as_str) == Some("read"));
    let held = failed.error_code() == "deadline_exceeded" && consistent && applied && updated;
    outcome(
        "DynamoDB hanging in a webhook with a 4 s budget",
        held,
        "503 deadline_exceeded with no retry begun, the table consistent; after a redelivery the event is applied",
    );
    assert_eq!(
        (failed.status, failed.error_code()),
        (503, "deadline_exceeded"),
        "{:?}",
        failed.body
    );
    assert_eq!(writes, 1, "one attempt of the delivery's write; no retry");
    assert!(consistent);
    assert_eq!(redelivered.status, 200, "{:?}", redelivered.body);
    assert!(applied, "{:?}", redelivered.body);
    assert!(updated, "{stored:?}");
    w.assert_consistent().await;
}

#[tokio::test]
async fn on_lambda_the_invocations_own_deadline_sets_the_budget() {
    let w = world().await;
    w.expire_user_token();
    // An invocation Lambda will kill 6 s from now: 5 s of budget once the
    // answer margin is kept, less than the refresh exchange's 4 s + 2 s. The
    // container has no configured budget: only the context can refuse it.
    let deadline = std::time::SystemTime::now() + Duration::from_secs(6);
    let mut context = lambda_runtime::Context::default();
    context.deadline = deadline.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let body = b"{}";
    let headers = [("content-type", "application/json")];
    let event = crate::helpers::events::event(
        "POST",
        "/internal/users/alice/token",
        &headers,
        Some(body),
        &crate::helpers::events::Auth::Iam,
    );
    let request = decode_event(&event).unwrap();
    let refreshes = w.app.sim.count(Counter::Refreshes);

    let response = w.app.vending.handle_lambda(request, Some(&context)).await;

    let (status, _, body) = answer(response);
    let answer: serde_json::Value = serde_json::from_str(&body.unwrap_or_default()).unwrap_or_default();
    let untouched = w.app.sim.count(Counter::Refreshes) == refreshes;
    outcome(
        "A refresh in an invocation whose Lambda deadline is 6 s away",
        status == 503 && answer["error"]["code"] == "deadline_exceeded" && untouched,
        "the Lambda context's deadline, less the answer margin, refuses the exchange before it is sent",
    );
    assert_eq!(
        (status, &answer["error"]["code"]),
        (503, &json!("deadline_exceeded")),
        "{answer:?}"
    );
    assert!(untouched);
    assert_eq!(w.user_token().await.status, 200);
}

/// Each function's longest request, with every GitHub call answering just
/// inside its 10 s budget (the deployed `GITHUB_TIMEOUT_SECONDS`), on the
/// function's own process under the Lambda runtime loop with the timeout of
/// `template.yaml`, which the emulator enforces as Lambda does: the broker
/// must answer (its 503 or 504) before Lambda would end the invocation.
/// Without the invocation's deadline, the commit's six calls alone would
/// take 57 s against 29, the callback's three 28 s, the webhook's read
/// 9.5 s against 8.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_functions_longest_request_is_answered_before_lambdas_timeout() {
    let app = crate::helpers::TestApp::spawn().await;
    let (alice, installation) = app
        .octo_org_linked_to_team_a(&[("members", "read"), ("contents", "write")])
        .await;
    let (state, code) = app.authorized(&alice, "octocat", json!({"account_id": "team-a"})).await;
    let aws = crate::helpers::moto::recorder().url();
    let start = |function| ProcessContainer::start(&app, &aws, function, "worst-case");
    let (oauth, vending, hook) = futures::join!(
        start(Function::OAuthCallback),
        start(Function::TokenVending),
        start(Function::Webhook)
    );
    // Every GitHub call answers after 9.5 s: each inside its own budget.
    app.sim.inject(Fault {
        method: None,
        path_prefix: "/".into(),
        kind: FaultKind::Delay(Duration::from_millis(9_500)),
        times: 1_000,
    });
    let callback = json!({"code": code, "state": state, "installation_id": installation});
    let commit = json!({"owner": "octo-org", "repo": "web", "branch": "main", "message": "m",
                        "files": [{"path": "a", "content": "b"}]});
    let suspend = about(webhook("installation.suspend"), installation, "octo-org", 1);
    let headers = [("content-type", "application/json")];
    let event = |path: &str, body: &serde_json::Value, auth| {
        crate::helpers::events::event("POST", path, &headers, Some(body.to_string().as_bytes()), &auth)
    };

    let (oauth_answer, vending_answer, hook_answer) = futures::join!(
        oauth.try_send(event(
            "/github/oauth/callback",
            &callback,
            crate::helpers::events::Auth::Jwt(alice.claims())
        )),
        vending.try_send(event(
            "/internal/accounts/team-a/commits",
            &commit,
            crate::helpers::events::Auth::Iam
        )),
        hook.try_send(hook_event(&suspend)),
    );
    app.sim.clear_faults();

    let mut failures = Vec::new();
    for (function, what, answer) in [
        (
            Function::OAuthCallback,
            "callback: exchange, user, installations",
            oauth_answer,
        ),
        (
            Function::TokenVending,
            "commit: mint and five Git data calls",
            vending_answer,
        ),
        (
            Function::Webhook,
            "installation event: GitHub read, then DynamoDB",
            hook_answer,
        ),
    ] {
        let lambda = lambda_timeout(function);
        let answered = match &answer {
            Ok(r) => {
                [503, 504].contains(&r.status) && ["deadline_exceeded", "github_timeout"].contains(&r.error_code())
            }
            Err(_) => false,
        };
        record(
            "Faults",
            &format!(
                "Longest request of {} ({what}), GitHub at the edge of its budget, Lambda timeout {lambda} s",
                function.name()
            ),
            1,
            u64::from(answered),
            "answered by the broker (503/504) before Lambda's timeout ends the invocation",
        );
        if !answered {
            failures.push(format!("{}: {:?}", function.name(), answer.map(|r| (r.status, r.body))));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A signed webhook delivery's Lambda event.
fn hook_event(payload: &serde_json::Value) -> serde_json::Value {
    let body = serde_json::to_vec(payload).unwrap();
    let signature = broker::crypto::signature::sign(crate::helpers::app::WEBHOOK_SECRET, &body);
    let id = delivery();
    let headers = [
        ("content-type", "application/json"),
        ("x-github-event", "installation"),
        ("x-github-delivery", id.as_str()),
        ("x-hub-signature-256", signature.as_str()),
    ];
    crate::helpers::events::event("POST", "/", &headers, Some(&body), &crate::helpers::events::Auth::None)
}
