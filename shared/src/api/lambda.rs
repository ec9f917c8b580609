//! The bridge from Lambda's HTTP events (API Gateway HTTP API payload 2.0,
//! and function URLs, which share its shape) to [`ApiRequest`], and from the
//! invocation's deadline to the request's time budget ([`crate::deadline`]).

use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use bytes::Bytes;
use lambda_runtime::{Context, LambdaEvent};

use super::{ApiRequest, ApiResponse, Authorizer, Function, Service};
use crate::error::Error;
use crate::App;

impl ApiRequest {
    /// The request an API Gateway HTTP API (or function URL) event carries.
    /// Lambda base64-encodes bodies it does not take for text; one that does
    /// not decode is refused rather than read as empty.
    pub fn from_lambda(event: ApiGatewayV2httpRequest) -> Result<Self, Error> {
        let auth = match &event.request_context.authorizer {
            Some(a) if a.iam.is_some() => {
                let iam = a.iam.as_ref().expect("checked");
                let principal = iam
                    .user_arn
                    .clone()
                    .or_else(|| iam.caller_id.clone())
                    .or_else(|| iam.account_id.clone())
                    .unwrap_or_else(|| "iam".to_owned());
                Authorizer::Iam { principal }
            }
            Some(a) => match &a.jwt {
                Some(jwt) => Authorizer::Jwt(jwt.claims.clone()),
                None => Authorizer::None,
            },
            None => Authorizer::None,
        };
        let body = match event.body {
            None => Bytes::new(),
            Some(text) if event.is_base64_encoded => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map(Bytes::from)
                .map_err(|_| Error::bad_request("invalid_body", "the body is not valid base64"))?,
            Some(text) => Bytes::from(text),
        };
        let path = match event.raw_path {
            Some(path) if !path.is_empty() => path,
            _ => "/".to_owned(),
        };
        Ok(Self {
            method: event.request_context.http.method,
            path,
            headers: event.headers,
            body,
            auth,
            query: event.raw_query_string.unwrap_or_default(),
        })
    }
}

impl ApiResponse {
    /// The HTTP API's answer: a JSON body is always text.
    pub fn into_lambda(self) -> ApiGatewayV2httpResponse {
        let (status, headers, body) = self.into_parts();
        let mut response = ApiGatewayV2httpResponse::default();
        response.status_code = status.as_u16().into();
        response.headers = headers;
        response.body = body.map(Body::Text);
        response
    }
}

/// Kept back from the invocation's deadline to write the answer (and the log
/// line) after the last step: Lambda's own deadline is a kill, not an error.
pub const ANSWER_MARGIN: Duration = Duration::from_secs(1);

/// The instant `deadline` (Lambda's, a wall-clock time) falls at, less
/// [`ANSWER_MARGIN`]. A deadline already past, or too close, leaves none.
fn budget_end(deadline: SystemTime, now: SystemTime, clock: Instant) -> Instant {
    let left = deadline.duration_since(now).unwrap_or_default();
    clock + left.saturating_sub(ANSWER_MARGIN)
}

impl Service {
    /// Serves one Lambda event within the invocation's time budget: the
    /// deadline Lambda gives, less [`ANSWER_MARGIN`]. Without a Lambda
    /// context (tests) `REQUEST_BUDGET_SECONDS` applies, if set.
    pub async fn handle_lambda(
        &self,
        event: ApiGatewayV2httpRequest,
        context: Option<&Context>,
    ) -> ApiGatewayV2httpResponse {
        let deadline = match context {
            Some(context) => Some(budget_end(context.deadline(), SystemTime::now(), Instant::now())),
            None => self.app().config.request_budget.map(|budget| Instant::now() + budget),
        };
        let response = match ApiRequest::from_lambda(event) {
            Ok(request) => crate::deadline::within(deadline, self.handle(request)).await,
            Err(error) => ApiResponse::error(&error),
        };
        response.into_lambda()
    }
}

impl Service {
    /// The reconciler's events: its EventBridge schedule (`source`
    /// `aws.events`), answered with the run's summary, or an HTTP API
    /// request (`POST /internal/reconcile`), served like any route.
    pub async fn handle_reconciler(&self, event: serde_json::Value, context: &Context) -> serde_json::Value {
        let deadline = budget_end(context.deadline(), SystemTime::now(), Instant::now());
        if event.get("source").and_then(|s| s.as_str()) == Some("aws.events") {
            let ran = crate::deadline::within(
                Some(deadline),
                crate::service::reconcile::run(self.app(), crate::service::reconcile::RUN_TIME),
            )
            .await;
            return match ran {
                Ok(crate::service::reconcile::Ran::Done(summary)) => serde_json::json!(summary),
                Ok(crate::service::reconcile::Ran::Busy) => {
                    serde_json::json!({"skipped": "another run holds the lease"})
                }
                Err(e) => {
                    tracing::error!(error = %e, "reconcile run failed");
                    serde_json::json!({"error": e.code()})
                }
            };
        }
        let response = match serde_json::from_value::<ApiGatewayV2httpRequest>(event) {
            Ok(request) => self.handle_lambda(request, Some(context)).await,
            Err(_) => ApiResponse::error(&Error::bad_request(
                "invalid_body",
                "not a schedule or an HTTP API event",
            ))
            .into_lambda(),
        };
        serde_json::to_value(response).unwrap_or_default()
    }
}

/// What a function binary's `main` calls: JSON logs, the container's state
/// built once, then the Lambda runtime loop. Events are decoded straight
/// into the HTTP API's shape, in one pass: no route needs an
/// `http::Request`, and lambda_http's decoding (the whole event checked
/// first, then each event shape tried in turn) cost about 5% of a webhook's
/// instructions, and panicked on some query strings.
pub async fn run(function: Function) -> Result<(), lambda_runtime::Error> {
    crate::telemetry::init();
    let app = match App::from_env().await {
        Ok(app) => app,
        Err(e) => {
            // A message naming what is wrong, and no panic backtrace.
            tracing::error!(error = %e, function = function.name(), "cannot start");
            return Err(e.to_string().into());
        }
    };
    let service = Service::new(function, std::sync::Arc::new(app));
    let service = &service;
    if function == Function::Reconciler {
        return lambda_runtime::run(lambda_runtime::service_fn(
            move |event: LambdaEvent<serde_json::Value>| async move {
                Ok::<_, std::convert::Infallible>(service.handle_reconciler(event.payload, &event.context).await)
            },
        ))
        .await;
    }
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            Ok::<_, std::convert::Infallible>(service.handle_lambda(event.payload, Some(&event.context)).await)
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_ends_one_answer_margin_before_lambdas_deadline() {
        let (now, clock) = (SystemTime::now(), Instant::now());
        let end = budget_end(now + Duration::from_secs(29), now, clock);
        assert_eq!(end - clock, Duration::from_secs(28));
        // A deadline closer than the margin, or past, leaves nothing.
        assert_eq!(budget_end(now + Duration::from_millis(300), now, clock), clock);
        assert_eq!(budget_end(now - Duration::from_secs(1), now, clock), clock);
    }
}
