//! The platform's side of forwarded deliveries, in moto: an EventBridge bus
//! and a payload bucket for the broker to publish to, and a rule on the bus
//! that delivers to an SQS queue the test reads, as a team's service would
//! subscribe (docs/events.md).

use aws_config::SdkConfig;
use broker::config::EventsBackend;
use serde_json::{json, Value};

pub struct PlatformBus {
    pub bus: String,
    pub bucket: String,
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
}

impl PlatformBus {
    /// A bus whose rule takes every entry the broker publishes.
    pub async fn create(sdk: &SdkConfig) -> Self {
        Self::with_rule(sdk, json!({"source": ["gh-app-broker"]})).await
    }

    /// A bus whose one rule, `pattern`, delivers to the queue.
    pub async fn with_rule(sdk: &SdkConfig, pattern: Value) -> Self {
        let events = aws_sdk_eventbridge::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
        let bus = super::app::unique("github");
        let bucket = super::app::unique("payloads");
        events.create_event_bus().name(&bus).send().await.expect("create bus");
        s3.create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                    .build(),
            )
            .send()
            .await
            .expect("create bucket");
        let queue_url = sqs
            .create_queue()
            .queue_name(super::app::unique("team-events"))
            .send()
            .await
            .expect("create queue")
            .queue_url
            .expect("queue url");
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn).cloned())
            .expect("queue arn");
        events
            .put_rule()
            .name("team-events")
            .event_bus_name(&bus)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .expect("put rule");
        events
            .put_targets()
            .rule("team-events")
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(queue_arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("put targets");
        Self {
            bus,
            bucket,
            queue_url,
            sqs,
            s3,
        }
    }

    /// The broker's configuration for publishing here.
    pub fn backend(&self) -> EventsBackend {
        EventsBackend::EventBridge {
            bus: self.bus.clone(),
            payload_bucket: self.bucket.clone(),
        }
    }

    /// Every event the rule delivered since the last call, in order: each
    /// the whole EventBridge event (`source`, `detail-type`, `detail`…).
    /// moto delivers during `PutEvents`, so nothing is still on its way.
    pub async fn received(&self) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let answer = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            let messages = answer.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for message in messages {
                out.push(serde_json::from_str(message.body().expect("a body")).expect("a JSON event"));
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(message.receipt_handle().expect("a receipt handle"))
                    .send()
                    .await
                    .expect("delete message");
            }
        }
    }

    /// A payload the broker stored in the bucket.
    pub async fn object(&self, key: &str) -> Vec<u8> {
        let object = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("object {key}: {e:?}"));
        object.body.collect().await.expect("object body").into_bytes().to_vec()
    }
}
