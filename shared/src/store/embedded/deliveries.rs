//! Webhook delivery records: a claim with a lease, then done.

use async_trait::async_trait;

use super::records::{DeliveryItem, DeliveryStatus};
use super::{keys, EmbeddedStore};
use crate::clock::UnixTime;
use crate::store::{Claim, Deliveries, StoreResult};

/// GitHub lets deliveries be redelivered for a few days; remember them longer.
const REMEMBER_FOR: i64 = 30 * 24 * 3600;

#[async_trait]
impl Deliveries for EmbeddedStore {
    async fn claim_delivery(&self, id: &str, now: UnixTime, lease_until: UnixTime) -> StoreResult<Claim> {
        let key = keys::delivery(id);
        self.write(move |w| {
            // Unknown, or a claim whose holder died (its lease ran out).
            let claimable = match w.get::<DeliveryItem>(&key)? {
                None => true,
                Some(d) => d.delivery_status == DeliveryStatus::Processing && d.lease_until.is_some_and(|l| l < now),
            };
            if !claimable {
                return Ok(Claim::Duplicate);
            }
            let claim = DeliveryItem {
                delivery_status: DeliveryStatus::Processing,
                lease_until: Some(lease_until),
                done_at: None,
                expire_at: Some(now + REMEMBER_FOR),
            };
            w.put(&key, &claim).map(|()| Claim::Claimed)
        })
        .await
    }

    async fn finish_delivery(&self, id: &str, now: UnixTime) -> StoreResult<()> {
        let key = keys::delivery(id);
        self.write(move |w| {
            // Unconditional, like the DynamoDB `UpdateItem`: it creates the
            // record if there is none (and then without an `expire_at`).
            let expire_at = w.get::<DeliveryItem>(&key)?.and_then(|d| d.expire_at);
            let done = DeliveryItem {
                delivery_status: DeliveryStatus::Done,
                lease_until: None,
                done_at: Some(now),
                expire_at,
            };
            w.put(&key, &done)
        })
        .await
    }

    async fn release_delivery(&self, id: &str) -> StoreResult<()> {
        let key = keys::delivery(id);
        self.write(move |w| {
            let processing = w
                .get::<DeliveryItem>(&key)?
                .is_some_and(|d| d.delivery_status == DeliveryStatus::Processing);
            if processing {
                w.delete(&key)?;
            }
            Ok(())
        })
        .await
    }
}
