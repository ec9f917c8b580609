//! The local runner's bus: the latest entries in memory, and a broadcast
//! for the page that shows them as they arrive. Payloads over the entry
//! limit are kept in memory too, the latest few only.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use serde::Serialize;
use tokio::sync::broadcast;

use super::{EventBus, EventsError};
use crate::domain::forwarding::SOURCE;

/// Entries kept for a page that opens later.
const KEPT_EVENTS: usize = 100;
/// Large payloads kept (each up to 25 MB).
const KEPT_PAYLOADS: usize = 8;

/// One published entry, as the local page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct LocalEvent {
    /// The order of publication, from 1.
    pub seq: u64,
    pub source: &'static str,
    pub detail_type: String,
    pub detail: serde_json::Value,
}

pub struct LocalBus {
    events: Mutex<(u64, VecDeque<LocalEvent>)>,
    payloads: Mutex<VecDeque<(String, Bytes)>>,
    live: broadcast::Sender<LocalEvent>,
}

impl Default for LocalBus {
    fn default() -> Self {
        Self {
            events: Mutex::new((0, VecDeque::new())),
            payloads: Mutex::new(VecDeque::new()),
            live: broadcast::channel(KEPT_EVENTS).0,
        }
    }
}

impl LocalBus {
    /// The latest entries, oldest first.
    pub fn recent(&self) -> Vec<LocalEvent> {
        lock(&self.events).1.iter().cloned().collect()
    }

    /// Each entry from now on, as it is published.
    pub fn subscribe(&self) -> broadcast::Receiver<LocalEvent> {
        self.live.subscribe()
    }

    /// A stored payload, while it is among the latest kept.
    pub fn payload(&self, key: &str) -> Option<Bytes> {
        lock(&self.payloads)
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, body)| body.clone())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each update is one push or pop: a panic cannot leave it half done.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[async_trait]
impl EventBus for LocalBus {
    fn payload_bucket(&self) -> &str {
        "local"
    }

    async fn put_payload(&self, key: &str, body: Bytes) -> Result<(), EventsError> {
        let mut payloads = lock(&self.payloads);
        payloads.retain(|(k, _)| k != key);
        if payloads.len() == KEPT_PAYLOADS {
            payloads.pop_front();
        }
        payloads.push_back((key.to_owned(), body));
        Ok(())
    }

    async fn publish(&self, detail_type: &str, detail: &str) -> Result<(), EventsError> {
        let detail = serde_json::from_str(detail).map_err(|e| EventsError::Refused(format!("detail: {e}")))?;
        let event = {
            let mut events = lock(&self.events);
            events.0 += 1;
            let event = LocalEvent {
                seq: events.0,
                source: SOURCE,
                detail_type: detail_type.to_owned(),
                detail,
            };
            if events.1.len() == KEPT_EVENTS {
                events.1.pop_front();
            }
            events.1.push_back(event.clone());
            event
        };
        // No page watching is not an error.
        let _ = self.live.send(event);
        Ok(())
    }

    fn local(&self) -> Option<&LocalBus> {
        Some(self)
    }
}
