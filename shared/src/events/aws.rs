//! Forwarded deliveries on AWS: one `PutEvents` entry per delivery on the
//! stack's bus, and payloads over the entry limit written to its bucket
//! first (encrypted and expired by the bucket's own configuration).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use bytes::Bytes;

use super::{EventBus, EventsError};
use crate::aws_bounds::{timeouts, DeadlineSleep, RequestDeadline};
use crate::domain::forwarding::SOURCE;

/// One `PutEvents` attempt; the SDK retries throttling and 5xx.
const PUT_EVENTS_ATTEMPT: Duration = Duration::from_secs(2);
const PUT_EVENTS_OPERATION: Duration = Duration::from_secs(5);
/// One `PutObject` attempt of up to 25 MB: at S3's rate from Lambda
/// (well over 50 MB/s) it takes a fraction of this.
const PUT_OBJECT_ATTEMPT: Duration = Duration::from_secs(4);
const PUT_OBJECT_OPERATION: Duration = Duration::from_secs(6);

pub struct EventBridgeBus {
    events: aws_sdk_eventbridge::Client,
    s3: aws_sdk_s3::Client,
    bus: String,
    bucket: String,
}

impl EventBridgeBus {
    pub fn new(sdk: &aws_config::SdkConfig, bus: &str, bucket: &str) -> Self {
        let events = aws_sdk_eventbridge::config::Builder::from(sdk)
            .timeout_config(timeouts(sdk, PUT_EVENTS_ATTEMPT, PUT_EVENTS_OPERATION))
            .interceptor(RequestDeadline {
                attempt: PUT_EVENTS_ATTEMPT,
            })
            .sleep_impl(DeadlineSleep)
            .build();
        let s3 = aws_sdk_s3::config::Builder::from(sdk)
            .timeout_config(timeouts(sdk, PUT_OBJECT_ATTEMPT, PUT_OBJECT_OPERATION))
            .interceptor(RequestDeadline {
                attempt: PUT_OBJECT_ATTEMPT,
            })
            .sleep_impl(DeadlineSleep)
            // A custom endpoint (moto in the tests) has no bucket
            // subdomains; AWS itself is addressed by virtual host.
            .force_path_style(sdk.endpoint_url().is_some())
            .build();
        Self {
            events: aws_sdk_eventbridge::Client::from_conf(events),
            s3: aws_sdk_s3::Client::from_conf(s3),
            bus: bus.to_owned(),
            bucket: bucket.to_owned(),
        }
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    fn payload_bucket(&self) -> &str {
        &self.bucket
    }

    async fn put_payload(&self, key: &str, body: Bytes) -> Result<(), EventsError> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(body.into())
            .send()
            .await
            .map_err(|e| EventsError::Payload(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }

    async fn publish(&self, detail_type: &str, detail: &str) -> Result<(), EventsError> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(detail_type)
            .detail(detail)
            .build();
        let answer =
            self.events.put_events().entries(entry).send().await.map_err(|e| {
                EventsError::Unreachable(aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string())
            })?;
        // PutEvents answers 200 with the entries it could not take marked.
        if answer.failed_entry_count() > 0 {
            let failed = answer.entries().first();
            return Err(EventsError::Refused(format!(
                "{}: {}",
                failed.and_then(|e| e.error_code()).unwrap_or("unknown"),
                failed.and_then(|e| e.error_message()).unwrap_or("no message"),
            )));
        }
        Ok(())
    }
}
