//! Webhook delivery records: a claim with a lease, then done.

use async_trait::async_trait;

use super::{keys, n, s, DynamoStore};
use crate::clock::UnixTime;
use crate::store::{Claim, Deliveries, StoreResult};

/// GitHub lets deliveries be redelivered for a few days; remember them longer.
const REMEMBER_FOR: i64 = 30 * 24 * 3600;

#[async_trait]
impl Deliveries for DynamoStore {
    async fn claim_delivery(&self, id: &str, now: UnixTime, lease_until: UnixTime) -> StoreResult<Claim> {
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(keys::delivery(id)))
            .item("delivery_status", s("processing"))
            .item("lease_until", n(lease_until))
            .item("expire_at", n(now + REMEMBER_FOR))
            // A claim whose holder died (lease run out) may be taken over.
            .condition_expression("attribute_not_exists(pk) OR (delivery_status = :processing AND lease_until < :now)")
            .expression_attribute_values(":processing", s("processing"))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        Ok(if super::conditional(written)?.is_some() {
            Claim::Claimed
        } else {
            Claim::Duplicate
        })
    }

    async fn finish_delivery(&self, id: &str, now: UnixTime) -> StoreResult<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::delivery(id)))
            .update_expression("SET delivery_status = :done, done_at = :now REMOVE lease_until")
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":now", n(now))
            .send()
            .await
            .map_err(super::backend)?;
        Ok(())
    }

    async fn release_delivery(&self, id: &str) -> StoreResult<()> {
        super::conditional(
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(keys::delivery(id)))
                .condition_expression("delivery_status = :processing")
                .expression_attribute_values(":processing", s("processing"))
                .send()
                .await,
        )?;
        Ok(())
    }
}
