//! The webhook Lambda: everything it does lives in the `broker` crate.

// One thread: a Lambda container serves one event at a time, and a
// multi-threaded scheduler only adds cross-thread wake-ups to every request.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    broker::api::lambda::run(broker::api::Function::Webhook).await
}
