//! Who may link an installation to a team. GitHub lists an installation to
//! anyone with explicit access to one of its repositories, an outside
//! collaborator too: visibility is not authority. Under the default
//! `LINK_POLICY=admin` only the installation's owner may link it (the user
//! of a personal installation, an active admin of an organisation), through
//! `PUT /accounts/…/installations/…` and the OAuth callback alike; anything
//! else is `403 installation_admin_required` and stores nothing.

use github_sim::{OrgRole, RepoSelection};
use serde_json::json;

use crate::helpers::app::TestResponse;
use crate::helpers::reliability::record_cases;
use crate::helpers::{TestApp, User};

const PERMISSIONS: &[(&str, &str)] = &[("members", "read"), ("contents", "write"), ("administration", "write")];

struct World {
    app: TestApp,
    org: u64,
    personal: u64,
}

/// octo-org: octocat created it (its owner), admin2 was made an owner,
/// member is a plain member, demoted was an owner and is one no more;
/// outsider is an outside collaborator on octo-org/web and on
/// octocat/dotfiles. Each GitHub user is connected as the platform user of
/// the same name, in team `t-{name}`.
async fn world() -> World {
    let app = TestApp::spawn().await;
    for login in ["octocat", "admin2", "member", "demoted", "outsider"] {
        app.sim.add_user(login);
    }
    app.sim.add_org("octo-org", &["octocat", "admin2", "member", "demoted"]);
    app.sim.set_org_role("octo-org", "admin2", OrgRole::Admin);
    app.sim.add_repo("octo-org", "web", true);
    app.sim.add_repo("octocat", "dotfiles", true);
    app.sim.add_collaborator("octo-org", "web", "outsider", "push");
    app.sim.add_collaborator("octocat", "dotfiles", "outsider", "push");
    let org = app.sim.install("octo-org", RepoSelection::All, PERMISSIONS);
    let personal = app.sim.install("octocat", RepoSelection::All, PERMISSIONS);
    for login in ["octocat", "admin2", "member", "demoted", "outsider"] {
        assert_eq!(app.connect(&user(login), login).await.status, 200);
    }
    World { app, org, personal }
}

fn user(login: &str) -> User {
    User::new(login, &[&format!("t-{login}"), &format!("u-{login}")])
}

/// The two ways to link: the frontend's PUT, or GitHub's redirect after an
/// install reaching the OAuth callback with the installation's id.
#[derive(Clone, Copy, Debug)]
enum Path {
    Put,
    Callback,
}

async fn link(app: &TestApp, login: &str, team: &str, installation: u64, path: Path) -> TestResponse {
    let caller = user(login);
    match path {
        Path::Put => app.link(&caller, team, installation).await,
        Path::Callback => {
            let (state, code) = app.authorized(&caller, login, json!({"account_id": team})).await;
            app.callback(
                &caller,
                json!({"code": code, "state": state, "installation_id": installation, "setup_action": "install"}),
            )
            .await
        }
    }
}

/// Whether any link item names `installation` and `team`.
async fn linked(app: &TestApp, team: &str, installation: u64) -> bool {
    let inst = format!("INST#{installation}");
    let acct = format!("ACCT#{team}");
    app.keys()
        .await
        .iter()
        .any(|(pk, sk)| (pk == &acct && sk == &inst) || (pk == &inst && sk == &acct))
}

#[tokio::test]
async fn only_the_owner_or_an_active_org_admin_links_through_either_path_and_a_refusal_stores_nothing() {
    let w = world().await;
    const ADMIN_REQUIRED: Option<&str> = Some("installation_admin_required");
    // (GitHub user, installation, the refusal's code or None: linked)
    let matrix = [
        ("outsider", w.org, ADMIN_REQUIRED),
        ("member", w.org, ADMIN_REQUIRED),
        ("admin2", w.org, None),
        ("octocat", w.org, None),
        ("outsider", w.personal, ADMIN_REQUIRED),
        // GitHub does not even list it to a stranger to that account.
        ("member", w.personal, Some("installation_not_accessible")),
        ("octocat", w.personal, None),
    ];
    let mut failures = Vec::new();
    let mut tried = 0;
    for path in [Path::Put, Path::Callback] {
        for (login, installation, refusal) in matrix {
            tried += 1;
            let team = match path {
                Path::Put => format!("t-{login}"),
                Path::Callback => format!("u-{login}"),
            };
            let answer = link(&w.app, login, &team, installation, path).await;
            let stored = linked(&w.app, &team, installation).await;
            let held = match refusal {
                None => answer.status == 200 && stored,
                Some(code) => answer.status == 403 && answer.error_code() == code && !stored,
            };
            if !held {
                failures.push(format!(
                    "{login} on {installation} by {path:?}: {} {:?}, stored {stored}",
                    answer.status, answer.body
                ));
            }
        }
    }
    // An owner demoted to member loses the right, on both paths.
    assert_eq!(link(&w.app, "demoted", "t-demoted", w.org, Path::Put).await.status, 403);
    w.app.sim.set_org_role("octo-org", "demoted", OrgRole::Admin);
    let as_admin = link(&w.app, "demoted", "t-demoted", w.org, Path::Put).await;
    w.app.sim.set_org_role("octo-org", "demoted", OrgRole::Member);
    for path in [Path::Put, Path::Callback] {
        tried += 1;
        let answer = link(&w.app, "demoted", "u-demoted", w.org, path).await;
        if as_admin.status != 200 || answer.error_code() != "installation_admin_required" {
            failures.push(format!(
                "demoted admin by {path:?}: {} then {:?}",
                as_admin.status, answer.body
            ));
        }
    }
    record_cases(
        "Authorization",
        "Link policy (admin): outside collaborator, member, admin, owner, demoted admin; org and personal installations; PUT and OAuth callback",
        tried,
        &failures,
        "only the owner or an active org admin links; a refusal is 403 installation_admin_required and stores nothing",
    );
}

#[tokio::test]
async fn an_outside_collaborator_cannot_have_repositories_created_with_the_owners_token() {
    let w = world().await;
    assert_eq!(
        link(&w.app, "outsider", "t-outsider", w.personal, Path::Put)
            .await
            .status,
        403
    );

    let created = w
        .app
        .internal(
            "POST",
            "/internal/accounts/t-outsider/repos",
            json!({"owner": "octocat", "name": "planted"}),
        )
        .await;

    assert_eq!(created.status, 403, "{:?}", created.body);
    assert_eq!(created.error_code(), "installation_not_linked");
    assert!(!w.app.sim.repo_exists("octocat", "planted"));
}

#[tokio::test]
async fn link_policy_access_keeps_the_visibility_rule_for_platforms_that_choose_it() {
    let w = world().await;
    let access = w
        .app
        .container_with(|c| c.link_authority = broker::domain::policy::LinkAuthority::Access)
        .await;

    let outsider = access
        .frontend(
            &user("outsider"),
            "PUT",
            &format!("/accounts/t-outsider/installations/{}", w.org),
            None,
        )
        .await;

    assert_eq!(outsider.status, 200, "{:?}", outsider.body);
    assert!(linked(&w.app, "t-outsider", w.org).await);
}

#[tokio::test]
async fn an_app_without_the_members_permission_gets_a_403_naming_it_never_a_500() {
    let w = world().await;
    w.app.sim.add_org("bare-org", &["octocat"]);
    let bare = w
        .app
        .sim
        .install("bare-org", RepoSelection::All, &[("contents", "read")]);

    for path in [Path::Put, Path::Callback] {
        let answer = link(&w.app, "octocat", "t-octocat", bare, path).await;

        assert_eq!(answer.status, 403, "{path:?}: {:?}", answer.body);
        assert_eq!(answer.error_code(), "app_permission_missing");
        assert!(answer.body["error"]["message"].as_str().unwrap().contains("Members"));
        assert!(!linked(&w.app, "t-octocat", bare).await);
    }
}
