//! With `GITHUB_SIM_RESPONSE_LOG` naming a folder, every REST answer the
//! simulator gives (method, path, status, body) is appended to
//! `sim-responses-<pid>.jsonl` there, so that a check outside
//! (`scripts/sim-conformance`) can hold each to GitHub's published OpenAPI
//! description of that operation and status. The control API, the OAuth web
//! endpoints and HTML pages are not REST and are not recorded; answers an
//! injected fault made are marked.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use axum::body::{to_bytes, Body};
use axum::http::header::CONTENT_TYPE;
use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value};

fn log() -> Option<&'static Mutex<std::fs::File>> {
    static LOG: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let dir = std::path::PathBuf::from(std::env::var_os("GITHUB_SIM_RESPONSE_LOG")?);
        std::fs::create_dir_all(&dir).ok()?;
        let path = dir.join(format!("sim-responses-{}.jsonl", std::process::id()));
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path).ok()?;
        Some(Mutex::new(file))
    })
    .as_ref()
}

fn is_rest(path: &str) -> bool {
    !(path.starts_with("/_sim/") || path.starts_with("/login/") || path.starts_with("/apps/"))
}

/// Records `resp` when a log is wanted; the answer itself is unchanged.
pub(super) async fn record(method: &Method, path: &str, faulted: bool, resp: Response) -> Response {
    let Some(log) = log().filter(|_| is_rest(path)) else {
        return resp;
    };
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("text/html") {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let parsed: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let line = json!({
        "method": method.as_str(),
        "path": path,
        "status": parts.status.as_u16(),
        "content_type": content_type,
        "empty": bytes.is_empty(),
        "body": parsed,
        "faulted": faulted,
    });
    if let Ok(mut file) = log.lock() {
        let _ = writeln!(file, "{line}");
    }
    Response::from_parts(parts, Body::from(bytes))
}
