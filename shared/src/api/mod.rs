//! The HTTP edge: requests in (from Lambda's event, or from the local
//! runner), routed by the function's table ([`routes`]) to a thin handler
//! once its required caller is checked (JWT, IAM, webhook signature), JSON
//! out: request bodies ([`bodies`]), ids ([`params`]) and response bodies
//! ([`views`]) live here and nowhere below. Errors become responses in
//! exactly one place, [`response::ApiResponse::error`].

pub mod bodies;
mod handlers;
pub mod lambda;
pub mod params;
pub mod request;
pub mod response;
pub mod router;
pub mod routes;
pub mod views;

use std::sync::Arc;
use std::time::Instant;

use http::Method;

pub use request::{ApiRequest, Authorizer};
pub use response::ApiResponse;
pub use routes::{Access, Function, RouteSpec};

use crate::domain::Caller;
use crate::error::Error;
use crate::App;

/// GitHub caps webhook payloads at 25 MB.
pub const MAX_WEBHOOK_BODY: usize = 25 * 1024 * 1024;

/// One function's HTTP service: its routes, over the container's [`App`].
pub struct Service {
    app: Arc<App>,
    router: router::Router,
}

impl Service {
    pub fn new(function: Function, app: Arc<App>) -> Self {
        Self {
            router: router::Router::new(function.routes()),
            app,
        }
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    pub async fn handle(&self, req: ApiRequest) -> ApiResponse {
        let started = Instant::now();
        let origin = req.header("origin").map(str::to_owned);
        let cors = origin.filter(|o| self.router.serves_browsers() && self.app.config.is_frontend_origin(o));
        let (route, response) = match self.route(&req).await {
            Ok((route, response)) => (Some(route), response),
            Err(Error::MethodNotAllowed) => (
                None,
                ApiResponse::error(&Error::MethodNotAllowed).with_allow(&self.router.allowed(&req.path)),
            ),
            Err(error) => (None, ApiResponse::error(&error)),
        };
        tracing::info!(
            method = %req.method,
            route = route.unwrap_or("-"),
            status = response.status.as_u16(),
            millis = started.elapsed().as_millis() as u64,
            "request"
        );
        match cors {
            Some(origin) => response.with_cors(&origin),
            None => response,
        }
    }

    /// Finds the route, checks that its required caller is the one
    /// calling, then runs its handler.
    async fn route(&self, req: &ApiRequest) -> Result<(&'static str, ApiResponse), Error> {
        if req.method == Method::OPTIONS && self.router.serves_browsers() {
            return Ok(("*", ApiResponse::preflight()));
        }
        let (route, params) = self.router.find(&req.method, &req.path)?;
        let call = router::Call { req, params };
        let app = &*self.app;
        let response = match route.handler {
            router::Handler::Jwt(handler) => handler(app, &self.caller(req)?, &call).await?,
            router::Handler::Iam(handler) => {
                if !matches!(req.auth, Authorizer::Iam { .. }) {
                    return Err(Error::forbidden(
                        "iam_required",
                        "internal routes need IAM authorization",
                    ));
                }
                handler(app, &call).await?
            }
            router::Handler::Signature(handler) => {
                self.verify_signature(req).await?;
                handler(app, &call).await?
            }
        };
        Ok((route.path, response))
    }

    /// GitHub's deliveries: the size first, then the signature over the
    /// raw body, before anything of it is read.
    async fn verify_signature(&self, req: &ApiRequest) -> Result<(), Error> {
        if req.body.len() > MAX_WEBHOOK_BODY {
            return Err(Error::PayloadTooLarge {
                limit: MAX_WEBHOOK_BODY,
            });
        }
        let creds = self.app.secrets.current().await;
        if !creds.webhook.verify(req.header("x-hub-signature-256"), &req.body) {
            return Err(Error::Unauthenticated("missing or invalid X-Hub-Signature-256".into()));
        }
        Ok(())
    }

    fn caller(&self, req: &ApiRequest) -> Result<Caller, Error> {
        match &req.auth {
            Authorizer::Jwt(claims) => Caller::from_claims(claims, &self.app.config.accounts_claim)
                .ok_or_else(|| Error::Unauthenticated("the token has no usable subject".into())),
            _ => Err(Error::Unauthenticated("this route needs a platform JWT".into())),
        }
    }
}
