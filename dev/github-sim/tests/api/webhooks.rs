//! Webhooks: every reportable change is delivered to a receiver that checks
//! GitHub's headers and signature, in order and in GitHub's payload shapes;
//! nothing is sent without a target; failures are recorded.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use github_sim::{GitHubSim, RepoSelection};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::*;

pub const SECRET: &str = "webhook-secret";
const WAIT: Duration = Duration::from_secs(10);

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Value,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

type Log = Arc<Mutex<Vec<Received>>>;

/// A webhook receiver on a free port. It answers 200 to a request signed
/// with [`SECRET`] and 401 otherwise, so the sim's recorded status says
/// whether the signature was valid.
pub struct Receiver {
    pub url: String,
    log: Log,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let log = Log::default();
        let app = Router::new().route("/hook", post(receive)).with_state(log.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { url, log, task }
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }
}

async fn receive(State(log): State<Log>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let given = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
        .and_then(|v| hex::decode(v).ok())
        .unwrap_or_default();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&body);
    let valid = mac.verify_slice(&given).is_ok();
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    log.lock().unwrap().push(Received { headers, body });
    if valid {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

/// A sim sending its webhooks to a fresh receiver.
pub async fn hooked_sim() -> (GitHubSim, Receiver) {
    let sim = sim().await;
    let receiver = Receiver::start().await;
    sim.send_webhooks_to(&receiver.url, SECRET);
    (sim, receiver)
}

/// Asserts GitHub's delivery headers on `r`.
pub fn assert_github_headers(r: &Received, event: &str) {
    assert_eq!(r.header("x-github-event"), event);
    assert_eq!(r.header("content-type"), "application/json");
    assert!(r.header("user-agent").starts_with("GitHub-Hookshot/"), "{r:?}");
    assert_eq!(r.header("x-github-delivery").len(), 36);
    assert!(r.header("x-github-hook-id").parse::<u64>().is_ok());
    assert_eq!(r.header("x-github-hook-installation-target-type"), "integration");
    assert_eq!(r.header("x-github-hook-installation-target-id"), APP_ID.to_string());
}

#[tokio::test]
async fn every_change_is_delivered_signed_in_order() {
    let (sim, receiver) = hooked_sim().await;
    sim.add_user("octocat");
    sim.add_org("acme", &["octocat"]);
    let api = sim.add_repo("acme", "api", false);
    let web = sim.add_repo("acme", "web", true);

    let id = sim.install(
        "acme",
        RepoSelection::Selected(vec!["api".into()]),
        &[("contents", "read")],
    );
    sim.set_installation_permissions(id, &[("contents", "write")]);
    sim.set_installation_repositories(id, RepoSelection::Selected(vec!["api".into(), "web".into()]));
    sim.set_installation_repositories(id, RepoSelection::Selected(vec!["web".into()]));
    sim.suspend(id);
    sim.suspend(id); // already suspended: GitHub reports nothing
    sim.unsuspend(id);
    sim.rename_account("acme", "acme-two");
    sim.revoke_authorization("octocat");
    sim.uninstall(id);

    let expected = [
        ("installation", "created"),
        ("installation", "new_permissions_accepted"),
        ("installation_repositories", "added"),
        ("installation_repositories", "removed"),
        ("installation", "suspend"),
        ("installation", "unsuspend"),
        ("installation_target", "renamed"),
        ("github_app_authorization", "revoked"),
        ("installation", "deleted"),
    ];
    assert!(sim.wait_for_deliveries(expected.len(), WAIT).await);
    let deliveries = sim.webhook_deliveries();
    let got = receiver.received();
    assert_eq!(deliveries.len(), expected.len(), "{deliveries:?}");
    assert_eq!(got.len(), expected.len());
    for (i, (event, action)) in expected.iter().enumerate() {
        let (d, r) = (&deliveries[i], &got[i]);
        assert_eq!((d.event.as_str(), d.action.as_deref()), (*event, Some(*action)));
        assert_eq!(d.status, Some(200), "signature rejected for {event}.{action}");
        assert_github_headers(r, event);
        assert_eq!(r.header("x-github-delivery"), d.id);
        assert_eq!(r.body["action"], *action);
        let expected_id = if *event == "github_app_authorization" {
            None
        } else {
            Some(id)
        };
        assert_eq!(d.installation_id, expected_id, "{event}.{action}");
        assert_eq!(r.body["installation"]["id"].as_u64(), expected_id);
    }

    let created = &got[0].body;
    assert_eq!(created["installation"]["account"]["login"], "acme");
    assert_eq!(created["installation"]["account"]["type"], "Organization");
    assert_eq!(created["installation"]["repository_selection"], "selected");
    assert_eq!(created["installation"]["app_id"], APP_ID);
    assert_eq!(created["installation"]["permissions"], json!({"contents": "read"}));
    assert_eq!(created["repositories"][0]["full_name"], "acme/api");
    assert_eq!(created["repositories"][0]["id"], api);
    assert_eq!(created["sender"]["login"], "octocat");
    assert_eq!(created["requester"], Value::Null);
    assert_eq!(got[1].body["installation"]["permissions"], json!({"contents": "write"}));

    let added = &got[2].body;
    assert_eq!(added["repository_selection"], "selected");
    assert_eq!(
        added["repositories_added"],
        json!([{
            "id": web, "node_id": added["repositories_added"][0]["node_id"], "name": "web",
            "full_name": "acme/web", "private": true,
        }])
    );
    assert_eq!(added["repositories_removed"], json!([]));
    assert_eq!(got[3].body["repositories_removed"][0]["id"], api);

    assert!(got[4].body["installation"]["suspended_at"].is_string());
    assert_eq!(got[4].body["installation"]["suspended_by"]["login"], "octocat");
    assert_eq!(got[5].body["installation"]["suspended_at"], Value::Null);

    let renamed = &got[6].body;
    assert_eq!(renamed["account"]["login"], "acme-two");
    assert_eq!(renamed["account"]["type"], "Organization");
    assert_eq!(renamed["changes"], json!({"login": {"from": "acme"}}));
    assert_eq!(renamed["target_type"], "Organization");
    assert!(renamed["installation"]["node_id"].is_string());
    assert_eq!(renamed["sender"]["login"], "octocat");

    assert_eq!(got[7].body["sender"]["login"], "octocat");
    assert_eq!(got[7].body["sender"]["type"], "User");
    assert_eq!(got[8].body["installation"]["account"]["login"], "acme-two");
    assert_eq!(got[8].body["repositories"][0]["name"], "web");
}

#[tokio::test]
async fn user_rename_and_mode_only_selection_change() {
    let (sim, receiver) = hooked_sim().await;
    sim.add_user("octocat");
    sim.add_repo("octocat", "only", false);
    let id = sim.install("octocat", RepoSelection::Selected(vec!["only".into()]), &[]);
    // Same repositories, but now "all": still reported, with the new mode.
    sim.set_installation_repositories(id, RepoSelection::All);
    sim.rename_account("octocat", "octo-renamed");
    assert!(sim.wait_for_deliveries(3, WAIT).await);
    let got = receiver.received();
    assert_eq!(got[1].body["action"], "added");
    assert_eq!(got[1].body["repository_selection"], "all");
    assert_eq!(got[1].body["repositories_added"], json!([]));
    let renamed = &got[2].body;
    assert_eq!(renamed["target_type"], "User");
    assert_eq!(renamed["account"]["login"], "octo-renamed");
    assert_eq!(renamed["changes"]["login"]["from"], "octocat");
    assert_eq!(renamed["installation"]["id"], id);
    assert_eq!(renamed["sender"]["login"], "octo-renamed");
}

#[tokio::test]
async fn nothing_is_sent_without_a_target() {
    let sim = sim().await;
    let receiver = Receiver::start().await;
    sim.add_user("octocat");
    let id = sim.install("octocat", RepoSelection::All, &[]);
    sim.suspend(id);
    sim.uninstall(id);
    sim.revoke_authorization("octocat");
    assert!(!sim.wait_for_deliveries(1, Duration::from_millis(200)).await);
    assert!(sim.webhook_deliveries().is_empty());
    assert!(receiver.received().is_empty());
    // Zero deliveries are "all done" at once.
    assert!(sim.wait_for_deliveries(0, Duration::from_millis(1)).await);
}

#[tokio::test]
async fn failed_deliveries_are_recorded_not_retried() {
    let sim = sim().await;
    // A port nobody listens on any more.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    sim.send_webhooks_to(&format!("http://{closed}/hook"), SECRET);
    sim.add_user("octocat");
    let id = sim.install("octocat", RepoSelection::All, &[]);
    assert!(sim.wait_for_deliveries(1, WAIT).await);
    let d = sim.webhook_deliveries();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].event.as_str(), d[0].status, d[0].installation_id),
        ("installation", None, Some(id))
    );
    let (_, listed, _) = get(&sim, "/_sim/webhooks/deliveries", "").await;
    assert!(listed["deliveries"][0]["outcome"]
        .as_str()
        .unwrap()
        .starts_with("failed"));
}

#[tokio::test]
async fn control_api_sets_the_target_and_reports() {
    let sim = sim().await;
    let receiver = Receiver::start().await;
    let bad = json!({"url": "not a url", "secret": SECRET});
    assert_eq!(send(&sim, "POST", "/_sim/webhooks", None, bad).await.0, 422);
    let target = json!({"url": receiver.url, "secret": SECRET});
    assert_eq!(send(&sim, "POST", "/_sim/webhooks", None, target).await.0, 204);
    sim.add_user("octocat");
    let (status, inst) = send(&sim, "POST", "/_sim/installations", None, json!({"account": "octocat"})).await;
    assert_eq!(status, 201);
    let path = format!("/_sim/installations/{}/suspend", inst["id"]);
    assert_eq!(send(&sim, "POST", &path, None, json!({})).await.0, 204);
    assert!(sim.wait_for_deliveries(2, WAIT).await);
    let (status, listed, _) = get(&sim, "/_sim/webhooks/deliveries", "").await;
    assert_eq!(status, 200);
    let list = listed["deliveries"].as_array().unwrap();
    assert_eq!(list[0]["action"], "created");
    assert_eq!(list[1]["action"], "suspend");
    assert_eq!(list[1]["status"], 200);
    assert_eq!(list[1]["installation_id"], inst["id"]);
    assert_eq!(receiver.received().len(), 2);
}
