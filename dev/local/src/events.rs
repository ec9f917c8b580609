//! The page's view of the in-process event bus: the latest published
//! deliveries (`GET /local/events`), and each new one as it is published
//! (`GET /local/events/stream`, server-sent events). Summaries only: the
//! payloads stay on the bus.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use broker::events::{LocalBus, LocalEvent};
use futures::Stream;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use crate::runner::Runner;

/// What the page shows of one entry.
fn summary(event: &LocalEvent) -> Value {
    let d = &event.detail;
    let p = &d["payload"];
    json!({
        "seq": event.seq,
        "detail_type": event.detail_type,
        "delivery_id": d["delivery_id"],
        "action": d["action"],
        "installation_id": d["installation_id"],
        "accounts": d["accounts"],
        "payload_s3_key": d["payload_s3_key"],
        "repository": p["repository"]["full_name"],
        "ref": p["ref"],
        "title": p["pull_request"]["title"],
        "sender": p["sender"]["login"],
    })
}

fn bus(runner: &Runner) -> Option<&LocalBus> {
    runner.app.events.as_deref().and_then(|b| b.local())
}

fn not_local() -> Response {
    let error = json!({"error": {"code": "not_local", "message": "deliveries are published on a real event bus (EVENT_BUS_NAME)"}});
    (StatusCode::NOT_FOUND, Json(error)).into_response()
}

pub async fn recent(State(runner): State<Arc<Runner>>) -> Response {
    match bus(&runner) {
        Some(bus) => Json(json!({"events": bus.recent().iter().map(summary).collect::<Vec<_>>()})).into_response(),
        None => not_local(),
    }
}

pub async fn stream(State(runner): State<Arc<Runner>>) -> Response {
    let Some(bus) = bus(&runner) else {
        return not_local();
    };
    Sse::new(live(bus.subscribe()))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// Each entry as an SSE `message`; a page that fell behind is told to
/// reload the list (`lagged`).
fn live(
    receiver: tokio::sync::broadcast::Receiver<LocalEvent>,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    futures::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(event) => Event::default().json_data(summary(&event)).ok()?,
            Err(RecvError::Lagged(_)) => Event::default().event("lagged").data("reload"),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), receiver))
    })
}
