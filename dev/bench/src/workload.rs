//! The same events for both implementations: a seeded world, then each
//! function's routes (and each webhook event) `n` times in one container.

use std::collections::HashMap;
use std::path::Path;

use github_sim::{Counter, RepoSelection};
use serde_json::{json, Value};

use crate::container::{Container, Launch};
use crate::driver::{Driver, FunctionRun};
use crate::events::{answer, frontend, internal, webhook};
use crate::infra::Infra;

pub const FUNCTIONS: [&str; 3] = ["oauth-callback", "token-vending", "webhook"];
const ALICE: &str = "alice";
const ACCOUNTS: &[&str] = &["team-a", "team-b"];

/// The GitHub side both implementations share (built once).
pub struct World {
    pub org_installation: u64,
    pub user_installation: u64,
    /// The installation the webhook events are about: the broker reads it
    /// from GitHub on each installation event, so it must exist there.
    pub hook_installation: u64,
}

pub fn build_world(infra: &Infra) -> World {
    let sim = &infra.sim;
    sim.add_user("octocat");
    sim.add_org("octo-org", &["octocat"]);
    sim.add_repo("octo-org", "widgets", false);
    sim.add_repo("octo-org", "gadgets", false);
    sim.add_repo("octocat", "dotfiles", false);
    let perms = [("contents", "write"), ("metadata", "read")];
    World {
        org_installation: sim.install(
            "octo-org",
            RepoSelection::All,
            &[("members", "read"), perms[0], perms[1]],
        ),
        user_installation: sim.install("octocat", RepoSelection::All, &perms),
        hook_installation: {
            sim.add_org("hook-org", &["octocat"]);
            sim.install("hook-org", RepoSelection::All, &perms)
        },
    }
}

/// One implementation: how its three functions are launched, and its table.
pub struct Implementation {
    pub name: &'static str,
    pub table: &'static str,
    pub launches: HashMap<&'static str, Launch>,
}

fn authorize_url_parts(start: &Value) -> (String, String) {
    let url = url::Url::parse(start["authorize_url"].as_str().expect("authorize_url")).unwrap();
    let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
    (q["state"].clone(), q.get("code_challenge").cloned().unwrap_or_default())
}

pub async fn oauth(infra: &Infra, imp: &Implementation, n: usize) -> FunctionRun {
    let start = |account: Option<&str>| {
        let body = match account {
            Some(a) => json!({"account_id": a}),
            None => json!({}),
        };
        frontend("POST", "/github/oauth/start", Some(body), ALICE, ACCOUNTS)
    };
    let launch = &imp.launches["oauth-callback"];
    let mut d = Driver::start(infra, "oauth-callback", launch, "POST /github/oauth/start", start(None)).await;
    for _ in 0..n {
        let started = d.call(Some("POST /github/oauth/start"), start(Some("team-a"))).await;
        let (state, challenge) = authorize_url_parts(&started);
        let code = infra.sim.authorize("octocat", Some(&challenge), None);
        let body = json!({"code": code, "state": state});
        let done = d
            .call(
                Some("POST /github/oauth/callback"),
                frontend("POST", "/github/oauth/callback", Some(body), ALICE, ACCOUNTS),
            )
            .await;
        assert_eq!(done["github_user"]["login"], json!("octocat"), "{done}");
    }
    d.finish().await
}

fn vend_path(world: &World) -> String {
    format!(
        "/internal/accounts/team-a/installations/{}/token",
        world.org_installation
    )
}

pub async fn vending(infra: &Infra, imp: &Implementation, world: &World, n: usize) -> FunctionRun {
    let get = |path: &str| frontend("GET", path, None, ALICE, ACCOUNTS);
    let launch = &imp.launches["token-vending"];
    let mut d = Driver::start(infra, "token-vending", launch, "GET /github/user", get("/github/user")).await;
    let link = |id: u64| {
        frontend(
            "PUT",
            &format!("/accounts/team-a/installations/{id}"),
            None,
            ALICE,
            ACCOUNTS,
        )
    };
    d.call(None, link(world.org_installation)).await;
    d.call(None, link(world.user_installation)).await;
    let scope = json!({"repositories": ["widgets"], "permissions": {"contents": "read"}});
    d.call(Some("vend: first (mints)"), internal(&vend_path(world), scope.clone()))
        .await;
    for _ in 0..n {
        d.call(Some("GET /github/user"), get("/github/user")).await;
        d.call(
            Some("GET /accounts/{a}/installations"),
            get("/accounts/team-a/installations"),
        )
        .await;
        d.call(
            Some("PUT /accounts/{a}/installations/{i}"),
            link(world.org_installation),
        )
        .await;
        d.call(Some("GET /github/installations"), get("/github/installations"))
            .await;
        d.call(Some("vend: cached"), internal(&vend_path(world), scope.clone()))
            .await;
        let mut owner = scope.clone();
        owner["owner"] = json!("octo-org");
        d.call(
            Some("vend by owner: cached"),
            internal("/internal/accounts/team-a/token", owner),
        )
        .await;
        d.call(
            Some("POST /internal/users/{u}/token"),
            internal(&format!("/internal/users/{ALICE}/token"), json!({})),
        )
        .await;
    }
    // Routes the Node.js baseline does not have (link policies, the audit
    // trail, incident revocation): ours only, after the loop above so that
    // a policy change does not turn its cached vends into mints. At most 50
    // rounds, with the audit records written so far dropped every 10: moto
    // copies the whole table for every item of a transaction, so a growing
    // table would have moto's copying measured rather than the function.
    if imp.name == "ours" {
        let policy_path = format!("/accounts/team-a/installations/{}", world.org_installation);
        let policies = [
            json!({"permissions": {"contents": "read"}}),
            json!({"repositories": ["widgets"], "permissions": {"contents": "read"}}),
        ];
        for i in 0..n.min(50) {
            if i % 10 == 0 {
                infra.forget_deliveries(imp.table).await;
            }
            let body = policies[i % 2].clone();
            d.call(
                Some("PATCH /accounts/{a}/installations/{i}"),
                frontend("PATCH", &policy_path, Some(body), ALICE, ACCOUNTS),
            )
            .await;
            d.call(Some("GET /accounts/{a}/audit"), get("/accounts/team-a/audit"))
                .await;
            d.call(None, internal(&vend_path(world), scope.clone())).await;
            d.call(
                Some("DELETE /internal/accounts/{a}/tokens (one live token)"),
                crate::events::internal_with("DELETE", "/internal/accounts/team-a/tokens", None),
            )
            .await;
        }
        // The whole installation again, for the race that follows.
        d.call(None, link(world.org_installation)).await;
    }
    d.finish().await
}

/// Webhook events from tests/fixtures/webhooks (GitHub's own examples), in
/// an order where each still does its work (deleted last: it tombstones).
const HOOKS: &[(&str, &str)] = &[
    ("ping", "ping"),
    ("installation", "installation.created"),
    ("installation", "installation.suspend"),
    ("installation", "installation.unsuspend"),
    ("installation", "installation.new_permissions_accepted"),
    ("installation_repositories", "installation_repositories.added"),
    ("installation_repositories", "installation_repositories.removed"),
    ("installation_target", "installation_target.renamed"),
    ("github_app_authorization", "github_app_authorization.revoked"),
    ("installation", "installation.deleted"),
];

pub async fn webhooks(infra: &Infra, imp: &Implementation, world: &World, root: &Path, n: usize) -> FunctionRun {
    let mut delivery = 0u64;
    let mut next_id = || {
        delivery += 1;
        format!("bench-{}-{delivery:08x}-0000-11ef-8000-000000000000", imp.name)
    };
    let bodies: Vec<(&str, &str, String)> = HOOKS
        .iter()
        .map(|(event, file)| {
            let path = root.join("tests/fixtures/webhooks").join(format!("{file}.json"));
            let mut payload: Value =
                serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
            // About the world's installation, which GitHub (the simulator) knows.
            if payload["installation"].is_object() {
                payload["installation"]["id"] = world.hook_installation.into();
            }
            (*event, *file, payload.to_string())
        })
        .collect();
    infra.forget_deliveries(imp.table).await;
    let ping = webhook("ping", &next_id(), &bodies[0].2);
    let mut d = Driver::start(infra, "webhook", &imp.launches["webhook"], "ping", ping).await;
    for (event, file, body) in &bodies {
        for _ in 0..n {
            d.call(Some(file), webhook(event, &next_id(), body)).await;
        }
        infra.forget_deliveries(imp.table).await;
    }
    // A redelivery and a forged signature, as GitHub and the internet send them.
    let (_, _, created) = &bodies[1];
    let id = next_id();
    d.call(None, webhook("installation", &id, created)).await;
    for _ in 0..n {
        d.call(Some("redelivery (duplicate)"), webhook("installation", &id, created))
            .await;
    }
    d.finish().await
}

/// Forwarded deliveries (ours only: the Node handler publishes nothing):
/// GitHub's examples of events the broker only passes on, one it also acts
/// on, and pushes whose payload goes through the bucket, up to GitHub's
/// 25 MB. Each route's requests include the publication's.
pub async fn forwarding(infra: &Infra, imp: &Implementation, world: &World, root: &Path, n: usize) -> FunctionRun {
    let fixture = |file: &str| -> Value {
        let path = root.join("tests/fixtures/webhooks").join(format!("{file}.json"));
        let mut payload: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
        payload["installation"]["id"] = world.hook_installation.into();
        payload
    };
    let padded = |bytes: usize| {
        let mut push = fixture("push");
        push["padding"] = "x".repeat(bytes).into();
        push.to_string()
    };
    let routes: Vec<(&str, &str, String, usize)> = vec![
        ("push", "push (7 KB)", fixture("push").to_string(), n),
        (
            "pull_request",
            "pull_request.closed (25 KB)",
            fixture("pull_request.closed").to_string(),
            n,
        ),
        (
            "installation",
            "installation.suspend (applied, then published)",
            fixture("installation.suspend").to_string(),
            n,
        ),
        ("push", "push of 1 MB (payload to S3)", padded(1 << 20), n.min(50)),
        (
            "push",
            "push of 25 MB (payload to S3)",
            padded(25 * 1000 * 1000 - 8 * 1024),
            n.min(5),
        ),
    ];
    let launch = &imp.launches["webhook-forwarding"];
    let mut delivery = 0u64;
    let mut next_id = || {
        delivery += 1;
        format!("bench-fwd-{delivery:08x}-0000-11ef-8000-000000000000")
    };
    infra.forget_deliveries(imp.table).await;
    let first = webhook("push", &next_id(), &routes[0].2);
    let mut d = Driver::start(infra, "webhook-forwarding", launch, "push (first)", first).await;
    for (event, name, body, count) in &routes {
        for _ in 0..*count {
            let answer = d.call(Some(name), webhook(event, &next_id(), body)).await;
            assert_eq!(answer["forwarded"], json!("published"), "{name}: {answer}");
        }
        infra.forget_deliveries(imp.table).await;
    }
    d.finish().await
}

/// `total` vends of one new scope spread over `containers` containers at
/// once: how many tokens GitHub minted.
pub async fn race(infra: &Infra, imp: &Implementation, world: &World, containers: usize, total: usize) -> usize {
    let mut started = Vec::new();
    for _ in 0..containers {
        let c = Container::start("token-vending", &imp.launches["token-vending"])
            .await
            .expect("container starts");
        started.push(c);
    }
    let before = infra.sim.count(Counter::Mints(world.org_installation));
    let scope = json!({"repositories": ["gadgets"], "permissions": {"metadata": "read"}});
    let per = total / containers;
    let path = vend_path(world);
    let runs = started.iter().map(|c| {
        let event = internal(&path, scope.clone());
        async move {
            for _ in 0..per {
                let (status, body) = answer(&c.invoke(event.clone()).await.response);
                assert_eq!(status, 200, "{body}");
            }
        }
    });
    futures_join_all(runs).await;
    for c in started {
        c.stop().await;
    }
    infra.sim.count(Counter::Mints(world.org_installation)) - before
}

/// Runs futures concurrently on this task (no extra dependency for join_all).
async fn futures_join_all<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        set.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if set.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}
