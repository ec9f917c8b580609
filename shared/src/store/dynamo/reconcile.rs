//! The reconciler's items: its state (JSON) under a lease on one item,
//! each pass's listings a page per item, and a conditional put per
//! redelivery asked.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::installations::installation_from_item;
use super::{conditional, get_s, is_condition_failure, keys, n, s, DynamoStore, Item};
use crate::clock::UnixTime;
use crate::domain::reconcile::ReconcileState;
use crate::domain::{Installation, InstallationId};
use crate::store::keys as store_keys;
use crate::store::{retention, Lease, Reconciliation, StoreError, StoreResult};

const STATE: &str = "state";

fn state_of(item: &Item) -> StoreResult<ReconcileState> {
    match get_s(item, STATE) {
        None => Ok(ReconcileState::default()),
        Some(json) => serde_json::from_str(json).map_err(|_| StoreError::Corrupt("the reconciler's state".into())),
    }
}

fn installation_of(item: &Item) -> StoreResult<InstallationId> {
    get_s(item, "pk")
        .and_then(store_keys::installation_of_pk)
        .ok_or_else(|| StoreError::Corrupt("an installation record's key".into()))
}

#[async_trait]
impl Reconciliation for DynamoStore {
    async fn begin_reconcile(&self, lease: &Lease) -> StoreResult<Option<ReconcileState>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::reconcile_state()))
            .update_expression("SET lease_owner = :owner, lease_until = :until")
            .condition_expression("attribute_not_exists(lease_until) OR lease_until < :now")
            .expression_attribute_values(":owner", s(&lease.owner))
            .expression_attribute_values(":until", n(lease.until))
            .expression_attribute_values(":now", n(lease.now))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => state_of(&out.attributes.unwrap_or_default()).map(Some),
            Err(e) if is_condition_failure(&e) => {
                use aws_sdk_dynamodb::operation::update_item::UpdateItemError as E;
                let old = match e.as_service_error() {
                    Some(E::ConditionalCheckFailedException(c)) => c.item(),
                    _ => None,
                };
                // Our own lease, taken by an attempt whose answer was lost.
                match old.filter(|item| get_s(item, "lease_owner") == Some(lease.owner.as_str())) {
                    Some(item) => state_of(item).map(Some),
                    None => Ok(None),
                }
            }
            Err(e) => Err(super::backend(e)),
        }
    }

    async fn save_reconcile(&self, state: &ReconcileState, lease: &Lease, release: bool) -> StoreResult<bool> {
        let json = serde_json::to_string(state).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let expression = match release {
            true => "SET #state = :state REMOVE lease_owner, lease_until",
            false => "SET #state = :state",
        };
        let saved = conditional(
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(keys::reconcile_state()))
                .update_expression(expression)
                .condition_expression("lease_owner = :owner")
                .expression_attribute_names("#state", STATE)
                .expression_attribute_values(":state", s(json))
                .expression_attribute_values(":owner", s(&lease.owner))
                .send()
                .await,
        )?;
        Ok(saved.is_some())
    }

    async fn installations_among(
        &self,
        ids: &[InstallationId],
    ) -> StoreResult<HashMap<InstallationId, Option<Installation>>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let items = self
            .batch_get(ids.iter().map(|id| keys::installation(*id)).collect())
            .await?;
        items
            .into_iter()
            .map(|item| Ok((installation_of(&item)?, installation_from_item(item)?)))
            .collect()
    }

    async fn record_listed(&self, pass: u64, page: u32, ids: &[InstallationId], now: UnixTime) -> StoreResult<()> {
        let mut item = keys::reconcile_listing(pass, page);
        item.insert("ids".into(), AttributeValue::L(ids.iter().map(n).collect()));
        item.insert("expire_at".into(), n(now + retention::LISTING_MEMORY));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(super::backend)?;
        Ok(())
    }

    async fn listed(&self, pass: u64) -> StoreResult<HashSet<InstallationId>> {
        let pages = self
            .query_partition(&store_keys::reconcile_pass_pk(pass), Some("PAGE#"))
            .await?;
        let mut listed = HashSet::new();
        for page in pages {
            let ids = page
                .get("ids")
                .and_then(|v| v.as_l().ok())
                .ok_or_else(|| StoreError::Corrupt("a listing's ids".into()))?;
            for id in ids {
                let id = id
                    .as_n()
                    .ok()
                    .and_then(|n| InstallationId::parse(n))
                    .ok_or_else(|| StoreError::Corrupt("a listed installation id".into()))?;
                listed.insert(id);
            }
        }
        Ok(listed)
    }

    async fn held_installations(&self, after: Option<&str>) -> StoreResult<(Vec<InstallationId>, Option<String>)> {
        let start = match after {
            None => None,
            Some(cursor) => {
                let key: HashMap<String, String> =
                    serde_json::from_str(cursor).map_err(|_| StoreError::Corrupt("a scan cursor".into()))?;
                Some(key.into_iter().map(|(k, v)| (k, s(v))).collect::<Item>())
            }
        };
        // One page of a Scan (1 MB read): the table holds every kind of
        // item, and only installation records that are not tombstones
        // come back. Once per pass, spread over runs.
        let out = self
            .client
            .scan()
            .table_name(&self.table)
            // Half the read cost: an installation deleted a moment ago is
            // confirmed with GitHub and deleted again, which changes nothing.
            .consistent_read(false)
            .set_exclusive_start_key(start)
            .filter_expression("sk = :meta AND begins_with(pk, :inst) AND attribute_not_exists(deleted_at)")
            .projection_expression("pk")
            .expression_attribute_values(":meta", s("META"))
            .expression_attribute_values(":inst", s(store_keys::LINKED_INSTALLATION))
            .send()
            .await
            .map_err(super::backend)?;
        let held = out
            .items
            .unwrap_or_default()
            .iter()
            .map(installation_of)
            .collect::<StoreResult<_>>()?;
        let next = match out.last_evaluated_key {
            None => None,
            Some(key) => {
                let key: HashMap<&str, &str> = ["pk", "sk"]
                    .into_iter()
                    .filter_map(|name| Some((name, get_s(&key, name)?)))
                    .collect();
                Some(serde_json::to_string(&key).map_err(|e| StoreError::Corrupt(e.to_string()))?)
            }
        };
        Ok((held, next))
    }

    async fn claim_redelivery(&self, guid: &str, now: UnixTime) -> StoreResult<bool> {
        let mut item = keys::redelivery(guid);
        item.insert("asked_at".into(), n(now));
        item.insert("expire_at".into(), n(now + retention::REDELIVERY_MEMORY));
        let claimed = conditional(
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await,
        )?;
        Ok(claimed.is_some())
    }

    async fn release_redelivery(&self, guid: &str) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(keys::redelivery(guid)))
            .send()
            .await
            .map_err(super::backend)?;
        Ok(())
    }
}
