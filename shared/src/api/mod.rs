//! The HTTP edge: requests in (from Lambda's event, or from the local
//! runner later), routed to a thin handler per route (parse → authorize →
//! call the service → map the result), JSON out. Errors become responses in
//! exactly one place, [`response::ApiResponse::error`].

pub mod lambda;
mod oauth_routes;
pub mod request;
pub mod response;
pub mod routes;
mod vending_routes;
mod webhook_route;

use std::time::Instant;

use http::Method;

pub use request::{ApiRequest, Authorizer};
pub use response::ApiResponse;
pub use routes::{Access, Function, RouteId, RouteSpec};

use crate::domain::Caller;
use crate::error::Error;
use crate::App;

/// One function's HTTP service: its routes, over the container's [`App`].
pub struct Service {
    app: App,
    function: Function,
    router: routes::Router,
}

impl Service {
    pub fn new(function: Function, app: App) -> Self {
        Self {
            router: routes::Router::new(function.routes()),
            app,
            function,
        }
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    pub async fn handle(&self, req: ApiRequest) -> ApiResponse {
        let started = Instant::now();
        let origin = req.header("origin").map(str::to_owned);
        let cors = origin.filter(|o| self.function != Function::Webhook && self.app.config.is_frontend_origin(o));
        let (route, response) = match self.route(&req).await {
            Ok((route, response)) => (Some(route), response),
            Err(Error::MethodNotAllowed) => (
                None,
                ApiResponse::error(&Error::MethodNotAllowed).with_allow(&self.allowed(&req.path)),
            ),
            Err(error) => (None, ApiResponse::error(&error)),
        };
        tracing::info!(
            method = %req.method,
            route = route.map(|r| r.path).unwrap_or("-"),
            status = response.status.as_u16(),
            millis = started.elapsed().as_millis() as u64,
            "request"
        );
        match cors {
            Some(origin) => response.with_cors(&origin),
            None => response,
        }
    }

    async fn route(&self, req: &ApiRequest) -> Result<(&'static RouteSpec, ApiResponse), Error> {
        if self.function == Function::Webhook {
            return Ok((&routes::WEBHOOK_ROUTES[0], webhook_route::handle(&self.app, req).await?));
        }
        if req.method == Method::OPTIONS {
            return Ok((&routes::PREFLIGHT, ApiResponse::preflight()));
        }
        let (route, params) = self.router.find(&req.method, &req.path)?;
        let response = match route.access {
            Access::Jwt => {
                let caller = self.caller(req)?;
                match self.function {
                    Function::OAuthCallback => oauth_routes::handle(&self.app, route.id, &caller, req).await?,
                    _ => vending_routes::frontend(&self.app, route.id, &caller, &params).await?,
                }
            }
            Access::Iam => {
                if !matches!(req.auth, Authorizer::Iam) {
                    return Err(Error::forbidden(
                        "iam_required",
                        "internal routes need IAM authorization",
                    ));
                }
                vending_routes::internal(&self.app, route.id, &params, req).await?
            }
            Access::Signature => unreachable!("only the webhook function has signature routes"),
        };
        Ok((route, response))
    }

    /// What a 405 on `path` lists in `Allow`: the webhook takes only POST.
    fn allowed(&self, path: &str) -> Vec<&'static str> {
        match self.function {
            Function::Webhook => vec!["POST"],
            _ => self.router.allowed(path),
        }
    }

    fn caller(&self, req: &ApiRequest) -> Result<Caller, Error> {
        match &req.auth {
            Authorizer::Jwt(claims) => Caller::from_claims(claims, &self.app.config.accounts_claim)
                .ok_or_else(|| Error::Unauthenticated("the token has no usable subject".into())),
            _ => Err(Error::Unauthenticated("this route needs a platform JWT".into())),
        }
    }
}
