//! Frontend and internal JSON bodies that are malformed, of the wrong
//! types, with unknown or duplicate fields, nested beyond reason, too
//! large or not UTF-8. They go to routes that would write if they were
//! accepted: a vend of a new scope (a mint and a cached token), the start of
//! an OAuth flow (a state), a repository, a commit.

use serde_json::json;

use super::{api, iam, jwt, nested_arrays, Answer, Case, World};
use crate::helpers::events::Auth;

const INVALID: Answer = Answer::Error(400, "invalid_body");
const TOO_LARGE: Answer = Answer::Error(413, "payload_too_large");

pub fn cases(w: &World) -> Vec<Case> {
    let vend_path = format!("/internal/accounts/team-a/installations/{}/token", w.installation);
    let vend = |name: &str, body: &[u8], answer: Answer| api(name, Auth::Iam, "POST", &vend_path, Some(body), answer);
    let start = |name: &str, body: &[u8], answer: Answer| {
        api(
            name,
            Auth::Jwt(w.alice.claims()),
            "POST",
            "/github/oauth/start",
            Some(body),
            answer,
        )
    };
    let deep = nested_arrays(10_000);
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    let deep_field = format!(r#"{{"permissions":{{"contents":{deep}}}}}"#);
    let big_scope = format!(r#"{{"repositories":[{}"web"]}}"#, r#""web","#.repeat(11_000));
    let padded = format!("{{{}}}", " ".repeat(64 * 1024));
    let big_commit = json!({
        "owner": "octo-org", "repo": "web", "branch": "main", "message": "m",
        "files": [{"path": "a.txt", "content": "x".repeat(5 * 1024 * 1024)}],
    })
    .to_string();

    let mut cases = vec![
        vend("truncated JSON", b"{", INVALID),
        vend("unterminated object", br#"{"min_ttl_seconds": 600"#, INVALID),
        vend("array instead of object", b"[]", INVALID),
        vend("string instead of object", br#""text""#, INVALID),
        vend("null instead of object", b"null", INVALID),
        vend("number instead of object", b"42", INVALID),
        vend("repositories as a string", br#"{"repositories": "web"}"#, INVALID),
        vend("repository ids as strings", br#"{"repository_ids": ["1"]}"#, INVALID),
        vend("negative repository id", br#"{"repository_ids": [-1]}"#, INVALID),
        vend("repository id beyond u64", br#"{"repository_ids": [1e30]}"#, INVALID),
        vend("min_ttl_seconds as a string", br#"{"min_ttl_seconds": "600"}"#, INVALID),
        vend(
            "min_ttl_seconds beyond i64",
            br#"{"min_ttl_seconds": 9223372036854775808}"#,
            INVALID,
        ),
        vend("min_ttl_seconds as a float", br#"{"min_ttl_seconds": 600.5}"#, INVALID),
        vend(
            "negative min_ttl_seconds",
            br#"{"min_ttl_seconds": -1}"#,
            Answer::Error(400, "invalid_min_ttl"),
        ),
        vend(
            "min_ttl_seconds over an hour's use",
            br#"{"min_ttl_seconds": 3001}"#,
            Answer::Error(400, "invalid_min_ttl"),
        ),
        vend("permissions as a list", br#"{"permissions": ["contents"]}"#, INVALID),
        vend(
            "permission level not a level",
            br#"{"permissions": {"contents": "delete"}}"#,
            Answer::Error(400, "invalid_scope"),
        ),
        vend(
            "permission name with capitals",
            br#"{"permissions": {"Contents": "write"}}"#,
            Answer::Error(400, "invalid_scope"),
        ),
        vend(
            "permission name with a path",
            br#"{"permissions": {"../contents": "read"}}"#,
            Answer::Error(400, "invalid_scope"),
        ),
        vend(
            "permission level as a number",
            br#"{"permissions": {"contents": 1}}"#,
            INVALID,
        ),
        vend("unknown field", br#"{"unknown": 1}"#, INVALID),
        vend(
            "a token smuggled in",
            br#"{"token": "x", "expires_at": "2099-01-01T00:00:00Z"}"#,
            INVALID,
        ),
        vend(
            "duplicate field",
            br#"{"min_ttl_seconds": 1, "min_ttl_seconds": 2}"#,
            INVALID,
        ),
        vend("10k-deep arrays", deep.as_bytes(), INVALID),
        vend("10k-deep objects", deep_object.as_bytes(), INVALID),
        vend("10k-deep value in a known field", deep_field.as_bytes(), INVALID),
        vend("body over 64 KiB", big_scope.as_bytes(), TOO_LARGE),
        vend("whitespace over 64 KiB", padded.as_bytes(), TOO_LARGE),
        vend("not UTF-8", b"{\"repositories\": [\"w\xffb\"]}", INVALID),
        vend("UTF-8 byte order mark", b"\xef\xbb\xbf{}", INVALID),
        vend("trailing garbage", b"{} {}", INVALID),
        vend("a comment", b"{/* x */}", INVALID),
        vend("NaN", br#"{"min_ttl_seconds": NaN}"#, INVALID),
        vend("single quotes", b"{'min_ttl_seconds': 1}", INVALID),
        start("start: account id as a number", br#"{"account_id": 5}"#, INVALID),
        start("start: install as a string", br#"{"install": "yes"}"#, INVALID),
        start(
            "start: unknown field",
            br#"{"redirect_uri": "https://evil.example/"}"#,
            INVALID,
        ),
        start("start: 10k-deep arrays", deep.as_bytes(), INVALID),
        start("start: body over 64 KiB", padded.as_bytes(), TOO_LARGE),
        start("start: not UTF-8", b"{\"account_id\": \"\xc3\x28\"}", INVALID),
        iam(
            "owner token: owner as a list",
            "/internal/accounts/team-a/token",
            json!({"owner": ["octo-org"]}),
            INVALID,
        ),
        iam(
            "owner token: no owner",
            "/internal/accounts/team-a/token",
            json!({}),
            INVALID,
        ),
        iam(
            "repository: private as a string",
            "/internal/accounts/team-a/repos",
            json!({"owner": "octo-org", "name": "x", "private": "yes"}),
            INVALID,
        ),
        iam(
            "repository: no name",
            "/internal/accounts/team-a/repos",
            json!({"owner": "octo-org"}),
            INVALID,
        ),
        iam(
            "commit: files as an object",
            "/internal/accounts/team-a/commits",
            json!({"owner": "octo-org", "repo": "web", "branch": "main", "message": "m", "files": {"a": "b"}}),
            INVALID,
        ),
        api(
            "commit: body over 5 MiB",
            Auth::Iam,
            "POST",
            "/internal/accounts/team-a/commits",
            Some(big_commit.as_bytes()),
            TOO_LARGE,
        ),
        jwt(
            "callback: state as a number",
            &w.alice,
            "POST",
            "/github/oauth/callback",
            Some(json!({"state": 5})),
            INVALID,
        ),
        jwt(
            "callback: no state",
            &w.alice,
            "POST",
            "/github/oauth/callback",
            Some(json!({"code": "abc"})),
            INVALID,
        ),
    ];
    for (name, return_to) in [
        ("return_to on another origin", "https://evil.example/"),
        ("return_to with a script scheme", "javascript:alert(1)"),
        (
            "return_to on a look-alike host",
            "https://platform.example.evil.example/",
        ),
        (
            "return_to with the origin as user info",
            "https://platform.example@evil.example/",
        ),
        ("return_to protocol-relative", "//evil.example/x"),
        ("return_to over plain http", "http://platform.example/"),
        ("return_to on another port", "https://platform.example:8443/"),
    ] {
        let body = json!({"return_to": return_to}).to_string();
        cases.push(start(
            &format!("start: {name}"),
            body.as_bytes(),
            Answer::Error(400, "invalid_return_to"),
        ));
    }
    cases
}

#[tokio::test]
async fn hostile_json_bodies_are_refused_and_change_nothing() {
    let world = World::build(0).await;
    let cases = cases(&world);
    super::run("JSON bodies", &world, cases).await;
}
