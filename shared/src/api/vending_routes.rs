//! The token-vending function's routes: frontend (JWT) and internal (IAM).

use secrecy::ExposeSecret;
use serde_json::json;

use super::routes::{param, Params};
use super::{ApiRequest, ApiResponse, RouteId};
use crate::domain::repo::MAX_COMMIT_BODY;
use crate::domain::{Caller, UserId};
use crate::error::{Error, Result};
use crate::service::oauth::{parse_account, parse_installation_id};
use crate::service::vending::{self, VendResponse};
use crate::service::{connection, installations, repos};
use crate::App;
use http::StatusCode;

fn installation_param(params: &Params) -> Result<crate::domain::InstallationId> {
    parse_installation_id(&serde_json::Value::String(param(params, "installation_id").to_owned()))
}

pub(super) async fn frontend(app: &App, route: RouteId, caller: &Caller, params: &Params) -> Result<ApiResponse> {
    let account = || parse_account(param(params, "account_id"));
    Ok(match route {
        RouteId::GetUser => ApiResponse::ok(&connection::status(app, &caller.user).await?),
        RouteId::DeleteUser => {
            connection::disconnect(app, &caller.user).await?;
            ApiResponse::ok(&json!({"connected": false}))
        }
        RouteId::ListReachable => ApiResponse::ok(&installations::reachable(app, caller).await?),
        RouteId::ListAccountInstallations => {
            ApiResponse::ok(&installations::of_account(app, caller, account()?).await?)
        }
        RouteId::Link => {
            ApiResponse::ok(&installations::link(app, caller, account()?, installation_param(params)?).await?)
        }
        RouteId::Unlink => {
            ApiResponse::ok(&installations::unlink(app, caller, account()?, installation_param(params)?).await?)
        }
        other => unreachable!("{other:?} is not a frontend route"),
    })
}

pub(super) async fn internal(app: &App, route: RouteId, params: &Params, req: &ApiRequest) -> Result<ApiResponse> {
    Ok(match route {
        RouteId::InstallationToken => {
            let account = parse_account(param(params, "account_id"))?;
            let token = vending::vend(app, &account, installation_param(params)?, req.json()?).await?;
            ApiResponse::ok(&VendResponse::from(token))
        }
        RouteId::OwnerToken => {
            let account = parse_account(param(params, "account_id"))?;
            let token = vending::vend_for_owner(app, &account, req.json()?).await?;
            ApiResponse::ok(&VendResponse::from(token))
        }
        RouteId::UserToken => {
            let user = UserId::parse(param(params, "user_id")).ok_or_else(|| {
                Error::bad_request(
                    "invalid_user_id",
                    "user ids are 1-128 characters of A-Z a-z 0-9 - _ . : @ |",
                )
            })?;
            let (connection, tokens) = connection::fresh_tokens(app, &user).await?;
            ApiResponse::ok(&json!({
                "token": tokens.access_token.expose_secret(),
                "expires_at": tokens.access_expires_at.map(rfc3339),
                "github_user": {"id": connection.github_user_id.0, "login": connection.login},
            }))
        }
        RouteId::CreateRepository => {
            let account = parse_account(param(params, "account_id"))?;
            ApiResponse::json(StatusCode::CREATED, &repos::create(app, &account, req.json()?).await?)
        }
        RouteId::CommitFiles => {
            let account = parse_account(param(params, "account_id"))?;
            let body = req.json_up_to(MAX_COMMIT_BODY)?;
            ApiResponse::json(StatusCode::CREATED, &repos::commit(app, &account, body).await?)
        }
        other => unreachable!("{other:?} is not an internal route"),
    })
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}
