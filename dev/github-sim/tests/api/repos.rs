//! Repository creation and lookup: `POST /orgs/{org}/repos` with an
//! installation or user token, `POST /user/repos` refused to installation
//! tokens, GitHub's 422s for taken and invalid names, `GET /repos/{o}/{r}`.

use github_sim::{Counter, RepoSelection};
use serde_json::json;

use crate::*;

const NOT_ACCESSIBLE: &str = "Resource not accessible by integration";

#[tokio::test]
async fn org_repo_created_with_an_installation_token() {
    let sim = sim().await;
    sim.add_user("octocat");
    sim.add_org("acme", &["octocat"]);
    sim.add_repo("acme", "api", true);
    let perms = [("administration", "write"), ("contents", "write")];
    let inst = sim.install("acme", RepoSelection::Selected(vec!["api".into()]), &perms);
    let token = installation_token(&sim, inst, None).await;

    let body = json!({"name": "new-svc", "private": true, "description": "A service", "auto_init": true});
    let (status, repo) = send(&sim, "POST", "/orgs/acme/repos", Some(&token), body).await;
    assert_eq!(status, 201, "{repo}");
    assert!(repo["id"].as_u64().unwrap() >= 100_000);
    assert!(repo["node_id"].is_string());
    assert_eq!(repo["name"], "new-svc");
    assert_eq!(repo["full_name"], "acme/new-svc");
    assert_eq!(repo["private"], true);
    assert_eq!(repo["owner"]["login"], "acme");
    assert_eq!(repo["owner"]["type"], "Organization");
    assert!(repo["owner"]["id"].is_u64());
    assert_eq!(repo["description"], "A service");
    assert_eq!(repo["default_branch"], "main");
    assert_eq!(repo["html_url"], "https://github.com/acme/new-svc");
    assert_eq!(repo["clone_url"], "https://github.com/acme/new-svc.git");

    // auto_init: one commit with a README, by the app's bot.
    assert!(sim.repo_exists("acme", "new-svc"));
    assert_eq!(
        sim.file_at("acme", "new-svc", "main", "README.md").as_deref(),
        Some("# new-svc\nA service\n")
    );
    assert_eq!(sim.commit_log("acme", "new-svc", "main"), ["Initial commit"]);

    // The "selected" installation now reaches the new repository.
    let (_, listed, _) = get(&sim, "/installation/repositories", &token).await;
    let names: Vec<&str> = listed["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api", "new-svc"]);
    let (status, fetched, _) = get(&sim, "/repos/acme/new-svc", &token).await;
    assert_eq!(status, 200);
    assert_eq!(fetched["id"], repo["id"]);

    // Without auto_init the repository is empty: no branch, and the git
    // database answers 409 until something is pushed.
    let (status, _) = send(&sim, "POST", "/orgs/acme/repos", Some(&token), json!({"name": "bare"})).await;
    assert_eq!(status, 201);
    assert_eq!(sim.branch_head("acme", "bare", "main"), None);
    let blob = json!({"content": "x", "encoding": "utf-8"});
    let (status, body) = send(&sim, "POST", "/repos/acme/bare/git/blobs", Some(&token), blob).await;
    assert_eq!(status, 409);
    assert_gh_error(&body, 409, "Git Repository is empty.");

    // A member's user token may create in the org too; a non-member's not.
    let user = login(&sim, "octocat").await;
    let user_token = user["access_token"].as_str().unwrap();
    let (status, repo) = send(
        &sim,
        "POST",
        "/orgs/acme/repos",
        Some(user_token),
        json!({"name": "mine"}),
    )
    .await;
    assert_eq!(status, 201, "{repo}");
    assert_eq!(repo["private"], false);
    sim.add_user("outsider");
    let outsider = login(&sim, "outsider").await;
    let outsider_token = outsider["access_token"].as_str().unwrap();
    let (status, _) = send(
        &sim,
        "POST",
        "/orgs/acme/repos",
        Some(outsider_token),
        json!({"name": "x"}),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(sim.count(Counter::RepoCreations), 3);
}

#[tokio::test]
async fn org_repo_creation_refusals() {
    let sim = sim().await;
    sim.add_user("octocat");
    sim.add_org("acme", &["octocat"]);
    sim.add_org("other", &["octocat"]);
    sim.add_repo("acme", "taken", false);
    let perms = [("administration", "write"), ("contents", "write")];
    let inst = sim.install("acme", RepoSelection::All, &perms);
    let token = installation_token(&sim, inst, None).await;

    let (status, body) = send(&sim, "POST", "/orgs/acme/repos", Some(&token), json!({"name": "Taken"})).await;
    assert_eq!(status, 422);
    assert_eq!(body["message"], "Repository creation failed.");
    assert_eq!(
        body["errors"],
        json!([{"resource": "Repository", "code": "custom", "field": "name",
                "message": "name already exists on this account"}])
    );
    for name in [String::new(), "a".repeat(101), "has space".into(), "slash/y".into()] {
        let (status, body) = send(&sim, "POST", "/orgs/acme/repos", Some(&token), json!({"name": name})).await;
        assert_eq!(status, 422, "{name}");
        assert_eq!(body["message"], "Repository creation failed.");
        assert_eq!(body["errors"][0]["field"], "name");
        assert_eq!(body["errors"][0]["resource"], "Repository");
    }

    // No administration:write, or an installation on another account: 403.
    let weak = installation_token(&sim, inst, Some(json!({"permissions": {"contents": "write"}}))).await;
    let (status, body) = send(&sim, "POST", "/orgs/acme/repos", Some(&weak), json!({"name": "x"})).await;
    assert_eq!(status, 403);
    assert_gh_error(&body, 403, NOT_ACCESSIBLE);
    let (status, body) = send(&sim, "POST", "/orgs/other/repos", Some(&token), json!({"name": "x"})).await;
    assert_eq!(status, 403);
    assert_gh_error(&body, 403, NOT_ACCESSIBLE);
    let (status, _) = send(&sim, "POST", "/orgs/nobody/repos", Some(&token), json!({"name": "x"})).await;
    assert_eq!(status, 404);
    let (status, _) = send(&sim, "POST", "/orgs/acme/repos", None, json!({"name": "x"})).await;
    assert_eq!(status, 401);
    assert!(!sim.repo_exists("acme", "x") && !sim.repo_exists("other", "x"));
    assert_eq!(sim.count(Counter::RepoCreations), 0);
}

#[tokio::test]
async fn personal_repos_need_a_user_token() {
    let sim = sim().await;
    sim.add_user("octocat");
    let inst = sim.install(
        "octocat",
        RepoSelection::All,
        &[("administration", "write"), ("contents", "write")],
    );
    let token = installation_token(&sim, inst, None).await;

    // GitHub never lets an installation token create on a personal account.
    let (status, body) = send(&sim, "POST", "/user/repos", Some(&token), json!({"name": "dotfiles"})).await;
    assert_eq!(status, 403);
    assert_gh_error(&body, 403, NOT_ACCESSIBLE);
    let (status, _) = send(
        &sim,
        "POST",
        "/orgs/octocat/repos",
        Some(&token),
        json!({"name": "dotfiles"}),
    )
    .await;
    assert_eq!(status, 404, "octocat is not an organisation");
    assert!(!sim.repo_exists("octocat", "dotfiles"));

    let user = login(&sim, "octocat").await;
    let user_token = user["access_token"].as_str().unwrap();
    let body = json!({"name": "dotfiles", "auto_init": true});
    let (status, repo) = send(&sim, "POST", "/user/repos", Some(user_token), body).await;
    assert_eq!(status, 201, "{repo}");
    assert_eq!(repo["full_name"], "octocat/dotfiles");
    assert_eq!(repo["owner"]["type"], "User");
    assert_eq!(repo["default_branch"], "main");
    assert_eq!(
        sim.file_at("octocat", "dotfiles", "main", "README.md").as_deref(),
        Some("# dotfiles\n")
    );
    // An "all" installation sees the new repository at once.
    let (status, _, _) = get(&sim, "/repos/octocat/dotfiles", &token).await;
    assert_eq!(status, 200);

    let (status, _) = send(&sim, "POST", "/user/repos", None, json!({"name": "x"})).await;
    assert_eq!(status, 401);
    assert_eq!(sim.count(Counter::RepoCreations), 1);
}

#[tokio::test]
async fn get_repo_hides_private_repositories() {
    let sim = sim().await;
    sim.add_user("octocat");
    sim.add_org("acme", &["octocat"]);
    sim.add_org("other", &[]);
    sim.add_repo("other", "private", true);
    sim.add_repo("other", "public", false);
    sim.add_repo("acme", "api", true);
    let inst = sim.install("acme", RepoSelection::All, &[("contents", "read")]);
    let token = installation_token(&sim, inst, None).await;

    assert_eq!(get(&sim, "/repos/acme/api", &token).await.0, 200);
    assert_eq!(get(&sim, "/repos/ACME/API", &token).await.0, 200);
    assert_eq!(get(&sim, "/repos/other/private", &token).await.0, 404);
    assert_eq!(get(&sim, "/repos/other/public", &token).await.0, 200);
    assert_eq!(get(&sim, "/repos/other/nope", &token).await.0, 404);
    let user = login(&sim, "octocat").await;
    let user_token = user["access_token"].as_str().unwrap();
    assert_eq!(get(&sim, "/repos/acme/api", user_token).await.0, 200);
    assert_eq!(get(&sim, "/repos/other/private", user_token).await.0, 404);
    assert_eq!(get(&sim, "/repos/acme/api", "ghs_bogus").await.0, 401);
}
