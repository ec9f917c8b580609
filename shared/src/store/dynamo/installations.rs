//! Installations, links and their removal. An installation's partition
//! (`INST#id`) holds its record, its links as seen from it and its cached
//! tokens, so deleting an installation is one query and a batch of deletes.

use std::collections::HashSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use futures::future::try_join_all;
use serde::{Deserialize, Serialize};

use super::{get_s, keys, n, s, to_item, transaction_condition_failed, DynamoStore, Item};
use crate::clock::UnixTime;
use crate::domain::{AccountId, Installation, InstallationId};
use crate::store::{Installations, StoreError, StoreResult, Upsert};

#[derive(Serialize, Deserialize)]
struct InstallationItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    installation: Installation,
}

fn installation_item(installation: &Installation) -> StoreResult<Item> {
    let key = keys::installation(installation.id);
    to_item(&InstallationItem {
        pk: get_s(&key, "pk").unwrap_or_default().to_owned(),
        sk: get_s(&key, "sk").unwrap_or_default().to_owned(),
        installation: installation.clone(),
    })
}

/// `None` for a tombstone.
pub(super) fn installation_from_item(item: Item) -> StoreResult<Option<Installation>> {
    if item.contains_key("deleted_at") {
        return Ok(None);
    }
    super::from_item::<InstallationItem>(item).map(|i| Some(i.installation))
}

const NOT_DELETED: &str = "attribute_not_exists(deleted_at)";

fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> StoreResult<T> {
    r.map_err(|e| StoreError::Backend(e.to_string()))
}

impl DynamoStore {
    /// Removes every link to a tombstoned installation and its cached
    /// tokens: the second half of a deletion. Idempotent.
    async fn sweep_deleted(&self, id: InstallationId) -> StoreResult<()> {
        let pk = keys::installation_pk(id);
        let mut doomed = Vec::new();
        for item in self.query_partition(&pk, None).await? {
            let sk = get_s(&item, "sk").unwrap_or_default();
            if let Some(account) = sk.strip_prefix("ACCT#").and_then(AccountId::parse) {
                doomed.push(keys::link_from_account(&account, id));
                doomed.push(keys::link_from_installation(id, &account));
            } else if sk.starts_with("TOKEN#") {
                doomed.push(super::key(pk.clone(), sk.to_owned()));
            }
        }
        self.batch_delete(doomed).await
    }

    /// A deletion whose cleanup failed after the tombstone (DynamoDB
    /// failing, the request's deadline) leaves links behind, and GitHub does
    /// not redeliver on its own. Reads never use such links (they see the
    /// tombstone); the first read or event that meets one finishes the
    /// cleanup, best-effort: a failure here changes nothing for its caller.
    pub(super) async fn finish_deletion(&self, id: InstallationId) {
        match self.sweep_deleted(id).await {
            Ok(()) => tracing::info!(installation = %id, "finished a deleted installation's cleanup"),
            Err(e) => {
                tracing::warn!(installation = %id, error = %e, "a deleted installation's cleanup is still unfinished")
            }
        }
    }
}

#[async_trait]
impl Installations for DynamoStore {
    async fn upsert_installation(&self, installation: &Installation) -> StoreResult<Upsert> {
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(installation_item(installation)?))
            .condition_expression(NOT_DELETED)
            .send()
            .await;
        if super::conditional(written)?.is_some() {
            return Ok(Upsert::Written);
        }
        // An event for a deleted installation: a cleanup left unfinished
        // by the deletion's delivery is finished here.
        self.finish_deletion(installation.id).await;
        Ok(Upsert::Gone)
    }

    async fn rename_installation_account(&self, id: InstallationId, login: &str) -> StoreResult<Upsert> {
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::installation(id)))
            .update_expression("SET account_login = :login")
            .condition_expression(format!("attribute_exists(pk) AND {NOT_DELETED}"))
            .expression_attribute_values(":login", s(login))
            .send()
            .await;
        Ok(if super::conditional(written)?.is_some() {
            Upsert::Written
        } else {
            Upsert::Gone
        })
    }

    async fn get_installation(&self, id: InstallationId) -> StoreResult<Option<Installation>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(keys::installation(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(super::backend)?;
        Ok(out.item.map(installation_from_item).transpose()?.flatten())
    }

    async fn delete_installation(&self, id: InstallationId, now: UnixTime) -> StoreResult<()> {
        // The tombstone first: from here on no link can be written.
        let mut tombstone = keys::installation(id);
        tombstone.insert("id".into(), n(id));
        tombstone.insert("deleted_at".into(), n(now));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(tombstone))
            .send()
            .await
            .map_err(super::backend)?;
        self.sweep_deleted(id).await
    }

    async fn link(&self, account: &AccountId, installation: &Installation) -> StoreResult<Upsert> {
        let record = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(installation_item(installation)?))
                .condition_expression(NOT_DELETED)
                .build(),
        )?;
        let link_item = |mut key: Item| {
            key.insert("account".into(), s(account.as_str()));
            key.insert("installation_id".into(), n(installation.id));
            build(Put::builder().table_name(&self.table).set_item(Some(key)).build())
        };
        let forward = link_item(keys::link_from_account(account, installation.id))?;
        let reverse = link_item(keys::link_from_installation(installation.id, account))?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(record).build())
            .transact_items(TransactWriteItem::builder().put(forward).build())
            .transact_items(TransactWriteItem::builder().put(reverse).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Upsert::Written),
            Err(e) if transaction_condition_failed(&e, 0) => Ok(Upsert::Gone),
            Err(e) => Err(super::backend(e)),
        }
    }

    async fn unlink(&self, account: &AccountId, installation: InstallationId) -> StoreResult<bool> {
        let forward = build(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(keys::link_from_account(account, installation)))
                .condition_expression("attribute_exists(pk)")
                .build(),
        )?;
        let reverse = build(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(keys::link_from_installation(installation, account)))
                .build(),
        )?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(forward).build())
            .transact_items(TransactWriteItem::builder().delete(reverse).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if transaction_condition_failed(&e, 0) => Ok(false),
            Err(e) => Err(super::backend(e)),
        }
    }

    async fn linked_installations(&self, account: &AccountId) -> StoreResult<Vec<Installation>> {
        let links = self.query_partition(&keys::account_pk(account), Some("INST#")).await?;
        let ids: Vec<InstallationId> = links
            .iter()
            .filter_map(|l| get_s(l, "sk")?.strip_prefix("INST#").and_then(InstallationId::parse))
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let items = self
            .batch_get(ids.iter().map(|id| keys::installation(*id)).collect())
            .await?;
        let mut found = Vec::new();
        for item in items {
            let id = get_s(&item, "pk")
                .and_then(|pk| pk.strip_prefix("INST#"))
                .and_then(InstallationId::parse);
            match installation_from_item(item)? {
                Some(installation) => found.push(installation),
                // A link to a tombstone is never listed, and is removed now.
                None => {
                    if let Some(id) = id {
                        self.finish_deletion(id).await;
                    }
                }
            }
        }
        found.sort_by_key(|i| i.id);
        Ok(found)
    }

    async fn links_among(
        &self,
        accounts: &[AccountId],
        installations: &[InstallationId],
    ) -> StoreResult<Vec<(AccountId, InstallationId)>> {
        if installations.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: HashSet<InstallationId> = installations.iter().copied().collect();
        let wanted = &wanted;
        let per_account = try_join_all(accounts.iter().map(|account| async move {
            let links = self.query_partition(&keys::account_pk(account), Some("INST#")).await?;
            Ok::<_, StoreError>(
                links
                    .iter()
                    .filter_map(|l| get_s(l, "sk")?.strip_prefix("INST#").and_then(InstallationId::parse))
                    .filter(|id| wanted.contains(id))
                    .map(|id| (account.clone(), id))
                    .collect::<Vec<_>>(),
            )
        }))
        .await?;
        Ok(per_account.into_iter().flatten().collect())
    }
}
