//! What the platform receives of each GitHub delivery: one EventBridge
//! entry, labelled with the platform accounts the delivery concerns. The
//! broker owns the app's only webhook URL, so every verified delivery (not
//! only the installation events it acts on) is passed on, for each team's
//! services to subscribe to their own.
//!
//! The entry's `detail` carries the payload as GitHub sent it (its bytes,
//! not a re-serialisation), or, when the entry would exceed EventBridge's
//! limit, the key of the object that holds it.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::value::RawValue;

use super::ids::{AccountId, InstallationId};

/// Every entry's `source`.
pub const SOURCE: &str = "gh-app-broker";

/// EventBridge's limit on one `PutEvents` entry, as its size is computed.
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;

/// Which events are forwarded: `FORWARD_EVENTS`, a comma-separated list of
/// event names, or `*` (the default) for all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum EventFilter {
    #[default]
    All,
    Only(BTreeSet<String>),
}

impl EventFilter {
    /// Refused: the name that is not an event name (a configuration
    /// error, at start, never an answer to a request).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() || raw == "*" {
            return Ok(Self::All);
        }
        let mut names = BTreeSet::new();
        for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') || name.len() > 100 {
                return Err(format!("{name:?} is not a GitHub event name (lowercase letters and _)"));
            }
            names.insert(name.to_owned());
        }
        Ok(Self::Only(names))
    }

    pub fn forwards(&self, event: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(names) => names.contains(event),
        }
    }
}

/// Where the entry finds the payload.
#[derive(Debug, Clone, Copy)]
pub enum PayloadAt<'a> {
    /// In `detail.payload`.
    Inline(&'a RawValue),
    /// In the payload bucket, under `detail.payload_s3_key`.
    Stored { bucket: &'a str, key: &'a str },
}

/// One delivery as the platform sees it.
#[derive(Debug, Clone, Copy)]
pub struct ForwardedEvent<'a> {
    /// GitHub's `X-GitHub-Delivery`: the same on every redelivery, so
    /// consumers deduplicate by it.
    pub delivery_id: &'a str,
    /// `X-GitHub-Event`, also the entry's `detail-type`.
    pub event: &'a str,
    pub action: Option<&'a str>,
    pub installation: Option<InstallationId>,
    /// The platform accounts linked to the installation when the delivery
    /// first arrived.
    pub accounts: &'a [AccountId],
}

#[derive(Serialize)]
struct Detail<'a> {
    delivery_id: &'a str,
    event: &'a str,
    action: Option<&'a str>,
    installation_id: Option<u64>,
    accounts: &'a [AccountId],
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_s3_bucket: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_s3_key: Option<&'a str>,
}

impl ForwardedEvent<'_> {
    /// The entry's `detail`, a JSON object.
    pub fn detail(&self, payload: PayloadAt<'_>) -> String {
        let (inline, bucket, key) = match payload {
            PayloadAt::Inline(raw) => (Some(raw), None, None),
            PayloadAt::Stored { bucket, key } => (None, Some(bucket), Some(key)),
        };
        let detail = Detail {
            delivery_id: self.delivery_id,
            event: self.event,
            action: self.action,
            installation_id: self.installation.map(|i| i.0),
            accounts: self.accounts,
            payload: inline,
            payload_s3_bucket: bucket,
            payload_s3_key: key,
        };
        serde_json::to_string(&detail).expect("a detail of strings and raw JSON serialises")
    }

    /// The entry's size as EventBridge computes it (no `Time` and no
    /// `Resources` are sent): `source`, `detail-type` and `detail` in bytes.
    pub fn entry_size(&self, detail: &str) -> usize {
        SOURCE.len() + self.event.len() + detail.len()
    }

    /// Whether `detail` fits EventBridge's limit on one entry.
    pub fn fits(&self, detail: &str) -> bool {
        self.entry_size(detail) <= MAX_ENTRY_BYTES
    }

    /// The payload's object key: one per delivery, so that a redelivery
    /// writes the same object again rather than another.
    pub fn payload_key(&self) -> String {
        format!("payloads/{}.json", self.delivery_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event<'a>(accounts: &'a [AccountId]) -> ForwardedEvent<'a> {
        ForwardedEvent {
            delivery_id: "d-1",
            event: "push",
            action: None,
            installation: Some(InstallationId(7)),
            accounts,
        }
    }

    #[test]
    fn the_detail_carries_the_payload_as_sent_and_names_the_accounts() {
        let accounts = [AccountId::parse("team-a").unwrap()];
        let payload: Box<RawValue> = serde_json::from_str(r#"{"ref":  "refs/heads/main","n":1.50}"#).unwrap();
        let detail = event(&accounts).detail(PayloadAt::Inline(&payload));
        assert_eq!(
            detail,
            r#"{"delivery_id":"d-1","event":"push","action":null,"installation_id":7,"accounts":["team-a"],"payload":{"ref":  "refs/heads/main","n":1.50}}"#
        );
        let stored = event(&[]).detail(PayloadAt::Stored {
            bucket: "b",
            key: "payloads/d-1.json",
        });
        let value: serde_json::Value = serde_json::from_str(&stored).unwrap();
        assert_eq!(value["payload_s3_key"], "payloads/d-1.json");
        assert_eq!(value["payload_s3_bucket"], "b");
        assert_eq!(value["accounts"], serde_json::json!([]));
        assert!(value.get("payload").is_none());
    }

    #[test]
    fn the_entry_size_counts_source_detail_type_and_detail() {
        let e = event(&[]);
        let limit = MAX_ENTRY_BYTES - SOURCE.len() - "push".len();
        assert!(e.fits(&"x".repeat(limit)));
        assert!(!e.fits(&"x".repeat(limit + 1)));
        // Bytes, not characters.
        assert_eq!(e.entry_size("é"), SOURCE.len() + 4 + 2);
    }

    #[test]
    fn the_filter_takes_a_list_of_event_names_or_everything() {
        assert_eq!(EventFilter::parse("").unwrap(), EventFilter::All);
        assert_eq!(EventFilter::parse(" * ").unwrap(), EventFilter::All);
        let only = EventFilter::parse("push, pull_request,").unwrap();
        assert!(only.forwards("push") && only.forwards("pull_request"));
        assert!(!only.forwards("issues") && !only.forwards("installation"));
        assert!(EventFilter::All.forwards("anything"));
        assert!(EventFilter::parse("push,Pull-Request").is_err());
    }
}
