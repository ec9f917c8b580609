//! Least privilege per team: a link's policy is the ceiling on what the
//! team gets from the installation. Every vend, repository creation and
//! commit is checked against it before GitHub is asked; a vend without a
//! scope is scoped down to it; a policy shrinks with the installation's
//! grant and never grows back by itself.

use std::collections::BTreeSet;

use github_sim::{Counter, RepoSelection};
use serde_json::{json, Value};

use crate::helpers::app::TestResponse;
use crate::helpers::fixtures::{delivery, org_event};
use crate::helpers::{TestApp, User};

const GRANT: [(&str, &str); 5] = [
    ("administration", "write"),
    ("contents", "write"),
    ("issues", "write"),
    ("members", "read"),
    ("metadata", "read"),
];

struct World {
    app: TestApp,
    alice: User,
    org: u64,
    api_id: u64,
}

/// octocat owns octo-org (repositories web, api, secret), where the app is
/// installed on all repositories; alice (team-a) is octocat and linked it.
async fn world() -> World {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    app.sim.add_repo("octo-org", "web", false);
    let api_id = app.sim.add_repo("octo-org", "api", true);
    app.sim.add_repo("octo-org", "secret", true);
    let org = app.sim.install("octo-org", RepoSelection::All, &GRANT);
    let alice = User::new("alice", &["team-a"]);
    assert_eq!(app.connect(&alice, "octocat").await.status, 200);
    assert_eq!(app.link(&alice, "team-a", org).await.status, 200);
    World {
        app,
        alice,
        org,
        api_id,
    }
}

async fn set_policy(w: &World, method: &str, policy: Value) -> TestResponse {
    let path = format!("/accounts/team-a/installations/{}", w.org);
    w.app.frontend(&w.alice, method, &path, Some(policy)).await
}

fn repos_of(vend: &TestResponse) -> Option<BTreeSet<String>> {
    vend.body["repositories"]
        .as_array()
        .map(|r| r.iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect())
}

fn names(list: &[&str]) -> Option<BTreeSet<String>> {
    Some(list.iter().map(|s| s.to_string()).collect())
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Granted, with these permissions and repositories (`None`: all).
    Granted(&'static [(&'static str, &'static str)], Option<&'static [&'static str]>),
    /// `403 scope_not_allowed`, naming this.
    Refused(&'static str),
}

#[tokio::test]
async fn every_vend_is_held_to_the_links_policy_before_github_is_asked() {
    let w = world().await;
    let whole: &[(&str, &str)] = &GRANT;
    let policies = [
        ("whole installation", json!(null)),
        ("api only", json!({"repositories": ["api"], "permissions": null})),
        (
            "contents:read",
            json!({"repositories": null, "permissions": {"contents": "read"}}),
        ),
        (
            "api, contents:write",
            json!({"repositories": ["api"], "permissions": {"contents": "write", "metadata": "read"}}),
        ),
    ];
    let requests = [
        ("{}", json!({})),
        (
            "api, contents:read",
            json!({"repositories": ["api"], "permissions": {"contents": "read"}}),
        ),
        ("web", json!({"repositories": ["web"]})),
        ("contents:write", json!({"permissions": {"contents": "write"}})),
        ("issues:write", json!({"permissions": {"issues": "write"}})),
        ("api by id", json!({"repository_ids": [w.api_id]})),
    ];
    use Expect::{Granted, Refused};
    let api_write: &[(&str, &str)] = &[("contents", "write"), ("metadata", "read")];
    let read: &[(&str, &str)] = &[("contents", "read")];
    let write: &[(&str, &str)] = &[("contents", "write")];
    let issues: &[(&str, &str)] = &[("issues", "write")];
    let api: &[&str] = &["api"];
    let web: &[&str] = &["web"];
    // Rows: policies; columns: requests, in the order above.
    let expected: [[Expect; 6]; 4] = [
        [
            Granted(whole, None),
            Granted(read, Some(api)),
            Granted(whole, Some(web)),
            Granted(write, None),
            Granted(issues, None),
            Granted(whole, Some(api)),
        ],
        [
            Granted(whole, Some(api)),
            Granted(read, Some(api)),
            Refused("repository \"web\""),
            Granted(write, Some(api)),
            Granted(issues, Some(api)),
            Refused("repository_ids"),
        ],
        [
            Granted(read, None),
            Granted(read, Some(api)),
            Granted(read, Some(web)),
            Refused("permission contents:write"),
            Refused("permission issues:write"),
            Granted(read, Some(api)),
        ],
        [
            Granted(api_write, Some(api)),
            Granted(read, Some(api)),
            Refused("repository \"web\""),
            Granted(write, Some(api)),
            Refused("permission issues:write"),
            Refused("repository_ids"),
        ],
    ];
    for ((policy_name, policy), row) in policies.iter().zip(expected) {
        let body = if policy.is_null() { json!({}) } else { policy.clone() };
        let set = set_policy(&w, "PUT", body).await;
        assert_eq!(set.status, 200, "{policy_name}: {:?}", set.body);
        for ((request_name, request), expect) in requests.iter().zip(row) {
            let asked_github = w.app.sim.count(Counter::Requests);
            let vend = w.app.vend("team-a", w.org, request.clone()).await;
            let case = format!("policy {policy_name}, request {request_name}");
            match expect {
                Granted(permissions, repositories) => {
                    assert_eq!(vend.status, 200, "{case}: {:?}", vend.body);
                    let token = vend.body["token"].as_str().unwrap();
                    let at_github = w.app.sim.installation_token_permissions(token).expect("live at GitHub");
                    let wanted: std::collections::BTreeMap<String, String> = permissions
                        .iter()
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .collect();
                    assert_eq!(at_github, wanted, "{case}: the token GitHub issued");
                    assert_eq!(repos_of(&vend), repositories.and_then(names), "{case}");
                }
                Refused(what) => {
                    assert_eq!((vend.status, vend.error_code()), (403, "scope_not_allowed"), "{case}");
                    let message = vend.body["error"]["message"].as_str().unwrap();
                    assert!(message.contains(what), "{case}: {message} should name {what}");
                    assert_eq!(
                        w.app.sim.count(Counter::Requests),
                        asked_github,
                        "{case}: refused before GitHub"
                    );
                }
            }
        }
    }
}

async fn listed(w: &World) -> Value {
    let list = w
        .app
        .frontend(&w.alice, "GET", "/accounts/team-a/installations", None)
        .await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    list.body["installations"][0]["policy"].clone()
}

#[tokio::test]
async fn the_listing_shows_each_links_policy_and_patch_changes_it() {
    let w = world().await;
    assert_eq!(listed(&w).await, json!({"repositories": null, "permissions": null}));

    let patched = set_policy(
        &w,
        "PATCH",
        json!({"repositories": ["API"], "permissions": {"contents": "read"}}),
    )
    .await;

    assert_eq!(patched.status, 200, "{:?}", patched.body);
    let policy = json!({"repositories": ["api"], "permissions": {"contents": "read"}});
    assert_eq!(patched.body["policy"], policy);
    assert_eq!(listed(&w).await, policy);
    // PUT without a body: the whole installation again.
    assert_eq!(set_policy(&w, "PUT", json!({})).await.status, 200);
    assert_eq!(listed(&w).await, json!({"repositories": null, "permissions": null}));
}

#[tokio::test]
async fn a_policy_beyond_the_grant_or_malformed_or_by_a_non_member_changes_nothing() {
    let w = world().await;
    let path = format!("/accounts/team-a/installations/{}", w.org);
    let cases = [
        (
            json!({"permissions": {"contents": "admin"}}),
            422,
            "policy_beyond_installation",
        ),
        (
            json!({"permissions": {"pages": "read"}}),
            422,
            "policy_beyond_installation",
        ),
        (json!({"repositories": []}), 400, "invalid_policy"),
        (json!({"permissions": {}}), 400, "invalid_policy"),
        (json!({"repositories": ["../etc"]}), 400, "invalid_policy"),
        (json!({"permissions": {"contents": "owner"}}), 400, "invalid_policy"),
        (json!({"repos": ["api"]}), 400, "invalid_body"),
    ];
    for (body, status, code) in cases {
        let set = set_policy(&w, "PATCH", body.clone()).await;
        assert_eq!((set.status, set.error_code()), (status, code), "{body}");
    }
    let bob = User::new("bob", &["team-b"]);
    let foreign = w
        .app
        .frontend(&bob, "PATCH", &path, Some(json!({"permissions": {"contents": "read"}})))
        .await;
    assert_eq!((foreign.status, foreign.error_code()), (403, "not_account_member"));
    let unlinked = w
        .app
        .frontend(
            &w.alice,
            "PATCH",
            "/accounts/team-a/installations/999999",
            Some(json!({"permissions": {"contents": "read"}})),
        )
        .await;
    assert_eq!(
        (unlinked.status, unlinked.error_code()),
        (404, "installation_not_linked")
    );
    let list = w
        .app
        .frontend(&w.alice, "GET", "/accounts/team-a/installations", None)
        .await;
    assert_eq!(
        list.body["installations"][0]["policy"],
        json!({"repositories": null, "permissions": null}),
        "nothing changed"
    );
}

#[tokio::test]
async fn a_policys_repositories_are_checked_at_github_with_a_token_revoked_at_once() {
    let w = world().await;
    let mints = w.app.sim.count(Counter::Mints(w.org));
    let revocations = w.app.sim.count_path("DELETE", "/installation/token");

    let set = set_policy(&w, "PATCH", json!({"repositories": ["api", "web"]})).await;

    assert_eq!(set.status, 200, "{:?}", set.body);
    assert_eq!(
        w.app.sim.count(Counter::Mints(w.org)),
        mints + 1,
        "one token to ask GitHub"
    );
    assert_eq!(
        w.app.sim.count_path("DELETE", "/installation/token"),
        revocations + 1,
        "and it is revoked at once"
    );
    // The same repositories again: nothing to ask.
    let again = set_policy(
        &w,
        "PATCH",
        json!({"repositories": ["web", "api"], "permissions": {"contents": "read"}}),
    )
    .await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(w.app.sim.count(Counter::Mints(w.org)), mints + 1);
}

#[tokio::test]
async fn repository_creation_and_commits_need_their_permission_within_the_policy() {
    let w = world().await;
    let create = |name: &str| json!({"owner": "octo-org", "name": name, "private": true});
    let commit = |repo: &str| {
        json!({"owner": "octo-org", "repo": repo, "branch": "main", "message": "m",
               "files": [{"path": "README.md", "content": "hi"}]})
    };
    let cases: [(Value, &str, Value, u16); 6] = [
        // Policy, route, body, expected status.
        (
            json!({"permissions": {"administration": "write", "contents": "write"}}),
            "repos",
            create("svc-a"),
            201,
        ),
        (
            json!({"permissions": {"administration": "read", "contents": "write"}}),
            "repos",
            create("svc-b"),
            403,
        ),
        // A policy cannot name a repository before it exists: creating one
        // needs the permission only.
        (
            json!({"repositories": ["api"], "permissions": {"administration": "write"}}),
            "repos",
            create("svc-d"),
            201,
        ),
        (
            json!({"repositories": ["web"], "permissions": {"contents": "write"}}),
            "commits",
            commit("web"),
            201,
        ),
        (
            json!({"repositories": ["web"], "permissions": {"contents": "read"}}),
            "commits",
            commit("web"),
            403,
        ),
        (
            json!({"repositories": ["api"], "permissions": {"contents": "write"}}),
            "commits",
            commit("web"),
            403,
        ),
    ];
    for (policy, route, body, status) in cases {
        assert_eq!(set_policy(&w, "PUT", policy.clone()).await.status, 200);
        let before = w.app.sim.count(Counter::Requests);
        let done = w
            .app
            .internal("POST", &format!("/internal/accounts/team-a/{route}"), body)
            .await;
        assert_eq!(done.status, status, "{policy} {route}: {:?}", done.body);
        if status == 403 {
            assert_eq!(done.error_code(), "scope_not_allowed");
            assert_eq!(w.app.sim.count(Counter::Requests), before, "refused before GitHub");
        }
    }
    assert!(w.app.sim.repo_exists("octo-org", "svc-a"));
    assert!(w.app.sim.repo_exists("octo-org", "svc-d"));
    assert!(!w.app.sim.repo_exists("octo-org", "svc-b"));
}

#[tokio::test]
async fn a_shrinking_grant_shrinks_the_policy_and_a_growing_one_does_not_widen_it() {
    let w = world().await;
    let narrow = json!({"repositories": null, "permissions": {"contents": "write", "issues": "write"}});
    assert_eq!(set_policy(&w, "PUT", narrow).await.status, 200);
    let before = w.app.vend("team-a", w.org, json!({})).await;
    assert_eq!(before.status, 200);

    w.app.sim.set_installation_permissions(
        w.org,
        &[("contents", "read"), ("members", "read"), ("metadata", "read")],
    );
    let event = org_event("installation.new_permissions_accepted", w.org);
    assert_eq!(w.app.webhook("installation", &delivery(), &event).await.status, 200);

    let list = w
        .app
        .frontend(&w.alice, "GET", "/accounts/team-a/installations", None)
        .await;
    assert_eq!(
        list.body["installations"][0]["policy"]["permissions"],
        json!({"contents": "read"})
    );
    let token = before.body["token"].as_str().unwrap();
    assert!(
        w.app.sim.installation_token_permissions(token).is_none(),
        "the token minted under the wider policy was revoked"
    );
    let shrunk = w.app.vend("team-a", w.org, json!({})).await;
    assert_eq!(
        shrunk.body["permissions"],
        json!({"contents": "read"}),
        "{:?}",
        shrunk.body
    );

    w.app.sim.set_installation_permissions(w.org, &GRANT);
    let event = org_event("installation.new_permissions_accepted", w.org);
    assert_eq!(w.app.webhook("installation", &delivery(), &event).await.status, 200);

    let list = w
        .app
        .frontend(&w.alice, "GET", "/accounts/team-a/installations", None)
        .await;
    assert_eq!(
        list.body["installations"][0]["policy"]["permissions"],
        json!({"contents": "read"}),
        "the grant grew back; the policy did not"
    );
    let write = w
        .app
        .vend("team-a", w.org, json!({"permissions": {"contents": "write"}}))
        .await;
    assert_eq!((write.status, write.error_code()), (403, "scope_not_allowed"));
}
