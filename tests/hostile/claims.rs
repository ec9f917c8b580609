//! JWT claims in odd shapes, as API Gateway's authorizer would hand them
//! over (every claim a string). A subject that is not a clean user id is no
//! caller at all (401); an accounts claim that does not plainly list team-a
//! grants nothing in team-a (403). The probes are writes: a disconnect of
//! alice's GitHub, and an unlink of team-a's installation.

use std::collections::HashMap;

use super::{api, Answer, Case, World};
use crate::helpers::events::Auth;

fn claims(pairs: &[(&str, &str)]) -> Auth {
    Auth::Jwt(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<HashMap<_, _>>(),
    )
}

pub fn cases(w: &World) -> Vec<Case> {
    let long = "a".repeat(10_000);
    let many: String = format!(
        "[{}]",
        (0..10_000).map(|i| format!("t{i}")).collect::<Vec<_>>().join(" ")
    );
    let subjects: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("no subject", vec![("accounts", "[team-a]")]),
        ("empty subject", vec![("sub", ""), ("accounts", "[team-a]")]),
        ("blank subject", vec![("sub", "   "), ("accounts", "[team-a]")]),
        ("subject with a path", vec![("sub", "bob/../alice")]),
        ("subject with SQL", vec![("sub", "alice' OR '1'='1")]),
        ("subject with NUL", vec![("sub", "alice\0")]),
        ("subject of 10k characters", vec![("sub", &long)]),
        ("subject with an accent", vec![("sub", "alicé")]),
        ("subject as a bracketed list", vec![("sub", "[alice]")]),
        ("subject as a JSON list", vec![("sub", r#"["alice"]"#)]),
        ("subject naming a table key", vec![("sub", "USER#alice")]),
        ("subject with a newline", vec![("sub", "alice\nbob")]),
        (
            "subject under another name",
            vec![("Sub", "alice"), ("username", "alice")],
        ),
    ];
    let mut cases: Vec<Case> = subjects
        .into_iter()
        .map(|(name, pairs)| {
            api(
                name,
                claims(&pairs),
                "DELETE",
                "/github/user",
                None,
                Answer::Error(401, "unauthenticated"),
            )
        })
        .collect();

    let accounts: Vec<(&str, &str)> = vec![
        ("no accounts claim", ""),
        ("empty accounts claim", ""),
        ("empty bracketed list", "[]"),
        ("unbalanced bracket", "[team-a"),
        ("closing bracket only", "team-a]"),
        ("two bracketed lists", "[team-b] [team-a"),
        ("path in an entry", r#"["team-a/.."]"#),
        ("path beside a real team", "[team-b team-a/../team-a]"),
        ("encoded NUL in an entry", "[team-b,team-a%00]"),
        ("raw NUL in an entry", "[team-a\0]"),
        ("JSON entry with a space", r#"["team-b team-a"]"#),
        ("JSON entry with a comma", r#"["team-b,team-a"]"#),
        ("JSON object", r#"{"team-a": true}"#),
        ("number", "5"),
        ("JSON list of numbers", "[1,2]"),
        ("null", "null"),
        ("boolean", "true"),
        ("upper-case team", "[TEAM-A]"),
        ("duplicate teams", "[team-b team-b team-b]"),
        ("10k other teams", &many),
        ("one entry of 10k characters", &long),
        ("accented look-alike", "[téam-a]"),
        ("unicode hyphen look-alike", "[team\u{2010}a]"),
        ("zero-width space", "[team-a\u{200b}]"),
        ("SQL in an entry", "[team-a' OR '1'='1]"),
        ("table key as an entry", "[ACCT#team-a]"),
    ];
    let unlink = format!("/accounts/team-a/installations/{}", w.installation);
    for (i, (name, value)) in accounts.into_iter().enumerate() {
        // The first case leaves the claim out altogether.
        let pairs = if i == 0 {
            vec![("sub", "alice")]
        } else {
            vec![("sub", "alice"), ("accounts", value)]
        };
        cases.push(api(
            &format!("accounts: {name}"),
            claims(&pairs),
            "DELETE",
            &unlink,
            None,
            Answer::Error(403, "not_account_member"),
        ));
    }
    cases.extend([
        api(
            "team-a under another claim name",
            claims(&[("sub", "alice"), ("groups", "[team-a]"), ("accounts", "[team-b]")]),
            "DELETE",
            &unlink,
            None,
            Answer::Error(403, "not_account_member"),
        ),
        api(
            "link with an odd accounts claim",
            claims(&[("sub", "alice"), ("accounts", r#"["team-b team-a"]"#)]),
            "PUT",
            &format!("/accounts/team-a/installations/{}", w.foreign),
            None,
            Answer::Error(403, "not_account_member"),
        ),
        api(
            "OAuth start for a team from an odd claim",
            claims(&[("sub", "alice"), ("accounts", "[team-b,team-a%00]")]),
            "POST",
            "/github/oauth/start",
            Some(br#"{"account_id": "team-a"}"#),
            Answer::Error(403, "not_account_member"),
        ),
    ]);
    cases
}

#[tokio::test]
async fn odd_claims_grant_nothing_and_change_nothing() {
    let world = World::build(0).await;
    let cases = cases(&world);
    super::run("JWT claims", &world, cases).await;
}
