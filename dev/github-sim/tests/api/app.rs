//! App JWT checks against the sim clock, `GET /app`, and installation token
//! minting with its 201/403/404/422 answers.

use github_sim::{Counter, RepoSelection};
use serde_json::json;

use crate::*;

const IAT_MSG: &str = "'Issued at' claim ('iat') must be an Integer representing a time in the past.";
const TOO_FAR_MSG: &str = "'Expiration time' claim ('exp') is too far in the future";
const EXPIRED_MSG: &str = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires.";

async fn get_app(sim: &github_sim::GitHubSim, jwt: &str) -> (u16, serde_json::Value) {
    let (status, body, _) = get(sim, "/app", jwt).await;
    (status, body)
}

#[tokio::test]
async fn jwt_claims_are_checked_against_the_sim_clock() {
    let sim = sim().await;
    let (status, app) = get_app(&sim, &jwt(&sim)).await;
    assert_eq!(status, 200, "{app}");
    assert_eq!(app["id"], APP_ID);
    assert_eq!(app["slug"], "broker-test");
    assert_eq!(app["client_id"], CLIENT_ID);
    // iss may also be the app id, as a number or a string.
    let now = sim.now_unix();
    assert_eq!(
        get_app(&sim, &jwt_with(json!(APP_ID), now - 60, now + 540)).await.0,
        200
    );
    assert_eq!(
        get_app(&sim, &jwt_with(json!(APP_ID.to_string()), now, now + 600))
            .await
            .0,
        200
    );

    // The sim clock runs an hour behind the system: a JWT stamped with system time was "issued in the future".
    sim.set_clock_offset(-3600);
    let sys = sim.now_unix() + 3600;
    let (status, body) = get_app(&sim, &jwt_with(json!(CLIENT_ID), sys - 60, sys + 540)).await;
    assert_eq!(status, 401);
    assert_gh_error(&body, 401, IAT_MSG);
    let (status, body) = get_app(&sim, &jwt_with(json!(CLIENT_ID), sys - 7200, sys - 3000)).await;
    assert_eq!(status, 401);
    assert_gh_error(&body, 401, TOO_FAR_MSG);

    // The sim clock runs an hour ahead: the same JWT has expired.
    sim.set_clock_offset(3600);
    let (status, body) = get_app(&sim, &jwt_with(json!(CLIENT_ID), sys - 60, sys + 540)).await;
    assert_eq!(status, 401);
    assert_gh_error(&body, 401, EXPIRED_MSG);

    // Lifetime over ten minutes is refused even when iat is in the past.
    let now = sim.now_unix();
    let (_, body) = get_app(&sim, &jwt_with(json!(CLIENT_ID), now - 300, now + 400)).await;
    assert_gh_error(&body, 401, TOO_FAR_MSG);
    assert_eq!(get_app(&sim, &jwt(&sim)).await.0, 200);

    let (status, body) = get_app(&sim, "not.a.jwt").await;
    assert_eq!(status, 401);
    assert_gh_error(&body, 401, "A JSON web token could not be decoded");
    let (status, _) = get_app(&sim, &jwt_with(json!("Iv1.someoneelse"), now - 60, now + 540)).await;
    assert_eq!(status, 401);
    // A user token is not an app JWT.
    sim.add_user("octocat");
    let user = login(&sim, "octocat").await;
    let (_, body) = get_app(&sim, user["access_token"].as_str().unwrap()).await;
    assert_gh_error(&body, 401, "A JSON web token could not be decoded");
}

#[tokio::test]
async fn mint_and_scope_down() {
    let sim = sim().await;
    sim.add_user("octocat");
    sim.add_org("acme", &["octocat"]);
    let api = sim.add_repo("acme", "api", true);
    let web = sim.add_repo("acme", "web", false);
    sim.add_repo("acme", "secret", true);
    let foreign = sim.add_repo("octocat", "dotfiles", false);
    let all = sim.install(
        "acme",
        RepoSelection::All,
        &[("contents", "write"), ("metadata", "read")],
    );
    let jwt = jwt(&sim);

    let (status, body) = mint(&sim, all, &jwt, None).await;
    assert_eq!(status, 201, "{body}");
    let token = body["token"].as_str().unwrap();
    assert!(token.starts_with("ghs_") && token.len() > 500, "{}", token.len());
    assert!(token[4..]
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    assert_eq!(body["repository_selection"], "all");
    assert_eq!(body["permissions"], json!({"contents": "write", "metadata": "read"}));
    assert!(body.get("repositories").is_none());
    assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(sim.issued_secrets().iter().any(|s| s == token));
    let (status, repos, _) = get(&sim, "/installation/repositories", token).await;
    assert_eq!(status, 200);
    assert_eq!(repos["total_count"], 3);

    let scoped = json!({"repositories": ["api"], "repository_ids": [web], "permissions": {"contents": "read"}});
    let (status, body) = mint(&sim, all, &jwt, Some(scoped)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["repository_selection"], "selected");
    assert_eq!(body["permissions"], json!({"contents": "read"}));
    let names: Vec<&str> = body["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api", "web"]);
    assert_eq!(body["repositories"][0]["id"], api);
    assert_eq!(body["repositories"][0]["full_name"], "acme/api");
    assert_eq!(body["repositories"][0]["private"], true);
    assert_eq!(body["repositories"][0]["owner"]["login"], "acme");

    const REPO_MSG: &str =
        "There is at least one repository that does not exist or is not accessible to the parent installation.";
    const PERM_MSG: &str = "The permissions requested are not granted to this installation.";
    for req in [
        json!({"repositories": ["dotfiles"]}),
        json!({"repository_ids": [foreign]}),
        json!({"repositories": ["nope"]}),
    ] {
        let (status, body) = mint(&sim, all, &jwt, Some(req)).await;
        assert_eq!(status, 422);
        assert_gh_error(&body, 422, REPO_MSG);
    }
    for perms in [
        json!({"contents": "admin"}),
        json!({"issues": "read"}),
        json!({"metadata": "write"}),
    ] {
        let (status, body) = mint(&sim, all, &jwt, Some(json!({"permissions": perms}))).await;
        assert_eq!(status, 422);
        assert_gh_error(&body, 422, PERM_MSG);
    }

    // A "selected" installation lists its repositories and refuses the others.
    sim.add_user("solo");
    sim.add_repo("solo", "one", false);
    sim.add_repo("solo", "two", false);
    let selected = sim.install(
        "solo",
        RepoSelection::Selected(vec!["one".into()]),
        &[("issues", "write")],
    );
    let (status, body) = mint(&sim, selected, &jwt, Some(json!({}))).await;
    assert_eq!(status, 201);
    assert_eq!(body["repository_selection"], "selected");
    assert_eq!(body["repositories"][0]["full_name"], "solo/one");
    let (status, _) = mint(&sim, selected, &jwt, Some(json!({"repositories": ["two"]}))).await;
    assert_eq!(status, 422);

    assert_eq!(sim.count(Counter::Mints(all)), 2);
    assert_eq!(sim.count(Counter::Mints(selected)), 1);
    assert_eq!(sim.count(Counter::MintsTotal), 3);
    assert_eq!(sim.count(Counter::MintRequests), 10);
}

#[tokio::test]
async fn suspended_uninstalled_and_unknown_installations() {
    let sim = sim().await;
    sim.add_user("octocat");
    let id = sim.install("octocat", RepoSelection::All, &[("contents", "read")]);
    sim.set_installation_token_lifetime(120);
    let jwt = jwt(&sim);

    sim.suspend(id);
    let (status, body) = mint(&sim, id, &jwt, None).await;
    assert_eq!(status, 403);
    assert_gh_error(&body, 403, "This installation has been suspended");
    sim.unsuspend(id);
    let (status, body) = mint(&sim, id, &jwt, None).await;
    assert_eq!(status, 201);
    let expires = body["expires_at"].as_str().unwrap().to_owned();
    assert!(expires.ends_with('Z'));

    let (status, one, _) = get(&sim, &format!("/app/installations/{id}"), &jwt).await;
    assert_eq!(status, 200);
    assert_eq!(one["id"], id);

    sim.uninstall(id);
    let (status, body) = mint(&sim, id, &jwt, None).await;
    assert_eq!(status, 404);
    assert_gh_error(&body, 404, "Not Found");
    assert_eq!(get(&sim, &format!("/app/installations/{id}"), &jwt).await.0, 404);
    assert_eq!(mint(&sim, 999_999, &jwt, None).await.0, 404);
    assert_eq!(sim.count(Counter::MintsTotal), 1);
}
