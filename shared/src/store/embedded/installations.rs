//! Installations, links and their removal. As in the DynamoDB table, an
//! installation's partition (`INST#id`) holds its record, its links as seen
//! from it and its cached tokens; here uninstalling (tombstone, links in both
//! directions, tokens) is a single transaction rather than a sequence.

use std::collections::HashSet;

use async_trait::async_trait;

use super::records::{InstallationRecord, LinkItem, MetaItem};
use super::revocations::move_to_revocation;
use super::txn::Writer;
use super::EmbeddedStore;
use crate::clock::UnixTime;
use crate::crypto::TokenSealer;
use crate::domain::audit::AuditRecord;
use crate::domain::{AccountId, Installation, InstallationId, LinkPolicy};
use crate::store::keys;
use crate::store::{Applied, Installations, LinkedInstallation, StoreResult, StoredLink, Upsert};

/// The installation ids an account's links name, in sort-key order.
fn linked_ids(sort_keys: &[String]) -> impl Iterator<Item = InstallationId> + '_ {
    sort_keys.iter().filter_map(|sk| keys::linked_installation(sk))
}

/// Writes the installation as GitHub showed it at `read_at` inside `w`,
/// unless it is a tombstone ([`Applied::Gone`]) or a read begun later was
/// written already ([`Applied::Stale`]: kept as it is). Invalidating its
/// tokens deletes them, leases included, in the same transaction (also for
/// a stale read): a mint under such a lease then finds nothing to store into.
pub(super) fn upsert(
    w: &Writer,
    installation: &Installation,
    invalidate_tokens: bool,
    read_at: i64,
) -> StoreResult<Applied> {
    let key = keys::installation(installation.id);
    let applied = match w.get::<MetaItem>(&key)? {
        Some(MetaItem::Tombstone { .. }) => return Ok(Applied::Gone),
        Some(MetaItem::Installation(InstallationRecord {
            synced_at: Some(synced),
            ..
        })) if synced >= read_at => Applied::Stale,
        _ => {
            let record = InstallationRecord {
                installation: installation.clone(),
                synced_at: Some(read_at),
            };
            w.put(&key, &MetaItem::Installation(record))?;
            Applied::Done
        }
    };
    if invalidate_tokens {
        drop_tokens(w, installation.id)?;
    }
    Ok(applied)
}

/// The tombstone, then every link of the installation, in `w`; its tokens
/// move to pending revocation.
pub(super) fn delete(w: &Writer, sealer: &TokenSealer, id: InstallationId, now: UnixTime) -> StoreResult<()> {
    w.put(&keys::installation(id), &MetaItem::Tombstone { id, deleted_at: now })?;
    let pk = keys::installation_pk(id);
    for sk in w.sort_keys(&pk, "")? {
        if let Some(account) = keys::linked_account(&sk) {
            w.delete(&keys::link_from_account(&account, id))?;
            w.delete(&keys::link_from_installation(id, &account))?;
        }
    }
    move_to_revocation(w, sealer, id, keys::TOKEN)
}

fn drop_tokens(w: &Writer, id: InstallationId) -> StoreResult<()> {
    for sk in w.sort_keys(&keys::installation_pk(id), keys::TOKEN)? {
        if let Some(scope_key) = keys::token_scope(&sk) {
            w.delete(&keys::token(id, scope_key))?;
        }
    }
    Ok(())
}

#[async_trait]
impl Installations for EmbeddedStore {
    async fn get_installation(&self, id: InstallationId) -> StoreResult<Option<Installation>> {
        let key = keys::installation(id);
        let record = self.read(move |r| r.get::<MetaItem>(&key)).await?;
        Ok(record.and_then(MetaItem::live))
    }

    async fn link(
        &self,
        account: &AccountId,
        installation: &Installation,
        policy: &LinkPolicy,
        audit: &AuditRecord,
    ) -> StoreResult<Upsert> {
        let audit = audit.clone();
        let account = account.clone();
        let installation = installation.clone();
        let policy = (!policy.is_whole_installation()).then(|| policy.clone());
        let link_version = crate::crypto::random::token_urlsafe();
        self.write(move |w| {
            let id = installation.id;
            let record_key = keys::installation(id);
            if MetaItem::is_tombstone(&w.get(&record_key)?) {
                return Ok(Upsert::Gone);
            }
            let link = LinkItem {
                account: account.clone(),
                installation_id: id,
                policy,
                link_version,
            };
            // Only a record missing is written: the user's view of the
            // installation is no newer than the webhooks', so a link racing
            // a suspension never makes the installation active again.
            if w.get::<MetaItem>(&record_key)?.is_none() {
                let record = InstallationRecord {
                    installation,
                    synced_at: None,
                };
                w.put(&record_key, &MetaItem::Installation(record))?;
            }
            w.put(&keys::link_from_account(&account, id), &link)?;
            w.put(&keys::link_from_installation(id, &account), &link)?;
            super::audit::put(w, &audit)?;
            Ok(Upsert::Written)
        })
        .await
    }

    async fn get_link(&self, account: &AccountId, installation: InstallationId) -> StoreResult<Option<StoredLink>> {
        let key = keys::link_from_account(account, installation);
        let item = self.read(move |r| r.get::<LinkItem>(&key)).await?;
        Ok(item.as_ref().map(LinkItem::stored))
    }

    async fn set_policy(
        &self,
        account: &AccountId,
        installation: InstallationId,
        policy: &LinkPolicy,
        version: &str,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        let audit = audit.clone();
        let forward = keys::link_from_account(account, installation);
        let reverse = keys::link_from_installation(installation, account);
        let policy = (!policy.is_whole_installation()).then(|| policy.clone());
        let version = version.to_owned();
        self.write(move |w| {
            let Some(mut link) = w.get::<LinkItem>(&forward)? else {
                return Ok(false);
            };
            if link.link_version != version {
                return Ok(false);
            }
            link.policy = policy;
            link.link_version = crate::crypto::random::token_urlsafe();
            w.put(&forward, &link)?;
            w.put(&reverse, &link)?;
            super::audit::put(w, &audit)?;
            Ok(true)
        })
        .await
    }

    async fn unlink(
        &self,
        account: &AccountId,
        installation: InstallationId,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        let audit = audit.clone();
        let forward = keys::link_from_account(account, installation);
        let reverse = keys::link_from_installation(installation, account);
        self.write(move |w| {
            // As the DynamoDB transaction: nothing happens unless the
            // account's side of the link exists.
            if !w.exists(&forward)? {
                return Ok(false);
            }
            w.delete(&forward)?;
            w.delete(&reverse)?;
            super::audit::put(w, &audit)?;
            Ok(true)
        })
        .await
    }

    async fn linked_installations(&self, account: &AccountId) -> StoreResult<Vec<LinkedInstallation>> {
        let account = account.clone();
        let mut found = self
            .read(move |r| {
                let links = r.sort_keys(&keys::account_pk(&account), keys::LINKED_INSTALLATION)?;
                let mut found = Vec::new();
                for id in linked_ids(&links) {
                    let link = r.get::<LinkItem>(&keys::link_from_account(&account, id))?;
                    if let Some(installation) = r.get::<MetaItem>(&keys::installation(id))?.and_then(MetaItem::live) {
                        found.push(LinkedInstallation {
                            installation,
                            policy: link.and_then(|l| l.policy).unwrap_or_default(),
                        });
                    }
                }
                Ok(found)
            })
            .await?;
        found.sort_by_key(|l| l.installation.id);
        Ok(found)
    }

    async fn links_of_installation(&self, installation: InstallationId) -> StoreResult<Vec<(AccountId, StoredLink)>> {
        self.read(move |r| {
            let mut found = Vec::new();
            for sk in r.sort_keys(&keys::installation_pk(installation), keys::LINKED_ACCOUNT)? {
                let Some(account) = keys::linked_account(&sk) else {
                    continue;
                };
                if let Some(link) = r.get::<LinkItem>(&keys::link_from_installation(installation, &account))? {
                    found.push((account, link.stored()));
                }
            }
            Ok(found)
        })
        .await
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
        let accounts = accounts.to_vec();
        self.read(move |r| {
            let mut found = Vec::new();
            for account in accounts {
                let links = r.sort_keys(&keys::account_pk(&account), keys::LINKED_INSTALLATION)?;
                found.extend(
                    linked_ids(&links)
                        .filter(|id| wanted.contains(id))
                        .map(|id| (account.clone(), id)),
                );
            }
            Ok(found)
        })
        .await
    }
}
