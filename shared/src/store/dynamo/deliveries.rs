//! Webhook deliveries: each change is written in one transaction with the
//! delivery's record, conditional on the record not existing yet.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};

use super::connections::CONNECTED;
use super::installations::{record_update, tombstone, NOT_DELETED};
use super::{keys, n, s, transaction_condition_failed, transaction_error, DynamoStore};
use crate::clock::UnixTime;
use crate::domain::UserId;
use crate::store::{Applied, Change, Deliveries, StoreError, StoreResult};

/// GitHub lets deliveries be redelivered for a few days; remember them longer.
const REMEMBER_FOR: i64 = 30 * 24 * 3600;

/// Items a change writes per transaction, the delivery's record aside.
/// DynamoDB allows 100; 25 keeps each transaction short (fewer conflicts,
/// well inside the 2 s attempt timeout) and only a revocation of many
/// platform users' connections ever needs more than one.
const MAX_CHANGE_ITEMS: usize = 24;

/// Whether the item at `index` failed its condition on a record whose
/// `applied_by` is ours.
fn written_by<R>(
    err: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
    index: usize,
    applied_by: &str,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    match err.as_service_error() {
        Some(E::TransactionCanceledException(e)) => {
            e.cancellation_reasons()
                .get(index)
                .and_then(|r| r.item())
                .and_then(|item| super::get_s(item, "applied_by"))
                == Some(applied_by)
        }
        _ => false,
    }
}

impl DynamoStore {
    /// The change's writes, the first one conditional on the installation
    /// (for an upsert or a rename).
    fn change_items(&self, change: &Change, now: UnixTime) -> StoreResult<Vec<TransactWriteItem>> {
        Ok(match change {
            Change::Upsert {
                installation,
                invalidate_tokens,
            } => vec![record_update(installation, *invalidate_tokens)?.in_transaction(
                &self.table,
                keys::installation(installation.id),
                NOT_DELETED,
            )?],
            Change::Rename { id, login } => {
                let mut u = super::expr::UpdateExpr::default();
                u.set("account_login", Some(s(login)));
                vec![u.in_transaction(
                    &self.table,
                    keys::installation(*id),
                    &format!("attribute_exists(pk) AND {NOT_DELETED}"),
                )?]
            }
            // The tombstone first: from here on no link can be written.
            Change::Delete { id } => vec![TransactWriteItem::builder()
                .put(super::build(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(tombstone(*id, now)))
                        .build(),
                )?)
                .build()],
            Change::Disconnect { users } => self.disconnect_items(users)?,
        })
    }

    /// `applied_by` tells our own write from another's when the SDK retries
    /// one whose answer was lost: the retry fails on the record the first
    /// attempt wrote, and the cancellation hands that record back.
    fn delivery_record(&self, id: &str, now: UnixTime, applied_by: &str) -> StoreResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(keys::delivery(id)))
            .item("delivery_status", s("done"))
            .item("done_at", n(now))
            .item("applied_by", s(applied_by))
            .item("expire_at", n(now + REMEMBER_FOR))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        Ok(TransactWriteItem::builder().put(super::build(put.build())?).build())
    }

    /// Sends the transaction. `Err(indexes)`: the conditions of these items
    /// failed, and nothing was written; but a delivery record that is
    /// `applied_by` us means our own earlier attempt did write it all.
    async fn transact_delivery(
        &self,
        items: Vec<TransactWriteItem>,
        applied_by: &str,
    ) -> StoreResult<Result<(), Vec<usize>>> {
        let count = items.len();
        match self.transact(items).await {
            Ok(_) => Ok(Ok(())),
            Err(e) if written_by(&e, count - 1, applied_by) => Ok(Ok(())),
            Err(e) => {
                let failed: Vec<usize> = (0..count).filter(|i| transaction_condition_failed(&e, *i)).collect();
                if failed.is_empty() {
                    Err(transaction_error(e))
                } else {
                    Ok(Err(failed))
                }
            }
        }
    }

    fn disconnect_items(&self, users: &[UserId]) -> StoreResult<Vec<TransactWriteItem>> {
        users
            .iter()
            .map(|user| {
                let (key, u) = self.disconnect(user);
                u.in_transaction(&self.table, key, CONNECTED)
            })
            .collect()
    }

    async fn delivery_recorded(&self, id: &str) -> StoreResult<bool> {
        Ok(self.get(keys::delivery(id)).await?.is_some())
    }

    /// Disconnects `users` (at most 25) in one transaction, those with no
    /// connection left out.
    async fn disconnect_unrecorded(&self, mut users: Vec<UserId>) -> StoreResult<()> {
        while !users.is_empty() {
            let Err(e) = self.transact(self.disconnect_items(&users)?).await else {
                return Ok(());
            };
            let failed: Vec<usize> = (0..users.len())
                .filter(|i| transaction_condition_failed(&e, *i))
                .collect();
            if failed.is_empty() {
                return Err(transaction_error(e));
            }
            users = without(users, &failed);
        }
        Ok(())
    }

    async fn apply_once(&self, id: &str, now: UnixTime, change: &Change) -> StoreResult<Applied> {
        let applied_by = crate::crypto::random::token_urlsafe();
        let mut change = std::borrow::Cow::Borrowed(change);
        // Only a revocation of more than 24 platform users' connections
        // needs more than one transaction: all but the last 24 are written
        // without the delivery (a disconnect is idempotent, so a redelivery
        // after a failure between them does no harm). A delivery already
        // recorded is not replayed: a user who connected again since keeps
        // the new connection.
        if let Change::Disconnect { users } = change.as_ref() {
            if users.len() > MAX_CHANGE_ITEMS {
                if self.delivery_recorded(id).await? {
                    return Ok(Applied::Duplicate);
                }
                let (first, last) = users.split_at(users.len() - MAX_CHANGE_ITEMS);
                for chunk in first.chunks(MAX_CHANGE_ITEMS + 1) {
                    self.disconnect_unrecorded(chunk.to_vec()).await?;
                }
                change = std::borrow::Cow::Owned(Change::Disconnect { users: last.to_vec() });
            }
        }
        loop {
            let mut items = self.change_items(&change, now)?;
            let delivery = items.len();
            items.push(self.delivery_record(id, now, &applied_by)?);
            let failed = match self.transact_delivery(items, &applied_by).await? {
                Ok(()) => return Ok(Applied::Done),
                Err(failed) => failed,
            };
            if failed.contains(&delivery) {
                return Ok(Applied::Duplicate);
            }
            match change.as_ref() {
                Change::Upsert { .. } | Change::Rename { .. } => return Ok(Applied::Gone),
                // A user with no connection item has nothing to disconnect:
                // the others are, without it.
                Change::Disconnect { users } => {
                    change = std::borrow::Cow::Owned(Change::Disconnect {
                        users: without(users.clone(), &failed),
                    });
                }
                Change::Delete { .. } => {
                    return Err(StoreError::Backend("an unconditional tombstone was refused".into()))
                }
            }
        }
    }
}

#[async_trait]
impl Deliveries for DynamoStore {
    async fn apply_delivery(&self, id: &str, now: UnixTime, change: &Change) -> StoreResult<Applied> {
        let applied = self.apply_once(id, now, change).await?;
        match (change, applied) {
            // The links and tokens of the tombstoned installation go now;
            // a redelivery after a failure here finishes the job.
            (Change::Delete { id }, Applied::Done | Applied::Duplicate) => self.sweep_deleted(*id).await?,
            // An event for a deleted installation: a cleanup left
            // unfinished by the deletion's delivery is finished here.
            (Change::Upsert { installation, .. }, Applied::Gone) => self.finish_deletion(installation.id).await,
            _ => {}
        }
        Ok(applied)
    }
}

/// `users` less those at the `failed` indexes.
fn without(users: Vec<UserId>, failed: &[usize]) -> Vec<UserId> {
    users
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !failed.contains(i))
        .map(|(_, u)| u)
        .collect()
}
