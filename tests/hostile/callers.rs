//! The wrong kind of caller for each route: a platform JWT or nothing on
//! internal routes (403 `iam_required`), IAM or nothing on frontend routes
//! (401), wrong methods and unknown routes. Each request is one that would
//! write if its caller were accepted.

use serde_json::json;

use super::{api, Answer, Case, World};
use crate::helpers::events::Auth;

pub fn cases(w: &World) -> Vec<Case> {
    let inst = w.installation;
    let internal = [
        format!("/internal/accounts/team-a/installations/{inst}/token"),
        "/internal/accounts/team-a/token".to_owned(),
        "/internal/users/alice/token".to_owned(),
        "/internal/accounts/team-a/repos".to_owned(),
        "/internal/accounts/team-a/commits".to_owned(),
    ];
    let internal_body = json!({
        "owner": "octo-org", "name": "taken-over", "repositories": ["web"],
        "repo": "web", "branch": "main", "message": "m", "files": [{"path": "a", "content": "x"}],
    })
    .to_string();
    let frontend = [
        ("GET", "/github/user".to_owned()),
        ("DELETE", "/github/user".to_owned()),
        ("GET", "/github/installations".to_owned()),
        ("GET", "/accounts/team-a/installations".to_owned()),
        ("PUT", format!("/accounts/team-a/installations/{}", w.foreign)),
        ("DELETE", format!("/accounts/team-a/installations/{inst}")),
        ("POST", "/github/oauth/start".to_owned()),
        ("POST", "/github/oauth/callback".to_owned()),
    ];
    let callback_body = json!({"state": w.alice_states[0].0}).to_string();

    let mut cases = Vec::new();
    for path in &internal {
        for (who, auth) in [
            ("a platform JWT", Auth::Jwt(w.alice.claims())),
            ("no caller", Auth::None),
        ] {
            cases.push(api(
                &format!("{path} with {who}"),
                auth,
                "POST",
                path,
                Some(internal_body.as_bytes()),
                Answer::Error(403, "iam_required"),
            ));
        }
    }
    for (method, path) in &frontend {
        for (who, auth) in [("IAM", Auth::Iam), ("no caller", Auth::None)] {
            cases.push(api(
                &format!("{method} {path} with {who}"),
                auth,
                method,
                path,
                Some(callback_body.as_bytes()),
                Answer::Error(401, "unauthenticated"),
            ));
        }
    }
    let alice = || Auth::Jwt(w.alice.claims());
    let not_allowed = || Answer::Error(405, "method_not_allowed");
    cases.extend([
        api(
            "PATCH /github/user",
            alice(),
            "PATCH",
            "/github/user",
            None,
            not_allowed(),
        ),
        api(
            "POST /github/user",
            alice(),
            "POST",
            "/github/user",
            None,
            not_allowed(),
        ),
        api(
            "GET on an internal token route",
            Auth::Iam,
            "GET",
            &internal[0],
            None,
            not_allowed(),
        ),
        api(
            "DELETE on an internal token route",
            Auth::Iam,
            "DELETE",
            "/internal/users/alice/token",
            None,
            not_allowed(),
        ),
        api(
            "GET on the OAuth callback",
            alice(),
            "GET",
            "/github/oauth/callback",
            None,
            not_allowed(),
        ),
        api(
            "unknown internal route",
            Auth::Iam,
            "POST",
            "/internal/accounts/team-a",
            None,
            Answer::Error(404, "route_not_found"),
        ),
        api(
            "unknown admin route",
            Auth::Iam,
            "DELETE",
            "/admin/installations",
            None,
            Answer::Error(404, "route_not_found"),
        ),
        api(
            "internal route under a frontend prefix",
            alice(),
            "POST",
            "/accounts/team-a/token",
            None,
            Answer::Error(404, "route_not_found"),
        ),
    ]);
    cases
}

#[tokio::test]
async fn every_route_refuses_the_wrong_kind_of_caller() {
    let world = World::build(1).await;
    let cases = cases(&world);
    super::run("wrong caller for the route", &world, cases).await;
}
