//! Webhook deliveries in any order converge on GitHub's latest state.
//! GitHub does not order deliveries, retries late, and a redelivery can come
//! days later. For every ordered pair of installation events, the pair
//! happens on (simulated) GitHub in that order, its deliveries (with the
//! `created` before them) reach the broker newest first, and then each is
//! redelivered later under a fresh delivery id: the broker's record must be
//! what GitHub shows now, a link made meanwhile must not bring back an old
//! state, and a token cached before a change of what tokens reach must never
//! be served again.

use broker::domain::{Installation, InstallationId};
use github_sim::{HeldWebhook, RepoSelection};
use serde_json::json;

use crate::helpers::fixtures::delivery;
use crate::helpers::reliability::{record, record_cases};
use crate::helpers::{TestApp, User};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Suspend,
    Unsuspend,
    Permissions,
    RepositoriesAdded,
    RepositoriesRemoved,
    Renamed,
    Deleted,
}

const KINDS: [Kind; 7] = [
    Kind::Suspend,
    Kind::Unsuspend,
    Kind::Permissions,
    Kind::RepositoriesAdded,
    Kind::RepositoriesRemoved,
    Kind::Renamed,
    Kind::Deleted,
];

impl Kind {
    /// Whether the event changes what the installation's tokens reach.
    fn invalidates(self) -> bool {
        matches!(
            self,
            Kind::Permissions | Kind::RepositoriesAdded | Kind::RepositoriesRemoved
        )
    }
}

/// One installation on its own organisation, followed through a pair.
struct Subject {
    org: String,
    id: u64,
    suspended: bool,
    renames: usize,
}

impl Subject {
    /// Makes `kind` happen on GitHub, first whatever it needs (an unsuspend
    /// needs a suspended installation).
    fn happen(&mut self, app: &TestApp, kind: Kind, step: usize) {
        match kind {
            Kind::Suspend => {
                if self.suspended {
                    app.sim.unsuspend(self.id);
                }
                app.sim.suspend(self.id);
                self.suspended = true;
            }
            Kind::Unsuspend => {
                if !self.suspended {
                    app.sim.suspend(self.id);
                }
                app.sim.unsuspend(self.id);
                self.suspended = false;
            }
            Kind::Permissions => {
                let level = if step.is_multiple_of(2) { "read" } else { "write" };
                app.sim.set_installation_permissions(
                    self.id,
                    &[("members", "read"), ("contents", level), ("issues", "write")],
                );
            }
            Kind::RepositoriesAdded => app.sim.set_installation_repositories(
                self.id,
                RepoSelection::Selected(vec!["r1".into(), "r2".into(), "r3".into()]),
            ),
            Kind::RepositoriesRemoved => app
                .sim
                .set_installation_repositories(self.id, RepoSelection::Selected(vec!["r2".into()])),
            Kind::Renamed => {
                self.renames += 1;
                let new = format!("{}-v{}", self.org.split("-v").next().unwrap(), self.renames);
                app.sim.rename_account(&self.org, &new);
                self.org = new;
            }
            Kind::Deleted => app.sim.uninstall(self.id),
        }
    }
}

/// What GitHub says of the installation now, in the broker's terms.
async fn on_github(broker: &broker::App, id: u64) -> Option<Installation> {
    let creds = broker.secrets.current().await;
    broker.github.installation(&creds, InstallationId(id)).await.unwrap()
}

async fn deliver_all(app: &TestApp, held: &[HeldWebhook], fresh_ids: bool) -> Vec<u16> {
    let mut statuses = Vec::new();
    for hook in held {
        let id = if fresh_ids { delivery() } else { hook.id.clone() };
        statuses.push(app.webhook(&hook.event, &id, &hook.payload).await.status);
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ordered_pair_of_installation_events_delivered_out_of_order_and_replayed_converges() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    let alice = User::new("alice", &["team-a", "team-b"]);
    assert_eq!(app.connect(&alice, "octocat").await.status, 200);
    let broker = app.build_app().await.unwrap();
    app.sim.hold_webhooks();
    let mut failures = Vec::new();
    let mut pairs = 0;
    for (i, first) in KINDS.iter().copied().enumerate() {
        for second in KINDS {
            if first == second || first == Kind::Deleted {
                continue;
            }
            pairs += 1;
            let org = format!("pair-{i}-{pairs}");
            app.sim.add_org(&org, &["octocat"]);
            for repo in ["r1", "r2", "r3"] {
                app.sim.add_repo(&org, repo, false);
            }
            let id = app.sim.install(
                &org,
                RepoSelection::Selected(vec!["r1".into(), "r2".into()]),
                &[("members", "read"), ("contents", "write")],
            );
            let mut subject = Subject {
                org,
                id,
                suspended: false,
                renames: 0,
            };
            let created = app.sim.take_held_webhooks();
            assert_eq!(app.link(&alice, "team-a", id).await.status, 200);
            let before = app.vend("team-a", id, json!({})).await;
            assert_eq!(before.status, 200, "{:?}", before.body);

            subject.happen(&app, first, 0);
            subject.happen(&app, second, 1);
            let mut held = created;
            held.extend(app.sim.take_held_webhooks());
            held.reverse();

            let mut problems = Vec::new();
            let answers = deliver_all(&app, &held, false).await;
            if answers.iter().any(|s| *s != 200) {
                problems.push(format!("newest first: {answers:?}"));
            }
            // A link made now carries the user's view of the installation,
            // which must not undo what the webhooks wrote.
            let relink = app.link(&alice, "team-b", id).await;
            let expected = on_github(&broker, id).await;
            let stored = broker.store.get_installation(InstallationId(id)).await.unwrap();
            if stored != expected {
                problems.push(format!(
                    "after out-of-order delivery: stored {stored:?}, GitHub {expected:?}"
                ));
            }
            if expected.is_none() && relink.status == 200 {
                problems.push(format!("a link after the deletion: {}", relink.status));
            }
            let vended = app.vend("team-a", id, json!({})).await;
            let invalidated = [first, second].iter().any(|k| k.invalidates());
            match &expected {
                Some(i) if i.status == broker::domain::InstallationStatus::Active => {
                    let same = vended.body["token"] == before.body["token"];
                    if vended.status != 200 || (invalidated && same) {
                        problems.push(format!("vend after: {} (old token again: {same})", vended.status));
                    }
                }
                _ if vended.status != 403 => {
                    problems.push(format!("vend of a suspended or deleted one: {}", vended.status))
                }
                _ => {}
            }

            // Days later, every delivery again under a fresh id, oldest first.
            held.reverse();
            let replays = deliver_all(&app, &held, true).await;
            let stored = broker.store.get_installation(InstallationId(id)).await.unwrap();
            if replays.iter().any(|s| *s != 200) || stored != expected {
                problems.push(format!(
                    "after replays {replays:?}: stored {stored:?}, GitHub {expected:?}"
                ));
            }
            let again = app.vend("team-a", id, json!({})).await;
            if again.status == 200 && invalidated && again.body["token"] == before.body["token"] {
                problems.push("a token cached before the change was served after the replays".into());
            }
            if !problems.is_empty() {
                failures.push(format!("{first:?} then {second:?}: {}", problems.join("; ")));
            }
        }
    }
    record_cases(
        "Webhooks",
        "Every ordered pair of installation events, delivered newest first, then each replayed later under a fresh id",
        pairs,
        &failures,
        "the record is GitHub's latest state; no old token served again; a link meanwhile undoes nothing",
    );
}

/// Two deliveries in flight at once: the suspend's read of GitHub is made
/// first but answers late, after the unsuspend that followed it on GitHub
/// was read and written. The later read wins: the installation stays active.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_overtaken_in_flight_by_a_later_one_does_not_land() {
    let app = TestApp::spawn().await;
    let (_, id) = app
        .octo_org_linked_to_team_a(&[("members", "read"), ("contents", "read")])
        .await;
    let broker = app.build_app().await.unwrap();
    app.sim.hold_webhooks();
    app.sim.suspend(id);
    let suspend = app.sim.take_held_webhooks().remove(0);
    app.sim.inject(github_sim::Fault {
        method: Some("GET".into()),
        path_prefix: format!("/app/installations/{id}"),
        kind: github_sim::FaultKind::SlowAnswer(std::time::Duration::from_millis(3000)),
        times: 1,
    });

    let slow = tokio::spawn({
        let container = app.new_container().await;
        async move { container.webhook(&suspend.event, &suspend.id, &suspend.payload).await }
    });
    while app.sim.count_path("GET", &format!("/app/installations/{id}")) == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    app.sim.unsuspend(id);
    let unsuspend = app.sim.take_held_webhooks().remove(0);
    let fast = app.webhook(&unsuspend.event, &unsuspend.id, &unsuspend.payload).await;
    let slow = slow.await.unwrap();

    let stored = broker
        .store
        .get_installation(InstallationId(id))
        .await
        .unwrap()
        .unwrap();
    let held = fast.body["result"] == "installation updated"
        && slow.body["result"] == "installation already up to date"
        && stored.status == broker::domain::InstallationStatus::Active;
    record(
        "Webhooks",
        "A suspend whose read of GitHub is overtaken in flight by the unsuspend after it",
        1,
        u64::from(held),
        "the later read's state stays: active",
    );
    assert_eq!(fast.body["result"], "installation updated", "{:?}", fast.body);
    assert_eq!(
        slow.body["result"], "installation already up to date",
        "{:?}",
        slow.body
    );
    assert_eq!(stored.status, broker::domain::InstallationStatus::Active);
    assert_eq!(app.vend("team-a", id, json!({})).await.status, 200);
}
