//! Tokens on their way to being revoked at GitHub, as in the DynamoDB
//! table: moved out of the cache into `INST#id` / `REVOKE#{sha256}`, sealed
//! under that key, until GitHub confirms or the token expires.

use async_trait::async_trait;

use super::records::{RevocationItem, TokenItem};
use super::txn::Writer;
use super::EmbeddedStore;
use crate::crypto::digest::token_sha256;
use crate::crypto::TokenSealer;
use crate::domain::audit::AuditRecord;
use crate::domain::{AccountId, InstallationId};
use crate::store::keys;
use crate::store::{retention, PendingRevocation, Revocations, StoreResult};

/// Moves the installation's cached tokens under the sort-key prefix
/// `prefix` to pending revocation, in `w`. A token that does not open
/// cannot be revoked: it is only removed.
pub(super) fn move_to_revocation(
    w: &Writer,
    sealer: &TokenSealer,
    id: InstallationId,
    prefix: &str,
) -> StoreResult<()> {
    for sk in w.sort_keys(&keys::installation_pk(id), prefix)? {
        let Some(scope_key) = keys::token_scope(&sk) else {
            continue;
        };
        let key = keys::token(id, scope_key);
        let Some(TokenItem { token: Some(t), .. }) = w.get::<TokenItem>(&key)? else {
            continue;
        };
        w.delete(&key)?;
        let Ok(token) = sealer.open(&t.token, &key.aad("token")) else {
            tracing::warn!(installation = %id, "a cached token that does not open is dropped, not revoked");
            continue;
        };
        let pending = keys::revocation(id, &token_sha256(&token));
        let item = RevocationItem {
            token: sealer.seal(&token, &pending.aad("token")),
            expires_at: t.expires_at,
            account: keys::account_of_scope(scope_key),
            expire_at: retention::removable_after(t.expires_at),
        };
        w.put(&pending, &item)?;
    }
    Ok(())
}

#[async_trait]
impl Revocations for EmbeddedStore {
    async fn take_tokens(
        &self,
        installation: InstallationId,
        account: Option<&AccountId>,
    ) -> StoreResult<Vec<PendingRevocation>> {
        let prefix = account.map_or_else(|| keys::TOKEN.to_owned(), keys::tokens_of);
        let sealer = self.sealer.clone();
        self.write(move |w| move_to_revocation(w, &sealer, installation, &prefix))
            .await?;
        self.pending_revocations(installation).await
    }

    async fn pending_revocations(&self, installation: InstallationId) -> StoreResult<Vec<PendingRevocation>> {
        let pending = self
            .read(move |r| {
                let mut pending = Vec::new();
                for sk in r.sort_keys(&keys::installation_pk(installation), keys::REVOCATION)? {
                    let Some(sha) = keys::revocation_of(&sk) else { continue };
                    let key = keys::revocation(installation, sha);
                    if let Some(item) = r.get::<RevocationItem>(&key)? {
                        pending.push((key, sha.to_owned(), item));
                    }
                }
                Ok(pending)
            })
            .await?;
        let mut found = Vec::new();
        for (key, token_sha256, item) in pending {
            match self.open_sealed(&key, "token", &item.token) {
                Ok(token) => found.push(PendingRevocation {
                    installation,
                    token_sha256,
                    account: item.account,
                    token,
                    expires_at: item.expires_at,
                }),
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
        let key = keys::revocation(installation, token_sha256);
        let audit = audit.cloned();
        self.write(move |w| {
            w.delete(&key)?;
            audit.iter().try_for_each(|a| super::audit::put(w, a))
        })
        .await
    }
}
