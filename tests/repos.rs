//! Acting on GitHub for a team: repository creation with the right token
//! (installation token for organisations, the owner's own token for personal
//! accounts) and atomic multi-file commits.

use std::time::Duration;

use github_sim::{Counter, Fault, FaultKind, RepoSelection};
use serde_json::{json, Value};

use crate::helpers::{TestApp, User};

struct World {
    app: TestApp,
    alice: User,
    org: u64,
    personal: u64,
}

/// alice (team-a) is octocat; the app is installed on octo-org and on
/// octocat's own account, both linked to team-a.
async fn world() -> World {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    app.sim.add_repo("octo-org", "web", false);
    let permissions = [
        ("administration", "write"),
        ("contents", "write"),
        ("members", "read"),
        ("metadata", "read"),
    ];
    let org = app.sim.install("octo-org", RepoSelection::All, &permissions);
    let personal = app.sim.install("octocat", RepoSelection::All, &permissions);
    let alice = User::new("alice", &["team-a"]);
    app.connect(&alice, "octocat").await;
    assert_eq!(app.link(&alice, "team-a", org).await.status, 200);
    assert_eq!(app.link(&alice, "team-a", personal).await.status, 200);
    World {
        app,
        alice,
        org,
        personal,
    }
}

async fn create(app: &TestApp, body: Value) -> crate::helpers::app::TestResponse {
    app.internal("POST", "/internal/accounts/team-a/repos", body).await
}

async fn commit(app: &TestApp, body: Value) -> crate::helpers::app::TestResponse {
    app.internal("POST", "/internal/accounts/team-a/commits", body).await
}

fn files(list: &[(&str, &str)]) -> Value {
    Value::Array(list.iter().map(|(p, c)| json!({"path": p, "content": c})).collect())
}

#[tokio::test]
async fn an_organisation_repository_is_created_with_the_installation_token() {
    let World { app, org, .. } = world().await;

    let created = create(
        &app,
        json!({"owner": "octo-org", "name": "new-service", "private": true}),
    )
    .await;

    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["full_name"], "octo-org/new-service");
    assert!(app.sim.repo_exists("octo-org", "new-service"));
    assert_eq!(app.sim.count(Counter::Mints(org)), 1, "through token vending");
    assert_eq!(app.sim.count_path("POST", "/orgs/octo-org/repos"), 1);
}

#[tokio::test]
async fn a_personal_repository_is_created_with_the_owners_own_token() {
    let World { app, personal, .. } = world().await;

    let created = create(&app, json!({"owner": "octocat", "name": "dotfiles"})).await;

    assert_eq!(created.status, 201, "{:?}", created.body);
    assert!(app.sim.repo_exists("octocat", "dotfiles"));
    assert_eq!(app.sim.count_path("POST", "/user/repos"), 1);
    assert_eq!(
        app.sim.count(Counter::Mints(personal)),
        0,
        "an installation token cannot do this on GitHub"
    );
}

#[tokio::test]
async fn a_personal_repository_needs_the_owner_to_be_connected() {
    let World { app, alice, .. } = world().await;
    app.frontend(&alice, "DELETE", "/github/user", None).await;

    let created = create(&app, json!({"owner": "octocat", "name": "dotfiles"})).await;

    assert_eq!(created.status, 409);
    assert_eq!(created.error_code(), "reauthorization_required");
    assert!(created.body["error"]["message"].as_str().unwrap().contains("octocat"));
    assert!(!app.sim.repo_exists("octocat", "dotfiles"));
}

#[tokio::test]
async fn the_owners_token_is_refreshed_first_when_it_is_about_to_expire() {
    let World { app, .. } = world().await;
    app.clock.advance(8 * 3600 - 120);

    let created = create(&app, json!({"owner": "octocat", "name": "dotfiles"})).await;

    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(app.sim.count(Counter::Refreshes), 1);
}

#[tokio::test]
async fn a_repository_name_github_refuses_is_a_422_with_githubs_reason() {
    let World { app, .. } = world().await;

    let taken = create(&app, json!({"owner": "octo-org", "name": "web"})).await;

    assert_eq!(taken.status, 422);
    assert_eq!(taken.error_code(), "github_refused");
    assert!(
        taken.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already exists"),
        "{:?}",
        taken.body
    );
}

#[tokio::test]
async fn owners_without_a_linked_installation_and_bad_names_are_refused_before_github() {
    let World { app, .. } = world().await;
    let requests = app.sim.count(Counter::Requests);

    let unlinked = create(&app, json!({"owner": "someone-else", "name": "x"})).await;
    let bad_name = create(&app, json!({"owner": "octo-org", "name": "a b"})).await;
    let bad_owner = create(&app, json!({"owner": "../octo", "name": "x"})).await;

    assert_eq!(unlinked.status, 403);
    assert_eq!(bad_name.status, 400);
    assert_eq!(bad_owner.status, 400);
    assert_eq!(app.sim.count(Counter::Requests), requests);
}

#[tokio::test]
async fn files_land_as_one_commit_on_the_branch() {
    let World { app, org, .. } = world().await;
    app.vend("team-a", org, json!({})).await;
    let before = app.sim.branch_head("octo-org", "web", "main").unwrap();

    let committed = commit(
        &app,
        json!({"owner": "octo-org", "repo": "web", "branch": "main", "message": "Add service files",
               "files": files(&[("README.md", "# web\n"), ("src/main.rs", "fn main() {}\n"), ("deploy/app.yaml", "replicas: 2\n")])}),
    )
    .await;

    assert_eq!(committed.status, 201, "{:?}", committed.body);
    assert_eq!(committed.body["created_branch"], false);
    let head = app.sim.branch_head("octo-org", "web", "main").unwrap();
    assert_eq!(committed.body["commit"]["sha"], head);
    assert_ne!(head, before);
    assert_eq!(
        app.sim.file_at("octo-org", "web", "main", "src/main.rs").as_deref(),
        Some("fn main() {}\n")
    );
    assert_eq!(
        app.sim.file_at("octo-org", "web", "main", "deploy/app.yaml").as_deref(),
        Some("replicas: 2\n")
    );
    assert_eq!(app.sim.commit_log("octo-org", "web", "main")[0], "Add service files");
    assert_eq!(app.sim.count(Counter::Mints(org)), 1, "the cached token was reused");
}

#[tokio::test]
async fn a_missing_branch_is_created_from_the_default_branch() {
    let World { app, .. } = world().await;
    let main_before = app.sim.branch_head("octo-org", "web", "main");

    let committed = commit(
        &app,
        json!({"owner": "octo-org", "repo": "web", "branch": "feature/setup", "message": "Set up",
               "files": files(&[("setup.txt", "ok")])}),
    )
    .await;

    assert_eq!(committed.status, 201, "{:?}", committed.body);
    assert_eq!(committed.body["created_branch"], true);
    assert_eq!(
        app.sim
            .file_at("octo-org", "web", "feature/setup", "setup.txt")
            .as_deref(),
        Some("ok")
    );
    assert_eq!(app.sim.branch_head("octo-org", "web", "main"), main_before);
    assert_eq!(app.sim.commit_log("octo-org", "web", "feature/setup").len(), 2);
}

#[tokio::test]
async fn a_commit_racing_a_push_is_rebuilt_on_the_new_head_and_both_stay_in_history() {
    let World { app, .. } = world().await;
    // The broker's branch update is held back while someone else pushes.
    app.sim.inject(Fault {
        method: Some("PATCH".into()),
        path_prefix: "/repos/octo-org/web/git/refs".into(),
        kind: FaultKind::Delay(Duration::from_millis(600)),
        times: 1,
    });
    let body = json!({"owner": "octo-org", "repo": "web", "branch": "main", "message": "Ours",
                      "files": files(&[("ours.txt", "1")])});

    // The push lands once the broker's PATCH is being held, whatever the
    // machine's speed: a fixed sleep raced the broker's earlier steps.
    let (committed, _) = tokio::join!(commit(&app, body), async {
        while app.sim.count_path("PATCH", "/repos/octo-org/web/git/refs") == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        app.sim
            .push_commit("octo-org", "web", "main", "Theirs", &[("theirs.txt", "2")]);
    });

    assert_eq!(committed.status, 201, "{:?}", committed.body);
    assert_eq!(committed.body["attempts"], 2);
    let log = app.sim.commit_log("octo-org", "web", "main");
    assert_eq!(&log[..2], ["Ours", "Theirs"]);
    assert_eq!(
        app.sim.file_at("octo-org", "web", "main", "theirs.txt").as_deref(),
        Some("2")
    );
    assert_eq!(
        app.sim.file_at("octo-org", "web", "main", "ours.txt").as_deref(),
        Some("1")
    );
}

#[tokio::test]
async fn two_concurrent_commits_on_one_branch_both_land() {
    let World { app, .. } = world().await;
    let second = app.new_container().await;
    let body = |name: &str| {
        json!({"owner": "octo-org", "repo": "web", "branch": "main", "message": name,
               "files": files(&[(&format!("{name}.txt"), name)])})
    };

    let (a, b) = tokio::join!(
        commit(&app, body("first")),
        second.internal("POST", "/internal/accounts/team-a/commits", body("second"))
    );

    assert_eq!((a.status, b.status), (201, 201), "{:?} {:?}", a.body, b.body);
    let log = app.sim.commit_log("octo-org", "web", "main");
    assert!(
        log.contains(&"first".to_owned()) && log.contains(&"second".to_owned()),
        "{log:?}"
    );
    for name in ["first", "second"] {
        assert_eq!(
            app.sim
                .file_at("octo-org", "web", "main", &format!("{name}.txt"))
                .as_deref(),
            Some(name)
        );
    }
}

#[tokio::test]
async fn commits_over_the_limits_are_refused_whole_before_github() {
    let World { app, .. } = world().await;
    let many: Vec<(String, String)> = (0..101).map(|i| (format!("f{i}.txt"), "x".to_owned())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    let big = "x".repeat(1024 * 1024 + 1);
    let base =
        |files: Value| json!({"owner": "octo-org", "repo": "web", "branch": "main", "message": "m", "files": files});

    let too_many = commit(&app, base(files(&many))).await;
    let too_big = commit(&app, base(files(&[("big.txt", &big)]))).await;
    let escaping = commit(&app, base(files(&[("../x", "y")]))).await;
    let none = commit(&app, base(files(&[]))).await;

    assert_eq!((too_many.status, too_many.error_code()), (422, "too_many_files"));
    assert_eq!(too_big.status, 413);
    assert_eq!(escaping.status, 400);
    assert_eq!(none.status, 400);
    assert_eq!(app.sim.count_path("POST", "/repos/"), 0);
    assert_eq!(app.sim.count(Counter::Commits), 0);
}

#[tokio::test]
async fn repository_operations_follow_the_vending_rules() {
    let World { app, org, .. } = world().await;
    app.sim.suspend(org);
    let mut suspend = crate::helpers::fixtures::webhook("installation.suspend");
    suspend = crate::helpers::fixtures::about(suspend, org, "octo-org", 1);
    app.webhook("installation", &crate::helpers::fixtures::delivery(), &suspend)
        .await;

    let refused_repo = create(&app, json!({"owner": "octo-org", "name": "x"})).await;
    let refused_commit = commit(
        &app,
        json!({"owner": "octo-org", "repo": "web", "branch": "main", "message": "m", "files": files(&[("a", "b")])}),
    )
    .await;
    let other_team = app
        .internal(
            "POST",
            "/internal/accounts/team-b/repos",
            json!({"owner": "octocat", "name": "x"}),
        )
        .await;

    assert_eq!(
        (refused_repo.status, refused_repo.error_code()),
        (403, "installation_suspended")
    );
    assert_eq!(refused_commit.status, 403);
    assert_eq!(other_team.status, 403);
}

#[tokio::test]
async fn a_repository_created_with_auto_init_takes_a_commit_at_once() {
    let World { app, .. } = world().await;

    let created = create(&app, json!({"owner": "octo-org", "name": "fresh", "auto_init": true})).await;
    let committed = commit(
        &app,
        json!({"owner": "octo-org", "repo": "fresh", "branch": "main", "message": "Scaffold",
               "files": files(&[("app.txt", "hello")])}),
    )
    .await;

    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(committed.status, 201, "{:?}", committed.body);
    assert_eq!(
        app.sim.file_at("octo-org", "fresh", "main", "app.txt").as_deref(),
        Some("hello")
    );
}

#[tokio::test]
async fn an_empty_repository_is_a_clear_409_for_a_commit() {
    let World { app, .. } = world().await;
    create(&app, json!({"owner": "octo-org", "name": "empty"})).await;

    let committed = commit(
        &app,
        json!({"owner": "octo-org", "repo": "empty", "branch": "main", "message": "m", "files": files(&[("a", "b")])}),
    )
    .await;

    assert_eq!(committed.status, 409, "{:?}", committed.body);
}
