//! Answers lost after the work was done: a refresh GitHub performed but
//! whose answer never arrived, and DynamoDB conditional writes that were
//! written but answered 500, so the SDK sent them again and the retry met
//! its own first attempt's write.

use broker::api::Function;
use dynamo_proxy::{Fault, FaultKind};
use github_sim::Counter;
use serde_json::json;

use super::{outcome, world, Attempts};
use crate::helpers::fixtures::{about, delivery, webhook};

#[tokio::test]
async fn a_refresh_github_performed_but_whose_answer_was_lost_asks_for_reauthorization_once() {
    let w = world().await;
    w.expire_user_token();
    w.app.sim.inject(github_sim::Fault {
        method: Some("POST".into()),
        path_prefix: "/login/oauth/access_token".into(),
        kind: github_sim::FaultKind::LoseAnswer,
        times: 1,
    });

    let lost = w.user_token().await;
    let next = w.user_token().await;
    let again = w.user_token().await;

    // GitHub rotated the pair, the broker never saw it: no refresh token it
    // could have kept. It says so clearly and stops calling GitHub.
    let refreshes = w.app.sim.count_path("POST", "/login/oauth/access_token");
    let held = lost.status == 502 && next.error_code() == "reauthorization_required" && again.status == 409;
    outcome(
        "refresh performed at GitHub, answer lost",
        held,
        "502 now, then 409 reauthorization_required without calling GitHub again",
    );
    assert_eq!((lost.status, lost.error_code()), (502, "github_unavailable"));
    assert_eq!(next.error_code(), "reauthorization_required", "{:?}", next.body);
    assert_eq!(again.error_code(), "reauthorization_required");
    assert_eq!(
        refreshes,
        1 + 2,
        "connect's exchange, the lost refresh, the refused one"
    );
    w.assert_consistent().await;
}

#[tokio::test]
async fn a_refresh_lease_written_but_answered_500_is_recognised_as_ours() {
    let w = world().await;
    w.expire_user_token();
    // The first UpdateItem of a refresh is the lease.
    w.proxy.inject(Fault::new("UpdateItem", FaultKind::LoseAnswer));

    let answer = w.user_token().await;

    let updates = w.dynamo("UpdateItem");
    let held = answer.status == 200 && w.app.sim.count(Counter::Refreshes) == 1 && updates == 3;
    outcome(
        "lost answer on the refresh lease's conditional write",
        held,
        "the retry's condition failure shows our own lease: refreshed at once, not after the lease runs out",
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(w.app.sim.count(Counter::Refreshes), 1);
    assert_eq!(updates, 3, "lease, its retry, the completion: no polling");
    Attempts::observed(&w).assert_fit(Function::TokenVending);
    w.assert_consistent().await;
    w.assert_refresh_token_kept().await;
}

#[tokio::test]
async fn a_refresh_completion_written_but_answered_500_keeps_the_new_refresh_token() {
    let w = world().await;
    w.expire_user_token();
    w.proxy
        .inject(Fault::new("UpdateItem", FaultKind::LoseAnswer).body_contains("refresh_expires_at"));

    let answer = w.user_token().await;

    let fired = w.proxy.armed_faults() == 0;
    let held = fired && answer.status == 200 && w.app.sim.count(Counter::Refreshes) == 1;
    outcome(
        "lost answer on storing a refreshed token (versioned write)",
        held,
        "the retry meets the bumped version; the caller gets the new token, which is stored",
    );
    assert!(fired, "the completion's answer was lost");
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let live = w.app.sim.live_user_tokens("octocat");
    assert!(live.contains(&answer.body["token"].as_str().unwrap().to_owned()));
    w.assert_consistent().await;
    w.assert_refresh_token_kept().await;
    assert_eq!(w.app.sim.count(Counter::Refreshes), 2);
}

#[tokio::test]
async fn a_delivery_written_but_answered_500_is_reported_applied() {
    let w = world().await;
    let id = delivery();
    let deleted = about(webhook("installation.deleted"), w.installation, "octo-org", 1);
    // The tombstone and the delivery record are written in one transaction.
    w.proxy
        .inject(Fault::new("TransactWriteItems", FaultKind::LoseAnswer).body_contains("DELIVERY#"));

    let answer = w.app.webhook("installation", &id, &deleted).await;
    let listed = w.linked().await;

    let fired = w.proxy.armed_faults() == 0;
    let held = fired && answer.body["result"] == "installation deleted" && listed.is_empty();
    outcome(
        "lost answer on a webhook delivery's write",
        held,
        "the retried transaction finds its own delivery record: applied, not 'duplicate'",
    );
    assert!(fired, "the delivery's answer was lost");
    assert!(w.dynamo("TransactWriteItems") >= 2, "and the write was sent again");
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["result"], "installation deleted");
    assert_eq!(listed, Vec::<serde_json::Value>::new());
    w.assert_consistent().await;
    let again = w.app.webhook("installation", &id, &deleted).await;
    assert_eq!(again.body["result"], "duplicate delivery: already processed");
}

#[tokio::test]
async fn a_mint_lease_written_but_answered_500_mints_at_once() {
    let w = world().await;
    w.proxy.inject(Fault::new("UpdateItem", FaultKind::LoseAnswer));

    let vend = w.app.vend("team-a", w.installation, json!({})).await;

    let held = vend.status == 200 && w.app.sim.count(Counter::Mints(w.installation)) == 1;
    outcome(
        "lost answer on the mint lease's conditional write",
        held,
        "the retry's condition failure shows our own lease: one mint, no wait",
    );
    assert_eq!(vend.status, 200, "{:?}", vend.body);
    assert_eq!(w.app.sim.count(Counter::Mints(w.installation)), 1);
    assert_eq!(w.dynamo("UpdateItem"), 2, "the lease and its retry; no polling");
    w.assert_consistent().await;
}

#[tokio::test]
async fn a_link_transaction_written_but_answered_500_is_linked_once() {
    let w = world().await;
    let other = w
        .app
        .sim
        .install("octocat", github_sim::RepoSelection::All, &[("metadata", "read")]);
    w.proxy.inject(Fault::new("TransactWriteItems", FaultKind::LoseAnswer));

    let linked = w.app.link(&w.alice, "team-a", other).await;
    let ids = w.linked_ids().await;
    let fired = w.proxy.armed_faults() == 0;
    let held = fired && linked.status == 200 && ids.contains(&other);
    outcome(
        "lost answer on a link's transaction",
        held,
        "the idempotent retry succeeds; both halves present once",
    );
    assert!(fired, "the link's answer was lost");
    assert!(
        w.dynamo("TransactWriteItems") >= 2,
        "and the transaction was sent again"
    );
    assert_eq!(linked.status, 200, "{:?}", linked.body);
    assert!(ids.contains(&other), "{ids:?}");
    w.assert_consistent().await;
}
