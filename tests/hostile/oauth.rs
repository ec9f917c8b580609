//! OAuth states from other callers, expired, replayed, tampered or
//! malformed, and codes that do not belong to the state. A state the
//! broker takes is burnt whatever happens next (README, "OAuth state"):
//! those cases may mark that one state used, and nothing else.

use serde_json::{json, Value};

use super::{jwt, Answer, Case, World};
use crate::helpers::User;

const CALLBACK: &str = "/github/oauth/callback";

fn callback(name: &str, user: &User, body: Value, answer: Answer) -> Case {
    jwt(name, user, "POST", CALLBACK, Some(body), answer)
}

pub fn cases(w: &World) -> Vec<Case> {
    let sim = &w.app.sim;
    let alice = &w.alice;
    let invalid_state = || Answer::Error(400, "invalid_state");
    let mismatch = || Answer::Error(403, "state_mismatch");
    let rejected = || Answer::Error(400, "oauth_code_rejected");
    let bob = |i: usize| w.bob_states[i].0.as_str();
    let mine = |i: usize| w.alice_states[i].0.as_str();
    let code = |login: &str, challenge: &str| sim.authorize(login, Some(challenge), None);
    let tampered = {
        let mut s = bob(0).to_owned();
        let last = s.pop().unwrap();
        s.push(if last == 'A' { 'B' } else { 'A' });
        s
    };
    let left_team = User::new("alice", &[]);

    let mut cases = vec![
        callback(
            "bob's state with alice's code",
            alice,
            json!({"code": code("octocat", &w.bob_states[0].1), "state": bob(0)}),
            mismatch(),
        )
        .burning(bob(0)),
        callback(
            "bob's state without a code",
            alice,
            json!({"state": bob(1)}),
            mismatch(),
        )
        .burning(bob(1)),
        callback(
            "bob's state with an installation",
            alice,
            json!({"state": bob(2), "installation_id": w.installation, "setup_action": "install"}),
            mismatch(),
        )
        .burning(bob(2)),
        callback(
            "alice's used state replayed",
            alice,
            json!({"code": code("octocat", &w.alice_states[0].1), "state": w.used_state}),
            invalid_state(),
        ),
        callback(
            "alice's expired state",
            alice,
            json!({"code": code("octocat", &w.alice_states[0].1), "state": w.expired_state}),
            invalid_state(),
        )
        .burning(&w.expired_state),
        callback(
            "bob's state, last character changed",
            alice,
            json!({"state": tampered}),
            invalid_state(),
        ),
        callback(
            "bob's state with a character more",
            alice,
            json!({"state": format!("{}A", bob(3))}),
            invalid_state(),
        ),
        callback(
            "bob's state upper-cased",
            alice,
            json!({"state": bob(3).to_uppercase()}),
            invalid_state(),
        ),
        callback(
            "bob's state truncated",
            alice,
            json!({"state": &bob(3)[..10]}),
            invalid_state(),
        ),
        callback("empty state", alice, json!({"state": ""}), invalid_state()),
        callback(
            "state of 129 characters",
            alice,
            json!({"state": "s".repeat(129)}),
            invalid_state(),
        ),
        callback(
            "state of 10k characters",
            alice,
            json!({"state": "s".repeat(10_000)}),
            invalid_state(),
        ),
        callback(
            "state naming a table key",
            alice,
            json!({"state": format!("STATE#{}", bob(3))}),
            invalid_state(),
        ),
        callback(
            "state with SQL",
            alice,
            json!({"state": "' OR '1'='1"}),
            invalid_state(),
        ),
        callback(
            "state with NUL",
            alice,
            json!({"state": format!("{}\u{0}", bob(3))}),
            invalid_state(),
        ),
        callback(
            "state with a path",
            alice,
            json!({"state": format!("../{}", bob(3))}),
            invalid_state(),
        ),
        callback("state with unicode", alice, json!({"state": "état-☃"}), invalid_state()),
        callback(
            "state as a list",
            alice,
            json!({"state": [bob(3)]}),
            Answer::Error(400, "invalid_body"),
        ),
        callback(
            "state as null",
            alice,
            json!({"state": null}),
            Answer::Error(400, "invalid_body"),
        ),
        callback(
            "unknown field beside a state",
            alice,
            json!({"state": mine(0), "token": "x"}),
            Answer::Error(400, "invalid_body"),
        ),
        callback(
            "empty code",
            alice,
            json!({"state": mine(0), "code": ""}),
            Answer::Error(400, "invalid_code"),
        ),
        callback(
            "code of 513 characters",
            alice,
            json!({"state": mine(0), "code": "c".repeat(513)}),
            Answer::Error(400, "invalid_code"),
        ),
        callback(
            "code as a number",
            alice,
            json!({"state": mine(0), "code": 5}),
            Answer::Error(400, "invalid_body"),
        ),
    ];
    for (name, id) in [
        ("negative", json!("-1")),
        ("zero", json!(0)),
        ("with letters", json!("12abc")),
        ("fractional", json!(1.5)),
        ("a list", json!([w.installation])),
        ("a boolean", json!(true)),
        ("with a path", json!(format!("{}/../{}", w.installation, w.foreign))),
        ("beyond u64", json!("18446744073709551616")),
    ] {
        cases.push(callback(
            &format!("installation id {name}"),
            alice,
            json!({"state": mine(0), "installation_id": id}),
            Answer::Error(400, "invalid_installation_id"),
        ));
    }
    cases.extend([
        callback(
            "a code GitHub never issued",
            alice,
            json!({"state": mine(1), "code": "0123456789abcdef0123"}),
            rejected(),
        )
        .burning(mine(1))
        .asking_github(),
        callback(
            "octocat's code for another PKCE challenge",
            alice,
            json!({"state": mine(2), "code": code("octocat", &w.bob_states[3].1)}),
            rejected(),
        )
        .burning(mine(2))
        .asking_github(),
        callback(
            "hubot's code injected into alice's flow",
            alice,
            json!({"state": mine(3), "code": code("hubot", &w.bob_states[3].1)}),
            rejected(),
        )
        .burning(mine(3))
        .asking_github(),
        callback(
            "alice's state after she left its team",
            &left_team,
            json!({"state": mine(4), "installation_id": w.installation}),
            Answer::Error(403, "not_account_member"),
        )
        .burning(mine(4)),
        jwt(
            "start for a team the caller is not in",
            alice,
            "POST",
            "/github/oauth/start",
            Some(json!({"account_id": "team-b"})),
            Answer::Error(403, "not_account_member"),
        ),
        jwt(
            "start for an account with a path",
            alice,
            "POST",
            "/github/oauth/start",
            Some(json!({"account_id": "../team-a"})),
            Answer::Error(400, "invalid_account_id"),
        ),
    ]);
    cases
}

#[tokio::test]
async fn foreign_expired_replayed_and_tampered_states_are_refused() {
    let world = World::build(5).await;
    let cases = cases(&world);
    super::run("OAuth states", &world, cases).await;
}
