//! Webhook deliveries: each change and the delivery's record in one write
//! transaction, which finds the record absent or does nothing.

use async_trait::async_trait;

use super::records::DeliveryItem;
use super::{connections, installations, EmbeddedStore};
use crate::clock::UnixTime;
use crate::store::{keys, retention};
use crate::store::{Applied, Deliveries, StoreResult, WritePlan};

#[async_trait]
impl Deliveries for EmbeddedStore {
    async fn apply_delivery(&self, id: &str, now: UnixTime, change: &WritePlan) -> StoreResult<Applied> {
        let key = keys::delivery(id);
        let change = change.clone();
        let sealer = self.sealer.clone();
        self.write(move |w| {
            if w.exists(&key)? {
                return Ok(Applied::Duplicate);
            }
            let applied = match &change {
                WritePlan::Upsert {
                    installation,
                    invalidate_tokens,
                    read_at,
                } => installations::upsert(w, installation, *invalidate_tokens, *read_at)?,
                WritePlan::Delete { id } => installations::delete(w, &sealer, *id, now).map(|()| Applied::Done)?,
                WritePlan::Disconnect { users } => {
                    users.iter().try_for_each(|user| connections::disconnect(w, user))?;
                    Applied::Done
                }
            };
            if applied == Applied::Gone {
                return Ok(Applied::Gone);
            }
            let record = DeliveryItem {
                done_at: now,
                expire_at: Some(retention::delivery_forgotten_after(now)),
            };
            w.put(&key, &record).map(|()| applied)
        })
        .await
    }
}
