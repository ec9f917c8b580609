//! The webhook function: size, then signature, then anything else.

use http::Method;
use serde_json::json;

use super::{ApiRequest, ApiResponse};
use crate::error::{Error, Result};
use crate::service::webhooks::{self, Outcome};
use crate::App;

/// GitHub caps webhook payloads at 25 MB.
pub const MAX_WEBHOOK_BODY: usize = 25 * 1024 * 1024;

fn header_token<'a>(req: &'a ApiRequest, name: &str, valid: fn(char) -> bool) -> Result<&'a str> {
    req.header(name)
        .filter(|v| !v.is_empty() && v.len() <= 100 && v.chars().all(valid))
        .ok_or_else(|| Error::bad_request("invalid_header", format!("missing or malformed {name} header")))
}

pub(super) async fn handle(app: &App, req: &ApiRequest) -> Result<ApiResponse> {
    if req.method != Method::POST {
        return Err(Error::MethodNotAllowed);
    }
    if req.body.len() > MAX_WEBHOOK_BODY {
        return Err(Error::PayloadTooLarge {
            limit: MAX_WEBHOOK_BODY,
        });
    }
    let creds = app.secrets.current().await;
    if !creds.webhook.verify(req.header("x-hub-signature-256"), &req.body) {
        return Err(Error::Unauthenticated("missing or invalid X-Hub-Signature-256".into()));
    }
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
}
