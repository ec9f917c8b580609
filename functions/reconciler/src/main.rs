//! The reconciler Lambda: run by its EventBridge schedule and on demand
//! (`POST /internal/reconcile`); everything it does lives in the `broker`
//! crate.

// The same allocator as the other functions (why: functions/webhook/src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// One thread: a run is one sequence of GitHub and store calls.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    broker::api::lambda::run(broker::api::Function::Reconciler).await
}
