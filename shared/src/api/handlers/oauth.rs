//! Connecting GitHub (the oauth-callback function).

use crate::api::bodies::{CallbackRequest, StartRequest};
use crate::api::router::{Call, Reply};
use crate::api::views::{CallbackResponse, StartResponse};
use crate::api::ApiResponse;
use crate::domain::Caller;
use crate::service::oauth;
use crate::App;

pub fn start<'a>(app: &'a App, caller: &'a Caller, call: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        let order = call.json::<StartRequest>()?.into_order()?;
        Ok(ApiResponse::ok(&StartResponse::from(
            oauth::start(app, caller, order).await?,
        )))
    })
}

pub fn callback<'a>(app: &'a App, caller: &'a Caller, call: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        let order = call.json::<CallbackRequest>()?.into_order()?;
        let connected = oauth::callback(app, caller, order).await?;
        Ok(ApiResponse::ok(&CallbackResponse::from(connected)))
    })
}
