//! Hostile events at the level the Lambda runtime decodes: the real
//! function binary under the Lambda runtime loop, so that what the runtime
//! does before our handler runs is tested too.

use broker::api::Function;
use serde_json::Value;

use crate::helpers::app::WEBHOOK_SECRET;
use crate::helpers::containers::ProcessContainer;
use crate::helpers::events::{event, Auth};
use crate::helpers::fixtures::{delivery, webhook};
use crate::helpers::{moto, TestApp};

fn with_query(mut event: Value, query: &str) -> Value {
    event["rawQueryString"] = query.into();
    event["queryStringParameters"] = serde_json::json!({"a": "\"x\""});
    event
}

fn delivery_event(body: &[u8], signature: &str) -> Value {
    let id = delivery();
    let headers = [
        ("content-type", "application/json"),
        ("x-github-event", "ping"),
        ("x-github-delivery", id.as_str()),
        ("x-hub-signature-256", signature),
    ];
    event("POST", "/", &headers, Some(body), &Auth::None)
}

/// The webhook function's real binary, with the app it runs against (kept
/// alive by the caller).
async fn webhook_container(name: &str) -> (TestApp, ProcessContainer) {
    let app = TestApp::spawn().await;
    let container = ProcessContainer::start(&app, &moto::recorder().url(), Function::Webhook, name).await;
    (app, container)
}

/// A ping's body and its genuine signature.
fn signed_ping() -> (Vec<u8>, String) {
    let body = serde_json::to_vec(&webhook("ping")).unwrap();
    let signed = broker::crypto::signature::sign(WEBHOOK_SECRET, &body);
    (body, signed)
}

/// lambda_http, which the functions once went through, panicked on a query
/// string holding `"` (found by fuzzing); anyone can add one to the
/// function URL. No route reads the query string, and the answer must
/// still be ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quote_in_the_query_string_still_gets_the_brokers_answer() {
    let (_app, container) = webhook_container("query-quote").await;
    let (body, signed) = signed_ping();

    let forged = container
        .send(with_query(delivery_event(&body, "sha256=00"), "a=\"x\""))
        .await;
    let genuine = container
        .send(with_query(delivery_event(&body, &signed), "a=\"x\"&b=%22"))
        .await;

    assert_eq!(forged.status, 401, "{:?}", forged.body);
    assert_eq!(forged.error_code(), "unauthenticated");
    assert_eq!(genuine.status, 200, "{:?}", genuine.body);
}

/// Lambda marks a body it base64-encoded; one so marked that does not
/// decode is refused with the broker's JSON error (lambda_http panicked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_marked_base64_that_does_not_decode_gets_a_json_error() {
    let (_app, container) = webhook_container("bad-base64").await;
    let (body, signed) = signed_ping();
    let mut event = delivery_event(&body, &signed);
    event["isBase64Encoded"] = true.into();
    event["body"] = "not base64 at all %%%".into();

    let answer = container.send(event).await;

    assert_eq!(answer.status, 400, "{:?}", answer.body);
    assert_eq!(answer.error_code(), "invalid_body");
}
