//! The platform backends' routes (IAM): tokens, their revocation,
//! repositories, commits.

use http::StatusCode;

use crate::api::bodies::{CommitFiles, CreateRepository, OwnerVendRequest, VendRequest};
use crate::api::params::{account_id, installation_id, user_id};
use crate::api::router::{Call, Reply};
use crate::api::views::{CommittedView, UserTokenResponse, VendResponse};
use crate::api::ApiResponse;
use crate::domain::repo::MAX_COMMIT_BODY;
use crate::service::{connection, repos, revocation, vending};
use crate::App;

pub fn installation_token<'a>(app: &'a App, call: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        let account = account_id(call.param("account_id"))?;
        let id = installation_id(call.param("installation_id"))?;
        let order = call.json::<VendRequest>()?.into_order()?;
        let token = vending::vend(app, call.principal(), &account, id, &order).await?;
        Ok(ApiResponse::ok(&VendResponse::from(token)))
    })
}

pub fn owner_token<'a>(app: &'a App, call: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        let account = account_id(call.param("account_id"))?;
        let body: OwnerVendRequest = call.json()?;
        let order = body.request.into_order()?;
        let token = vending::vend_for_owner(app, call.principal(), &account, &body.owner, &order).await?;
        Ok(ApiResponse::ok(&VendResponse::from(token)))
    })
}

/// Incident response: every live token of the account, revoked at GitHub.
pub fn revoke_account_tokens<'a>(app: &'a App, call: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        let account = account_id(call.param("account_id"))?;
        let revoked = revocation::revoke_account(app, call.principal(), &account).await?;
        Ok(ApiResponse::ok(&revoked))
    })
}

pub fn user_token<'a>(app: &'a App, call: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        let user = user_id(call.param("user_id"))?;
        let (connection, tokens) = connection::user_token(app, call.principal(), &user).await?;
        Ok(ApiResponse::ok(&UserTokenResponse::new(connection, &tokens)))
    })
}

pub fn create_repository<'a>(app: &'a App, call: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        let account = account_id(call.param("account_id"))?;
        let (owner, repo) = call.json::<CreateRepository>()?.into_order();
        let created = repos::create(app, call.principal(), &account, &owner, repo).await?;
        Ok(ApiResponse::json(StatusCode::CREATED, &created))
    })
}

pub fn commit_files<'a>(app: &'a App, call: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        let account = account_id(call.param("account_id"))?;
        let body: CommitFiles = call.req.json_up_to(MAX_COMMIT_BODY)?;
        let committed = repos::commit(app, call.principal(), &account, body.into_order()).await?;
        Ok(ApiResponse::json(StatusCode::CREATED, &CommittedView::from(committed)))
    })
}
