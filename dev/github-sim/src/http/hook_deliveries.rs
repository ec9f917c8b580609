//! The app's webhook delivery log as GitHub serves it, authenticated as the
//! app (JWT): `GET /app/hook/deliveries` (newest first, cursor pagination),
//! `GET /app/hook/deliveries/{delivery_id}` and `POST
//! /app/hook/deliveries/{delivery_id}/attempts` (a redelivery under the same
//! GUID). Each attempt is its own entry with its own numeric id, as on
//! GitHub; answers are held to GitHub's OpenAPI description by
//! `scripts/sim-conformance`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header::LINK;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::app::app_auth;
use super::{base_url, gh_error, json_response, Sim};
use crate::clock::iso8601;
use crate::webhooks::{Outcome, Record};

const NOT_FOUND: &str = "Not Found";

/// The status GitHub shows for an attempt, and its status code (0 when no
/// answer came back).
fn status(record: &Record) -> (String, u16) {
    match &record.outcome {
        Outcome::Pending => ("Pending".into(), 0),
        Outcome::Answered(code) if (200..300).contains(code) => ("OK".into(), *code),
        Outcome::Answered(code) => (format!("Invalid HTTP Response: {code}"), *code),
        Outcome::Failed(_) => ("failed to connect to host".into(), 0),
    }
}

/// A `hook-delivery-item`.
fn item(record: &Record) -> Value {
    let (status, status_code) = status(record);
    let payload: Value = serde_json::from_slice(&record.body).unwrap_or(Value::Null);
    json!({
        "id": record.attempt,
        "guid": record.delivery.id,
        "delivered_at": iso8601(record.delivered_at),
        "redelivery": record.redelivery,
        "duration": record.duration,
        "status": status,
        "status_code": status_code,
        "event": record.delivery.event,
        "action": record.delivery.action,
        "installation_id": record.delivery.installation_id,
        "repository_id": payload["repository"]["id"].as_u64(),
        "throttled_at": null,
    })
}

pub(crate) async fn list(
    State(sim): Sim,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(refused) = app_auth(&sim, &headers) {
        return refused;
    }
    let per_page = match query.get("per_page").map(|p| p.parse::<usize>()) {
        None => 30,
        Some(Ok(n)) => n.clamp(1, 100),
        Some(Err(_)) => return gh_error(StatusCode::UNPROCESSABLE_ENTITY, "Invalid per_page"),
    };
    // The cursor is the id of the first attempt of the page, newest first.
    let below = match query.get("cursor").filter(|c| !c.is_empty()).map(|c| c.parse::<u64>()) {
        None => u64::MAX,
        Some(Ok(id)) => id,
        Some(Err(_)) => return gh_error(StatusCode::UNPROCESSABLE_ENTITY, "Invalid cursor"),
    };
    let log = sim.lock().hooks.log.clone();
    let mut records: Vec<Record> = log.records().into_iter().filter(|r| r.attempt <= below).collect();
    records.reverse();
    let next = records.get(per_page).map(|r| r.attempt);
    let page: Vec<Value> = records.iter().take(per_page).map(item).collect();
    let mut response = json_response(StatusCode::OK, Value::Array(page));
    if let Some(next) = next {
        let link = format!(
            "<{}/app/hook/deliveries?per_page={per_page}&cursor={next}>; rel=\"next\"",
            base_url(&headers, &sim)
        );
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(LINK, value);
        }
    }
    response
}

fn find(sim: &crate::state::Shared, id: &str) -> Option<Record> {
    let id: u64 = id.parse().ok()?;
    let log = sim.lock().hooks.log.clone();
    log.records().into_iter().find(|r| r.attempt == id)
}

/// A `hook-delivery`: the item, with the request GitHub sent and the answer.
pub(crate) async fn get_one(State(sim): Sim, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(refused) = app_auth(&sim, &headers) {
        return refused;
    }
    let Some(record) = find(&sim, &id) else {
        return gh_error(StatusCode::NOT_FOUND, NOT_FOUND);
    };
    let mut body = item(&record);
    let payload: Value = serde_json::from_slice(&record.body).unwrap_or(Value::Null);
    body["url"] = sim.lock().hooks.target_url().map_or(Value::Null, |u| u.into());
    body["request"] = json!({
        "headers": {
            "X-GitHub-Event": record.delivery.event,
            "X-GitHub-Delivery": record.delivery.id,
            "Content-Type": "application/json",
        },
        "payload": payload,
    });
    body["response"] = json!({"headers": {}, "payload": null});
    json_response(StatusCode::OK, body)
}

/// Queues the attempt's delivery again; GitHub answers 202 at once.
pub(crate) async fn redeliver(State(sim): Sim, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(refused) = app_auth(&sim, &headers) {
        return refused;
    }
    let Ok(attempt) = id.parse::<u64>() else {
        return gh_error(StatusCode::NOT_FOUND, NOT_FOUND);
    };
    let st = sim.lock();
    if !st.hooks.redeliver(attempt, st.now()) {
        return gh_error(StatusCode::NOT_FOUND, NOT_FOUND);
    }
    json_response(StatusCode::ACCEPTED, json!({}))
}
