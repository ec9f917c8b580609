//! The git database API: blob → tree (on a base tree) → commit → ref update,
//! non-fast-forward refusals when the branch moved, concurrent ref updates,
//! branch creation, permission and scope refusals, and faults on these routes.

use github_sim::{Counter, Fault, FaultKind, GitHubSim, RepoSelection};
use serde_json::{json, Value};

use crate::*;

const NOT_ACCESSIBLE: &str = "Resource not accessible by integration";
const MODE: &str = "100644";

/// acme/site (private) and acme/pub (public), both with a README on main,
/// and an "all" installation on acme with `perms`.
async fn world(perms: &[(&str, &str)]) -> (GitHubSim, u64) {
    let sim = sim().await;
    sim.add_user("octocat");
    sim.add_org("acme", &["octocat"]);
    sim.add_repo("acme", "site", true);
    sim.add_repo("acme", "pub", false);
    let inst = sim.install("acme", RepoSelection::All, perms);
    (sim, inst)
}

/// A commit on top of `parent` adding `path` = `content`, without moving any ref.
async fn commit_on(sim: &GitHubSim, token: &str, repo: &str, parent: &str, path: &str, content: &str) -> String {
    let (_, parent_commit, _) = get(sim, &format!("/repos/acme/{repo}/git/commits/{parent}"), token).await;
    let tree = json!({"base_tree": parent_commit["tree"]["sha"], "tree": [{"path": path, "mode": MODE, "type": "blob", "content": content}]});
    let (status, tree) = send(sim, "POST", &format!("/repos/acme/{repo}/git/trees"), Some(token), tree).await;
    assert_eq!(status, 201, "{tree}");
    let commit = json!({"message": format!("add {path}"), "tree": tree["sha"], "parents": [parent]});
    let (status, commit) = send(
        sim,
        "POST",
        &format!("/repos/acme/{repo}/git/commits"),
        Some(token),
        commit,
    )
    .await;
    assert_eq!(status, 201, "{commit}");
    commit["sha"].as_str().unwrap().to_owned()
}

async fn move_main(sim: &GitHubSim, token: &str, sha: &str, force: bool) -> (u16, Value) {
    let body = json!({"sha": sha, "force": force});
    send(sim, "PATCH", "/repos/acme/site/git/refs/heads/main", Some(token), body).await
}

#[tokio::test]
async fn blob_tree_commit_ref_flow() {
    let (sim, inst) = world(&[("contents", "write")]).await;
    let token = installation_token(&sim, inst, None).await;
    let head = sim.branch_head("acme", "site", "main").unwrap();

    let (status, r, _) = get(&sim, "/repos/acme/site/git/ref/heads/main", &token).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["ref"], "refs/heads/main");
    assert!(
        r["node_id"].is_string()
            && r["url"]
                .as_str()
                .unwrap()
                .ends_with("/repos/acme/site/git/refs/heads/main")
    );
    assert_eq!(
        r["object"],
        json!({"sha": head, "type": "commit", "url": r["object"]["url"]})
    );
    let (status, base, _) = get(&sim, &format!("/repos/acme/site/git/commits/{head}"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(base["message"], "Initial commit");

    // Real git ids: `printf 'hello\n' | git hash-object --stdin`.
    let blob = json!({"content": "hello\n", "encoding": "utf-8"});
    let (status, blob) = send(&sim, "POST", "/repos/acme/site/git/blobs", Some(&token), blob).await;
    assert_eq!(status, 201);
    assert_eq!(blob["sha"], "ce013625030ba8dba906f756967f9e9ca394464a");
    assert!(blob["url"]
        .as_str()
        .unwrap()
        .ends_with("/git/blobs/ce013625030ba8dba906f756967f9e9ca394464a"));
    let b64 = json!({"content": "aGVsbG8K", "encoding": "base64"});
    let (_, same) = send(&sim, "POST", "/repos/acme/site/git/blobs", Some(&token), b64).await;
    assert_eq!(same["sha"], blob["sha"]);

    let tree = json!({"base_tree": base["tree"]["sha"], "tree": [
        {"path": "docs/a/b.txt", "mode": MODE, "type": "blob", "sha": blob["sha"]},
        {"path": "notes.md", "mode": MODE, "type": "blob", "content": "inline"},
    ]});
    let (status, tree) = send(&sim, "POST", "/repos/acme/site/git/trees", Some(&token), tree).await;
    assert_eq!(status, 201, "{tree}");
    assert_eq!(tree["truncated"], false);
    let top: Vec<(&str, &str)> = tree["tree"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["path"].as_str().unwrap(), e["type"].as_str().unwrap()))
        .collect();
    assert_eq!(top, [("README.md", "blob"), ("docs", "tree"), ("notes.md", "blob")]);

    let commit = json!({"message": "Add docs", "tree": tree["sha"], "parents": [head]});
    let (status, commit) = send(&sim, "POST", "/repos/acme/site/git/commits", Some(&token), commit).await;
    assert_eq!(status, 201, "{commit}");
    assert_eq!(commit["tree"]["sha"], tree["sha"]);
    assert_eq!(commit["parents"][0]["sha"], head.as_str());
    assert_eq!(commit["message"], "Add docs");
    assert_eq!(commit["author"]["name"], "broker-test[bot]");
    assert_eq!(commit["committer"]["email"], commit["author"]["email"]);
    let sha = commit["sha"].as_str().unwrap();
    assert!(commit["html_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("acme/site/commit/{sha}")));
    let (_, fetched, _) = get(&sim, &format!("/repos/acme/site/git/commits/{sha}"), &token).await;
    assert_eq!(fetched["sha"], sha);
    assert_eq!(fetched["tree"]["sha"], tree["sha"]);

    // Nothing is visible on the branch until the ref moves.
    assert_eq!(sim.file_at("acme", "site", "main", "notes.md"), None);
    let (status, moved) = move_main(&sim, &token, sha, false).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["object"]["sha"], sha);
    assert_eq!(sim.branch_head("acme", "site", "main").as_deref(), Some(sha));
    assert_eq!(
        sim.file_at("acme", "site", "main", "docs/a/b.txt").as_deref(),
        Some("hello\n")
    );
    assert_eq!(
        sim.file_at("acme", "site", "main", "notes.md").as_deref(),
        Some("inline")
    );
    assert_eq!(
        sim.file_at("acme", "site", "main", "README.md").as_deref(),
        Some("# site\n")
    );
    assert_eq!(sim.commit_log("acme", "site", "main"), ["Add docs", "Initial commit"]);
    assert_eq!(sim.count(Counter::Commits), 1);
    assert_eq!(sim.count(Counter::RefUpdates), 1);

    // Unknown objects are 422s.
    let zero = "0".repeat(40);
    let cases = [
        (
            "trees",
            json!({"base_tree": zero, "tree": []}),
            "base_tree is not a valid tree oid",
        ),
        (
            "trees",
            json!({"tree": [{"path": "x", "mode": MODE, "type": "blob", "sha": zero}]}),
            "is not a valid blob",
        ),
        (
            "commits",
            json!({"message": "m", "tree": zero, "parents": []}),
            "Tree SHA does not exist",
        ),
        (
            "commits",
            json!({"message": "m", "tree": tree["sha"], "parents": [zero]}),
            "Parent SHA",
        ),
    ];
    for (route, body, message) in cases {
        let (status, err) = send(
            &sim,
            "POST",
            &format!("/repos/acme/site/git/{route}"),
            Some(&token),
            body,
        )
        .await;
        assert_eq!(status, 422, "{err}");
        assert!(err["message"].as_str().unwrap().contains(message), "{err}");
    }
    assert_eq!(
        get(&sim, &format!("/repos/acme/site/git/commits/{zero}"), &token)
            .await
            .0,
        404
    );
    assert_eq!(get(&sim, "/repos/acme/site/git/ref/heads/nope", &token).await.0, 404);
}

#[tokio::test]
async fn a_moved_branch_refuses_non_fast_forward_updates() {
    let (sim, inst) = world(&[("contents", "write")]).await;
    let token = installation_token(&sim, inst, None).await;
    let head = sim.branch_head("acme", "site", "main").unwrap();
    let ours = commit_on(&sim, &token, "site", &head, "ours.txt", "1").await;

    // Someone else pushes in between.
    let theirs = sim.push_commit("acme", "site", "main", "Their change", &[("theirs.txt", "2")]);
    let (status, body) = move_main(&sim, &token, &ours, false).await;
    assert_eq!(status, 422);
    assert_gh_error(&body, 422, "Update is not a fast forward");
    assert_eq!(sim.branch_head("acme", "site", "main"), Some(theirs.clone()));
    assert_eq!(sim.count(Counter::RefUpdates), 0);

    // Redone on top of their commit it goes through and keeps both files.
    let rebased = commit_on(&sim, &token, "site", &theirs, "ours.txt", "1").await;
    assert_eq!(move_main(&sim, &token, &rebased, false).await.0, 200);
    assert_eq!(
        sim.commit_log("acme", "site", "main"),
        ["add ours.txt", "Their change", "Initial commit"]
    );
    assert_eq!(sim.file_at("acme", "site", "main", "theirs.txt").as_deref(), Some("2"));

    // force: true overwrites history.
    assert_eq!(move_main(&sim, &token, &ours, true).await.0, 200);
    assert_eq!(
        sim.commit_log("acme", "site", "main"),
        ["add ours.txt", "Initial commit"]
    );
    assert_eq!(sim.file_at("acme", "site", "main", "theirs.txt"), None);
    assert_eq!(sim.count(Counter::RefUpdates), 2);
}

#[tokio::test]
async fn concurrent_updates_from_one_head_let_exactly_one_win() {
    let (sim, inst) = world(&[("contents", "write")]).await;
    let token = installation_token(&sim, inst, None).await;
    let head = sim.branch_head("acme", "site", "main").unwrap();
    let a = commit_on(&sim, &token, "site", &head, "a.txt", "a").await;
    let b = commit_on(&sim, &token, "site", &head, "b.txt", "b").await;
    let (ra, rb) = tokio::join!(move_main(&sim, &token, &a, false), move_main(&sim, &token, &b, false));
    let mut statuses = [ra.0, rb.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 422]);
    let winner = if ra.0 == 200 { a } else { b };
    assert_eq!(sim.branch_head("acme", "site", "main"), Some(winner));
}

#[tokio::test]
async fn create_a_branch_from_main() {
    let (sim, inst) = world(&[("contents", "write")]).await;
    let token = installation_token(&sim, inst, None).await;
    let head = sim.branch_head("acme", "site", "main").unwrap();

    let body = json!({"ref": "refs/heads/feature/x", "sha": head});
    let (status, r) = send(&sim, "POST", "/repos/acme/site/git/refs", Some(&token), body.clone()).await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["ref"], "refs/heads/feature/x");
    assert_eq!(r["object"]["sha"], head.as_str());
    assert_eq!(
        sim.branch_head("acme", "site", "feature/x").as_deref(),
        Some(head.as_str())
    );
    let (status, again) = send(&sim, "POST", "/repos/acme/site/git/refs", Some(&token), body).await;
    assert_eq!(status, 422);
    assert_gh_error(&again, 422, "Reference already exists");
    let (status, got, _) = get(&sim, "/repos/acme/site/git/ref/heads/feature/x", &token).await;
    assert_eq!(status, 200);
    assert_eq!(got["ref"], "refs/heads/feature/x");

    let bad_name = json!({"ref": "heads/y", "sha": head});
    assert_eq!(
        send(&sim, "POST", "/repos/acme/site/git/refs", Some(&token), bad_name)
            .await
            .0,
        422
    );
    let unknown = json!({"ref": "refs/heads/y", "sha": "1".repeat(40)});
    let (status, err) = send(&sim, "POST", "/repos/acme/site/git/refs", Some(&token), unknown).await;
    assert_eq!(status, 422);
    assert_gh_error(&err, 422, "Object does not exist");

    // Committing on the branch leaves main alone.
    let c = commit_on(&sim, &token, "site", &head, "f.txt", "f").await;
    let body = json!({"sha": c});
    let (status, _) = send(
        &sim,
        "PATCH",
        "/repos/acme/site/git/refs/heads/feature/x",
        Some(&token),
        body,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(sim.file_at("acme", "site", "feature/x", "f.txt").as_deref(), Some("f"));
    assert_eq!(sim.file_at("acme", "site", "main", "f.txt"), None);
    assert_eq!(sim.branch_head("acme", "site", "main"), Some(head));
    let missing = json!({"sha": c});
    let (status, err) = send(
        &sim,
        "PATCH",
        "/repos/acme/site/git/refs/heads/nope",
        Some(&token),
        missing,
    )
    .await;
    assert_eq!(status, 422);
    assert_gh_error(&err, 422, "Reference does not exist");
}

#[tokio::test]
async fn permissions_and_scope_are_enforced() {
    let (sim, inst) = world(&[("contents", "write")]).await;
    sim.add_repo("acme", "other", true);
    let blob = json!({"content": "x"});

    // contents:read reads but cannot write.
    let read = installation_token(&sim, inst, Some(json!({"permissions": {"contents": "read"}}))).await;
    assert_eq!(get(&sim, "/repos/acme/site/git/ref/heads/main", &read).await.0, 200);
    let (status, body) = send(&sim, "POST", "/repos/acme/site/git/blobs", Some(&read), blob.clone()).await;
    assert_eq!(status, 403);
    assert_gh_error(&body, 403, NOT_ACCESSIBLE);
    let head = sim.branch_head("acme", "site", "main").unwrap();
    let (status, _) = move_main(&sim, &read, &head, false).await;
    assert_eq!(status, 403);

    // A token scoped to acme/other: the private site is invisible, the public
    // repository readable but not writable.
    let scoped = installation_token(&sim, inst, Some(json!({"repositories": ["other"]}))).await;
    assert_eq!(
        send(&sim, "POST", "/repos/acme/other/git/blobs", Some(&scoped), blob.clone())
            .await
            .0,
        201
    );
    let (status, _) = send(&sim, "POST", "/repos/acme/site/git/blobs", Some(&scoped), blob.clone()).await;
    assert_eq!(status, 404);
    assert_eq!(get(&sim, "/repos/acme/site/git/ref/heads/main", &scoped).await.0, 404);
    assert_eq!(get(&sim, "/repos/acme/pub/git/ref/heads/main", &scoped).await.0, 200);
    let (status, body) = send(&sim, "POST", "/repos/acme/pub/git/blobs", Some(&scoped), blob.clone()).await;
    assert_eq!(status, 403);
    assert_gh_error(&body, 403, NOT_ACCESSIBLE);

    // User tokens: members push, others do not see private repositories.
    let member = login(&sim, "octocat").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = send(&sim, "POST", "/repos/acme/site/git/blobs", Some(&member), blob.clone()).await;
    assert_eq!(status, 201);
    sim.add_user("outsider");
    let outsider = login(&sim, "outsider").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = send(
        &sim,
        "POST",
        "/repos/acme/site/git/blobs",
        Some(&outsider),
        blob.clone(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(get(&sim, "/repos/acme/pub/git/ref/heads/main", &outsider).await.0, 200);
    let (status, _) = send(&sim, "POST", "/repos/acme/site/git/blobs", None, blob.clone()).await;
    assert_eq!(status, 404);
    let (status, _) = send(&sim, "POST", "/repos/acme/site/git/blobs", Some("ghs_bogus"), blob).await;
    assert_eq!(status, 401);
    assert_eq!(sim.branch_head("acme", "site", "main"), Some(head));
}

#[tokio::test]
async fn faults_apply_to_git_routes() {
    let (sim, inst) = world(&[("contents", "write")]).await;
    let token = installation_token(&sim, inst, None).await;
    let head = sim.branch_head("acme", "site", "main").unwrap();
    let c = commit_on(&sim, &token, "site", &head, "x.txt", "x").await;
    sim.inject(Fault {
        method: Some("PATCH".into()),
        path_prefix: "/repos/acme/site/git/refs/".into(),
        kind: FaultKind::Status(502),
        times: 1,
    });
    assert_eq!(move_main(&sim, &token, &c, false).await.0, 502);
    assert_eq!(sim.branch_head("acme", "site", "main"), Some(head));
    assert_eq!(move_main(&sim, &token, &c, false).await.0, 200);
    assert_eq!(sim.branch_head("acme", "site", "main"), Some(c));
}
