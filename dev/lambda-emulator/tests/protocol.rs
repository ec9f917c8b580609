//! The Runtime API as a runtime client sees it, over raw HTTP.

use std::time::Duration;

use lambda_emulator::{Emulator, InvokeError};
use serde_json::json;

fn url(emulator: &Emulator, path: &str) -> String {
    format!("http://{}/2018-06-01/runtime/{path}", emulator.runtime_api())
}

#[tokio::test]
async fn next_carries_the_event_and_lambdas_headers_and_the_response_resolves_the_invoke() {
    let emulator = std::sync::Arc::new(Emulator::start().await.unwrap());
    assert!(emulator.first_next().is_none());
    let invoker = {
        let emulator = emulator.clone();
        tokio::spawn(async move { emulator.invoke_timed(json!({"hello": "world"})).await })
    };
    let http = reqwest::Client::new();
    let next = http.get(url(&emulator, "invocation/next")).send().await.unwrap();
    assert_eq!(next.status(), 200);
    assert!(emulator.first_next().is_some());
    let headers = next.headers().clone();
    let id = headers["lambda-runtime-aws-request-id"].to_str().unwrap().to_owned();
    let deadline: u128 = headers["lambda-runtime-deadline-ms"].to_str().unwrap().parse().unwrap();
    assert!(deadline > 1_700_000_000_000);
    assert!(headers["lambda-runtime-invoked-function-arn"]
        .to_str()
        .unwrap()
        .starts_with("arn:aws:lambda:"));
    assert!(headers["lambda-runtime-trace-id"]
        .to_str()
        .unwrap()
        .starts_with("Root=1-"));
    assert_eq!(
        next.json::<serde_json::Value>().await.unwrap(),
        json!({"hello": "world"})
    );

    let posted = http
        .post(url(&emulator, &format!("invocation/{id}/response")))
        .body(r#"{"statusCode":200}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 202);
    let invocation = invoker.await.unwrap().unwrap();
    assert_eq!(invocation.request_id, id);
    assert_eq!(invocation.response, json!({"statusCode": 200}));
    assert!(invocation.timing.queued <= invocation.timing.delivered);
    assert!(invocation.timing.delivered <= invocation.timing.completed);
    assert_eq!(emulator.next_calls(), 1);
}

#[tokio::test]
async fn next_waits_for_an_event_and_an_error_fails_the_invoke() {
    let emulator = std::sync::Arc::new(Emulator::start().await.unwrap());
    let http = reqwest::Client::new();
    // The runtime asks first: the request is held open until an event comes.
    let next = tokio::spawn(http.get(url(&emulator, "invocation/next")).send());
    assert!(emulator.wait_first_next(Duration::from_secs(10)).await.is_some());
    let invoker = {
        let emulator = emulator.clone();
        tokio::spawn(async move { emulator.invoke(json!(1)).await })
    };
    let next = next.await.unwrap().unwrap();
    let id = next.headers()["lambda-runtime-aws-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    http.post(url(&emulator, &format!("invocation/{id}/error")))
        .body(r#"{"errorType":"Boom","errorMessage":"it broke"}"#)
        .send()
        .await
        .unwrap();
    match invoker.await.unwrap() {
        Err(InvokeError::Function(e)) => {
            assert_eq!((e.error_type.as_str(), e.error_message.as_str()), ("Boom", "it broke"))
        }
        other => panic!("expected a function error, got {other:?}"),
    }
    // An answer for an id that is not in flight is refused.
    let again = http
        .post(url(&emulator, &format!("invocation/{id}/response")))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
}

#[tokio::test]
async fn an_init_error_is_recorded_and_fails_invocations() {
    let emulator = Emulator::start().await.unwrap();
    let http = reqwest::Client::new();
    let posted = http
        .post(url(&emulator, "init/error"))
        .header("lambda-runtime-function-error-type", "Runtime.InitError")
        .body(r#"{"errorType":"Runtime.InitError","errorMessage":"no secret"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 202);
    assert_eq!(emulator.init_error().unwrap().error_message, "no secret");
    assert!(matches!(emulator.invoke(json!({})).await, Err(InvokeError::Init(_))));
}

#[tokio::test]
async fn an_invocation_unanswered_by_its_deadline_times_out_and_a_late_answer_is_refused() {
    let emulator = std::sync::Arc::new(
        Emulator::start_with(lambda_emulator::Options {
            function_name: "slow".into(),
            timeout: Duration::from_millis(200),
        })
        .await
        .unwrap(),
    );
    let invoker = {
        let emulator = emulator.clone();
        tokio::spawn(async move { emulator.invoke(json!({})).await })
    };
    let http = reqwest::Client::new();
    let next = http.get(url(&emulator, "invocation/next")).send().await.unwrap();
    let id = next.headers()["lambda-runtime-aws-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let outcome = invoker.await.unwrap();

    assert_eq!(outcome.unwrap_err(), InvokeError::TimedOut(Duration::from_millis(200)));
    let late = http
        .post(url(&emulator, &format!("invocation/{id}/response")))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 400);
}
