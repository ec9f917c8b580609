//! `/_sim/` control routes for the browser-facing side of the App: the
//! webhook target, the delivery log and the callback URL, so that a runner
//! driving the simulator binary can do what `GitHubSim::send_webhooks_to`,
//! `webhook_deliveries` and `set_callback_url` do.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::control::{done, run};
use super::{json_response, Sim};
use crate::state::Shared;
use crate::webhooks::Outcome;
use crate::world::WorldError;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sim/webhooks", post(set_target))
        .route("/_sim/webhooks/deliveries", get(deliveries))
        .route("/_sim/callback_url", post(set_callback_url))
}

/// An absolute http(s) URL, or the control API's 422.
fn http_url(url: &str) -> Result<(), WorldError> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        _ => Err(WorldError::Invalid(format!("{url:?} is not an absolute http(s) URL"))),
    }
}

#[derive(Deserialize)]
struct Target {
    url: String,
    secret: String,
}

async fn set_target(State(sim): Sim, body: Bytes) -> Response {
    run(
        &sim,
        &body,
        |st, b: Target| {
            http_url(&b.url)?;
            st.hooks.set_target(&b.url, &b.secret);
            Ok(())
        },
        done,
    )
}

#[derive(Deserialize)]
struct Callback {
    url: String,
}

async fn set_callback_url(State(sim): Sim, body: Bytes) -> Response {
    run(
        &sim,
        &body,
        |st, b: Callback| {
            // Any absolute URL: native apps register custom schemes.
            url::Url::parse(&b.url).map_err(|_| WorldError::Invalid(format!("{:?} is not an absolute URL", b.url)))?;
            st.callback_url = Some(b.url);
            Ok(())
        },
        done,
    )
}

/// `{"deliveries": [...]}` in order; `outcome` is `pending`, `answered` or
/// `failed: <reason>`.
async fn deliveries(State(sim): Sim) -> Response {
    let log = sim.lock().hooks.log.clone();
    let list: Vec<Value> = log
        .records()
        .into_iter()
        .map(|r| {
            let outcome = match r.outcome {
                Outcome::Pending => "pending".to_owned(),
                Outcome::Answered(_) => "answered".to_owned(),
                Outcome::Failed(e) => format!("failed: {e}"),
            };
            let d = r.delivery;
            json!({
                "id": d.id,
                "event": d.event,
                "action": d.action,
                "status": d.status,
                "installation_id": d.installation_id,
                "outcome": outcome,
            })
        })
        .collect();
    json_response(StatusCode::OK, json!({"deliveries": list}))
}
