//! The App's primary rate limit over HTTP: a middleware that charges every
//! request bearing a valid app JWT, stamps GitHub's `x-ratelimit-*` headers
//! on its answer and refuses it once the budget is spent, and the
//! `/_sim/rate_limit` control routes.
//!
//! It sits inside `stamp`, so a request an injected fault answers before the
//! handler is not charged (GitHub would not have served it either), while
//! `Delay`, `SlowAnswer` and `LoseAnswer` requests are.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::{bearer, json_response, parse_json, Sim};
use crate::faults::is_control;
use crate::jwt;
use crate::rate_limit::Budget;
use crate::state::State as SimState;

const PRIMARY_RATE_LIMIT_DOCS: &str = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";

/// GitHub's `x-ratelimit-*` headers for `budget` in the `core` resource.
pub(super) fn insert_headers(headers: &mut HeaderMap, budget: &Budget) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(budget.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(budget.remaining()));
    headers.insert("x-ratelimit-used", HeaderValue::from(budget.used));
    headers.insert("x-ratelimit-reset", HeaderValue::from(budget.reset));
    headers.insert("x-ratelimit-resource", HeaderValue::from_static("core"));
}

/// Charges app-JWT requests against the App's budget. Any other credential
/// (or an invalid JWT, which the handler refuses with 401) passes untouched:
/// installation and user tokens have budgets of their own on GitHub.
pub(super) async fn app_budget(State(sim): Sim, req: Request, next: Next) -> Response {
    let now = sim.lock().now();
    let is_app = !is_control(req.uri().path())
        && bearer(req.headers()).is_some_and(|t| jwt::verify(t, &sim.key, &sim.config, now).is_ok());
    if !is_app {
        return next.run(req).await;
    }
    let charged = sim.lock().app_rate.charge(now);
    match charged {
        Ok(budget) => {
            let mut resp = next.run(req).await;
            insert_headers(resp.headers_mut(), &budget);
            resp
        }
        Err(budget) => exceeded(sim.config.app_id, &budget),
    }
}

/// GitHub's answer once the primary budget is spent: 403, no `Retry-After`
/// (clients are meant to wait for `x-ratelimit-reset`).
fn exceeded(app_id: u64, budget: &Budget) -> Response {
    let status = StatusCode::FORBIDDEN;
    let mut resp = json_response(
        status,
        json!({
            "message": format!("API rate limit exceeded for app ID {app_id}."),
            "documentation_url": PRIMARY_RATE_LIMIT_DOCS,
            "status": status.as_u16().to_string(),
        }),
    );
    insert_headers(resp.headers_mut(), budget);
    resp
}

/// `{"limit", "used", "remaining", "reset"}`; `reset` is null while no
/// window is open.
fn describe(st: &SimState) -> Response {
    let now = st.now();
    let (limit, used) = (st.app_rate.limit(), st.app_rate.used(now));
    json_response(
        StatusCode::OK,
        json!({
            "limit": limit,
            "used": used,
            "remaining": limit.saturating_sub(used),
            "reset": st.app_rate.reset(now),
        }),
    )
}

/// `GET /_sim/rate_limit`: the App's budget, without spending any.
pub(super) async fn show(State(sim): Sim) -> Response {
    describe(&sim.lock())
}

#[derive(Deserialize)]
struct NewLimit {
    limit: u64,
}

/// `POST /_sim/rate_limit` (`{"limit"}`): as `set_app_rate_limit`.
pub(super) async fn set(State(sim): Sim, body: Bytes) -> Response {
    let new = match parse_json::<NewLimit>(&body) {
        Ok(new) => new,
        Err(resp) => return resp,
    };
    let mut st = sim.lock();
    st.app_rate.set_limit(new.limit);
    describe(&st)
}
