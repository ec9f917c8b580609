//! The webhook Lambda: everything it does lives in the `broker` crate.

// mimalloc: glibc's malloc and free were a fifth of each invocation's
// instructions, mimalloc's fast paths a few (see BENCHMARKS.md). Its v2
// line: v3 held 2 MiB more resident for the same work.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// One thread: a Lambda container serves one event at a time, and a
// multi-threaded scheduler only adds cross-thread wake-ups to every request.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    broker::api::lambda::run(broker::api::Function::Webhook).await
}
