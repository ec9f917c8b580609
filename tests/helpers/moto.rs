//! One moto server per test binary: the DynamoDB and Secrets Manager
//! endpoint every test talks to over HTTP. It is started from the venv that
//! `scripts/test-tools` fills, on a free port, and dies with the test binary.

use std::path::PathBuf;
use std::sync::OnceLock;

static ENDPOINT: OnceLock<String> = OnceLock::new();
static RECORDER: OnceLock<dynamo_proxy::DynamoProxy> = OnceLock::new();

/// The proxy in front of moto that every broker container of the test
/// binary reaches AWS through (`{url}/fn/{function}`): it records what AWS
/// would have to authorize for each function (see `tests/iam.rs`).
pub fn recorder() -> &'static dynamo_proxy::DynamoProxy {
    RECORDER.get_or_init(|| dynamo_proxy::DynamoProxy::start(&endpoint()).expect("the recording proxy starts"))
}

/// `BROKER_TEST_AWS_ENDPOINT` points the tests at an already running server.
pub fn endpoint() -> String {
    ENDPOINT
        .get_or_init(|| std::env::var("BROKER_TEST_AWS_ENDPOINT").unwrap_or_else(|_| start()))
        .clone()
}

fn start() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    dynamo_proxy::moto::start_for_process(&root).expect("moto server starts")
}
