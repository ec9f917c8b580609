//! The bridge from Lambda's HTTP events (API Gateway HTTP API payload 2.0,
//! and function URLs, which share its shape) to [`ApiRequest`], and from the
//! invocation's deadline to the request's time budget ([`crate::deadline`]).

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::tower::ServiceExt;
use lambda_http::{Body, LambdaEvent, RequestExt};

use super::{ApiRequest, Authorizer, Function, Service};
use crate::App;

impl ApiRequest {
    pub fn from_lambda(req: lambda_http::Request) -> Self {
        let auth = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => match &ctx.authorizer {
                Some(a) if a.iam.is_some() => Authorizer::Iam,
                Some(a) => match &a.jwt {
                    Some(jwt) => Authorizer::Jwt(jwt.claims.clone()),
                    None => Authorizer::None,
                },
                None => Authorizer::None,
            },
            _ => Authorizer::None,
        };
        let path = req.raw_http_path().to_owned();
        let (parts, body) = req.into_parts();
        let body = match body {
            Body::Empty => Bytes::new(),
            Body::Text(text) => Bytes::from(text),
            Body::Binary(bytes) => Bytes::from(bytes),
            _ => Bytes::new(),
        };
        let path = if path.is_empty() {
            parts.uri.path().to_owned()
        } else {
            path
        };
        Self {
            method: parts.method,
            path,
            headers: parts.headers,
            body,
            auth,
        }
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
    /// context (tests, emulators) `REQUEST_BUDGET_SECONDS` applies, if set.
    pub async fn handle_lambda(&self, req: lambda_http::Request) -> lambda_http::Response<Body> {
        let deadline = match req.lambda_context_ref() {
            Some(context) => Some(budget_end(context.deadline(), SystemTime::now(), Instant::now())),
            None => self.app().config.request_budget.map(|budget| Instant::now() + budget),
        };
        let response = crate::deadline::within(deadline, self.handle(ApiRequest::from_lambda(req))).await;
        response.into_http::<Vec<u8>>().map(Body::from)
    }
}

/// What a function binary's `main` calls: JSON logs, the container's state
/// built once, then the Lambda runtime loop.
pub async fn run(function: Function) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = match App::from_env().await {
        Ok(app) => app,
        Err(e) => {
            // A message naming what is wrong, and no panic backtrace.
            tracing::error!(error = %e, function = function.name(), "cannot start");
            return Err(e.to_string().into());
        }
    };
    let service = Service::new(function, app);
    let service = &service;
    let adapter = lambda_http::Adapter::from(lambda_http::service_fn(move |req| async move {
        Ok::<_, std::convert::Infallible>(service.handle_lambda(req).await)
    }));
    // lambda_http::run, with one step before the event becomes a request.
    lambda_http::lambda_runtime::run(adapter.map_request(without_query_string)).await
}

/// lambda_http panics while building the request from a query string
/// holding a `"` (found by the `lambda_event` fuzz target), and anyone can
/// put one on the webhook's function URL: the invocation would then fail
/// before the signature check, as a bare 502 instead of a JSON error. No
/// route reads the query string, so it is dropped before the conversion.
fn without_query_string(mut event: LambdaEvent<LambdaRequest>) -> LambdaEvent<LambdaRequest> {
    if let LambdaRequest::ApiGatewayV2(request) = &mut event.payload {
        request.raw_query_string = None;
        request.query_string_parameters = Default::default();
    }
    event
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
