//! GitHub's deliveries (the webhook function). The service has checked the
//! size and the signature before this runs: nothing unverified is parsed.
//! Here the delivery is read once into the domain's terms: which handled
//! event it is, and whom it is about. Every delivery is then published for
//! the platform, if a bus is configured ([`forwarding`]), after the
//! broker's own change.

use serde_json::json;

use crate::api::router::{Call, Reply};
use crate::api::{ApiRequest, ApiResponse};
use crate::domain::events::WebhookEvent;
use crate::domain::InstallationId;
use crate::error::{Error, Result};
use crate::github::types::WebhookPayload;
use crate::service::forwarding::{self, Arrival};
use crate::service::webhooks::{self, Delivery, Outcome};
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
        let id = header_token(req, "x-github-delivery", |c| c.is_ascii_alphanumeric() || c == '-')?;
        let payload: WebhookPayload = serde_json::from_slice(&req.body)
            .map_err(|_| Error::bad_request("invalid_payload", "the webhook body is not a GitHub event payload"))?;
        let facts = payload.facts();
        let handled = WebhookEvent::parse(event, payload.action.as_deref())
            .map(|handled| handled.effect(&facts))
            .transpose()?;
        let arrival = Arrival {
            id,
            event,
            action: payload.action.as_deref(),
            installation: facts.installation.map(|(id, _)| InstallationId(id)),
            body: &req.body,
        };
        let pending = forwarding::prepare(app, &arrival).await?;
        let result = match handled {
            None => "ignored",
            Some(effect) => {
                let accounts = pending.as_ref().map(|p| p.accounts.as_slice());
                match webhooks::apply(app, &Delivery { id, effect }, accounts).await? {
                    Outcome::Applied(what) => what,
                    Outcome::Duplicate => "duplicate delivery: already processed",
                }
            }
        };
        let forwarded = match pending {
            Some(pending) => forwarding::publish(app, &arrival, pending).await?.as_str(),
            None => "not forwarded",
        };
        Ok(ApiResponse::ok(
            &json!({"delivery": id, "event": event, "result": result, "forwarded": forwarded}),
        ))
    })
}
