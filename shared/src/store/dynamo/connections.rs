//! Users' GitHub connections. The `version` attribute fences every token
//! write; the lease attributes make one container the refresher.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::expr::UpdateExpr;
use super::{get_n, get_s, keys, n, s, DynamoStore, Item};
use crate::domain::tokens::UserTokens;
use crate::domain::{GitHubUserId, UserId};
use crate::store::{Connection, Connections, Lease, NewConnection, StoreError, StoreResult};

const TOKEN_FIELDS: [&str; 4] = [
    "access_token",
    "access_expires_at",
    "refresh_token",
    "refresh_expires_at",
];

/// A disconnect never creates the item it marks.
pub(super) const CONNECTED: &str = "attribute_exists(pk)";

impl DynamoStore {
    fn token_update(&self, key: &Item, tokens: Option<&UserTokens>) -> UpdateExpr {
        let mut u = UpdateExpr::default();
        match tokens {
            Some(t) => {
                u.set("access_token", Some(self.seal(key, "access_token", &t.access_token)));
                u.set("access_expires_at", t.access_expires_at.map(n));
                u.set(
                    "refresh_token",
                    t.refresh_token.as_ref().map(|r| self.seal(key, "refresh_token", r)),
                );
                u.set("refresh_expires_at", t.refresh_expires_at.map(n));
            }
            None => TOKEN_FIELDS.iter().for_each(|f| u.set(f, None)),
        }
        u.set("lease_owner", None);
        u.set("lease_until", None);
        u
    }

    /// Applies `u` plus a version bump, only while the item is at `version`
    /// (or unconditionally when `version` is `None`).
    async fn write_versioned(&self, key: Item, mut u: UpdateExpr, version: Option<u64>) -> StoreResult<bool> {
        u.add("version", 1);
        let mut req = u.on(self.client.update_item().table_name(&self.table).set_key(Some(key)));
        if let Some(v) = version {
            req = req
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", n(v));
        }
        Ok(super::conditional(req.send().await)?.is_some())
    }

    /// The write that disconnects `user`, for `delete_connection` and for
    /// a revocation's transaction (with the condition [`CONNECTED`]).
    pub(super) fn disconnect(&self, user: &UserId) -> (Item, UpdateExpr) {
        let key = keys::connection(user);
        let mut u = self.token_update(&key, None);
        u.set("gsi1pk", None);
        u.set("gsi1sk", None);
        u.set(
            "disconnected",
            Some(aws_sdk_dynamodb::types::AttributeValue::Bool(true)),
        );
        u.add("version", 1);
        (key, u)
    }

    fn connection_from_item(&self, item: Item) -> StoreResult<Connection> {
        let corrupt = || StoreError::Corrupt("connection".into());
        let user = get_s(&item, "user").and_then(UserId::parse).ok_or_else(corrupt)?;
        let key = keys::connection(&user);
        let opened = get_s(&item, "access_token").map(|sealed| -> StoreResult<UserTokens> {
            Ok(UserTokens {
                access_token: self.open(&key, "access_token", sealed)?,
                access_expires_at: get_n(&item, "access_expires_at"),
                refresh_token: get_s(&item, "refresh_token")
                    .map(|r| self.open(&key, "refresh_token", r))
                    .transpose()?,
                refresh_expires_at: get_n(&item, "refresh_expires_at"),
            })
        });
        let tokens = crate::store::readable_or_dropped(opened);
        Ok(Connection {
            github_user_id: get_n(&item, "github_user_id")
                .map(|id| GitHubUserId(id as u64))
                .ok_or_else(corrupt)?,
            login: get_s(&item, "login").ok_or_else(corrupt)?.to_owned(),
            version: get_n(&item, "version").unwrap_or(0) as u64,
            lease_until: get_n(&item, "lease_until"),
            tokens,
            user,
        })
    }
}

#[async_trait]
impl Connections for DynamoStore {
    async fn get_connection(&self, user: &UserId) -> StoreResult<Option<Connection>> {
        self.get(keys::connection(user))
            .await?
            .filter(|item| !item.contains_key("disconnected"))
            .map(|item| self.connection_from_item(item))
            .transpose()
    }

    async fn put_connection(&self, c: &NewConnection) -> StoreResult<()> {
        let key = keys::connection(&c.user);
        let mut u = self.token_update(&key, Some(&c.tokens));
        u.set("user", Some(s(c.user.as_str())));
        u.set("github_user_id", Some(n(c.github_user_id)));
        u.set("login", Some(s(&c.login)));
        let index = crate::store::keys::github_user_index(c.github_user_id, &c.user);
        u.set("gsi1pk", Some(s(index.pk)));
        u.set("gsi1sk", Some(s(index.sk)));
        u.set("disconnected", None);
        self.write_versioned(key, u, None).await.map(drop)
    }

    /// Keeps the item, tokenless and out of the index: deleting it would
    /// restart its version, and a refresh that began before the disconnect
    /// could then land on a later reconnect's grant.
    async fn delete_connection(&self, user: &UserId) -> StoreResult<()> {
        let (key, u) = self.disconnect(user);
        // Only an existing connection is marked; none is not an error.
        let written = u
            .on(self.client.update_item().table_name(&self.table).set_key(Some(key)))
            .condition_expression(CONNECTED)
            .send()
            .await;
        super::conditional(written).map(drop)
    }

    async fn users_of_github_user(&self, github_user: GitHubUserId) -> StoreResult<Vec<UserId>> {
        let mut users = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi1")
                .key_condition_expression("gsi1pk = :pk")
                .expression_attribute_values(":pk", s(keys::github_user_index_pk(github_user)))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(super::backend)?;
            // The index projects keys only: the user is in the sort key.
            users.extend(
                out.items()
                    .iter()
                    .filter_map(|i| crate::store::keys::user_of_index(get_s(i, "gsi1sk")?)),
            );
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(users);
            }
        }
    }

    async fn lease_refresh(&self, user: &UserId, version: u64, lease: &Lease) -> StoreResult<bool> {
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::connection(user)))
            .update_expression("SET lease_owner = :owner, lease_until = :until")
            .condition_expression("version = :v AND (attribute_not_exists(lease_until) OR lease_until < :now)")
            .expression_attribute_values(":owner", s(&lease.owner))
            .expression_attribute_values(":until", n(lease.until))
            .expression_attribute_values(":v", n(version))
            .expression_attribute_values(":now", n(lease.now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        super::lease_taken(written, &lease.owner, |e| match e {
            UpdateItemError::ConditionalCheckFailedException(c) => c.item(),
            _ => None,
        })
    }

    async fn complete_refresh(&self, user: &UserId, version: u64, tokens: &UserTokens) -> StoreResult<bool> {
        let key = keys::connection(user);
        let u = self.token_update(&key, Some(tokens));
        self.write_versioned(key, u, Some(version)).await
    }

    async fn release_refresh_lease(&self, user: &UserId, lease: &Lease) -> StoreResult<()> {
        self.release_lease(keys::connection(user), &lease.owner).await
    }

    async fn require_reauthorization(&self, user: &UserId, version: u64) -> StoreResult<()> {
        let key = keys::connection(user);
        let u = self.token_update(&key, None);
        self.write_versioned(key, u, Some(version)).await.map(drop)
    }
}
