//! Webhook delivery records: a claim with an owned lease, then done.

use async_trait::async_trait;

use super::records::{DeliveryItem, DeliveryStatus};
use super::{keys, EmbeddedStore};
use crate::clock::UnixTime;
use crate::store::{Claim, Deliveries, Lease, StoreResult};

/// GitHub lets deliveries be redelivered for a few days; remember them longer.
const REMEMBER_FOR: i64 = 30 * 24 * 3600;

/// Only the claim's holder may finish or release it: a holder whose lease
/// ran out must not mark done (or delete) a later claimer's work.
fn held_by(d: &DeliveryItem, lease: &Lease) -> bool {
    d.delivery_status == DeliveryStatus::Processing && d.lease_owner.as_deref() == Some(lease.owner.as_str())
}

#[async_trait]
impl Deliveries for EmbeddedStore {
    async fn claim_delivery(&self, id: &str, lease: &Lease) -> StoreResult<Claim> {
        let key = keys::delivery(id);
        let lease = lease.clone();
        self.write(move |w| {
            // Unknown, or a claim whose holder died (its lease ran out).
            let claimable = match w.get::<DeliveryItem>(&key)? {
                None => true,
                Some(d) => {
                    d.delivery_status == DeliveryStatus::Processing && d.lease_until.is_some_and(|l| l < lease.now)
                }
            };
            if !claimable {
                return Ok(Claim::Duplicate);
            }
            let claim = DeliveryItem {
                delivery_status: DeliveryStatus::Processing,
                lease_owner: Some(lease.owner),
                lease_until: Some(lease.until),
                done_at: None,
                expire_at: Some(lease.now + REMEMBER_FOR),
            };
            w.put(&key, &claim).map(|()| Claim::Claimed)
        })
        .await
    }

    async fn finish_delivery(&self, id: &str, lease: &Lease, now: UnixTime) -> StoreResult<bool> {
        let key = keys::delivery(id);
        let lease = lease.clone();
        self.write(move |w| {
            let Some(claim) = w.get::<DeliveryItem>(&key)?.filter(|d| held_by(d, &lease)) else {
                return Ok(false);
            };
            let done = DeliveryItem {
                delivery_status: DeliveryStatus::Done,
                lease_owner: None,
                lease_until: None,
                done_at: Some(now),
                expire_at: claim.expire_at,
            };
            w.put(&key, &done).map(|()| true)
        })
        .await
    }

    async fn release_delivery(&self, id: &str, lease: &Lease) -> StoreResult<()> {
        let key = keys::delivery(id);
        let lease = lease.clone();
        self.write(move |w| {
            if w.get::<DeliveryItem>(&key)?.is_some_and(|d| held_by(&d, &lease)) {
                w.delete(&key)?;
            }
            Ok(())
        })
        .await
    }
}
