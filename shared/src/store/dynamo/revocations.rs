//! Tokens on their way to being revoked at GitHub: each is moved out of the
//! cache into its own item (`INST#id` / `REVOKE#{sha256}`), sealed under
//! that item's key, in one transaction with the removal of the cached one,
//! and kept until GitHub confirms or the token expires (TTL).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use futures::future::try_join_all;

use super::{get_n, get_s, keys, n, s, DynamoStore, Item};
use crate::crypto::digest::token_sha256;
use crate::domain::audit::AuditRecord;
use crate::domain::{AccountId, InstallationId};
use crate::store::keys as store_keys;
use crate::store::{retention, PendingRevocation, Revocations, StoreError, StoreResult};

impl DynamoStore {
    /// Moves every token among `items` (items of the installation's
    /// partition) to pending revocation.
    pub(super) async fn move_to_revocation(&self, id: InstallationId, items: &[Item]) -> StoreResult<()> {
        let tokens = items.iter().filter_map(|item| {
            let scope_key = store_keys::token_scope(get_s(item, "sk")?)?;
            Some((scope_key, get_s(item, "token")?, get_n(item, "expires_at").unwrap_or(0)))
        });
        try_join_all(tokens.map(|(scope_key, sealed, expires_at)| self.move_one(id, scope_key, sealed, expires_at)))
            .await?;
        Ok(())
    }

    /// One cached token to pending revocation, if it is still the one read
    /// (a token stored over it since is left for the next taker). A token
    /// that does not open cannot be revoked: it is only removed.
    async fn move_one(&self, id: InstallationId, scope_key: &str, sealed: &str, expires_at: i64) -> StoreResult<()> {
        let key = keys::token(id, scope_key);
        let remove = super::build(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key.clone()))
                .condition_expression("#token = :sealed")
                .expression_attribute_names("#token", "token")
                .expression_attribute_values(":sealed", s(sealed))
                .build(),
        )?;
        let mut items = vec![TransactWriteItem::builder().delete(remove).build()];
        match self.open(&key, "token", sealed) {
            Ok(token) => {
                let sha = token_sha256(&token);
                let mut item = keys::revocation(id, &sha);
                item.insert("token".into(), self.seal(&item, "token", &token));
                item.insert("expires_at".into(), n(expires_at));
                item.insert("expire_at".into(), n(retention::removable_after(expires_at)));
                if let Some(account) = store_keys::account_of_scope(scope_key) {
                    item.insert("account".into(), s(account.as_str()));
                }
                let put = super::build(Put::builder().table_name(&self.table).set_item(Some(item)).build())?;
                items.push(TransactWriteItem::builder().put(put).build());
            }
            Err(_) => tracing::warn!(installation = %id, "a cached token that does not open is dropped, not revoked"),
        }
        match self.transact(items).await {
            Ok(_) => Ok(()),
            Err(e) if super::transaction_condition_failed(&e, 0) => Ok(()),
            Err(e) => Err(super::transaction_error(e)),
        }
    }

    fn pending_from_item(&self, id: InstallationId, item: &Item) -> StoreResult<Option<PendingRevocation>> {
        let Some(sha) = get_s(item, "sk").and_then(store_keys::revocation_of) else {
            return Ok(None);
        };
        let key = keys::revocation(id, sha);
        let sealed = get_s(item, "token").ok_or_else(|| StoreError::Corrupt("pending revocation".into()))?;
        Ok(Some(PendingRevocation {
            installation: id,
            token_sha256: sha.to_owned(),
            account: get_s(item, "account").and_then(AccountId::parse),
            token: self.open(&key, "token", sealed)?,
            expires_at: get_n(item, "expires_at").unwrap_or(0),
        }))
    }
}

#[async_trait]
impl Revocations for DynamoStore {
    async fn take_tokens(
        &self,
        installation: InstallationId,
        account: Option<&AccountId>,
    ) -> StoreResult<Vec<PendingRevocation>> {
        let pk = keys::installation_pk(installation);
        let prefix = account.map_or_else(|| store_keys::TOKEN.to_owned(), store_keys::tokens_of);
        let cached = self.query_partition(&pk, Some(&prefix)).await?;
        self.move_to_revocation(installation, &cached).await?;
        self.pending_revocations(installation).await
    }

    async fn pending_revocations(&self, installation: InstallationId) -> StoreResult<Vec<PendingRevocation>> {
        let pk = keys::installation_pk(installation);
        let pending = self.query_partition(&pk, Some(store_keys::REVOCATION)).await?;
        let mut found = Vec::new();
        for item in &pending {
            match self.pending_from_item(installation, item) {
                Ok(Some(p)) => found.push(p),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(installation = %installation, error = %e, "a pending revocation does not open")
                }
            }
        }
        Ok(found)
    }

    async fn revocation_done(
        &self,
        installation: InstallationId,
        token_sha256: &str,
        audit: Option<&AuditRecord>,
    ) -> StoreResult<()> {
        let forget = super::build(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(keys::revocation(installation, token_sha256)))
                .build(),
        )?;
        let mut items = vec![TransactWriteItem::builder().delete(forget).build()];
        if let Some(audit) = audit {
            items.extend(self.audit_put(audit)?);
        }
        self.transact(items).await.map_err(super::transaction_error)?;
        Ok(())
    }
}
