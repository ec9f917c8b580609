//! The release binaries, as Lambda runs them (through the Runtime API),
//! logging at TRACE: no event body reaches a log. At TRACE lambda_runtime
//! writes every raw invocation event, with the platform's JWT, the OAuth code
//! and commit contents in it; the broker's telemetry drops that whatever
//! `RUST_LOG` says. `scripts/hygiene-sweep` builds the binaries, runs this,
//! then sweeps these logs with every other for every secret recorded.

use std::path::PathBuf;

use broker::api::Function;
use serde_json::json;

use crate::helpers::app::state_and_challenge;
use crate::helpers::containers::ProcessContainer;
use crate::helpers::secret_sweep::{log_dir, record_secrets};
use crate::helpers::{moto, TestApp, User};

fn random_text(prefix: &str) -> String {
    format!("{prefix}{}", broker::crypto::random::token_urlsafe())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by scripts/hygiene-sweep, which builds the release binaries"]
async fn the_release_binaries_at_trace_log_no_event_body() {
    let dir = PathBuf::from(std::env::var("BROKER_RELEASE_BINARIES").expect("BROKER_RELEASE_BINARIES names them"));
    assert!(
        log_dir().is_some(),
        "BROKER_TEST_LOG_DIR: the logs are what this checks"
    );
    let app = TestApp::spawn().await;
    let installation = app.octo_org(&[("members", "read"), ("contents", "write")]);
    let start = |function: Function| {
        let binary = dir.join(function.name());
        let app = &app;
        async move {
            ProcessContainer::start_binary(
                app,
                &moto::recorder().url(),
                function,
                &format!("release-{}", function.name()),
                &binary,
            )
            .await
        }
    };
    let oauth = start(Function::OAuthCallback).await;
    let vending = start(Function::TokenVending).await;
    let webhook = start(Function::Webhook).await;
    // What API Gateway would pass on: the platform's own JWT.
    let jwt = random_text("eyJhbGciOiJSUzI1NiJ9.");
    let content = random_text("commit-content-");
    record_secrets(&format!("{}-release", app.table), vec![jwt.clone(), content.clone()]);
    let bearer = format!("Bearer {jwt}");
    let headers = [("authorization", bearer.as_str())];
    let alice = User::new("alice", &["team-a"]);

    let started = oauth
        .frontend_with(
            &alice,
            ("POST", "/github/oauth/start"),
            Some(&json!({"account_id": "team-a"})),
            &headers,
        )
        .await;
    assert_eq!(started.status, 200, "{:?}", started.body);
    let (state, challenge) = state_and_challenge(&started.body);
    let code = app.sim.authorize("octocat", Some(&challenge), None);
    let callback = json!({"code": code, "state": state, "installation_id": installation});
    let linked = oauth
        .frontend_with(&alice, ("POST", "/github/oauth/callback"), Some(&callback), &headers)
        .await;
    assert_eq!(linked.status, 200, "{:?}", linked.body);
    let path = format!("/internal/accounts/team-a/installations/{installation}/token");
    assert_eq!(vending.internal(&path, &json!({})).await.status, 200);
    assert_eq!(
        vending.internal("/internal/users/alice/token", &json!({})).await.status,
        200
    );
    let commit = json!({"owner": "octo-org", "repo": "web", "branch": "main", "message": "m",
                        "files": [{"path": "secret.txt", "content": content}]});
    let committed = vending.internal("/internal/accounts/team-a/commits", &commit).await;
    assert_eq!(committed.status, 201, "{:?}", committed.body);
    app.sim.suspend(installation);
    let suspend = crate::helpers::fixtures::about(
        crate::helpers::fixtures::webhook("installation.suspend"),
        installation,
        "octo-org",
        1,
    );
    let delivered = webhook
        .webhook("installation", &crate::helpers::fixtures::delivery(), &suspend)
        .await;
    assert_eq!(delivered.status, 200, "{:?}", delivered.body);

    for container in [&oauth, &vending, &webhook] {
        let path = container.log.as_ref().expect("a log file");
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.lines().any(|l| l.contains("\"level\":\"TRACE\"")),
            "{} logged nothing at TRACE: the check would prove nothing",
            path.display()
        );
        for secret in [&jwt, &content, &code] {
            assert!(
                !text.contains(secret.as_str()),
                "{} holds an event body",
                path.display()
            );
        }
    }
}
