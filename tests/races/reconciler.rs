//! The reconciler racing live webhooks, round after round. In each round
//! one installation changes on GitHub while a run is under way, at a moment
//! that moves from round to round (before, during or after the run's slow
//! read of the installations), and every third change's delivery is lost. Each round must end with the table on GitHub's state: at once when
//! the delivery came (a run that read the older state never overwrites the
//! webhook's newer one), after one more run when it was lost.

use std::time::Duration;

use broker::domain::reconcile::PASS_INTERVAL;
use github_sim::RepoSelection;

use super::scaled;
use crate::helpers::consistency::assert_consistent;
use crate::helpers::receiver::Receiver;
use crate::helpers::reconcile::{advance_both, on_github, reconcile, settled, stored};
use crate::helpers::reliability::record_cases;
use crate::helpers::{TestApp, User};

const INSTALLATIONS: usize = 3;
const SLOW_READ: Duration = Duration::from_millis(400);

fn permissions(contents: &str) -> [(&str, &str); 2] {
    [("members", "read"), ("contents", contents)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_racing_live_webhooks_end_every_round_on_githubs_state() {
    let app = TestApp::spawn().await;
    let _receiver = Receiver::start(&app).await;
    app.sim.add_user("octocat");
    let alice = User::new("alice", &["team-a"]);
    assert_eq!(app.connect(&alice, "octocat").await.status, 200);
    let mut ids = Vec::new();
    for i in 0..INSTALLATIONS {
        let org = format!("race-org-{i}");
        app.sim.add_org(&org, &["octocat"]);
        app.sim.add_repo(&org, "r1", false);
        let id = app.sim.install(&org, RepoSelection::All, &permissions("write"));
        assert_eq!(app.link(&alice, "team-a", id).await.status, 200);
        ids.push(id);
    }
    settled(&app, app.sim.webhook_deliveries().len()).await;
    let broker = app.build_app().await.unwrap();
    let mut suspended = [false; INSTALLATIONS];
    let mut writes = [true; INSTALLATIONS];

    let rounds = scaled(12);
    let mut failures = Vec::new();
    for round in 0..rounds {
        // A pass may begin, and the change gets a later `updated_at` than
        // the last one (GitHub's has whole seconds).
        advance_both(&app, PASS_INTERVAL);
        let which = round % INSTALLATIONS;
        let id = ids[which];
        let flips_suspension = round % 2 == 0;
        let lost = round % 3 == 2;
        let delay = Duration::from_millis((round as u64 * 97) % 700);
        let before = app.sim.webhook_deliveries().len();
        if lost {
            app.sim.fault_webhooks(0, 1);
        }
        // GitHub's answer to the run's read is made at once and arrives
        // late: a change in that window reaches the table by its webhook
        // before the run, holding the older state, writes.
        app.sim.inject(github_sim::Fault {
            method: Some("GET".into()),
            path_prefix: "/app/installations".into(),
            kind: github_sim::FaultKind::SlowAnswer(SLOW_READ),
            times: 1,
        });
        let change = async {
            tokio::time::sleep(delay).await;
            match (flips_suspension, suspended[which]) {
                (true, true) => app.sim.unsuspend(id),
                (true, false) => app.sim.suspend(id),
                (false, _) => {
                    let contents = if writes[which] { "read" } else { "write" };
                    app.sim.set_installation_permissions(id, &permissions(contents));
                }
            }
        };
        let (run, ()) = tokio::join!(reconcile(&app), change);
        if flips_suspension {
            suspended[which] = !suspended[which];
        } else {
            writes[which] = !writes[which];
        }
        settled(&app, before + usize::from(!lost)).await;
        if lost {
            advance_both(&app, PASS_INTERVAL);
            reconcile(&app).await;
        }

        let mut wrong = Vec::new();
        for &id in &ids {
            let (held, github) = (stored(&broker, id).await, on_github(&broker, id).await);
            if held != github {
                wrong.push(format!("installation {id}: stored {held:?}, GitHub {github:?}"));
            }
        }
        if !wrong.is_empty() {
            let what = if flips_suspension { "suspension" } else { "permissions" };
            failures.push(format!(
                "round {round} ({what} of {id} after {delay:?}, delivery lost: {lost}; run {run}): {}",
                wrong.join("; ")
            ));
        }
    }
    record_cases(
        "Races",
        &format!(
            "reconciler against live webhooks: {rounds} rounds, a change on GitHub during each run \
             (0 to 700 ms in, around a 400 ms read), every third delivery lost"
        ),
        rounds as u64,
        &failures,
        "the table on GitHub's state after each round: at once when the delivery came, after one more run when it was lost",
    );
    assert_consistent(&app).await;
}
