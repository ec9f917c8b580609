//! Webhook deliveries: each change is written in one transaction with the
//! delivery's record, conditional on the record not existing yet.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};

use super::connections::CONNECTED;
use super::expr::UpdateExpr;
use super::installations::{epoch_bump, record_update, tombstone, NEWER_READ, NOT_DELETED};
use super::{keys, n, s, transaction_condition_failed, transaction_error, DynamoStore};
use crate::clock::UnixTime;
use crate::domain::{AccountId, UserId};
use crate::store::{
    recorded_accounts, retention, Applied, Deliveries, DeliveryState, StoreError, StoreResult, WritePlan,
};

/// Items a change writes per transaction, the delivery's record aside.
/// DynamoDB allows 100; 25 keeps each transaction short (fewer conflicts,
/// well inside the 2 s attempt timeout) and only a revocation of many
/// platform users' connections ever needs more than one.
const MAX_CHANGE_ITEMS: usize = 24;

/// Whether the first item failed its condition on a tombstone (the old item
/// it handed back has `deleted_at`).
fn failed_on_tombstone<R>(
    err: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    match err.as_service_error() {
        Some(E::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .first()
            .and_then(|r| r.item())
            .is_some_and(|item| item.contains_key("deleted_at")),
        _ => false,
    }
}

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
    /// (for an upsert). A `stale` upsert keeps the record as it is and only
    /// invalidates the tokens, if asked.
    fn change_items(&self, change: &WritePlan, now: UnixTime, stale: bool) -> StoreResult<Vec<TransactWriteItem>> {
        Ok(match change {
            WritePlan::Upsert {
                installation,
                invalidate_tokens,
                ..
            } if stale => match invalidate_tokens {
                true => {
                    vec![epoch_bump().in_transaction(&self.table, keys::installation(installation.id), NOT_DELETED)?]
                }
                false => Vec::new(),
            },
            WritePlan::Upsert {
                installation,
                invalidate_tokens,
                read_at,
            } => vec![
                record_update(installation, *invalidate_tokens, *read_at)?.in_transaction_returning_old(
                    &self.table,
                    keys::installation(installation.id),
                    NEWER_READ,
                )?,
            ],
            // The tombstone first: from here on no link can be written.
            WritePlan::Delete { id } => vec![TransactWriteItem::builder()
                .put(super::build(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(tombstone(*id, now)))
                        .build(),
                )?)
                .build()],
            WritePlan::Disconnect { users } => self.disconnect_items(users)?,
        })
    }

    /// `applied_by` tells our own write from another's when the SDK retries
    /// one whose answer was lost: the retry fails on the record the first
    /// attempt wrote, and the cancellation hands that record back.
    fn delivery_record(
        &self,
        id: &str,
        now: UnixTime,
        applied_by: &str,
        accounts: Option<&[AccountId]>,
    ) -> StoreResult<TransactWriteItem> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(keys::delivery(id)))
            .item("delivery_status", s("done"))
            .item("done_at", n(now))
            .item("applied_by", s(applied_by))
            .item("expire_at", n(retention::delivery_forgotten_after(now)));
        if let Some(accounts) = accounts {
            put = put.item("accounts", account_list(accounts));
        }
        let put = put
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        Ok(TransactWriteItem::builder().put(super::build(put.build())?).build())
    }

    /// Sends the transaction. `Err(indexes)`: the conditions of these items
    /// failed, and nothing was written; but a delivery record that is
    /// `applied_by` us means our own earlier attempt did write it all. The
    /// second value: whether the first item failed on a tombstone.
    async fn transact_delivery(
        &self,
        items: Vec<TransactWriteItem>,
        applied_by: &str,
    ) -> StoreResult<Result<(), (Vec<usize>, bool)>> {
        let count = items.len();
        match self.transact(items).await {
            Ok(_) => Ok(Ok(())),
            Err(e) if written_by(&e, count - 1, applied_by) => Ok(Ok(())),
            Err(e) => {
                let failed: Vec<usize> = (0..count).filter(|i| transaction_condition_failed(&e, *i)).collect();
                if failed.is_empty() {
                    Err(transaction_error(e))
                } else {
                    Ok(Err((failed, failed_on_tombstone(&e))))
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

    async fn apply_once(
        &self,
        id: &str,
        now: UnixTime,
        change: &WritePlan,
        accounts: Option<&[AccountId]>,
    ) -> StoreResult<Applied> {
        let applied_by = crate::crypto::random::token_urlsafe();
        let mut change = std::borrow::Cow::Borrowed(change);
        // Only a revocation of more than 24 platform users' connections
        // needs more than one transaction: all but the last 24 are written
        // without the delivery (a disconnect is idempotent, so a redelivery
        // after a failure between them does no harm). A delivery already
        // recorded is not replayed: a user who connected again since keeps
        // the new connection.
        if let WritePlan::Disconnect { users } = change.as_ref() {
            if users.len() > MAX_CHANGE_ITEMS {
                if self.delivery_recorded(id).await? {
                    return Ok(Applied::Duplicate);
                }
                let (first, last) = users.split_at(users.len() - MAX_CHANGE_ITEMS);
                for chunk in first.chunks(MAX_CHANGE_ITEMS + 1) {
                    self.disconnect_unrecorded(chunk.to_vec()).await?;
                }
                change = std::borrow::Cow::Owned(WritePlan::Disconnect { users: last.to_vec() });
            }
        }
        let mut stale = false;
        loop {
            let mut items = self.change_items(&change, now, stale)?;
            let delivery = items.len();
            items.push(self.delivery_record(id, now, &applied_by, accounts)?);
            let (failed, on_tombstone) = match self.transact_delivery(items, &applied_by).await? {
                Ok(()) if stale => return Ok(Applied::Stale),
                Ok(()) => return Ok(Applied::Done),
                Err(failed) => failed,
            };
            if failed.contains(&delivery) {
                return Ok(Applied::Duplicate);
            }
            match change.as_ref() {
                WritePlan::Upsert { .. } if on_tombstone || stale => return Ok(Applied::Gone),
                // A later read of GitHub is in the record already: keep it,
                // record the delivery (and invalidate, if asked).
                WritePlan::Upsert { .. } => stale = true,
                // A user with no connection item has nothing to disconnect:
                // the others are, without it.
                WritePlan::Disconnect { users } => {
                    change = std::borrow::Cow::Owned(WritePlan::Disconnect {
                        users: without(users.clone(), &failed),
                    });
                }
                WritePlan::Delete { .. } => {
                    return Err(StoreError::Backend("an unconditional tombstone was refused".into()))
                }
            }
        }
    }
}

#[async_trait]
impl Deliveries for DynamoStore {
    async fn apply_delivery(
        &self,
        id: &str,
        now: UnixTime,
        change: &WritePlan,
        accounts: Option<&[AccountId]>,
    ) -> StoreResult<Applied> {
        let applied = self.apply_once(id, now, change, accounts).await?;
        match (change, applied) {
            // The links and tokens of the tombstoned installation go now;
            // a redelivery after a failure here finishes the job.
            (WritePlan::Delete { id }, Applied::Done | Applied::Duplicate) => self.sweep_deleted(*id).await?,
            // An event for a deleted installation: a cleanup left
            // unfinished by the deletion's delivery is finished here.
            (WritePlan::Upsert { installation, .. }, Applied::Gone) => self.finish_deletion(installation.id).await,
            _ => {}
        }
        Ok(applied)
    }

    async fn delivery_state(&self, id: &str) -> StoreResult<DeliveryState> {
        let Some(item) = self.get(keys::delivery(id)).await? else {
            return Ok(DeliveryState::default());
        };
        let accounts = match item.get("accounts") {
            None => None,
            Some(list) => {
                let list = list
                    .as_l()
                    .map_err(|_| StoreError::Corrupt("a delivery's accounts are not a list".into()))?;
                Some(recorded_accounts(
                    list.iter().map(|a| a.as_s().ok().map(String::as_str)),
                )?)
            }
        };
        Ok(DeliveryState {
            accounts,
            published: item.contains_key("published_at"),
            recorded: true,
        })
    }

    async fn mark_published(&self, id: &str, now: UnixTime, accounts: &[AccountId]) -> StoreResult<()> {
        let mut update = UpdateExpr::default();
        update.set("published_at", Some(n(now)));
        update.set_if_absent("accounts", account_list(accounts));
        update.set_if_absent("expire_at", n(retention::delivery_forgotten_after(now)));
        update
            .on(self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(keys::delivery(id))))
            .send()
            .await
            .map_err(super::backend)?;
        Ok(())
    }
}

fn account_list(accounts: &[AccountId]) -> AttributeValue {
    AttributeValue::L(accounts.iter().map(|a| s(a.as_str())).collect())
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
