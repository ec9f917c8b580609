//! What the reconciler reads of the app as a whole (the [`AppAdmin`] port)
//! over the REST client: its installations a page at a time, its webhook
//! delivery log and redeliveries, and what it has spent of its rate limit.

use async_trait::async_trait;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use url::Url;

use super::link::next_page;
use super::rest::{parse, Replay, RestClient};
use super::types::InstallationObject;
use super::{AppAdmin, GitHubError, GitHubResult};
use crate::domain::reconcile::{DeliveryAttempt, RateLimit};
use crate::domain::Installation;
use crate::secrets::AppCredentials;

/// GitHub's largest page, for both lists.
const PER_PAGE: &str = "100";

/// A `hook-delivery-item`, as much of it as the sweep reads.
#[derive(Debug, Deserialize)]
struct DeliveryItem {
    id: u64,
    guid: String,
    delivered_at: String,
    #[serde(default)]
    status_code: u16,
    #[serde(default)]
    status: String,
    event: String,
    #[serde(default)]
    action: Option<String>,
}

impl DeliveryItem {
    fn to_domain(&self) -> Option<DeliveryAttempt> {
        let at = OffsetDateTime::parse(&self.delivered_at, &Rfc3339).ok()?;
        Some(DeliveryAttempt {
            id: self.id,
            guid: self.guid.clone(),
            delivered_at: at.unix_timestamp(),
            status_code: self.status_code,
            pending: self.status_code == 0 && self.status.eq_ignore_ascii_case("pending"),
            event: self.event.clone(),
            action: self.action.clone(),
        })
    }
}

/// The `cursor` of the `rel="next"` link: GitHub paginates the delivery
/// log by cursor, not by page number.
fn next_cursor(link: Option<&str>) -> Option<String> {
    let next = Url::parse(&next_page(link)?).ok()?;
    next.query_pairs()
        .find(|(name, _)| name == "cursor")
        .map(|(_, value)| value.into_owned())
}

/// One page of a list read as the app: its items mapped to the domain, and
/// the `link` header, which says how to ask for the next.
async fn list_as_app<Item, T>(
    client: &RestClient,
    app: &AppCredentials,
    url: Url,
    what: &'static str,
    to_domain: impl Fn(&Item) -> Option<T>,
) -> GitHubResult<(Vec<T>, Option<String>)>
where
    Item: serde::de::DeserializeOwned,
{
    let resp = client.get_as_app(app, url).await?;
    let link = resp
        .headers()
        .get("link")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned);
    let items: Vec<Item> = parse(resp, what).await?;
    let mapped = items
        .iter()
        .map(|item| to_domain(item).ok_or(GitHubError::Decode(what)))
        .collect::<GitHubResult<_>>()?;
    Ok((mapped, link))
}

#[async_trait]
impl AppAdmin for RestClient {
    async fn installations_page(&self, app: &AppCredentials, page: u32) -> GitHubResult<(Vec<Installation>, bool)> {
        let mut url = self.api_url(["app", "installations"])?;
        url.query_pairs_mut()
            .append_pair("per_page", PER_PAGE)
            .append_pair("page", &page.to_string());
        let (installations, link) =
            list_as_app(self, app, url, "GET /app/installations", InstallationObject::to_domain).await?;
        Ok((installations, next_page(link.as_deref()).is_some()))
    }

    async fn delivery_log(
        &self,
        app: &AppCredentials,
        cursor: Option<&str>,
    ) -> GitHubResult<(Vec<DeliveryAttempt>, Option<String>)> {
        let mut url = self.api_url(["app", "hook", "deliveries"])?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("per_page", PER_PAGE);
            if let Some(cursor) = cursor {
                query.append_pair("cursor", cursor);
            }
        }
        let (attempts, link) = list_as_app(self, app, url, "GET /app/hook/deliveries", DeliveryItem::to_domain).await?;
        Ok((attempts, next_cursor(link.as_deref())))
    }

    async fn redeliver(&self, app: &AppCredentials, attempt: u64) -> GitHubResult<()> {
        let id = attempt.to_string();
        let url = self.api_url(["app", "hook", "deliveries", &id, "attempts"])?;
        // Asked twice, GitHub sends twice: never replayed once sent.
        let resp = self
            .send_as_app(app, Replay::OnlyIfUnsent, |jwt| {
                self.http
                    .post(url.clone())
                    .header("authorization", format!("Bearer {jwt}"))
            })
            .await?;
        parse::<serde_json::Value>(resp, "POST /app/hook/deliveries/{id}/attempts")
            .await
            .map(drop)
    }

    fn requests_as_app(&self) -> u64 {
        self.app_attempts()
    }

    fn rate_limit(&self) -> Option<RateLimit> {
        self.app_rate_limit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_cursor_is_read_from_the_link_header() {
        let link = r#"<https://api.github.com/app/hook/deliveries?per_page=100&cursor=v1_123>; rel="next""#;
        assert_eq!(next_cursor(Some(link)).as_deref(), Some("v1_123"));
        assert_eq!(next_cursor(None), None);
    }

    #[test]
    fn a_delivery_items_time_is_read_as_rfc3339() {
        let item: DeliveryItem = serde_json::from_value(serde_json::json!({
            "id": 5, "guid": "g", "delivered_at": "2026-12-04T05:00:00Z",
            "status_code": 503, "event": "installation", "action": "deleted",
            "redelivery": false, "duration": 0.1, "status": "Invalid HTTP Response: 503",
            "installation_id": 1, "repository_id": null
        }))
        .unwrap();
        let attempt = item.to_domain().unwrap();
        assert_eq!(attempt.delivered_at, 1_796_360_400);
        assert!(!attempt.succeeded());
    }
}
