//! The world every hostile family attacks: something worth stealing or
//! breaking in each place a hostile request could reach.

use broker::domain::oauth::STATE_TTL_SECONDS;
use github_sim::RepoSelection;
use serde_json::json;

use crate::helpers::app::state_and_challenge;
use crate::helpers::fixtures::{about, delivery, webhook};
use crate::helpers::{TestApp, User};

pub struct World {
    pub app: TestApp,
    /// alice, in team-a, connected as octocat.
    pub alice: User,
    /// On octo-org (octocat is a member): linked to team-a, a token cached.
    pub installation: u64,
    /// On victim-org: octocat cannot reach it, nobody links it.
    pub foreign: u64,
    /// A repository of victim-org, outside `installation`.
    pub foreign_repo_id: u64,
    /// A delivery already processed, and its body.
    pub delivery: String,
    pub delivery_body: Vec<u8>,
    /// alice's state, consumed by her own callback.
    pub used_state: String,
    /// alice's state, started more than ten minutes ago.
    pub expired_state: String,
    /// bob's (team-b) unused states, each with its PKCE challenge.
    pub bob_states: Vec<(String, String)>,
    /// alice's unused states (for team-a), each with its PKCE challenge.
    pub alice_states: Vec<(String, String)>,
}

impl World {
    pub async fn build(pending_states: usize) -> World {
        let app = TestApp::spawn().await;
        app.sim.add_user("octocat");
        app.sim.add_user("hubot");
        app.sim.add_user("victim");
        app.sim.add_org("octo-org", &["octocat"]);
        app.sim.add_org("victim-org", &["victim"]);
        app.sim.add_repo("octo-org", "web", false);
        let foreign_repo_id = app.sim.add_repo("victim-org", "victim-repo", true);
        let installation = app.sim.install(
            "octo-org",
            RepoSelection::All,
            &[("members", "read"), ("contents", "write"), ("metadata", "read")],
        );
        let foreign = app.sim.install(
            "victim-org",
            RepoSelection::All,
            &[("members", "read"), ("contents", "write")],
        );
        let alice = User::new("alice", &["team-a"]);
        let bob = User::new("bob", &["team-b"]);

        let (expired_state, _) = app.authorized(&alice, "octocat", json!({})).await;
        app.clock.advance(STATE_TTL_SECONDS + 1);
        let (used_state, code) = app.authorized(&alice, "octocat", json!({"account_id": "team-a"})).await;
        let connected = app.callback(&alice, json!({"code": code, "state": used_state})).await;
        assert_eq!(connected.status, 200, "{:?}", connected.body);
        assert_eq!(app.link(&alice, "team-a", installation).await.status, 200);
        assert_eq!(app.vend("team-a", installation, json!({})).await.status, 200);

        let delivery = delivery();
        let delivery_body = serde_json::to_vec(&about(
            webhook("installation.created"),
            99_000_001,
            "Codertocat",
            21031067,
        ))
        .unwrap();
        let signature = super::sign(&delivery_body);
        let applied = app
            .deliver("installation", &delivery, &delivery_body, Some(&signature))
            .await;
        assert_eq!(applied.status, 200, "{:?}", applied.body);

        let mut bob_states = Vec::new();
        let mut alice_states = Vec::new();
        for _ in 0..pending_states {
            bob_states.push(start(&app, &bob, "team-b").await);
            alice_states.push(start(&app, &alice, "team-a").await);
        }
        World {
            app,
            alice,
            installation,
            foreign,
            foreign_repo_id,
            delivery,
            delivery_body,
            used_state,
            expired_state,
            bob_states,
            alice_states,
        }
    }
}

async fn start(app: &TestApp, user: &User, account: &str) -> (String, String) {
    let response = app
        .frontend(
            user,
            "POST",
            "/github/oauth/start",
            Some(json!({"account_id": account})),
        )
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    state_and_challenge(&response.body)
}
