//! `TransactionConflict`: DynamoDB cancels a transaction that meets another
//! one in flight on the same item instead of making it wait. moto never
//! does, so dynamo-proxy answers it in moto's stead. A delivery's
//! transaction is tried again a bounded number of times; past that, the
//! delivery fails clearly and nothing of it is written.

use broker::api::Function;
use dynamo_proxy::{Fault, FaultKind};
use serde_json::{json, Value};

use super::{outcome, world, Attempts, World};
use crate::helpers::fixtures::{about, delivery, webhook};

const UPDATED: &str = "installation updated";
const DUPLICATE: &str = "duplicate delivery: already processed";

fn conflicts(times: u64) -> Fault {
    Fault::new("TransactWriteItems", FaultKind::TransactionConflict)
        .body_contains("DELIVERY#")
        .times(times)
}

async fn status(w: &World) -> Value {
    let listed = w
        .app
        .frontend(&w.alice, "GET", "/accounts/team-a/installations", None)
        .await;
    listed.body["installations"][0]["status"].clone()
}

#[tokio::test]
async fn a_delivery_whose_transaction_conflicts_is_tried_again_and_applied_once() {
    let w = world().await;
    let id = delivery();
    let suspend = about(webhook("installation.suspend"), w.installation, "octo-org", 1);
    w.proxy.inject(conflicts(3));

    let answer = w.app.webhook("installation", &id, &suspend).await;
    let tries = w.dynamo("TransactWriteItems");
    let now = status(&w).await;
    let again = w.app.webhook("installation", &id, &suspend).await;

    let held = answer.body["result"] == UPDATED && now == "suspended" && again.body["result"] == DUPLICATE;
    outcome(
        "TransactionConflict on a webhook delivery's transaction, three times",
        held,
        "tried again after a short backoff: applied once, and its redelivery is a duplicate",
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["result"], UPDATED);
    assert_eq!(tries, 4, "three cancelled, the fourth written");
    assert_eq!(now, "suspended");
    assert_eq!(again.body["result"], DUPLICATE);
    w.assert_consistent().await;
    Attempts {
        dynamo_retries: 3,
        ..Default::default()
    }
    .assert_fit(Function::Webhook);
}

#[tokio::test]
async fn a_delivery_that_keeps_conflicting_fails_with_503_writes_nothing_and_its_redelivery_applies() {
    let w = world().await;
    let id = delivery();
    let suspend = about(webhook("installation.suspend"), w.installation, "octo-org", 1);
    w.proxy.inject(conflicts(4));

    let failed = w.app.webhook("installation", &id, &suspend).await;
    let tries = w.dynamo("TransactWriteItems");
    let meanwhile = status(&w).await;
    let redelivered = w.app.webhook("installation", &id, &suspend).await;
    let after = status(&w).await;

    let held =
        failed.status == 503 && meanwhile == "active" && redelivered.body["result"] == UPDATED && after == "suspended";
    outcome(
        "TransactionConflict on every try of a webhook delivery's transaction",
        held,
        "503 store_throttled so GitHub shows a failed delivery; nothing written, not even the delivery record; the redelivery applies it",
    );
    assert_eq!(
        (failed.status, failed.error_code()),
        (503, "store_throttled"),
        "{:?}",
        failed.body
    );
    assert_eq!(tries, 4, "a bounded number of tries");
    assert_eq!(meanwhile, json!("active"), "nothing of the delivery was written");
    assert_eq!(redelivered.status, 200, "{:?}", redelivered.body);
    assert_eq!(
        redelivered.body["result"], UPDATED,
        "not a duplicate: the record was never written"
    );
    assert_eq!(after, "suspended");
    w.assert_consistent().await;
    Attempts {
        dynamo_retries: 3,
        ..Default::default()
    }
    .assert_fit(Function::Webhook);
}

#[tokio::test]
async fn a_link_whose_transaction_conflicts_is_tried_again_and_linked_once() {
    let w = world().await;
    let other = w
        .app
        .sim
        .install("octocat", github_sim::RepoSelection::All, &[("metadata", "read")]);
    // A link writes the installation's record and both halves in one
    // transaction: a webhook updating that record at the same instant
    // cancels it.
    w.proxy
        .inject(Fault::new("TransactWriteItems", FaultKind::TransactionConflict).times(2));

    let linked = w.app.link(&w.alice, "team-a", other).await;
    let tries = w.dynamo("TransactWriteItems");
    let listed = w
        .app
        .frontend(&w.alice, "GET", "/accounts/team-a/installations", None)
        .await;

    let ids: Vec<u64> = listed.body["installations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["id"].as_u64())
        .collect();
    let held = linked.status == 200 && ids.contains(&other);
    outcome(
        "TransactionConflict on a link's transaction, twice",
        held,
        "tried again: linked, both halves present once",
    );
    assert_eq!(linked.status, 200, "{:?}", linked.body);
    assert_eq!(tries, 3, "two cancelled, the third written");
    assert!(ids.contains(&other), "{ids:?}");
    w.assert_consistent().await;
    Attempts {
        dynamo_retries: 2,
        ..Default::default()
    }
    .assert_fit(Function::TokenVending);
}
