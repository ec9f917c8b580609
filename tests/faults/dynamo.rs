//! DynamoDB throttling and errors on each write of the broker's multi-item
//! operations. The SDK tries each request 3 times; the broker retries the
//! writes that hold what only GitHub could give again (a rotated refresh
//! token, a new grant) 3 times more. Either the caller gets its answer or a
//! clear 503/500, and no item is left half-written.

use broker::api::Function;
use dynamo_proxy::{Fault, FaultKind};
use github_sim::Counter;
use serde_json::json;

use super::{outcome, world, Attempts};
use crate::helpers::fixtures::{about, delivery, webhook};

/// Throttled on every one of the SDK's three attempts of one request.
fn throttled(op: &str, requests: u64) -> Fault {
    Fault::new(op, FaultKind::Throttling).times(3 * requests)
}

#[tokio::test]
async fn a_link_throttled_throughout_is_a_503_and_leaves_no_half_link() {
    let w = world().await;
    let other = w
        .app
        .sim
        .install("octocat", github_sim::RepoSelection::All, &[("metadata", "read")]);
    w.proxy.inject(throttled("TransactWriteItems", 1));

    let refused = w.app.link(&w.alice, "team-a", other).await;
    let tries = w.dynamo("TransactWriteItems");
    w.assert_consistent().await;
    let linked_after = w.app.link(&w.alice, "team-a", other).await;

    let held = refused.status == 503 && tries == 3 && linked_after.status == 200;
    outcome(
        "DynamoDB throttling on a link's transaction",
        held,
        "503 store_throttled after the SDK's 3 attempts; both halves or neither",
    );
    assert_eq!(
        (refused.status, refused.error_code()),
        (503, "store_throttled"),
        "{:?}",
        refused.body
    );
    assert_eq!(tries, 3);
    assert_eq!(linked_after.status, 200);
    w.assert_consistent().await;
    Attempts::observed(&w).assert_fit(Function::TokenVending);
}

#[tokio::test]
async fn a_connection_write_throttled_after_the_code_exchange_is_retried_and_kept() {
    let w = world().await;
    let bob = crate::helpers::User::new("bob", &[]);
    w.app.sim.add_user("hubot");
    let (state, code) = w.app.authorized(&bob, "hubot", json!({})).await;
    w.proxy.reset_counts();
    // Both retries of the broker's first try are throttled; its second try lands.
    w.proxy.inject(throttled("UpdateItem", 1).body_contains("USER#bob"));

    let connected = w.app.callback(&bob, json!({"code": code, "state": state})).await;
    let tries = w.dynamo("UpdateItem");

    let held = connected.status == 200 && tries == 5;
    outcome(
        "DynamoDB throttling on storing a new connection after the code exchange",
        held,
        "connected: the spent code's tokens are stored by the broker's retry",
    );
    assert_eq!(connected.status, 200, "{:?}", connected.body);
    assert_eq!(
        tries, 5,
        "the state's use, 3 throttled attempts, then the broker's retry"
    );
    let status = w.app.frontend(&bob, "GET", "/github/user", None).await;
    assert_eq!(status.body["login"], "hubot");
    w.assert_consistent().await;
    // The SDK's two backoffs and the broker's pause before its retry.
    Attempts::observed(&w).assert_fit(Function::OAuthCallback);
}

#[tokio::test]
async fn storing_a_refresh_github_already_rotated_survives_throttling_and_keeps_the_new_refresh_token() {
    let w = world().await;
    w.expire_user_token();
    // The completion is the only write carrying the token expiries; its
    // first two tries (3 SDK attempts each) are throttled, the third lands.
    w.proxy
        .inject(throttled("UpdateItem", 2).body_contains("refresh_expires_at"));

    let answer = w.user_token().await;
    let tries = w.proxy.counts().get("UpdateItem").copied().unwrap_or(0);

    let live = w.app.sim.live_user_tokens("octocat");
    let held = answer.status == 200 && live.contains(&answer.body["token"].as_str().unwrap_or("").to_owned());
    outcome(
        "DynamoDB throttling on storing a refresh GitHub already rotated",
        held,
        "the new token, stored by the broker's retry: the refresh token is not lost",
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(live.contains(&answer.body["token"].as_str().unwrap().to_owned()));
    assert_eq!(w.app.sim.count(Counter::Refreshes), 1);
    assert_eq!(tries, 1 + 6 + 1, "lease, 6 throttled attempts, the write that landed");
    w.assert_consistent().await;
    // Four SDK backoffs and two pauses of the broker's retry.
    Attempts::observed(&w).assert_fit(Function::TokenVending);
    w.assert_refresh_token_kept().await;
}

const DUPLICATE: &str = "duplicate delivery: already processed";

#[tokio::test]
async fn an_uninstall_throttled_mid_cleanup_fails_clearly_vends_nothing_and_a_redelivery_finishes_it() {
    let w = world().await;
    let id = delivery();
    let deleted = about(webhook("installation.deleted"), w.installation, "octo-org", 1);
    // The tombstone is written, then the links' batch delete is throttled throughout.
    w.proxy.inject(throttled("BatchWriteItem", 1));

    let failed = w.app.webhook("installation", &id, &deleted).await;
    let tries = w.dynamo("BatchWriteItem");
    let vend = w.app.vend("team-a", w.installation, json!({})).await;
    let listed = w.linked().await;
    let redelivered = w.app.webhook("installation", &id, &deleted).await;

    let held =
        failed.status == 503 && vend.status == 403 && listed.is_empty() && redelivered.body["result"] == DUPLICATE;
    outcome(
        "DynamoDB throttling in the middle of installation.deleted's cleanup",
        held,
        "503 so GitHub shows a failed delivery; the tombstone already refuses vends; a redelivery, a duplicate, completes the cleanup",
    );
    assert_eq!(
        (failed.status, failed.error_code()),
        (503, "store_throttled"),
        "{:?}",
        failed.body
    );
    assert_eq!(tries, 3);
    assert_eq!(
        (vend.status, vend.error_code()),
        (403, "installation_not_linked"),
        "{:?}",
        vend.body
    );
    assert_eq!(listed, Vec::<serde_json::Value>::new());
    assert_eq!(redelivered.status, 200, "{:?}", redelivered.body);
    assert_eq!(
        redelivered.body["result"], DUPLICATE,
        "the tombstone was applied and recorded with the delivery"
    );
    w.assert_consistent().await;
    Attempts::observed(&w).assert_fit(Function::Webhook);
}

#[tokio::test]
async fn a_minted_token_whose_recording_is_throttled_is_revoked_not_handed_out_and_the_lease_freed() {
    let w = world().await;
    w.proxy.inject(throttled("TransactWriteItems", 1));

    let vend = w.app.vend("team-a", w.installation, json!({})).await;
    let tries = w.dynamo("TransactWriteItems");
    w.assert_consistent().await;
    let again = w.app.vend("team-a", w.installation, json!({})).await;

    // Only a recorded token is handed out: an unlink or an incident
    // revocation could not find any other. The one minted is revoked.
    let minted_then_revoked = w.app.sim.count_path("DELETE", "/installation/token") == 1;
    let held = vend.status == 503 && minted_then_revoked && again.status == 200;
    outcome(
        "DynamoDB throttling on recording a minted token",
        held,
        "503, the minted token revoked at GitHub (never handed out unrecorded); the lease is freed, no stale wait",
    );
    assert_eq!(
        (vend.status, vend.error_code()),
        (503, "store_throttled"),
        "{:?}",
        vend.body
    );
    assert!(minted_then_revoked);
    assert_eq!(tries, 3);
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(
        w.app.sim.count(Counter::Mints(w.installation)),
        2,
        "nothing was recorded, so one more mint"
    );
    Attempts::observed(&w).assert_fit(Function::TokenVending);
}

#[tokio::test]
async fn a_dynamodb_that_does_not_answer_is_cut_off_by_the_attempt_timeout() {
    let w = world().await;
    // One BatchGetItem (the vend's snapshot) hangs far beyond any budget.
    w.proxy.inject(Fault::new(
        "BatchGetItem",
        FaultKind::Delay(std::time::Duration::from_secs(120)),
    ));

    let vend = w.app.vend("team-a", w.installation, json!({})).await;

    let tries = w.dynamo("BatchGetItem");
    outcome(
        "DynamoDB request that never answers",
        vend.status == 200 && tries == 2,
        "the attempt is abandoned after DYNAMO_ATTEMPT_TIMEOUT and retried",
    );
    assert_eq!(vend.status, 200, "{:?}", vend.body);
    assert_eq!(tries, 2);
    Attempts::observed(&w).assert_fit(Function::TokenVending);
}

#[tokio::test]
async fn internal_errors_on_a_vend_from_the_cache_are_retried_then_a_clear_500() {
    let w = world().await;
    assert_eq!(w.app.vend("team-a", w.installation, json!({})).await.status, 200);
    w.proxy.reset_counts();
    w.proxy
        .inject(Fault::new("BatchGetItem", FaultKind::InternalServerError).times(2));
    let served = w.app.vend("team-a", w.installation, json!({})).await;
    w.proxy
        .inject(Fault::new("BatchGetItem", FaultKind::InternalServerError).times(3));
    let failed = w.app.vend("team-a", w.installation, json!({})).await;

    let held = served.status == 200 && failed.status == 500 && w.dynamo("BatchGetItem") == 6;
    outcome(
        "DynamoDB 500s on a vend from the cache",
        held,
        "two absorbed by the SDK's retries; three are a clear 500 internal_error",
    );
    assert_eq!(served.status, 200);
    assert_eq!((failed.status, failed.error_code()), (500, "internal_error"));
    assert_eq!(w.dynamo("BatchGetItem"), 6);
    assert_eq!(w.app.sim.count(Counter::Mints(w.installation)), 1);
}
