//! The official Rust runtime client runs against the emulator unchanged.
//! (Alone in its test binary: it configures the runtime through the process
//! environment, as Lambda does.)

use lambda_emulator::Emulator;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};

#[tokio::test]
async fn the_rust_runtime_serves_events_in_order() {
    let emulator = Emulator::start().await.unwrap();
    for (key, value) in [
        ("AWS_LAMBDA_RUNTIME_API", emulator.runtime_api()),
        ("AWS_LAMBDA_FUNCTION_NAME", "echo".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
    ] {
        std::env::set_var(key, value);
    }
    let runtime = tokio::spawn(lambda_runtime::run(service_fn(
        |event: LambdaEvent<Value>| async move {
            if event.payload["fail"] == json!(true) {
                return Err(lambda_runtime::Error::from("asked to fail"));
            }
            Ok::<_, lambda_runtime::Error>(json!({"echo": event.payload, "id": event.context.request_id}))
        },
    )));
    for n in 0..3 {
        let invocation = emulator.invoke_timed(json!({"n": n})).await.unwrap();
        assert_eq!(invocation.response["echo"], json!({"n": n}));
        assert_eq!(invocation.response["id"], json!(invocation.request_id));
    }
    let failed = emulator.invoke(json!({"fail": true})).await.unwrap_err();
    assert!(failed.to_string().contains("asked to fail"), "{failed}");
    assert!(emulator.first_next().is_some());
    runtime.abort();
}
