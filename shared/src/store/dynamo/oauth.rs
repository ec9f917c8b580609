//! OAuth states: put once, taken once (a conditional update marks them used).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;

use super::{get_n, get_s, keys, n, s, DynamoStore};
use crate::domain::oauth::OAuthState;
use crate::domain::{AccountId, UserId};
use crate::store::{retention, OAuthStates, StoreError, StoreResult};

#[async_trait]
impl OAuthStates for DynamoStore {
    async fn put_oauth_state(&self, state: &OAuthState) -> StoreResult<()> {
        let key = keys::oauth_state(&state.id);
        let verifier = self.seal(&key, "pkce_verifier", &state.pkce_verifier);
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(key))
            .item("user", s(state.user.as_str()))
            .item("pkce_verifier", verifier)
            .item("expires_at", n(state.expires_at))
            .item("expire_at", n(retention::removable_after(state.expires_at)))
            .condition_expression("attribute_not_exists(pk)");
        if let Some(account) = &state.account {
            put = put.item("account", s(account.as_str()));
        }
        if let Some(return_to) = &state.return_to {
            put = put.item("return_to", s(return_to));
        }
        put.send().await.map_err(super::backend)?;
        Ok(())
    }

    async fn take_oauth_state(&self, id: &str) -> StoreResult<Option<OAuthState>> {
        let key = keys::oauth_state(id);
        let taken = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.clone()))
            .update_expression("SET used = :yes")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(used)")
            .expression_attribute_values(":yes", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let Some(item) = super::conditional(taken)?.map(|out| out.attributes.unwrap_or_default()) else {
            return Ok(None);
        };
        let corrupt = || StoreError::Corrupt("oauth state".into());
        Ok(Some(OAuthState {
            id: id.to_owned(),
            user: get_s(&item, "user").and_then(UserId::parse).ok_or_else(corrupt)?,
            account: get_s(&item, "account").and_then(AccountId::parse),
            pkce_verifier: self.open(
                &key,
                "pkce_verifier",
                get_s(&item, "pkce_verifier").ok_or_else(corrupt)?,
            )?,
            expires_at: get_n(&item, "expires_at").ok_or_else(corrupt)?,
            return_to: get_s(&item, "return_to").map(str::to_owned),
        }))
    }
}
