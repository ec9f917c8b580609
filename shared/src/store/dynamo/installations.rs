//! Installations, links and their removal. An installation's partition
//! (`INST#id`) holds its record, its links as seen from it and its cached
//! tokens, so deleting an installation is one query and a batch of deletes.

use std::collections::HashSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};

use super::expr::UpdateExpr;
use futures::future::try_join_all;
use serde::{Deserialize, Serialize};

use super::{get_s, keys, n, s, to_item, transaction_condition_failed, DynamoStore, Item};
use crate::clock::UnixTime;
use crate::domain::audit::AuditRecord;
use crate::domain::{AccountId, Installation, InstallationId, LinkPolicy};
use crate::store::keys as store_keys;
use crate::store::{Installations, LinkedInstallation, StoreError, StoreResult, StoredLink, Upsert};

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

pub(super) const NOT_DELETED: &str = "attribute_not_exists(deleted_at)";

/// Counts the invalidations of an installation's tokens; each token item
/// records the epoch it was minted in, and one from an older epoch is never
/// served. Moving the epoch on is part of the record's own write, where
/// deleting the tokens would take a Query and a batch of deletes.
pub(super) const TOKEN_EPOCH: &str = "token_epoch";

/// When the record's state was read from GitHub (Unix milliseconds): a
/// webhook's write carries its read's time and lands only over an older
/// one, so deliveries in any order leave GitHub's latest state.
pub(super) const SYNCED_AT: &str = "synced_at";

/// The webhook's write of GitHub's state read at `read_at`: lands unless
/// the installation was deleted or a later read was written already.
pub(super) const NEWER_READ: &str = "attribute_not_exists(deleted_at) \
     AND (attribute_not_exists(#synced_at) OR #synced_at < :synced_at)";

/// The installation record as GitHub showed it at `read_at`, as an update
/// that keeps its token epoch, or moves it on: a Put would drop the epoch,
/// and tokens cached under an older one could be served again.
pub(super) fn record_update(
    installation: &Installation,
    invalidate_tokens: bool,
    read_at: i64,
) -> StoreResult<UpdateExpr> {
    let mut u = UpdateExpr::default();
    u.set_all(installation_item(installation)?, false);
    u.set(SYNCED_AT, Some(n(read_at)));
    u.add(TOKEN_EPOCH, i64::from(invalidate_tokens));
    Ok(u)
}

/// Only moves the token epoch on: a stale delivery's invalidation.
pub(super) fn epoch_bump() -> UpdateExpr {
    let mut u = UpdateExpr::default();
    u.add(TOKEN_EPOCH, 1);
    u
}

/// What a link writes of the installation: only what the record lacks.
/// The user's view of the installation is no newer than the webhooks', so a
/// link racing a suspension never makes the installation active again.
fn link_update(installation: &Installation) -> StoreResult<UpdateExpr> {
    let mut u = UpdateExpr::default();
    u.set_all(installation_item(installation)?, true);
    u.add(TOKEN_EPOCH, 0);
    Ok(u)
}

/// The link's version, on both of its items and on every token cached
/// under it (see [`crate::store::TokenFence`]).
pub(super) const LINK_VERSION: &str = "link_version";

/// The link's policy, as JSON; absent for the whole installation.
const POLICY: &str = "policy";

/// A link item's policy and version (a link written before either existed
/// is the whole installation, at the empty version).
pub(super) fn link_of_item(item: &Item) -> StoreResult<StoredLink> {
    let policy = match get_s(item, POLICY) {
        None => LinkPolicy::default(),
        Some(json) => serde_json::from_str(json).map_err(|_| StoreError::Corrupt("link policy".into()))?,
    };
    Ok(StoredLink {
        policy,
        version: get_s(item, LINK_VERSION).unwrap_or_default().to_owned(),
    })
}

fn policy_json(policy: &LinkPolicy) -> Option<aws_sdk_dynamodb::types::AttributeValue> {
    (!policy.is_whole_installation()).then(|| s(serde_json::to_string(policy).unwrap_or_default()))
}

/// The condition that a link item is at `version` (the empty version:
/// written before versions existed).
pub(super) fn at_version(version: &str) -> &'static str {
    if version.is_empty() {
        "attribute_exists(pk) AND attribute_not_exists(#lv)"
    } else {
        "#lv = :lv"
    }
}

/// The tombstone that replaces a deleted installation's record for good.
pub(super) fn tombstone(id: InstallationId, now: UnixTime) -> Item {
    let mut tombstone = keys::installation(id);
    tombstone.insert("id".into(), n(id));
    tombstone.insert("deleted_at".into(), n(now));
    tombstone
}

impl DynamoStore {
    /// Removes every link to a tombstoned installation and moves its cached
    /// tokens to pending revocation: the second half of a deletion.
    /// Idempotent.
    pub(super) async fn sweep_deleted(&self, id: InstallationId) -> StoreResult<()> {
        let pk = keys::installation_pk(id);
        let mut doomed = Vec::new();
        let partition = self.query_partition(&pk, None).await?;
        // Only a tombstone's partition is swept: a replayed delivery id
        // carrying someone else's "deleted" body must not touch a live one.
        let tombstoned = partition
            .iter()
            .any(|item| get_s(item, "sk") == Some("META") && item.contains_key("deleted_at"));
        if !tombstoned {
            return Ok(());
        }
        for item in &partition {
            let sk = get_s(item, "sk").unwrap_or_default();
            if let Some(account) = store_keys::linked_account(sk) {
                doomed.push(keys::link_from_account(&account, id));
                doomed.push(keys::link_from_installation(id, &account));
            }
        }
        self.move_to_revocation(id, &partition).await?;
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
    async fn get_installation(&self, id: InstallationId) -> StoreResult<Option<Installation>> {
        let item = self.get(keys::installation(id)).await?;
        Ok(item.map(installation_from_item).transpose()?.flatten())
    }

    async fn link(
        &self,
        account: &AccountId,
        installation: &Installation,
        policy: &LinkPolicy,
        audit: &AuditRecord,
    ) -> StoreResult<Upsert> {
        let record =
            link_update(installation)?.in_transaction(&self.table, keys::installation(installation.id), NOT_DELETED)?;
        let version = crate::crypto::random::token_urlsafe();
        let link_item = |mut key: Item| {
            key.insert("account".into(), s(account.as_str()));
            key.insert("installation_id".into(), n(installation.id));
            key.insert(LINK_VERSION.into(), s(&version));
            if let Some(policy) = policy_json(policy) {
                key.insert(POLICY.into(), policy);
            }
            super::build(Put::builder().table_name(&self.table).set_item(Some(key)).build())
        };
        let forward = link_item(keys::link_from_account(account, installation.id))?;
        let reverse = link_item(keys::link_from_installation(installation.id, account))?;
        let mut items = vec![
            record,
            TransactWriteItem::builder().put(forward).build(),
            TransactWriteItem::builder().put(reverse).build(),
        ];
        items.extend(self.audit_put(audit)?);
        let result = self.transact(items).await;
        match result {
            Ok(_) => Ok(Upsert::Written),
            Err(e) if transaction_condition_failed(&e, 0) => Ok(Upsert::Gone),
            Err(e) => Err(super::transaction_error(e)),
        }
    }

    async fn get_link(&self, account: &AccountId, installation: InstallationId) -> StoreResult<Option<StoredLink>> {
        let item = self.get(keys::link_from_account(account, installation)).await?;
        item.as_ref().map(link_of_item).transpose()
    }

    async fn set_policy(
        &self,
        account: &AccountId,
        installation: InstallationId,
        policy: &LinkPolicy,
        version: &str,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        let next = crate::crypto::random::token_urlsafe();
        let update = |key: Item, condition: &str| {
            let mut u = aws_sdk_dynamodb::types::Update::builder()
                .table_name(&self.table)
                .set_key(Some(key))
                .condition_expression(condition)
                .expression_attribute_names("#lv", LINK_VERSION)
                .expression_attribute_names("#policy", POLICY)
                .expression_attribute_values(":next", s(&next));
            if condition.contains(":lv") {
                u = u.expression_attribute_values(":lv", s(version));
            }
            u = match policy_json(policy) {
                Some(json) => u
                    .update_expression("SET #lv = :next, #policy = :policy")
                    .expression_attribute_values(":policy", json),
                None => u.update_expression("SET #lv = :next REMOVE #policy"),
            };
            super::build(u.build()).map(|u| TransactWriteItem::builder().update(u).build())
        };
        let mut items = vec![
            update(keys::link_from_account(account, installation), at_version(version))?,
            update(
                keys::link_from_installation(installation, account),
                "attribute_exists(pk)",
            )?,
        ];
        items.extend(self.audit_put(audit)?);
        let result = self.transact(items).await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if transaction_condition_failed(&e, 0) || transaction_condition_failed(&e, 1) => Ok(false),
            Err(e) => Err(super::transaction_error(e)),
        }
    }

    async fn unlink(
        &self,
        account: &AccountId,
        installation: InstallationId,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        let forward = super::build(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(keys::link_from_account(account, installation)))
                .condition_expression("attribute_exists(pk)")
                .build(),
        )?;
        let reverse = super::build(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(keys::link_from_installation(installation, account)))
                .build(),
        )?;
        let mut items = vec![
            TransactWriteItem::builder().delete(forward).build(),
            TransactWriteItem::builder().delete(reverse).build(),
        ];
        items.extend(self.audit_put(audit)?);
        let result = self.transact(items).await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if transaction_condition_failed(&e, 0) => Ok(false),
            Err(e) => Err(super::transaction_error(e)),
        }
    }

    async fn linked_installations(&self, account: &AccountId) -> StoreResult<Vec<LinkedInstallation>> {
        let links = self
            .query_partition(&keys::account_pk(account), Some(store_keys::LINKED_INSTALLATION))
            .await?;
        let mut policies = std::collections::HashMap::new();
        for link in &links {
            if let Some(id) = get_s(link, "sk").and_then(store_keys::linked_installation) {
                policies.insert(id, link_of_item(link)?.policy);
            }
        }
        let ids: Vec<InstallationId> = policies.keys().copied().collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let items = self
            .batch_get(ids.iter().map(|id| keys::installation(*id)).collect())
            .await?;
        let mut found = Vec::new();
        for item in items {
            let id = get_s(&item, "pk").and_then(store_keys::installation_of_pk);
            match installation_from_item(item)? {
                Some(installation) => found.push(LinkedInstallation {
                    policy: policies.remove(&installation.id).unwrap_or_default(),
                    installation,
                }),
                // A link to a tombstone is never listed, and is removed now.
                None => {
                    if let Some(id) = id {
                        self.finish_deletion(id).await;
                    }
                }
            }
        }
        found.sort_by_key(|l| l.installation.id);
        Ok(found)
    }

    async fn links_of_installation(&self, installation: InstallationId) -> StoreResult<Vec<(AccountId, StoredLink)>> {
        let items = self
            .query_partition(&keys::installation_pk(installation), Some(store_keys::LINKED_ACCOUNT))
            .await?;
        items
            .iter()
            .filter_map(|item| Some((store_keys::linked_account(get_s(item, "sk")?)?, item)))
            .map(|(account, item)| Ok((account, link_of_item(item)?)))
            .collect()
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
            let links = self
                .query_partition(&keys::account_pk(account), Some(store_keys::LINKED_INSTALLATION))
                .await?;
            Ok::<_, StoreError>(
                links
                    .iter()
                    .filter_map(|l| store_keys::linked_installation(get_s(l, "sk")?))
                    .filter(|id| wanted.contains(id))
                    .map(|id| (account.clone(), id))
                    .collect::<Vec<_>>(),
            )
        }))
        .await?;
        Ok(per_account.into_iter().flatten().collect())
    }
}
