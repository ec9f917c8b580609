//! `TransactionConflict`: DynamoDB cancels a transaction that meets another
//! one in flight on the same item instead of making it wait. moto never
//! does, so dynamo-proxy answers it in moto's stead. A delivery's
//! transaction is tried again a bounded number of times; past that, the
//! delivery fails clearly and nothing of it is written.

use broker::api::Function;
use dynamo_proxy::{Fault, FaultKind};
use serde_json::{json, Value};

use super::{outcome, world, Attempts, World};
use crate::helpers::app::TestResponse;
use crate::helpers::fixtures::{about, delivery, webhook};

const UPDATED: &str = "installation updated";
const DUPLICATE: &str = "duplicate delivery: already processed";

fn conflicts(times: u64) -> Fault {
    Fault::new("TransactWriteItems", FaultKind::TransactionConflict)
        .body_contains("DELIVERY#")
        .times(times)
}

async fn status(w: &World) -> Value {
    w.linked().await[0]["status"].clone()
}

/// An `installation.suspend` whose transaction conflicts `times` times,
/// then its redelivery: what each answered, how many transactions the first
/// sent, and the installation's status after each.
struct Suspend {
    w: World,
    first: TestResponse,
    tries: u64,
    between: Value,
    again: TestResponse,
    after: Value,
}

async fn suspend_conflicting(times: u64) -> Suspend {
    let w = world().await;
    let id = delivery();
    w.app.sim.suspend(w.installation);
    let suspend = about(webhook("installation.suspend"), w.installation, "octo-org", 1);
    w.proxy.inject(conflicts(times));
    let first = w.app.webhook("installation", &id, &suspend).await;
    let tries = w.dynamo("TransactWriteItems");
    let between = status(&w).await;
    let again = w.app.webhook("installation", &id, &suspend).await;
    let after = status(&w).await;
    Suspend {
        w,
        first,
        tries,
        between,
        again,
        after,
    }
}

#[tokio::test]
async fn a_delivery_whose_transaction_conflicts_is_tried_again_and_applied_once() {
    let Suspend {
        w,
        first,
        tries,
        between,
        again,
        ..
    } = suspend_conflicting(3).await;

    let held = first.body["result"] == UPDATED && between == "suspended" && again.body["result"] == DUPLICATE;
    outcome(
        "TransactionConflict on a webhook delivery's transaction, three times",
        held,
        "tried again after a short backoff: applied once, and its redelivery is a duplicate",
    );
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["result"], UPDATED);
    assert_eq!(tries, 4, "three cancelled, the fourth written");
    assert_eq!(between, "suspended");
    assert_eq!(again.body["result"], DUPLICATE);
    w.assert_consistent().await;
    Attempts::observed(&w).assert_fit(Function::Webhook);
}

#[tokio::test]
async fn a_delivery_that_keeps_conflicting_fails_with_503_writes_nothing_and_its_redelivery_applies() {
    let Suspend {
        w,
        first,
        tries,
        between,
        again,
        after,
    } = suspend_conflicting(4).await;

    let held = first.status == 503 && between == "active" && again.body["result"] == UPDATED && after == "suspended";
    outcome(
        "TransactionConflict on every try of a webhook delivery's transaction",
        held,
        "503 store_throttled so GitHub shows a failed delivery; nothing written, not even the delivery record; the redelivery applies it",
    );
    assert_eq!(
        (first.status, first.error_code()),
        (503, "store_throttled"),
        "{:?}",
        first.body
    );
    assert_eq!(tries, 4, "a bounded number of tries");
    assert_eq!(between, json!("active"), "nothing of the delivery was written");
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(
        again.body["result"], UPDATED,
        "not a duplicate: the record was never written"
    );
    assert_eq!(after, "suspended");
    w.assert_consistent().await;
    Attempts::observed(&w).assert_fit(Function::Webhook);
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
    let ids = w.linked_ids().await;
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
    Attempts::observed(&w).assert_fit(Function::TokenVending);
}
