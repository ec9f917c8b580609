//! The `/_sim/` control API, unknown routes, and the sim-clock `Date` header.

use github_sim::Counter;
use serde_json::{json, Value};

use crate::*;

async fn post(sim: &github_sim::GitHubSim, path: &str, body: Value) -> (u16, Value) {
    let resp = client()
        .post(format!("{}{path}", sim.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn control_api_builds_a_world() {
    let sim = sim().await;
    let (status, body, _) = get(&sim, "/_sim/health", "").await;
    assert_eq!((status, body), (200, json!({"ok": true})));

    let (status, user) = post(&sim, "/_sim/users", json!({"login": "octocat"})).await;
    assert_eq!(status, 201);
    assert_eq!(post(&sim, "/_sim/users", json!({"login": "octocat"})).await.0, 422);
    assert_eq!(
        post(&sim, "/_sim/orgs", json!({"login": "acme", "members": ["octocat"]}))
            .await
            .0,
        201
    );
    assert_eq!(
        post(
            &sim,
            "/_sim/repos",
            json!({"owner": "acme", "name": "api", "private": true})
        )
        .await
        .0,
        201
    );
    let (status, inst) = post(
        &sim,
        "/_sim/installations",
        json!({"account": "acme", "repository_selection": "selected", "repositories": ["api"],
               "permissions": {"contents": "read"}}),
    )
    .await;
    assert_eq!(status, 201, "{inst}");
    let inst_id = inst["id"].as_u64().unwrap();
    assert_eq!(
        post(&sim, &format!("/_sim/installations/{inst_id}/suspend"), json!({}))
            .await
            .0,
        204
    );
    assert_eq!(post(&sim, "/_sim/installations/1/suspend", json!({})).await.0, 404);

    let (status, code) = post(&sim, "/_sim/authorize", json!({"login": "octocat"})).await;
    assert_eq!(status, 200);
    let tokens = exchange(&sim, code["code"].as_str().unwrap(), &[]).await;
    let (status, me, _) = get(&sim, "/user", tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(me["id"], user["id"]);
    let (_, list, _) = get(&sim, "/user/installations", tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(list["installations"][0]["repository_selection"], "selected");
    assert!(list["installations"][0]["suspended_at"].is_string());

    assert_eq!(post(&sim, "/_sim/users/octocat/revoke", json!({})).await.0, 204);
    assert!(sim.live_user_tokens("octocat").is_empty());

    let (_, counters, _) = get(&sim, "/_sim/counters", "").await;
    assert_eq!(counters["code_exchanges"], 1);
    assert_eq!(counters["user_installations_pages"], 1);
    // Control calls are not counted as requests: exchange, /user, /user/installations.
    assert_eq!(counters["requests"], 3);
    assert_eq!(sim.count(Counter::Requests), 3);
}

#[tokio::test]
async fn date_header_follows_the_sim_clock_and_unknown_routes_404() {
    let sim = sim().await;
    sim.set_clock_offset(86_400 * 365);
    let resp = client().get(format!("{}/repos/x/y", sim.url())).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let date = resp.headers()["date"].to_str().unwrap().to_owned();
    let when = httpdate::parse_http_date(&date).unwrap();
    let ahead = when.duration_since(std::time::SystemTime::now()).unwrap().as_secs();
    assert!((86_400 * 365 - 5..=86_400 * 365 + 5).contains(&ahead), "{date}");
    assert_eq!(resp.headers()["content-type"], "application/json; charset=utf-8");
    let body: Value = resp.json().await.unwrap();
    assert_gh_error(&body, 404, "Not Found");

    // A known path with the wrong method is a GitHub 404 too.
    let resp = client().put(format!("{}/user", sim.url())).send().await.unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn control_api_reads_and_pushes_repository_contents() {
    let sim = sim().await;
    sim.add_user("octocat");
    sim.add_repo("octocat", "hello", true);
    let body = json!({"branch": "dev/x", "message": "Seed", "files": {"a/b.txt": "hi"}});
    let (status, pushed) = post(&sim, "/_sim/repos/octocat/hello/commits", body).await;
    assert_eq!(status, 201, "{pushed}");
    let sha = pushed["sha"].as_str().unwrap();
    assert_eq!(sim.branch_head("octocat", "hello", "dev/x").as_deref(), Some(sha));

    let (status, branch, _) = get(&sim, "/_sim/repos/octocat/hello/branch?name=dev/x", "").await;
    assert_eq!(status, 200);
    assert_eq!(branch, json!({"head": sha, "log": ["Seed"]}));
    let (_, main, _) = get(&sim, "/_sim/repos/octocat/hello/branch", "").await;
    assert_eq!(main["log"], json!(["Initial commit"]));
    let (status, file, _) = get(&sim, "/_sim/repos/octocat/hello/file?branch=dev/x&path=a/b.txt", "").await;
    assert_eq!((status, file), (200, json!({"content": "hi"})));
    assert_eq!(
        get(&sim, "/_sim/repos/octocat/hello/file?path=a/b.txt", "").await.0,
        404
    );
    assert_eq!(get(&sim, "/_sim/repos/octocat/nope/branch", "").await.0, 404);
    let missing = json!({"message": "m", "files": {}});
    assert_eq!(post(&sim, "/_sim/repos/octocat/nope/commits", missing).await.0, 404);
    // Control requests are not counted.
    assert_eq!(sim.count(Counter::Requests), 0);
}
