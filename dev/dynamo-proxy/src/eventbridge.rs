//! What EventBridge refuses that moto takes: a `PutEvents` request whose
//! entries total more than 256 KB, each entry's size computed as
//! EventBridge documents it (`Time` 14 bytes if set, then the UTF-8 bytes
//! of `Source`, `DetailType`, `Detail` and each of `Resources`).

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode};
use serde_json::Value;

const LIMIT: usize = 256 * 1024;

fn entry_size(entry: &Value) -> usize {
    let text = |name: &str| entry[name].as_str().map_or(0, str::len);
    let time = if entry["Time"].is_null() { 0 } else { 14 };
    let resources: usize = entry["Resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::len)
        .sum();
    time + text("Source") + text("DetailType") + text("Detail") + resources
}

/// Whether EventBridge would refuse the request for its size.
pub fn oversized(body: &[u8]) -> bool {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    let total: usize = request["Entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(entry_size)
        .sum();
    total > LIMIT
}

/// EventBridge's answer to such a request.
pub fn too_large() -> Response {
    let body = serde_json::json!({
        "__type": "ValidationException",
        "message": "Total size of the entries in the request is over the limit.",
    });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/x-amz-json-1.1"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_over_256_kb_in_all_are_refused_as_eventbridge_computes_them() {
        let entry =
            |detail: usize| serde_json::json!({"Source": "s", "DetailType": "push", "Detail": "x".repeat(detail)});
        let fits = LIMIT - "s".len() - "push".len();
        let request = |entries: Vec<Value>| serde_json::to_vec(&serde_json::json!({ "Entries": entries })).unwrap();
        assert!(!oversized(&request(vec![entry(fits)])));
        assert!(oversized(&request(vec![entry(fits + 1)])));
        assert!(oversized(&request(vec![entry(fits / 2), entry(fits / 2 + 10)])));
    }
}
