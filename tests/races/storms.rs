//! Storms: many callers at once for the same user token, the same
//! installation token, the same webhook delivery.

use broker::api::Function;
use github_sim::{Counter, RepoSelection};
use serde_json::json;

use super::{scaled, storm};
use crate::helpers::consistency::assert_consistent;
use crate::helpers::containers::start_many;
use crate::helpers::fixtures::{about, delivery, webhook};
use crate::helpers::moto;
use crate::helpers::reliability::record;
use crate::helpers::{TestApp, User};

const PROCESSES: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_storm_over_four_processes_makes_one_refresh_and_everyone_gets_the_live_token() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    // The token stored at connection has under 5 minutes left, for real:
    // the processes read the system clock, not the test's.
    app.sim.set_user_token_lifetime(200);
    let alice = User::new("alice", &[]);
    assert_eq!(app.connect(&alice, "octocat").await.status, 200);
    app.sim.set_user_token_lifetime(8 * 3600);
    let containers = start_many(
        &app,
        &moto::recorder().url(),
        Function::TokenVending,
        PROCESSES,
        "race-refresh",
    )
    .await;
    let n = scaled(200);
    let empty = json!({});

    let answers = storm(&containers, n, |c, _| c.internal("/internal/users/alice/token", &empty)).await;

    let refreshes = app.sim.count(Counter::Refreshes);
    let live = app.sim.live_user_tokens("octocat");
    let first = answers[0].body["token"].clone();
    let held = answers
        .iter()
        .filter(|a| a.status == 200 && a.body["token"] == first && live.contains(&first.as_str().unwrap_or("").into()))
        .count();
    record(
        "Races",
        &format!(
            "refresh storm: {n} requests for one expiring user token over {PROCESSES} processes ({refreshes} refresh)"
        ),
        n as u64,
        held as u64,
        "exactly 1 refresh at GitHub; every caller gets the live new token",
    );
    assert_eq!(refreshes, 1);
    assert_eq!(
        held,
        n,
        "{:?}",
        answers.iter().find(|a| a.status != 200).map(|a| &a.body)
    );
    assert_consistent(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mint_storm_over_four_processes_mints_once() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    let installation = app.sim.install(
        "octo-org",
        RepoSelection::All,
        &[("members", "read"), ("contents", "write")],
    );
    let alice = User::new("alice", &["team-a"]);
    assert_eq!(app.connect(&alice, "octocat").await.status, 200);
    assert_eq!(app.link(&alice, "team-a", installation).await.status, 200);
    let containers = start_many(
        &app,
        &moto::recorder().url(),
        Function::TokenVending,
        PROCESSES,
        "race-mint",
    )
    .await;
    let path = format!("/internal/accounts/team-a/installations/{installation}/token");
    let body = json!({"permissions": {"contents": "read"}});
    let n = scaled(400);

    let answers = storm(&containers, n, |c, _| c.internal(&path, &body)).await;

    let mints = app.sim.count(Counter::Mints(installation));
    let first = answers[0].body["token"].clone();
    let held = answers
        .iter()
        .filter(|a| a.status == 200 && a.body["token"] == first)
        .count();
    record(
        "Races",
        &format!("mint storm: {n} vends of one installation and scope over {PROCESSES} processes ({mints} mint)"),
        n as u64,
        held as u64,
        "exactly 1 mint at GitHub; every caller gets that token",
    );
    assert_eq!(mints, 1);
    assert_eq!(
        held,
        n,
        "{:?}",
        answers.iter().find(|a| a.status != 200).map(|a| &a.body)
    );
    assert_consistent(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_duplicate_webhook_storm_over_four_processes_is_applied_once() {
    let app = TestApp::spawn().await;
    let containers = start_many(
        &app,
        &moto::recorder().url(),
        Function::Webhook,
        PROCESSES,
        "race-webhook",
    )
    .await;
    let octocat = app.sim.add_user("octocat");
    let installation = app.sim.install("octocat", RepoSelection::All, &[("contents", "read")]);
    let payload = about(webhook("installation.created"), installation, "octocat", octocat);
    let id = delivery();
    let n = scaled(50);

    let answers = storm(&containers, n, |c, _| c.webhook("installation", &id, &payload)).await;

    let applied = answers
        .iter()
        .filter(|a| a.status == 200 && a.body["result"] == "installation updated")
        .count();
    let duplicates = answers
        .iter()
        .filter(|a| a.status == 200 && a.body["result"] == "duplicate delivery: already processed")
        .count();
    record(
        "Races",
        &format!("duplicate webhook storm: one delivery x{n} over {PROCESSES} processes ({applied} applied)"),
        n as u64,
        (duplicates + applied.min(1)) as u64,
        "applied exactly once; every other copy answered 200 duplicate",
    );
    assert_eq!((applied, duplicates), (1, n - 1), "{answers:?}");
    assert_consistent(&app).await;
}
