//! Ids in the path with path, injection and look-alike characters, as they
//! reach the function after API Gateway (percent-encoding left as sent).
//! Account and user ids are 1-128 characters of `A-Z a-z 0-9 - _ . : @ |`
//! other than `.` and `..`; installation ids are positive decimal numbers
//! written canonically. Anything else is a 400 before any key is built.

use serde_json::json;

use super::{api, iam, Answer, Case, World};
use crate::helpers::events::Auth;

pub fn cases(w: &World) -> Vec<Case> {
    let alice = || Auth::Jwt(w.alice.claims());
    let inst = w.installation;
    let long = "a".repeat(10_000);
    let digits = "1".repeat(10_000);
    let accounts = [
        ("dot-dot", ".."),
        ("dot", "."),
        ("encoded slashes", "team-a%2F..%2Fteam-b"),
        ("encoded NUL", "team-a%00"),
        ("single quote", "team-a'"),
        ("encoded double quote", "team-a%22"),
        ("encoded hash", "team-a%23frag"),
        ("encoded accent", "%C3%A9quipe"),
        ("10k characters", long.as_str()),
        ("encoded space", "team-a%20"),
        ("table key", "ACCT%23team-a"),
        ("semicolon", "team-a;rm"),
        ("encoded newline", "team-a%0A"),
        ("encoded percent", "team-a%25"),
    ];
    let installations = [
        ("negative", "-1".to_owned()),
        ("zero", "0".to_owned()),
        ("leading zero", format!("0{inst}")),
        ("just beyond u64", "18446744073709551616".to_owned()),
        ("far beyond u64", "99999999999999999999999".to_owned()),
        ("exponent", "1e3".to_owned()),
        ("hex", "0x10".to_owned()),
        ("plus sign", format!("+{inst}")),
        ("encoded NUL", format!("{inst}%00")),
        ("decimal point", format!("{inst}.0")),
        ("encoded leading space", format!("%20{inst}")),
        ("encoded slash", format!("{inst}%2F..")),
        ("arabic-indic digits", "%D9%A1%D9%A2".to_owned()),
        ("10k digits", digits.clone()),
        ("single quote", format!("{inst}'")),
    ];
    let users = [
        ("dot-dot", ".."),
        ("encoded slashes", "alice%2F..%2Fbob"),
        ("encoded NUL", "alice%00"),
        ("single quote", "alice'"),
        ("encoded double quote", "alice%22"),
        ("10k characters", long.as_str()),
        ("table key", "USER%23alice"),
    ];

    let mut cases = Vec::new();
    for (name, account) in accounts {
        cases.push(api(
            &format!("unlink: account {name}"),
            alice(),
            "DELETE",
            &format!("/accounts/{account}/installations/{inst}"),
            None,
            Answer::Error(400, "invalid_account_id"),
        ));
    }
    for (name, account) in &accounts[..6] {
        cases.push(iam(
            &format!("vend: account {name}"),
            &format!("/internal/accounts/{account}/installations/{inst}/token"),
            json!({}),
            Answer::Error(400, "invalid_account_id"),
        ));
    }
    for (name, id) in &installations {
        cases.push(api(
            &format!("link: installation {name}"),
            alice(),
            "PUT",
            &format!("/accounts/team-a/installations/{id}"),
            None,
            Answer::Error(400, "invalid_installation_id"),
        ));
    }
    for (name, id) in &installations[..4] {
        cases.push(api(
            &format!("unlink: installation {name}"),
            alice(),
            "DELETE",
            &format!("/accounts/team-a/installations/{id}"),
            None,
            Answer::Error(400, "invalid_installation_id"),
        ));
        cases.push(iam(
            &format!("vend: installation {name}"),
            &format!("/internal/accounts/team-a/installations/{id}/token"),
            json!({}),
            Answer::Error(400, "invalid_installation_id"),
        ));
    }
    for (name, user) in users {
        cases.push(iam(
            &format!("user token: user {name}"),
            &format!("/internal/users/{user}/token"),
            json!({}),
            Answer::Error(400, "invalid_user_id"),
        ));
    }
    let not_found = Answer::Error(404, "route_not_found");
    cases.extend([
        api(
            "unlink with a path after the id",
            alice(),
            "DELETE",
            &format!("/accounts/team-a/installations/{inst}/../{}", w.foreign),
            None,
            not_found.clone(),
        ),
        api(
            "unlink with an empty account",
            alice(),
            "DELETE",
            &format!("/accounts//installations/{inst}"),
            None,
            Answer::Error(400, "invalid_account_id"),
        ),
        iam(
            "vend with a trailing slash",
            &format!("/internal/accounts/team-a/installations/{inst}/token/"),
            json!({}),
            not_found.clone(),
        ),
        iam(
            "vend with a doubled slash",
            &format!("/internal//accounts/team-a/installations/{inst}/token"),
            json!({}),
            not_found,
        ),
    ]);
    cases
}

#[tokio::test]
async fn ids_with_path_or_injection_characters_are_refused_and_change_nothing() {
    let world = World::build(0).await;
    let cases = cases(&world);
    super::run("ids in paths", &world, cases).await;
}
