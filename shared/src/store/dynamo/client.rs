//! The one way a DynamoDB client is built, for the functions, the local
//! runner and the tests alike: every request bounded in time, and attempts
//! started only inside the request's deadline ([`crate::aws_bounds`]).

use std::time::Duration;

use aws_config::SdkConfig;

use crate::aws_bounds::{timeouts, DeadlineSleep, RequestDeadline};

/// One DynamoDB request attempt may take this long. The SDK sets no read
/// timeout by default: a request that never answers would hold the
/// invocation until Lambda kills it, with no error for the caller.
pub const DYNAMO_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// One DynamoDB operation, the SDK's retries (3 attempts, backoff of up to
/// 1 s then 2 s) included, takes at most this long.
pub const DYNAMO_OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// The DynamoDB client of `sdk` (its retries: throttling and 5xx are retried
/// three times in all), with every request bounded in time, and attempts
/// started only inside the request's deadline.
pub(super) fn client(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(sdk)
            .timeout_config(timeouts(sdk, DYNAMO_ATTEMPT_TIMEOUT, DYNAMO_OPERATION_TIMEOUT))
            .interceptor(RequestDeadline {
                attempt: DYNAMO_ATTEMPT_TIMEOUT,
            })
            .sleep_impl(DeadlineSleep)
            .build(),
    )
}
