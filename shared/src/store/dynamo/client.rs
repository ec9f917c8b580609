//! The one way a DynamoDB client is built, for the functions, the local
//! runner and the tests alike: every request bounded in time, and attempts
//! started only inside the request's deadline ([`crate::deadline`]).

use std::time::Duration;

use aws_config::SdkConfig;

/// One DynamoDB request attempt may take this long. The SDK sets no read
/// timeout by default: a request that never answers would hold the
/// invocation until Lambda kills it, with no error for the caller.
pub const DYNAMO_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// One DynamoDB operation, the SDK's retries (3 attempts, backoff of up to
/// 1 s then 2 s) included, takes at most this long.
pub const DYNAMO_OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// Refuses to start a DynamoDB attempt (the first or a retry) whose whole
/// attempt timeout does not fit in the request's budget ([`crate::deadline`]).
/// So no attempt is ever cut by Lambda's kill, a multi-operation path (the
/// webhook's cleanup) stops between operations with a clear error, and a
/// write's outcome is never left unknown by the broker's own deadline.
#[derive(Debug)]
struct RequestDeadline;

impl aws_sdk_dynamodb::config::Intercept for RequestDeadline {
    fn name(&self) -> &'static str {
        "RequestDeadline"
    }

    fn read_before_attempt(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        Ok(crate::deadline::check(DYNAMO_ATTEMPT_TIMEOUT)?)
    }
}

/// The SDK's sleeps (its backoff before a retry, and the operation timeout)
/// end at the request's deadline at the latest: a backoff never outlives the
/// budget, the attempt after it is then refused by [`RequestDeadline`], and
/// an operation is cut at the deadline rather than by Lambda's kill.
#[derive(Debug)]
struct DeadlineSleep;

impl aws_sdk_dynamodb::config::AsyncSleep for DeadlineSleep {
    fn sleep(&self, duration: Duration) -> aws_sdk_dynamodb::config::Sleep {
        let capped = crate::deadline::remaining().map_or(duration, |left| duration.min(left));
        aws_sdk_dynamodb::config::Sleep::new(tokio::time::sleep(capped))
    }
}

/// The DynamoDB client of `sdk` (its retries: throttling and 5xx are retried
/// three times in all), with every request bounded in time, and attempts
/// started only inside the request's deadline.
pub(super) fn client(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let mut timeouts = aws_config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(DYNAMO_ATTEMPT_TIMEOUT)
        .operation_timeout(DYNAMO_OPERATION_TIMEOUT)
        .build();
    // The SDK's connect timeout (and anything else the caller set) stays.
    if let Some(defaults) = sdk.timeout_config() {
        timeouts.take_defaults_from(defaults);
    }
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(sdk)
            .timeout_config(timeouts)
            .interceptor(RequestDeadline)
            .sleep_impl(DeadlineSleep)
            .build(),
    )
}
