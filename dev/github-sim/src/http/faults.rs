//! Acting on an injected fault inside the `stamp` middleware, so handlers
//! never know about faults, and the `/_sim/faults` control routes.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::{gh_error, json_response, no_content, parse_json, Sim};
use crate::faults::{Fault, FaultKind};
use crate::rate_limit::{Budget, DEFAULT_APP_LIMIT};
use crate::state::Shared;

const SECONDARY_RATE_LIMIT_DOCS: &str =
    "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits";

/// Answers `req` as `kind` says. Only `Delay`, `SlowAnswer` and
/// `LoseAnswer` reach the handler; the others answer before it, so no
/// domain counter moves.
pub(super) async fn apply(sim: &Shared, kind: FaultKind, request_id: &str, req: Request, next: Next) -> Response {
    match kind {
        FaultKind::Status(status) => status_error(status),
        FaultKind::RateLimit {
            status,
            retry_after_seconds,
        } => rate_limited(sim, status, retry_after_seconds, request_id),
        FaultKind::Delay(delay) => {
            tokio::time::sleep(delay).await;
            next.run(req).await
        }
        FaultKind::LoseAnswer => {
            // The handler has finished (and changed state) once its response
            // exists; its body is in memory, so dropping it loses nothing else.
            drop(next.run(req).await);
            status_error(502)
        }
        FaultKind::OAuthError(error) => super::oauth::refusal(&error),
        FaultKind::SlowAnswer(delay) => {
            let response = next.run(req).await;
            tokio::time::sleep(delay).await;
            response
        }
    }
}

/// GitHub's error body with the status's reason as the message.
fn status_error(status: u16) -> Response {
    // Statuses are checked at injection; 500 only guards the impossible.
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    gh_error(status, status.canonical_reason().unwrap_or("Server Error"))
}

/// A secondary-rate-limit answer as GitHub gives it, with both the
/// `Retry-After` and the `x-ratelimit-*` headers so either kind of client
/// backoff logic can be exercised.
fn rate_limited(sim: &Shared, status: u16, retry_after: u64, request_id: &str) -> Response {
    let status = if status == 429 {
        StatusCode::TOO_MANY_REQUESTS
    } else {
        StatusCode::FORBIDDEN
    };
    let message = format!(
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. \
         If you reach out to GitHub Support for help, please include the request ID {request_id}."
    );
    let mut resp = json_response(
        status,
        json!({
            "message": message,
            "documentation_url": SECONDARY_RATE_LIMIT_DOCS,
            "status": status.as_u16().to_string(),
        }),
    );
    let reset = sim
        .lock()
        .now()
        .saturating_add(i64::try_from(retry_after).unwrap_or(i64::MAX));
    let headers = resp.headers_mut();
    headers.insert("retry-after", HeaderValue::from(retry_after));
    // A spent budget of GitHub's default size, whatever the App's real one,
    // so a client that only reads `x-ratelimit-*` backs off too.
    let spent = Budget {
        limit: DEFAULT_APP_LIMIT,
        used: DEFAULT_APP_LIMIT,
        reset,
    };
    super::rate_limit::insert_headers(headers, &spent);
    resp
}

/// The body of `POST /_sim/faults`.
#[derive(Deserialize)]
struct NewFault {
    method: Option<String>,
    path_prefix: String,
    kind: String,
    status: Option<u16>,
    retry_after_seconds: Option<u64>,
    delay_ms: Option<u64>,
    error: Option<String>,
    times: usize,
}

impl NewFault {
    fn into_fault(self) -> Result<Fault, String> {
        let kind = match self.kind.as_str() {
            "status" => FaultKind::Status(self.status.ok_or("kind \"status\" needs a status")?),
            "rate_limit" => FaultKind::RateLimit {
                status: self.status.unwrap_or(403),
                retry_after_seconds: self.retry_after_seconds.unwrap_or(60),
            },
            "delay" => FaultKind::Delay(Duration::from_millis(
                self.delay_ms.ok_or("kind \"delay\" needs delay_ms")?,
            )),
            "lose_answer" => FaultKind::LoseAnswer,
            "slow_answer" => FaultKind::SlowAnswer(Duration::from_millis(
                self.delay_ms.ok_or("kind \"slow_answer\" needs delay_ms")?,
            )),
            "oauth_error" => FaultKind::OAuthError(self.error.ok_or("kind \"oauth_error\" needs an error")?),
            other => {
                return Err(format!(
                "unknown kind {other:?}: use \"status\", \"rate_limit\", \"delay\", \"slow_answer\", \"lose_answer\" or \"oauth_error\""
            ))
            }
        };
        Fault {
            method: self.method,
            path_prefix: self.path_prefix,
            kind,
            times: self.times,
        }
        .checked()
    }
}

/// `POST /_sim/faults`: queues one fault (204), or 422 if it is malformed.
pub(super) async fn inject(State(sim): Sim, body: Bytes) -> Response {
    let fault = match parse_json::<NewFault>(&body).map(|f| f.into_fault()) {
        Err(resp) => return resp,
        Ok(Err(why)) => return gh_error(StatusCode::UNPROCESSABLE_ENTITY, &why),
        Ok(Ok(fault)) => fault,
    };
    sim.lock().faults.push(fault);
    no_content()
}

/// `DELETE /_sim/faults`: disarms every fault.
pub(super) async fn clear(State(sim): Sim) -> Response {
    sim.lock().faults.clear();
    no_content()
}

/// `GET /_sim/requests?method=M&path_prefix=P`: the HTTP face of
/// `count_path`, for drivers outside the process.
pub(super) async fn count_path(State(sim): Sim, Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(method) = q.get("method") else {
        return gh_error(StatusCode::UNPROCESSABLE_ENTITY, "method is required");
    };
    let prefix = q.get("path_prefix").map_or("", String::as_str);
    let count = sim.lock().faults.count_path(method, prefix);
    json_response(StatusCode::OK, json!({"count": count}))
}
