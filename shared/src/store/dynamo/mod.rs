//! The DynamoDB adapter: one table (defined in `template.yaml`), string keys
//! `pk`/`sk`, one GSI (`gsi1pk`/`gsi1sk`) and the TTL attribute `expire_at`.
//! The key design and access patterns are in the README's design section.

mod audit;
mod client;
mod connections;
mod deliveries;
mod expr;
mod installations;
mod keys;
mod oauth;
mod reconcile;
mod revocations;
mod tokens;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, KeysAndAttributes, TransactWriteItem, WriteRequest};
use aws_sdk_dynamodb::Client;
use secrecy::SecretString;

use super::{StoreError, StoreResult};
use crate::crypto::TokenSealer;

pub use client::{DYNAMO_ATTEMPT_TIMEOUT, DYNAMO_OPERATION_TIMEOUT};

pub type Item = HashMap<String, AttributeValue>;

pub struct DynamoStore {
    client: Client,
    table: String,
    sealer: TokenSealer,
}

impl DynamoStore {
    /// The store on `table`, through a DynamoDB client of `sdk` built with
    /// the broker's timeouts and deadline rules (see [`client`]).
    pub fn connect(sdk: &aws_config::SdkConfig, table: impl Into<String>, sealer: TokenSealer) -> Self {
        Self {
            client: client::client(sdk),
            table: table.into(),
            sealer,
        }
    }

    fn seal(&self, key: &Item, field: &str, token: &SecretString) -> AttributeValue {
        AttributeValue::S(self.sealer.seal(token, &aad(key, field)))
    }

    fn open(&self, key: &Item, field: &str, sealed: &str) -> StoreResult<SecretString> {
        self.sealer
            .open(sealed, &aad(key, field))
            .map_err(|_| StoreError::Corrupt(format!("{field} of {} does not open", describe(key))))
    }

    /// Reads every item of one partition (optionally under a sort-key
    /// prefix), following pages, with strong consistency.
    async fn query_partition(&self, pk: &str, sk_prefix: Option<&str>) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .expression_attribute_values(":pk", s(pk));
            q = match sk_prefix {
                Some(prefix) => q
                    .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                    .expression_attribute_values(":prefix", s(prefix)),
                None => q.key_condition_expression("pk = :pk"),
            };
            let out = q.send().await.map_err(backend)?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// Reads one item by key, with strong consistency.
    async fn get(&self, key: Item) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(out.item)
    }

    /// Reads items by key in one round trip per 100 keys, retrying
    /// unprocessed keys, with strong consistency.
    async fn batch_get(&self, keys: Vec<Item>) -> StoreResult<Vec<Item>> {
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Backend(e.to_string()))?,
            );
            for attempt in 0.. {
                let Some(request) = pending.take() else { break };
                if attempt > 0 {
                    backoff(attempt).await;
                }
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(backend)?;
                found.extend(
                    out.responses
                        .and_then(|mut r| r.remove(&self.table))
                        .unwrap_or_default(),
                );
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys.is_empty());
                if pending.is_some() && attempt >= 8 {
                    return Err(StoreError::Throttled("batch read left keys unprocessed".into()));
                }
            }
        }
        Ok(found)
    }

    /// Deletes items by key, 25 per request, retrying unprocessed ones.
    async fn batch_delete(&self, keys: Vec<Item>) -> StoreResult<()> {
        for chunk in keys.chunks(25) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|key| {
                    let delete = DeleteRequest::builder().set_key(Some(key.clone())).build();
                    delete.map(|d| WriteRequest::builder().delete_request(d).build())
                })
                .collect::<Result<_, _>>()
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            for attempt in 0.. {
                if requests.is_empty() {
                    break;
                }
                if attempt > 0 {
                    backoff(attempt).await;
                }
                if attempt > 8 {
                    return Err(StoreError::Throttled("batch delete left items unprocessed".into()));
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(backend)?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
            }
        }
        Ok(())
    }
}

async fn backoff(attempt: u32) {
    tokio::time::sleep(std::time::Duration::from_millis(25 << attempt.min(5))).await;
}

/// The associated data that binds a sealed value to its item and field.
fn aad(key: &Item, field: &str) -> String {
    crate::store::keys::aad(part(key, "pk"), part(key, "sk"), field)
}

fn part<'a>(key: &'a Item, name: &str) -> &'a str {
    key.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .unwrap_or("")
}

fn describe(key: &Item) -> String {
    format!("{}|{}", part(key, "pk"), part(key, "sk"))
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> StoreResult<T> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn to_item<T: serde::Serialize>(value: &T) -> StoreResult<Item> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

const THROTTLING: [&str; 3] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
];

fn backend<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    // An attempt refused at the deadline, or an operation whose timeout the
    // deadline cut short (see `DeadlineSleep` in `app.rs`).
    let cut = matches!(err, SdkError::TimeoutError(_)) && crate::deadline::remaining().is_some_and(|l| l.is_zero());
    if cut || refused_by_deadline(&err) {
        return StoreError::Deadline(crate::deadline::DeadlineReached);
    }
    let code = err.code().map(str::to_owned);
    let detail = aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string();
    match code {
        Some(c) if THROTTLING.contains(&c.as_str()) => StoreError::Throttled(c),
        _ => StoreError::Backend(detail),
    }
}

/// Whether the SDK gave up because the request's deadline refused an attempt
/// (see `RequestDeadline` in `app.rs`), somewhere in the error's causes.
fn refused_by_deadline(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if e.is::<crate::deadline::DeadlineReached>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// A request builder's error: a required field left out, our bug.
fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> StoreResult<T> {
    r.map_err(|e| StoreError::Backend(e.to_string()))
}

fn is_condition_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.code() == Some("ConditionalCheckFailedException")
}

/// The outcome of a conditional write: `Ok(Some(output))` when it happened,
/// `Ok(None)` when its condition did not hold, an error otherwise.
fn conditional<T, E, R>(result: Result<T, SdkError<E, R>>) -> StoreResult<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e) if is_condition_failure(&e) => Ok(None),
        Err(e) => Err(backend(e)),
    }
}

/// The outcome of a conditional write that takes a lease (sent with
/// `ReturnValuesOnConditionCheckFailure = ALL_OLD`): taken, or refused. A
/// refusal that shows `owner`'s own lease means an earlier attempt of this
/// very request was written but its answer lost, and the SDK's retry met
/// the lease it had just taken: that is a win, not someone else's lease.
fn lease_taken<T, E, R>(
    result: Result<T, SdkError<E, R>>,
    owner: &str,
    old: impl Fn(&E) -> Option<&Item>,
) -> StoreResult<bool>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if is_condition_failure(&e) => {
            Ok(e.as_service_error().and_then(old).and_then(|i| get_s(i, "lease_owner")) == Some(owner))
        }
        Err(e) => Err(backend(e)),
    }
}

/// Whether a cancelled transaction failed on the condition of the item at `index`.
fn transaction_condition_failed<R>(
    err: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
    index: usize,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    match err.as_service_error() {
        Some(E::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .get(index)
            .and_then(|r| r.code())
            .is_some_and(|c| c == "ConditionalCheckFailed"),
        _ => false,
    }
}

impl DynamoStore {
    /// Removes a lease from an item if `owner` still holds it.
    async fn release_lease(&self, key: Item, owner: &str) -> StoreResult<()> {
        conditional(
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .update_expression("REMOVE lease_owner, lease_until")
                .condition_expression("lease_owner = :owner")
                .expression_attribute_values(":owner", s(owner))
                .send()
                .await,
        )?;
        Ok(())
    }
}

/// Two transactions meeting on one item at the same instant cancel each
/// other (`TransactionConflict`) rather than wait; each tries again.
const CONFLICT_ATTEMPTS: u32 = 4;

type TransactResult = Result<
    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput,
    SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>,
>;

impl DynamoStore {
    /// Sends a transaction, and again after a short backoff while it meets
    /// others; the last try's error otherwise (see [`transaction_error`]).
    async fn transact(&self, items: Vec<TransactWriteItem>) -> TransactResult {
        let mut attempt = 1;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            match result {
                Err(e) if transaction_conflicted(&e) && attempt < CONFLICT_ATTEMPTS => {
                    backoff(attempt).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// A failed transaction as the caller sees it: one that kept meeting others
/// is contention to try again later (503), not a fault.
fn transaction_error<R: std::fmt::Debug + 'static>(err: SdkError<TransactWriteItemsError, R>) -> StoreError {
    if transaction_conflicted(&err) {
        StoreError::Throttled("TransactionConflict".into())
    } else {
        backend(err)
    }
}

/// Cancelled because another transaction was writing one of its items.
fn transaction_conflicted<R>(err: &SdkError<TransactWriteItemsError, R>) -> bool {
    use TransactWriteItemsError as E;
    match err.as_service_error() {
        Some(E::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .iter()
            .any(|r| r.code() == Some("TransactionConflict")),
        // The same request (its idempotency token) still in progress: a
        // retry after a lost answer came too soon.
        Some(E::TransactionInProgressException(_)) => true,
        _ => false,
    }
}
