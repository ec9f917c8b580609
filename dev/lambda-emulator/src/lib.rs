//! The AWS Lambda Runtime API (2018-06-01) for ONE container, so that a real
//! function binary (or any runtime client) can be run and timed as Lambda
//! runs it: spawn the process with `AWS_LAMBDA_RUNTIME_API` set to
//! [`Emulator::runtime_api`], then [`Emulator::invoke`] events.
//!
//! Like Lambda, the emulator hands out one event per `next` and holds `next`
//! open (long poll) until an event is queued. It records when the first
//! `next` arrived (the end of the container's init) and, per invocation,
//! when the event was queued, handed to the runtime and answered.

pub mod events;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use tokio::sync::{oneshot, watch, Notify};

const PREFIX: &str = "/2018-06-01/runtime";

/// How the emulated function is named and how long an invocation may run:
/// reported to the runtime as `Lambda-Runtime-Deadline-Ms`, and enforced as
/// Lambda does (an invocation not answered by then fails with
/// [`InvokeError::TimedOut`]; a late answer is refused).
#[derive(Debug, Clone)]
pub struct Options {
    pub function_name: String,
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            function_name: "function".to_owned(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// An error the runtime reported (`…/error` or `init/error`), as Lambda's
/// `{"errorType", "errorMessage"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeError {
    pub error_type: String,
    pub error_message: String,
    /// The raw body, for anything the two fields above do not carry.
    pub body: String,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum InvokeError {
    #[error("the function failed: {}: {}", .0.error_type, .0.error_message)]
    Function(RuntimeError),
    #[error("the runtime failed to initialise: {}: {}", .0.error_type, .0.error_message)]
    Init(RuntimeError),
    #[error("the emulator stopped before the invocation was answered")]
    Closed,
    /// Lambda's "Task timed out after N seconds": no answer by the deadline.
    #[error("Task timed out after {0:?}")]
    TimedOut(Duration),
}

/// When one invocation was queued by [`Emulator::invoke`], handed to the
/// runtime by `next`, and answered.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub queued: Instant,
    pub delivered: Instant,
    pub completed: Instant,
}

impl Timing {
    /// From the runtime receiving the event to its answer: the function's own latency.
    pub fn handler(&self) -> Duration {
        self.completed - self.delivered
    }

    /// From the caller queuing the event to its answer (includes waiting for `next`).
    pub fn total(&self) -> Duration {
        self.completed - self.queued
    }
}

/// One answered invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub response: Value,
    pub timing: Timing,
}

pub struct Emulator {
    shared: Arc<Shared>,
    addr: std::net::SocketAddr,
    server: tokio::task::JoinHandle<()>,
    started: Instant,
}

struct Shared {
    options: Options,
    inner: Mutex<Inner>,
    queued: Notify,
    first_next: watch::Sender<Option<Instant>>,
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<Pending>,
    in_flight: HashMap<String, InFlight>,
    init_error: Option<RuntimeError>,
    next_calls: u64,
    seq: u64,
}

type Reply = oneshot::Sender<Result<Invocation, InvokeError>>;

struct Pending {
    request_id: String,
    event: Value,
    queued: Instant,
    reply: Reply,
}

struct InFlight {
    queued: Instant,
    delivered: Instant,
    reply: Reply,
}

impl Emulator {
    /// Binds 127.0.0.1 on a free port and serves the Runtime API.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            options,
            inner: Mutex::new(Inner::default()),
            queued: Notify::new(),
            first_next: watch::channel(None).0,
        });
        let app = Router::new()
            .route(&format!("{PREFIX}/invocation/next"), get(next))
            .route(&format!("{PREFIX}/invocation/{{id}}/response"), post(response))
            .route(&format!("{PREFIX}/invocation/{{id}}/error"), post(invocation_error))
            .route(&format!("{PREFIX}/init/error"), post(init_error))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            shared,
            addr,
            server,
            started: Instant::now(),
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn runtime_api(&self) -> String {
        self.addr.to_string()
    }

    /// When the emulator started listening.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Queues one event and waits for the runtime's answer.
    pub async fn invoke(&self, event: Value) -> Result<Value, InvokeError> {
        self.invoke_timed(event).await.map(|i| i.response)
    }

    /// [`Emulator::invoke`], with the request id and the timestamps.
    pub async fn invoke_timed(&self, event: Value) -> Result<Invocation, InvokeError> {
        let (reply, answer) = oneshot::channel();
        {
            let mut inner = self.shared.inner.lock().unwrap();
            if let Some(e) = &inner.init_error {
                return Err(InvokeError::Init(e.clone()));
            }
            inner.seq += 1;
            let request_id = request_id(self.addr.port(), inner.seq);
            inner.queue.push_back(Pending {
                request_id,
                event,
                queued: Instant::now(),
                reply,
            });
        }
        // Wakes every `next` waiting (each registered before it looked at the queue).
        self.shared.queued.notify_waiters();
        answer.await.unwrap_or(Err(InvokeError::Closed))
    }

    /// When the runtime first asked for an event: the end of its init.
    pub fn first_next(&self) -> Option<Instant> {
        *self.shared.first_next.borrow()
    }

    /// Waits for the runtime's first `next` (returns at once if it came).
    /// `None` when `limit` passed first.
    pub async fn wait_first_next(&self, limit: Duration) -> Option<Instant> {
        let mut rx = self.shared.first_next.subscribe();
        let waited = tokio::time::timeout(limit, rx.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(at)) => *at,
            _ => None,
        }
    }

    /// How many times the runtime asked for an event.
    pub fn next_calls(&self) -> u64 {
        self.shared.inner.lock().unwrap().next_calls
    }

    /// What the runtime posted to `init/error`, if it did.
    pub fn init_error(&self) -> Option<RuntimeError> {
        self.shared.inner.lock().unwrap().init_error.clone()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A UUID-shaped id, unique per emulator and invocation.
fn request_id(port: u16, seq: u64) -> String {
    format!("{:08x}-0000-4000-8000-{:012x}", port, seq)
}

fn epoch_ms(at: SystemTime) -> u128 {
    at.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let now = Instant::now();
    shared.first_next.send_if_modified(|first| {
        let unset = first.is_none();
        if unset {
            *first = Some(now);
        }
        unset
    });
    shared.inner.lock().unwrap().next_calls += 1;
    loop {
        // Registered before looking at the queue, so an event queued in
        // between still wakes this request.
        let notified = shared.queued.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let pending = shared.inner.lock().unwrap().queue.pop_front();
        if let Some(p) = pending {
            return deliver(&shared, p);
        }
        notified.await;
    }
}

fn deliver(shared: &Arc<Shared>, p: Pending) -> Response {
    let delivered = Instant::now();
    let deadline = epoch_ms(SystemTime::now() + shared.options.timeout);
    let arn = format!(
        "arn:aws:lambda:us-east-1:123456789012:function:{}",
        shared.options.function_name
    );
    // X-Ray's shape: Root=1-<epoch seconds>-<96-bit id>; the request id's digits serve as the id.
    let unique: String = p.request_id.chars().filter(char::is_ascii_hexdigit).take(24).collect();
    let trace = format!(
        "Root=1-{:08x}-{unique:0>24};Parent={:016x};Sampled=0",
        epoch_ms(SystemTime::now()) / 1000,
        deadline as u64
    );
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put("lambda-runtime-aws-request-id", &p.request_id);
    put("lambda-runtime-deadline-ms", &deadline.to_string());
    put("lambda-runtime-invoked-function-arn", &arn);
    put("lambda-runtime-trace-id", &trace);
    put("content-type", "application/json");
    let body = p.event.to_string();
    shared.inner.lock().unwrap().in_flight.insert(
        p.request_id.clone(),
        InFlight {
            queued: p.queued,
            delivered,
            reply: p.reply,
        },
    );
    // Lambda ends an invocation at its deadline, answered or not.
    let timer = shared.clone();
    let timeout = shared.options.timeout;
    tokio::spawn(async move {
        tokio::time::sleep(timeout).await;
        let flight = timer.inner.lock().unwrap().in_flight.remove(&p.request_id);
        if let Some(flight) = flight {
            let _ = flight.reply.send(Err(InvokeError::TimedOut(timeout)));
        }
    });
    (StatusCode::OK, headers, body).into_response()
}

async fn response(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let Some(flight) = shared.inner.lock().unwrap().in_flight.remove(&id) else {
        return StatusCode::BAD_REQUEST;
    };
    // Lambda passes any payload through; a non-JSON one comes back as a string.
    let response =
        serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let timing = Timing {
        queued: flight.queued,
        delivered: flight.delivered,
        completed: Instant::now(),
    };
    let _ = flight.reply.send(Ok(Invocation {
        request_id: id,
        response,
        timing,
    }));
    StatusCode::ACCEPTED
}

fn runtime_error(headers: &HeaderMap, body: &Bytes) -> RuntimeError {
    let raw = String::from_utf8_lossy(body).into_owned();
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let field = |name: &str| parsed.get(name).and_then(Value::as_str).map(str::to_owned);
    let header_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    RuntimeError {
        error_type: field("errorType")
            .or(header_type)
            .unwrap_or_else(|| "Unknown".to_owned()),
        error_message: field("errorMessage").unwrap_or_else(|| raw.clone()),
        body: raw,
    }
}

async fn invocation_error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let Some(flight) = shared.inner.lock().unwrap().in_flight.remove(&id) else {
        return StatusCode::BAD_REQUEST;
    };
    let _ = flight
        .reply
        .send(Err(InvokeError::Function(runtime_error(&headers, &body))));
    StatusCode::ACCEPTED
}

async fn init_error(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let error = runtime_error(&headers, &body);
    let mut inner = shared.inner.lock().unwrap();
    inner.init_error = Some(error.clone());
    // Lambda fails every waiting invocation of a container that cannot start.
    for p in inner.queue.drain(..) {
        let _ = p.reply.send(Err(InvokeError::Init(error.clone())));
    }
    for (_, f) in inner.in_flight.drain() {
        let _ = f.reply.send(Err(InvokeError::Init(error.clone())));
    }
    StatusCode::ACCEPTED
}
