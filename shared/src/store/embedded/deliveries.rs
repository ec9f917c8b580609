//! Webhook deliveries: each change and the delivery's record in one write
//! transaction, which finds the record absent or does nothing.

use async_trait::async_trait;

use super::records::DeliveryItem;
use super::{connections, installations, EmbeddedStore};
use crate::clock::UnixTime;
use crate::domain::AccountId;
use crate::store::{keys, retention};
use crate::store::{recorded_accounts, Applied, Deliveries, DeliveryState, StoreResult, WritePlan};

#[async_trait]
impl Deliveries for EmbeddedStore {
    async fn apply_delivery(
        &self,
        id: &str,
        now: UnixTime,
        change: &WritePlan,
        accounts: Option<&[AccountId]>,
    ) -> StoreResult<Applied> {
        let key = keys::delivery(id);
        let change = change.clone();
        let accounts = accounts.map(names);
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
                done_at: Some(now),
                expire_at: Some(retention::delivery_forgotten_after(now)),
                accounts,
                published_at: None,
            };
            w.put(&key, &record).map(|()| applied)
        })
        .await
    }

    async fn delivery_state(&self, id: &str) -> StoreResult<DeliveryState> {
        let key = keys::delivery(id);
        let Some(item) = self.read(move |r| r.get::<DeliveryItem>(&key)).await? else {
            return Ok(DeliveryState::default());
        };
        let accounts = match &item.accounts {
            None => None,
            Some(names) => Some(recorded_accounts(names.iter().map(|a| Some(a.as_str())))?),
        };
        Ok(DeliveryState {
            accounts,
            published: item.published_at.is_some(),
            recorded: true,
        })
    }

    async fn mark_published(&self, id: &str, now: UnixTime, accounts: &[AccountId]) -> StoreResult<()> {
        let key = keys::delivery(id);
        let accounts = names(accounts);
        self.write(move |w| {
            let mut item = w.get::<DeliveryItem>(&key)?.unwrap_or_default();
            item.published_at = Some(now);
            item.accounts.get_or_insert(accounts);
            item.expire_at.get_or_insert(retention::delivery_forgotten_after(now));
            w.put(&key, &item)
        })
        .await
    }
}

fn names(accounts: &[AccountId]) -> Vec<String> {
    accounts.iter().map(|a| a.as_str().to_owned()).collect()
}
