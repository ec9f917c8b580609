//! An unlink racing a storm of vends across processes: whatever token any
//! vend received, GitHub accepts none of them once the unlink has answered.

use std::time::Duration;

use broker::api::Function;
use futures::future::join_all;
use github_sim::RepoSelection;
use serde_json::json;

use super::scaled;
use crate::helpers::consistency::assert_consistent;
use crate::helpers::containers::start_many;
use crate::helpers::moto;
use crate::helpers::reliability::record;
use crate::helpers::{TestApp, User};

const PROCESSES: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unlink_racing_a_storm_of_vends_leaves_no_token_the_account_received_alive() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    for repo in ["web", "api", "docs"] {
        app.sim.add_repo("octo-org", repo, false);
    }
    let installation = app.sim.install(
        "octo-org",
        RepoSelection::All,
        &[("members", "read"), ("contents", "write"), ("metadata", "read")],
    );
    let alice = User::new("alice", &["team-a"]);
    assert_eq!(app.connect(&alice, "octocat").await.status, 200);
    let vending = start_many(
        &app,
        &moto::recorder().url(),
        Function::TokenVending,
        PROCESSES,
        "race-unlink",
    )
    .await;
    let link_path = format!("/accounts/team-a/installations/{installation}");
    let vend_path = format!("/internal/accounts/team-a/installations/{installation}/token");
    // Several scopes, so several cache keys are minted and cached at once.
    let scopes = [
        json!({}),
        json!({"repositories": ["web"]}),
        json!({"repositories": ["api"], "permissions": {"contents": "read"}}),
        json!({"permissions": {"contents": "read"}}),
    ];
    let rounds = scaled(4);
    let vends_per_round = scaled(40);

    let mut received = Vec::new();
    let mut refused_after = 0;
    for round in 0..rounds {
        let linked = vending[0].frontend(&alice, "PUT", &link_path).await;
        assert_eq!(linked.status, 200, "{:?}", linked.body);
        let vends = join_all((0..vends_per_round).map(|i| {
            let (container, body) = (&vending[i % PROCESSES], &scopes[i % scopes.len()]);
            let path = &vend_path;
            async move {
                // Spread over the unlink's moment.
                tokio::time::sleep(Duration::from_millis((i as u64 * 7) % 120)).await;
                container.internal(path, body).await
            }
        }));
        let unlink = async {
            tokio::time::sleep(Duration::from_millis(30 + 20 * round as u64)).await;
            vending[round % PROCESSES].frontend(&alice, "DELETE", &link_path).await
        };
        let (answers, unlinked) = futures::join!(vends, unlink);
        assert_eq!(unlinked.status, 200, "{:?}", unlinked.body);
        for answer in answers {
            match answer.status {
                200 => received.push(answer.body["token"].as_str().unwrap().to_owned()),
                403 if answer.error_code() == "installation_not_linked" => refused_after += 1,
                other => panic!("a vend answered {other}: {:?}", answer.body),
            }
        }
    }

    let alive: Vec<&String> = received
        .iter()
        .filter(|t| app.sim.installation_token_permissions(t).is_some())
        .collect();
    record(
        "Races",
        &format!(
            "unlink racing {vends_per_round} vends over {PROCESSES} processes, {rounds} rounds ({} tokens received, {refused_after} vends refused)",
            received.len()
        ),
        received.len() as u64,
        (received.len() - alive.len()) as u64,
        "every token the account received is dead at GitHub once the unlink answered",
    );
    assert!(!received.is_empty(), "some vends must win the race");
    assert!(
        alive.is_empty(),
        "{} of {} tokens still accepted by GitHub",
        alive.len(),
        received.len()
    );
    assert_consistent(&app).await;
}
