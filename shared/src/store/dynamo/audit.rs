//! The audit trail: one item per record, `AUDIT#ACCT#{account}` (or
//! `AUDIT#USER#{user}`) / `{time ms}#{random}`, read newest first, gone by
//! TTL at the record's `keep_until`.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::{s, DynamoStore, Item};
use crate::domain::audit::AuditRecord;
use crate::domain::AccountId;
use crate::store::keys as store_keys;
use crate::store::{AuditPage, AuditQuery, AuditTrail, StoreResult};

#[derive(Serialize, Deserialize)]
struct AuditItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    record: AuditRecord,
    expire_at: i64,
}

/// The record as an item; `None` for a record of no account or user.
fn audit_item(record: &AuditRecord) -> StoreResult<Option<Item>> {
    let nonce = crate::crypto::random::token_urlsafe();
    let Some(key) = store_keys::audit(record, &nonce[..16.min(nonce.len())]) else {
        return Ok(None);
    };
    super::to_item(&AuditItem {
        pk: key.pk,
        sk: key.sk,
        record: record.clone(),
        expire_at: record.keep_until,
    })
    .map(Some)
}

impl DynamoStore {
    /// The record's Put, to go in the transaction of the write it records.
    pub(super) fn audit_put(&self, record: &AuditRecord) -> StoreResult<Option<TransactWriteItem>> {
        let Some(item) = audit_item(record)? else {
            return Ok(None);
        };
        let put = super::build(Put::builder().table_name(&self.table).set_item(Some(item)).build())?;
        Ok(Some(TransactWriteItem::builder().put(put).build()))
    }
}

#[async_trait]
impl AuditTrail for DynamoStore {
    async fn put_audit(&self, record: &AuditRecord) -> StoreResult<()> {
        let Some(item) = audit_item(record)? else {
            return Ok(());
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(super::backend)?;
        Ok(())
    }

    async fn audit_trail(&self, account: &AccountId, query: &AuditQuery) -> StoreResult<AuditPage> {
        let pk = store_keys::audit_of_account(account);
        let low = store_keys::audit_time(query.since_ms.unwrap_or(0));
        // `~` sorts after every character of a key's random part.
        let high = format!("{}~", store_keys::audit_time(query.until_ms.unwrap_or(i64::MAX)));
        let mut start = query
            .cursor
            .as_ref()
            .map(|sk| Item::from([("pk".to_owned(), s(&pk)), ("sk".to_owned(), s(sk))]));
        let mut records = Vec::new();
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .scan_index_forward(false)
                .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":low", s(&low))
                .expression_attribute_values(":high", s(&high))
                .limit(i32::try_from(query.limit - records.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            if let Some(action) = query.action {
                q = q
                    .filter_expression("#action = :action")
                    .expression_attribute_names("#action", "action")
                    .expression_attribute_values(":action", s(action.as_str()));
            }
            let out = q.send().await.map_err(super::backend)?;
            for item in out.items.unwrap_or_default() {
                let item: AuditItem = super::from_item(item)?;
                records.push(item.record);
            }
            start = out.last_evaluated_key;
            if start.is_none() || records.len() >= query.limit {
                // More may follow the last record read: its key goes on.
                let cursor = start.as_ref().and_then(|k| super::get_s(k, "sk").map(str::to_owned));
                return Ok(AuditPage { records, cursor });
            }
        }
    }
}
