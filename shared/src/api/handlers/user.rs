//! The frontend's routes (JWT): the caller's GitHub connection, the
//! installations it reaches, and its teams' links.

use serde_json::json;

use crate::api::bodies::PolicyBody;
use crate::api::params::{account_id, audit_query, installation_id};
use crate::api::router::{Call, Reply};
use crate::api::views::{
    AccountInstallations, AuditTrailView, ConnectionStatus, LinkView, LinkedInstallationView, ReachableList,
};
use crate::api::ApiResponse;
use crate::domain::Caller;
use crate::service::installations::PolicyOrder;
use crate::service::{audit, connection, installations};
use crate::App;

pub fn status<'a>(app: &'a App, caller: &'a Caller, _: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        let connection = connection::status(app, &caller.user).await?;
        Ok(ApiResponse::ok(&ConnectionStatus::from(connection)))
    })
}

pub fn disconnect<'a>(app: &'a App, caller: &'a Caller, _: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        connection::disconnect(app, &caller.user).await?;
        Ok(ApiResponse::ok(&json!({"connected": false})))
    })
}

pub fn reachable<'a>(app: &'a App, caller: &'a Caller, _: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        let reachable = installations::reachable(app, caller).await?;
        Ok(ApiResponse::ok(&ReachableList::from(reachable)))
    })
}

pub fn account_installations<'a>(app: &'a App, caller: &'a Caller, call: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        let account = account_id(call.param("account_id"))?;
        let linked = installations::of_account(app, caller, &account).await?;
        Ok(ApiResponse::ok(&AccountInstallations {
            account_id: account,
            installations: linked.iter().map(LinkedInstallationView::from).collect(),
        }))
    })
}

/// `PUT`: links with the body's policy (none: the whole installation).
pub fn link<'a>(app: &'a App, caller: &'a Caller, call: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        let account = account_id(call.param("account_id"))?;
        let id = installation_id(call.param("installation_id"))?;
        let policy = call.json::<PolicyBody>()?.into_policy()?;
        let linked = installations::link(app, caller, &account, id, PolicyOrder::Set(&policy)).await?;
        Ok(ApiResponse::ok(&LinkView::linked(account, &linked)))
    })
}

/// `PATCH`: changes the policy of a link that exists.
pub fn change_policy<'a>(app: &'a App, caller: &'a Caller, call: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        let account = account_id(call.param("account_id"))?;
        let id = installation_id(call.param("installation_id"))?;
        let policy = call.json::<PolicyBody>()?.into_policy()?;
        let linked = installations::link(app, caller, &account, id, PolicyOrder::Change(&policy)).await?;
        Ok(ApiResponse::ok(&LinkView::linked(account, &linked)))
    })
}

pub fn unlink<'a>(app: &'a App, caller: &'a Caller, call: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        let account = account_id(call.param("account_id"))?;
        let id = installation_id(call.param("installation_id"))?;
        let revoked = installations::unlink(app, caller, &account, id).await?;
        Ok(ApiResponse::ok(&LinkView::unlinked(account, id, revoked)))
    })
}

/// `GET /accounts/{account_id}/audit`: the account's trail, newest first.
pub fn audit_trail<'a>(app: &'a App, caller: &'a Caller, call: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        let account = account_id(call.param("account_id"))?;
        let query = audit_query(call)?;
        let page = audit::trail(app, caller, &account, &query).await?;
        Ok(ApiResponse::ok(&AuditTrailView {
            records: page.records.into_iter().map(Into::into).collect(),
            cursor: page.cursor,
        }))
    })
}
