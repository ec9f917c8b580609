//! Repositories and installations outside what team-a was given: scopes
//! naming another organisation's repository, names with `../`, owners that
//! are not linked, paths and branches that leave the repository. Refused
//! before GitHub is asked where the broker can tell; a scope only GitHub
//! can judge reaches its mint endpoint and is refused there, minting nothing.

use serde_json::{json, Value};

use super::{iam, Answer, Case, World};

fn commit(owner: &str, repo: &str, branch: &str, files: Value) -> Value {
    json!({"owner": owner, "repo": repo, "branch": branch, "message": "hostile", "files": files})
}

fn file(path: &str) -> Value {
    json!([{"path": path, "content": "x"}])
}

pub fn cases(w: &World) -> Vec<Case> {
    let vend_path = format!("/internal/accounts/team-a/installations/{}/token", w.installation);
    let vend = |name: &str, body: Value, answer: Answer| iam(name, &vend_path, body, answer);
    let scope = || Answer::Error(400, "invalid_scope");
    let not_granted = || Answer::Error(422, "scope_not_granted");
    let not_linked = || Answer::Error(403, "installation_not_linked");
    let bad_name = || Answer::Error(400, "invalid_repository_name");
    let bad_owner = || Answer::Error(400, "invalid_owner");
    let bad_path = || Answer::Error(400, "invalid_path");
    let owner_token = "/internal/accounts/team-a/token";
    let repos = "/internal/accounts/team-a/repos";
    let commits = "/internal/accounts/team-a/commits";
    let many: Vec<String> = (0..501).map(|i| format!("r{i}")).collect();
    let many_files: Vec<Value> = (0..101)
        .map(|i| json!({"path": format!("f{i}"), "content": "x"}))
        .collect();

    vec![
        vend(
            "a repository of another organisation",
            json!({"repositories": ["victim-repo"]}),
            not_granted(),
        )
        .asking_github(),
        vend(
            "another organisation's repository id",
            json!({"repository_ids": [w.foreign_repo_id]}),
            not_granted(),
        )
        .asking_github(),
        vend(
            "a permission the installation lacks",
            json!({"permissions": {"administration": "write"}}),
            not_granted(),
        )
        .asking_github(),
        vend(
            "a level above the one granted",
            json!({"permissions": {"metadata": "write"}}),
            not_granted(),
        )
        .asking_github(),
        vend(
            "repository with ../",
            json!({"repositories": ["../victim-repo"]}),
            scope(),
        ),
        vend(
            "repository as owner/name",
            json!({"repositories": ["victim-org/victim-repo"]}),
            scope(),
        ),
        vend("repository named ..", json!({"repositories": [".."]}), scope()),
        vend(
            "repository escaping through web",
            json!({"repositories": ["web/../../victim-repo"]}),
            scope(),
        ),
        vend(
            "repository with an encoded slash",
            json!({"repositories": ["web%2F.."]}),
            scope(),
        ),
        vend("repository with NUL", json!({"repositories": ["web\u{0}"]}), scope()),
        vend("empty repository name", json!({"repositories": [""]}), scope()),
        vend("repository id 0", json!({"repository_ids": [0]}), scope()),
        vend("501 repositories", json!({"repositories": many}), scope()),
        iam(
            "vend for an installation linked to nobody",
            &format!("/internal/accounts/team-a/installations/{}/token", w.foreign),
            json!({}),
            not_linked(),
        ),
        iam(
            "vend for another team's link",
            &format!("/internal/accounts/team-b/installations/{}/token", w.installation),
            json!({}),
            not_linked(),
        ),
        iam(
            "owner token for an unlinked organisation",
            owner_token,
            json!({"owner": "victim-org"}),
            not_linked(),
        ),
        iam(
            "owner token for a team without links",
            "/internal/accounts/team-b/token",
            json!({"owner": "octo-org"}),
            not_linked(),
        ),
        iam(
            "owner with ../",
            owner_token,
            json!({"owner": "../octo-org"}),
            bad_owner(),
        ),
        iam(
            "owner escaping to another org",
            owner_token,
            json!({"owner": "octo-org/../victim-org"}),
            bad_owner(),
        ),
        iam("empty owner", owner_token, json!({"owner": ""}), bad_owner()),
        iam(
            "owner of 40 characters",
            owner_token,
            json!({"owner": "o".repeat(40)}),
            bad_owner(),
        ),
        iam(
            "owner with NUL",
            owner_token,
            json!({"owner": "octo-org\u{0}"}),
            bad_owner(),
        ),
        iam(
            "create in an unlinked organisation",
            repos,
            json!({"owner": "victim-org", "name": "x"}),
            not_linked(),
        ),
        iam(
            "create named ../victim-repo",
            repos,
            json!({"owner": "octo-org", "name": "../victim-repo"}),
            bad_name(),
        ),
        iam(
            "create named ..",
            repos,
            json!({"owner": "octo-org", "name": ".."}),
            bad_name(),
        ),
        iam(
            "create named owner/name",
            repos,
            json!({"owner": "octo-org", "name": "victim-org/x"}),
            bad_name(),
        ),
        iam(
            "create with a long description",
            repos,
            json!({"owner": "octo-org", "name": "x", "description": "d".repeat(351)}),
            Answer::Error(400, "invalid_description"),
        ),
        iam(
            "create with owner ../",
            repos,
            json!({"owner": "../victim-org", "name": "x"}),
            bad_owner(),
        ),
        iam(
            "commit to an unlinked organisation",
            commits,
            commit("victim-org", "victim-repo", "main", file("a")),
            not_linked(),
        ),
        iam(
            "commit to ../victim-org/victim-repo",
            commits,
            commit("octo-org", "../victim-org/victim-repo", "main", file("a")),
            bad_name(),
        ),
        iam(
            "commit to a repository outside the installation",
            commits,
            commit("octo-org", "victim-repo", "main", file("a")),
            Answer::Error(404, "repository_not_found"),
        ),
        iam(
            "commit path ../x",
            commits,
            commit("octo-org", "web", "main", file("../x")),
            bad_path(),
        ),
        iam(
            "commit path /etc/passwd",
            commits,
            commit("octo-org", "web", "main", file("/etc/passwd")),
            bad_path(),
        ),
        iam(
            "commit path .git/config",
            commits,
            commit("octo-org", "web", "main", file(".git/config")),
            bad_path(),
        ),
        iam(
            "commit path a/.GIT/hooks/x",
            commits,
            commit("octo-org", "web", "main", file("a/.GIT/hooks/x")),
            bad_path(),
        ),
        iam(
            "commit path a//b",
            commits,
            commit("octo-org", "web", "main", file("a//b")),
            bad_path(),
        ),
        iam(
            "commit path with NUL",
            commits,
            commit("octo-org", "web", "main", file("a\u{0}b")),
            bad_path(),
        ),
        iam(
            "commit branch ../main",
            commits,
            commit("octo-org", "web", "../main", file("a")),
            Answer::Error(400, "invalid_branch"),
        ),
        iam(
            "commit branch refs/heads/../x",
            commits,
            commit("octo-org", "web", "refs/heads/../x", file("a")),
            Answer::Error(400, "invalid_branch"),
        ),
        iam(
            "commit with a path twice",
            commits,
            commit(
                "octo-org",
                "web",
                "main",
                json!([{"path": "a", "content": "1"}, {"path": "a", "content": "2"}]),
            ),
            Answer::Error(422, "duplicate_path"),
        ),
        iam(
            "commit of 101 files",
            commits,
            commit("octo-org", "web", "main", json!(many_files)),
            Answer::Error(422, "too_many_files"),
        ),
        iam(
            "commit without files",
            commits,
            commit("octo-org", "web", "main", json!([])),
            Answer::Error(400, "no_files"),
        ),
        iam(
            "commit of a file over 1 MiB",
            commits,
            commit(
                "octo-org",
                "web",
                "main",
                json!([{"path": "a", "content": "x".repeat(1024 * 1024 + 1)}]),
            ),
            Answer::Error(413, "payload_too_large"),
        ),
    ]
}

#[tokio::test]
async fn repositories_outside_the_installation_are_refused_and_change_nothing() {
    let world = World::build(0).await;
    let cases = cases(&world);
    super::run("repositories outside the installation", &world, cases).await;
}
