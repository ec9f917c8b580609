//! One Lambda container of a broker function as a real process: exactly
//! what the function binaries' mains run (`broker::api::lambda::run`), so the
//! race tests drive the real runtime loop through a Runtime API emulator
//! (`AWS_LAMBDA_RUNTIME_API`), several processes sharing only the table.
//!
//! Usage: `broker-container oauth-callback|token-vending|webhook|reconciler`, with the
//! Lambda environment (TABLE_NAME, APP_SECRET_ID, AWS_ENDPOINT_URL, ...).

use broker::api::Function;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let name = std::env::args().nth(1).unwrap_or_default();
    let function = match name.as_str() {
        "oauth-callback" => Function::OAuthCallback,
        "token-vending" => Function::TokenVending,
        "webhook" => Function::Webhook,
        "reconciler" => Function::Reconciler,
        other => {
            return Err(
                format!("unknown function {other:?}: oauth-callback, token-vending, webhook or reconciler").into(),
            )
        }
    };
    broker::api::lambda::run(function).await
}
