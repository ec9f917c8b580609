//! Cached installation tokens, one item per installation and cache key
//! (the service's: account and scope), with a mint lease so that all
//! containers together mint once per key.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ConditionCheck, TransactWriteItem, Update};

use super::installations::{at_version, installation_from_item, link_of_item, LINK_VERSION, TOKEN_EPOCH};
use super::{get_n, get_s, keys, n, s, DynamoStore, Item};
use crate::clock::UnixTime;
use crate::domain::audit::AuditRecord;
use crate::domain::tokens::InstallationToken;
use crate::domain::{AccountId, InstallationId};
use crate::store::keys as store_keys;
use crate::store::{retention, CachedToken, Lease, StoreError, StoreResult, TokenCache, TokenFence, VendSnapshot};

impl DynamoStore {
    /// A token minted before the fence's epoch or under another link
    /// version is left out, unopened; one that does not open is left out
    /// and marked unreadable.
    fn cached_from_item(&self, key: &Item, item: &Item, fence: &TokenFence) -> StoreResult<CachedToken> {
        let token = match get_s(item, "token") {
            None => None,
            Some(_) if epoch_of(item) < fence.epoch => None,
            Some(_) if get_s(item, LINK_VERSION).unwrap_or_default() != fence.link_version => None,
            Some(sealed) => {
                let corrupt = || StoreError::Corrupt("cached token".into());
                let Ok(token) = self.open(key, "token", sealed) else {
                    tracing::warn!("a cached installation token does not open; it will be minted again");
                    return Ok(CachedToken {
                        token: None,
                        lease_until: get_n(item, "lease_until"),
                        unreadable: true,
                    });
                };
                Some(InstallationToken {
                    token,
                    expires_at: get_n(item, "expires_at").ok_or_else(corrupt)?,
                    permissions: parse_json(item, "permissions")?.unwrap_or_default(),
                    repository_selection: get_s(item, "repository_selection").unwrap_or("all").to_owned(),
                    repositories: parse_json(item, "repositories")?,
                })
            }
        };
        Ok(CachedToken {
            token,
            lease_until: get_n(item, "lease_until"),
            unreadable: false,
        })
    }
}

#[async_trait]
impl TokenCache for DynamoStore {
    async fn vend_snapshot(
        &self,
        account: &AccountId,
        installation: InstallationId,
        scope_key: &str,
    ) -> StoreResult<VendSnapshot> {
        let link_key = keys::link_from_account(account, installation);
        let record_key = keys::installation(installation);
        let token_key = keys::token(installation, scope_key);
        let items = self
            .batch_get(vec![link_key.clone(), record_key, token_key.clone()])
            .await?;
        let mut snapshot = VendSnapshot::default();
        let mut tombstoned = false;
        let mut token_item = None;
        for item in items {
            match get_s(&item, "sk") {
                Some(sk) if store_keys::linked_installation(sk).is_some() => snapshot.link = Some(link_of_item(&item)?),
                Some("META") => {
                    snapshot.token_epoch = epoch_of(&item);
                    snapshot.installation = installation_from_item(item)?;
                    tombstoned = snapshot.installation.is_none();
                }
                Some(sk) if store_keys::token_scope(sk).is_some() => token_item = Some(item),
                _ => {}
            }
        }
        if let Some(item) = token_item {
            snapshot.cached = Some(self.cached_from_item(&token_key, &item, &snapshot.fence(account))?);
        }
        if snapshot.linked() && tombstoned {
            // Refused all the same (no installation); the leftover link of an
            // unfinished deletion is removed on the way.
            self.finish_deletion(installation).await;
        }
        Ok(snapshot)
    }

    async fn account_snapshots(&self, account: &AccountId, scope_key: &str) -> StoreResult<Vec<VendSnapshot>> {
        let links = self
            .query_partition(&keys::account_pk(account), Some(store_keys::LINKED_INSTALLATION))
            .await?;
        let mut snapshots = std::collections::BTreeMap::new();
        for link in &links {
            if let Some(id) = get_s(link, "sk").and_then(store_keys::linked_installation) {
                let snapshot = VendSnapshot {
                    link: Some(link_of_item(link)?),
                    ..VendSnapshot::default()
                };
                snapshots.insert(id, (snapshot, None));
            }
        }
        let wanted = snapshots
            .keys()
            .flat_map(|id| [keys::installation(*id), keys::token(*id, scope_key)])
            .collect::<Vec<_>>();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        for item in self.batch_get(wanted).await? {
            let Some(id) = get_s(&item, "pk").and_then(store_keys::installation_of_pk) else {
                continue;
            };
            let Some((snapshot, token)) = snapshots.get_mut(&id) else {
                continue;
            };
            if get_s(&item, "sk") == Some("META") {
                snapshot.token_epoch = epoch_of(&item);
                snapshot.installation = installation_from_item(item)?;
                if snapshot.installation.is_none() {
                    // A link to a tombstone: never served, removed now.
                    self.finish_deletion(id).await;
                }
            } else {
                *token = Some(item);
            }
        }
        let mut found = Vec::new();
        for (id, (mut snapshot, token)) in snapshots {
            if snapshot.installation.is_none() {
                continue;
            }
            if let Some(item) = token {
                let fence = snapshot.fence(account);
                snapshot.cached = Some(self.cached_from_item(&keys::token(id, scope_key), &item, &fence)?);
            }
            found.push(snapshot);
        }
        Ok(found)
    }

    async fn cached_token(
        &self,
        installation: InstallationId,
        scope_key: &str,
        fence: &TokenFence,
    ) -> StoreResult<Option<CachedToken>> {
        let key = keys::token(installation, scope_key);
        self.get(key.clone())
            .await?
            .map(|item| self.cached_from_item(&key, &item, fence))
            .transpose()
    }

    async fn lease_mint(
        &self,
        installation: InstallationId,
        scope_key: &str,
        lease: &Lease,
        fresh_until: UnixTime,
        fence: &TokenFence,
    ) -> StoreResult<bool> {
        // A token bound to another link version is stale whatever its expiry.
        let other_link = if fence.link_version.is_empty() {
            "attribute_exists(#lv)"
        } else {
            "attribute_not_exists(#lv) OR #lv <> :lv"
        };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::token(installation, scope_key)))
            .update_expression(
                "SET lease_owner = :owner, lease_until = :until, expire_at = if_not_exists(expire_at, :ttl)",
            )
            .condition_expression(format!(
                "(attribute_not_exists(lease_until) OR lease_until < :now) \
             AND (attribute_not_exists(expires_at) OR expires_at < :fresh OR #epoch < :epoch OR {other_link})"
            ))
            .expression_attribute_names("#epoch", TOKEN_EPOCH)
            .expression_attribute_names("#lv", LINK_VERSION)
            .expression_attribute_values(":epoch", n(fence.epoch))
            .expression_attribute_values(":owner", s(&lease.owner))
            .expression_attribute_values(":until", n(lease.until))
            .expression_attribute_values(":ttl", n(retention::removable_after(lease.until)))
            .expression_attribute_values(":now", n(lease.now))
            .expression_attribute_values(":fresh", n(fresh_until))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            );
        if !fence.link_version.is_empty() {
            update = update.expression_attribute_values(":lv", s(&fence.link_version));
        }
        let written = update.send().await;
        super::lease_taken(written, &lease.owner, |e| match e {
            aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => c.item(),
            _ => None,
        })
    }

    async fn store_minted(
        &self,
        installation: InstallationId,
        scope_key: &str,
        lease: &Lease,
        token: &InstallationToken,
        fence: &TokenFence,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        let epoch = fence.epoch;
        let key = keys::token(installation, scope_key);
        let sealed = self.seal(&key, "token", &token.token);
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression("lease_owner = :owner")
            .expression_attribute_values(":owner", s(&lease.owner))
            .expression_attribute_values(":token", sealed)
            .expression_attribute_values(":expires", n(token.expires_at))
            .expression_attribute_values(":ttl", n(retention::removable_after(token.expires_at)))
            .expression_attribute_values(":perms", json(&token.permissions))
            .expression_attribute_values(":selection", s(&token.repository_selection))
            .expression_attribute_values(":epoch", n(epoch))
            .expression_attribute_values(":lv", s(&fence.link_version))
            .expression_attribute_names("#token", "token")
            .expression_attribute_names("#epoch", TOKEN_EPOCH)
            .expression_attribute_names("#lv", LINK_VERSION)
            .expression_attribute_names("#permissions", "permissions");
        let mut set = "SET #token = :token, expires_at = :expires, expire_at = :ttl, \
                       #permissions = :perms, repository_selection = :selection, #epoch = :epoch, #lv = :lv"
            .to_owned();
        let mut remove = " REMOVE lease_owner, lease_until".to_owned();
        match &token.repositories {
            Some(repos) => {
                set.push_str(", repositories = :repos");
                update = update.expression_attribute_values(":repos", json(repos));
            }
            None => remove.push_str(", repositories"),
        }
        let update = update
            .update_expression(set + &remove)
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        // A lease taken just before `installation.deleted` removed the
        // partition may have recreated the item: the check on the record
        // keeps a deleted installation's partition free of tokens. And a
        // token minted before an invalidation may not reach what GitHub
        // grants now: it is not kept either.
        let still_installed = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(keys::installation(installation)))
            .condition_expression(if epoch == 0 {
                // A record written before epochs existed is at epoch 0.
                "attribute_not_exists(deleted_at) AND (attribute_not_exists(#epoch) OR #epoch = :epoch)"
            } else {
                "attribute_not_exists(deleted_at) AND #epoch = :epoch"
            })
            .expression_attribute_names("#epoch", TOKEN_EPOCH)
            .expression_attribute_values(":epoch", n(epoch))
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        // And the link must be the one the vend read: not unlinked, its
        // policy not changed. Otherwise the token could outlive the link.
        let mut still_linked = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(keys::link_from_account(&fence.account, installation)))
            .condition_expression(at_version(&fence.link_version))
            .expression_attribute_names("#lv", LINK_VERSION);
        if !fence.link_version.is_empty() {
            still_linked = still_linked.expression_attribute_values(":lv", s(&fence.link_version));
        }
        let still_linked = still_linked.build().map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut items = vec![
            TransactWriteItem::builder().update(update).build(),
            TransactWriteItem::builder().condition_check(still_installed).build(),
            TransactWriteItem::builder().condition_check(still_linked).build(),
        ];
        items.extend(self.audit_put(audit)?);
        let result = self.transact(items).await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if (0..3).any(|i| super::transaction_condition_failed(&e, i)) => Ok(false),
            Err(e) => Err(super::transaction_error(e)),
        }
    }

    async fn release_mint_lease(
        &self,
        installation: InstallationId,
        scope_key: &str,
        lease: &Lease,
    ) -> StoreResult<()> {
        // A lease taken on a scope never minted before created the item: a
        // refused mint (a scope GitHub will not grant) must not leave that
        // empty shell behind, so an item without a token goes entirely.
        let key = keys::token(installation, scope_key);
        let dropped = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key.clone()))
            .condition_expression("lease_owner = :owner AND attribute_not_exists(#token)")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":owner", s(&lease.owner))
            .send()
            .await;
        if super::conditional(dropped)?.is_some() {
            return Ok(());
        }
        self.release_lease(key, &lease.owner).await
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(item: &Item, field: &str) -> StoreResult<Option<T>> {
    get_s(item, field)
        .map(serde_json::from_str)
        .transpose()
        .map_err(|_| StoreError::Corrupt(format!("cached token {field}")))
}

/// The small non-secret metadata kept beside a token, as JSON strings.
fn json<T: serde::Serialize>(value: &T) -> aws_sdk_dynamodb::types::AttributeValue {
    s(serde_json::to_string(value).unwrap_or_default())
}

/// The token epoch an installation record or a token item carries (a
/// record written before epochs existed is at 0).
fn epoch_of(item: &Item) -> u64 {
    get_n(item, TOKEN_EPOCH).map_or(0, |e| e.max(0) as u64)
}
