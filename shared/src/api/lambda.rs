//! The bridge from Lambda's HTTP events (API Gateway HTTP API payload 2.0,
//! and function URLs, which share its shape) to [`ApiRequest`].

use bytes::Bytes;
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};

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

impl Service {
    /// Serves one Lambda event.
    pub async fn handle_lambda(&self, req: lambda_http::Request) -> lambda_http::Response<Body> {
        let response = self.handle(ApiRequest::from_lambda(req)).await;
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
    lambda_http::run(lambda_http::service_fn(move |req| async move {
        Ok::<_, std::convert::Infallible>(service.handle_lambda(req).await)
    }))
    .await
}
