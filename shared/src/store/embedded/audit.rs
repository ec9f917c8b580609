//! The audit trail, keyed as in the DynamoDB table: `AUDIT#ACCT#{account}`
//! (or `AUDIT#USER#{user}`) / `{time ms}#{random}`, read newest first.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::txn::Writer;
use super::EmbeddedStore;
use crate::domain::audit::AuditRecord;
use crate::domain::AccountId;
use crate::store::keys;
use crate::store::{AuditPage, AuditQuery, AuditTrail, StoreResult};

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct AuditItem {
    #[serde(flatten)]
    pub record: AuditRecord,
    /// What DynamoDB's TTL would go by (see the purge).
    pub expire_at: i64,
}

/// Writes `record` inside `w`, with the write it records.
pub(super) fn put(w: &Writer, record: &AuditRecord) -> StoreResult<()> {
    let nonce = crate::crypto::random::token_urlsafe();
    let Some(key) = keys::audit(record, &nonce[..16.min(nonce.len())]) else {
        return Ok(());
    };
    w.put(
        &key,
        &AuditItem {
            record: record.clone(),
            expire_at: record.keep_until,
        },
    )
}

#[async_trait]
impl AuditTrail for EmbeddedStore {
    async fn put_audit(&self, record: &AuditRecord) -> StoreResult<()> {
        let record = record.clone();
        self.write(move |w| put(w, &record)).await
    }

    async fn audit_trail(&self, account: &AccountId, query: &AuditQuery) -> StoreResult<AuditPage> {
        let pk = keys::audit_of_account(account);
        let low = keys::audit_time(query.since_ms.unwrap_or(0));
        let high = format!("{}~", keys::audit_time(query.until_ms.unwrap_or(i64::MAX)));
        let query = query.clone();
        self.read(move |r| {
            let mut sort_keys = r.sort_keys(&pk, "")?;
            sort_keys.reverse();
            let mut records = Vec::new();
            let mut last = None;
            for sk in sort_keys {
                if sk < low || sk > high || query.cursor.as_ref().is_some_and(|c| &sk >= c) {
                    continue;
                }
                if records.len() == query.limit {
                    return Ok(AuditPage { records, cursor: last });
                }
                let key = keys::Key {
                    pk: pk.clone(),
                    sk: sk.clone(),
                };
                if let Some(item) = r.get::<AuditItem>(&key)? {
                    if query.action.is_none_or(|a| a == item.record.action) {
                        records.push(item.record);
                    }
                }
                last = Some(sk);
            }
            Ok(AuditPage { records, cursor: None })
        })
        .await
    }
}
