//! `assert_consistent`: the cross-item invariants of the table, checked on a
//! full scan after a fault or a race. Each rule is one the broker's
//! multi-item writes (transactions, tombstone then cleanup, versioned
//! connection updates, leases) are meant to keep whatever failed mid-way.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::AttributeValue;
use broker::clock::Clock;

use super::TestApp;

type Item = HashMap<String, AttributeValue>;

/// How long a lease may lie ahead of now: the broker's leases are 15 s
/// (refresh, mint) and 30 s (a delivery's claim); a little slack for the
/// time between the write and this scan.
const LONGEST_LEASE: i64 = 2 * 15 + 5;

fn s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn n(item: &Item, name: &str) -> Option<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

/// Every invariant broken by the table's current content, as sentences.
pub async fn violations(app: &TestApp) -> Vec<String> {
    let items = app.scan().await;
    let now = app.clock.now();
    let by_key: HashMap<(String, String), &Item> = items
        .iter()
        .map(|i| {
            (
                (s(i, "pk").unwrap_or("").to_owned(), s(i, "sk").unwrap_or("").to_owned()),
                i,
            )
        })
        .collect();
    let has = |pk: &str, sk: &str| by_key.contains_key(&(pk.to_owned(), sk.to_owned()));
    let deleted: HashSet<&str> = items
        .iter()
        .filter(|i| s(i, "sk") == Some("META") && i.contains_key("deleted_at"))
        .filter_map(|i| s(i, "pk"))
        .collect();
    let mut broken = Vec::new();
    for item in &items {
        let (pk, sk) = (s(item, "pk").unwrap_or(""), s(item, "sk").unwrap_or(""));
        // Links: both halves, to a live installation record.
        if let (Some(inst), Some(acct)) = (pk.strip_prefix("INST#"), sk.strip_prefix("ACCT#")) {
            if !has(&format!("ACCT#{acct}"), &format!("INST#{inst}")) {
                broken.push(format!("link {pk}/{sk} has no reverse half"));
            }
        }
        if let (Some(acct), Some(inst)) = (pk.strip_prefix("ACCT#"), sk.strip_prefix("INST#")) {
            let record = format!("INST#{inst}");
            if !has(&record, &format!("ACCT#{acct}")) {
                broken.push(format!("link {pk}/{sk} has no reverse half"));
            }
            if deleted.contains(record.as_str()) {
                broken.push(format!("link {pk}/{sk} to a deleted installation"));
            } else if !has(&record, "META") {
                broken.push(format!("link {pk}/{sk} to an installation never recorded"));
            }
        }
        // A deleted installation's partition holds its tombstone only, and
        // the tokens still to be revoked at GitHub.
        if pk.starts_with("INST#") && sk != "META" && !sk.starts_with("REVOKE#") && deleted.contains(pk) {
            broken.push(format!("{pk}/{sk} survives the installation's deletion"));
        }
        // A pending revocation keeps its token until GitHub confirms, and
        // goes by TTL after the token's own expiry at the latest.
        if sk.starts_with("REVOKE#") && (s(item, "token").is_none() || n(item, "expire_at").is_none()) {
            broken.push(format!("pending revocation {pk}/{sk} without its token or expiry"));
        }
        if sk.starts_with("TOKEN#") && !has(pk, "META") {
            broken.push(format!("cached token {pk}/{sk} of an installation never recorded"));
        }
        if pk.starts_with("USER#") && sk == "GITHUB" {
            broken.extend(connection_violations(item));
        }
        if pk.starts_with("DELIVERY#") {
            match s(item, "delivery_status") {
                Some("done") if item.contains_key("lease_owner") => {
                    broken.push(format!("delivery {pk} done but still leased"))
                }
                Some("done") => {}
                Some("processing") if n(item, "lease_until").is_none() => broken.push(format!(
                    "delivery {pk} claimed without a lease: it could never be retried"
                )),
                Some("processing") => {}
                other => broken.push(format!("delivery {pk} in state {other:?}")),
            }
        }
        // Leases end: a crashed holder never blocks others for long.
        if let Some(until) = n(item, "lease_until") {
            if until > now + LONGEST_LEASE {
                broken.push(format!("{pk}/{sk} leased until {until}, {}s from now", until - now));
            }
            if !item.contains_key("lease_owner") {
                broken.push(format!("{pk}/{sk} has a lease without an owner"));
            }
        }
    }
    broken
}

/// The user index agrees with the connection, and tokens come whole.
fn connection_violations(item: &Item) -> Vec<String> {
    let pk = s(item, "pk").unwrap_or("");
    let mut broken = Vec::new();
    let indexed = (s(item, "gsi1pk"), s(item, "gsi1sk"));
    if item.contains_key("disconnected") {
        if indexed != (None, None) || item.contains_key("access_token") {
            broken.push(format!("disconnected {pk} still indexed or holding tokens"));
        }
        return broken;
    }
    let expected_pk = n(item, "github_user_id").map(|id| format!("GHUSER#{id}"));
    if indexed.0 != expected_pk.as_deref() || indexed.1 != Some(pk) {
        broken.push(format!("{pk}: index entry {indexed:?} disagrees with the connection"));
    }
    if item.contains_key("refresh_token") && !item.contains_key("access_token") {
        broken.push(format!("{pk}: a refresh token without its access token"));
    }
    if n(item, "version").is_none() {
        broken.push(format!("{pk}: no version to fence refreshes"));
    }
    broken
}

/// Panics with every broken invariant, if any.
pub async fn assert_consistent(app: &TestApp) {
    let broken = violations(app).await;
    assert!(broken.is_empty(), "the table is inconsistent:\n{}", broken.join("\n"));
}
