//! Cached installation tokens, one item per installation and cache key
//! (the service's: account and scope), with a mint lease so that all
//! callers together mint once per key.

use async_trait::async_trait;

use super::records::{LeaseField, LinkItem, MetaItem, SealedInstallationToken, TokenItem};
use super::EmbeddedStore;
use crate::clock::UnixTime;
use crate::domain::audit::AuditRecord;
use crate::domain::tokens::InstallationToken;
use crate::domain::{AccountId, InstallationId};
use crate::store::keys::{self, Key};
use crate::store::retention;
use crate::store::{CachedToken, Lease, StoreResult, TokenCache, TokenFence, VendSnapshot};

impl EmbeddedStore {
    /// A token minted under another link version is left out; one that
    /// does not open is left out and marked unreadable.
    fn cached_from_item(&self, key: &Key, item: TokenItem, link_version: &str) -> StoreResult<CachedToken> {
        let lease_until = item.lease.map(|l| l.until);
        let Some(t) = item.token.filter(|_| item.link_version == link_version) else {
            return Ok(CachedToken {
                token: None,
                lease_until,
                unreadable: false,
            });
        };
        let Ok(token) = self.open_sealed(key, "token", &t.token) else {
            tracing::warn!("a cached installation token does not open; it will be minted again");
            return Ok(CachedToken {
                token: None,
                lease_until,
                unreadable: true,
            });
        };
        Ok(CachedToken {
            token: Some(InstallationToken {
                token,
                expires_at: t.expires_at,
                permissions: t.permissions,
                repository_selection: t.repository_selection,
                repositories: t.repositories,
            }),
            lease_until,
            unreadable: false,
        })
    }
}

#[async_trait]
impl TokenCache for EmbeddedStore {
    async fn vend_snapshot(
        &self,
        account: &AccountId,
        installation: InstallationId,
        scope_key: &str,
    ) -> StoreResult<VendSnapshot> {
        let link_key = keys::link_from_account(account, installation);
        let record_key = keys::installation(installation);
        let token_key = keys::token(installation, scope_key);
        let in_txn = token_key.clone();
        // One read transaction: the three items as of one instant.
        let (link, record, cached) = self
            .read(move |r| {
                Ok((
                    r.get::<LinkItem>(&link_key)?,
                    r.get::<MetaItem>(&record_key)?,
                    r.get::<TokenItem>(&in_txn)?,
                ))
            })
            .await?;
        let link = link.as_ref().map(LinkItem::stored);
        let version = link.as_ref().map(|l| l.version.clone()).unwrap_or_default();
        Ok(VendSnapshot {
            link,
            installation: record.and_then(MetaItem::live),
            cached: cached
                .map(|c| self.cached_from_item(&token_key, c, &version))
                .transpose()?,
            // An invalidation deletes the tokens and their leases in its own
            // transaction: there is never an older epoch's token to skip.
            token_epoch: 0,
        })
    }

    async fn account_snapshots(&self, account: &AccountId, scope_key: &str) -> StoreResult<Vec<VendSnapshot>> {
        let account = account.clone();
        let scope = scope_key.to_owned();
        let read = self
            .read(move |r| {
                let mut found = Vec::new();
                for sk in r.sort_keys(&keys::account_pk(&account), keys::LINKED_INSTALLATION)? {
                    let Some(id) = keys::linked_installation(&sk) else {
                        continue;
                    };
                    let link = r.get::<LinkItem>(&keys::link_from_account(&account, id))?;
                    let record = r.get::<MetaItem>(&keys::installation(id))?;
                    let token = r.get::<TokenItem>(&keys::token(id, &scope))?;
                    found.push((id, link, record, token));
                }
                Ok(found)
            })
            .await?;
        let mut snapshots = Vec::new();
        for (id, link, record, token) in read {
            let Some(installation) = record.and_then(MetaItem::live) else {
                continue;
            };
            let link = link.as_ref().map(LinkItem::stored);
            let version = link.as_ref().map(|l| l.version.clone()).unwrap_or_default();
            snapshots.push(VendSnapshot {
                link,
                installation: Some(installation),
                cached: token
                    .map(|t| self.cached_from_item(&keys::token(id, scope_key), t, &version))
                    .transpose()?,
                token_epoch: 0,
            });
        }
        Ok(snapshots)
    }

    async fn cached_token(
        &self,
        installation: InstallationId,
        scope_key: &str,
        fence: &TokenFence,
    ) -> StoreResult<Option<CachedToken>> {
        let key = keys::token(installation, scope_key);
        let in_txn = key.clone();
        let item = self.read(move |r| r.get::<TokenItem>(&in_txn)).await?;
        item.map(|i| self.cached_from_item(&key, i, &fence.link_version))
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
        let key = keys::token(installation, scope_key);
        let lease = lease.clone();
        let link_version = fence.link_version.clone();
        self.write(move |w| {
            // Like the DynamoDB `UpdateItem`, this creates the item if absent.
            let mut item = w.get::<TokenItem>(&key)?.unwrap_or_default();
            let stored_is_fresh =
                item.link_version == link_version && item.token.as_ref().is_some_and(|t| t.expires_at >= fresh_until);
            if !LeaseField::is_free(&item.lease, lease.now) || stored_is_fresh {
                return Ok(false);
            }
            item.expire_at.get_or_insert(retention::removable_after(lease.until));
            item.lease = Some(LeaseField {
                owner: lease.owner,
                until: lease.until,
            });
            w.put(&key, &item).map(|()| true)
        })
        .await
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
        let audit = audit.clone();
        let key = keys::token(installation, scope_key);
        let sealed = SealedInstallationToken {
            token: self.seal(&key, "token", &token.token),
            expires_at: token.expires_at,
            permissions: token.permissions.clone(),
            repository_selection: token.repository_selection.clone(),
            repositories: token.repositories.clone(),
        };
        let owner = lease.owner.clone();
        let record = keys::installation(installation);
        let link = keys::link_from_account(&fence.account, installation);
        let link_version = fence.link_version.clone();
        self.write(move |w| {
            // Gone (dropped, or the installation deleted) or leased by
            // someone else since: nothing is written. A lease taken after
            // the deletion recreated the item: the tombstone refuses it.
            if MetaItem::is_tombstone(&w.get::<MetaItem>(&record)?) {
                return Ok(false);
            }
            // Unlinked or its policy changed since the vend read it: the
            // token could outlive the link.
            if w.get::<LinkItem>(&link)?.is_none_or(|l| l.link_version != link_version) {
                return Ok(false);
            }
            let Some(mut item) = w.get::<TokenItem>(&key)? else {
                return Ok(false);
            };
            if !LeaseField::is_held_by(&item.lease, &owner) {
                return Ok(false);
            }
            item.expire_at = Some(retention::removable_after(sealed.expires_at));
            item.token = Some(sealed);
            item.link_version = link_version;
            item.lease = None;
            w.put(&key, &item)?;
            super::audit::put(w, &audit).map(|()| true)
        })
        .await
    }

    async fn release_mint_lease(
        &self,
        installation: InstallationId,
        scope_key: &str,
        lease: &Lease,
    ) -> StoreResult<()> {
        let key = keys::token(installation, scope_key);
        let owner = lease.owner.clone();
        self.write(move |w| {
            if let Some(mut item) = w.get::<TokenItem>(&key)? {
                if LeaseField::is_held_by(&item.lease, &owner) {
                    // As in DynamoDB: an item the lease created, holding no
                    // token, goes entirely rather than staying an empty shell.
                    if item.token.is_none() {
                        w.delete(&key)?;
                    } else {
                        item.lease = None;
                        w.put(&key, &item)?;
                    }
                }
            }
            Ok(())
        })
        .await
    }
}
