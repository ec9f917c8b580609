//! Every verified delivery published for the platform on an EventBridge
//! bus (moto's), labelled with the accounts linked to its installation, and
//! read back the way a team's service would: a rule on the bus delivering
//! to an SQS queue. Payloads over the entry limit go through S3. A failed
//! publication answers 5xx and its redelivery publishes it; a duplicate
//! publishes nothing more; a crash between any two steps loses nothing.

use dynamo_proxy::{DynamoProxy, Fault, FaultKind};
use github_sim::RepoSelection;
use serde_json::{json, Value};

use crate::helpers::fixtures::{delivery, org_event};
use crate::helpers::platform::PlatformBus;
use crate::helpers::{TestApp, User};

struct World {
    app: TestApp,
    bus: PlatformBus,
    org: u64,
    /// An installation linked to no account.
    lone: u64,
}

/// octo-org linked to team-a and team-b; octocat's own installation linked
/// to none; the broker publishing to a fresh bus.
async fn world(app: TestApp) -> World {
    let bus = PlatformBus::create(&app.sdk).await;
    app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    app.sim.add_repo("octo-org", "web", false);
    let permissions = [("members", "read"), ("contents", "write"), ("metadata", "read")];
    let org = app.sim.install("octo-org", RepoSelection::All, &permissions);
    let lone = app.sim.install("octocat", RepoSelection::All, &[("contents", "read")]);
    let alice = User::new("alice", &["team-a", "team-b"]);
    assert_eq!(app.connect(&alice, "octocat").await.status, 200);
    for team in ["team-a", "team-b"] {
        assert_eq!(app.link(&alice, team, org).await.status, 200);
    }
    let mut app = app;
    app.container = app.container_with(|c| c.events = Some(bus.backend())).await;
    World { app, bus, org, lone }
}

/// The same world, its broker reaching AWS through a proxy that faults.
async fn world_behind_proxy() -> (World, DynamoProxy) {
    let (app, proxy) = TestApp::spawn_behind_proxy().await;
    let mut w = world(app).await;
    w.app.container = w
        .app
        .container_behind(&proxy, |c| c.events = Some(w.bus.backend()))
        .await;
    (w, proxy)
}

fn accounts(event: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = event["detail"]["accounts"]
        .as_array()
        .expect("detail.accounts is a list")
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn every_event_type_is_published_with_the_accounts_linked_to_its_installation() {
    let w = world(TestApp::spawn().await).await;
    // GitHub's own examples: events the broker only forwards, and the
    // installation events it also acts on.
    let cases = [
        ("push", "push", None),
        ("pull_request", "pull_request.closed", Some("closed")),
        ("issues", "issues.reopened", Some("reopened")),
        ("check_run", "check_run.rerequested", Some("rerequested")),
        (
            "installation_repositories",
            "installation_repositories.added",
            Some("added"),
        ),
        (
            "installation",
            "installation.new_permissions_accepted",
            Some("new_permissions_accepted"),
        ),
    ];
    for (event, fixture, action) in cases {
        let payload = org_event(fixture, w.org);
        let id = delivery();
        let answer = w.app.webhook(event, &id, &payload).await;
        assert_eq!(answer.status, 200, "{fixture}: {:?}", answer.body);
        assert_eq!(answer.body["forwarded"], "published", "{fixture}");
        let received = w.bus.received().await;
        assert_eq!(received.len(), 1, "{fixture}: one event on the bus");
        let got = &received[0];
        assert_eq!(got["source"], "gh-app-broker");
        assert_eq!(got["detail-type"], event);
        let detail = &got["detail"];
        assert_eq!(detail["delivery_id"], id.as_str());
        assert_eq!(detail["event"], event);
        assert_eq!(detail["action"], json!(action), "{fixture}");
        assert_eq!(detail["installation_id"], w.org);
        assert_eq!(accounts(got), ["team-a", "team-b"], "{fixture}");
        assert_eq!(detail["payload"], payload, "{fixture}: the payload as GitHub sent it");
        assert!(detail.get("payload_s3_key").is_none());
    }

    // An installation linked to no account, and an event about none.
    let push = org_event("push", w.lone);
    assert_eq!(w.app.webhook("push", &delivery(), &push).await.status, 200);
    let ping = crate::helpers::fixtures::webhook("ping");
    assert_eq!(w.app.webhook("ping", &delivery(), &ping).await.status, 200);
    let received = w.bus.received().await;
    assert_eq!(received.len(), 2);
    assert_eq!(received[0]["detail"]["installation_id"], w.lone);
    assert_eq!(received[0]["detail"]["accounts"], json!([]));
    assert_eq!(received[1]["detail-type"], "ping");
    assert_eq!(received[1]["detail"]["installation_id"], Value::Null);
    assert_eq!(received[1]["detail"]["accounts"], json!([]));
}

#[tokio::test]
async fn a_team_subscribes_to_its_own_push_events_with_a_rule_on_the_accounts() {
    let app = TestApp::spawn().await;
    // docs/events.md's rule: team-a's push events only.
    let team_a = PlatformBus::with_rule(
        &app.sdk,
        json!({"source": ["gh-app-broker"], "detail-type": ["push"], "detail": {"accounts": ["team-a"]}}),
    )
    .await;
    let mut w = world(app).await;
    w.app.container = w.app.container_with(|c| c.events = Some(team_a.backend())).await;
    for (event, fixture, installation) in [
        ("push", "push", w.org),
        ("push", "push", w.lone),
        ("pull_request", "pull_request.closed", w.org),
    ] {
        let answer = w
            .app
            .webhook(event, &delivery(), &org_event(fixture, installation))
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
    let received = team_a.received().await;
    assert_eq!(received.len(), 1, "only octo-org's push reaches team-a's queue");
    assert_eq!(received[0]["detail"]["installation_id"], w.org);
}

#[tokio::test]
async fn a_payload_over_the_entry_limit_is_published_through_the_bucket() {
    let w = world(TestApp::spawn().await).await;
    let mut push = org_event("push", w.org);
    // 2,000 commits (GitHub lists up to 2,048) in GitHub's commit shape:
    // over 2 MB.
    let commit = |i: usize| {
        let person = json!({"name": "Octo Cat", "email": "octocat@example.com", "username": "octocat"});
        json!({
            "id": format!("{i:040x}"),
            "tree_id": format!("{:040x}", i + 1),
            "distinct": true,
            "message": format!("Change {i}\n\n{}", "A line of the commit message's body. ".repeat(20)),
            "timestamp": "2026-12-03T12:00:00Z",
            "url": format!("https://github.com/octo-org/web/commit/{i:040x}"),
            "author": person,
            "committer": person,
            "added": [format!("src/module_{i}.rs")],
            "removed": [],
            "modified": ["README.md", "Cargo.toml"],
        })
    };
    push["commits"] = Value::Array((0..2_000).map(commit).collect());
    let body = serde_json::to_vec(&push).unwrap();
    assert!(body.len() > 2_000_000, "{}", body.len());
    let id = delivery();
    let answer = w.app.webhook("push", &id, &push).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);

    let received = w.bus.received().await;
    assert_eq!(received.len(), 1);
    let detail = &received[0]["detail"];
    assert!(detail.get("payload").is_none(), "no inline payload over the limit");
    let key = detail["payload_s3_key"].as_str().expect("payload_s3_key");
    assert_eq!(key, format!("payloads/{id}.json"));
    assert_eq!(detail["payload_s3_bucket"], w.bus.bucket.as_str());
    assert_eq!(accounts(&received[0]), ["team-a", "team-b"]);
    assert_eq!(w.bus.object(key).await, body, "the payload's bytes as GitHub sent them");
}

#[tokio::test]
async fn a_payload_just_over_the_limit_goes_to_the_bucket_and_one_just_under_is_inline() {
    let w = world(TestApp::spawn().await).await;
    // The entry holds the detail's fields beside the payload, so the
    // payload's own size is not the whole story: find the boundary.
    let sized = |filler: usize| {
        let mut push = org_event("push", w.org);
        push["padding"] = "x".repeat(filler).into();
        push
    };
    let base = serde_json::to_vec(&sized(0)).unwrap().len();
    let mut inline_at_most = None;
    for filler in [256 * 1024 - base - 400, 256 * 1024 - base - 100] {
        let answer = w.app.webhook("push", &delivery(), &sized(filler)).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        let received = w.bus.received().await;
        assert_eq!(received.len(), 1);
        if received[0]["detail"].get("payload").is_some() {
            inline_at_most = Some(filler);
        } else {
            assert!(received[0]["detail"]["payload_s3_key"].is_string());
        }
    }
    assert_eq!(
        inline_at_most,
        Some(256 * 1024 - base - 400),
        "400 bytes under the limit fits beside the detail's fields, 100 do not"
    );
}

#[tokio::test]
async fn a_failed_publication_answers_5xx_and_the_redelivery_publishes_it_once() {
    let (w, proxy) = world_behind_proxy().await;
    // A suspension: the broker's own change lands before the publication fails.
    w.app.sim.suspend(w.org);
    let suspend = org_event("installation.suspend", w.org);
    let id = delivery();
    proxy.inject(Fault::new("PutEvents", FaultKind::InternalServerError).times(3));
    let failed = w.app.webhook("installation", &id, &suspend).await;
    assert_eq!(failed.status, 503, "{:?}", failed.body);
    assert_eq!(failed.error_code(), "event_publication_failed");
    assert!(w.bus.received().await.is_empty());
    let vend = w.app.vend("team-a", w.org, json!({})).await;
    assert_eq!(vend.status, 403, "the suspension was applied: {:?}", vend.body);

    // GitHub's redelivery: the same id and payload.
    let again = w.app.webhook("installation", &id, &suspend).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body["result"], "duplicate delivery: already processed");
    assert_eq!(again.body["forwarded"], "published");
    let received = w.bus.received().await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["detail"]["delivery_id"], id.as_str());
    assert_eq!(accounts(&received[0]), ["team-a", "team-b"]);

    let third = w.app.webhook("installation", &id, &suspend).await;
    assert_eq!(third.body["forwarded"], "already published");
    assert!(w.bus.received().await.is_empty(), "published once");
}

/// A failure (or a crash: the same for GitHub, which sees no 2xx) after
/// each step of a deletion's handling: the redelivery publishes the event
/// with the accounts linked when the delivery first arrived, although the
/// deletion has removed the links since.
#[tokio::test]
async fn a_failure_between_any_two_steps_loses_nothing() {
    let steps = [
        ("GetItem", "reading the delivery's record"),
        ("Query", "reading the links"),
        ("TransactWriteItems", "applying the deletion"),
        ("BatchWriteItem", "the deletion's cleanup"),
        ("PutEvents", "publishing"),
        ("UpdateItem", "recording the publication"),
    ];
    for (operation, step) in steps {
        let (w, proxy) = world_behind_proxy().await;
        w.app.sim.uninstall(w.org);
        let deleted = org_event("installation.deleted", w.org);
        let id = delivery();
        proxy.reset_counts();
        proxy.inject(Fault::new(operation, FaultKind::InternalServerError).times(3));
        let failed = w.app.webhook("installation", &id, &deleted).await;
        assert!(failed.status >= 500, "{step}: {} {:?}", failed.status, failed.body);
        assert_eq!(proxy.armed_faults(), 0, "{step}: the fault fired");
        let before = w.bus.received().await;

        let again = w.app.webhook("installation", &id, &deleted).await;
        assert_eq!(again.status, 200, "{step}: {:?}", again.body);
        let mut received = before;
        received.extend(w.bus.received().await);
        assert!(!received.is_empty(), "{step}: the event was published");
        for event in &received {
            assert_eq!(event["detail"]["delivery_id"], id.as_str(), "{step}");
            assert_eq!(
                accounts(event),
                ["team-a", "team-b"],
                "{step}: the accounts of its arrival"
            );
        }
        // Only a failure after the publication publishes twice.
        let expected = if operation == "UpdateItem" { 2 } else { 1 };
        assert_eq!(received.len(), expected, "{step}");
        assert_eq!(
            w.app.vend("team-a", w.org, json!({})).await.status,
            403,
            "{step}: the deletion was applied"
        );
    }
}

#[tokio::test]
async fn duplicate_deliveries_are_published_once() {
    let w = world(TestApp::spawn().await).await;
    let push = org_event("push", w.org);
    let id = delivery();
    let mut forwarded = Vec::new();
    for _ in 0..3 {
        let answer = w.app.webhook("push", &id, &push).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        forwarded.push(answer.body["forwarded"].as_str().unwrap().to_owned());
    }
    assert_eq!(forwarded, ["published", "already published", "already published"]);
    assert_eq!(w.bus.received().await.len(), 1);
}

#[tokio::test]
async fn an_unsigned_or_forged_delivery_publishes_nothing() {
    let w = world(TestApp::spawn().await).await;
    let body = serde_json::to_vec(&org_event("push", w.org)).unwrap();
    let forged = broker::crypto::signature::sign("not-the-secret", &body);
    for signature in [None, Some(forged.as_str()), Some("sha256=00")] {
        let answer = w.app.deliver("push", &delivery(), &body, signature).await;
        assert_eq!(answer.status, 401, "{:?}", answer.body);
    }
    assert!(w.bus.received().await.is_empty());
}

#[tokio::test]
async fn only_the_configured_event_types_are_published() {
    let w = world(TestApp::spawn().await).await;
    let mut app = w.app;
    app.container = app
        .container_with(|c| {
            c.events = Some(w.bus.backend());
            c.forward_events = broker::domain::forwarding::EventFilter::parse("push").unwrap();
        })
        .await;
    let pr = app
        .webhook("pull_request", &delivery(), &org_event("pull_request.closed", w.org))
        .await;
    assert_eq!(pr.body["forwarded"], "not forwarded");
    let push = app.webhook("push", &delivery(), &org_event("push", w.org)).await;
    assert_eq!(push.body["forwarded"], "published");
    let received = w.bus.received().await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["detail-type"], "push");
}

/// Without `EVENT_BUS_NAME` the webhook asks nothing of EventBridge, S3 or
/// the table for a delivery it does not act on: as it was before.
#[tokio::test]
async fn without_a_bus_nothing_is_published_and_no_request_is_added() {
    let (app, proxy) = TestApp::spawn_behind_proxy().await;
    app.sim.add_user("octocat");
    app.sim.add_org("octo-org", &["octocat"]);
    let org = app.sim.install("octo-org", RepoSelection::All, &[("contents", "read")]);
    let push = org_event("push", org);
    // The first delivery reads the app's secret; the second needs nothing.
    assert_eq!(app.webhook("push", &delivery(), &push).await.status, 200);
    proxy.reset_counts();
    let answer = app.webhook("push", &delivery(), &push).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["forwarded"], "not forwarded");
    assert_eq!(answer.body["result"], "ignored");
    assert!(proxy.counts().is_empty(), "{:?}", proxy.counts());
}
