//! Every verified delivery, published for the platform's services and
//! labelled with the platform accounts linked to its installation.
//!
//! At least once, never lost. The order of the steps is what makes it so:
//! 1. [`prepare`] reads, in parallel, what is recorded of the delivery and
//!    the installation's links, before the broker acts on the delivery (a
//!    deletion removes the links);
//! 2. the broker applies its own change, recording those accounts with the
//!    delivery in the same write;
//! 3. [`publish`] puts the payload in the bucket if the entry would be too
//!    large, publishes the entry, then records the publication.
//!
//! A failure at any step answers GitHub 5xx, and the redelivery does what is
//! left: the change is found applied, the accounts are read back from the
//! record (as they were when the delivery first arrived), and the entry is
//! published. Only a failure between the publication and its record
//! publishes twice, with the same delivery id, which consumers deduplicate
//! by. A redelivery of a delivery whose publication was recorded publishes
//! nothing.

use bytes::Bytes;
use serde_json::value::RawValue;

use crate::domain::forwarding::{ForwardedEvent, PayloadAt, MAX_ENTRY_BYTES};
use crate::domain::{AccountId, InstallationId};
use crate::error::{Error, Result};
use crate::App;

/// A verified delivery, as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    pub id: &'a str,
    pub event: &'a str,
    pub action: Option<&'a str>,
    pub installation: Option<InstallationId>,
    /// The body GitHub signed, verified and known to be JSON.
    pub body: &'a Bytes,
}

/// A delivery to publish, with the accounts it is labelled with.
#[derive(Debug)]
pub struct Pending {
    pub accounts: Vec<AccountId>,
    published: bool,
}

/// What [`publish`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forwarded {
    Published,
    /// An earlier attempt of this delivery published it.
    AlreadyPublished,
}

impl Forwarded {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Published => "published",
            Self::AlreadyPublished => "already published",
        }
    }
}

/// What is needed to publish `arrival` later, read before the broker acts
/// on it; `None` when it is not forwarded (no bus, or filtered out).
pub async fn prepare(app: &App, arrival: &Arrival<'_>) -> Result<Option<Pending>> {
    if app.events.is_none() || !app.config.forward_events.forwards(arrival.event) {
        return Ok(None);
    }
    let linked = async {
        match arrival.installation {
            Some(id) => Ok(app
                .store
                .links_of_installation(id)
                .await?
                .into_iter()
                .map(|(account, _)| account)
                .collect()),
            None => Ok(Vec::new()),
        }
    };
    let (state, linked) = tokio::try_join!(app.store.delivery_state(arrival.id), linked)?;
    Ok(Some(Pending {
        // The first arrival's accounts, if it recorded them: a redelivery
        // after a deletion must not lose them.
        accounts: state.accounts.unwrap_or(linked),
        published: state.published,
    }))
}

/// Publishes `arrival` (unless an earlier attempt did) and records that it
/// was published.
pub async fn publish(app: &App, arrival: &Arrival<'_>, pending: Pending) -> Result<Forwarded> {
    let Some(bus) = app.events.as_deref() else {
        return Err(Error::Internal(
            "a delivery was prepared for a bus that is not configured".into(),
        ));
    };
    if pending.published {
        return Ok(Forwarded::AlreadyPublished);
    }
    let event = ForwardedEvent {
        delivery_id: arrival.id,
        event: arrival.event,
        action: arrival.action,
        installation: arrival.installation,
        accounts: &pending.accounts,
    };
    // A body over the limit cannot fit whatever else the entry holds: it
    // goes to the bucket without being read again.
    let inline = match arrival.body.len() <= MAX_ENTRY_BYTES {
        true => {
            let raw: &RawValue = serde_json::from_slice(arrival.body)
                .map_err(|_| Error::bad_request("invalid_payload", "the webhook body is not JSON"))?;
            Some(event.detail(PayloadAt::Inline(raw))).filter(|detail| event.fits(detail))
        }
        false => None,
    };
    let (detail, stored) = match inline {
        Some(detail) => (detail, false),
        None => {
            let key = event.payload_key();
            bus.put_payload(&key, arrival.body.clone()).await?;
            let stored = PayloadAt::Stored {
                bucket: bus.payload_bucket(),
                key: &key,
            };
            (event.detail(stored), true)
        }
    };
    bus.publish(arrival.event, &detail).await?;
    tracing::info!(
        delivery = arrival.id,
        event = arrival.event,
        accounts = pending.accounts.len(),
        payload_bytes = arrival.body.len(),
        payload_in_bucket = stored,
        "delivery published"
    );
    app.store
        .mark_published(arrival.id, app.now(), &pending.accounts)
        .await?;
    Ok(Forwarded::Published)
}
