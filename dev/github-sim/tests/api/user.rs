//! `GET /user` and the paginated `GET /user/installations`.

use github_sim::{Counter, RepoSelection};
use serde_json::Value;

use crate::*;

/// Parses a Link header into (rel, url) pairs.
fn links(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    let Some(link) = headers.get("link") else {
        return Vec::new();
    };
    link.to_str()
        .unwrap()
        .split(", ")
        .map(|part| {
            let (url, rel) = part.split_once("; rel=").unwrap();
            (
                rel.trim_matches('"').to_owned(),
                url.trim_matches(['<', '>']).to_owned(),
            )
        })
        .collect()
}

fn rel<'a>(links: &'a [(String, String)], name: &str) -> Option<&'a str> {
    links.iter().find(|(r, _)| r == name).map(|(_, u)| u.as_str())
}

#[tokio::test]
async fn user_installations_paginate_over_three_pages() {
    let sim = sim().await;
    let me = sim.add_user("octocat");
    sim.add_user("stranger");
    let mut expected = vec![sim.install("octocat", RepoSelection::All, &[("metadata", "read")])];
    for org in ["org-a", "org-b", "org-c", "org-d"] {
        sim.add_org(org, &["octocat", "stranger"]);
        expected.push(sim.install(org, RepoSelection::All, &[("contents", "write")]));
    }
    sim.add_org("not-mine", &["stranger"]);
    sim.install("not-mine", RepoSelection::All, &[]);
    sim.install("stranger", RepoSelection::All, &[]);
    sim.add_org("gone", &["octocat"]);
    let gone = sim.install("gone", RepoSelection::All, &[]);
    sim.uninstall(gone);
    sim.suspend(expected[2]);

    let token = login(&sim, "octocat").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body, headers) = get(&sim, "/user/installations?per_page=2", &token).await;
    assert_eq!(status, 200);
    assert_eq!(body["total_count"], 5);
    let page1 = links(&headers);
    let base = format!("{}/user/installations", sim.url());
    assert_eq!(rel(&page1, "next"), Some(format!("{base}?per_page=2&page=2").as_str()));
    assert_eq!(rel(&page1, "last"), Some(format!("{base}?per_page=2&page=3").as_str()));
    assert_eq!(rel(&page1, "prev"), None);

    // Follow the Link header like a client would.
    let mut seen: Vec<Value> = body["installations"].as_array().unwrap().clone();
    let mut next = rel(&page1, "next").map(str::to_owned);
    let mut pages = 1;
    while let Some(url) = next {
        let resp = client().get(&url).bearer_auth(&token).send().await.unwrap();
        let l = links(resp.headers());
        assert!(rel(&l, "first").is_some() && rel(&l, "prev").is_some());
        next = rel(&l, "next").map(str::to_owned);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["total_count"], 5);
        seen.extend(body["installations"].as_array().unwrap().iter().cloned());
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(sim.count(Counter::UserInstallationsPages), 3);
    let ids: Vec<u64> = seen.iter().map(|i| i["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, expected);

    let own = &seen[0];
    assert_eq!(own["account"]["login"], "octocat");
    assert_eq!(own["account"]["id"], me);
    assert_eq!(own["target_type"], "User");
    assert_eq!(own["app_id"], APP_ID);
    assert_eq!(own["app_slug"], "broker-test");
    assert_eq!(own["repository_selection"], "all");
    assert_eq!(own["permissions"]["metadata"], "read");
    assert_eq!(
        own["access_tokens_url"],
        format!("{}/app/installations/{}/access_tokens", sim.url(), expected[0])
    );
    assert!(own["suspended_at"].is_null() && own["suspended_by"].is_null());
    assert!(own["created_at"].as_str().unwrap().ends_with('Z'));
    let suspended = &seen[2];
    assert_eq!(suspended["target_type"], "Organization");
    assert!(suspended["suspended_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(suspended["suspended_by"]["login"], "octocat");

    // Default page size holds everything: no Link header.
    let (_, body, headers) = get(&sim, "/user/installations", &token).await;
    assert_eq!(body["installations"].as_array().unwrap().len(), 5);
    assert!(headers.get("link").is_none());
}

#[tokio::test]
async fn user_endpoint_rejects_bad_tokens_and_follows_renames() {
    let sim = sim().await;
    let id = sim.add_user("octocat");
    let (status, body, _) = get(&sim, "/user", "ghu_notarealtoken").await;
    assert_eq!(status, 401);
    assert_gh_error(&body, 401, "Bad credentials");
    let resp = client().get(format!("{}/user", sim.url())).send().await.unwrap();
    assert_eq!(resp.status(), 401);

    let token = login(&sim, "octocat").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.rename_account("octocat", "octodog");
    let (status, body, _) = get(&sim, "/user", &token).await;
    assert_eq!(status, 200);
    assert_eq!(body["login"], "octodog");
    assert_eq!(body["id"], id);
    assert_eq!(body["node_id"], "MDQ6VXNlcjEwMDA=");

    // Tokens expire by the sim clock.
    sim.set_clock_offset(28_800);
    assert_eq!(get(&sim, "/user", &token).await.0, 401);
}

async fn token_of(sim: &github_sim::GitHubSim, user: &str) -> String {
    login(sim, user).await["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_outside_collaborator_on_one_repository_sees_the_whole_installation() {
    let sim = sim().await;
    sim.add_user("octocat");
    sim.add_user("outsider");
    sim.add_org("octo-org", &["octocat"]);
    sim.add_repo("octo-org", "web", true);
    sim.add_repo("octo-org", "api", true);
    let installation = sim.install("octo-org", RepoSelection::All, &[("contents", "write")]);
    let outsider = token_of(&sim, "outsider").await;
    assert_eq!(get(&sim, "/user/installations", &outsider).await.1["total_count"], 0);

    sim.add_collaborator("octo-org", "web", "outsider", "push");

    let (_, body, _) = get(&sim, "/user/installations", &outsider).await;
    assert_eq!(body["total_count"], 1);
    assert_eq!(body["installations"][0]["id"], installation);
    assert_eq!(get(&sim, "/repos/octo-org/web", &outsider).await.0, 200);
    assert_eq!(
        get(&sim, "/repos/octo-org/api", &outsider).await.0,
        404,
        "only that repository"
    );
    sim.remove_collaborator("octo-org", "web", "outsider");
    assert_eq!(get(&sim, "/user/installations", &outsider).await.1["total_count"], 0);
}

#[tokio::test]
async fn a_users_org_membership_shows_its_role_and_state_as_github_does() {
    let sim = sim().await;
    sim.add_user("owner");
    sim.add_user("member");
    sim.add_user("invitee");
    sim.add_user("stranger");
    sim.add_org("octo-org", &["owner", "member"]);
    sim.invite_org_member("octo-org", "invitee", github_sim::OrgRole::Admin);
    sim.install("octo-org", RepoSelection::All, &[("members", "read")]);
    let path = "/user/memberships/orgs/octo-org";

    let (status, owner, _) = get(&sim, path, &token_of(&sim, "owner").await).await;
    assert_eq!(status, 200);
    assert_eq!(
        (owner["state"].as_str(), owner["role"].as_str()),
        (Some("active"), Some("admin"))
    );
    assert_eq!(owner["organization"]["login"], "octo-org");
    assert_eq!(owner["user"]["login"], "owner");
    let (_, member, _) = get(&sim, path, &token_of(&sim, "member").await).await;
    assert_eq!(member["role"], "member");
    let (_, invitee, _) = get(&sim, path, &token_of(&sim, "invitee").await).await;
    assert_eq!(
        (invitee["state"].as_str(), invitee["role"].as_str()),
        (Some("pending"), Some("admin"))
    );
    let (status, body, _) = get(&sim, path, &token_of(&sim, "stranger").await).await;
    assert_eq!(status, 404);
    assert_gh_error(&body, 404, "Not Found");

    sim.set_org_role("octo-org", "owner", github_sim::OrgRole::Member);
    let (_, demoted, _) = get(&sim, path, &token_of(&sim, "owner").await).await;
    assert_eq!(demoted["role"], "member");
}

#[tokio::test]
async fn an_org_membership_needs_the_apps_members_permission() {
    let sim = sim().await;
    sim.add_user("owner");
    sim.add_org("octo-org", &["owner"]);
    sim.install("octo-org", RepoSelection::All, &[("contents", "read")]);

    let (status, body, _) = get(&sim, "/user/memberships/orgs/octo-org", &token_of(&sim, "owner").await).await;

    assert_eq!(status, 403);
    assert_gh_error(&body, 403, "Resource not accessible by integration");
}
