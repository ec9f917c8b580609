//! Nothing secret in logs or at rest: a full flow runs with every log line
//! captured at the most verbose level, then the logs and the whole table
//! are searched for every secret the flow involved.

use github_sim::RepoSelection;
use serde_json::json;

use crate::helpers::app::{CLIENT_SECRET, PRIVATE_KEY, WEBHOOK_SECRET};
use crate::helpers::fixtures::{about, delivery, webhook};
use crate::helpers::logs::LogCapture;
use crate::helpers::{TestApp, User};

#[tokio::test(flavor = "current_thread")]
async fn a_full_flow_leaves_no_token_or_secret_in_the_logs_or_the_table() {
    let (logs, _guard) = LogCapture::start();
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    app.sim.add_repo("octo-org", "web", false);
    let installation = app
        .sim
        .install("octo-org", RepoSelection::All, &[("contents", "write")]);
    let alice = User::new("alice", &["team-a"]);

    // Connect, list, link, vend (two scopes), refresh, use, fail in the usual ways.
    assert_eq!(app.connect(&alice, "octocat").await.status, 200);
    assert_eq!(
        app.frontend(&alice, "GET", "/github/installations", None).await.status,
        200
    );
    assert_eq!(app.link(&alice, "team-a", installation).await.status, 200);
    let vended = app.vend("team-a", installation, json!({})).await;
    assert_eq!(vended.status, 200);
    assert_eq!(
        app.vend("team-a", installation, json!({"repositories": ["web"]}))
            .await
            .status,
        200
    );
    assert_eq!(
        app.vend("team-a", installation, json!({"repositories": ["nope"]}))
            .await
            .status,
        422
    );
    app.clock.advance(8 * 3600 - 120);
    assert_eq!(
        app.internal("POST", "/internal/users/alice/token", json!({}))
            .await
            .status,
        200
    );
    let bad_code = app.frontend(&alice, "POST", "/github/oauth/start", None).await;
    let state = bad_code.body["state"].as_str().unwrap();
    app.frontend(
        &alice,
        "POST",
        "/github/oauth/callback",
        Some(json!({"code": "ghu_not_a_code", "state": state})),
    )
    .await;
    app.webhook(
        "installation",
        &delivery(),
        &about(webhook("installation.suspend"), installation, "octo-org", 1),
    )
    .await;
    app.deliver("installation", &delivery(), b"{}", Some("sha256=0000"))
        .await;
    app.sim.revoke_authorization("octocat");
    app.clock.advance(8 * 3600);
    assert_eq!(
        app.internal("POST", "/internal/users/alice/token", json!({}))
            .await
            .status,
        409
    );
    app.webhook(
        "installation",
        &delivery(),
        &about(webhook("installation.deleted"), installation, "octo-org", 1),
    )
    .await;

    let secrets: Vec<String> = app
        .sim
        .issued_secrets()
        .into_iter()
        .chain([
            CLIENT_SECRET.to_owned(),
            WEBHOOK_SECRET.to_owned(),
            app.token_key.clone(),
        ])
        .chain(
            PRIVATE_KEY
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .map(str::to_owned),
        )
        .collect();
    assert!(secrets.len() > 10, "the flow issued codes and tokens");
    assert!(secrets.iter().any(|s| s.starts_with("ghr_")) && secrets.iter().any(|s| s.starts_with("ghs_")));
    let log_text = logs.contents();
    assert!(
        log_text.contains("\"level\":\"TRACE\""),
        "the capture saw the most verbose level"
    );
    assert!(log_text.contains("request"), "the capture saw the broker's own lines");
    let table = app.table_dump().await;
    for secret in &secrets {
        assert!(
            !log_text.contains(secret.as_str()),
            "a secret ({}…) is in the logs",
            &secret[..4]
        );
        assert!(
            !table.contains(secret.as_str()),
            "a secret ({}…) is in the table",
            &secret[..4]
        );
    }
    assert!(!table.contains(vended.body["token"].as_str().unwrap()));
}

#[tokio::test]
async fn tokens_at_rest_are_sealed_and_bound_to_their_item() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    let installation = app.sim.install("octocat", RepoSelection::All, &[("contents", "read")]);
    let alice = User::new("alice", &["team-a"]);
    app.connect(&alice, "octocat").await;
    app.link(&alice, "team-a", installation).await;
    app.vend("team-a", installation, json!({})).await;

    let items = app.scan().await;
    let sealed: Vec<&str> = items
        .iter()
        .flat_map(|item| ["access_token", "refresh_token", "token", "pkce_verifier"].map(|f| item.get(f)))
        .flatten()
        .map(|v| v.as_s().unwrap().as_str())
        .collect();

    assert_eq!(sealed.len(), 4, "access, refresh, installation token, PKCE verifier");
    assert!(sealed.iter().all(|s| s.starts_with("v1.")), "{sealed:?}");
    // A sealed value moved to another item does not open there.
    let sealer = broker::crypto::TokenSealer::from_base64_key(&app.token_key).unwrap();
    let access = items
        .iter()
        .find_map(|i| i.get("access_token"))
        .unwrap()
        .as_s()
        .unwrap();
    assert!(sealer.open(access, "USER#alice|GITHUB|access_token").is_ok());
    assert!(sealer.open(access, "USER#mallory|GITHUB|access_token").is_err());
}

#[tokio::test]
async fn error_responses_carry_no_secret_and_no_upstream_detail() {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    let installation = app.sim.install("octocat", RepoSelection::All, &[("contents", "read")]);
    let alice = User::new("alice", &["team-a"]);
    app.connect(&alice, "octocat").await;
    app.link(&alice, "team-a", installation).await;
    app.sim.inject(github_sim::Fault {
        method: None,
        path_prefix: "/app/installations/".into(),
        kind: github_sim::FaultKind::Status(500),
        times: 5,
    });

    let failed = app.vend("team-a", installation, json!({})).await;

    assert_eq!(failed.status, 502);
    assert_eq!(
        failed.body,
        json!({"error": {"code": "github_unavailable", "message": "GitHub did not answer as expected; try again later"}})
    );
}
