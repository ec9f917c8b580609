//! A container's start: the secret is read once, checked field by field,
//! and re-read after a bounded time so rotations need no deploy.

use serde_json::json;

use crate::helpers::app::{PRIVATE_KEY_PKCS8, WEBHOOK_SECRET};
use crate::helpers::fixtures::{delivery, webhook};
use crate::helpers::TestApp;

async fn put_secret(app: &TestApp, value: &serde_json::Value) {
    aws_sdk_secretsmanager::Client::new(&app.sdk)
        .put_secret_value()
        .secret_id(&app.secret_id)
        .secret_string(value.to_string())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_secret_missing_a_field_stops_the_start_naming_it_and_quoting_nothing() {
    let app = TestApp::spawn().await;
    for field in [
        "app_id",
        "client_id",
        "client_secret",
        "private_key",
        "webhook_secret",
        "token_encryption_key",
    ] {
        let mut broken = app.secret_json.clone();
        broken.as_object_mut().unwrap().remove(field);
        put_secret(&app, &broken).await;

        let error = app.build_app().await.err().expect("start fails").to_string();

        assert!(error.contains(field), "{error}");
        for value in app.secret_json.as_object().unwrap().values() {
            let value = value.as_str().unwrap();
            assert!(!error.contains(value), "{error}");
        }
    }
}

#[tokio::test]
async fn an_unreadable_secret_stops_the_start_with_a_message() {
    let app = TestApp::spawn().await;
    aws_sdk_secretsmanager::Client::new(&app.sdk)
        .delete_secret()
        .secret_id(&app.secret_id)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();

    let error = app.build_app().await.err().expect("start fails").to_string();

    assert!(error.contains("could not read the app secret"), "{error}");
}

#[tokio::test]
async fn missing_table_or_secret_configuration_is_named() {
    let app = TestApp::spawn().await;
    let mut config = app.config();
    config.store = None;

    let error = broker::App::build(config, Some(&app.sdk), app.clock.clone())
        .await
        .err()
        .unwrap()
        .to_string();

    assert!(error.contains("TABLE_NAME"), "{error}");
}

#[tokio::test]
async fn a_pkcs8_private_key_works_end_to_end() {
    let app = TestApp::spawn_with_secret(|s| s["private_key"] = PRIVATE_KEY_PKCS8.into()).await;
    app.sim.add_user("octocat");
    let installation = app
        .sim
        .install("octocat", github_sim::RepoSelection::All, &[("contents", "read")]);
    let alice = crate::helpers::User::new("alice", &["team-a"]);
    app.connect(&alice, "octocat").await;
    app.link(&alice, "team-a", installation).await;

    assert_eq!(app.vend("team-a", installation, json!({})).await.status, 200);
}

#[tokio::test]
async fn a_rotated_webhook_secret_takes_effect_after_the_refresh_period_without_a_restart() {
    let app = TestApp::spawn().await;
    let mut rotated = app.secret_json.clone();
    rotated["webhook_secret"] = "rotated-secret".into();
    rotated["webhook_secret_previous"] = WEBHOOK_SECRET.into();
    put_secret(&app, &rotated).await;
    let body = serde_json::to_vec(&webhook("installation.created")).unwrap();
    let signed_new = broker::crypto::signature::sign("rotated-secret", &body);

    let before = app.deliver("installation", &delivery(), &body, Some(&signed_new)).await;
    app.clock.advance(301);
    let after = app.deliver("installation", &delivery(), &body, Some(&signed_new)).await;

    assert_eq!(before.status, 401, "the container still trusts its cached secret");
    assert_eq!(after.status, 200, "{:?}", after.body);
}
