//! The time bounds every AWS SDK client of the broker is built with
//! (DynamoDB, EventBridge, S3): each attempt and each operation bounded, and
//! attempts started only inside the request's deadline ([`crate::deadline`]).
//! The SDK sets no read timeout by default: a request that never answers
//! would hold the invocation until Lambda kills it, with no error for the
//! caller.

use std::time::Duration;

use aws_smithy_async::rt::sleep::{AsyncSleep, Sleep};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::timeout::TimeoutConfig;

/// Refuses to start an attempt (the first or a retry) whose whole attempt
/// timeout does not fit in the request's budget. So no attempt is ever cut
/// by Lambda's kill, a multi-operation path (the webhook's cleanup) stops
/// between operations with a clear error, and a write's outcome is never
/// left unknown by the broker's own deadline.
#[derive(Debug)]
pub struct RequestDeadline {
    pub attempt: Duration,
}

impl Intercept for RequestDeadline {
    fn name(&self) -> &'static str {
        "RequestDeadline"
    }

    fn read_before_attempt(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        Ok(crate::deadline::check(self.attempt)?)
    }
}

/// The SDK's sleeps (its backoff before a retry, and the operation timeout)
/// end at the request's deadline at the latest: a backoff never outlives the
/// budget, the attempt after it is then refused by [`RequestDeadline`], and
/// an operation is cut at the deadline rather than by Lambda's kill.
#[derive(Debug)]
pub struct DeadlineSleep;

impl AsyncSleep for DeadlineSleep {
    fn sleep(&self, duration: Duration) -> Sleep {
        let capped = crate::deadline::remaining().map_or(duration, |left| duration.min(left));
        Sleep::new(tokio::time::sleep(capped))
    }
}

/// `attempt` and `operation` as the client's timeouts; the connect timeout
/// (and anything else the SDK configuration set) stays.
pub fn timeouts(sdk: &aws_config::SdkConfig, attempt: Duration, operation: Duration) -> TimeoutConfig {
    let mut timeouts = TimeoutConfig::builder()
        .operation_attempt_timeout(attempt)
        .operation_timeout(operation)
        .build();
    if let Some(defaults) = sdk.timeout_config() {
        timeouts.take_defaults_from(defaults);
    }
    timeouts
}
