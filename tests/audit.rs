//! The audit trail: one record for every vend, link, unlink, policy change,
//! repository creation, commit and revocation, and every refusal of one;
//! never a token, only its hash; readable by the account's members only,
//! newest first, filtered and paged.

use std::collections::BTreeSet;

use github_sim::RepoSelection;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::logs::LogCapture;
use crate::helpers::{TestApp, User};

struct World {
    app: TestApp,
    alice: User,
    org: u64,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    app.sim.add_repo("octo-org", "web", false);
    let org = app.sim.install(
        "octo-org",
        RepoSelection::All,
        &[
            ("administration", "write"),
            ("contents", "write"),
            ("members", "read"),
            ("metadata", "read"),
        ],
    );
    let alice = User::new("alice", &["team-a"]);
    assert_eq!(app.connect(&alice, "octocat").await.status, 200);
    World { app, alice, org }
}

fn sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

async fn trail(w: &World, query: &str) -> Value {
    let got = w
        .app
        .frontend(&w.alice, "GET", &format!("/accounts/team-a/audit{query}"), None)
        .await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    got.body
}

fn records(page: &Value) -> Vec<Value> {
    page["records"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "current_thread")]
async fn every_action_and_refusal_writes_one_record_and_none_holds_a_token() {
    let (logs, _guard) = LogCapture::start();
    let w = world().await;
    let link_path = format!("/accounts/team-a/installations/{}", w.org);

    assert_eq!(w.app.link(&w.alice, "team-a", w.org).await.status, 200);
    let patched = w
        .app
        .frontend(
            &w.alice,
            "PATCH",
            &link_path,
            Some(json!({"permissions": {"administration": "write", "contents": "write"}})),
        )
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    let minted = w.app.vend("team-a", w.org, json!({})).await;
    let cached = w.app.vend("team-a", w.org, json!({})).await;
    assert_eq!(cached.body["token"], minted.body["token"]);
    let refused = w
        .app
        .vend("team-a", w.org, json!({"permissions": {"issues": "read"}}))
        .await;
    assert_eq!(refused.status, 403);
    let user = w.app.internal("POST", "/internal/users/alice/token", json!({})).await;
    assert_eq!(user.status, 200);
    let created = w
        .app
        .internal(
            "POST",
            "/internal/accounts/team-a/repos",
            json!({"owner": "octo-org", "name": "svc"}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let commit = json!({"owner": "octo-org", "repo": "web", "branch": "main", "message": "m",
                        "files": [{"path": "a.txt", "content": "a"}]});
    let committed = w
        .app
        .internal("POST", "/internal/accounts/team-a/commits", commit)
        .await;
    assert_eq!(committed.status, 201, "{:?}", committed.body);
    let revoked = w
        .app
        .internal("DELETE", "/internal/accounts/team-a/tokens", json!({}))
        .await;
    assert_eq!(revoked.body["revoked"], 1);
    let unlinked = w.app.frontend(&w.alice, "DELETE", &link_path, None).await;
    assert_eq!(unlinked.status, 200);

    let all = records(&trail(&w, "?limit=100").await);
    let actions: Vec<(&str, &str)> = all
        .iter()
        .rev()
        .map(|r| (r["action"].as_str().unwrap(), r["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("link", "granted"),
            ("policy", "granted"),
            ("installation_token", "granted"),
            ("installation_token", "granted"),
            ("installation_token", "refused"),
            // Creating and committing use the team's token (here, reused
            // from the cache): their records name it.
            ("repository", "granted"),
            ("commit", "granted"),
            ("revoke", "granted"),
            ("unlink", "granted"),
        ],
        "oldest first here; the route answers newest first"
    );
    let token = minted.body["token"].as_str().unwrap();
    let (mint, reuse, refusal) = (&all[6], &all[5], &all[4]);
    for action in [&all[2], &all[3]] {
        assert_eq!(
            action["token_sha256"],
            sha256(minted.body["token"].as_str().unwrap()),
            "{action}"
        );
    }
    assert_eq!(mint["token_sha256"], sha256(token));
    assert_eq!(reuse["token_sha256"], sha256(token), "the cached token, the same hash");
    assert_eq!(
        mint["caller"],
        "arn:aws:sts::123456789012:assumed-role/platform-backend/session"
    );
    assert_eq!(mint["scope_asked"], json!({}));
    assert_eq!(
        mint["scope_granted"]["permissions"],
        json!({"administration": "write", "contents": "write"})
    );
    assert!(mint["token_expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(refusal["error_code"], "scope_not_allowed");
    assert_eq!(refusal["scope_asked"], json!({"permissions": {"issues": "read"}}));
    assert_eq!(refusal["scope_granted"], Value::Null);
    assert_eq!(all[8]["caller"], "alice", "the JWT's sub");
    assert_eq!(all[0]["caller"], "alice");
    assert_eq!(
        all[1]["token_sha256"],
        sha256(token),
        "the revocation names the token it revoked"
    );
    for r in &all {
        assert_eq!(r["account_id"], "team-a");
        assert!(r["installation_id"].as_u64() == Some(w.org), "{r}");
    }
    // The user token: in alice's own trail, not the account's.
    let user_token = user.body["token"].as_str().unwrap();
    let table = w.app.table_dump().await;
    assert!(table.contains("AUDIT#USER#alice"));
    assert!(table.contains(&sha256(user_token)));
    // Never a token, in the table or the response; every record a log line.
    let listed = serde_json::to_string(&all).unwrap();
    for secret in [token, user_token] {
        assert!(!listed.contains(secret) && !table.contains(secret));
    }
    let audit_lines = logs
        .contents()
        .lines()
        .filter(|l| l.contains("\"target\":\"audit\""))
        .count();
    assert_eq!(
        audit_lines,
        all.len() + 1,
        "one log line per record (and the user token's)"
    );
    assert!(!logs.contents().contains(token));
}

#[tokio::test]
async fn refused_links_policy_changes_unlinks_and_user_tokens_are_recorded_too() {
    let w = world().await;
    assert_eq!(w.app.link(&w.alice, "team-a", w.org).await.status, 200);
    let path = format!("/accounts/team-a/installations/{}", w.org);
    // bob is not in team-a: each attempt on it is refused, and recorded
    // in team-a's trail under bob's name.
    let bob = User::new("bob", &["team-b"]);
    for (method, body) in [
        ("PUT", None),
        ("PATCH", Some(json!({"permissions": {"contents": "read"}}))),
        ("DELETE", None),
    ] {
        let refused = w.app.frontend(&bob, method, &path, body).await;
        assert_eq!(refused.status, 403, "{method}");
    }
    // A platform user who never connected GitHub: the user-token refusal
    // goes to that user's own trail.
    let nobody = w.app.internal("POST", "/internal/users/carol/token", json!({})).await;
    assert_eq!(nobody.status, 404, "{:?}", nobody.body);

    let refused: Vec<(String, String, String)> = records(&trail(&w, "").await)
        .iter()
        .filter(|r| r["outcome"] == "refused")
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (s("action"), s("caller"), s("error_code"))
        })
        .collect();
    let bob = |action: &str| (action.to_owned(), "bob".to_owned(), "not_account_member".to_owned());
    assert_eq!(refused, [bob("unlink"), bob("policy"), bob("link")], "newest first");
    let table = w.app.table_dump().await;
    assert!(table.contains("AUDIT#USER#carol") && table.contains("github_not_connected"));
}

#[tokio::test]
async fn another_accounts_trail_is_refused() {
    let w = world().await;
    assert_eq!(w.app.link(&w.alice, "team-a", w.org).await.status, 200);
    let bob = User::new("bob", &["team-b"]);

    let foreign = w.app.frontend(&bob, "GET", "/accounts/team-a/audit", None).await;

    assert_eq!((foreign.status, foreign.error_code()), (403, "not_account_member"));
    let nobody = w
        .app
        .request(
            "GET",
            "/accounts/team-a/audit",
            None,
            crate::helpers::events::Auth::None,
        )
        .await;
    assert_eq!(nobody.status, 401);
}

#[tokio::test]
async fn the_trail_filters_by_action_and_time_and_pages_newest_first() {
    let w = world().await;
    assert_eq!(w.app.link(&w.alice, "team-a", w.org).await.status, 200);
    for _ in 0..5 {
        w.app.vend("team-a", w.org, json!({"min_ttl_seconds": 3000})).await;
        w.app.clock.advance(1);
    }
    let start = trail(&w, "").await;
    let newest = records(&start)[0]["time"].as_str().unwrap().to_owned();

    let vends = trail(&w, "?action=installation_token&limit=2").await;
    let mut seen: Vec<Value> = records(&vends);
    let mut cursor = vends["cursor"].clone();
    while let Some(c) = cursor.as_str() {
        let page = trail(
            &w,
            &format!("?action=installation_token&limit=2&cursor={}", urlencode(c)),
        )
        .await;
        seen.extend(records(&page));
        cursor = page["cursor"].clone();
    }
    assert_eq!(seen.len(), 5, "every vend once, over pages of 2");
    let times: Vec<&str> = seen.iter().map(|r| r["time"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|p| p[0] >= p[1]), "newest first: {times:?}");
    assert_eq!(times[0], newest);
    assert!(seen.iter().all(|r| r["action"] == "installation_token"));
    let links = records(&trail(&w, "?action=link").await);
    assert_eq!(links.len(), 1);
    let since_newest = records(&trail(&w, &format!("?since={}", urlencode(&newest))).await);
    assert_eq!(since_newest.len(), 1);
    let until_link = records(&trail(&w, &format!("?until={}", urlencode(links[0]["time"].as_str().unwrap()))).await);
    assert_eq!(
        until_link
            .iter()
            .map(|r| r["action"].as_str().unwrap())
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["link"])
    );
    for bad in [
        "?action=everything",
        "?since=yesterday",
        "?limit=0",
        "?limit=101",
        "?cursor=../x",
        "?action=link&action=unlink",
    ] {
        let got = w
            .app
            .frontend(&w.alice, "GET", &format!("/accounts/team-a/audit{bad}"), None)
            .await;
        assert_eq!((got.status, got.error_code()), (400, "invalid_query"), "{bad}");
    }
}

fn urlencode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}
