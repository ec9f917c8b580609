//! The reconciler (issue 18) against moto and the simulator, the simulator
//! delivering webhooks by itself to the broker's webhook service over HTTP
//! ([`Receiver`]) and keeping its delivery log, which the sweep reads.

use std::time::Duration;

use broker::api::Function;
use github_sim::RepoSelection;
use serde_json::{json, Value};

use crate::helpers::consistency::assert_consistent;
use crate::helpers::containers::ProcessContainer;
use crate::helpers::moto;
use crate::helpers::platform::PlatformBus;
use crate::helpers::receiver::Receiver;
use crate::helpers::reconcile::{advance_both, changed, on_github, reconcile, settled, stored};
use crate::helpers::{TestApp, User};

/// An organisation of octocat's with the app installed on two of its three
/// repositories, linked to team-a, and a token cached for it.
async fn installed(app: &TestApp, alice: &User, org: &str) -> u64 {
    app.sim.add_org(org, &["octocat"]);
    for repo in ["r1", "r2", "r3"] {
        app.sim.add_repo(org, repo, false);
    }
    let id = app.sim.install(
        org,
        RepoSelection::Selected(vec!["r1".into(), "r2".into()]),
        &[("members", "read"), ("contents", "write")],
    );
    assert_eq!(app.link(alice, "team-a", id).await.status, 200);
    assert_eq!(app.vend("team-a", id, json!({})).await.status, 200);
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_run_repairs_what_missed_webhooks_left_and_gets_failed_deliveries_redelivered() {
    let mut app = TestApp::spawn().await;
    let bus = PlatformBus::create(&app.sdk).await;
    app.container = app.container_with(|c| c.events = Some(bus.backend())).await;
    let receiver = Receiver::start(&app).await;
    app.sim.add_user("octocat");
    let alice = User::new("alice", &["team-a"]);
    assert_eq!(app.connect(&alice, "octocat").await.status, 200);
    let gone = installed(&app, &alice, "gone-org").await;
    let paused = installed(&app, &alice, "paused-org").await;
    let renamed = installed(&app, &alice, "old-name").await;
    let widened = installed(&app, &alice, "wide-org").await;
    let regranted = installed(&app, &alice, "grant-org").await;
    let before = app.sim.webhook_deliveries().len();
    settled(&app, before).await;
    bus.received().await;
    let broker = app.build_app().await.unwrap();

    // GitHub loses these deliveries: only the pass can find the changes.
    app.sim.fault_webhooks(0, 5);
    app.sim.uninstall(gone);
    app.sim.suspend(paused);
    app.sim.rename_account("old-name", "new-name");
    app.sim.set_installation_repositories(widened, RepoSelection::All);
    app.sim
        .set_installation_permissions(regranted, &[("members", "read"), ("contents", "read")]);
    assert_eq!(
        app.sim.webhook_deliveries().len(),
        before,
        "the changes' deliveries were lost"
    );
    // And these fail: the webhook function is down.
    receiver.down();
    app.sim.send_push(widened);
    app.sim.send_pull_request(widened);
    let failed = app.sim.webhook_deliveries().len() - before;
    assert_eq!(failed, 2);
    settled(&app, before + failed).await;
    receiver.up();
    assert!(stored(&broker, gone).await.is_some(), "the broker missed the uninstall");

    let first = reconcile(&app).await;
    assert_eq!(first["stopped"], Value::Null, "{first}");
    assert_eq!(first["sweep_finished"], true, "{first}");
    assert_eq!(first["pass_finished"], true, "{first}");
    for kind in ["deleted", "suspended", "renamed", "repository_selection", "permissions"] {
        assert_eq!(changed(&first, kind), 1, "{kind}: {first}");
    }
    assert_eq!(first["deliveries_redelivered"].as_u64(), Some(failed as u64), "{first}");
    for id in [gone, paused, renamed, widened, regranted] {
        assert_eq!(
            stored(&broker, id).await,
            on_github(&broker, id).await,
            "installation {id}"
        );
    }
    // What the repairs mean for the platform: no token for the deleted or
    // the suspended installation.
    for id in [gone, paused] {
        let vend = app.vend("team-a", id, json!({})).await;
        assert!([403, 404].contains(&vend.status), "{id}: {:?}", vend.body);
    }
    let events = bus.received().await;
    let reconciled: Vec<&Value> = events.iter().filter(|e| e["detail-type"] == "reconciled").collect();
    assert_eq!(reconciled.len(), 5, "{events:?}");
    let deletion = reconciled
        .iter()
        .find(|e| e["detail"]["installation_id"] == gone)
        .expect("the deletion's event");
    assert_eq!(deletion["detail"]["action"], "deleted");
    assert_eq!(deletion["detail"]["accounts"], json!(["team-a"]));
    assert_eq!(deletion["detail"]["payload"]["current"], Value::Null);

    // GitHub sends the failed deliveries again, and each is answered 200.
    settled(&app, before + 2 * failed).await;
    let log = app.sim.webhook_deliveries();
    assert_eq!(log.len(), before + 2 * failed, "one redelivery each");
    for redelivery in &log[before + failed..] {
        assert_eq!(redelivery.status, Some(200), "{redelivery:?}");
    }

    // Nothing left: the next run changes and redelivers nothing.
    // When the next pass may begin.
    advance_both(&app, broker::domain::reconcile::PASS_INTERVAL);
    let second = reconcile(&app).await;
    assert_eq!(second["changed"], json!({}), "{second}");
    assert_eq!(second["deliveries_redelivered"], 0, "{second}");
    assert_eq!(second["pass_finished"], true, "{second}");
    assert!(bus.received().await.iter().all(|e| e["detail-type"] != "reconciled"));
    assert_consistent(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repair_read_before_a_live_webhook_never_overwrites_it() {
    let app = TestApp::spawn().await;
    let _receiver = Receiver::start(&app).await;
    app.sim.add_user("octocat");
    let alice = User::new("alice", &["team-a"]);
    assert_eq!(app.connect(&alice, "octocat").await.status, 200);
    let id = installed(&app, &alice, "race-org").await;
    settled(&app, app.sim.webhook_deliveries().len()).await;
    let broker = app.build_app().await.unwrap();

    // Missed: the suspension (its delivery lost).
    app.sim.fault_webhooks(0, 1);
    app.sim.suspend(id);
    // The reconciler's read of the installations sees it suspended, and its
    // answer comes late: meanwhile the owner unsuspends, and that webhook
    // is delivered and written.
    app.sim.inject(github_sim::Fault {
        method: Some("GET".into()),
        path_prefix: "/app/installations".into(),
        kind: github_sim::FaultKind::SlowAnswer(Duration::from_millis(1500)),
        times: 1,
    });
    let meanwhile = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        app.sim.unsuspend(id);
        settled(&app, app.sim.webhook_deliveries().len()).await;
    };
    let (run, ()) = tokio::join!(reconcile(&app), meanwhile);
    assert_eq!(app.sim.faults_fired(), 1, "the read was slowed");
    assert_eq!(changed(&run, "suspended"), 0, "the older read was not written: {run}");
    assert_eq!(stored(&broker, id).await, on_github(&broker, id).await);
    assert_eq!(app.vend("team-a", id, json!({})).await.status, 200);
    assert_consistent(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_github_failure_mid_run_leaves_a_consistent_table_and_the_next_run_finishes() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(&app).await;
    app.sim.add_user("octocat");
    let alice = User::new("alice", &["team-a"]);
    assert_eq!(app.connect(&alice, "octocat").await.status, 200);
    let ids = [
        installed(&app, &alice, "a-org").await,
        installed(&app, &alice, "b-org").await,
        installed(&app, &alice, "c-org").await,
    ];
    let before = app.sim.webhook_deliveries().len();
    settled(&app, before).await;
    let broker = app.build_app().await.unwrap();

    receiver.down();
    for id in ids {
        app.sim.uninstall(id);
    }
    let failed = app.sim.webhook_deliveries().len() - before;
    settled(&app, before + failed).await;
    receiver.up();

    // GitHub fails the first redelivery asked, and then every confirmation
    // of a deletion: the run stops, with what it did written whole.
    app.sim.inject(github_sim::Fault {
        method: Some("POST".into()),
        path_prefix: "/app/hook/deliveries/".into(),
        kind: github_sim::FaultKind::Status(500),
        times: 1,
    });
    let first = reconcile(&app).await;
    assert_eq!(first["stopped"], "failed", "{first}");
    assert_eq!(first["deliveries_redelivered"], 0, "{first}");
    assert_consistent(&app).await;
    app.sim.inject(github_sim::Fault {
        method: Some("GET".into()),
        path_prefix: "/app/installations/".into(),
        kind: github_sim::FaultKind::Status(502),
        times: 100,
    });
    let second = reconcile(&app).await;
    assert_eq!(second["stopped"], "failed", "{second}");
    assert_eq!(second["changed"], json!({}), "{second}");
    assert_consistent(&app).await;
    app.sim.clear_faults();

    // The next run finishes the work: every delivery redelivered once (the
    // one GitHub refused included), every installation deleted.
    let third = reconcile(&app).await;
    assert_eq!(third["stopped"], Value::Null, "{third}");
    assert_eq!(
        second["deliveries_redelivered"].as_u64().unwrap() + third["deliveries_redelivered"].as_u64().unwrap(),
        failed as u64,
        "{second} {third}"
    );
    settled(&app, before + 2 * failed).await;
    for id in ids {
        assert_eq!(stored(&broker, id).await, None, "{id}");
    }
    assert_consistent(&app).await;
}

/// `count` organisations with the app installed that the broker never
/// heard of (no webhook target): the pass records them.
fn unheard_of(app: &TestApp, count: usize) {
    app.sim.add_user("octocat");
    for i in 0..count {
        let org = format!("org-{i}");
        app.sim.add_org(&org, &["octocat"]);
        app.sim.install(&org, RepoSelection::All, &[("contents", "read")]);
    }
}

fn count(summary: &Value, field: &str) -> u64 {
    summary[field].as_u64().unwrap_or_else(|| panic!("{field}: {summary}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_over_many_pages_spreads_over_runs_within_its_share_of_the_rate_limit() {
    let app = TestApp::spawn().await;
    unheard_of(&app, 250);
    // GitHub gives the app 30 requests an hour: the reconciler's 10 % is 3.
    app.sim.set_app_rate_limit(30);

    let first = reconcile(&app).await;
    assert_eq!(first["stopped"], "budget", "{first}");
    assert_eq!(app.sim.app_rate_limit_used(), 3, "{first}");
    assert_eq!(count(&first, "github_requests"), 3, "{first}");
    assert_eq!(count(&first, "installations_checked"), 200, "two pages: {first}");
    assert_eq!(first["next_page"], 3, "{first}");
    // The same window: nothing more to spend.
    let second = reconcile(&app).await;
    assert_eq!(second["stopped"], "budget", "{second}");
    assert_eq!(count(&second, "github_requests"), 0, "{second}");
    assert_consistent(&app).await;

    // The next hour: the pass goes on from page 3 and ends.
    advance_both(&app, 3601);
    let third = reconcile(&app).await;
    assert_eq!(third["stopped"], Value::Null, "{third}");
    assert_eq!(third["pass_finished"], true, "{third}");
    assert_eq!(count(&third, "installations_checked"), 50, "{third}");
    assert!(count(&third, "github_requests") <= 3, "{third}");
    assert_eq!(changed(&first, "created") + changed(&third, "created"), 250);
    assert_consistent(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn githubs_rate_limit_mid_pass_stops_the_run_and_the_next_finishes() {
    let mut app = TestApp::spawn().await;
    app.container = app.container_with(|c| c.reconcile_rate_budget = 100).await;
    unheard_of(&app, 150);
    // Three requests an hour, one of them spent by another container: the
    // reconciler reads the delivery log and the first page, and GitHub
    // refuses the second, which the reconciler's own count allowed.
    app.sim.set_app_rate_limit(3);
    let other = app.build_app().await.unwrap();
    assert_eq!(on_github(&other, 1).await, None);
    let first = reconcile(&app).await;
    assert_eq!(first["stopped"], "rate_limited", "{first}");
    assert_eq!(changed(&first, "created"), 100, "{first}");
    assert_eq!(first["next_page"], 2, "{first}");
    assert_consistent(&app).await;

    // The next hour's window.
    advance_both(&app, 3601);
    let second = reconcile(&app).await;
    assert_eq!(second["stopped"], Value::Null, "{second}");
    assert_eq!(second["pass_finished"], true, "{second}");
    assert_eq!(changed(&second, "created"), 50, "{second}");
    assert_consistent(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stops_inside_its_invocations_deadline_and_the_next_goes_on() {
    let app = TestApp::spawn().await;
    unheard_of(&app, 250);
    // Every page of installations answers 1.5 s late, and Lambda will end
    // the invocation 15 s from now: with a step's 12 s reserve kept, there
    // is room for about 2 s of work, not the three pages.
    app.sim.inject(github_sim::Fault {
        method: Some("GET".into()),
        path_prefix: "/app/installations".into(),
        kind: github_sim::FaultKind::SlowAnswer(Duration::from_millis(1500)),
        times: 3,
    });
    let deadline = std::time::SystemTime::now() + Duration::from_secs(15);
    let mut context = lambda_runtime::Context::default();
    context.deadline = deadline.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let first = app.reconciler.handle_reconciler(scheduled_event(), &context).await;
    assert!(
        std::time::SystemTime::now() < deadline,
        "the run ended inside the invocation"
    );
    assert_eq!(first["stopped"], "deadline", "{first}");
    assert!(count(&first, "installations_checked") < 250, "{first}");
    assert_consistent(&app).await;

    let second = reconcile(&app).await;
    assert_eq!(second["stopped"], Value::Null, "{second}");
    assert_eq!(second["pass_finished"], true, "{second}");
    assert_eq!(changed(&first, "created") + changed(&second, "created"), 250);
    assert_consistent(&app).await;
}

/// What EventBridge sends the function on each tick of `ReconcileRate`.
fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-12-04T17:00:00Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/broker-ReconcileSchedule"],
        "detail": {}
    })
}

/// The lines of a JSON log with this message.
fn log_lines(log: &std::path::Path, message: &str) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["message"] == message)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_runs_the_function_which_logs_one_summary_per_run() {
    let app = TestApp::spawn().await;
    unheard_of(&app, 3);
    // The function as Lambda runs it: its own process, fed by the runtime
    // API, its AWS requests recorded for the IAM check.
    let function = ProcessContainer::start_logged(
        &app,
        &moto::recorder().url(),
        Function::Reconciler,
        "reconciler-schedule",
    )
    .await;
    let log = function.log.clone().expect("a log file");

    let first = function.invoke(scheduled_event()).await;
    assert_eq!(first["pass_finished"], true, "{first}");
    assert_eq!(changed(&first, "created"), 3, "{first}");
    assert_consistent(&app).await;
    let second = function.invoke(scheduled_event()).await;
    assert_eq!(second["pass_finished"], false, "not before PASS_INTERVAL: {second}");
    assert_eq!(count(&second, "installations_checked"), 0, "{second}");

    let lines = log_lines(&log, "reconcile run");
    assert_eq!(lines.len(), 2, "one summary line per run");
    let line = &lines[0];
    assert_eq!(line["level"], "INFO", "{line}");
    let fields = &line["fields"];
    for field in [
        "deliveries_seen",
        "deliveries_redelivered",
        "installations_checked",
        "github_requests",
    ] {
        assert_eq!(fields[field], first[field], "{field}: {line}");
    }
    assert_eq!(fields["installations_changed"], 3, "{line}");
    let by_kind: Value = serde_json::from_str(fields["changed"].as_str().unwrap()).unwrap();
    assert_eq!(by_kind, first["changed"], "{line}");
    assert_eq!(fields["pass_finished"], true, "{line}");

    // Neither a schedule's event nor an HTTP API request: refused, no run.
    let stray = function.invoke(json!({"source": "aws.s3", "detail": {}})).await;
    assert_eq!(stray["statusCode"], 400, "{stray}");
    assert_eq!(log_lines(&log, "reconcile run").len(), 2);
    if std::env::var_os("BROKER_TEST_LOG_DIR").is_none() {
        // Not one the secret sweep reads afterwards.
        let _ = std::fs::remove_file(&log);
    }
}
