//! A fault-injecting HTTP proxy between the AWS SDK and a DynamoDB-compatible
//! server (moto). Point `AWS_ENDPOINT_URL` (or the SDK's `endpoint_url`) at
//! [`DynamoProxy::url`]: every request, DynamoDB and Secrets Manager alike, is
//! forwarded upstream, counted by the operation its `X-Amz-Target` header
//! names, and possibly answered with a fault instead.
//!
//! The proxy runs on its own thread and runtime, so it serves callers in any
//! runtime (or none) and outlives none of them: dropping it stops it.
//!
//! ```no_run
//! use dynamo_proxy::{DynamoProxy, Fault, FaultKind};
//! let proxy = DynamoProxy::start("http://127.0.0.1:5000").unwrap();
//! // The third TransactWriteItems from now is throttled, twice.
//! proxy.inject(Fault::new("TransactWriteItems", FaultKind::Throttling).after(2).times(2));
//! assert_eq!(proxy.count("GetItem"), 0);
//! ```
//!
//! An endpoint with a path, `{url}/fn/{caller}`, names the caller: the
//! proxy forwards without that prefix and records what AWS would have to
//! authorize for each of the caller's requests ([`iam`]), so that a test can
//! hold each Lambda function's IAM policy to what it really does. With
//! `DYNAMO_PROXY_IAM_LOG` set, every new (caller, need) is also appended to
//! that file as one JSON line, across every proxy of the process.

mod eventbridge;
mod faults;
pub mod iam;
pub mod moto;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode};
use tokio::sync::oneshot;

pub use faults::{Fault, FaultKind};

/// The operation an `X-Amz-Target` value names: `DynamoDB_20120810.GetItem`
/// → `GetItem`, `secretsmanager.GetSecretValue` → `GetSecretValue`.
pub fn operation(target: &str) -> &str {
    target.rsplit('.').next().unwrap_or(target)
}

#[derive(Default)]
struct Shared {
    counts: BTreeMap<String, u64>,
    faults: faults::Faults,
    needs: BTreeMap<String, BTreeSet<iam::Need>>,
}

/// Splits `/fn/{caller}/rest` into the caller and the path to forward.
fn caller_of(path_and_query: &str) -> (Option<&str>, String) {
    let Some(rest) = path_and_query.strip_prefix("/fn/") else {
        return (None, path_and_query.to_owned());
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let forward = &rest[end..];
    let forward = if forward.starts_with('/') {
        forward.to_owned()
    } else {
        format!("/{forward}")
    };
    (Some(&rest[..end]), forward)
}

/// Appends each (caller, need) not yet written by this process to the file
/// `DYNAMO_PROXY_IAM_LOG` names, if it is set.
fn log_needs(caller: &str, needs: &BTreeSet<iam::Need>) {
    static WRITTEN: std::sync::OnceLock<Mutex<HashSet<(String, iam::Need)>>> = std::sync::OnceLock::new();
    static PATH: std::sync::OnceLock<Option<std::ffi::OsString>> = std::sync::OnceLock::new();
    let Some(path) = PATH.get_or_init(|| std::env::var_os("DYNAMO_PROXY_IAM_LOG")) else {
        return;
    };
    let mut written = WRITTEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let mut lines = String::new();
    for need in needs {
        if written.insert((caller.to_owned(), need.clone())) {
            let resource = match &need.resource {
                iam::Resource::Table(t) => serde_json::json!({"table": t}),
                iam::Resource::Index { table, index } => serde_json::json!({"table": table, "index": index}),
                iam::Resource::Secret(s) => serde_json::json!({"secret": s}),
                iam::Resource::EventBus(b) => serde_json::json!({"event_bus": b}),
                iam::Resource::Object { bucket, key } => serde_json::json!({"bucket": bucket, "key": key}),
                iam::Resource::Unknown => serde_json::json!({}),
            };
            let line = serde_json::json!({"caller": caller, "action": need.action, "resource": resource});
            lines.push_str(&format!("{line}\n"));
        }
    }
    if !lines.is_empty() {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path);
        if let Err(e) = file.and_then(|mut f| f.write_all(lines.as_bytes())) {
            eprintln!("dynamo-proxy: cannot append to DYNAMO_PROXY_IAM_LOG: {e}");
        }
    }
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    client: reqwest::Client,
    shared: Arc<Mutex<Shared>>,
}

/// A running proxy; see the crate documentation.
pub struct DynamoProxy {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    stop: Option<oneshot::Sender<()>>,
}

impl DynamoProxy {
    /// Binds 127.0.0.1 on a free port and starts forwarding to `upstream_url`
    /// (e.g. `http://127.0.0.1:5000`).
    pub fn start(upstream_url: &str) -> std::io::Result<DynamoProxy> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let client = reqwest::Client::builder()
            // The upstream is local: a proxy from the environment must not
            // capture it, and nothing is decompressed in between.
            .no_proxy()
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Mutex::new(Shared::default()));
        let proxy = Proxy {
            upstream: upstream_url.trim_end_matches('/').to_owned(),
            client,
            shared: shared.clone(),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dynamo-proxy")
            .enable_all()
            .build()?;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new().name("dynamo-proxy".into()).spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => return ready_tx.send(Err(e)).unwrap_or(()),
                };
                let _ = ready_tx.send(Ok(()));
                let app = axum::Router::new().fallback(forward).with_state(proxy);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
            // Requests still in flight (a long Delay) are abandoned.
            runtime.shutdown_background();
        })?;
        ready_rx
            .recv()
            .map_err(|_| std::io::Error::other("proxy thread ended before listening"))??;
        Ok(DynamoProxy {
            addr,
            shared,
            stop: Some(stop),
        })
    }

    /// The endpoint to give the SDK, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests seen for one operation (`"GetItem"`), faulted or not.
    pub fn count(&self, op: &str) -> u64 {
        self.lock().counts.get(op).copied().unwrap_or(0)
    }

    /// What AWS would have had to authorize for each caller (the `{caller}`
    /// of an endpoint `{url}/fn/{caller}`), since the start.
    pub fn needs(&self) -> BTreeMap<String, BTreeSet<iam::Need>> {
        self.lock().needs.clone()
    }

    /// The endpoint that names `caller` to the proxy: `{url}/fn/{caller}/`
    /// (S3 appends the bucket to the endpoint's path as it is).
    pub fn url_for(&self, caller: &str) -> String {
        format!("{}/fn/{caller}/", self.url())
    }

    /// Requests seen per operation since the start or the last reset.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.lock().counts.clone()
    }

    pub fn reset_counts(&self) {
        self.lock().counts.clear();
    }

    /// Arms a fault. Faults are tried in injection order; see [`Fault`].
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// (requests a fault was applied to, those of them delayed or whose
    /// answer was lost), since the start.
    pub fn faults_fired(&self) -> (u64, u64) {
        let shared = self.lock();
        (shared.faults.fired, shared.faults.hung)
    }

    /// Faults still armed (not yet used up): lets a test check that the
    /// fault it meant actually fired.
    pub fn armed_faults(&self) -> usize {
        self.lock().faults.armed()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        // A panic while holding the lock cannot leave it inconsistent (each
        // update is one map operation), so poisoning is ignored.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for DynamoProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The S3 operation a path-style request names, for counting and faults.
fn s3_operation(method: &str, path: &str) -> &'static str {
    let has_key = path
        .split('?')
        .next()
        .unwrap_or("")
        .trim_start_matches('/')
        .contains('/');
    match (method, has_key) {
        ("PUT", true) => "PutObject",
        ("GET", true) => "GetObject",
        ("HEAD", true) => "HeadObject",
        ("DELETE", true) => "DeleteObject",
        ("PUT", false) => "CreateBucket",
        _ => "ListObjects",
    }
}

/// Headers that belong to one hop and must not be copied across.
const HOP_BY_HOP: [&str; 5] = [
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "keep-alive",
];

/// Handles one request in its own task: a server goes on with a request
/// whose client has gone (a timeout), so a delayed write still lands.
async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    tokio::spawn(handle(proxy, request))
        .await
        .unwrap_or_else(|e| plain(StatusCode::INTERNAL_SERVER_ERROR, format!("proxy task failed: {e}")))
}

async fn handle(proxy: Proxy, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return plain(StatusCode::BAD_REQUEST, format!("unreadable request body: {e}")),
    };
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let path_and_query = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let (caller, path) = caller_of(path_and_query);
    // S3 names its operation by method and path, not by a target header.
    let s3 = target.is_empty() && !path.starts_with("/moto-api");
    let op = match s3 {
        true => s3_operation(parts.method.as_str(), &path).to_owned(),
        false => operation(&target).to_owned(),
    };
    // AWS authorizes a request before anything else, faulted or not.
    let needs = caller.map(|c| {
        let needs = match s3 {
            true => iam::s3_needs(parts.method.as_str(), &path),
            false => iam::needs(&target, &body),
        };
        (c, needs)
    });
    if let Some((caller, needs)) = &needs {
        log_needs(caller, needs);
    }
    let fault = {
        let mut shared = proxy.shared.lock().unwrap_or_else(|e| e.into_inner());
        if !op.is_empty() {
            *shared.counts.entry(op.clone()).or_insert(0) += 1;
        }
        if let Some((caller, needs)) = needs {
            shared.needs.entry(caller.to_owned()).or_default().extend(needs);
        }
        shared.faults.take(&op, &body)
    };
    match &fault {
        Some(FaultKind::Delay(d)) => tokio::time::sleep(*d).await,
        Some(FaultKind::LoseAnswer) | None => {}
        Some(kind) => return error(kind, &target, &body),
    }
    // moto takes entries of any size; EventBridge refuses the request.
    if op == "PutEvents" && eventbridge::oversized(&body) {
        return eventbridge::too_large();
    }
    let mut upstream = proxy
        .client
        .request(parts.method.clone(), format!("{}{path}", proxy.upstream))
        .body(body.clone());
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            upstream = upstream.header(name, value);
        }
    }
    let answer = match upstream.send().await {
        Ok(a) => a,
        Err(e) => return plain(StatusCode::BAD_GATEWAY, format!("upstream unreachable: {e}")),
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = match answer.bytes().await {
        Ok(b) => b,
        Err(e) => return plain(StatusCode::BAD_GATEWAY, format!("upstream answer cut: {e}")),
    };
    if let Some(kind @ FaultKind::LoseAnswer) = &fault {
        // The upstream has done the work; the caller hears only an error.
        return error(kind, &target, &body);
    }
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    copy_headers(&headers, response.headers_mut());
    response
}

fn copy_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            to.append(name, value.clone());
        }
    }
}

fn error(kind: &FaultKind, target: &str, request: &[u8]) -> Response {
    let Some((status, body)) = faults::error_answer(kind, target, request) else {
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "no answer for this fault".into());
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/x-amz-json-1.0"));
    headers.insert(
        "x-amzn-requestid",
        HeaderValue::from_static("dynamo-proxy-injected-fault"),
    );
    response
}

fn plain(status: StatusCode, message: String) -> Response {
    let mut response = Response::new(Body::from(message));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::caller_of;

    #[test]
    fn a_caller_prefix_is_named_and_stripped() {
        assert_eq!(caller_of("/fn/webhook/"), (Some("webhook"), "/".into()));
        assert_eq!(caller_of("/fn/webhook"), (Some("webhook"), "/".into()));
        assert_eq!(
            caller_of("/fn/token-vending?x=1"),
            (Some("token-vending"), "/?x=1".into())
        );
        assert_eq!(caller_of("/"), (None, "/".into()));
        assert_eq!(caller_of("/moto-api/"), (None, "/moto-api/".into()));
    }
}
