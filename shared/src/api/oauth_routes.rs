//! The oauth-callback function's routes.

use super::{ApiRequest, ApiResponse, RouteId};
use crate::domain::Caller;
use crate::error::Result;
use crate::service::oauth;
use crate::App;

pub(super) async fn handle(app: &App, route: RouteId, caller: &Caller, req: &ApiRequest) -> Result<ApiResponse> {
    match route {
        RouteId::OAuthStart => Ok(ApiResponse::ok(&oauth::start(app, caller, req.json()?).await?)),
        RouteId::OAuthCallback => Ok(ApiResponse::ok(&oauth::callback(app, caller, req.json()?).await?)),
        other => unreachable!("{other:?} is not an oauth-callback route"),
    }
}
