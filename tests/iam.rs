//! Each function's IAM policy in `template.yaml` against what its requests
//! really need. moto authorizes everything, so the needs come from the
//! requests themselves: every container reaches AWS through a
//! `dynamo-proxy` at `{proxy}/fn/{function}`, which derives from each
//! request the actions and resources AWS would check (item by item for a
//! transaction, `table/index/NAME` for an index query; see
//! `dynamo_proxy::iam`). The template's comments are not consulted.
//!
//! Two checks: one scenario here reaches every store method each function
//! uses, and its needs must equal the policy (a missing action breaks the
//! deployed broker; an action never used is more than least privilege).
//! And the whole suite's needs, recorded by every proxy of the run into
//! `DYNAMO_PROXY_IAM_LOG`, must all be granted (`scripts/hygiene-sweep`
//! runs that check after the suites).

use std::collections::{BTreeMap, BTreeSet};

use broker::api::Function;
use dynamo_proxy::iam::{Need, Resource};
use dynamo_proxy::{Fault, FaultKind};
use github_sim::RepoSelection;
use serde_json::{json, Value};
use serde_yaml::Value as Yaml;

use crate::helpers::fixtures::{about, delivery, org_event, webhook};
use crate::helpers::platform::PlatformBus;
use crate::helpers::reliability::record;
use crate::helpers::{TestApp, User};

const FUNCTIONS: [(Function, &str); 4] = [
    (Function::OAuthCallback, "OAuthCallbackFunction"),
    (Function::TokenVending, "TokenVendingFunction"),
    (Function::Webhook, "WebhookFunction"),
    (Function::Reconciler, "ReconcilerFunction"),
];

/// An action on one of the template's resources: `Table`,
/// `Table/index/gsi1`, `AppSecret`.
type Grant = (String, String);

fn template() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).expect("read template.yaml")).expect("parse template.yaml")
}

/// The template resource a policy statement's `Resource` names.
fn resource_name(v: &Yaml) -> String {
    match v {
        Yaml::Tagged(t) if t.tag == "GetAtt" => match t.value.as_str() {
            Some("Table.Arn") => "Table".into(),
            Some("EventBus.Arn") => "EventBus".into(),
            other => panic!("unexpected !GetAtt {other:?}"),
        },
        Yaml::Tagged(t) if t.tag == "Ref" => t.value.as_str().expect("!Ref names a resource").to_owned(),
        Yaml::Tagged(t) if t.tag == "Sub" => {
            let s = t.value.as_str().expect("!Sub of a string");
            if let Some(rest) = s.strip_prefix("${Table.Arn}") {
                format!("Table{rest}")
            } else if let Some(rest) = s.strip_prefix("${EventPayloadBucket.Arn}") {
                format!("EventPayloadBucket{rest}")
            } else {
                panic!("unexpected !Sub {s}")
            }
        }
        other => panic!("unexpected policy resource {other:?}"),
    }
}

fn as_list(v: &Yaml) -> Vec<&Yaml> {
    match v {
        Yaml::Sequence(items) => items.iter().collect(),
        Yaml::Null => Vec::new(),
        one => vec![one],
    }
}

/// Every (action, resource) the function's policies allow.
fn granted(template: &Yaml, function_id: &str) -> BTreeSet<Grant> {
    let mut out = BTreeSet::new();
    for policy in as_list(&template["Resources"][function_id]["Properties"]["Policies"]) {
        for statement in as_list(&policy["Statement"]) {
            assert_eq!(
                statement["Effect"].as_str(),
                Some("Allow"),
                "{function_id}: only Allow statements"
            );
            for action in as_list(&statement["Action"]) {
                for resource in as_list(&statement["Resource"]) {
                    out.insert((action.as_str().unwrap().to_owned(), resource_name(resource)));
                }
            }
        }
    }
    out
}

/// A need on the test's own table or secret, as the template names them.
fn as_grant(need: &Need) -> Grant {
    let resource = match &need.resource {
        Resource::Table(_) => "Table".to_owned(),
        Resource::Index { index, .. } => format!("Table/index/{index}"),
        Resource::Secret(_) => "AppSecret".to_owned(),
        Resource::EventBus(_) => "EventBus".to_owned(),
        // The policy grants a prefix: an object under it needs that grant.
        Resource::Object { key, .. } => match key.strip_prefix("payloads/") {
            Some(name) if !name.is_empty() && !name.contains('/') => "EventPayloadBucket/payloads/*".to_owned(),
            _ => format!("EventPayloadBucket/{key}"),
        },
        Resource::Unknown => "?".to_owned(),
    };
    (need.action.clone(), resource)
}

fn describe(grants: &BTreeSet<Grant>) -> String {
    grants
        .iter()
        .map(|(a, r)| format!("{a} on {r}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every function's needs in this scenario: each store method a function
/// calls is reached at least once, the rare paths included (a refused mint
/// releasing its lease, a deletion's cleanup finished by a later vend, a
/// revocation spanning several transactions, a refresh).
async fn scenario() -> BTreeMap<String, BTreeSet<Need>> {
    let (mut app, proxy) = TestApp::spawn_behind_proxy().await;
    let octocat = app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    app.sim.add_repo("octo-org", "web", false);
    let org = app.sim.install(
        "octo-org",
        RepoSelection::All,
        &[("members", "read"), ("contents", "write"), ("administration", "write")],
    );
    let personal = app.sim.install(
        "octocat",
        RepoSelection::All,
        &[("contents", "write"), ("administration", "write")],
    );
    let alice = User::new("alice", &["team-a", "team-b"]);

    // oauth-callback: a state, the code exchange, a link from the install
    // callback; then a callback without a code, refreshing the user's token.
    let (state, code) = app.authorized(&alice, "octocat", json!({"account_id": "team-a"})).await;
    let linked = app
        .callback(&alice, json!({"code": code, "state": state, "installation_id": org}))
        .await;
    assert_eq!(linked.status, 200, "{:?}", linked.body);
    // Both clocks move into the user token's last minutes: the next use refreshes it.
    let into_refresh_margin = 8 * 3600 - 240;
    app.clock.advance(into_refresh_margin);
    app.sim.set_clock_offset(into_refresh_margin);
    let start = app
        .frontend(
            &alice,
            "POST",
            "/github/oauth/start",
            Some(json!({"account_id": "team-b", "install": true})),
        )
        .await;
    let state = url::Url::parse(start.body["authorize_url"].as_str().unwrap())
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let no_code = app
        .callback(
            &alice,
            json!({"state": state, "installation_id": personal, "setup_action": "install"}),
        )
        .await;
    assert_eq!(no_code.status, 200, "{:?}", no_code.body);

    // token-vending, frontend: status, reachable installations, links.
    assert_eq!(app.frontend(&alice, "GET", "/github/user", None).await.status, 200);
    assert_eq!(
        app.frontend(&alice, "GET", "/github/installations", None).await.status,
        200
    );
    assert_eq!(app.link(&alice, "team-b", org).await.status, 200);
    let listed = app
        .frontend(&alice, "GET", "/accounts/team-a/installations", None)
        .await;
    assert_eq!(listed.status, 200);

    // token-vending, internal: a mint, a cached vend, a mint GitHub refuses
    // (the lease is released), a vend by owner, the user's token, a
    // repository on a personal account (its owner's token, found by GitHub
    // user), a commit.
    assert_eq!(app.vend("team-a", org, json!({})).await.status, 200);
    assert_eq!(app.vend("team-a", org, json!({})).await.status, 200);
    let refused = app
        .vend("team-a", org, json!({"permissions": {"issues": "write"}}))
        .await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    let again = app.vend("team-a", org, json!({"min_ttl_seconds": 3000})).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    let by_owner = app
        .internal("POST", "/internal/accounts/team-a/token", json!({"owner": "octo-org"}))
        .await;
    assert_eq!(by_owner.status, 200);
    assert_eq!(
        app.internal("POST", "/internal/users/alice/token", json!({}))
            .await
            .status,
        200
    );
    let repo = app
        .internal(
            "POST",
            "/internal/accounts/team-b/repos",
            json!({"owner": "octocat", "name": "notes", "auto_init": true}),
        )
        .await;
    assert_eq!(repo.status, 201, "{:?}", repo.body);
    let commit = app
        .internal(
            "POST",
            "/internal/accounts/team-a/commits",
            json!({"owner": "octo-org", "repo": "web", "branch": "main", "message": "m", "files": [{"path": "a", "content": "b"}]}),
        )
        .await;
    assert_eq!(commit.status, 201, "{:?}", commit.body);
    let unlinked = app
        .frontend(&alice, "DELETE", &format!("/accounts/team-b/installations/{org}"), None)
        .await;
    assert_eq!(unlinked.status, 200);

    // webhook: every delivery published for the platform (a push inline,
    // a large one through the bucket); an update, a revocation of more
    // connections than one transaction holds, and an uninstall whose
    // cleanup is cut short and then finished by a vend.
    let bus = PlatformBus::create(&app.sdk).await;
    app.container = app.container_behind(&proxy, |c| c.events = Some(bus.backend())).await;
    let mut push = org_event("push", org);
    assert_eq!(app.webhook("push", &delivery(), &push).await.status, 200);
    push["padding"] = "x".repeat(300 * 1024).into();
    assert_eq!(app.webhook("push", &delivery(), &push).await.status, 200);
    assert_eq!(bus.received().await.len(), 2);
    let suspend = about(webhook("installation.suspend"), personal, "octocat", octocat);
    assert_eq!(app.webhook("installation", &delivery(), &suspend).await.status, 200);
    let robot = app.sim.add_user("robot");
    for i in 0..30 {
        let user = User::new(&format!("bot-{i}"), &[]);
        assert_eq!(app.connect(&user, "robot").await.status, 200);
    }
    let mut revoked = webhook("github_app_authorization.revoked");
    revoked["sender"]["id"] = robot.into();
    assert_eq!(
        app.webhook("github_app_authorization", &delivery(), &revoked)
            .await
            .status,
        200
    );
    app.sim.uninstall(org);
    proxy.inject(Fault::new("BatchWriteItem", FaultKind::Throttling).times(3));
    let deleted = about(webhook("installation.deleted"), org, "octo-org", 2000);
    let cut = app.webhook("installation", &delivery(), &deleted).await;
    assert_eq!(cut.status, 503, "the cleanup was meant to be cut: {:?}", cut.body);
    assert_eq!(proxy.armed_faults(), 0, "the cleanup's fault fired");
    assert_eq!(app.vend("team-a", org, json!({})).await.status, 403);

    // reconciler: a run on demand after webhooks were missed: an
    // installation uninstalled (its cached token revoked at GitHub), one
    // found never recorded, one whose grant changed; each repair published.
    app.sim.add_org("gone-org", &["octocat"]);
    let gone = app.sim.install(
        "gone-org",
        RepoSelection::All,
        &[("members", "read"), ("contents", "read")],
    );
    let linked = app.link(&alice, "team-a", gone).await;
    assert_eq!(linked.status, 200, "{:?}", linked.body);
    assert_eq!(app.vend("team-a", gone, json!({})).await.status, 200);
    app.sim.uninstall(gone);
    app.sim.add_org("new-org", &["octocat"]);
    app.sim.install("new-org", RepoSelection::All, &[("contents", "read")]);
    let run = app.internal("POST", "/internal/reconcile", json!({})).await;
    assert_eq!(run.status, 200, "{:?}", run.body);
    assert_eq!(run.body["changed"]["deleted"], 1, "{:?}", run.body);
    assert_eq!(run.body["changed"]["created"], 1, "{:?}", run.body);

    // Disconnecting revokes the grant and marks the connection.
    assert_eq!(app.frontend(&alice, "DELETE", "/github/user", None).await.status, 200);
    proxy.needs()
}

#[tokio::test]
async fn each_functions_policy_allows_exactly_what_its_requests_need() {
    let template = template();
    let needs = scenario().await;
    let mut problems = Vec::new();
    for (function, id) in FUNCTIONS {
        let used: BTreeSet<Grant> = needs.get(function.name()).into_iter().flatten().map(as_grant).collect();
        let allowed = granted(&template, id);
        let missing: BTreeSet<Grant> = used.difference(&allowed).cloned().collect();
        let unused: BTreeSet<Grant> = allowed.difference(&used).cloned().collect();
        let compared = used.union(&allowed).count() as u64;
        record(
            "IAM",
            &format!("{} policy against the actions its requests need", function.name()),
            compared,
            compared - (missing.len() + unused.len()) as u64,
            "every action used is allowed and every action allowed is used",
        );
        if !missing.is_empty() {
            problems.push(format!("{id} lacks {} (AWS would refuse these)", describe(&missing)));
        }
        if !unused.is_empty() {
            problems.push(format!("{id} allows {} that it never uses", describe(&unused)));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Run by `scripts/hygiene-sweep` after the suites, with the log every proxy
/// of the run appended to: no test's request needed what a policy lacks.
#[tokio::test]
#[ignore = "run by scripts/hygiene-sweep over the whole suite's requests"]
async fn the_whole_runs_requests_need_nothing_the_policies_lack() {
    let path = std::env::var("DYNAMO_PROXY_IAM_LOG").expect("DYNAMO_PROXY_IAM_LOG names the run's log");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let template = template();
    let allowed: BTreeMap<&str, BTreeSet<Grant>> = FUNCTIONS
        .iter()
        .map(|(f, id)| (f.name(), granted(&template, id)))
        .collect();
    let mut seen = 0;
    let mut refused_lines = 0;
    let mut refused = BTreeSet::new();
    for line in text.lines() {
        let entry: Value = serde_json::from_str(line).expect("a JSON line");
        let caller = entry["caller"].as_str().unwrap();
        let resource = &entry["resource"];
        let need = Need {
            action: entry["action"].as_str().unwrap().to_owned(),
            resource: match (
                resource["table"].as_str(),
                resource["index"].as_str(),
                resource["secret"].as_str(),
                resource["event_bus"].as_str(),
                resource["bucket"].as_str(),
            ) {
                (Some(table), Some(index), ..) => Resource::Index {
                    table: table.into(),
                    index: index.into(),
                },
                (Some(table), None, ..) => Resource::Table(table.into()),
                (_, _, Some(secret), ..) => Resource::Secret(secret.into()),
                (.., Some(bus), _) => Resource::EventBus(bus.into()),
                (.., Some(bucket)) => Resource::Object {
                    bucket: bucket.into(),
                    key: resource["key"].as_str().unwrap_or_default().into(),
                },
                _ => Resource::Unknown,
            },
        };
        seen += 1;
        let grants = allowed
            .get(caller)
            .unwrap_or_else(|| panic!("requests from an unknown function {caller}"));
        if !grants.contains(&as_grant(&need)) {
            refused_lines += 1;
            refused.insert(format!("{caller}: {}", describe(&BTreeSet::from([as_grant(&need)]))));
        }
    }
    assert!(seen > 0, "{path} holds no request: the run recorded nothing");
    record(
        "IAM",
        "Every (function, action, resource) the whole suite's requests needed, against the function's policy",
        seen,
        seen - refused_lines,
        "no request needs an action its function's policy lacks",
    );
    assert!(
        refused.is_empty(),
        "AWS would refuse:\n{}",
        refused.into_iter().collect::<Vec<_>>().join("\n")
    );
}
