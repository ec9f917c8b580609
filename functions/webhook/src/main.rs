//! The webhook Lambda: everything it does lives in the `broker` crate.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    broker::api::lambda::run(broker::api::Function::Webhook).await
}
