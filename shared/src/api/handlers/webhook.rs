//! GitHub's deliveries (the webhook function). The service has checked the
//! size and the signature before this runs: nothing unverified is parsed.

use serde_json::json;

use crate::api::router::{Call, Reply};
use crate::api::{ApiRequest, ApiResponse};
use crate::error::{Error, Result};
use crate::service::webhooks::{self, Outcome};
use crate::App;

fn header_token<'a>(req: &'a ApiRequest, name: &str, valid: fn(char) -> bool) -> Result<&'a str> {
    req.header(name)
        .filter(|v| !v.is_empty() && v.len() <= 100 && v.chars().all(valid))
        .ok_or_else(|| Error::bad_request("invalid_header", format!("missing or malformed {name} header")))
}

pub fn delivery<'a>(app: &'a App, call: &'a Call<'a>) -> Reply<'a> {
    Box::pin(async move {
        let req = call.req;
        let event = header_token(req, "x-github-event", |c| c.is_ascii_lowercase() || c == '_')?;
        let delivery = header_token(req, "x-github-delivery", |c| c.is_ascii_alphanumeric() || c == '-')?;
        let outcome = webhooks::apply(app, delivery, event, &req.body).await?;
        let result = match outcome {
            Outcome::Applied(what) => what,
            Outcome::Ignored => "ignored",
            Outcome::Duplicate => "duplicate delivery: already processed",
        };
        Ok(ApiResponse::ok(
            &json!({"delivery": delivery, "event": event, "result": result}),
        ))
    })
}
