//! `installation.deleted` writes the tombstone, then removes the links and
//! cached tokens. When the removal fails (DynamoDB throttling, the request's
//! deadline), links to the tombstoned installation remain, and GitHub does
//! not redeliver on its own. No read may show or use such a link, and the
//! first read or event that meets one finishes the cleanup.

use std::time::Duration;

use dynamo_proxy::{Fault, FaultKind};
use github_sim::RepoSelection;
use serde_json::{json, Value};

use super::{outcome, world, World};
use crate::helpers::app::TestResponse;
use crate::helpers::consistency::violations;
use crate::helpers::fixtures::{about, delivery, webhook};

/// An installation on a new organisation `org`, linked to team-a, uninstalled
/// on GitHub, whose deletion webhook failed after its tombstone (`fault` on
/// the cleanup). Returns its id, with the leftover link checked to be there.
async fn leftover(w: &World, org: &str, fault: Fault, container: Option<&crate::helpers::app::Container>) -> u64 {
    w.app.sim.add_org(org, &["octocat"]);
    let id = w
        .app
        .sim
        .install(org, RepoSelection::All, &[("members", "read"), ("metadata", "read")]);
    assert_eq!(w.app.link(&w.alice, "team-a", id).await.status, 200);
    w.app.sim.uninstall(id);
    w.proxy.inject(fault);
    let deleted = about(webhook("installation.deleted"), id, org, id);
    let sender = container.unwrap_or(&w.app.container);
    let failed = sender.webhook("installation", &delivery(), &deleted).await;
    w.proxy.clear_faults();
    assert_eq!(failed.status, 503, "{:?}", failed.body);
    let broken = violations(&w.app).await;
    assert!(
        broken.iter().any(|v| v.contains("to a deleted installation")),
        "the cleanup was meant to be cut short: {broken:?}"
    );
    id
}

fn throttled_cleanup() -> Fault {
    Fault::new("BatchWriteItem", FaultKind::Throttling).times(3)
}

fn listed_ids(listing: &TestResponse) -> Vec<u64> {
    listing.body["installations"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["id"].as_u64()).collect())
        .unwrap_or_default()
}

/// Asserts `read` neither shows nor uses the leftover link, and that the
/// table is consistent afterwards (the read finished the cleanup).
async fn check(w: &World, case: &str, read: &TestResponse, used: bool) {
    let cleaned = violations(&w.app).await.is_empty();
    outcome(
        &format!("A link left by an unfinished installation.deleted, met by {case}"),
        !used && cleaned,
        "never shown or used; the read finishes the cleanup",
    );
    assert!(!used, "{case} used the leftover link: {:?}", read.body);
    assert!(cleaned, "{case} did not finish the cleanup");
    w.assert_consistent().await;
}

#[tokio::test]
async fn listing_an_accounts_installations_neither_shows_nor_keeps_a_leftover_link() {
    let w = world().await;
    let id = leftover(&w, "org-list", throttled_cleanup(), None).await;
    let listing = w
        .app
        .frontend(&w.alice, "GET", "/accounts/team-a/installations", None)
        .await;
    assert_eq!(listing.status, 200, "{:?}", listing.body);
    assert_eq!(listed_ids(&listing), vec![w.installation]);
    check(
        &w,
        "listing the account's installations",
        &listing,
        listed_ids(&listing).contains(&id),
    )
    .await;
}

#[tokio::test]
async fn vending_by_id_and_by_owner_refuse_a_leftover_link_and_finish_the_cleanup() {
    let w = world().await;
    let id = leftover(&w, "org-vend", throttled_cleanup(), None).await;
    let vend = w.app.vend("team-a", id, json!({})).await;
    assert_eq!((vend.status, vend.error_code()), (403, "installation_not_linked"));
    check(&w, "a vend by installation id", &vend, vend.status == 200).await;

    let id = leftover(&w, "org-owner", throttled_cleanup(), None).await;
    let owner = w
        .app
        .internal("POST", "/internal/accounts/team-a/token", json!({"owner": "org-owner"}))
        .await;
    assert_eq!((owner.status, owner.error_code()), (403, "installation_not_linked"));
    check(&w, "a vend by owner", &owner, owner.status == 200).await;
    assert_eq!(w.app.sim.count(github_sim::Counter::Mints(id)), 0);
}

#[tokio::test]
async fn a_later_event_for_the_deleted_installation_finishes_a_cleanup_the_deadline_cut_short() {
    let w = world().await;
    // The webhook has 3 s: the tombstone is written with the delivery, the
    // cleanup's query hangs past its 2 s attempt, and its retry cannot start.
    let slow = w
        .app
        .container_behind(&w.proxy, |c| c.request_budget = Some(Duration::from_secs(3)))
        .await;
    let hang = Fault::new("Query", FaultKind::Delay(Duration::from_secs(3))).body_contains("INST#");
    let id = leftover(&w, "org-late", hang, Some(&slow)).await;

    let mut suspended: Value = about(webhook("installation.suspend"), id, "org-late", id);
    suspended["installation"]["suspended_at"] = json!("2026-01-01T00:00:00Z");
    let event = w.app.webhook("installation", &delivery(), &suspended).await;
    assert_eq!(event.status, 200, "{:?}", event.body);
    // GitHub no longer knows it: the event is a deletion, finished now.
    assert_eq!(event.body["result"], "installation deleted");
    check(&w, "a later event for the installation", &event, false).await;
}
