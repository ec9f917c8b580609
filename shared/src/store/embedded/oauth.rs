//! OAuth states: put once, taken once (marked used inside one transaction).

use async_trait::async_trait;

use super::records::StateItem;
use super::EmbeddedStore;
use crate::domain::oauth::OAuthState;
use crate::store::{keys, retention};
use crate::store::{OAuthStates, StoreError, StoreResult};

#[async_trait]
impl OAuthStates for EmbeddedStore {
    async fn put_oauth_state(&self, state: &OAuthState) -> StoreResult<()> {
        let key = keys::oauth_state(&state.id);
        let item = StateItem {
            user: state.user.clone(),
            account: state.account.clone(),
            pkce_verifier: self.seal(&key, "pkce_verifier", &state.pkce_verifier),
            expires_at: state.expires_at,
            return_to: state.return_to.clone(),
            used: false,
            expire_at: retention::removable_after(state.expires_at),
        };
        self.write(move |w| {
            // DynamoDB: `attribute_not_exists(pk)`, a failed condition being an error.
            if w.exists(&key)? {
                return Err(StoreError::Backend("oauth state already exists".into()));
            }
            w.put(&key, &item)
        })
        .await
    }

    async fn take_oauth_state(&self, id: &str) -> StoreResult<Option<OAuthState>> {
        let key = keys::oauth_state(id);
        let in_txn = key.clone();
        let taken = self
            .write(move |w| {
                let Some(mut item) = w.get::<StateItem>(&in_txn)? else {
                    return Ok(None);
                };
                if item.used {
                    return Ok(None);
                }
                item.used = true;
                w.put(&in_txn, &item)?;
                Ok(Some(item))
            })
            .await?;
        let Some(item) = taken else { return Ok(None) };
        Ok(Some(OAuthState {
            id: id.to_owned(),
            pkce_verifier: self.open_sealed(&key, "pkce_verifier", &item.pkce_verifier)?,
            user: item.user,
            account: item.account,
            expires_at: item.expires_at,
            return_to: item.return_to,
        }))
    }
}
