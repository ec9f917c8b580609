//! Links and unlinks racing `installation.deleted`, across processes, over
//! many rounds with the deletion let go at a different moment each time:
//! whatever the interleaving, no link to the deleted installation remains.

use std::time::Duration;

use broker::api::Function;
use futures::future::join_all;
use github_sim::RepoSelection;

use super::scaled;
use crate::helpers::consistency::violations;
use crate::helpers::containers::{start_many, ProcessContainer};
use crate::helpers::fixtures::{about, delivery, webhook};
use crate::helpers::moto;
use crate::helpers::reliability::record;
use crate::helpers::{TestApp, User};

const TEAMS: usize = 6;

fn random_below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    use std::io::Read;
    std::fs::File::open("/dev/urandom").unwrap().read_exact(&mut b).unwrap();
    u64::from_le_bytes(b) % n
}

/// Team `t`'s link, then (for odd teams) its unlink, on one vending process.
async fn link_and_maybe_unlink(vending: &ProcessContainer, alice: &User, t: usize, installation: u64) -> Vec<u16> {
    let path = format!("/accounts/team-{t}/installations/{installation}");
    let mut statuses = vec![vending.frontend(alice, "PUT", &path).await.status];
    if t % 2 == 1 {
        statuses.push(vending.frontend(alice, "DELETE", &path).await.status);
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn links_and_unlinks_racing_installation_deleted_across_processes_never_leave_a_link_to_it() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    let teams: Vec<String> = (0..TEAMS).map(|t| format!("team-{t}")).collect();
    let mut accounts: Vec<&str> = teams.iter().map(String::as_str).collect();
    accounts.push("team-pre");
    let alice = User::new("alice", &accounts);
    assert_eq!(app.connect(&alice, "octocat").await.status, 200);
    let vending = start_many(&app, &moto::recorder().url(), Function::TokenVending, 3, "race-links").await;
    let hooks = start_many(&app, &moto::recorder().url(), Function::Webhook, 1, "race-uninstall").await;
    let rounds = scaled(10);

    let mut held = 0;
    let mut failures = Vec::new();
    for round in 0..rounds {
        let org = format!("org-{round}");
        app.sim.add_org(&org, &["octocat"]);
        let installation = app
            .sim
            .install(&org, RepoSelection::All, &[("members", "read"), ("contents", "read")]);
        let deleted = about(webhook("installation.deleted"), installation, &org, 1000 + round as u64);
        // A link made before the race: the deletion always has one to
        // remove, even in a round where every racing link loses.
        let pre = vending[0]
            .frontend(
                &alice,
                "PUT",
                &format!("/accounts/team-pre/installations/{installation}"),
            )
            .await;
        assert_eq!(pre.status, 200, "{:?}", pre.body);
        let id = delivery();
        // The deletion leaves at a random moment within the links' run.
        let delay = Duration::from_millis(random_below(60));
        let links = join_all((0..TEAMS).map(|t| link_and_maybe_unlink(&vending[t % 3], &alice, t, installation)));
        let uninstall = async {
            tokio::time::sleep(delay).await;
            hooks[0].webhook("installation", &id, &deleted).await
        };
        let (statuses, uninstalled) = futures::join!(links, uninstall);

        let answered = statuses.iter().flatten().all(|s| [200, 404].contains(s));
        let inst = format!("INST#{installation}");
        let left: Vec<_> = app
            .keys()
            .await
            .into_iter()
            .filter(|(pk, sk)| (pk == &inst && sk.starts_with("ACCT#")) || (pk.starts_with("ACCT#") && sk == &inst))
            .collect();
        let broken = violations(&app).await;
        if uninstalled.status == 200 && answered && left.is_empty() && broken.is_empty() {
            held += 1;
        } else {
            failures.push(format!(
                "round {round} (delay {delay:?}): webhook {}, statuses {statuses:?}, links left {left:?}, {broken:?}",
                uninstalled.status
            ));
        }
    }
    record(
        "Races",
        &format!("link/unlink x{TEAMS} racing installation.deleted across 4 processes, {rounds} rounds"),
        rounds as u64,
        held as u64,
        "no link to the deleted installation afterwards, whatever the interleaving",
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
