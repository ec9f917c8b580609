//! Users' GitHub connections. `version` fences every token write; the lease
//! makes one caller the refresher. The `gsi1` entry (GitHub user → platform
//! user) is written in the same transaction as the connection.

use async_trait::async_trait;

use super::records::{ConnectionItem, LeaseField, SealedUserTokens};
use super::txn::Writer;
use super::EmbeddedStore;
use crate::domain::tokens::UserTokens;
use crate::domain::{GitHubUserId, UserId};
use crate::store::keys::{self, Key};
use crate::store::{Connection, Connections, Lease, NewConnection, StoreResult};

impl EmbeddedStore {
    fn seal_user_tokens(&self, key: &Key, t: &UserTokens) -> SealedUserTokens {
        SealedUserTokens {
            access_token: self.seal(key, "access_token", &t.access_token),
            access_expires_at: t.access_expires_at,
            refresh_token: t.refresh_token.as_ref().map(|r| self.seal(key, "refresh_token", r)),
            refresh_expires_at: t.refresh_expires_at,
        }
    }

    fn connection_from_item(&self, item: ConnectionItem) -> StoreResult<Connection> {
        let key = keys::connection(&item.user);
        let opened = item.tokens.map(|t| -> StoreResult<UserTokens> {
            Ok(UserTokens {
                access_token: self.open_sealed(&key, "access_token", &t.access_token)?,
                access_expires_at: t.access_expires_at,
                refresh_token: t
                    .refresh_token
                    .map(|r| self.open_sealed(&key, "refresh_token", &r))
                    .transpose()?,
                refresh_expires_at: t.refresh_expires_at,
            })
        });
        let tokens = crate::store::readable_or_dropped(opened);
        Ok(Connection {
            user: item.user,
            github_user_id: item.github_user_id,
            login: item.login,
            tokens,
            version: item.version,
            lease_until: item.lease.map(|l| l.until),
        })
    }

    /// Replaces the tokens (`None`: drops them), bumps the version and drops
    /// the lease, only while the connection is at `version`.
    async fn write_tokens_at(
        &self,
        user: &UserId,
        version: u64,
        tokens: Option<SealedUserTokens>,
    ) -> StoreResult<bool> {
        let key = keys::connection(user);
        self.write(move |w| {
            let Some(mut item) = w.get::<ConnectionItem>(&key)? else {
                return Ok(false);
            };
            if item.version != version {
                return Ok(false);
            }
            item.tokens = tokens;
            item.version += 1;
            item.lease = None;
            w.put(&key, &item).map(|()| true)
        })
        .await
    }
}

/// Drops the user's tokens inside `w`. The item is kept, not deleted: a
/// version that restarted at zero would let a refresh from before the
/// disconnect land on a later reconnect. No connection is no error.
pub(super) fn disconnect(w: &Writer, user: &UserId) -> StoreResult<()> {
    let key = keys::connection(user);
    if let Some(mut item) = w.get::<ConnectionItem>(&key)? {
        w.index_delete(&keys::github_user_index(item.github_user_id, &item.user))?;
        item.tokens = None;
        item.lease = None;
        item.version += 1;
        item.disconnected = true;
        w.put(&key, &item)?;
    }
    Ok(())
}

#[async_trait]
impl Connections for EmbeddedStore {
    async fn get_connection(&self, user: &UserId) -> StoreResult<Option<Connection>> {
        let key = keys::connection(user);
        let item = self.read(move |r| r.get::<ConnectionItem>(&key)).await?;
        item.filter(|i| !i.disconnected)
            .map(|i| self.connection_from_item(i))
            .transpose()
    }

    async fn put_connection(&self, c: &NewConnection) -> StoreResult<()> {
        let key = keys::connection(&c.user);
        let tokens = self.seal_user_tokens(&key, &c.tokens);
        let (user, github_user_id, login) = (c.user.clone(), c.github_user_id, c.login.clone());
        self.write(move |w| {
            // Unconditional, but the version continues from the stored one.
            let previous = w.get::<ConnectionItem>(&key)?;
            if let Some(old) = &previous {
                w.index_delete(&keys::github_user_index(old.github_user_id, &old.user))?;
            }
            let item = ConnectionItem {
                version: previous.map_or(0, |p| p.version) + 1,
                user,
                github_user_id,
                login,
                tokens: Some(tokens),
                lease: None,
                disconnected: false,
            };
            w.index_put(&keys::github_user_index(item.github_user_id, &item.user))?;
            w.put(&key, &item)
        })
        .await
    }

    async fn delete_connection(&self, user: &UserId) -> StoreResult<()> {
        let user = user.clone();
        self.write(move |w| disconnect(w, &user)).await
    }

    async fn users_of_github_user(&self, github_user: GitHubUserId) -> StoreResult<Vec<UserId>> {
        let pk = keys::github_user_index_pk(github_user);
        let entries = self.read(move |r| r.index(&pk)).await?;
        Ok(entries.iter().filter_map(|sk| keys::user_of_index(sk)).collect())
    }

    async fn lease_refresh(&self, user: &UserId, version: u64, lease: &Lease) -> StoreResult<bool> {
        let key = keys::connection(user);
        let lease = lease.clone();
        self.write(move |w| {
            let Some(mut item) = w.get::<ConnectionItem>(&key)? else {
                return Ok(false);
            };
            if item.version != version || !LeaseField::is_free(&item.lease, lease.now) {
                return Ok(false);
            }
            item.lease = Some(LeaseField {
                owner: lease.owner,
                until: lease.until,
            });
            w.put(&key, &item).map(|()| true)
        })
        .await
    }

    async fn complete_refresh(&self, user: &UserId, version: u64, tokens: &UserTokens) -> StoreResult<bool> {
        let sealed = self.seal_user_tokens(&keys::connection(user), tokens);
        self.write_tokens_at(user, version, Some(sealed)).await
    }

    async fn release_refresh_lease(&self, user: &UserId, lease: &Lease) -> StoreResult<()> {
        let key = keys::connection(user);
        let owner = lease.owner.clone();
        self.write(move |w| {
            if let Some(mut item) = w.get::<ConnectionItem>(&key)? {
                if LeaseField::is_held_by(&item.lease, &owner) {
                    item.lease = None;
                    w.put(&key, &item)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn require_reauthorization(&self, user: &UserId, version: u64) -> StoreResult<()> {
        self.write_tokens_at(user, version, None).await.map(drop)
    }
}
