//! One HTTP server for everything: the walkthrough page, a sign-in
//! endpoint, and every route of the four functions, handed to the very
//! same `broker::api::Service`s the Lambda binaries run.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use broker::api::ApiRequest;
use serde::Deserialize;
use serde_json::json;

use crate::events;
use crate::runner::Runner;
use crate::seed::PLATFORM_USERS;

const PAGE: &str = include_str!("../static/index.html");

/// The largest body any route takes (the commits route).
const MAX_BODY: usize = 26 * 1024 * 1024;

pub fn router(runner: Arc<Runner>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/callback", get(page))
        .route("/local/info", get(info))
        .route("/local/session", post(session))
        .route("/local/events", get(events::recent))
        .route("/local/events/stream", get(events::stream))
        .route("/local/github/webhook-faults", post(webhook_faults))
        .fallback(broker_route)
        .with_state(runner)
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn info(State(runner): State<Arc<Runner>>) -> Json<serde_json::Value> {
    let users: Vec<_> = PLATFORM_USERS
        .iter()
        .map(|(sub, teams)| json!({"sub": sub, "accounts": teams}))
        .collect();
    Json(json!({
        "users": users,
        "github": match &runner.sim { Some(sim) => json!({"simulated": true, "url": sim.url()}), None => json!({"simulated": false}) },
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionRequest {
    sub: String,
}

/// The broker's error shape, for the runner's own endpoints too.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

/// The platform user a sign-in body names: `{"sub": "alice"}`, read as
/// the broker reads bodies (JSON whatever the content type), refused with
/// the broker's JSON errors.
/// (Refused with the status, code and message of the broker's JSON error.)
type Refusal = (StatusCode, &'static str, &'static str);

fn signing_in(body: &[u8]) -> Result<&'static (&'static str, &'static [&'static str]), Refusal> {
    let req: SessionRequest = serde_json::from_slice(body).map_err(|_| {
        (
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "expected {\"sub\": \"<a platform user>\"}",
        )
    })?;
    PLATFORM_USERS.iter().find(|(sub, _)| *sub == req.sub).ok_or((
        StatusCode::NOT_FOUND,
        "unknown_user",
        "no such platform user",
    ))
}

/// The region the page signs its internal calls for: any region is taken
/// (the credential scope's own), this one is as good as another.
const PAGE_REGION: &str = "us-east-1";

/// Signs the person in as one of the platform users: the token the JWT
/// authorizer would have verified, and the runner's IAM key pair (the page
/// plays the platform's backend too, and signs its internal calls).
async fn session(State(runner): State<Arc<Runner>>, body: axum::body::Bytes) -> Response {
    let (sub, teams) = match signing_in(&body) {
        Ok(user) => user,
        Err((status, code, message)) => return error(status, code, message),
    };
    let accounts: Vec<String> = teams.iter().map(|t| t.to_string()).collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    match runner.auth.sign_in(sub, &accounts, now) {
        Ok(token) => Json(json!({
            "sub": sub,
            "accounts": accounts,
            "token": token,
            "iam": {
                "access_key_id": runner.iam.access_key_id(),
                "secret_access_key": runner.iam.secret_access_key(),
                "region": PAGE_REGION,
            },
        }))
        .into_response(),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "internal error"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookFaults {
    #[serde(default)]
    fail: usize,
    #[serde(default)]
    drop: usize,
}

/// Makes the simulated GitHub miss the broker: its next `fail` webhook
/// deliveries fail (logged, so GitHub's redelivery API offers them), the
/// `drop` after them are lost outright. What the reconciler repairs.
async fn webhook_faults(State(runner): State<Arc<Runner>>, body: axum::body::Bytes) -> Response {
    let Some(sim) = &runner.sim else {
        return error(
            StatusCode::NOT_FOUND,
            "not_simulated",
            "GitHub is the real one: its webhooks cannot be faulted from here",
        );
    };
    let Ok(faults) = serde_json::from_slice::<WebhookFaults>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "expected {\"fail\": <deliveries>, \"drop\": <deliveries>}",
        );
    };
    sim.fault_webhooks(faults.fail, faults.drop);
    StatusCode::NO_CONTENT.into_response()
}

async fn broker_route(State(runner): State<Arc<Runner>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let error = json!({"error": {"code": "payload_too_large", "message": "request body too large"}});
            return (StatusCode::PAYLOAD_TOO_LARGE, Json(error)).into_response();
        }
    };
    let path = parts.uri.path().to_owned();
    let service = if path.starts_with("/github/oauth/") {
        &runner.oauth
    } else if path == "/webhook" || path.starts_with("/webhook/") {
        &runner.webhook
    } else if path == "/internal/reconcile" {
        &runner.reconciler
    } else {
        &runner.vending
    };
    // The webhook function URL trusts only the signature: no authorizer.
    // Internal routes are IAM-authorized: SigV4 with the runner's pair, or
    // API Gateway's 403 before the function sees anything.
    let auth = if std::ptr::eq(service, &runner.webhook) {
        broker::api::Authorizer::None
    } else if path == "/internal" || path.starts_with("/internal/") {
        match runner
            .iam
            .verify(&parts.method, &parts.uri, &parts.headers, &body, SystemTime::now())
        {
            Ok(principal) => broker::api::Authorizer::Iam {
                principal: principal.to_owned(),
            },
            Err(why) => {
                tracing::info!(method = %parts.method, path, refused = ?why, "IAM authorization refused the request");
                return forbidden();
            }
        }
    } else {
        runner
            .auth
            .authorize(parts.headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok()))
    };
    let request = ApiRequest {
        method: parts.method,
        path,
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers,
        body,
        auth,
    };
    service.handle(request).await.into_http::<Body>()
}

/// What an HTTP API with IAM authorization answers a request it refuses.
fn forbidden() -> Response {
    let mut response = (StatusCode::FORBIDDEN, crate::sigv4::FORBIDDEN_BODY).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn refusal(body: &[u8]) -> (StatusCode, serde_json::Value) {
        let (status, code, message) = signing_in(body).expect_err("refused");
        let response = error(status, code, message);
        let bytes = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        (status, serde_json::from_slice(&bytes).expect("a JSON error"))
    }

    #[tokio::test]
    async fn a_bad_sign_in_is_the_brokers_json_error() {
        for body in [
            &b"not json"[..],
            b"",
            b"{}",
            b"{\"sub\": 7}",
            b"{\"sub\": \"alice\", \"admin\": true}",
        ] {
            let (status, error) = refusal(body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}");
            assert_eq!(error["error"]["code"], "invalid_body", "{body:?}");
        }
        let (status, error) = refusal(br#"{"sub": "mallory"}"#).await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("unknown_user"))
        );
        assert_eq!(signing_in(br#"{"sub": "alice"}"#).unwrap().0, "alice");
    }
}
