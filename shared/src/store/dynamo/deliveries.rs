//! Webhook delivery records: a claim with an owned lease, then done.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::{keys, n, s, DynamoStore};
use crate::clock::UnixTime;
use crate::store::{Claim, Deliveries, Lease, StoreResult};

/// GitHub lets deliveries be redelivered for a few days; remember them longer.
const REMEMBER_FOR: i64 = 30 * 24 * 3600;

/// Only the claim's holder may finish or release it: a holder whose lease
/// ran out must not mark done (or delete) a later claimer's work.
const HELD_BY: &str = "delivery_status = :processing AND lease_owner = :owner";

#[async_trait]
impl Deliveries for DynamoStore {
    async fn claim_delivery(&self, id: &str, lease: &Lease) -> StoreResult<Claim> {
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(keys::delivery(id)))
            .item("delivery_status", s("processing"))
            .item("lease_owner", s(&lease.owner))
            .item("lease_until", n(lease.until))
            .item("expire_at", n(lease.now + REMEMBER_FOR))
            // A claim whose holder died (lease run out) may be taken over.
            .condition_expression("attribute_not_exists(pk) OR (delivery_status = :processing AND lease_until < :now)")
            .expression_attribute_values(":processing", s("processing"))
            .expression_attribute_values(":now", n(lease.now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let taken = super::lease_taken(written, &lease.owner, |e| match e {
            PutItemError::ConditionalCheckFailedException(c) => c.item(),
            _ => None,
        })?;
        Ok(if taken { Claim::Claimed } else { Claim::Duplicate })
    }

    async fn finish_delivery(&self, id: &str, lease: &Lease, now: UnixTime) -> StoreResult<bool> {
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::delivery(id)))
            .update_expression("SET delivery_status = :done, done_at = :now REMOVE lease_until, lease_owner")
            .condition_expression(HELD_BY)
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":processing", s("processing"))
            .expression_attribute_values(":owner", s(&lease.owner))
            .send()
            .await;
        Ok(super::conditional(written)?.is_some())
    }

    async fn release_delivery(&self, id: &str, lease: &Lease) -> StoreResult<()> {
        super::conditional(
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(keys::delivery(id)))
                .condition_expression(HELD_BY)
                .expression_attribute_values(":processing", s("processing"))
                .expression_attribute_values(":owner", s(&lease.owner))
                .send()
                .await,
        )?;
        Ok(())
    }
}
