//! The reconciler's items: its state under a lease, each pass's listings
//! and its claims on redeliveries, each a read-check-write in one
//! transaction like the DynamoDB adapter's conditions.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::records::{LeaseField, MetaItem};
use super::EmbeddedStore;
use crate::clock::UnixTime;
use crate::domain::reconcile::ReconcileState;
use crate::domain::{Installation, InstallationId};
use crate::store::{keys, retention, Lease, Reconciliation, StoreError, StoreResult};

/// How many installations a page of [`Reconciliation::held_installations`]
/// holds: about what a 1 MB DynamoDB Scan page brings.
const HELD_PAGE: usize = 1000;

/// `RECONCILE` / `STATE`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct StateItem {
    #[serde(default)]
    state: ReconcileState,
    #[serde(default)]
    lease: Option<LeaseField>,
}

/// `RECONCILE#PASS#{n}` / `PAGE#{k}`.
#[derive(Debug, Serialize, Deserialize)]
struct ListingItem {
    ids: Vec<InstallationId>,
    expire_at: UnixTime,
}

/// `REDELIVER#{guid}` / `REDELIVER`.
#[derive(Debug, Serialize, Deserialize)]
struct RedeliveryItem {
    asked_at: UnixTime,
    expire_at: UnixTime,
}

#[async_trait]
impl Reconciliation for EmbeddedStore {
    async fn begin_reconcile(&self, lease: &Lease) -> StoreResult<Option<ReconcileState>> {
        let lease = lease.clone();
        self.write(move |w| {
            let key = keys::reconcile_state();
            let mut item = w.get::<StateItem>(&key)?.unwrap_or_default();
            if !LeaseField::is_free(&item.lease, lease.now) {
                return Ok(None);
            }
            item.lease = Some(LeaseField {
                owner: lease.owner,
                until: lease.until,
            });
            w.put(&key, &item)?;
            Ok(Some(item.state))
        })
        .await
    }

    async fn save_reconcile(&self, state: &ReconcileState, lease: &Lease, release: bool) -> StoreResult<bool> {
        let (state, owner) = (state.clone(), lease.owner.clone());
        self.write(move |w| {
            let key = keys::reconcile_state();
            let Some(mut item) = w.get::<StateItem>(&key)? else {
                return Ok(false);
            };
            if !LeaseField::is_held_by(&item.lease, &owner) {
                return Ok(false);
            }
            item.state = state;
            if release {
                item.lease = None;
            }
            w.put(&key, &item).map(|()| true)
        })
        .await
    }

    async fn installations_among(
        &self,
        ids: &[InstallationId],
    ) -> StoreResult<HashMap<InstallationId, Option<Installation>>> {
        let ids = ids.to_vec();
        self.read(move |r| {
            let mut found = HashMap::new();
            for id in ids {
                if let Some(meta) = r.get::<MetaItem>(&keys::installation(id))? {
                    found.insert(id, meta.live());
                }
            }
            Ok(found)
        })
        .await
    }

    async fn record_listed(&self, pass: u64, page: u32, ids: &[InstallationId], now: UnixTime) -> StoreResult<()> {
        let item = ListingItem {
            ids: ids.to_vec(),
            expire_at: now + retention::LISTING_MEMORY,
        };
        self.write(move |w| w.put(&keys::reconcile_listing(pass, page), &item))
            .await
    }

    async fn listed(&self, pass: u64) -> StoreResult<HashSet<InstallationId>> {
        self.read(move |r| {
            let pk = keys::reconcile_pass_pk(pass);
            let mut listed = HashSet::new();
            for sk in r.sort_keys(&pk, "PAGE#")? {
                let key = keys::Key::new(pk.clone(), sk);
                if let Some(item) = r.get::<ListingItem>(&key)? {
                    listed.extend(item.ids);
                }
            }
            Ok(listed)
        })
        .await
    }

    async fn held_installations(&self, after: Option<&str>) -> StoreResult<(Vec<InstallationId>, Option<String>)> {
        let after = after.map(str::to_owned);
        self.read(move |r| {
            let (items, more) = r.scan::<MetaItem>(keys::LINKED_INSTALLATION, "META", after.as_deref(), HELD_PAGE)?;
            let next = more.then(|| items.last().map(|(pk, _)| pk.clone())).flatten();
            let live = items
                .into_iter()
                .filter(|(_, meta)| !matches!(meta, MetaItem::Tombstone { .. }))
                .map(|(pk, _)| {
                    keys::installation_of_pk(&pk)
                        .ok_or_else(|| StoreError::Corrupt(format!("{pk} names no installation")))
                })
                .collect::<StoreResult<_>>()?;
            Ok((live, next))
        })
        .await
    }

    async fn claim_redelivery(&self, guid: &str, now: UnixTime) -> StoreResult<bool> {
        let key = keys::redelivery(guid);
        self.write(move |w| {
            if w.exists(&key)? {
                return Ok(false);
            }
            let item = RedeliveryItem {
                asked_at: now,
                expire_at: now + retention::REDELIVERY_MEMORY,
            };
            w.put(&key, &item).map(|()| true)
        })
        .await
    }

    async fn release_redelivery(&self, guid: &str) -> StoreResult<()> {
        let key = keys::redelivery(guid);
        self.write(move |w| w.delete(&key).map(drop)).await
    }
}
