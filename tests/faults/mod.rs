//! Faults injected at GitHub (the simulator) and between the broker and
//! DynamoDB (the `dynamo-proxy` in front of moto). For each: the caller gets a
//! clear error or a correct answer, the number of attempts is bounded and
//! their worst-case time fits the function's Lambda timeout (computed, never
//! measured), the table is consistent afterwards, and no refresh token the
//! broker could have kept is lost.

mod conflicts;
mod deadline;
mod dynamo;
mod github;
mod leftover_links;
mod lost_answers;

use broker::api::Function;
use dynamo_proxy::DynamoProxy;
use github_sim::RepoSelection;

use crate::helpers::consistency::assert_consistent;
use crate::helpers::reliability::record;
use crate::helpers::{TestApp, User};

use std::time::Duration;

pub use crate::helpers::containers::lambda_timeout;

/// The worst case the faults of a scenario added to its requests, from what
/// the run observed: each GitHub request a fault was applied to bounded by
/// the broker's configured budget for a call, each DynamoDB request a fault
/// delayed (or whose answer it lost) by the broker's attempt timeout, and
/// each faulted DynamoDB request followed by the SDK's longest backoff (its
/// standard retry: 1 s, then 2 s) before its retry.
#[derive(Debug, Clone, Copy)]
pub struct Attempts {
    pub github_calls: u64,
    pub dynamo_hung: u64,
    pub dynamo_retries: u64,
    github_call: Duration,
}

/// The AWS SDK's standard retry waits at most this long before a retry.
const SDK_BACKOFF: Duration = Duration::from_secs(2);

impl Attempts {
    /// What the faults of `w`'s run did, with `w`'s configured budgets.
    pub fn observed(w: &World) -> Self {
        let (fired, hung) = w.proxy.faults_fired();
        Self {
            github_calls: w.app.sim.faults_fired() as u64,
            dynamo_hung: hung,
            dynamo_retries: fired,
            github_call: w.app.config().github_timeout,
        }
    }

    pub fn worst_case(&self) -> Duration {
        let n = |count: u64| u32::try_from(count).unwrap_or(u32::MAX);
        self.github_call * n(self.github_calls)
            + broker::store::dynamo::DYNAMO_ATTEMPT_TIMEOUT * n(self.dynamo_hung)
            + SDK_BACKOFF * n(self.dynamo_retries)
    }

    /// Asserts that a fault did fire, and that the worst case it added fits
    /// the function's Lambda timeout in `template.yaml`.
    pub fn assert_fit(&self, function: Function) {
        assert!(
            self.github_calls + self.dynamo_retries > 0,
            "no injected fault fired: the scenario tested nothing"
        );
        let limit = Duration::from_secs(lambda_timeout(function));
        assert!(
            self.worst_case() <= limit,
            "{self:?}: worst case {:?} exceeds {}'s Lambda timeout of {limit:?}",
            self.worst_case(),
            function.name()
        );
    }
}

/// The outcome of one faulted scenario, recorded before it is asserted.
pub fn outcome(case: &str, held: bool, expectation: &str) {
    record("Faults", case, 1, u64::from(held), expectation);
}

/// A broker behind the proxy; alice (team-a) connected as octocat, who
/// administers octo-org, where the app is installed and linked to team-a.
pub struct World {
    pub app: TestApp,
    pub proxy: DynamoProxy,
    pub alice: User,
    pub installation: u64,
}

pub async fn world() -> World {
    let (app, proxy) = TestApp::spawn_behind_proxy().await;
    app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    app.sim.add_repo("octo-org", "web", false);
    let permissions = [
        ("administration", "write"),
        ("contents", "write"),
        ("members", "read"),
        ("metadata", "read"),
    ];
    let installation = app.sim.install("octo-org", RepoSelection::All, &permissions);
    let alice = User::new("alice", &["team-a"]);
    assert_eq!(app.connect(&alice, "octocat").await.status, 200);
    assert_eq!(app.link(&alice, "team-a", installation).await.status, 200);
    proxy.reset_counts();
    World {
        app,
        proxy,
        alice,
        installation,
    }
}

impl World {
    /// Makes alice's stored user token due for a refresh.
    pub fn expire_user_token(&self) {
        self.app.clock.advance(8 * 3600 - 120);
    }

    pub async fn user_token(&self) -> crate::helpers::app::TestResponse {
        self.app
            .internal("POST", "/internal/users/alice/token", serde_json::json!({}))
            .await
    }

    /// The stored refresh token is the newest GitHub issued: another refresh
    /// (after the next expiry) works, without the user reconnecting.
    pub async fn assert_refresh_token_kept(&self) {
        self.app.clock.advance(8 * 3600);
        let next = self.user_token().await;
        assert_eq!(next.status, 200, "the refresh token was lost: {:?}", next.body);
        assert!(self
            .app
            .sim
            .live_user_tokens("octocat")
            .contains(&next.body["token"].as_str().unwrap().to_owned()));
    }

    pub async fn assert_consistent(&self) {
        assert_consistent(&self.app).await;
    }

    /// team-a's installations, as alice lists them.
    pub async fn linked(&self) -> Vec<serde_json::Value> {
        let listed = self
            .app
            .frontend(&self.alice, "GET", "/accounts/team-a/installations", None)
            .await;
        assert_eq!(listed.status, 200, "{:?}", listed.body);
        listed.body["installations"].as_array().cloned().unwrap_or_default()
    }

    /// The ids of [`World::linked`].
    pub async fn linked_ids(&self) -> Vec<u64> {
        self.linked().await.iter().filter_map(|i| i["id"].as_u64()).collect()
    }

    /// DynamoDB requests of one operation since the last reset.
    pub fn dynamo(&self, op: &str) -> u64 {
        self.proxy.count(op)
    }
}

#[test]
fn the_lambda_timeouts_are_read_from_the_template() {
    assert_eq!(lambda_timeout(Function::TokenVending), 29);
    assert_eq!(lambda_timeout(Function::OAuthCallback), 29);
    assert_eq!(lambda_timeout(Function::Webhook), 8);
    let all = Attempts {
        github_calls: 1,
        dynamo_hung: 3,
        dynamo_retries: 2,
        github_call: Duration::from_secs(10),
    };
    assert_eq!(all.worst_case(), Duration::from_secs(10 + 3 * 2 + 2 * 2));
}
