//! The reconciler from a test's side: a run through its route, an
//! installation as GitHub and as the broker hold it, and the two clocks
//! moved on together (a pass begins only `PASS_INTERVAL` after the last).

use std::time::Duration;

use broker::domain::{Installation, InstallationId};
use serde_json::{json, Value};

use super::TestApp;

const WAIT: Duration = Duration::from_secs(20);

pub async fn reconcile(app: &TestApp) -> Value {
    let run = app.internal("POST", "/internal/reconcile", json!({})).await;
    assert_eq!(run.status, 200, "{:?}", run.body);
    run.body
}

pub async fn on_github(broker: &broker::App, id: u64) -> Option<Installation> {
    let creds = broker.secrets.current().await;
    broker.github.installation(&creds, InstallationId(id)).await.unwrap()
}

pub async fn stored(broker: &broker::App, id: u64) -> Option<Installation> {
    broker.store.get_installation(InstallationId(id)).await.unwrap()
}

/// Waits until the simulator's log holds `count` attempts with an outcome.
pub async fn settled(app: &TestApp, count: usize) {
    assert!(
        app.sim.wait_for_deliveries(count, WAIT).await,
        "{count} deliveries settled"
    );
}

/// The broker's clock and GitHub's move on together.
pub fn advance_both(app: &TestApp, seconds: i64) {
    app.clock.advance(seconds);
    app.sim.set_clock_offset(app.sim.now_unix() - real_now() + seconds);
}

fn real_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn changed(summary: &Value, kind: &str) -> u64 {
    summary["changed"][kind].as_u64().unwrap_or(0)
}
