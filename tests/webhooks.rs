//! The webhook function, fed GitHub's real payloads signed as GitHub signs.
//! An installation event is a cue to read the installation from GitHub, so
//! each test first changes it on the simulator, then delivers the event.

use broker::domain::{InstallationId, InstallationStatus};
use github_sim::{Counter, RepoSelection};
use serde_json::{json, Value};

use crate::helpers::app::WEBHOOK_SECRET;
use crate::helpers::fixtures::{about, delivery, org_event, webhook};
use crate::helpers::{TestApp, User};

async fn stored(app: &TestApp, id: u64) -> Option<broker::domain::Installation> {
    app.vending
        .app()
        .store
        .get_installation(InstallationId(id))
        .await
        .unwrap()
}

/// octocat (alice's GitHub) in octo-org, where the app is installed and
/// linked to team-a with a cached token.
async fn linked_world() -> (TestApp, User, u64) {
    let app = TestApp::spawn().await;
    app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    let installation = app.sim.install(
        "octo-org",
        RepoSelection::All,
        &[("members", "read"), ("contents", "write")],
    );
    let alice = User::new("alice", &["team-a"]);
    app.connect(&alice, "octocat").await;
    assert_eq!(app.link(&alice, "team-a", installation).await.status, 200);
    assert_eq!(app.vend("team-a", installation, json!({})).await.status, 200);
    (app, alice, installation)
}

/// Codertocat, as in GitHub's example payload, with the app installed on
/// one selected repository: the installation's id and the payload of its
/// `created` event.
async fn codertocat(app: &TestApp) -> (u64, Value) {
    let account = app.sim.add_user("Codertocat");
    app.sim.add_repo("Codertocat", "Hello-World", false);
    let id = app.sim.install(
        "Codertocat",
        RepoSelection::Selected(vec!["Hello-World".into()]),
        &[("contents", "write"), ("metadata", "read")],
    );
    (id, about(webhook("installation.created"), id, "Codertocat", account))
}

#[tokio::test]
async fn installation_created_stores_account_selection_and_permissions() {
    let app = TestApp::spawn().await;
    let (id, created) = codertocat(&app).await;

    let response = app.webhook("installation", &delivery(), &created).await;

    assert_eq!(response.status, 200, "{:?}", response.body);
    let installation = stored(&app, id).await.expect("stored");
    assert_eq!(installation.account_login, "Codertocat");
    assert_eq!(installation.account_id, created["installation"]["account"]["id"]);
    assert_eq!(installation.account_type, "User");
    assert_eq!(installation.repository_selection, "selected");
    assert_eq!(installation.permissions["contents"], "write");
    assert_eq!(installation.permissions["metadata"], "read");
    assert_eq!(installation.status, InstallationStatus::Active);
}

#[tokio::test]
async fn installation_deleted_removes_it_every_link_and_every_cached_token_for_good() {
    let (app, alice, installation) = linked_world().await;
    let bob = User::new("bob", &["team-b"]);
    app.connect(&bob, "octocat").await;
    app.link(&bob, "team-b", installation).await;

    let response = app
        .webhook(
            "installation",
            &delivery(),
            &org_event("installation.deleted", installation),
        )
        .await;

    assert_eq!(response.status, 200, "{:?}", response.body);
    assert!(stored(&app, installation).await.is_none());
    for (user, team) in [(&alice, "team-a"), (&bob, "team-b")] {
        let listed = app
            .frontend(user, "GET", &format!("/accounts/{team}/installations"), None)
            .await;
        assert_eq!(listed.body["installations"], json!([]));
        assert_eq!(app.vend(team, installation, json!({})).await.status, 403);
    }
    let left: Vec<_> = app
        .keys()
        .await
        .into_iter()
        .filter(|(pk, sk)| sk.starts_with("TOKEN#") || sk.starts_with("ACCT#") || pk.starts_with("ACCT#"))
        .collect();
    assert!(left.is_empty(), "no token or link items remain: {left:?}");

    // A late or replayed delivery about it does not bring it back.
    let late = app
        .webhook(
            "installation",
            &delivery(),
            &org_event("installation.created", installation),
        )
        .await;
    assert_eq!(late.status, 200);
    assert!(stored(&app, installation).await.is_none());
    // Even while GitHub still lists it (the uninstall is not visible there
    // yet), the tombstone refuses a new link.
    let relink = app.link(&alice, "team-a", installation).await;
    assert_eq!(relink.status, 404);
    assert_eq!(relink.error_code(), "installation_deleted");
}

#[tokio::test]
async fn suspend_and_unsuspend_switch_the_status_and_vending() {
    let (app, alice, installation) = linked_world().await;

    app.sim.suspend(installation);
    app.webhook(
        "installation",
        &delivery(),
        &org_event("installation.suspend", installation),
    )
    .await;
    let suspended = app
        .frontend(&alice, "GET", "/accounts/team-a/installations", None)
        .await;
    let refused = app.vend("team-a", installation, json!({})).await;
    app.sim.unsuspend(installation);
    app.webhook(
        "installation",
        &delivery(),
        &org_event("installation.unsuspend", installation),
    )
    .await;
    let active = app
        .frontend(&alice, "GET", "/accounts/team-a/installations", None)
        .await;

    assert_eq!(suspended.body["installations"][0]["status"], "suspended");
    assert_eq!(refused.status, 403);
    assert_eq!(active.body["installations"][0]["status"], "active");
    assert_eq!(app.vend("team-a", installation, json!({})).await.status, 200);
}

#[tokio::test]
async fn new_permissions_accepted_updates_permissions_and_drops_cached_tokens() {
    let (app, _, installation) = linked_world().await;
    let before = app.vend("team-a", installation, json!({})).await;
    app.sim.set_installation_permissions(
        installation,
        &[("members", "read"), ("contents", "write"), ("administration", "write")],
    );

    let response = app
        .webhook(
            "installation",
            &delivery(),
            &org_event("installation.new_permissions_accepted", installation),
        )
        .await;
    let after = app.vend("team-a", installation, json!({})).await;
    let again = app.vend("team-a", installation, json!({})).await;

    assert_eq!(response.status, 200);
    assert_eq!(
        stored(&app, installation).await.unwrap().permissions["administration"],
        "write"
    );
    assert_ne!(before.body["token"], after.body["token"]);
    assert_eq!(again.body["token"], after.body["token"], "the new token is cached");
    assert_eq!(app.sim.count(Counter::Mints(installation)), 2);
}

#[tokio::test]
async fn repositories_added_or_removed_update_the_selection_and_drop_cached_tokens() {
    for name in ["installation_repositories.added", "installation_repositories.removed"] {
        let (app, _, installation) = linked_world().await;
        app.sim.add_repo("octo-org", "web", false);
        app.sim
            .set_installation_repositories(installation, RepoSelection::Selected(vec!["web".into()]));

        let response = app
            .webhook("installation_repositories", &delivery(), &org_event(name, installation))
            .await;
        app.vend("team-a", installation, json!({})).await;
        app.vend("team-a", installation, json!({})).await;

        assert_eq!(response.status, 200, "{name}");
        assert_eq!(
            stored(&app, installation).await.unwrap().repository_selection,
            "selected",
            "{name}"
        );
        assert_eq!(
            app.sim.count(Counter::Mints(installation)),
            2,
            "{name}: one mint before, one after, then served from the cache"
        );
    }
}

#[tokio::test]
async fn installation_target_renamed_updates_the_login_the_owner_route_uses() {
    let (app, _, installation) = linked_world().await;
    app.sim.rename_account("octo-org", "octo-renamed");
    let mut payload = webhook("installation_target.renamed");
    payload["installation"]["id"] = installation.into();
    payload["account"]["login"] = "octo-renamed".into();
    payload["changes"]["login"]["from"] = "octo-org".into();

    let response = app.webhook("installation_target", &delivery(), &payload).await;
    let by_new = app
        .internal(
            "POST",
            "/internal/accounts/team-a/token",
            json!({"owner": "octo-renamed"}),
        )
        .await;
    let by_old = app
        .internal("POST", "/internal/accounts/team-a/token", json!({"owner": "octo-org"}))
        .await;

    assert_eq!(response.status, 200);
    assert_eq!(stored(&app, installation).await.unwrap().account_login, "octo-renamed");
    assert_eq!(by_new.status, 200);
    assert_eq!(by_old.status, 403);
}

#[tokio::test]
async fn ping_and_unknown_events_are_acknowledged_and_store_nothing() {
    let app = TestApp::spawn().await;

    let ping = app.webhook("ping", &delivery(), &webhook("ping")).await;
    let other = app
        .webhook("push", &delivery(), &json!({"ref": "refs/heads/main"}))
        .await;
    let other_action = app
        .webhook("installation", &delivery(), &json!({"action": "future_action"}))
        .await;

    for response in [&ping, &other, &other_action] {
        assert_eq!(response.status, 200);
        assert_eq!(response.body["result"], "ignored");
    }
    assert!(app.scan().await.is_empty());
}

#[tokio::test]
async fn a_redelivered_delivery_is_acknowledged_and_not_applied_again() {
    let (app, alice, installation) = linked_world().await;
    let unsuspend_delivery = delivery();
    app.webhook(
        "installation",
        &unsuspend_delivery,
        &org_event("installation.unsuspend", installation),
    )
    .await;
    app.sim.suspend(installation);
    app.webhook(
        "installation",
        &delivery(),
        &org_event("installation.suspend", installation),
    )
    .await;

    let replay = app
        .webhook(
            "installation",
            &unsuspend_delivery,
            &org_event("installation.unsuspend", installation),
        )
        .await;

    assert_eq!(replay.status, 200);
    assert_eq!(replay.body["result"], "duplicate delivery: already processed");
    let listed = app
        .frontend(&alice, "GET", "/accounts/team-a/installations", None)
        .await;
    assert_eq!(listed.body["installations"][0]["status"], "suspended");
}

#[tokio::test]
async fn missing_or_wrong_signatures_are_401_and_store_nothing() {
    let app = TestApp::spawn().await;
    let body = serde_json::to_vec(&webhook("installation.created")).unwrap();
    let other_body = serde_json::to_vec(&webhook("installation.deleted")).unwrap();
    let cases = [
        None,
        Some(String::new()),
        Some("sha256=".to_owned()),
        Some(broker::crypto::signature::sign("not the secret", &body)),
        Some(broker::crypto::signature::sign(WEBHOOK_SECRET, &other_body)),
        Some(broker::crypto::signature::sign(WEBHOOK_SECRET, &body).replace("sha256=", "sha1=")),
    ];
    for signature in &cases {
        let response = app
            .deliver("installation", &delivery(), &body, signature.as_deref())
            .await;
        assert_eq!(response.status, 401, "{signature:?}");
        assert_eq!(response.error_code(), "unauthenticated");
    }
    assert!(app.scan().await.is_empty());
}

#[tokio::test]
async fn the_previous_webhook_secret_still_verifies_during_a_rotation() {
    let app = TestApp::spawn_with_secret(|s| {
        s["webhook_secret_previous"] = WEBHOOK_SECRET.into();
        s["webhook_secret"] = "the-new-secret".into();
    })
    .await;
    let body = serde_json::to_vec(&webhook("installation.created")).unwrap();

    let old = app
        .deliver(
            "installation",
            &delivery(),
            &body,
            Some(&broker::crypto::signature::sign(WEBHOOK_SECRET, &body)),
        )
        .await;
    let new = app
        .deliver(
            "installation",
            &delivery(),
            &body,
            Some(&broker::crypto::signature::sign("the-new-secret", &body)),
        )
        .await;

    assert_eq!(old.status, 200);
    assert_eq!(new.status, 200);
}

#[tokio::test]
async fn githubs_published_test_vector_passes_the_function_urls_signature_check() {
    let app = TestApp::spawn_with_secret(|s| s["webhook_secret"] = "It's a Secret to Everybody".into()).await;
    let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    let response = app
        .deliver("ping", &delivery(), b"Hello, World!", Some(signature))
        .await;

    // Verified, then refused as a payload: it is not JSON.
    assert_eq!(response.status, 400);
    assert_eq!(response.error_code(), "invalid_payload");
}

#[tokio::test]
async fn malformed_json_is_400_after_the_signature_and_changes_nothing() {
    let app = TestApp::spawn().await;
    for body in [&b"{"[..], b"[]", b"{\"installation\": 5}", b"\xff\xfe"] {
        let signature = broker::crypto::signature::sign(WEBHOOK_SECRET, body);
        let response = app.deliver("installation", &delivery(), body, Some(&signature)).await;
        assert_eq!(response.status, 400, "{body:?}: {:?}", response.body);
    }
    assert!(app.scan().await.is_empty());
}

#[tokio::test]
async fn bodies_over_25_mib_are_413_unread() {
    let app = TestApp::spawn().await;
    let body = vec![b' '; 25 * 1024 * 1024 + 1];

    let response = app.deliver("installation", &delivery(), &body, Some("sha256=00")).await;

    assert_eq!(response.status, 413);
    assert_eq!(response.error_code(), "payload_too_large");
}

#[tokio::test]
async fn missing_event_or_delivery_headers_are_400() {
    let app = TestApp::spawn().await;
    let body = serde_json::to_vec(&webhook("installation.created")).unwrap();
    let signature = broker::crypto::signature::sign(WEBHOOK_SECRET, &body);

    let no_event = app.deliver("", &delivery(), &body, Some(&signature)).await;
    let bad_delivery = app.deliver("installation", "../../etc", &body, Some(&signature)).await;

    assert_eq!(no_event.status, 400);
    assert_eq!(bad_delivery.status, 400);
    assert!(app.scan().await.is_empty());
}

#[tokio::test]
async fn a_base64_encoded_body_is_verified_on_its_decoded_bytes() {
    let app = TestApp::spawn().await;
    let (id, created) = codertocat(&app).await;
    let body = serde_json::to_vec(&created).unwrap();
    let signature = broker::crypto::signature::sign(WEBHOOK_SECRET, &body);
    let mut event = crate::helpers::events::event(
        "POST",
        "/",
        &[
            ("x-github-event", "installation"),
            ("x-github-delivery", &delivery()),
            ("x-hub-signature-256", &signature),
        ],
        Some(&body),
        &crate::helpers::events::Auth::None,
    );
    use base64::Engine;
    event["body"] = base64::engine::general_purpose::STANDARD.encode(&body).into();
    event["isBase64Encoded"] = true.into();

    let response = app.send(broker::api::Function::Webhook, event).await;

    assert_eq!(response.status, 200, "{:?}", response.body);
    assert!(stored(&app, id).await.is_some());
}
