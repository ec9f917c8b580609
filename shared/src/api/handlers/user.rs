//! The frontend's routes (JWT): the caller's GitHub connection, the
//! installations it reaches, and its teams' links.

use serde_json::json;

use crate::api::params::{account_id, installation_id};
use crate::api::router::{Call, Reply};
use crate::api::views::{AccountInstallations, ConnectionStatus, InstallationView, LinkView, ReachableList};
use crate::api::ApiResponse;
use crate::domain::Caller;
use crate::service::{connection, installations};
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
            installations: linked.iter().map(InstallationView::from).collect(),
        }))
    })
}

pub fn link<'a>(app: &'a App, caller: &'a Caller, call: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        let account = account_id(call.param("account_id"))?;
        let id = installation_id(call.param("installation_id"))?;
        let installation = installations::link(app, caller, &account, id).await?;
        Ok(ApiResponse::ok(&LinkView {
            account_id: account,
            installation_id: id,
            linked: true,
            installation: Some((&installation).into()),
        }))
    })
}

pub fn unlink<'a>(app: &'a App, caller: &'a Caller, call: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        let account = account_id(call.param("account_id"))?;
        let id = installation_id(call.param("installation_id"))?;
        installations::unlink(app, caller, &account, id).await?;
        Ok(ApiResponse::ok(&LinkView {
            account_id: account,
            installation_id: id,
            linked: false,
            installation: None,
        }))
    })
}
