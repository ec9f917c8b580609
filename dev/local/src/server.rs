//! One HTTP server for everything: the walkthrough page, a sign-in
//! endpoint, and every route of the three functions, handed to the very
//! same `broker::api::Service`s the Lambda binaries run.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use broker::api::ApiRequest;
use serde::Deserialize;
use serde_json::json;

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
struct SessionRequest {
    sub: String,
}

/// Signs the person in as one of the platform users: the token the JWT
/// authorizer would have verified, and the local internal credential.
async fn session(State(runner): State<Arc<Runner>>, Json(req): Json<SessionRequest>) -> Response {
    let Some((sub, teams)) = PLATFORM_USERS.iter().find(|(sub, _)| *sub == req.sub) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"code": "unknown_user", "message": "no such user"}})),
        )
            .into_response();
    };
    let accounts: Vec<String> = teams.iter().map(|t| t.to_string()).collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    match runner.auth.sign_in(sub, &accounts, now) {
        Ok(token) => {
            Json(json!({"sub": sub, "accounts": accounts, "token": token, "internal_key": runner.auth.internal_key()}))
                .into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
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
    } else {
        &runner.vending
    };
    // The webhook function URL trusts only the signature: no authorizer.
    let auth = if std::ptr::eq(service, &runner.webhook) {
        broker::api::Authorizer::None
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
