//! Webhook delivery: the App's webhook target (URL and secret), the log of
//! deliveries with their outcomes, and the background task that POSTs them
//! signed and with GitHub's headers.
//!
//! Deliveries are queued (and logged as pending) while the state lock is
//! held, so their order is the order of the changes, but sent by one spawned
//! task that never touches the state: a receiver that calls back into the
//! simulator while handling a webhook cannot deadlock it. One task sending one
//! at a time also keeps them in order at the receiver, which makes tests and
//! local runs deterministic (GitHub itself promises no order).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use crate::SimConfig;

/// How long the receiver gets to answer; GitHub gives up after 10 s, a
/// shorter wait keeps a hung local receiver from stalling later deliveries.
const TIMEOUT: Duration = Duration::from_secs(5);

/// One webhook delivery, as [`crate::GitHubSim::webhook_deliveries`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The `X-GitHub-Delivery` GUID.
    pub id: String,
    /// The `X-GitHub-Event` header, e.g. `installation`.
    pub event: String,
    /// The payload's `action`, e.g. `created`.
    pub action: Option<String>,
    /// The receiver's status code; `None` while pending or if sending failed.
    pub status: Option<u16>,
    /// The payload's `installation.id`, if it has one.
    pub installation_id: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Pending,
    Answered(u16),
    /// Connection refused, timeout, ...: not retried, like GitHub.
    Failed(String),
}

#[derive(Clone, Debug)]
pub(crate) struct Record {
    pub delivery: Delivery,
    pub outcome: Outcome,
    /// GitHub's numeric id of this attempt (`/app/hook/deliveries/{id}`);
    /// every attempt of one delivery shares its GUID.
    pub attempt: u64,
    /// Whether this attempt was asked for (`POST …/attempts`).
    pub redelivery: bool,
    /// When it was sent (Unix seconds, sim clock).
    pub delivered_at: i64,
    /// How long the receiver took, in seconds.
    pub duration: f64,
    /// The signed body, kept for a redelivery.
    pub body: Arc<Vec<u8>>,
}

/// The first attempt id: GitHub's are large numbers.
const FIRST_ATTEMPT: u64 = 12_000_000_001;

/// Every delivery in queue order. Shared by the state (which appends) and
/// the sending task (which records outcomes); it has its own lock so the
/// task never needs the state's.
#[derive(Debug, Default)]
pub(crate) struct DeliveryLog {
    records: Mutex<Vec<Record>>,
    changed: Notify,
}

impl DeliveryLog {
    fn lock(&self) -> MutexGuard<'_, Vec<Record>> {
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push(&self, delivery: Delivery, body: Arc<Vec<u8>>, redelivery: bool, now: i64) -> usize {
        let mut records = self.lock();
        let index = records.len();
        records.push(Record {
            delivery,
            outcome: Outcome::Pending,
            attempt: FIRST_ATTEMPT + index as u64,
            redelivery,
            delivered_at: now,
            duration: 0.0,
            body,
        });
        index
    }

    fn finish(&self, index: usize, outcome: Outcome, duration: f64) {
        if let Some(record) = self.lock().get_mut(index) {
            record.duration = duration;
            if let Outcome::Answered(status) = outcome {
                record.delivery.status = Some(status);
            }
            record.outcome = outcome;
        }
        self.changed.notify_waiters();
    }

    pub fn records(&self) -> Vec<Record> {
        self.lock().clone()
    }

    fn finished(&self) -> usize {
        self.lock().iter().filter(|r| r.outcome != Outcome::Pending).count()
    }

    /// Whether `count` deliveries reach a final outcome within `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> bool {
        let wait = async {
            loop {
                // Registered before checking, so a finish in between is not missed.
                let notified = self.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.finished() >= count {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }
}

struct Target {
    url: String,
    secret: String,
}

/// What the next deliveries suffer, on command ([`crate::GitHubSim::fail_webhooks`]).
#[derive(Debug, Default)]
struct Faults {
    /// Logged as failed to connect, never sent: the receiver was down.
    fail: usize,
    /// Neither sent nor logged: GitHub lost them.
    drop: usize,
}

/// A delivery kept instead of sent ([`crate::GitHubSim::hold_webhooks`]),
/// for a test to deliver itself, in any order and as often as it likes.
#[derive(Clone, Debug, PartialEq)]
pub struct HeldWebhook {
    /// The `X-GitHub-Delivery` GUID.
    pub id: String,
    /// The `X-GitHub-Event` header.
    pub event: String,
    pub payload: Value,
}

struct Job {
    index: usize,
    url: String,
    secret: String,
    guid: String,
    event: String,
    body: Arc<Vec<u8>>,
}

/// The per-simulator parts of GitHub's headers; constant across deliveries
/// like one App's hook on GitHub.
struct Fixed {
    app_id: u64,
    hook_id: u64,
    user_agent: String,
}

/// The webhook side of the state: where to send, what the payloads need to
/// know about the app, and the queue to the sending task.
pub(crate) struct Hooks {
    target: Option<Target>,
    /// `Some` while deliveries are held rather than sent.
    held: Mutex<Option<Vec<HeldWebhook>>>,
    faults: Mutex<Faults>,
    pub log: Arc<DeliveryLog>,
    tx: mpsc::UnboundedSender<Job>,
    /// For the installation objects inside payloads.
    pub config: SimConfig,
    /// The base of API URLs inside payloads (the simulator's own URL).
    pub api_base: String,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("target", &self.target.as_ref().map(|t| &t.url))
            .finish_non_exhaustive()
    }
}

impl Hooks {
    /// Spawns the sending task (so it must run inside a tokio runtime); the
    /// task ends when the `Hooks` is dropped, or when its handle is aborted.
    pub fn start(config: SimConfig, api_base: String) -> (Hooks, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let log = Arc::new(DeliveryLog::default());
        let fixed = Fixed {
            app_id: config.app_id,
            hook_id: 100_000_000 + u64::from(rand::random::<u32>() % 900_000_000),
            user_agent: format!("GitHub-Hookshot/{:07x}", rand::random::<u32>() & 0x0fff_ffff),
        };
        let task = tokio::spawn(send_all(rx, log.clone(), fixed));
        let hooks = Hooks {
            target: None,
            held: Mutex::new(None),
            faults: Mutex::new(Faults::default()),
            log,
            tx,
            config,
            api_base,
        };
        (hooks, task)
    }

    pub fn set_target(&mut self, url: &str, secret: &str) {
        self.target = Some(Target {
            url: url.to_owned(),
            secret: secret.to_owned(),
        });
    }

    pub fn target_url(&self) -> Option<&str> {
        self.target.as_ref().map(|t| t.url.as_str())
    }

    /// Whether changes are reported; payloads are only built when they are.
    pub fn enabled(&self) -> bool {
        self.target.is_some() || self.held_lock().is_some()
    }

    fn held_lock(&self) -> MutexGuard<'_, Option<Vec<HeldWebhook>>> {
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// From now on deliveries are kept, not sent.
    pub fn hold(&self) {
        self.held_lock().get_or_insert_with(Vec::new);
    }

    /// The deliveries held since the last call.
    pub fn take_held(&self) -> Vec<HeldWebhook> {
        self.held_lock().as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The next `fail` deliveries (redeliveries included) are logged as
    /// failed to connect and not sent; the `drop` after them are lost.
    pub fn fault_next(&self, fail: usize, drop: usize) {
        let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        faults.fail += fail;
        faults.drop += drop;
    }

    /// Takes one armed fault: (fail, drop).
    fn next_fault(&self) -> (bool, bool) {
        let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        if faults.fail > 0 {
            faults.fail -= 1;
            return (true, false);
        }
        if faults.drop > 0 {
            faults.drop -= 1;
            return (false, true);
        }
        (false, false)
    }

    /// Logs and queues one delivery of `payload` as `event` (or keeps it,
    /// while held); nothing without a target. `now` is the sim clock: the
    /// sending task has no access to the state's clock offset.
    pub fn emit(&self, event: &str, payload: &Value, now: i64) {
        if let Some(held) = self.held_lock().as_mut() {
            held.push(HeldWebhook {
                id: guid(),
                event: event.to_owned(),
                payload: payload.clone(),
            });
            return;
        }
        let delivery = Delivery {
            id: guid(),
            event: event.to_owned(),
            action: payload["action"].as_str().map(str::to_owned),
            status: None,
            installation_id: payload["installation"]["id"].as_u64(),
        };
        self.send(delivery, Arc::new(payload.to_string().into_bytes()), false, now);
    }

    /// Sends attempt `attempt`'s delivery again, under the same GUID, as
    /// `POST /app/hook/deliveries/{id}/attempts` asks; false if there is no
    /// such attempt.
    pub fn redeliver(&self, attempt: u64, now: i64) -> bool {
        let Some(record) = self.log.records().into_iter().find(|r| r.attempt == attempt) else {
            return false;
        };
        let mut delivery = record.delivery;
        delivery.status = None;
        self.send(delivery, record.body, true, now);
        true
    }

    fn send(&self, delivery: Delivery, body: Arc<Vec<u8>>, redelivery: bool, now: i64) {
        let Some(target) = &self.target else {
            return;
        };
        let (fail, drop) = self.next_fault();
        if drop {
            return;
        }
        let (guid, event) = (delivery.id.clone(), delivery.event.clone());
        let index = self.log.push(delivery, body.clone(), redelivery, now);
        if fail {
            self.log
                .finish(index, Outcome::Failed("failed to connect to host".into()), 0.0);
            return;
        }
        let job = Job {
            index,
            url: target.url.clone(),
            secret: target.secret.clone(),
            guid,
            event,
            body,
        };
        if self.tx.send(job).is_err() {
            self.log
                .finish(index, Outcome::Failed("the delivery task has stopped".into()), 0.0);
        }
    }
}

/// A random version-4 GUID, the form of `X-GitHub-Delivery`.
fn guid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `sha256=` and the hex HMAC-SHA256 of `body` keyed with `secret`, the
/// `X-Hub-Signature-256` header.
pub(crate) fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn send_all(mut rx: mpsc::UnboundedReceiver<Job>, log: Arc<DeliveryLog>, fixed: Fixed) {
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build();
    while let Some(job) = rx.recv().await {
        let started = std::time::Instant::now();
        let outcome = match &client {
            Ok(client) => send(client, &job, &fixed).await,
            Err(e) => Outcome::Failed(format!("no HTTP client: {e}")),
        };
        let duration = started.elapsed().as_secs_f64();
        match &outcome {
            Outcome::Failed(e) => tracing::warn!(event = %job.event, error = %e, "github-sim webhook failed"),
            _ => tracing::debug!(event = %job.event, outcome = ?outcome, "github-sim webhook"),
        }
        log.finish(job.index, outcome, duration);
    }
}

async fn send(client: &reqwest::Client, job: &Job, fixed: &Fixed) -> Outcome {
    let result = client
        .post(&job.url)
        .header("Content-Type", "application/json")
        .header("User-Agent", &fixed.user_agent)
        .header("X-GitHub-Event", &job.event)
        .header("X-GitHub-Delivery", &job.guid)
        .header("X-GitHub-Hook-ID", fixed.hook_id.to_string())
        .header("X-GitHub-Hook-Installation-Target-Type", "integration")
        .header("X-GitHub-Hook-Installation-Target-ID", fixed.app_id.to_string())
        .header("X-Hub-Signature-256", signature(&job.secret, &job.body))
        .body(job.body.as_ref().clone())
        .send()
        .await;
    match result {
        Ok(resp) => Outcome::Answered(resp.status().as_u16()),
        Err(e) => {
            // reqwest's own message is generic ("error sending request");
            // the cause ("Connection refused", a timeout) is in its sources.
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            Outcome::Failed(message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_is_a_v4_uuid() {
        let g = guid();
        assert_eq!(g.len(), 36);
        assert_eq!(g.as_bytes()[14], b'4');
        assert!(matches!(g.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
    }

    #[test]
    fn signature_matches_githubs_documented_example() {
        // From GitHub's "Validating webhook deliveries" docs.
        assert_eq!(
            signature("It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }
}
