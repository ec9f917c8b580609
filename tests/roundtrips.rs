//! Round trips the targets fix (SPEC §6: tokens are reused, not
//! minted per request): a vend served from the token cache costs one
//! DynamoDB read and no GitHub call, and a thousand vends of one scope over
//! four containers mint once. Counted by dynamo-proxy and the simulator;
//! `scripts/bench` checks the same with the release binaries as processes.

use dynamo_proxy::DynamoProxy;
use futures::future::join_all;
use github_sim::{Counter, RepoSelection};
use serde_json::json;

use crate::helpers::app::Container;
use crate::helpers::{moto, TestApp, User};

struct World {
    app: TestApp,
    installation: u64,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    app.sim.add_repo("octo-org", "web", false);
    let installation = app.sim.install(
        "octo-org",
        RepoSelection::All,
        &[("members", "read"), ("contents", "write"), ("metadata", "read")],
    );
    let alice = User::new("alice", &["team-a"]);
    app.connect(&alice, "octocat").await;
    assert_eq!(app.link(&alice, "team-a", installation).await.status, 200);
    World { app, installation }
}

/// A container of each function whose AWS calls go through `proxy`.
async fn container_behind(app: &TestApp, proxy: &DynamoProxy) -> Container {
    app.container_behind(proxy, |_| {}).await
}

#[tokio::test]
async fn a_vend_served_from_the_token_cache_is_one_dynamodb_read_its_audit_record_and_no_github_call() {
    let World { app, installation } = world().await;
    let proxy = DynamoProxy::start(&moto::endpoint()).expect("proxy starts");
    let container = container_behind(&app, &proxy).await;
    let path = format!("/internal/accounts/team-a/installations/{installation}/token");
    let scope = json!({"repositories": ["web"], "permissions": {"contents": "read"}});
    let minted = container.internal("POST", &path, scope.clone()).await;
    assert_eq!(minted.status, 200, "{:?}", minted.body);
    proxy.reset_counts();
    let github_before = app.sim.count(Counter::Requests);

    let cached = container.internal("POST", &path, scope).await;

    assert_eq!(cached.status, 200, "{:?}", cached.body);
    assert_eq!(cached.body["token"], minted.body["token"]);
    let counts = proxy.counts();
    assert_eq!(
        counts.values().sum::<u64>(),
        2,
        "one read and the audit record: {counts:?}"
    );
    let reads = ["GetItem", "BatchGetItem", "TransactGetItems", "Query"];
    assert!(
        reads.iter().any(|op| counts.get(*op) == Some(&1)),
        "one of them a read: {counts:?}"
    );
    assert_eq!(
        counts.get("PutItem"),
        Some(&1),
        "the other the audit record: {counts:?}"
    );
    assert_eq!(app.sim.count(Counter::Requests), github_before, "no GitHub call");
}

#[tokio::test]
async fn a_vend_by_owner_from_the_cache_is_two_dynamodb_reads_its_audit_record_and_no_github_call() {
    let World { app, installation } = world().await;
    // A second linked installation: the reads do not grow with the links.
    let personal = app.sim.install("octocat", RepoSelection::All, &[("contents", "read")]);
    let alice = User::new("alice", &["team-a"]);
    assert_eq!(app.link(&alice, "team-a", personal).await.status, 200);
    let proxy = DynamoProxy::start(&moto::endpoint()).expect("proxy starts");
    let container = container_behind(&app, &proxy).await;
    let body = json!({"owner": "OCTO-ORG", "permissions": {"contents": "read"}});
    let minted = container
        .internal("POST", "/internal/accounts/team-a/token", body.clone())
        .await;
    assert_eq!(minted.status, 200, "{:?}", minted.body);
    proxy.reset_counts();
    let github_before = app.sim.count(Counter::Requests);

    let cached = container
        .internal("POST", "/internal/accounts/team-a/token", body)
        .await;

    assert_eq!(cached.status, 200, "{:?}", cached.body);
    assert_eq!(cached.body["token"], minted.body["token"]);
    let counts = proxy.counts();
    assert_eq!(
        (counts.get("Query"), counts.get("BatchGetItem"), counts.get("PutItem")),
        (Some(&1), Some(&1), Some(&1)),
        "the links, their installations and tokens, the audit record: {counts:?}"
    );
    assert_eq!(counts.values().sum::<u64>(), 3, "{counts:?}");
    assert_eq!(app.sim.count(Counter::Requests), github_before, "no GitHub call");
    let _ = installation;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_vends_of_one_scope_over_four_containers_mint_once() {
    let World { app, installation } = world().await;
    let mut containers = Vec::new();
    for _ in 0..4 {
        containers.push(app.new_container().await);
    }
    let path = format!("/internal/accounts/team-a/installations/{installation}/token");
    let scope = json!({"permissions": {"metadata": "read"}});

    // Four containers at once, each serving its 250 one after another as a
    // Lambda container does.
    let per_container = containers.iter().map(|c| {
        let (path, scope) = (&path, &scope);
        async move {
            let mut tokens = Vec::new();
            for _ in 0..250 {
                let r = c.internal("POST", path, scope.clone()).await;
                assert_eq!(r.status, 200, "{:?}", r.body);
                tokens.push(r.body["token"].clone());
            }
            tokens
        }
    });
    let tokens: Vec<_> = join_all(per_container).await.into_iter().flatten().collect();

    assert_eq!(tokens.len(), 1000);
    assert!(tokens.iter().all(|t| t == &tokens[0]), "everyone got the one token");
    assert_eq!(app.sim.count(Counter::Mints(installation)), 1);
}
