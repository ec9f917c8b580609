//! The events port: where forwarded deliveries are published for the
//! platform's services ([`crate::domain::forwarding`] says what an entry
//! holds). On AWS an EventBridge bus, with an S3 bucket for payloads over
//! the entry limit ([`aws::EventBridgeBus`]); in the local runner an
//! in-process bus its page watches ([`local::LocalBus`]). Unconfigured,
//! nothing is published.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::config::{Config, EventsBackend};

pub mod aws;
pub mod local;

pub use local::{LocalBus, LocalEvent};

/// Why a publication failed; the delivery is then answered 5xx, so that
/// GitHub shows it failed and its redelivery publishes it.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// The bus refused the entry (`PutEvents` reported it failed).
    #[error("the event bus refused the entry: {0}")]
    Refused(String),
    #[error("the event bus could not be reached: {0}")]
    Unreachable(String),
    #[error("the payload could not be stored: {0}")]
    Payload(String),
}

#[async_trait]
pub trait EventBus: Send + Sync {
    /// Where payloads too large for an entry are kept: named in the entry,
    /// for consumers.
    fn payload_bucket(&self) -> &str;

    /// Stores `body` under `key`, replacing whatever an earlier attempt of
    /// the same delivery stored there.
    async fn put_payload(&self, key: &str, body: Bytes) -> Result<(), EventsError>;

    /// Publishes one entry: `source` [`crate::domain::forwarding::SOURCE`],
    /// `detail-type` and `detail` as given.
    async fn publish(&self, detail_type: &str, detail: &str) -> Result<(), EventsError>;

    /// The in-process bus, for the local runner's page to watch.
    fn local(&self) -> Option<&LocalBus> {
        None
    }
}

/// The bus the configuration names, if any.
pub fn open(config: &Config, sdk: &aws_config::SdkConfig) -> Option<Arc<dyn EventBus>> {
    Some(match config.events.as_ref()? {
        EventsBackend::EventBridge { bus, payload_bucket } => {
            Arc::new(aws::EventBridgeBus::new(sdk, bus, payload_bucket))
        }
        EventsBackend::InProcess => Arc::new(LocalBus::default()),
    })
}
